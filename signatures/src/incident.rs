//! Incidents: what the rules and checks saw, correlated into one entry per
//! suspicious executable — its verdicts (rules that matched it, "packed",
//! "unowned", "modified package file"), what starts it (cron lines, systemd units and the `*.wants/`
//! links that enable them, rc/profile files, `ld.so.preload`, npm scripts),
//! its config (a miner config beside it or named on its command line), and
//! how it came in (the layer and its `created_by`).
//!
//! Severity is the worst of its parts, raised to CRITICAL when a miner
//! verdict meets persistence, or meets a packaged file's changed bytes (a
//! miner in place of a system tool): either is the attack, not a piece of it.

use crate::check::CheckContext;
use crate::checks::MODIFIED_FILE;
use crate::malware::Malware;
use imgscan_sbom::{Finding, Severity, display_path};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// One thing that says the executable is hostile.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Verdict {
    /// Severity of the rule match or finding.
    pub severity: Severity,
    /// `rule` (a YARA rule) or `finding` (a check).
    pub kind: &'static str,
    /// The rule or finding id.
    pub id: String,
    /// Where it matched: the executable, or a place inside it (`!`).
    pub path: String,
}

/// One place that starts the executable.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Starter {
    /// `cron`, `systemd`, `systemd-enable`, `startup`, `ld.so.preload` or
    /// `npm-script`.
    pub kind: &'static str,
    /// Absolute, escaped path of the file (or enable link).
    pub path: String,
    /// 1-based line, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// The layer of that file.
    pub layer: usize,
    /// The line (or link target) that starts it.
    pub evidence: String,
}

/// A config file of the executable.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ConfigFile {
    /// Absolute, escaped path.
    pub path: String,
    /// The layer of that file.
    pub layer: usize,
    /// Rules that matched it.
    pub rules: Vec<String>,
}

/// One incident: a suspicious executable and everything around it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incident {
    /// The worst of its parts; CRITICAL when a miner verdict meets persistence.
    pub severity: Severity,
    /// Absolute, escaped path of the executable.
    pub executable: String,
    /// What says it is hostile, worst first.
    pub verdicts: Vec<Verdict>,
    /// What starts it.
    pub started_by: Vec<Starter>,
    /// Its config files.
    pub config: Vec<ConfigFile>,
    /// The layer that put it there.
    pub layer: usize,
    /// That layer's history line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Stable across rebuilds: the executable's path and its verdict ids.
    pub fingerprint: String,
}

/// Rules that say "miner" (at HIGH or above).
const MINER_RULES: &[&str] = &[
    "xmrig_miner",
    "cpu_gpu_miner",
    "randomx_cryptonight_implementation",
    "stratum_protocol",
    "xmrig_config",
    "monero_wallet_address",
    "mining_pool_host",
];
/// Rules that describe a config rather than a program.
const CONFIG_RULES: &[&str] = &[
    "xmrig_config",
    "mining_pool_host",
    "monero_wallet_address",
    "stratum_protocol",
];
/// Findings about an executable itself (a modified package file counts
/// when the file is an executable or a library).
const EXECUTABLE_FINDINGS: &[&str] = &["file.unowned-executable", MODIFIED_FILE];

/// Files that start programs, by kind.
fn starter_kind(path: &[u8]) -> Option<&'static str> {
    let p = std::str::from_utf8(path).ok()?;
    let cron = p == "etc/crontab"
        || p.starts_with("etc/cron.d/")
        || p.starts_with("var/spool/cron/")
        || p.starts_with("etc/cron.hourly/")
        || p.starts_with("etc/cron.daily/")
        || p.starts_with("etc/cron.weekly/")
        || p.starts_with("etc/cron.monthly/");
    let systemd = p.ends_with(".service") && p.contains("systemd/");
    let startup = p == "etc/rc.local"
        || p == "etc/profile"
        || p.starts_with("etc/profile.d/")
        || p == "etc/bash.bashrc"
        || p.starts_with("etc/init.d/")
        || ["/.bashrc", "/.profile", "/.bash_profile"]
            .iter()
            .any(|f| p.ends_with(f) && (p.starts_with("root/") || p.starts_with("home/")));
    if cron {
        Some("cron")
    } else if systemd {
        Some("systemd")
    } else if startup {
        Some("startup")
    } else if p == "etc/ld.so.preload" {
        Some("ld.so.preload")
    } else if p.ends_with("package.json") {
        Some("npm-script")
    } else {
        None
    }
}

/// Whether `line` runs (names) the executable at `exe` (root-relative).
fn names(line: &str, exe: &str) -> bool {
    let absolute = format!("/{exe}");
    line.match_indices(&absolute).any(|(at, _)| {
        let end = at + absolute.len();
        line[end..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/')))
    })
}

/// Correlates the scan's malware entries and findings into incidents;
/// `created_by` is each layer's history line.
pub fn correlate(
    ctx: &CheckContext<'_>,
    malware: &[Malware],
    findings: &[Finding],
    created_by: &[Option<String>],
) -> Vec<Incident> {
    // The executables and their verdicts, keyed by root-relative path.
    let mut verdicts: BTreeMap<String, Vec<Verdict>> = BTreeMap::new();
    let mut configs: Vec<(&Malware, String)> = Vec::new();
    for entry in malware.iter().filter(|m| m.visible) {
        let file = entry.path.split('!').next().unwrap_or(&entry.path);
        let relative = file.trim_start_matches('/').to_string();
        // A binary is judged by whatever matched it; an executable script
        // by what is not a config rule (or by what is inside it).
        let binary = meta_is_binary(ctx, &relative);
        let executable = binary || has_exec_bits(ctx, &relative);
        let config_rule = CONFIG_RULES.contains(&entry.rule.as_str());
        if binary || executable && (!config_rule || entry.path.contains('!')) {
            verdicts.entry(relative).or_default().push(Verdict {
                severity: entry.severity,
                kind: "rule",
                id: entry.rule.clone(),
                path: entry.path.clone(),
            });
        } else if CONFIG_RULES.contains(&entry.rule.as_str()) {
            configs.push((entry, relative));
        }
    }
    for finding in findings
        .iter()
        .filter(|f| EXECUTABLE_FINDINGS.contains(&f.id))
    {
        let relative = finding.path.trim_start_matches('/').to_string();
        if finding.id == MODIFIED_FILE
            && !(meta_is_binary(ctx, &relative) || has_exec_bits(ctx, &relative))
        {
            continue;
        }
        verdicts.entry(relative).or_default().push(Verdict {
            severity: finding.severity,
            kind: "finding",
            id: finding.id.to_string(),
            path: finding.path.clone(),
        });
    }
    if verdicts.is_empty() {
        return Vec::new();
    }
    // Every file that starts programs, read once.
    let starter_files: Vec<(Vec<u8>, &'static str, String)> = ctx
        .paths_where(|p| starter_kind(p).is_some())
        .into_iter()
        .filter_map(|p| {
            let kind = starter_kind(&p)?;
            // A link (an enable link) is reported with the unit it enables.
            let (meta, _) = ctx.tree.entry(&p)?;
            if meta.kind != imgscan_sbom::FileKind::File {
                return None;
            }
            let text = ctx.text(&p)?.into_owned();
            Some((p, kind, text))
        })
        .collect();
    let enable_links: Vec<(Vec<u8>, Vec<u8>)> = ctx
        .paths_where(|p| {
            p.starts_with(b"etc/systemd/system/")
                && p.ends_with(b".service")
                && p.split(|&b| b == b'/')
                    .rev()
                    .nth(1)
                    .is_some_and(|d| d.ends_with(b".wants"))
        })
        .into_iter()
        .filter_map(|link| {
            let unit = ctx.tree.resolve(&link)?;
            Some((link, unit))
        })
        .collect();

    let mut incidents = Vec::new();
    for (exe, mut found) in verdicts {
        found.sort();
        found.dedup();
        let mut started_by = Vec::new();
        let mut config = Vec::new();
        for (path, kind, text) in &starter_files {
            for (index, line) in text.lines().enumerate() {
                let trimmed = line.trim();
                if trimmed.starts_with('#') || !names(trimmed, &exe) {
                    continue;
                }
                started_by.push(Starter {
                    kind,
                    path: display_path(path),
                    line: Some(index as u32 + 1),
                    layer: ctx.layer_of(path),
                    evidence: trimmed.chars().take(300).collect(),
                });
                config.extend(named_configs(ctx, trimmed, &exe));
                if *kind == "systemd" {
                    for (link, _) in enable_links.iter().filter(|(_, unit)| unit == path) {
                        started_by.push(Starter {
                            kind: "systemd-enable",
                            path: display_path(link),
                            line: None,
                            layer: ctx.layer_of(link),
                            evidence: format!("enables {}", display_path(path)),
                        });
                    }
                }
            }
        }
        let dir = exe.rsplit_once('/').map_or("", |(d, _)| d);
        for (entry, relative) in &configs {
            let beside = relative.rsplit_once('/').map_or("", |(d, _)| d) == dir;
            if beside || config.iter().any(|c: &ConfigFile| c.path == entry.path) {
                config.push(ConfigFile {
                    path: entry.path.clone(),
                    layer: entry.layer,
                    rules: vec![entry.rule.clone()],
                });
            }
        }
        config = merge_configs(config);
        started_by.sort_by(|a, b| (&a.path, a.line, a.kind).cmp(&(&b.path, b.line, b.kind)));
        started_by.dedup();
        let worst = found
            .iter()
            .map(|v| v.severity)
            .chain(config.iter().flat_map(|c| {
                c.rules.iter().filter_map(|r| {
                    malware
                        .iter()
                        .find(|m| &m.rule == r && m.path == c.path)
                        .map(|m| m.severity)
                })
            }))
            .min()
            .unwrap_or(Severity::Unknown);
        let miner = found
            .iter()
            .any(|v| MINER_RULES.contains(&v.id.as_str()) && v.severity <= Severity::High)
            || config
                .iter()
                .any(|c| c.rules.iter().any(|r| r == "xmrig_config"));
        let disguised = found.iter().any(|v| v.id == MODIFIED_FILE);
        let severity = if miner && (!started_by.is_empty() || disguised) {
            Severity::Critical
        } else {
            worst
        };
        let layer = ctx.layer_of(exe.as_bytes());
        // As the report's other fingerprints: the first 128 bits of a
        // SHA-256 over a kind tag and the fields, each ended by a NUL.
        let mut hasher = Sha256::new();
        for field in ["incident", exe.as_str()]
            .into_iter()
            .chain(found.iter().map(|v| v.id.as_str()))
        {
            hasher.update(field.as_bytes());
            hasher.update([0]);
        }
        incidents.push(Incident {
            severity,
            executable: display_path(exe.as_bytes()),
            verdicts: found,
            started_by,
            config,
            layer,
            created_by: created_by.get(layer).cloned().flatten(),
            fingerprint: hex::encode(&hasher.finalize()[..16]),
        });
    }
    incidents.sort_by(|a, b| {
        (a.severity, a.layer, &a.executable).cmp(&(b.severity, b.layer, &b.executable))
    });
    incidents
}

/// Whether the file at `relative` is a binary (ELF or PE), whatever rule
/// matched it: a config rule matching a binary is a verdict on it.
fn meta_is_binary(ctx: &CheckContext<'_>, relative: &str) -> bool {
    ctx.tree
        .entry(relative.as_bytes())
        .is_some_and(|(meta, _)| meta.head.starts_with(b"\x7fELF") || meta.head.starts_with(b"MZ"))
}

/// Whether the file at `relative` has an executable bit.
fn has_exec_bits(ctx: &CheckContext<'_>, relative: &str) -> bool {
    ctx.tree
        .entry(relative.as_bytes())
        .is_some_and(|(meta, _)| meta.mode & 0o111 != 0)
}

/// Files a command line names after `-c`, `--config` or `--config=` that
/// exist in the tree.
fn named_configs(ctx: &CheckContext<'_>, line: &str, exe: &str) -> Vec<ConfigFile> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut out = Vec::new();
    for (i, word) in words.iter().enumerate() {
        let value = match *word {
            "-c" | "--config" => words.get(i + 1).copied(),
            w => w.strip_prefix("--config="),
        };
        let Some(value) = value.filter(|v| v.starts_with('/')) else {
            continue;
        };
        let relative = value.trim_start_matches('/');
        if relative != exe && ctx.tree.entry(relative.as_bytes()).is_some() {
            out.push(ConfigFile {
                path: display_path(relative.as_bytes()),
                layer: ctx.layer_of(relative.as_bytes()),
                rules: Vec::new(),
            });
        }
    }
    out
}

/// One entry per path, with the rules of every entry for it.
fn merge_configs(configs: Vec<ConfigFile>) -> Vec<ConfigFile> {
    let mut by_path: BTreeMap<String, ConfigFile> = BTreeMap::new();
    for c in configs {
        let entry = by_path.entry(c.path.clone()).or_insert_with(|| ConfigFile {
            path: c.path.clone(),
            layer: c.layer,
            rules: Vec::new(),
        });
        entry.rules.extend(c.rules);
        entry.rules.sort();
        entry.rules.dedup();
    }
    by_path.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgscan_sbom::test_tree::MapTree;

    fn hit(rule: &str, severity: Severity, path: &str) -> Malware {
        Malware {
            rule: rule.into(),
            severity,
            path: path.into(),
            layer: 1,
            visible: true,
            sha256: "0".repeat(64),
            evidence: Vec::new(),
            iocs: Vec::new(),
        }
    }

    #[test]
    fn a_miner_with_persistence_is_one_critical_incident() {
        let tree = MapTree::new(&[
            (
                "etc/systemd/system/journald-log.service",
                "[Service]\nExecStart=/usr/sbin/kswapd0 --config /etc/.kconf\n",
            ),
            (
                "etc/cron.d/sync",
                "*/10 * * * * root /usr/sbin/kswapd0 -B\n# /usr/sbin/kswapd0 commented\n",
            ),
            ("etc/.kconf", "{}"),
            ("usr/sbin/kswapd0-not", "x"),
        ])
        .file("usr/sbin/kswapd0", b"\x7fELF\x02\x01\x01 miner")
        .file("usr/sbin/config.json", b"{}")
        .link(
            "etc/systemd/system/multi-user.target.wants/journald-log.service",
            "/etc/systemd/system/journald-log.service",
        );
        let malware = [
            hit("xmrig_miner", Severity::High, "/usr/sbin/kswapd0"),
            hit("xmrig_config", Severity::High, "/usr/sbin/config.json"),
        ];
        let ctx = CheckContext::new(&tree, &[]);
        let incidents = correlate(&ctx, &malware, &[], &[None, Some("RUN curl … | sh".into())]);
        assert_eq!(incidents.len(), 1, "{incidents:#?}");
        let incident = &incidents[0];
        assert_eq!(incident.severity, Severity::Critical);
        assert_eq!(incident.executable, "/usr/sbin/kswapd0");
        let kinds: Vec<(&str, &str)> = incident
            .started_by
            .iter()
            .map(|s| (s.kind, s.path.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("cron", "/etc/cron.d/sync"),
                ("systemd", "/etc/systemd/system/journald-log.service"),
                (
                    "systemd-enable",
                    "/etc/systemd/system/multi-user.target.wants/journald-log.service"
                ),
            ]
        );
        let configs: Vec<&str> = incident.config.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(configs, ["/etc/.kconf", "/usr/sbin/config.json"]);
        assert_eq!(incident.created_by, None, "MapTree puts files in layer 0");
        assert_eq!(incident.fingerprint.len(), 32);
    }

    fn modified(path: &str, severity: Severity) -> Finding {
        Finding {
            id: MODIFIED_FILE,
            severity,
            title: String::new(),
            path: path.into(),
            line: None,
            layer: 0,
            evidence: String::new(),
            remedy: String::new(),
        }
    }

    #[test]
    fn a_replaced_system_tool_is_an_incident_and_a_miner_in_its_place_critical() {
        let tree = MapTree::new(&[])
            .file("usr/bin/ps", b"\x7fELF\x02 filters the miner out")
            .file("usr/share/doc/procps/README", b"edited docs")
            .mode("usr/share/doc/procps/README", 0o644);
        let ctx = CheckContext::new(&tree, &[]);
        let findings = [
            modified("/usr/bin/ps", Severity::High),
            modified("/usr/share/doc/procps/README", Severity::Medium),
        ];
        let incidents = correlate(&ctx, &[], &findings, &[]);
        assert_eq!(incidents.len(), 1, "a changed document is no executable");
        assert_eq!(incidents[0].executable, "/usr/bin/ps");
        assert_eq!(incidents[0].severity, Severity::High);
        assert_eq!(incidents[0].verdicts[0].id, MODIFIED_FILE);
        let miner = [hit("xmrig_miner", Severity::High, "/usr/bin/ps")];
        let incidents = correlate(&ctx, &miner, &findings, &[]);
        assert_eq!(incidents.len(), 1);
        assert_eq!(incidents[0].severity, Severity::Critical);
        assert_eq!(incidents[0].verdicts.len(), 2);
    }

    #[test]
    fn a_packed_executable_alone_stays_medium() {
        let tree = MapTree::new(&[]).file("usr/bin/tool", b"\x7fELF packed");
        let malware = [hit("packed_executable", Severity::Medium, "/usr/bin/tool")];
        let incidents = correlate(&CheckContext::new(&tree, &[]), &malware, &[], &[]);
        assert_eq!(incidents.len(), 1);
        assert_eq!(incidents[0].severity, Severity::Medium);
        assert!(incidents[0].started_by.is_empty());
        assert!(correlate(&CheckContext::new(&tree, &[]), &[], &[], &[]).is_empty());
    }
}
