//! sudo rules that make root one step away: a user or group allowed to
//! run every command as root without a password (`NOPASSWD: ALL` — how a
//! leftover test account, or an attacker's dropped `/etc/sudoers.d` file,
//! turns any foothold into root), and `Defaults !authenticate`, which
//! drops the password for everyone it applies to.
//!
//! Read as sudo reads them: `/etc/sudoers`, and the files of
//! `/etc/sudoers.d` when it includes that directory (`@includedir`, or the
//! older `#includedir`), skipping the names sudo skips (with a `.` or
//! ending in `~`); `#` starts a comment, `\` continues a line. A tag such
//! as `NOPASSWD:` holds for the commands after it until another tag
//! overrides it. Aliases are not expanded (a `Cmnd_Alias` standing for
//! `ALL` is not seen). Rules for `root` are left out.

use super::info;
use crate::check::{Check, CheckContext, CheckInfo};
use imgscan_sbom::{Finding, Severity};

/// The sudo check.
pub struct Sudo;

const NOPASSWD_ALL: CheckInfo = info(
    "sudo.nopasswd-all",
    Severity::Medium,
    "a user or group may run every command as root without a password (`NOPASSWD: ALL`)",
);
const NO_AUTHENTICATE: CheckInfo = info(
    "sudo.no-authenticate",
    Severity::High,
    "sudo asks no one for a password (`Defaults !authenticate`)",
);
const INFO: &[CheckInfo] = &[NOPASSWD_ALL, NO_AUTHENTICATE];

const SUDOERS: &[u8] = b"etc/sudoers";
const SUDOERS_D: &[u8] = b"etc/sudoers.d/";

impl Check for Sudo {
    fn info(&self) -> &'static [CheckInfo] {
        INFO
    }

    fn globs(&self) -> &'static [&'static str] {
        &["etc/sudoers", "etc/sudoers.d/*"]
    }

    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let Some(main) = ctx.text(SUDOERS) else {
            return Vec::new();
        };
        let mut files = vec![(SUDOERS.to_vec(), main.into_owned())];
        if includes_sudoers_d(&files[0].1) {
            for path in ctx.paths_where(read_by_sudo) {
                if let Some(text) = ctx.text(&path) {
                    files.push((path, text.into_owned()));
                }
            }
        }
        let mut out = Vec::new();
        for (path, text) in &files {
            for (line, rule) in logical_lines(text) {
                if let Some(who) = no_authenticate(&rule) {
                    out.push(ctx.finding(
                        &NO_AUTHENTICATE,
                        NO_AUTHENTICATE.severity,
                        (path, Some(line)),
                        format!("sudo asks {who} for no password"),
                        rule.clone(),
                        "remove `!authenticate`; give the accounts that need sudo a password, or none at all",
                    ));
                } else if let Some(who) = nopasswd_all(&rule) {
                    out.push(ctx.finding(
                        &NOPASSWD_ALL,
                        NOPASSWD_ALL.severity,
                        (path, Some(line)),
                        format!("{who} may run every command as root without a password"),
                        rule.clone(),
                        "limit the rule to the commands the account needs, or drop `NOPASSWD`; remove accounts and sudoers files left from the image build",
                    ));
                }
            }
        }
        out
    }
}

/// Whether `/etc/sudoers` reads `/etc/sudoers.d`.
fn includes_sudoers_d(text: &str) -> bool {
    text.lines().any(|line| {
        let mut words = line.split_whitespace();
        matches!(words.next(), Some("@includedir" | "#includedir"))
            && words
                .next()
                .is_some_and(|dir| dir.trim_end_matches('/') == "/etc/sudoers.d")
    })
}

/// Whether `path` is a file of `/etc/sudoers.d` that sudo reads.
fn read_by_sudo(path: &[u8]) -> bool {
    path.strip_prefix(SUDOERS_D).is_some_and(|name| {
        !name.is_empty() && !name.contains(&b'/') && !name.contains(&b'.') && !name.ends_with(b"~")
    })
}

/// The file's rules, comments removed and continued lines joined, each
/// with the number of its first line.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    let mut finish = |current: &mut Option<(usize, String)>| {
        if let Some((at, rule)) = current.take() {
            let rule = rule.split_whitespace().collect::<Vec<_>>().join(" ");
            if !rule.is_empty() {
                out.push((at, rule));
            }
        }
    };
    for (i, raw) in text.lines().enumerate() {
        let line = strip_comment(raw);
        let (body, continued) = match line.strip_suffix('\\') {
            Some(body) => (body, true),
            None => (line, false),
        };
        let (_, joined) = current.get_or_insert_with(|| (i + 1, String::new()));
        joined.push(' ');
        joined.push_str(body);
        if !continued {
            finish(&mut current);
        }
    }
    finish(&mut current);
    out
}

/// `line` without its comment (`#` not followed by a digit, which is a
/// uid, and not an include directive).
fn strip_comment(line: &str) -> &str {
    let trimmed = line.trim_start();
    if trimmed.starts_with("#include") {
        return "";
    }
    let bytes = line.as_bytes();
    let cut = (0..bytes.len())
        .find(|&i| bytes[i] == b'#' && !bytes.get(i + 1).is_some_and(u8::is_ascii_digit));
    &line[..cut.unwrap_or(line.len())]
}

/// Whom a `Defaults` line with `!authenticate` applies to, if it is one.
fn no_authenticate(rule: &str) -> Option<String> {
    let (head, settings) = rule.split_once(char::is_whitespace)?;
    let scope = head.strip_prefix("Defaults")?;
    let off = settings.split(',').any(|s| s.trim() == "!authenticate");
    if !off {
        return None;
    }
    Some(match scope.strip_prefix(':') {
        Some(users) => format!("`{users}`"),
        None if scope.is_empty() => "anyone".to_string(),
        // `Defaults@host`, `Defaults>runas`, `Defaults!cmnd`: still no one
        // is asked where it applies.
        None => format!("anyone ({scope})"),
    })
}

/// Who a user specification lets run `ALL` commands with `NOPASSWD`, if it
/// does (`root` excluded).
fn nopasswd_all(rule: &str) -> Option<String> {
    let first = rule.split_whitespace().next()?;
    if first.starts_with("Defaults")
        || first.ends_with("_Alias")
        || first.starts_with('@')
        || first.starts_with("#include")
    {
        return None;
    }
    // `users host = (runas) TAGS: cmnd, cmnd : host = ...`: the user list
    // (which may hold spaces after its commas) ends at the host word
    // before the first `=`.
    let (before, _) = rule.split_once('=')?;
    let host_at = before.trim_end().rfind(char::is_whitespace)?;
    let users: Vec<&str> = rule[..host_at]
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .collect();
    if users.iter().all(|u| *u == "root") {
        return None;
    }
    // A runas spec `(ALL : ALL)` holds the grant separator: drop its spaces.
    let mut depth = 0usize;
    let rest: String = rule[host_at..]
        .chars()
        .filter(|&c| {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                _ => {}
            }
            depth == 0 || !c.is_whitespace()
        })
        .collect();
    let grants = rest.split(" : ").any(|grant| {
        let Some((_, commands)) = grant.split_once('=') else {
            return false;
        };
        let mut commands = commands.trim();
        if let Some(spec) = commands.strip_prefix('(') {
            let end = spec.find(')').unwrap_or(spec.len());
            // Only running as root (or anyone) is root: `(www-data)` is not.
            let runas_users = spec[..end].split(':').next().unwrap_or_default();
            if !runas_users
                .split(',')
                .any(|u| matches!(u, "ALL" | "root" | "#0"))
            {
                return false;
            }
            commands = spec.get(end + 1..).unwrap_or_default();
        }
        let mut nopasswd = false;
        commands.split(',').any(|command| {
            let mut command = command.trim();
            // Leading tags (`NOPASSWD:`, `SETENV:`, ...) set state.
            while let Some((tag, after)) = command.split_once(':') {
                if !tag.chars().all(|c| c.is_ascii_uppercase() || c == '_') || tag.is_empty() {
                    break;
                }
                match tag {
                    "NOPASSWD" => nopasswd = true,
                    "PASSWD" => nopasswd = false,
                    _ => {}
                }
                command = after.trim_start();
            }
            nopasswd && command == "ALL"
        })
    });
    grants.then(|| {
        let named: Vec<String> = users
            .iter()
            .filter(|u| **u != "root")
            .map(|u| match u.strip_prefix('%') {
                Some(group) => format!("group `{group}`"),
                None => format!("`{u}`"),
            })
            .collect();
        named.join(", ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgscan_sbom::test_tree::MapTree;

    fn found(files: &[(&str, &str)]) -> Vec<(&'static str, String, Option<u32>)> {
        let tree = MapTree::new(files);
        Sudo.run(&CheckContext::new(&tree, &[]))
            .into_iter()
            .map(|f| (f.id, f.path, f.line))
            .collect()
    }

    const DEBIAN: &str = "Defaults\tenv_reset\nDefaults\tsecure_path=\"/usr/sbin:/usr/bin\"\n\
        # User privilege specification\nroot\tALL=(ALL:ALL) ALL\n\
        # Allow members of group sudo to execute any command\n%sudo\tALL=(ALL:ALL) ALL\n\
        @includedir /etc/sudoers.d\n";

    #[test]
    fn passwordless_root_for_users_and_groups() {
        let sudoers = format!(
            "{DEBIAN}deploy ALL=(ALL) NOPASSWD: ALL\n%wheel ALL=(ALL) NOPASSWD: /usr/bin/systemctl, ALL\n"
        );
        assert_eq!(
            found(&[("etc/sudoers", &sudoers)]),
            [
                ("sudo.nopasswd-all", "/etc/sudoers".into(), Some(8)),
                ("sudo.nopasswd-all", "/etc/sudoers".into(), Some(9)),
            ]
        );
    }

    #[test]
    fn a_dropped_file_in_sudoers_d_counts_when_sudo_reads_it() {
        let dropped = "# added\ntest ALL=(ALL) \\\n   NOPASSWD:ALL\n";
        assert_eq!(
            found(&[("etc/sudoers", DEBIAN), ("etc/sudoers.d/90-test", dropped)]),
            [(
                "sudo.nopasswd-all",
                "/etc/sudoers.d/90-test".into(),
                Some(2)
            )]
        );
        // Names with a dot or a trailing `~` are skipped by sudo, and a
        // sudoers without the include reads none of them.
        assert!(
            found(&[
                ("etc/sudoers", DEBIAN),
                ("etc/sudoers.d/90-test.bak", dropped)
            ])
            .is_empty()
        );
        assert!(found(&[("etc/sudoers", DEBIAN), ("etc/sudoers.d/90-test~", dropped)]).is_empty());
        let no_include = DEBIAN.replace("@includedir /etc/sudoers.d\n", "");
        assert!(found(&[("etc/sudoers", &no_include), ("etc/sudoers.d/x", dropped)]).is_empty());
        // The older spelling of the include.
        let old = DEBIAN.replace("@includedir", "#includedir");
        assert_eq!(
            found(&[("etc/sudoers", &old), ("etc/sudoers.d/x", dropped)]).len(),
            1
        );
    }

    #[test]
    fn runas_specs_and_user_lists_as_sudo_reads_them() {
        let sudoers = format!(
            "{DEBIAN}deploy ALL=(ALL : ALL) NOPASSWD: ALL
alice, bob ALL=(root) NOPASSWD: ALL
             web ALL=(www-data) NOPASSWD: ALL
"
        );
        let found = Sudo.run(&CheckContext::new(
            &MapTree::new(&[("etc/sudoers", &sudoers)]),
            &[],
        ));
        let lines: Vec<Option<u32>> = found.iter().map(|f| f.line).collect();
        assert_eq!(
            lines,
            [Some(8), Some(9)],
            "not the rule running as www-data"
        );
        let text = format!("{:?}", found[1]);
        assert!(text.contains("`alice`") && text.contains("`bob`"), "{text}");
    }

    #[test]
    fn limited_or_password_rules_and_root_are_fine() {
        let sudoers = format!(
            "{DEBIAN}ops ALL=(ALL) NOPASSWD: /usr/bin/systemctl restart app\n\
             ops2 ALL=(ALL) NOPASSWD: /bin/ls, PASSWD: ALL\n\
             root ALL=(ALL) NOPASSWD: ALL\n\
             # bob ALL=(ALL) NOPASSWD: ALL\n\
             Cmnd_Alias EVERYTHING = ALL\n"
        );
        assert!(
            found(&[("etc/sudoers", &sudoers)]).is_empty(),
            "{:?}",
            found(&[("etc/sudoers", &sudoers)])
        );
        assert!(
            found(&[("etc/sudoers.d/x", "x ALL=(ALL) NOPASSWD: ALL\n")]).is_empty(),
            "no sudoers: no sudo"
        );
    }

    #[test]
    fn defaults_without_authentication() {
        let sudoers =
            format!("{DEBIAN}Defaults:deploy !authenticate\nDefaults env_reset, !authenticate\n");
        assert_eq!(
            found(&[("etc/sudoers", &sudoers)]),
            [
                ("sudo.no-authenticate", "/etc/sudoers".into(), Some(8)),
                ("sudo.no-authenticate", "/etc/sudoers".into(), Some(9)),
            ]
        );
    }
}
