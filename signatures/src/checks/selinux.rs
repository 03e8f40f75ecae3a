//! SELinux on RHEL-family systems (`ID`/`ID_LIKE` naming rhel, fedora or
//! centos, or an `/etc/redhat-release`): `/etc/selinux/config` with
//! `SELINUX=disabled` or `permissive` turns off the confinement that stops
//! a compromised service from writing and running a miner. Other distros
//! do not ship SELinux enforcing, so the setting says nothing there.

use crate::check::{Check, CheckContext, CheckInfo};
use imgscan_sbom::{Finding, Severity};

use super::info;

/// The SELinux check.
pub struct Selinux;

const DISABLED: CheckInfo = info(
    "selinux.disabled",
    Severity::Medium,
    "SELinux is disabled on a RHEL-family system (`SELINUX=disabled`)",
);
const PERMISSIVE: CheckInfo = info(
    "selinux.permissive",
    Severity::Low,
    "SELinux only logs on a RHEL-family system (`SELINUX=permissive`)",
);
const INFO: &[CheckInfo] = &[DISABLED, PERMISSIVE];

/// Whether the tree is a RHEL-family system.
fn rhel_family(ctx: &CheckContext<'_>) -> bool {
    let family = |text: &str| {
        text.lines().any(|line| {
            let Some((key, value)) = line.trim().split_once('=') else {
                return false;
            };
            matches!(key, "ID" | "ID_LIKE")
                && value
                    .trim_matches(['"', '\''])
                    .split_whitespace()
                    .any(|id| matches!(id, "rhel" | "fedora" | "centos"))
        })
    };
    ctx.tree.entry(b"etc/redhat-release").is_some()
        || [b"etc/os-release".as_slice(), b"usr/lib/os-release"]
            .iter()
            .any(|p| ctx.text(p).is_some_and(|t| family(&t)))
}

impl Check for Selinux {
    fn info(&self) -> &'static [CheckInfo] {
        INFO
    }

    fn globs(&self) -> &'static [&'static str] {
        &["etc/selinux/config", "etc/os-release", "usr/lib/os-release"]
    }

    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let path = b"etc/selinux/config".as_slice();
        let Some(text) = ctx.text(path) else {
            return Vec::new();
        };
        if !rhel_family(ctx) {
            return Vec::new();
        }
        // The last assignment wins, as the shell-style file is sourced.
        let Some((line, mode)) = text
            .lines()
            .enumerate()
            .filter_map(|(i, l)| {
                let value = l.trim().strip_prefix("SELINUX=")?;
                Some((
                    i + 1,
                    value.trim().trim_matches(['"', '\'']).to_ascii_lowercase(),
                ))
            })
            .last()
        else {
            return Vec::new();
        };
        let (check, what) = match mode.as_str() {
            "disabled" => (&DISABLED, "disabled"),
            "permissive" => (&PERMISSIVE, "permissive: denials are logged, not enforced"),
            _ => return Vec::new(),
        };
        vec![ctx.finding(
            check,
            check.severity,
            (path, Some(line)),
            format!("SELinux is {what}"),
            format!("SELINUX={mode}"),
            "set `SELINUX=enforcing` (and relabel: `touch /.autorelabel`)",
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgscan_sbom::test_tree::MapTree;

    fn found(os: &str, config: &str) -> Vec<&'static str> {
        let tree = MapTree::new(&[("etc/os-release", os), ("etc/selinux/config", config)]);
        Selinux
            .run(&CheckContext::new(&tree, &[]))
            .into_iter()
            .map(|f| f.id)
            .collect()
    }

    const ROCKY: &str =
        "NAME=\"Rocky Linux\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.3\"\n";

    #[test]
    fn modes_on_rhel_family_only() {
        assert_eq!(
            found(ROCKY, "# comment\nSELINUX=disabled\nSELINUXTYPE=targeted\n"),
            ["selinux.disabled"]
        );
        assert_eq!(found(ROCKY, "SELINUX=permissive\n"), ["selinux.permissive"]);
        assert!(found(ROCKY, "SELINUX=enforcing\nSELINUXTYPE=targeted\n").is_empty());
        assert!(
            found("ID=debian\nVERSION_ID=12\n", "SELINUX=disabled\n").is_empty(),
            "Debian does not enforce SELinux by default"
        );
        assert_eq!(
            found(
                "ID=almalinux\nID_LIKE=\"rhel centos fedora\"\n",
                "SELINUX=enforcing\nSELINUX=permissive\n"
            ),
            ["selinux.permissive"],
            "the last assignment wins"
        );
    }
}
