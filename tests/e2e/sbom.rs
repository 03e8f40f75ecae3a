//! `imgscan sbom` and the packages of `imgscan scan`: dpkg (status and
//! distroless status.d) and apk databases, each package with the layer
//! that brought it, checked on a real Debian tree against `dpkg-query`.

use crate::support::*;
use imgscan_fixtures::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::PathBuf;

fn sbom_json(target: impl AsRef<OsStr>) -> Value {
    let run = run(&[
        OsStr::new("sbom"),
        OsStr::new("-f"),
        OsStr::new("json"),
        target.as_ref(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    validate(&report);
    report
}

fn packages(report: &Value) -> Vec<(String, String, String, u64, String)> {
    report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["ecosystem"].as_str().unwrap().to_string(),
                p["name"].as_str().unwrap().to_string(),
                p["version"].as_str().unwrap().to_string(),
                p["layer"].as_u64().unwrap(),
                p["location"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn dpkg_packages_carry_the_layer_that_brought_them() {
    let dir = oci_dir(&demo(), LayerCompression::Gzip);
    let report = sbom_json(&dir);
    let found = packages(&report);
    let row = |name: &str, version: &str, layer: u64| {
        (
            "deb".to_string(),
            name.to_string(),
            version.to_string(),
            layer,
            "/var/lib/dpkg/status".to_string(),
        )
    };
    let npm = |name: &str, version: &str| {
        (
            "npm".to_string(),
            name.to_string(),
            version.to_string(),
            1,
            "/opt/app/package-lock.json".to_string(),
        )
    };
    assert_eq!(
        found,
        [
            row("base-files", "12.4+deb12u8", 0),
            row("bash", "5.2.15-2+b7", 0),
            row("coreutils", "9.1-1", 0),
            row("libssl3", "3.0.15-1~deb12u1", 0),
            row("openssh-server", "1:9.2p1-2+deb12u2", 0),
            npm("debug", "4.4.2"),
            npm("lodash", "4.17.20"),
            npm("ms", "2.1.3"),
            row("ca-certificates", "20230311", 1)
        ],
        "a package keeps the layer that first listed it; config-files leftovers are not installed"
    );
    let ssl = &report["packages"][3];
    assert_eq!(ssl["source"]["name"], "openssl");
    assert_eq!(
        ssl["purl"],
        "pkg:deb/debian/libssl3@3.0.15-1~deb12u1?arch=amd64&distro=debian-12&upstream=openssl"
    );
    assert!(
        !report["summary"]["not_checked"]
            .as_array()
            .unwrap()
            .contains(&"packages".into())
    );

    // Every form gives the same packages.
    let archive = fresh("demo.tar.gz");
    write_docker_archive(
        &archive,
        &demo(),
        DockerLayout::Legacy,
        ArchiveCompression::Gzip,
    )
    .unwrap();
    assert_eq!(packages(&sbom_json(&archive)), found);
    // scan lists them too; inspect does not catalog.
    let scan = run(&[
        OsStr::new("scan"),
        OsStr::new("-f"),
        OsStr::new("json"),
        dir.as_os_str(),
    ]);
    let scan: Value = serde_json::from_str(&scan.stdout).unwrap();
    assert_eq!(packages(&scan), found);
    assert!(inspect(&dir, &[]).get("packages").is_none());
    let table = run(&[OsStr::new("sbom"), dir.as_os_str()]);
    assert!(
        table.stdout.contains("Packages (9)") && table.stdout.contains("ca-certificates"),
        "{}",
        table.stdout
    );
}

#[test]
fn apk_and_distroless_databases() {
    let mut layer = LayerTar::new();
    layer.file("etc/os-release", "ID=alpine\nVERSION_ID=3.19.1\n");
    layer.file("lib/apk/db/installed", "P:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\no:musl\nF:lib\nR:ld-musl-x86_64.so.1\n\nP:libcrypto3\nV:3.1.4-r5\nA:x86_64\nL:Apache-2.0\no:openssl\n\n");
    let report = sbom_json(oci_dir(
        &Image::new(vec![layer.finish()]),
        LayerCompression::Gzip,
    ));
    let apk = &report["packages"].as_array().unwrap();
    assert_eq!(apk.len(), 2);
    assert_eq!(
        apk[0]["purl"],
        "pkg:apk/alpine/libcrypto3@3.1.4-r5?arch=x86_64&distro=alpine-3.19.1&upstream=openssl"
    );
    assert_eq!(apk[0]["source"]["name"], "openssl");
    assert_eq!(apk[1]["licenses"][0], "MIT");

    let mut layer = LayerTar::new();
    layer.file("etc/os-release", "ID=debian\nVERSION_ID=12\n");
    layer.file(
        "var/lib/dpkg/status.d/base-files",
        "Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n",
    );
    layer.file(
        "var/lib/dpkg/status.d/base-files.md5sums",
        "0123  etc/debian_version\n",
    );
    layer.file(
        "var/lib/dpkg/status.d/tzdata",
        "Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n",
    );
    let report = sbom_json(oci_dir(
        &Image::new(vec![layer.finish()]),
        LayerCompression::Gzip,
    ));
    let names: Vec<(String, String)> = packages(&report).into_iter().map(|p| (p.1, p.4)).collect();
    assert_eq!(
        names,
        [
            (
                "base-files".into(),
                "/var/lib/dpkg/status.d/base-files".into()
            ),
            ("tzdata".into(), "/var/lib/dpkg/status.d/tzdata".into())
        ]
    );
}

#[test]
fn a_database_that_does_not_parse_is_an_unknown() {
    let mut layer = LayerTar::new();
    layer.file(
        "var/lib/dpkg/status",
        "Package: broken\nthis line has no colon\n",
    );
    layer.file("lib/apk/db/installed", "P:only-a-name\n\n");
    let report = sbom_json(oci_dir(
        &Image::new(vec![layer.finish()]),
        LayerCompression::Gzip,
    ));
    assert_eq!(report["packages"].as_array().unwrap().len(), 0);
    let unknowns: Vec<String> = report["unknowns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| format!("{} {}", u["path"], u["reason"]))
        .collect();
    assert!(
        unknowns
            .iter()
            .any(|u| u.contains("/var/lib/dpkg/status") && u.contains("dpkg: line 2")),
        "{unknowns:?}"
    );
    assert!(
        unknowns
            .iter()
            .any(|u| u.contains("/lib/apk/db/installed") && u.contains("apk:")),
        "{unknowns:?}"
    );
}

#[test]
fn packages_a_later_layer_removed_or_replaced_are_listed_with_their_layer() {
    let status = |packages: &[(&str, &str)]| {
        packages
            .iter()
            .map(|(name, version)| {
                format!("Package: {name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: {version}\n\n")
            })
            .collect::<String>()
    };
    let mut base = LayerTar::new();
    base.file(
        "var/lib/dpkg/status",
        status(&[
            ("curl", "7.88.1-10"),
            ("telnet", "0.17-44"),
            ("zlib1g", "1:1.2.13"),
        ]),
    );
    base.file("tmp/build/a", "a");
    base.file("tmp/build/b", "b");
    let mut upgrade = LayerTar::new();
    upgrade.file(
        "var/lib/dpkg/status",
        status(&[("curl", "7.88.1-10+deb12u8"), ("zlib1g", "1:1.2.13")]),
    );
    upgrade.file("tmp/.wh.build", "");
    let report = sbom_json(oci_dir(
        &Image::new(vec![base.finish(), upgrade.finish()]),
        LayerCompression::Gzip,
    ));
    let removed: Vec<(u64, String, String, u64)> = report["removed_packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["layer"].as_u64().unwrap(),
                p["name"].as_str().unwrap().to_string(),
                p["version"].as_str().unwrap().to_string(),
                p["introduced"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        removed,
        [
            (1, "curl".into(), "7.88.1-10".into(), 0),
            (1, "telnet".into(), "0.17-44".into(), 0)
        ],
        "the upgrade replaced curl and removed telnet; zlib1g stayed"
    );
    let found = packages(&report);
    assert!(found.iter().any(|p| p.1 == "curl" && p.3 == 1), "{found:?}");
    assert!(
        found.iter().any(|p| p.1 == "zlib1g" && p.3 == 0),
        "{found:?}"
    );
    let deleted: Vec<u64> = report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["deleted"].as_u64().unwrap())
        .collect();
    assert_eq!(
        deleted,
        [0, 4],
        "layer 1 replaced the dpkg status and deleted /tmp/build with its two files"
    );
}

/// A real Debian 12 tree from debootstrap (`.ci/run` builds it once under
/// /var/tmp and exports its path): the dpkg set must equal dpkg-query's.
#[test]
fn debian_tree_matches_dpkg_query() {
    let Some(root) = debian_rootfs() else {
        return;
    };
    let admindir = std::path::Path::new(&root).join("var/lib/dpkg");
    let out = std::process::Command::new("dpkg-query")
        .arg(format!("--admindir={}", admindir.display()))
        .args(["-W", "-f", "${Package} ${Version}\\n"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let expected: BTreeSet<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let report = sbom_json(&root);
    let found: BTreeSet<String> = packages(&report)
        .into_iter()
        .filter(|p| p.0 == "deb")
        .map(|p| format!("{} {}", p.1, p.2))
        .collect();
    assert_eq!(found, expected);
    assert!(expected.len() > 80, "a minbase tree has many packages");
    for name in ["openssh-server", "cron", "redis-server"] {
        assert!(
            found.iter().any(|p| p.starts_with(&format!("{name} "))),
            "{name} is listed"
        );
    }
    assert_eq!(report["target"]["os"]["id"], "debian");
    assert_eq!(report["target"]["os"]["version_id"], "12");
}

#[test]
fn npm_lockfile_installed_tree_and_drift() {
    let lock = r#"{
  "name": "shop", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
  "packages": {
    "": {"name": "shop", "version": "1.0.0", "dependencies": {"left-pad": "^1.3.0", "qs": "^6.11.0"}, "devDependencies": {"@types/node": "^20.0.0"}},
    "node_modules/left-pad": {"version": "1.3.0", "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz", "license": "WTFPL"},
    "node_modules/qs": {"version": "6.11.0", "license": "BSD-3-Clause"},
    "node_modules/@types/node": {"version": "20.11.0", "dev": true, "license": "MIT"}
  }
}"#;
    let mut layer = LayerTar::new();
    layer.file(
        "srv/shop/package.json",
        r#"{"name":"shop","version":"1.0.0"}"#,
    );
    layer.file("srv/shop/package-lock.json", lock);
    layer.file(
        "srv/shop/node_modules/left-pad/package.json",
        r#"{"name":"left-pad","version":"1.3.0","license":"WTFPL"}"#,
    );
    layer.file(
        "srv/shop/node_modules/@types/node/package.json",
        r#"{"name":"@types/node","version":"20.11.0","license":"MIT"}"#,
    );
    layer.file(
        "srv/shop/node_modules/event-stream/package.json",
        r#"{"name":"event-stream","version":"3.3.6","license":"MIT"}"#,
    );
    let dir = oci_dir(&Image::new(vec![layer.finish()]), LayerCompression::Gzip);
    let report = sbom_json(&dir);
    let npm: Vec<(String, String, String)> = packages(&report)
        .into_iter()
        .filter(|p| p.0 == "npm")
        .map(|p| (p.1, p.2, p.4))
        .collect();
    for expected in [
        ("left-pad", "1.3.0", "/srv/shop/package-lock.json"),
        ("@types/node", "20.11.0", "/srv/shop/package-lock.json"),
        ("qs", "6.11.0", "/srv/shop/package-lock.json"),
        (
            "event-stream",
            "3.3.6",
            "/srv/shop/node_modules/event-stream/package.json",
        ),
    ] {
        let expected = (
            expected.0.to_string(),
            expected.1.to_string(),
            expected.2.to_string(),
        );
        assert!(npm.contains(&expected), "{expected:?} not in {npm:?}");
    }
    let types = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "@types/node" && p["location"] == "/srv/shop/package-lock.json")
        .unwrap();
    assert_eq!(types["purl"], "pkg:npm/%40types/node@20.11.0");
    assert_eq!(types["scope"], "dev");

    let run = run(&[
        OsStr::new("scan"),
        OsStr::new("-f"),
        OsStr::new("json"),
        dir.as_os_str(),
    ]);
    let scan: Value = serde_json::from_str(&run.stdout).unwrap();
    validate(&scan);
    let drift: Vec<(String, String)> = scan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == "npm.lock-drift")
        .map(|f| {
            (
                f["severity"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        drift,
        [
            (
                "HIGH".to_string(),
                "/srv/shop/node_modules/event-stream/package.json".to_string()
            ),
            (
                "MEDIUM".to_string(),
                "/srv/shop/package-lock.json".to_string()
            )
        ],
        "an unlocked install and a missing locked package"
    );
}

/// The rpm databases that `sbom/src/catalog/rpm/testdata/generate.sh` built
/// with Debian's `rpm`, one per backend, each with the `rpm -qa` it gave.
fn rpm_testdata(name: &str) -> Vec<u8> {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sbom/src/catalog/rpm/testdata");
    std::fs::read(dir.join(name)).unwrap()
}

/// `rpm -qa --qf '%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE} %{ARCH}'`, as
/// imgscan writes versions: the epoch only when non-zero.
fn rpm_oracle(name: &str) -> BTreeSet<(String, String)> {
    String::from_utf8(rpm_testdata(name))
        .unwrap()
        .lines()
        .map(|line| {
            let mut fields = line.split(' ');
            let name = fields.next().unwrap().to_string();
            let version = fields.next().unwrap();
            let version = version.strip_prefix("0:").unwrap_or(version).to_string();
            (name, version)
        })
        .collect()
}

#[test]
fn rpm_databases_in_every_backend_and_location() {
    for (location, database, oracle) in [
        (
            "var/lib/rpm/rpmdb.sqlite",
            "rpmdb.sqlite",
            "oracle-sqlite.txt",
        ),
        ("var/lib/rpm/Packages", "Packages", "oracle-bdb.txt"),
        (
            "usr/lib/sysimage/rpm/Packages.db",
            "Packages.db",
            "oracle-ndb.txt",
        ),
    ] {
        let mut layer = LayerTar::new();
        layer.file("etc/os-release", "ID=almalinux\nVERSION_ID=9.4\n");
        layer.file(location, rpm_testdata(database));
        let report = sbom_json(oci_dir(
            &Image::new(vec![layer.finish()]),
            LayerCompression::Zstd,
        ));
        let found: BTreeSet<(String, String)> = report["packages"]
            .as_array()
            .unwrap()
            .iter()
            .inspect(|p| {
                assert_eq!(p["ecosystem"], "rpm");
                assert_eq!(p["location"], format!("/{location}"));
            })
            .map(|p| {
                (
                    p["name"].as_str().unwrap().to_string(),
                    p["version"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(found, rpm_oracle(oracle), "{location}");
        let epochal = report["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "imgscan-epochal")
            .unwrap();
        assert_eq!(
            epochal["purl"],
            "pkg:rpm/almalinux/imgscan-epochal@0.9-1.fc40?arch=x86_64&distro=almalinux-9.4&epoch=2&upstream=imgscan-epochal-0.9-1.fc40.src.rpm"
        );
    }
}

/// Runs `scripts/validate-sbom.py KIND FILE` with the Python that has the
/// formats' own validators (`.ci/run` sets `IMGSCAN_SBOM_PYTHON`); `None`
/// when they are not there (see [`env_path`]).
fn validate_sbom(kind: &str, file: &std::path::Path) -> Option<std::process::Output> {
    let python = env_path(
        "IMGSCAN_SBOM_PYTHON",
        ".ci/run installs the SBOM formats' validators",
    )?;
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/validate-sbom.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(kind)
        .arg(file)
        .output()
        .unwrap();
    Some(out)
}

/// Fails unless the formats' own validators accept `file`.
pub fn assert_valid_sbom(kind: &str, file: &std::path::Path) {
    if let Some(out) = validate_sbom(kind, file) {
        assert!(
            out.status.success(),
            "{kind} invalid: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `imgscan sbom -f FORMAT -o FILE target`, into a fresh file.
pub fn sbom_file(format: &str, target: &std::path::Path) -> PathBuf {
    let file = fresh(&format!("sbom.{format}.json"));
    let made = run(&[
        OsStr::new("sbom"),
        OsStr::new("-f"),
        OsStr::new(format),
        OsStr::new("-o"),
        file.as_os_str(),
        target.as_os_str(),
    ]);
    assert_eq!(made.code, 0, "{}", made.stderr);
    file
}

#[test]
fn the_validators_accept_a_bare_tree_and_refuse_an_unknown_license_id() {
    // A tree with no OS and no packages still makes valid documents.
    let bare = fresh("bare");
    std::fs::create_dir_all(bare.join("srv")).unwrap();
    std::fs::write(bare.join("srv/notes.txt"), "no packages here\n").unwrap();
    assert_valid_sbom("cyclonedx", &sbom_file("cyclonedx-json", &bare));
    assert_valid_sbom("spdx", &sbom_file("spdx-json", &bare));

    // The validators bite: a license id not on the SPDX list fails each
    // format (exit 1, not a crash of the script).
    let image = oci_dir(&demo(), LayerCompression::Gzip);
    let cyclonedx = sbom_file("cyclonedx-json", &image);
    let mut bom: Value = serde_json::from_slice(&std::fs::read(&cyclonedx).unwrap()).unwrap();
    bom["components"][0]["licenses"] = serde_json::json!([{ "license": { "id": "GPLv3+" } }]);
    std::fs::write(&cyclonedx, bom.to_string()).unwrap();
    let spdx = sbom_file("spdx-json", &image);
    let mut doc: Value = serde_json::from_slice(&std::fs::read(&spdx).unwrap()).unwrap();
    doc["packages"][1]["licenseDeclared"] = "GPLv3+".into();
    std::fs::write(&spdx, doc.to_string()).unwrap();
    for (kind, file) in [("cyclonedx", cyclonedx), ("spdx", spdx)] {
        let Some(out) = validate_sbom(kind, &file) else {
            return;
        };
        assert_eq!(
            out.status.code(),
            Some(1),
            "{kind}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn cyclonedx_and_spdx_documents_validate_and_name_every_package() {
    let dir = oci_dir(&demo(), LayerCompression::Gzip);
    let expected: BTreeSet<String> = sbom_json(&dir)["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["purl"].as_str().unwrap().to_string())
        .collect();
    assert!(!expected.is_empty());

    let cyclonedx = sbom_file("cyclonedx-json", &dir);
    assert_valid_sbom("cyclonedx", &cyclonedx);
    let document: Value = serde_json::from_slice(&std::fs::read(&cyclonedx).unwrap()).unwrap();
    assert_eq!(document["bomFormat"], "CycloneDX");
    let purls: BTreeSet<String> = document["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["purl"].as_str().map(str::to_string))
        .collect();
    assert_eq!(purls, expected);

    let spdx = sbom_file("spdx-json", &dir);
    assert_valid_sbom("spdx", &spdx);
    let document: Value = serde_json::from_slice(&std::fs::read(&spdx).unwrap()).unwrap();
    assert_eq!(document["spdxVersion"], "SPDX-2.3");
    let purls: BTreeSet<String> = document["packages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["externalRefs"].as_array().into_iter().flatten())
        .filter(|r| r["referenceType"] == "purl")
        .map(|r| r["referenceLocator"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(purls, expected);
}
