//! Kernel tuning miners leave behind: a boot configuration that loads the
//! `msr` module (`/etc/modules`, `modules-load.d/*.conf`, or a
//! `modprobe.d` `install`/`softdep` line pulling it in). XMRig's RandomX
//! "MSR mod" writes model-specific registers through it for a 10–15 %
//! hash-rate gain, and miner installers make it load at every boot; an
//! ordinary server or image has no reason to.

use crate::check::{Check, CheckContext, CheckInfo};
use imgscan_sbom::{Finding, Severity};

use super::info;

/// The kernel-tuning check.
pub struct Kernel;

const MSR: CheckInfo = info(
    "kernel.msr-module",
    Severity::Medium,
    "the msr kernel module is loaded at boot (XMRig's RandomX MSR tweak)",
);

/// Directories whose `*.conf` files list modules to load, one per line.
const LOAD_DIRS: &[&[u8]] = &[
    b"etc/modules-load.d/",
    b"usr/lib/modules-load.d/",
    b"lib/modules-load.d/",
    b"run/modules-load.d/",
];
/// Directories of modprobe configuration.
const MODPROBE_DIRS: &[&[u8]] = &[
    b"etc/modprobe.d/",
    b"usr/lib/modprobe.d/",
    b"lib/modprobe.d/",
];

/// How a file names the modules it loads.
#[derive(Clone, Copy)]
enum Syntax {
    /// A module name first on a line (`/etc/modules`, `modules-load.d`).
    List,
    /// modprobe's `install NAME …` and `softdep NAME pre|post: …` lines.
    Modprobe,
}

/// The syntax of the file at `path`, if it loads modules at boot.
fn syntax(path: &[u8]) -> Option<Syntax> {
    let conf = path.ends_with(b".conf");
    let under = |dirs: &[&[u8]]| dirs.iter().any(|d| path.starts_with(d));
    if path == b"etc/modules" || conf && under(LOAD_DIRS) {
        Some(Syntax::List)
    } else if conf && under(MODPROBE_DIRS) {
        Some(Syntax::Modprobe)
    } else {
        None
    }
}

/// Whether `line` (comments stripped, trimmed) makes `msr` load.
fn loads_msr(line: &str, syntax: Syntax) -> bool {
    let mut words = line.split_whitespace();
    match syntax {
        Syntax::List => words.next() == Some("msr"),
        Syntax::Modprobe => match words.next() {
            // `install OTHER … modprobe msr`, `softdep OTHER pre: msr`.
            Some("install" | "softdep") => words.skip(1).any(|w| w == "msr"),
            _ => false,
        },
    }
}

impl Check for Kernel {
    fn info(&self) -> &'static [CheckInfo] {
        std::slice::from_ref(&MSR)
    }

    fn globs(&self) -> &'static [&'static str] {
        &[
            "etc/modules",
            "etc/modules-load.d/*.conf",
            "usr/lib/modules-load.d/*.conf",
            "lib/modules-load.d/*.conf",
            "run/modules-load.d/*.conf",
            "etc/modprobe.d/*.conf",
            "usr/lib/modprobe.d/*.conf",
            "lib/modprobe.d/*.conf",
        ]
    }

    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        for path in ctx.paths_where(|p| syntax(p).is_some()) {
            let (Some(syntax), Some(text)) = (syntax(&path), ctx.text(&path)) else {
                continue;
            };
            for (at, line) in text.lines().enumerate() {
                let line = line.split(['#', ';']).next().unwrap_or("").trim();
                if loads_msr(line, syntax) {
                    out.push(ctx.finding(
                        &MSR,
                        MSR.severity,
                        (&path, Some(at + 1)),
                        "the msr kernel module is loaded at every boot".to_string(),
                        line.to_string(),
                        "remove the line unless a known tool (turbostat, a power manager) needs it, and look for the miner that asked for it",
                    ));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgscan_sbom::test_tree::MapTree;

    fn found(files: &[(&str, &str)]) -> Vec<(String, Option<u32>)> {
        let tree = MapTree::new(files);
        Kernel
            .run(&CheckContext::new(&tree, &[]))
            .into_iter()
            .map(|f| (f.path, f.line))
            .collect()
    }

    #[test]
    fn msr_loaded_at_boot_in_each_syntax() {
        assert_eq!(
            found(&[("etc/modules", "# /etc/modules\nloop\nmsr\n")]),
            [("/etc/modules".to_string(), Some(3))]
        );
        assert_eq!(
            found(&[("etc/modules-load.d/xmrig.conf", "msr allow_writes=on\n")]),
            [("/etc/modules-load.d/xmrig.conf".to_string(), Some(1))]
        );
        assert_eq!(
            found(&[("etc/modprobe.d/cpu.conf", "softdep coretemp pre: msr\n")]),
            [("/etc/modprobe.d/cpu.conf".to_string(), Some(1))]
        );
    }

    #[test]
    fn comments_other_modules_and_other_files_are_not_msr() {
        assert!(
            found(&[
                ("etc/modules", "# msr\nmsrx\n; msr\n"),
                ("etc/modules-load.d/net.conf", "br_netfilter\n"),
                (
                    "etc/modprobe.d/blacklist.conf",
                    "blacklist msr\noptions msr allow_writes=off\n"
                ),
                ("etc/modules-load.d/README", "msr\n"),
                ("home/u/modules", "msr\n"),
            ])
            .is_empty()
        );
    }
}
