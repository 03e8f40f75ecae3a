//! What to look a package up as: the OSV ecosystems its image's OS maps
//! to (DESIGN.md, "Ecosystems of the advisory feed"), and the name and
//! version the feed uses for it.
//!
//! Debian, Ubuntu and Alpine advisories name *source* packages with source
//! versions: a binary package is looked up by its source name and version
//! (the SBOM's `source`), falling back to its own. The source version is
//! the right one: a binNMU gives binaries a `+bN` suffix the source never
//! has, and some binaries carry a version of their own (`cpp` from
//! `gcc-defaults`). Red Hat-family, npm and PyPI advisories name binary
//! packages: name and version as installed (`[E:]V-R` for rpm), the name
//! in the feed's normal form (PEP 503 for PyPI: `Feed::name_key`).
//!
//! A language package an OS package owns (`owned_by`: Debian's
//! `python3-requests` installed the `requests` dist-info) is not looked up
//! at all: the OS feed covers the OS package, and the OS build's version
//! says nothing about which upstream fixes it carries.

use std::borrow::Cow;

use crate::feeds::FEEDS;
use crate::version::VersionScheme;
use imgscan_sbom::{OsRelease, Package};

/// A package as the advisory feed sees it.
pub(crate) struct Target<'p> {
    /// Ecosystem lookup keys (`Debian:12`, `Red Hat:enterprise_linux:9`).
    pub keys: Vec<String>,
    /// The name advisories use, in the feed's normal form.
    pub name: Cow<'p, str>,
    /// The version to compare.
    pub version: &'p str,
    /// The version order.
    pub scheme: &'static dyn VersionScheme,
}

/// The lookup for `package` on `os`: the first feed of its ecosystem that
/// covers the OS; `None` when none does (an OS package on an unknown or
/// unversioned OS).
pub(crate) fn target<'p>(package: &'p Package, os: Option<&OsRelease>) -> Option<Target<'p>> {
    if package.owned_by.is_some() {
        return None;
    }
    let (feed, keys) = FEEDS
        .iter()
        .filter(|feed| feed.packages == package.ecosystem)
        .find_map(|feed| Some((feed, (feed.keys)(os)?)))?;
    let source = package.source.as_ref().filter(|_| feed.by_source);
    let name = source.map_or(package.name.as_str(), |s| s.name.as_str());
    let version = source
        .and_then(|s| s.version.as_deref())
        .unwrap_or(package.version.as_str());
    (!name.is_empty() && !version.is_empty()).then(|| Target {
        keys,
        name: (feed.name_key)(name),
        version,
        scheme: feed.scheme,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgscan_sbom::{Ecosystem, SourcePackage};

    fn os(id: &str, version: &str) -> OsRelease {
        OsRelease {
            id: id.into(),
            version_id: Some(version.into()),
            name: None,
        }
    }

    fn package(ecosystem: Ecosystem, name: &str, version: &str) -> Package {
        Package::new(
            name,
            version,
            ecosystem,
            format!("pkg:x/{name}@{version}"),
            String::new(),
        )
    }

    fn keys(ecosystem: Ecosystem, os: Option<&OsRelease>) -> Option<Vec<String>> {
        target(&package(ecosystem, "p", "1.0-1"), os).map(|t| t.keys)
    }

    #[test]
    fn ecosystems_from_the_os() {
        let k = |e, id, v| keys(e, Some(&os(id, v)));
        assert_eq!(
            k(Ecosystem::Deb, "debian", "12"),
            Some(vec!["Debian:12".into()])
        );
        assert_eq!(
            k(Ecosystem::Deb, "ubuntu", "22.04"),
            Some(vec!["Ubuntu:22.04:LTS".into(), "Ubuntu:22.04".into()])
        );
        assert_eq!(
            k(Ecosystem::Apk, "alpine", "3.19.1"),
            Some(vec!["Alpine:v3.19".into()])
        );
        assert_eq!(
            k(Ecosystem::Rpm, "almalinux", "9.4"),
            Some(vec!["AlmaLinux:9".into()])
        );
        assert_eq!(
            k(Ecosystem::Rpm, "rocky", "8.9"),
            Some(vec!["Rocky Linux:8".into()])
        );
        assert_eq!(
            k(Ecosystem::Rpm, "rhel", "9.3"),
            Some(vec!["Red Hat:enterprise_linux:9".into()])
        );
        assert_eq!(
            k(Ecosystem::Npm, "alpine", "3.19"),
            Some(vec!["npm".into()])
        );
        assert_eq!(keys(Ecosystem::Npm, None), Some(vec!["npm".into()]));
        assert_eq!(keys(Ecosystem::Deb, None), None);
        assert_eq!(k(Ecosystem::Rpm, "fedora", "40"), None);
        assert_eq!(k(Ecosystem::Apk, "alpine", "edge"), None);
        assert_eq!(k(Ecosystem::Deb, "alpine", "3.19"), None);
    }

    #[test]
    fn source_packages_for_debian_and_alpine_binaries_for_rpm() {
        let mut p = package(Ecosystem::Deb, "libssl3", "3.0.11-1~deb12u2+b1");
        p.source = Some(SourcePackage {
            name: "openssl".into(),
            version: Some("3.0.11-1~deb12u2".into()),
        });
        let t = target(&p, Some(&os("debian", "12"))).unwrap();
        assert_eq!((&*t.name, t.version), ("openssl", "3.0.11-1~deb12u2"));
        p.source = Some(SourcePackage {
            name: "openssl".into(),
            version: None,
        });
        let t = target(&p, Some(&os("debian", "12"))).unwrap();
        assert_eq!((&*t.name, t.version), ("openssl", "3.0.11-1~deb12u2+b1"));

        let mut r = package(Ecosystem::Rpm, "openssh-clients", "8.7p1-38.el9");
        r.source = Some(SourcePackage {
            name: "openssh".into(),
            version: Some("8.7p1-38.el9".into()),
        });
        let t = target(&r, Some(&os("rhel", "9.4"))).unwrap();
        assert_eq!(t.name, "openssh-clients");
    }

    #[test]
    fn pypi_names_in_pep_503_form_and_os_owned_copies_skipped() {
        let mut p = package(Ecosystem::PyPI, "Flask_SQLAlchemy", "3.1.1");
        let t = target(&p, Some(&os("debian", "12"))).unwrap();
        assert_eq!(
            (&*t.name, t.keys),
            ("flask-sqlalchemy", vec!["PyPI".into()])
        );
        p.owned_by = Some("pkg:deb/debian/python3-flask-sqlalchemy@3.0.3-1".into());
        assert!(target(&p, Some(&os("debian", "12"))).is_none());
    }
}
