//! The built-in checks, one file per family, and what they share: turning
//! a suspicious command line into findings.

mod accounts;
mod cron;
mod docker;
mod integrity;
mod kernel;
mod npm_drift;
mod npm_scripts;
mod redis;
mod selinux;
mod services;
mod ssh;
mod startup;
mod sudo;
mod systemd;
mod unowned;

pub use integrity::MODIFIED_FILE;
pub use npm_drift::{LOCK_DRIFT_ID, lock_drift};

use crate::check::{Check, CheckContext, CheckInfo};
use crate::command::{Suspicion, analyze};
use imgscan_sbom::{Finding, Severity};

/// Every built-in check.
pub fn all_checks() -> Vec<Box<dyn Check>> {
    vec![
        Box::new(cron::Cron),
        Box::new(systemd::Systemd),
        Box::new(startup::Startup),
        Box::new(unowned::UnownedExecutables),
        Box::new(integrity::ModifiedFiles),
        Box::new(accounts::Accounts),
        Box::new(ssh::Ssh),
        Box::new(sudo::Sudo),
        Box::new(redis::Redis),
        Box::new(docker::Docker),
        Box::new(selinux::Selinux),
        Box::new(services::Services),
        Box::new(kernel::Kernel),
        Box::new(npm_scripts::NpmScripts),
        Box::new(npm_drift::NpmDrift),
    ]
}

/// The three ways a command that a persistence mechanism runs is suspicious.
pub(crate) struct CommandIds {
    pub temp: CheckInfo,
    pub download: CheckInfo,
    pub unowned: CheckInfo,
}

/// Reports what `command` (line `line` of the file at `path`) runs that a
/// miner would: each suspicion becomes a finding of `ids`.
pub(crate) fn report_command(
    ctx: &CheckContext<'_>,
    ids: &CommandIds,
    what: &str,
    path: &[u8],
    line: Option<usize>,
    command: &str,
    out: &mut Vec<Finding>,
) {
    let evidence = command.trim().chars().take(300).collect::<String>();
    for suspicion in analyze(command, ctx) {
        let finding = match suspicion {
            Suspicion::TempOrHidden(program) => ctx.finding(&ids.temp, ids.temp.severity, (path, line), format!("{what} runs `{program}` from a temp or hidden place"), evidence.clone(), "run only packaged executables from system paths; remove the job and the file it starts"),
            Suspicion::DownloadAndRun => ctx.finding(&ids.download, ids.download.severity, (path, line), format!("{what} downloads or decodes code and runs it"), evidence.clone(), "never fetch and execute code at run time; bake reviewed binaries into the image"),
            Suspicion::Unowned(program) => ctx.finding(&ids.unowned, ids.unowned.severity, (path, line), format!("{what} runs `{program}`, which no installed package owns"), evidence.clone(), "find out where the executable came from; install it from a package or remove it"),
        };
        out.push(finding);
    }
}

/// The lines of a text with their 1-based numbers, comments and blanks
/// left out, backslash continuations joined.
pub(crate) fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let (start, mut joined) = pending.take().unwrap_or((index + 1, String::new()));
        if let Some(body) = line.strip_suffix('\\') {
            joined.push_str(body);
            joined.push(' ');
            pending = Some((start, joined));
            continue;
        }
        joined.push_str(line);
        if !joined.is_empty() && !joined.starts_with('#') {
            out.push((start, joined));
        }
    }
    if let Some((start, joined)) = pending.filter(|(_, j)| !j.trim().is_empty()) {
        out.push((start, joined));
    }
    out
}

/// Shorthand for a [`CheckInfo`].
pub(crate) const fn info(
    id: &'static str,
    severity: Severity,
    description: &'static str,
) -> CheckInfo {
    CheckInfo {
        id,
        severity,
        description,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_lines_skip_comments_and_join_continuations() {
        let lines = logical_lines("# c\n\na \\\n  b\n  # also\nc\n");
        assert_eq!(lines, [(3, "a  b".to_string()), (6, "c".to_string())]);
    }
}
