//! dpkg: `var/lib/dpkg/status` and distroless `var/lib/dpkg/status.d/*`.
//! Packages whose files are on disk (any state but `not-installed` and
//! `config-files`), with architecture, source package and version, and the
//! files each owns (`info/NAME[:ARCH].list`, `status.d/NAME.md5sums`),
//! resolved through the image's own links (Debian 12 has merged `/usr`),
//! with the digests they shipped with ([`super::dpkg_shipped`]).

use super::deb822::{Stanza, parse_stanzas};
use super::dpkg_shipped::{DIVERSIONS, Diversions, shipped_files};
use super::{CatalogError, CatalogInput, Cataloger, Catalogued};
use crate::package::{Ecosystem, Package, SourcePackage};
use crate::purl::purl;
use std::collections::HashSet;

/// The dpkg cataloger.
pub struct DpkgCataloger;

const STATUS_D: &[u8] = b"var/lib/dpkg/status.d/";

impl Cataloger for DpkgCataloger {
    fn name(&self) -> &'static str {
        "dpkg"
    }

    fn globs(&self) -> &'static [&'static str] {
        &["var/lib/dpkg/status", "var/lib/dpkg/status.d/*"]
    }

    fn aux_globs(&self) -> &'static [&'static str] {
        &[
            "var/lib/dpkg/info/*.list",
            "var/lib/dpkg/info/*.md5sums",
            "var/lib/dpkg/info/*.conffiles",
            DIVERSIONS,
            "usr/share/doc/*/copyright",
        ]
    }

    fn catalog(&self, input: &CatalogInput<'_>) -> Result<Vec<Package>, CatalogError> {
        self.catalog_records(input).map(|c| c.packages)
    }

    fn catalog_records(&self, input: &CatalogInput<'_>) -> Result<Catalogued, CatalogError> {
        let mut found = Catalogued::default();
        if input.path.starts_with(STATUS_D) && input.path.ends_with(b".md5sums") {
            return Ok(found);
        }
        let text = std::str::from_utf8(input.content)?;
        let stanzas = parse_stanzas(text)?;
        let distroless = input.path.starts_with(STATUS_D);
        let diversions = Diversions::read(input);
        // A status file naming a package twice is not dpkg's: its files
        // are verified once, so a hostile file cannot multiply the work.
        let mut verified: HashSet<(&str, Option<&str>)> = HashSet::new();
        for stanza in &stanzas {
            if !is_on_disk(stanza) {
                continue;
            }
            let present = |v: &&str| !v.trim().is_empty();
            let (Some(name), Some(version)) = (
                stanza.get("Package").filter(present),
                stanza.get("Version").filter(present),
            ) else {
                found.passed_over.push(format!(
                    "stanza at line {} lacks `Package` or `Version`, or one is empty; not a package",
                    stanza.line
                ));
                continue;
            };
            let mut package = package(input, stanza, name, version, distroless);
            if verified.insert((name, stanza.get("Architecture"))) {
                let stems = database_stems(name, package.arch.as_deref(), distroless);
                let owned: Option<HashSet<&[u8]>> =
                    (!distroless).then(|| package.files.iter().map(Vec::as_slice).collect());
                package.shipped = shipped_files(
                    input,
                    name,
                    &stems,
                    owned.as_ref(),
                    stanza.get("Conffiles"),
                    &diversions,
                );
            }
            found.packages.push(package);
        }
        Ok(found)
    }
}

/// Whether a stanza's package has files on disk. Distroless stanzas often
/// carry no `Status` at all: they are installed.
fn is_on_disk(stanza: &Stanza) -> bool {
    match stanza
        .get("Status")
        .and_then(|s| s.split_whitespace().nth(2))
    {
        Some(state) => !matches!(state, "not-installed" | "config-files"),
        None => true,
    }
}

fn package(
    input: &CatalogInput<'_>,
    stanza: &Stanza,
    name: &str,
    version: &str,
    distroless: bool,
) -> Package {
    let arch = stanza.get("Architecture").filter(|a| !a.is_empty());
    let source = stanza.get("Source").map(|s| parse_source(s, version));
    let namespace = input.os.map(|os| os.id.as_str()).unwrap_or("debian");
    let distro = input
        .os
        .and_then(|os| os.version_id.as_ref().map(|v| format!("{}-{v}", os.id)))
        .unwrap_or_default();
    let upstream = match &source {
        Some(src) if src.name != name => match &src.version {
            Some(v) if v != version => format!("{}@{v}", src.name),
            _ => src.name.clone(),
        },
        _ => String::new(),
    };
    let purl = purl(
        "deb",
        Some(namespace),
        name,
        version,
        &[
            ("arch", arch.unwrap_or("")),
            ("distro", &distro),
            ("upstream", &upstream),
        ],
    );
    let mut package = Package::new(name, version, Ecosystem::Deb, purl, String::new());
    package.arch = arch.map(str::to_string);
    package.source = Some(source.unwrap_or_else(|| SourcePackage {
        name: name.to_string(),
        version: Some(version.to_string()),
    }));
    package.files = owned_files(input, name, arch, distroless);
    package.licenses = declared_licenses(input, name);
    package
}

/// The licenses a machine-readable (DEP-5) `usr/share/doc/NAME/copyright`
/// declares: the first line of each `License:` field, once each, in order.
/// A free-form copyright file declares none that can be read reliably.
fn declared_licenses(input: &CatalogInput<'_>, name: &str) -> Vec<String> {
    let Some(content) = input
        .tree
        .content(format!("usr/share/doc/{name}/copyright").as_bytes())
    else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(content);
    if !text.starts_with("Format:") {
        return Vec::new();
    }
    let mut licenses: Vec<String> = Vec::new();
    for line in text.lines() {
        if let Some(value) = line
            .strip_prefix("License:")
            .map(str::trim)
            .filter(|v| !v.is_empty())
            && !licenses.iter().any(|l| l == value)
        {
            licenses.push(value.to_string());
        }
    }
    licenses
}

/// `Source: openssl (3.0.11-1)` names the source and its version when it
/// differs from the binary's; a bare `Source: openssl` shares the version.
fn parse_source(field: &str, binary_version: &str) -> SourcePackage {
    match field.split_once('(') {
        Some((name, rest)) => SourcePackage {
            name: name.trim().to_string(),
            version: Some(rest.trim_end_matches(')').trim().to_string()),
        },
        None => SourcePackage {
            name: field.trim().to_string(),
            version: Some(binary_version.to_string()),
        },
    }
}

/// The database paths of a package's files, without their extension, in
/// the order dpkg looks for them: `info/NAME:ARCH`, then `info/NAME`;
/// distroless images have `status.d/NAME` only.
fn database_stems(name: &str, arch: Option<&str>, distroless: bool) -> Vec<String> {
    if distroless {
        return vec![format!("var/lib/dpkg/status.d/{name}")];
    }
    let mut stems = Vec::new();
    if let Some(arch) = arch {
        stems.push(format!("var/lib/dpkg/info/{name}:{arch}"));
    }
    stems.push(format!("var/lib/dpkg/info/{name}"));
    stems
}

/// The files a package owns, canonicalised through the image's links.
fn owned_files(
    input: &CatalogInput<'_>,
    name: &str,
    arch: Option<&str>,
    distroless: bool,
) -> Vec<Vec<u8>> {
    let extension = if distroless { "md5sums" } else { "list" };
    let Some(content) = database_stems(name, arch, distroless)
        .iter()
        .find_map(|stem| input.tree.content(format!("{stem}.{extension}").as_bytes()))
    else {
        return Vec::new();
    };
    let mut files = Vec::new();
    for line in content.split(|&b| b == b'\n') {
        let path = if distroless {
            // `d41d8cd98f00b204e9800998ecf8427e  usr/share/doc/x/copyright`
            match line.iter().position(|&b| b == b' ') {
                Some(at) => line[at..].trim_ascii_start(),
                None => continue,
            }
        } else {
            line
        };
        let relative = trim_leading_slashes(path.trim_ascii_end());
        if relative.is_empty() || relative == b"." {
            continue;
        }
        files.push(
            input
                .tree
                .resolve(relative)
                .unwrap_or_else(|| relative.to_vec()),
        );
    }
    files
}

fn trim_leading_slashes(path: &[u8]) -> &[u8] {
    let start = path.iter().position(|&b| b != b'/').unwrap_or(path.len());
    &path[start..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::os::OsRelease;
    use crate::test_tree::MapTree as Tree;

    const STATUS: &str = "\
Package: bash
Status: install ok installed
Architecture: amd64
Version: 5.2.15-2+b7
Description: GNU Bourne Again SHell

Package: libssl3
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Source: openssl (3.0.15-1~deb12u1)
Version: 3.0.15-1~deb12u1+b1

Package: removed-thing
Status: deinstall ok config-files
Architecture: all
Version: 1.0
";

    fn catalog(path: &str, content: &str, tree: &Tree) -> Result<Vec<Package>, CatalogError> {
        records(path, content, tree).map(|c| c.packages)
    }

    fn records(path: &str, content: &str, tree: &Tree) -> Result<Catalogued, CatalogError> {
        let os = OsRelease {
            id: "debian".into(),
            version_id: Some("12".into()),
            name: None,
        };
        DpkgCataloger.catalog_records(&CatalogInput {
            path: path.as_bytes(),
            content: content.as_bytes(),
            os: Some(&os),
            tree,
        })
    }

    #[test]
    fn status_file_packages_sources_and_files() {
        let tree = Tree::new(&[
            ("var/lib/dpkg/info/bash.list", "/.\n/bin\n/bin/bash\n/usr/share/doc/bash\n"),
            ("usr/bin/bash", "\x7fELF"),
            ("usr/lib/x86_64-linux-gnu/libssl.so.3", "\x7fELF"),
            ("var/lib/dpkg/info/libssl3:amd64.list", "/usr/lib/x86_64-linux-gnu/libssl.so.3\n"),
            ("usr/share/doc/bash/copyright", "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: GPL-3+\n\nFiles: lib/x\nLicense: GPL-3+\n\nFiles: doc/*\nLicense: GFDL-NIV-1.3\n Text of the license.\n"),
            ("usr/share/doc/libssl3/copyright", "Copyright (c) OpenSSL authors, free-form text.\nLicense: not parsed\n"),
        ]).link("bin", "usr/bin");
        let packages = catalog("var/lib/dpkg/status", STATUS, &tree).unwrap();
        assert_eq!(
            packages.len(),
            2,
            "config-files only packages are not installed"
        );
        let bash = &packages[0];
        assert_eq!(
            bash.purl,
            "pkg:deb/debian/bash@5.2.15-2%2Bb7?arch=amd64&distro=debian-12"
        );
        assert_eq!(bash.source.as_ref().unwrap().name, "bash");
        assert_eq!(
            bash.files,
            vec![
                b"usr/bin".to_vec(),
                b"usr/bin/bash".to_vec(),
                b"usr/share/doc/bash".to_vec()
            ]
        );
        let ssl = &packages[1];
        assert_eq!(
            ssl.source,
            Some(SourcePackage {
                name: "openssl".into(),
                version: Some("3.0.15-1~deb12u1".into())
            })
        );
        assert!(
            ssl.purl.contains("upstream=openssl%403.0.15-1~deb12u1"),
            "{}",
            ssl.purl
        );
        assert_eq!(
            ssl.files,
            vec![b"usr/lib/x86_64-linux-gnu/libssl.so.3".to_vec()]
        );
        assert_eq!(bash.licenses, ["GPL-3+", "GFDL-NIV-1.3"]);
        assert!(
            ssl.licenses.is_empty(),
            "free-form copyright files declare nothing machine-readable"
        );
    }

    #[test]
    fn distroless_status_d() {
        let tree = Tree::new(&[(
            "var/lib/dpkg/status.d/base-files.md5sums",
            "0123  etc/debian_version\n",
        )]);
        let stanza = "Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n";
        let packages = catalog("var/lib/dpkg/status.d/base-files", stanza, &tree).unwrap();
        assert_eq!(packages.len(), 1);
        assert_eq!(packages[0].files, vec![b"etc/debian_version".to_vec()]);
        assert!(
            catalog(
                "var/lib/dpkg/status.d/base-files.md5sums",
                "0123  x\n",
                &tree
            )
            .unwrap()
            .is_empty()
        );
    }

    #[test]
    fn malformed_status_is_an_error() {
        let tree = Tree::new(&[]);
        assert!(catalog("var/lib/dpkg/status", "garbage line\n", &tree).is_err());
        for bad in [
            "Package: x\nStatus: install ok installed\n",
            "Package:\nVersion: 1.0\nStatus: install ok installed\n",
            "Package: x\nVersion: \nStatus: install ok installed\n",
        ] {
            let good = "Package: zlib1g\nVersion: 1.2\nStatus: install ok installed\n\n";
            let found = records("var/lib/dpkg/status", &format!("{good}{bad}"), &tree).unwrap();
            assert_eq!(found.packages.len(), 1, "{bad:?}: the other stanza is kept");
            assert_eq!(found.passed_over.len(), 1, "{bad:?}");
            assert!(
                found.passed_over[0].contains("or one is empty"),
                "{found:?}"
            );
        }
        assert!(
            DpkgCataloger
                .catalog(&CatalogInput {
                    path: b"var/lib/dpkg/status",
                    content: b"\xff\xfe",
                    os: None,
                    tree: &tree
                })
                .is_err()
        );
    }
}
