//! Unowned executables: an ELF file in a system path that no installed
//! package lists among its files — where a miner renamed as a system daemon
//! sits. ELF-ness comes from the first bytes the layer pass kept; package
//! file lists are resolved through the image's own links (merged `/usr`).
//! Without a package database there is nothing to compare with, so the
//! check stays silent rather than flag every binary.

use super::info;
use crate::check::{Check, CheckContext, CheckInfo};
use crate::command::SYSTEM_DIRS;
use imgscan_sbom::{FileKind, Finding, Severity, display_path};

/// The unowned-executable check.
pub struct UnownedExecutables;

const UNOWNED: CheckInfo = info(
    "file.unowned-executable",
    Severity::Medium,
    "an ELF executable in a system path that no installed package owns",
);

impl Check for UnownedExecutables {
    fn info(&self) -> &'static [CheckInfo] {
        std::slice::from_ref(&UNOWNED)
    }

    fn globs(&self) -> &'static [&'static str] {
        &[]
    }

    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        for (path, meta, _) in ctx.tree.walk() {
            if meta.kind != FileKind::File
                || !meta.head.starts_with(b"\x7fELF")
                || !SYSTEM_DIRS.iter().any(|d| path.starts_with(d.as_bytes()))
            {
                continue;
            }
            if ctx.is_owned(path) == Some(false) {
                out.push(ctx.finding(&UNOWNED, UNOWNED.severity, (path, None), format!("`{}` is an executable no installed package owns", display_path(path)), format!("ELF file of {} bytes, not in any package's file list", meta.size), "install executables from packages (or under /usr/local or /opt); a stray binary in a system path is how a renamed miner hides"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgscan_sbom::test_tree::MapTree;
    use imgscan_sbom::{Ecosystem, Package};

    #[test]
    fn elf_files_no_package_owns() {
        let tree = MapTree::new(&[
            ("usr/bin/bash", "\x7fELF bash"),
            ("usr/sbin/kswapd0", "\x7fELF miner"),
            ("usr/bin/script.sh", "#!/bin/sh"),
            ("usr/local/bin/tool", "\x7fELF local"),
        ])
        .link("bin", "usr/bin");
        let mut bash = Package::new("bash", "5", Ecosystem::Deb, String::new(), String::new());
        bash.files = vec![b"usr/bin/bash".to_vec()];
        let packages = [bash];
        let found: Vec<String> = UnownedExecutables
            .run(&CheckContext::new(&tree, &packages))
            .into_iter()
            .map(|f| f.path)
            .collect();
        assert_eq!(found, ["/usr/sbin/kswapd0"]);
        assert!(
            UnownedExecutables
                .run(&CheckContext::new(&tree, &[]))
                .is_empty(),
            "no package database: silent"
        );
    }
}
