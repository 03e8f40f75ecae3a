//! Package integrity, as `debsums` and `rpm -V` check a system: a file an
//! installed package shipped whose bytes in the final tree differ from the
//! digest the package database recorded (dpkg `md5sums`, rpm file digests,
//! apk `Z:`). The digest of the file's final copy was computed as its
//! layer streamed by, so the finding names the layer that changed it.
//!
//! What is never this finding: conffiles and files the package marks as
//! changing (the catalogers leave them out), a file that is gone (slim
//! images delete documentation on purpose; `debsums` calls that "missing",
//! not "changed"), a path that is a directory or a special file now, and a
//! file whose digest was not computed (over the size limit). A path several
//! packages ship (multi-arch copies, diversions) is changed only when it
//! matches none of them.

use super::info;
use crate::check::{Check, CheckContext, CheckInfo};
use imgscan_sbom::{FileKind, FileMeta, Finding, Package, Severity, ShippedDigest, display_path};
use std::collections::BTreeMap;

/// The package-integrity check.
pub struct ModifiedFiles;

/// Its finding's id; a scan that leaves it out (`--skip-check`) does not
/// hash files for it.
pub const MODIFIED_FILE: &str = "package.modified-file";

const MODIFIED: CheckInfo = info(
    MODIFIED_FILE,
    Severity::High,
    "a file an installed package shipped whose bytes differ from the package's recorded digest (HIGH for executables and shared libraries, MEDIUM otherwise)",
);

impl Check for ModifiedFiles {
    fn info(&self) -> &'static [CheckInfo] {
        std::slice::from_ref(&MODIFIED)
    }

    fn globs(&self) -> &'static [&'static str] {
        &[]
    }

    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let mut claims: BTreeMap<&[u8], Vec<(&Package, &ShippedDigest)>> = BTreeMap::new();
        for package in ctx.packages.iter().filter(|p| p.ecosystem.is_os()) {
            for file in &package.shipped {
                claims
                    .entry(&file.path)
                    .or_default()
                    .push((package, &file.digest));
            }
        }
        let mut out = Vec::new();
        for (path, claims) in claims {
            let Some(meta) = content_meta(ctx, path) else {
                continue;
            };
            let Some(digests) = meta.digests.as_deref() else {
                continue;
            };
            // Unchanged when any claim matches; not known when a claim's
            // algorithm was not computed.
            let verdicts: Vec<Option<bool>> =
                claims.iter().map(|(_, d)| d.matches(digests)).collect();
            if verdicts.iter().any(|v| *v != Some(false)) {
                continue;
            }
            let (package, expected) = claims[0];
            let algorithm = expected.algorithm;
            let actual = digests.get(algorithm).map(hex::encode).unwrap_or_default();
            let severity = if runs_code(path, meta) {
                Severity::High
            } else {
                Severity::Medium
            };
            let shown = display_path(path);
            out.push(ctx.finding(
                &MODIFIED,
                severity,
                (path, None),
                format!("`{shown}` differs from what package `{}` shipped", package.name),
                format!(
                    "package `{}` {} ({}) shipped {} `{}`; the file is {} `{actual}` ({} bytes)",
                    package.name,
                    package.version,
                    package.ecosystem.as_str(),
                    algorithm.as_str(),
                    hex::encode(&expected.value),
                    algorithm.as_str(),
                    meta.size,
                ),
                "find out why the layer rewrote a packaged file; reinstall the package (`apt-get install --reinstall`, `dnf reinstall`, `apk fix`) or rebuild from a clean base — a replaced system binary is how a miner hides",
            ));
        }
        out
    }
}

/// The metadata of the regular file whose bytes are at `path`: the entry
/// itself, or, where a link replaced the file, what the link resolves to
/// inside the tree (as `debsums` and `rpm -V` read through it).
fn content_meta<'a>(ctx: &CheckContext<'a>, path: &[u8]) -> Option<&'a FileMeta> {
    let (meta, _) = ctx.tree.entry(path)?;
    let meta = if meta.kind == FileKind::Symlink {
        ctx.tree.entry(&ctx.tree.resolve(path)?)?.0
    } else {
        meta
    };
    (meta.kind == FileKind::File).then_some(meta)
}

/// Whether the file runs as code: executable bits, an ELF header, or a
/// shared library's name (`libx.so`, `libx.so.3.0`).
fn runs_code(path: &[u8], meta: &FileMeta) -> bool {
    let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    let library = name.windows(3).enumerate().any(|(at, w)| {
        w == b".so"
            && name[at + 3..]
                .split(|&b| b == b'.')
                .all(|part| part.is_empty() || part.iter().all(u8::is_ascii_digit))
            && (at + 3 == name.len() || name[at + 3] == b'.')
    });
    meta.mode & 0o111 != 0 || meta.head.starts_with(b"\x7fELF") || library
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgscan_sbom::test_tree::MapTree;
    use imgscan_sbom::{Algorithms, DigestAlgorithm, Ecosystem, FileDigests, ShippedFile};

    fn shipped(path: &str, content: &[u8], algorithm: DigestAlgorithm) -> ShippedFile {
        let digests = FileDigests::of(content, Algorithms::ALL);
        ShippedFile {
            path: path.as_bytes().to_vec(),
            digest: ShippedDigest {
                algorithm,
                value: digests.get(algorithm).unwrap().into(),
            },
        }
    }

    fn package(name: &str, files: Vec<ShippedFile>) -> Package {
        let mut p = Package::new(name, "1.0", Ecosystem::Deb, String::new(), String::new());
        p.shipped = files;
        p
    }

    fn found(tree: &MapTree, packages: &[Package]) -> Vec<(String, Severity, usize)> {
        ModifiedFiles
            .run(&CheckContext::new(tree, packages))
            .into_iter()
            .map(|f| (f.path, f.severity, f.layer))
            .collect()
    }

    #[test]
    fn changed_files_are_found_by_kind_and_layer() {
        let md5 = DigestAlgorithm::Md5;
        let tree = MapTree::new(&[("usr/share/doc/procps/README", "docs, edited\n")])
            .file_in("usr/bin/ps", b"\x7fELF trojan", 2)
            .file("usr/bin/top", b"\x7fELF top")
            .file("usr/lib/libprocps.so.8.0.3", b"library, patched")
            .mode("usr/lib/libprocps.so.8.0.3", 0o644)
            .mode("usr/share/doc/procps/README", 0o644)
            .link("usr/bin/w", "/tmp/evil")
            .file("tmp/evil", b"#!/bin/sh\n");
        let procps = package(
            "procps",
            vec![
                shipped("usr/bin/ps", b"\x7fELF ps", md5),
                shipped("usr/bin/top", b"\x7fELF top", md5),
                shipped("usr/lib/libprocps.so.8.0.3", b"library", md5),
                shipped("usr/share/doc/procps/README", b"docs\n", md5),
                shipped("usr/bin/w", b"\x7fELF w", md5),
                shipped("usr/bin/gone", b"deleted", md5),
            ],
        );
        assert_eq!(
            found(&tree, &[procps]),
            [
                ("/usr/bin/ps".to_string(), Severity::High, 2),
                ("/usr/bin/w".to_string(), Severity::High, 0),
                ("/usr/lib/libprocps.so.8.0.3".to_string(), Severity::High, 0),
                (
                    "/usr/share/doc/procps/README".to_string(),
                    Severity::Medium,
                    0
                ),
            ]
        );
    }

    #[test]
    fn a_path_matching_any_of_its_packages_is_unchanged() {
        let tree = MapTree::new(&[("usr/share/doc/libc6/changelog", "amd64 copy")]);
        let amd64 = package(
            "libc6",
            vec![shipped(
                "usr/share/doc/libc6/changelog",
                b"amd64 copy",
                DigestAlgorithm::Md5,
            )],
        );
        let i386 = package(
            "libc6",
            vec![shipped(
                "usr/share/doc/libc6/changelog",
                b"i386 copy",
                DigestAlgorithm::Md5,
            )],
        );
        assert!(found(&tree, &[i386.clone(), amd64]).is_empty());
        assert_eq!(found(&tree, &[i386]).len(), 1);
    }

    #[test]
    fn any_algorithm_is_compared_and_npm_packages_are_not() {
        let tree = MapTree::new(&[("usr/bin/x", "changed")]);
        let mut p = package(
            "x",
            vec![shipped("usr/bin/x", b"orig", DigestAlgorithm::Sha256)],
        );
        assert_eq!(found(&tree, std::slice::from_ref(&p)).len(), 1);
        p.ecosystem = Ecosystem::Npm;
        assert!(
            found(&tree, &[p]).is_empty(),
            "npm packages ship no digests"
        );
    }

    #[test]
    fn shared_library_names() {
        let meta = |mode| FileMeta {
            kind: FileKind::File,
            size: 0,
            mode,
            uid: 0,
            gid: 0,
            link: None,
            head: Box::default(),
            digests: None,
        };
        for name in [
            "usr/lib/libc.so.6",
            "usr/lib/libx.so",
            "lib/libssl.so.3.0.2",
        ] {
            assert!(runs_code(name.as_bytes(), &meta(0o644)), "{name}");
        }
        for name in [
            "usr/share/doc/x.sold",
            "usr/lib/x.so.conf",
            "usr/share/x.txt",
        ] {
            assert!(!runs_code(name.as_bytes(), &meta(0o644)), "{name}");
        }
        assert!(runs_code(b"usr/share/x.txt", &meta(0o755)));
    }
}
