//! rpm: the installed-package database of Red Hat-family and SUSE images,
//! in whichever of its three backends the image uses, told apart by their
//! bytes and not their names: sqlite (`rpmdb.sqlite`, rpm 4.16+), Berkeley
//! DB hash (`Packages`, up to RHEL 8 and Amazon Linux 2) and ndb
//! (`Packages.db`, SUSE). Each stores one header blob per package, parsed
//! here by [`header`].
//!
//! Versions are written `[EPOCH:]VERSION-RELEASE`, the epoch only when it
//! is present and non-zero: rpm compares a missing epoch as 0, so `0:` adds
//! nothing and would make the same package look different across images
//! whose headers differ only in spelling it. In the purl the epoch is the
//! `epoch` qualifier (again only when non-zero) and the version is `V-R`.
//!
//! Owned files are made root-relative and resolved through the image's
//! own links, so a file listed under `/bin` is found at `/usr/bin` on a
//! merged-`/usr` image; those rpm can verify carry the digests they
//! shipped with ([`shipped`]).

pub mod bdb;
mod header;
pub mod ndb;
mod shipped;
mod sqlite;

use super::{CatalogError, CatalogInput, Cataloger};
use crate::os::OsRelease;
use crate::package::{Ecosystem, Package, SourcePackage};
use crate::purl::purl;
use header::Header;

/// The rpm cataloger: reads the rpm database in any of its backends.
pub struct RpmCataloger;

impl Cataloger for RpmCataloger {
    fn name(&self) -> &'static str {
        "rpm"
    }

    /// rpm databases are not parsed into a tree: each header blob is read
    /// in turn, so memory follows the packages kept. Big hosts' databases
    /// pass 200 MiB; the file size limit of the layer pass bounds them.
    fn max_bytes(&self) -> u64 {
        u64::MAX
    }

    fn globs(&self) -> &'static [&'static str] {
        &[
            "var/lib/rpm/rpmdb.sqlite",
            "var/lib/rpm/Packages",
            "var/lib/rpm/Packages.db",
            "usr/lib/sysimage/rpm/rpmdb.sqlite",
            "usr/lib/sysimage/rpm/Packages",
            "usr/lib/sysimage/rpm/Packages.db",
            "usr/share/rpm/rpmdb.sqlite",
            "usr/share/rpm/Packages",
            "usr/share/rpm/Packages.db",
        ]
    }

    fn catalog(&self, input: &CatalogInput<'_>) -> Result<Vec<Package>, CatalogError> {
        let blobs = if sqlite::detect(input.content) {
            sqlite::blobs(input.content)?
        } else if ndb::detect(input.content) {
            ndb::blobs(input.content)?
        } else if bdb::detect(input.content) {
            bdb::blobs(input.content)?
        } else {
            return Err(CatalogError::NotRpmDatabase);
        };
        blobs
            .iter()
            .map(|(number, blob)| {
                package(blob, input).map_err(|cause| CatalogError::RpmPackage {
                    number: *number,
                    cause: Box::new(cause),
                })
            })
            .collect()
    }
}

/// One package from one header blob (the cataloger's step after a
/// backend's `blobs`; public so the fuzz targets reach the header parser).
pub fn package(blob: &[u8], input: &CatalogInput<'_>) -> Result<Package, CatalogError> {
    let header = Header::parse(blob)?;
    let required = |tag: u32, what: &'static str| {
        header
            .text(tag)?
            .filter(|s| !s.trim().is_empty())
            .ok_or(CatalogError::RpmMissingTag(what))
    };
    let name = required(header::NAME, "NAME")?;
    let version = required(header::VERSION, "VERSION")?;
    let release = required(header::RELEASE, "RELEASE")?;
    let epoch = header.int32(header::EPOCH)?.filter(|e| *e != 0);
    let arch = header.text(header::ARCH)?.filter(|a| !a.is_empty());
    let source_rpm = header.text(header::SOURCERPM)?.filter(|s| !s.is_empty());
    let license = header.text(header::LICENSE)?.filter(|l| !l.is_empty());
    let vendor = header.text(header::VENDOR)?;

    let vr = format!("{version}-{release}");
    let full_version = match epoch {
        Some(epoch) => format!("{epoch}:{vr}"),
        None => vr.clone(),
    };
    let namespace = namespace(input.os, vendor.as_deref());
    let distro = input
        .os
        .and_then(|os| os.version_id.as_ref().map(|v| format!("{}-{v}", os.id)))
        .unwrap_or_default();
    let epoch_text = epoch.map(|e| e.to_string()).unwrap_or_default();
    let purl = purl(
        "rpm",
        namespace.as_deref(),
        &name,
        &vr,
        &[
            ("arch", arch.as_deref().unwrap_or("")),
            ("epoch", &epoch_text),
            ("upstream", source_rpm.as_deref().unwrap_or("")),
            ("distro", &distro),
        ],
    );
    let mut package = Package::new(name, full_version, Ecosystem::Rpm, purl, String::new());
    package.arch = arch;
    package.source = source_rpm.as_deref().and_then(source_package);
    package.licenses = license.into_iter().collect();
    let files = header.files()?;
    package.shipped = shipped::shipped_files(&header, &files, input)?;
    package.files = files
        .into_iter()
        .filter_map(|path| {
            let relative = path.strip_prefix(b"/").unwrap_or(&path);
            (!relative.is_empty()).then(|| {
                input
                    .tree
                    .resolve(relative)
                    .unwrap_or_else(|| relative.to_vec())
            })
        })
        .collect();
    Ok(package)
}

/// The purl namespace: the distro id from os-release (`rhel` is spelled
/// `redhat` in purls), else one guessed from the package's vendor, else none.
fn namespace(os: Option<&OsRelease>, vendor: Option<&str>) -> Option<String> {
    if let Some(os) = os {
        return Some(if os.id == "rhel" {
            "redhat".into()
        } else {
            os.id.clone()
        });
    }
    let vendor = vendor?.to_ascii_lowercase();
    [
        ("red hat", "redhat"),
        ("centos", "centos"),
        ("fedora", "fedora"),
        ("rocky", "rocky"),
        ("almalinux", "almalinux"),
        ("amazon", "amazon"),
        ("oracle", "oracle"),
        ("opensuse", "opensuse"),
        ("suse", "suse"),
    ]
    .iter()
    .find(|(needle, _)| vendor.contains(needle))
    .map(|(_, namespace)| (*namespace).to_string())
}

/// The source package named by a SOURCERPM file name:
/// `openssl-3.0.7-27.el9.src.rpm` is `openssl` at `3.0.7-27.el9`.
fn source_package(file: &str) -> Option<SourcePackage> {
    let stem = file
        .strip_suffix(".src.rpm")
        .or_else(|| file.strip_suffix(".nosrc.rpm"))?;
    let (rest, release) = stem.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() || release.is_empty() {
        return None;
    }
    Some(SourcePackage {
        name: name.into(),
        version: Some(format!("{version}-{release}")),
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::header::build::{Value, blob};
    use super::*;
    use crate::test_tree::MapTree;

    /// The sqlite fixture, shared with the other backends' tests, whose
    /// blobs they must reproduce.
    pub(crate) const SQLITE: &[u8] = include_bytes!("testdata/rpmdb.sqlite");
    const BDB: &[u8] = include_bytes!("testdata/Packages");
    const BDB_BE: &[u8] = include_bytes!("testdata/Packages.be");
    const NDB: &[u8] = include_bytes!("testdata/Packages.db");

    fn rocky() -> OsRelease {
        OsRelease {
            id: "rocky".into(),
            version_id: Some("9.3".into()),
            name: None,
        }
    }

    fn catalog_with(
        content: &[u8],
        os: Option<&OsRelease>,
        tree: &MapTree,
    ) -> Result<Vec<Package>, CatalogError> {
        RpmCataloger.catalog(&CatalogInput {
            path: b"var/lib/rpm/rpmdb.sqlite",
            content,
            os,
            tree,
        })
    }

    fn catalog(content: &[u8]) -> Result<Vec<Package>, CatalogError> {
        catalog_with(content, Some(&rocky()), &MapTree::new(&[]))
    }

    /// Packages as `rpm -qa --qf '%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE} %{ARCH}\n'`
    /// prints them, sorted.
    fn as_rpm_prints(packages: &[Package]) -> String {
        let mut lines: Vec<String> = packages
            .iter()
            .map(|p| {
                let evr = if p.version.contains(':') {
                    p.version.clone()
                } else {
                    format!("0:{}", p.version)
                };
                format!(
                    "{} {evr} {}\n",
                    p.name,
                    p.arch.as_deref().unwrap_or("(none)")
                )
            })
            .collect();
        lines.sort();
        lines.concat()
    }

    #[test]
    fn every_backend_matches_rpms_own_listing() {
        for (name, content, oracle) in [
            ("sqlite", SQLITE, include_str!("testdata/oracle-sqlite.txt")),
            ("bdb", BDB, include_str!("testdata/oracle-bdb.txt")),
            (
                "bdb big-endian",
                BDB_BE,
                include_str!("testdata/oracle-bdb.txt"),
            ),
            ("ndb", NDB, include_str!("testdata/oracle-ndb.txt")),
        ] {
            let packages = catalog(content).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(packages.len() >= 20, "{name}");
            assert_eq!(as_rpm_prints(&packages), oracle, "{name}");
        }
    }

    fn find<'a>(packages: &'a [Package], name: &str) -> &'a Package {
        packages
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no `{name}`"))
    }

    #[test]
    fn package_fields() {
        let tree = MapTree::new(&[("usr/etc/imgscan/hello.conf", "greeting=hello\n")])
            .link("etc/imgscan", "/usr/etc/imgscan");
        let os = OsRelease {
            id: "rhel".into(),
            version_id: Some("9.3".into()),
            name: None,
        };
        let packages = catalog_with(SQLITE, Some(&os), &tree).unwrap();
        let hello = find(&packages, "imgscan-hello");
        assert_eq!(hello.version, "1.2.3-4.el9");
        assert_eq!(hello.ecosystem, Ecosystem::Rpm);
        assert_eq!(hello.arch.as_deref(), Some("x86_64"));
        assert_eq!(hello.licenses, ["MIT AND Apache-2.0"]);
        assert_eq!(
            hello.source,
            Some(SourcePackage {
                name: "imgscan-hello".into(),
                version: Some("1.2.3-4.el9".into())
            })
        );
        let mut files = hello.files.clone();
        files.sort();
        assert_eq!(
            files,
            [
                b"usr/bin/imgscan-hello".to_vec(),
                b"usr/etc/imgscan/hello.conf".to_vec(),
                b"usr/share/doc/imgscan-hello".to_vec(),
                b"usr/share/doc/imgscan-hello/README".to_vec(),
            ]
        );
        assert_eq!(
            hello.purl,
            "pkg:rpm/redhat/imgscan-hello@1.2.3-4.el9?arch=x86_64&distro=rhel-9.3&upstream=imgscan-hello-1.2.3-4.el9.src.rpm"
        );
        assert_eq!((hello.layer, hello.location.as_str()), (0, ""));

        let epochal = find(&packages, "imgscan-epochal");
        assert_eq!(epochal.version, "2:0.9-1.fc40");
        assert_eq!(
            epochal.purl,
            "pkg:rpm/redhat/imgscan-epochal@0.9-1.fc40?arch=x86_64&distro=rhel-9.3&epoch=2&upstream=imgscan-epochal-0.9-1.fc40.src.rpm"
        );

        let extra = find(&packages, "imgscan-data-extra");
        assert_eq!(extra.arch.as_deref(), Some("noarch"));
        assert_eq!(
            extra.source,
            Some(SourcePackage {
                name: "imgscan-data".into(),
                version: Some("2024.1-7".into())
            })
        );
        assert_eq!(extra.files, [b"usr/share/imgscan/extra.txt".to_vec()]);
        let filler = find(&packages, "imgscan-filler-07");
        assert_eq!(filler.source.as_ref().unwrap().name, "imgscan-filler");
        assert_eq!(filler.version, "1.7-1");
    }

    #[test]
    fn namespace_without_os_comes_from_vendor() {
        let packages = catalog_with(SQLITE, None, &MapTree::new(&[])).unwrap();
        assert!(
            find(&packages, "imgscan-hello")
                .purl
                .starts_with("pkg:rpm/imgscan-hello@1.2.3-4.el9?arch=x86_64&upstream=")
        );
        assert_eq!(
            namespace(None, Some("Red Hat, Inc.")).as_deref(),
            Some("redhat")
        );
        assert_eq!(
            namespace(None, Some("SUSE LLC <https://www.suse.com/>")).as_deref(),
            Some("suse")
        );
        assert_eq!(
            namespace(None, Some("openSUSE")).as_deref(),
            Some("opensuse")
        );
        assert_eq!(
            namespace(Some(&rocky()), Some("Red Hat, Inc.")).as_deref(),
            Some("rocky")
        );
    }

    #[test]
    fn source_rpm_names() {
        let source = source_package("openssl-3.0.7-27.el9.src.rpm").unwrap();
        assert_eq!(
            (source.name.as_str(), source.version.as_deref()),
            ("openssl", Some("3.0.7-27.el9"))
        );
        let source = source_package("python-dateutil-2.8.1-6.el9.nosrc.rpm").unwrap();
        assert_eq!(
            (source.name.as_str(), source.version.as_deref()),
            ("python-dateutil", Some("2.8.1-6.el9"))
        );
        assert_eq!(source_package("openssl.src.rpm"), None);
        assert_eq!(source_package("-1-2.src.rpm"), None);
        assert_eq!(source_package("openssl-3.0.7-27.el9.x86_64.rpm"), None);
    }

    #[test]
    fn gpg_pubkey_has_no_arch_or_source() {
        let blob = blob(&[
            (header::NAME, Value::Str("gpg-pubkey")),
            (header::VERSION, Value::Str("fd431d51")),
            (header::RELEASE, Value::Str("4ae0493b")),
            (header::EPOCH, Value::Ints(&[0])),
            (header::OLDFILENAMES, Value::Strs(&["/"])),
        ]);
        let package = package(
            &blob,
            &CatalogInput {
                path: b"",
                content: b"",
                os: None,
                tree: &MapTree::new(&[]),
            },
        )
        .unwrap();
        assert_eq!(
            package.version, "fd431d51-4ae0493b",
            "epoch 0 is not written"
        );
        assert_eq!((package.arch, package.source), (None, None));
        assert_eq!(package.purl, "pkg:rpm/gpg-pubkey@fd431d51-4ae0493b");
        assert!(package.files.is_empty(), "the root itself is not a file");
    }

    #[test]
    fn hostile_databases_are_errors() {
        let reason = catalog(b"definitely not a database")
            .unwrap_err()
            .to_string();
        assert!(reason.contains("not an rpm database"), "{reason}");
        assert!(
            catalog(&SQLITE[..SQLITE.len() / 3])
                .unwrap_err()
                .to_string()
                .starts_with("sqlite: ")
        );
        assert!(
            catalog(&BDB[..BDB.len() / 2])
                .unwrap_err()
                .to_string()
                .starts_with("berkeley db: ")
        );
        assert!(
            catalog(&NDB[..NDB.len() - 64])
                .unwrap_err()
                .to_string()
                .starts_with("ndb: ")
        );
        // A header whose index count lies, inside an otherwise valid ndb.
        let mut ndb = NDB.to_vec();
        let slot = (32..4096)
            .step_by(16)
            .find(|at| ndb[at + 8..at + 12] != [0; 4])
            .unwrap();
        let blob_at =
            u32::from_le_bytes(ndb[slot + 8..slot + 12].try_into().unwrap()) as usize * 16 + 16;
        ndb[blob_at..blob_at + 4].copy_from_slice(&1000u32.to_be_bytes());
        // Keep the blob's checksum right, so only the header is at fault.
        let count = u32::from_le_bytes(ndb[slot + 12..slot + 16].try_into().unwrap()) as usize;
        let area = blob_at - 16..blob_at - 16 + count * 16;
        let sum = adler32(&ndb[area.start..area.end - 12]);
        ndb[area.end - 12..area.end - 8].copy_from_slice(&sum.to_le_bytes());
        let reason = catalog(&ndb).unwrap_err().to_string();
        assert!(
            reason.starts_with("header `") && reason.contains("claims `1000` index entries"),
            "{reason}"
        );
        // Required tags.
        let blob = blob(&[
            (header::NAME, Value::Str("x")),
            (header::VERSION, Value::Str("1")),
        ]);
        let input = CatalogInput {
            path: b"",
            content: b"",
            os: None,
            tree: &MapTree::new(&[]),
        };
        let missing = package(&blob, &input).unwrap_err();
        assert_eq!(missing, CatalogError::RpmMissingTag("RELEASE"));
        assert_eq!(missing.to_string(), "no `RELEASE`");
    }

    /// Random byte flips and truncations of every fixture: each is read or
    /// refused, never a panic or a hang.
    #[test]
    fn corrupted_fixtures_never_panic() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as usize
        };
        for (fixture, rounds) in [(BDB, 400), (BDB_BE, 400), (NDB, 400), (SQLITE, 40)] {
            for _ in 0..rounds {
                let mut content = fixture.to_vec();
                for _ in 0..1 + next() % 8 {
                    let at = next() % content.len();
                    content[at] = next() as u8;
                }
                let _ = catalog(&content);
                let _ = catalog(&fixture[..next() % fixture.len()]);
            }
        }
        let blob = blob(&[
            (header::NAME, Value::Str("x")),
            (header::VERSION, Value::Str("1")),
            (header::RELEASE, Value::Str("1")),
            (header::BASENAMES, Value::Strs(&["a", "b"])),
            (header::DIRNAMES, Value::Strs(&["/"])),
            (header::DIRINDEXES, Value::Ints(&[0, 0])),
        ]);
        let input = CatalogInput {
            path: b"",
            content: b"",
            os: None,
            tree: &MapTree::new(&[]),
        };
        assert!(package(&blob, &input).is_ok());
        for _ in 0..5000 {
            let mut mutated = blob.clone();
            for _ in 0..1 + next() % 4 {
                let at = next() % mutated.len();
                mutated[at] = next() as u8;
            }
            let _ = package(&mutated, &input);
        }
    }

    fn adler32(bytes: &[u8]) -> u32 {
        let (mut a, mut b) = (1u32, 0u32);
        for byte in bytes {
            a = (a + u32::from(*byte)) % 65521;
            b = (b + a) % 65521;
        }
        (b << 16) | a
    }

    #[test]
    fn globs_name_every_database_path() {
        let set = crate::test_globs::glob_set(RpmCataloger.globs());
        for path in [
            "var/lib/rpm/rpmdb.sqlite",
            "var/lib/rpm/Packages",
            "usr/lib/sysimage/rpm/Packages.db",
            "usr/share/rpm/Packages",
        ] {
            assert!(set.is_match(path), "{path}");
        }
        for path in [
            "var/lib/rpm/Name",
            "var/lib/rpm/rpmdb.sqlite-wal",
            "x/var/lib/rpm/Packages",
        ] {
            assert!(!set.is_match(path), "{path}");
        }
    }
}
