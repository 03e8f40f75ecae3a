//! apk: `lib/apk/db/installed`, Alpine's installed database. Each package is
//! a block of `X:value` lines (P name, V version, A arch, o origin, L
//! license, F directory, R file in the last directory, Z that file's
//! checksum); blocks are separated by blank lines.
//!
//! A file's `Z:` is what apk can verify it against: `Q1` and base64 is
//! SHA-1, `Q2` SHA-256. Files under `etc/` are left out of verification:
//! apk keeps an administrator's changes there (its protected paths) and
//! writes its own copy beside them as `.apk-new`.

use super::{CatalogError, CatalogInput, Cataloger, Catalogued};
use crate::digest::{DigestAlgorithm, ShippedDigest, ShippedFile, database_path};
use crate::package::{Ecosystem, Package, SourcePackage};
use crate::purl::purl;
use crate::tree::locate;

/// The apk cataloger.
pub struct ApkCataloger;

impl Cataloger for ApkCataloger {
    fn name(&self) -> &'static str {
        "apk"
    }

    fn globs(&self) -> &'static [&'static str] {
        &["lib/apk/db/installed"]
    }

    fn catalog(&self, input: &CatalogInput<'_>) -> Result<Vec<Package>, CatalogError> {
        self.catalog_records(input).map(|c| c.packages)
    }

    fn catalog_records(&self, input: &CatalogInput<'_>) -> Result<Catalogued, CatalogError> {
        let text = std::str::from_utf8(input.content)?;
        let mut found = Catalogued::default();
        let mut block = Block::default();
        let mut finish = |block: &mut Block, line: usize| match block.finish(input, line) {
            Ok(Some(package)) => found.packages.push(package),
            Ok(None) => {}
            Err(why) => found.passed_over.push(why),
        };
        for (index, line) in text.lines().enumerate() {
            if line.is_empty() {
                finish(&mut block, index + 1);
                continue;
            }
            let Some((key, value)) = line.split_once(':').filter(|(k, _)| k.len() == 1) else {
                return Err(CatalogError::Line {
                    line: index + 1,
                    reason: "expected `X:value`",
                });
            };
            block.add(key, value);
        }
        finish(&mut block, text.lines().count());
        Ok(found)
    }
}

#[derive(Default)]
struct Block {
    name: Option<String>,
    version: Option<String>,
    arch: Option<String>,
    origin: Option<String>,
    license: Option<String>,
    dir: String,
    files: Vec<Vec<u8>>,
    /// Each `Z:` checksum, by the index in `files` of the file it follows.
    checksums: Vec<(usize, ShippedDigest)>,
    started: bool,
}

/// A `Z:` checksum: `Q1`+base64 SHA-1 or `Q2`+base64 SHA-256.
fn checksum(value: &str) -> Option<ShippedDigest> {
    let (algorithm, text) = match value.split_at_checked(2)? {
        ("Q1", text) => (DigestAlgorithm::Sha1, text),
        ("Q2", text) => (DigestAlgorithm::Sha256, text),
        _ => return None,
    };
    ShippedDigest::from_base64(algorithm, text.as_bytes())
}

impl Block {
    fn add(&mut self, key: &str, value: &str) {
        self.started = true;
        let value = value.to_string();
        match key {
            "P" => self.name = Some(value),
            "V" => self.version = Some(value),
            "A" => self.arch = Some(value),
            "o" => self.origin = Some(value),
            "L" => self.license = Some(value),
            "F" => self.dir = value,
            "R" => {
                let mut path = self.dir.clone().into_bytes();
                if !path.is_empty() {
                    path.push(b'/');
                }
                path.extend_from_slice(value.as_bytes());
                self.files.push(path);
            }
            "Z" => {
                if let (Some(last), Some(digest)) =
                    (self.files.len().checked_sub(1), checksum(&value))
                {
                    self.checksums.push((last, digest));
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, input: &CatalogInput<'_>, line: usize) -> Result<Option<Package>, String> {
        let block = std::mem::take(self);
        if !block.started {
            return Ok(None);
        }
        let present = |v: &String| !v.trim().is_empty();
        let (Some(name), Some(version)) =
            (block.name.filter(present), block.version.filter(present))
        else {
            return Err(format!(
                "package block ending at line {line} lacks `P:` or `V:`, or one is empty; not a package"
            ));
        };
        let distro = input
            .os
            .and_then(|os| os.version_id.as_ref().map(|v| format!("{}-{v}", os.id)))
            .unwrap_or_default();
        let namespace = input.os.map(|os| os.id.as_str()).unwrap_or("alpine");
        let upstream = block.origin.as_deref().filter(|o| *o != name).unwrap_or("");
        let arch = block.arch.as_deref().unwrap_or("");
        let purl = purl(
            "apk",
            Some(namespace),
            &name,
            &version,
            &[("arch", arch), ("distro", &distro), ("upstream", upstream)],
        );
        let mut package = Package::new(&name, &version, Ecosystem::Apk, purl, String::new());
        package.arch = block.arch;
        package.source = Some(SourcePackage {
            name: block.origin.unwrap_or_else(|| name.clone()),
            version: Some(version),
        });
        package.licenses = block.license.map(|l| vec![l]).unwrap_or_default();
        package.shipped = block
            .checksums
            .into_iter()
            .filter_map(|(at, digest)| {
                let path = database_path(&block.files[at])?;
                (!path.starts_with(b"etc/")).then(|| ShippedFile {
                    path: locate(input.tree, path),
                    digest,
                })
            })
            .collect();
        package.files = block
            .files
            .into_iter()
            .map(|f| input.tree.resolve(&f).unwrap_or(f))
            .collect();
        Ok(Some(package))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::os::OsRelease;
    use crate::test_tree::MapTree;

    const INSTALLED: &str = "\
C:Q1abc=
P:musl
V:1.2.4_git20230717-r4
A:x86_64
L:MIT
o:musl
F:lib
R:ld-musl-x86_64.so.1
R:libc.musl-x86_64.so.1

P:libcrypto3
V:3.1.4-r5
A:x86_64
L:Apache-2.0
o:openssl
F:usr/lib
R:libcrypto.so.3
";

    fn catalog(content: &str) -> Result<Vec<Package>, CatalogError> {
        records(content).map(|c| c.packages)
    }

    fn records(content: &str) -> Result<Catalogued, CatalogError> {
        let os = OsRelease {
            id: "alpine".into(),
            version_id: Some("3.19.1".into()),
            name: None,
        };
        let tree = MapTree::new(&[]);
        ApkCataloger.catalog_records(&CatalogInput {
            path: b"lib/apk/db/installed",
            content: content.as_bytes(),
            os: Some(&os),
            tree: &tree,
        })
    }

    #[test]
    fn packages_origins_and_files() {
        let packages = catalog(INSTALLED).unwrap();
        assert_eq!(packages.len(), 2);
        assert_eq!(
            packages[0].purl,
            "pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19.1"
        );
        assert_eq!(
            packages[0].files,
            vec![
                b"lib/ld-musl-x86_64.so.1".to_vec(),
                b"lib/libc.musl-x86_64.so.1".to_vec()
            ]
        );
        assert_eq!(packages[1].source.as_ref().unwrap().name, "openssl");
        assert_eq!(packages[1].licenses, ["Apache-2.0"]);
        assert!(
            packages[1].purl.ends_with("&upstream=openssl"),
            "{}",
            packages[1].purl
        );
    }

    #[test]
    fn z_checksums_belong_to_the_file_before_them() {
        // `printf abc | sha1sum`, base64: qZk+NkcGgWq6PiVxeFDCbJzQ2J0=
        let db = "P:busybox\nV:1.36.1-r15\nF:bin\nR:busybox\na:0:0:755\nZ:Q1qZk+NkcGgWq6PiVxeFDCbJzQ2J0=\nR:nosum\nR:bad\nZ:Q1not-base64!\nF:etc\nR:motd\nZ:Q1qZk+NkcGgWq6PiVxeFDCbJzQ2J0=\nF:\nR:../escape\nZ:Q1qZk+NkcGgWq6PiVxeFDCbJzQ2J0=\n";
        let packages = catalog(db).unwrap();
        let shipped = &packages[0].shipped;
        assert_eq!(shipped.len(), 1, "{shipped:?}");
        assert_eq!(shipped[0].path, b"bin/busybox");
        assert_eq!(shipped[0].digest.algorithm, DigestAlgorithm::Sha1);
        assert_eq!(
            checksum("Q2ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="),
            ShippedDigest::from_hex(
                DigestAlgorithm::Sha256,
                b"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
            )
        );
        assert_eq!(checksum("900150983cd24fb0d6963f7d28e17f72"), None);
    }

    #[test]
    fn malformed_blocks_are_errors() {
        for empty in [
            "P:x\n\n",
            "P:\nV:1.0-r0\n",
            "P:x\nV:\n",
            "P: \nV:\n",
            "P:\nV:\n",
        ] {
            let found = records(&format!("P:zlib\nV:1.3-r0\n\n{empty}")).unwrap();
            assert_eq!(
                found.packages.len(),
                1,
                "{empty:?}: the other record is kept"
            );
            assert_eq!(found.passed_over.len(), 1, "{empty:?}");
            assert!(
                found.passed_over[0].contains("or one is empty"),
                "{found:?}"
            );
        }
        assert!(catalog("this is not apk\n").is_err());
        assert_eq!(catalog("\n\n").unwrap(), vec![]);
    }
}
