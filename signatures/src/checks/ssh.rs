//! SSH: `sshd_config` with its `Include`d files, read as sshd reads them
//! (the first value of a keyword wins; `Match` blocks are conditional and
//! end the global section), keys baked into the image: `authorized_keys`
//! for root or any user, and host private keys every server started from
//! the image would share.

use super::info;
use crate::check::{Check, CheckContext, CheckInfo};
use imgscan_sbom::{Finding, Severity};
use std::collections::HashMap;

/// The SSH check.
pub struct Ssh;

const ROOT_LOGIN: CheckInfo = info(
    "ssh.permit-root-login",
    Severity::High,
    "sshd allows root to log in with a password (`PermitRootLogin yes`)",
);
const PASSWORDS: CheckInfo = info(
    "ssh.password-authentication",
    Severity::High,
    "sshd accepts passwords (HIGH when set, LOW when left to sshd's default `yes`)",
);
const EMPTY: CheckInfo = info(
    "ssh.permit-empty-passwords",
    Severity::High,
    "sshd accepts empty passwords (`PermitEmptyPasswords yes`)",
);
const AUTHORIZED: CheckInfo = info(
    "ssh.authorized-keys",
    Severity::High,
    "authorized_keys baked into the image (HIGH for root, MEDIUM for users)",
);
const HOST_KEYS: CheckInfo = info(
    "ssh.host-keys",
    Severity::Medium,
    "SSH host private keys baked into the image: every server started from it shares them",
);
const INFO: &[CheckInfo] = &[ROOT_LOGIN, PASSWORDS, EMPTY, AUTHORIZED, HOST_KEYS];

const MAX_INCLUDE_DEPTH: usize = 8;

/// A keyword's effective value and where it was set.
struct Setting {
    value: String,
    path: Vec<u8>,
    line: usize,
}

impl Check for Ssh {
    fn info(&self) -> &'static [CheckInfo] {
        INFO
    }

    fn globs(&self) -> &'static [&'static str] {
        &[
            "etc/ssh/sshd_config",
            "etc/ssh/sshd_config.d/*",
            "root/.ssh/authorized_keys*",
            "home/*/.ssh/authorized_keys*",
        ]
    }

    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        if ctx.tree.entry(b"etc/ssh/sshd_config").is_some() {
            let mut settings = HashMap::new();
            read_config(ctx, b"etc/ssh/sshd_config", 0, &mut settings, &mut false);
            config_findings(ctx, &settings, &mut out);
        }
        for path in ctx.paths_where(is_authorized_keys) {
            let keys = ctx
                .text(&path)
                .map(|t| {
                    t.lines()
                        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
                        .count()
                })
                .unwrap_or(0);
            if keys == 0 {
                continue;
            }
            let root = path.starts_with(b"root/");
            let severity = if root {
                Severity::High
            } else {
                Severity::Medium
            };
            let who = if root {
                "root".to_string()
            } else {
                String::from_utf8_lossy(path.split(|&b| b == b'/').nth(1).unwrap_or_default())
                    .into_owned()
            };
            out.push(ctx.finding(
                &AUTHORIZED,
                severity,
                (&path, None),
                format!("{keys} SSH key(s) authorized for `{who}` are baked into the image"),
                format!("{keys} key line(s)"),
                "provision keys at deploy time (cloud-init, a secret store), never in the image",
            ));
        }
        for path in ctx.paths_where(|p| p.starts_with(b"etc/ssh/ssh_host_") && p.ends_with(b"_key"))
        {
            out.push(ctx.finding(&HOST_KEYS, HOST_KEYS.severity, (&path, None), "SSH host private key baked into the image".to_string(), "every server started from this image shares this host key".to_string(), "delete /etc/ssh/ssh_host_* in the image build; let each server generate its own on first boot"));
        }
        out
    }
}

fn is_authorized_keys(path: &[u8]) -> bool {
    let Ok(path) = std::str::from_utf8(path) else {
        return false;
    };
    let file = |rest: &str| {
        rest.strip_prefix(".ssh/")
            .is_some_and(|f| f.starts_with("authorized_keys"))
    };
    path.strip_prefix("root/").is_some_and(file)
        || path
            .strip_prefix("home/")
            .and_then(|r| r.split_once('/'))
            .is_some_and(|(_, rest)| file(rest))
}

/// Reads one config file into `settings`, first value winning, following
/// `Include` in place; stops at the first `Match`.
fn read_config(
    ctx: &CheckContext<'_>,
    path: &[u8],
    depth: usize,
    settings: &mut HashMap<String, Setting>,
    in_match: &mut bool,
) {
    let Some(text) = ctx.text(path) else { return };
    for (index, raw) in text.lines().enumerate() {
        if *in_match {
            return;
        }
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.splitn(2, |c: char| c.is_whitespace() || c == '=');
        let key = parts.next().unwrap_or_default().to_ascii_lowercase();
        let value = parts
            .next()
            .unwrap_or_default()
            .trim()
            .trim_start_matches('=')
            .trim()
            .trim_matches('"')
            .to_string();
        match key.as_str() {
            "match" => *in_match = true,
            "include" if depth < MAX_INCLUDE_DEPTH => {
                for pattern in value.split_whitespace() {
                    for include in expand_include(ctx, pattern) {
                        read_config(ctx, &include, depth + 1, settings, in_match);
                    }
                }
            }
            _ => {
                settings.entry(key).or_insert(Setting {
                    value,
                    path: path.to_vec(),
                    line: index + 1,
                });
            }
        }
    }
}

/// The files an `Include` pattern names (relative to /etc/ssh), sorted as
/// sshd's glob sorts them.
fn expand_include(ctx: &CheckContext<'_>, pattern: &str) -> Vec<Vec<u8>> {
    let absolute = if pattern.starts_with('/') {
        pattern.to_string()
    } else {
        format!("/etc/ssh/{pattern}")
    };
    let relative = absolute.trim_start_matches('/');
    let Some((dir, file_glob)) = relative.rsplit_once('/') else {
        return Vec::new();
    };
    let Ok(matcher) = regex::Regex::new(&format!(
        "^{}$",
        regex::escape(file_glob)
            .replace("\\*", "[^/]*")
            .replace("\\?", "[^/]")
    )) else {
        return Vec::new();
    };
    let prefix = format!("{dir}/");
    let mut files: Vec<Vec<u8>> = ctx.paths_where(|p| {
        p.strip_prefix(prefix.as_bytes())
            .and_then(|rest| std::str::from_utf8(rest).ok())
            .is_some_and(|rest| !rest.contains('/') && matcher.is_match(rest))
    });
    files.sort();
    files
}

fn config_findings(
    ctx: &CheckContext<'_>,
    settings: &HashMap<String, Setting>,
    out: &mut Vec<Finding>,
) {
    let explicit = |key: &str| {
        settings
            .get(key)
            .filter(|s| s.value.eq_ignore_ascii_case("yes"))
    };
    if let Some(s) = explicit("permitrootlogin") {
        out.push(ctx.finding(
            &ROOT_LOGIN,
            Severity::High,
            (&s.path, Some(s.line)),
            "sshd lets root log in with a password".into(),
            format!("PermitRootLogin {}", s.value),
            "set `PermitRootLogin prohibit-password` (or `no`) and use keys",
        ));
    }
    if let Some(s) = explicit("permitemptypasswords") {
        out.push(ctx.finding(
            &EMPTY,
            Severity::High,
            (&s.path, Some(s.line)),
            "sshd accepts empty passwords".into(),
            format!("PermitEmptyPasswords {}", s.value),
            "set `PermitEmptyPasswords no`",
        ));
    }
    match settings.get("passwordauthentication") {
        Some(s) if s.value.eq_ignore_ascii_case("yes") => {
            out.push(ctx.finding(
                &PASSWORDS,
                Severity::High,
                (&s.path, Some(s.line)),
                "sshd accepts password logins".into(),
                format!("PasswordAuthentication {}", s.value),
                "set `PasswordAuthentication no` and use keys",
            ));
        }
        None => {
            out.push(ctx.finding(
                &PASSWORDS,
                Severity::Low,
                (b"etc/ssh/sshd_config", None),
                "sshd accepts password logins by default".into(),
                "PasswordAuthentication is not set; sshd's default is `yes`".into(),
                "set `PasswordAuthentication no` explicitly and use keys",
            ));
        }
        Some(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgscan_sbom::test_tree::MapTree;

    fn found(tree: &MapTree) -> Vec<(&'static str, Severity, String)> {
        Ssh.run(&CheckContext::new(tree, &[]))
            .into_iter()
            .map(|f| (f.id, f.severity, f.path))
            .collect()
    }

    #[test]
    fn first_value_wins_across_includes() {
        let tree = MapTree::new(&[
            (
                "etc/ssh/sshd_config",
                "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\nPasswordAuthentication no\nMatch User backup\n  PermitEmptyPasswords yes\n",
            ),
            (
                "etc/ssh/sshd_config.d/10-cloud.conf",
                "PermitRootLogin yes\n",
            ),
            ("etc/ssh/sshd_config.d/20-late.conf", "PermitRootLogin no\n"),
            (
                "root/.ssh/authorized_keys",
                "ssh-ed25519 AAAAC3Nza... attacker\n",
            ),
            (
                "home/deploy/.ssh/authorized_keys2",
                "ssh-rsa AAAAB3... ci\n",
            ),
            (
                "etc/ssh/ssh_host_ed25519_key",
                "-----BEGIN OPENSSH PRIVATE KEY-----\n",
            ),
            ("etc/ssh/ssh_host_ed25519_key.pub", "ssh-ed25519 AAAA\n"),
        ]);
        let found = found(&tree);
        assert!(
            found.contains(&(
                "ssh.permit-root-login",
                Severity::High,
                "/etc/ssh/sshd_config.d/10-cloud.conf".into()
            )),
            "{found:?}"
        );
        assert!(
            !found.iter().any(|f| f.0 == "ssh.permit-empty-passwords"),
            "Match blocks are conditional: {found:?}"
        );
        assert!(
            !found.iter().any(|f| f.0 == "ssh.password-authentication"),
            "{found:?}"
        );
        assert!(
            found.contains(&(
                "ssh.authorized-keys",
                Severity::High,
                "/root/.ssh/authorized_keys".into()
            )),
            "{found:?}"
        );
        assert!(
            found.contains(&(
                "ssh.authorized-keys",
                Severity::Medium,
                "/home/deploy/.ssh/authorized_keys2".into()
            )),
            "{found:?}"
        );
        assert!(
            found.contains(&(
                "ssh.host-keys",
                Severity::Medium,
                "/etc/ssh/ssh_host_ed25519_key".into()
            )),
            "{found:?}"
        );
        assert_eq!(found.len(), 4, "{found:?}");
    }

    #[test]
    fn debian_default_config_gives_only_the_low_default() {
        let tree = MapTree::new(&[(
            "etc/ssh/sshd_config",
            "Include /etc/ssh/sshd_config.d/*.conf\n#PermitRootLogin prohibit-password\nKbdInteractiveAuthentication no\nUsePAM yes\n",
        )]);
        assert_eq!(
            found(&tree),
            [(
                "ssh.password-authentication",
                Severity::Low,
                "/etc/ssh/sshd_config".to_string()
            )]
        );
    }
}
