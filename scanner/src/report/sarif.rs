//! The SARIF 2.1.0 rendering of a report, for code-scanning dashboards
//! (GitHub, GitLab, Azure DevOps): one rule per vulnerability id, malware
//! rule and check, with the `security-severity` score those dashboards
//! rank by; one result per incident (first), vulnerable package, malware
//! match and finding,
//! located at the file inside the image (the package database or
//! lockfile, the matched file, the misconfigured file and line), with the
//! report's fingerprint as `partialFingerprints["imgscan/v1"]` so that a
//! dashboard tracks one alert across rebuilds, and with `--baseline` each
//! result's `baselineState` (`new` or `unchanged`).

use super::{Report, Status};
use imgscan_advisories::VulnerabilityKind;
use imgscan_sbom::Severity;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Renders `report` as a SARIF 2.1.0 log with one run.
pub fn render_sarif(report: &Report) -> String {
    let mut run = Run::default();
    // Incidents first: each ties the results below into one story.
    for i in report.incidents.iter().flatten() {
        let rule = run.rule(Rule {
            id: "incident".to_string(),
            description: "a suspicious executable with its verdicts, what starts it, its config and the layer it came in with".to_string(),
            severity: Severity::Critical,
            score: None,
            tag: "incident",
        });
        let verdicts: Vec<&str> = i.verdicts.iter().map(|v| v.id.as_str()).collect();
        let started: Vec<String> = i
            .started_by
            .iter()
            .map(|s| format!("{} {}", s.kind, s.path))
            .collect();
        let started = if started.is_empty() {
            "nothing starts it".to_string()
        } else {
            format!("started by {}", started.join(", "))
        };
        run.result(
            rule,
            i.severity,
            format!(
                "{} ({}); {started}; layer {}",
                i.executable,
                verdicts.join(", "),
                i.layer
            ),
            vec![(i.executable.as_str(), None)],
            (&i.fingerprint, None),
            json!({ "layer": i.layer, "created_by": i.created_by,
                    "started_by": i.started_by, "config": i.config }),
        );
    }
    for v in report.vulnerabilities.iter().flatten() {
        let fixed = if v.fixed.is_empty() {
            "no fix".to_string()
        } else {
            format!("fixed in {}", v.fixed.join(", "))
        };
        let also = if v.aliases.is_empty() {
            String::new()
        } else {
            format!(" ({})", v.aliases.join(", "))
        };
        let rule = run.rule(Rule {
            id: v.id.clone(),
            description: if v.summary.is_empty() {
                v.id.clone()
            } else {
                v.summary.clone()
            },
            severity: v.severity,
            score: v.cvss.as_ref().map(|c| c.score),
            tag: match v.kind {
                VulnerabilityKind::Malicious => "malicious-package",
                VulnerabilityKind::Vulnerability => "vulnerability",
            },
        });
        run.result(
            rule,
            v.severity,
            format!(
                "{} {} is affected by {}{also}: {fixed}. {} (layer {})",
                v.name, v.version, v.id, v.summary, v.at.layer
            ),
            v.at.locations.iter().map(|l| (l.as_str(), None)).collect(),
            (&v.fingerprint, v.status),
            json!({ "purl": v.purl, "layer": v.at.layer, "kind": v.kind }),
        );
    }
    for m in report.malware.iter().flatten() {
        let rule = run.rule(Rule {
            id: m.rule.clone(),
            description: format!("YARA rule {}", m.rule),
            severity: m.severity,
            score: None,
            tag: "malware",
        });
        let deleted = if m.visible {
            ""
        } else {
            " (deleted by a later layer; still in the image)"
        };
        run.result(
            rule,
            m.severity,
            format!(
                "{} matched {} in layer {}{deleted}; evidence: {}",
                m.rule,
                m.path,
                m.layer,
                m.evidence.join(", ")
            ),
            vec![(m.path.as_str(), None)],
            (&m.fingerprint, m.status),
            json!({ "layer": m.layer, "sha256": m.sha256, "visible": m.visible }),
        );
    }
    for f in report.findings.iter().flatten() {
        let rule = run.rule(Rule {
            id: f.id.to_string(),
            description: f.title.clone(),
            severity: f.severity,
            score: None,
            tag: "misconfiguration",
        });
        run.result(
            rule,
            f.severity,
            format!("{}. {}", f.title, f.remedy),
            vec![(f.path.as_str(), f.line)],
            (&f.fingerprint, f.status),
            json!({ "layer": f.layer, "evidence": f.evidence }),
        );
    }
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "imgscan",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": run.rules,
            }},
            "results": run.results,
            "properties": {
                "target": report.target.input,
                "kind": report.target.kind,
                "digest": report.target.digest,
                "notChecked": report.summary.not_checked,
            },
        }],
    });
    let mut text = serde_json::to_string_pretty(&log).expect("a JSON value serialises");
    text.push('\n');
    text
}

struct Rule {
    id: String,
    description: String,
    severity: Severity,
    score: Option<f64>,
    tag: &'static str,
}

#[derive(Serialize)]
struct SarifRule {
    id: String,
    #[serde(rename = "shortDescription")]
    short_description: Value,
    #[serde(rename = "defaultConfiguration")]
    default_configuration: Value,
    properties: Value,
}

#[derive(Default)]
struct Run {
    rules: Vec<SarifRule>,
    index: BTreeMap<String, usize>,
    results: Vec<Value>,
}

impl Run {
    /// The index of `rule`, added on first use.
    fn rule(&mut self, rule: Rule) -> usize {
        if let Some(&at) = self.index.get(&rule.id) {
            return at;
        }
        let at = self.rules.len();
        self.index.insert(rule.id.clone(), at);
        self.rules.push(SarifRule {
            short_description: json!({ "text": one_line(&rule.description) }),
            default_configuration: json!({ "level": level(rule.severity) }),
            properties: json!({
                "security-severity": format!("{:.1}", rule.score.unwrap_or(score(rule.severity))),
                "tags": ["security", rule.tag, rule.severity.as_str()],
            }),
            id: rule.id,
        });
        at
    }

    fn result(
        &mut self,
        rule: usize,
        severity: Severity,
        message: String,
        places: Vec<(&str, Option<u32>)>,
        (fingerprint, status): (&str, Option<Status>),
        properties: Value,
    ) {
        let locations: Vec<Value> = places
            .into_iter()
            .map(|(path, line)| {
                let mut physical = json!({ "artifactLocation": { "uri": uri(path) } });
                if let Some(line) = line.filter(|&l| l > 0) {
                    physical["region"] = json!({ "startLine": line });
                }
                json!({ "physicalLocation": physical })
            })
            .collect();
        let mut result = json!({
            "ruleId": self.rules[rule].id,
            "ruleIndex": rule,
            "level": level(severity),
            "message": { "text": message },
            "locations": locations,
            "partialFingerprints": { "imgscan/v1": fingerprint },
            "properties": properties,
        });
        // Against a baseline (`--baseline`), SARIF's own word for it.
        if let Some(status) = status {
            result["baselineState"] = json!(match status {
                Status::New => "new",
                Status::Unchanged => "unchanged",
            });
        }
        self.results.push(result);
    }
}

/// SARIF levels: what fails a build is an error.
fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Unknown => "note",
    }
}

/// A `security-severity` in the band GitHub maps back to the severity.
fn score(severity: Severity) -> f64 {
    match severity {
        Severity::Critical => 9.5,
        Severity::High => 8.0,
        Severity::Medium => 5.5,
        Severity::Low => 2.0,
        Severity::Unknown => 0.0,
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A path inside the image as a relative URI reference: no leading `/`,
/// every byte outside the unreserved set and `/` percent-encoded (the
/// report's `\xNN` escapes and the `!` of nested archives included).
fn uri(path: &str) -> String {
    let mut out = String::new();
    for &byte in path.trim_start_matches('/').as_bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_and_encoded() {
        assert_eq!(uri("/var/lib/dpkg/status"), "var/lib/dpkg/status");
        assert_eq!(
            uri("/opt/tools.tar.gz!/bin/a b"),
            "opt/tools.tar.gz%21/bin/a%20b"
        );
        assert_eq!(uri("/srv/caf\\xe9"), "srv/caf%5Cxe9");
    }

    #[test]
    fn levels_and_scores_follow_severity() {
        assert_eq!(level(Severity::Critical), "error");
        assert_eq!(level(Severity::Medium), "warning");
        assert_eq!(level(Severity::Unknown), "note");
        assert!(score(Severity::High) >= 7.0 && score(Severity::High) < 9.0);
    }
}
