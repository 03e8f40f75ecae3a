//! The one table of the OSV ecosystems imgscan reads ([`FEEDS`]): for each,
//! the package ecosystem (purl type) it covers, its version order, whether
//! its advisories name source packages, and the lookup keys an image's OS
//! release maps to. Matching, import, the version-scheme lookup and `db
//! update`'s default list all read it, so adding an ecosystem is one row
//! here (and a test fails while a package ecosystem has none).

use std::borrow::Cow;

use crate::version::{APK, DPKG, NPM_SEMVER, PEP440, RPM, VersionScheme};
use imgscan_sbom::catalog::python::normalize_name;
use imgscan_sbom::{Ecosystem, OsRelease};

/// One OSV ecosystem family.
pub struct Feed {
    /// The OSV ecosystem name: the part of `Debian:12` before the first `:`.
    pub osv: &'static str,
    /// The packages it covers.
    pub packages: Ecosystem,
    /// Their version order.
    pub scheme: &'static dyn VersionScheme,
    /// Whether advisories name source packages with source versions.
    pub by_source: bool,
    /// The lookup keys (`Debian:12`, `Ubuntu:22.04:LTS`) for packages of an
    /// image with this OS release; `None` when the feed does not cover it.
    pub keys: fn(Option<&OsRelease>) -> Option<Vec<String>>,
    /// The form a package name is stored and looked up in, applied alike
    /// to the advisories' names at import and to the packages' names when
    /// matching: [`as_written`], or a normal form where the ecosystem
    /// treats several spellings as one name (PyPI: [`pep503`]).
    pub name_key: fn(&str) -> Cow<'_, str>,
}

/// The name as written: most ecosystems' names are case-sensitive and
/// have one spelling.
pub fn as_written(name: &str) -> Cow<'_, str> {
    Cow::Borrowed(name)
}

/// PEP 503's normal form (`Flask_SQLAlchemy` → `flask-sqlalchemy`): PyPI
/// and pip treat every spelling of it as one project.
pub fn pep503(name: &str) -> Cow<'_, str> {
    let normal = normalize_name(name);
    match normal == name {
        true => Cow::Borrowed(name),
        false => Cow::Owned(normal),
    }
}

/// Every feed, in the order `db update` fetches them.
pub static FEEDS: &[Feed] = &[
    Feed {
        osv: "Debian",
        packages: Ecosystem::Deb,
        scheme: &DPKG,
        by_source: true,
        keys: |os| by_major(os, "debian", "Debian"),
        name_key: as_written,
    },
    Feed {
        osv: "Ubuntu",
        packages: Ecosystem::Deb,
        scheme: &DPKG,
        by_source: true,
        keys: |os| {
            let v = version_id(release(os, "ubuntu")?)?;
            Some(vec![format!("Ubuntu:{v}:LTS"), format!("Ubuntu:{v}")])
        },
        name_key: as_written,
    },
    Feed {
        osv: "Alpine",
        packages: Ecosystem::Apk,
        scheme: &APK,
        by_source: true,
        keys: |os| {
            let mut parts = version_id(release(os, "alpine")?)?.split('.');
            let (maj, min) = (parts.next()?, parts.next()?);
            (numeric(maj) && numeric(min)).then(|| vec![format!("Alpine:v{maj}.{min}")])
        },
        name_key: as_written,
    },
    Feed {
        osv: "AlmaLinux",
        packages: Ecosystem::Rpm,
        scheme: &RPM,
        by_source: false,
        keys: |os| by_major(os, "almalinux", "AlmaLinux"),
        name_key: as_written,
    },
    Feed {
        osv: "Rocky Linux",
        packages: Ecosystem::Rpm,
        scheme: &RPM,
        by_source: false,
        keys: |os| by_major(os, "rocky", "Rocky Linux"),
        name_key: as_written,
    },
    Feed {
        osv: "Red Hat",
        packages: Ecosystem::Rpm,
        scheme: &RPM,
        by_source: false,
        keys: |os| by_major(os, "rhel", "Red Hat:enterprise_linux"),
        name_key: as_written,
    },
    Feed {
        osv: "npm",
        packages: Ecosystem::Npm,
        scheme: &NPM_SEMVER,
        by_source: false,
        keys: |_| Some(vec!["npm".into()]),
        name_key: as_written,
    },
    Feed {
        osv: "PyPI",
        packages: Ecosystem::PyPI,
        scheme: &PEP440,
        by_source: false,
        keys: |_| Some(vec!["PyPI".into()]),
        name_key: pep503,
    },
];

/// The feed of an OSV ecosystem string such as `Debian:12` or
/// `Red Hat:enterprise_linux:9::appstream`: only the part before the first
/// `:` decides, matched exactly (OSV ecosystem names are case-sensitive).
pub fn feed(osv_ecosystem: &str) -> Option<&'static Feed> {
    let base = osv_ecosystem.split(':').next().unwrap_or_default();
    FEEDS.iter().find(|feed| feed.osv == base)
}

/// The scheme for an OSV ecosystem string such as `Debian:12`,
/// `Ubuntu:22.04:LTS`, `Alpine:v3.19`, `AlmaLinux:9`, `Rocky Linux:8`,
/// `Red Hat:enterprise_linux:9::appstream` or `npm`; `None` for an
/// ecosystem imgscan does not know. Only the part before the first `:`
/// decides, matched exactly (OSV ecosystem names are case-sensitive).
pub fn scheme_for_ecosystem(osv_ecosystem: &str) -> Option<&'static dyn VersionScheme> {
    feed(osv_ecosystem).map(|feed| feed.scheme)
}

/// The OSV ecosystems `db update` fetches unless told otherwise.
pub fn default_ecosystems() -> impl Iterator<Item = &'static str> {
    FEEDS.iter().map(|feed| feed.osv)
}

/// `FAMILY:MAJOR` for an OS release whose id is `id`.
fn by_major(os: Option<&OsRelease>, id: &str, family: &str) -> Option<Vec<String>> {
    Some(vec![format!("{family}:{}", major(release(os, id)?)?)])
}

/// The OS release when its id is `id`.
fn release<'a>(os: Option<&'a OsRelease>, id: &str) -> Option<&'a OsRelease> {
    os.filter(|os| os.id == id)
}

fn version_id(os: &OsRelease) -> Option<&str> {
    os.version_id
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn numeric(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn major(os: &OsRelease) -> Option<&str> {
    let major = version_id(os)?.split('.').next()?;
    numeric(major).then_some(major)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_package_ecosystem_has_a_feed_with_one_version_order() {
        for ecosystem in Ecosystem::ALL {
            let schemes: Vec<&str> = FEEDS
                .iter()
                .filter(|feed| feed.packages == ecosystem)
                .map(|feed| feed.scheme.name())
                .collect();
            assert!(!schemes.is_empty(), "no OSV feed covers {ecosystem:?}");
            assert!(
                schemes.windows(2).all(|w| w[0] == w[1]),
                "{ecosystem:?}: {schemes:?}"
            );
        }
    }

    #[test]
    fn ecosystems_map_to_schemes() {
        let cases = [
            ("Debian:12", Some("dpkg")),
            ("Debian", Some("dpkg")),
            ("Ubuntu:22.04:LTS", Some("dpkg")),
            ("Ubuntu:22.04", Some("dpkg")),
            ("Alpine:v3.19", Some("apk")),
            ("AlmaLinux:9", Some("rpm")),
            ("Rocky Linux:8", Some("rpm")),
            ("Red Hat:enterprise_linux:9::appstream", Some("rpm")),
            ("npm", Some("semver")),
            ("PyPI", Some("pep440")),
            ("pypi", None),
            ("debian:12", None),
            ("Red Hatter", None),
            ("", None),
        ];
        for (eco, want) in cases {
            assert_eq!(scheme_for_ecosystem(eco).map(|s| s.name()), want, "{eco}");
        }
    }

    #[test]
    fn pypi_names_are_looked_up_in_pep_503_form() {
        let pypi = feed("PyPI").unwrap();
        assert_eq!((pypi.name_key)("Flask_SQLAlchemy"), "flask-sqlalchemy");
        assert_eq!((pypi.name_key)("zope.interface"), "zope-interface");
        assert!(matches!((pypi.name_key)("requests"), Cow::Borrowed(_)));
        assert_eq!((feed("npm").unwrap().name_key)("JSONStream"), "JSONStream");
    }

    #[test]
    fn feed_names_are_distinct_and_found_by_prefix() {
        for feed_row in FEEDS {
            assert!(std::ptr::eq(feed(feed_row.osv).unwrap(), feed_row));
            let keyed = format!("{}:1", feed_row.osv);
            assert!(std::ptr::eq(feed(&keyed).unwrap(), feed_row));
        }
    }
}
