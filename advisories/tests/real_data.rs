//! Against real OSV data from the shared data folder (`IMGSCAN_SHARED_DATA`,
//! else `../shared/data`): the AlmaLinux and malicious-npm dumps and the
//! hand-picked samples, imported together and matched with the packages
//! the advisories are about. Skipped with a message when the data is
//! missing, failed when `CI` is set.

mod support;

use std::path::Path;

use imgscan_advisories::{Database, ImportSummary, Vulnerability, VulnerabilityKind, import};
use imgscan_sbom::{Ecosystem, OsRelease, Package, Severity};
use support::{os, package, shared_data, source, with_source};

struct Real {
    _dir: tempfile::TempDir,
    db: Database,
    summary: ImportSummary,
}

fn real_db(data: &Path) -> Real {
    let osv = data.join("osv");
    let mut sources = vec![
        source(&osv.join("AlmaLinux-all.zip")),
        source(&osv.join("npm-malicious-all.zip")),
    ];
    for sample in [
        "debian",
        "alpine",
        "redhat",
        "rocky",
        "npm-ghsa",
        "npm-malicious",
    ] {
        sources.push(source(&osv.join("samples").join(sample)));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("advisories.sqlite");
    let summary = import(&path, &sources).unwrap();
    let db = Database::open(&path).unwrap();
    Real {
        _dir: dir,
        db,
        summary,
    }
}

fn matches(db: &Database, packages: &[Package], os: Option<&OsRelease>) -> Vec<Vulnerability> {
    db.matches(packages, os).unwrap()
}

fn find<'v>(found: &'v [Vulnerability], package: usize, id: &str) -> Option<&'v Vulnerability> {
    found.iter().find(|v| v.at.package == package && v.id == id)
}

#[test]
fn real_advisories() {
    let Some(data) = shared_data() else { return };
    let real = real_db(&data);
    let s = &real.summary;
    // 5,637 AlmaLinux records; 21,304 MAL records of which 56 are withdrawn
    // (some also in the samples, imported twice and stored once).
    assert_eq!(s.by_ecosystem.get("AlmaLinux"), Some(&5637), "{s:?}");
    assert!(s.withdrawn >= 56, "{s:?}");
    assert!(
        s.skipped * 1000 < s.records,
        "too many skipped: {:?}",
        s.warnings
    );
    let status = real.db.status().unwrap();
    let families: Vec<&str> = status
        .ecosystems
        .iter()
        .map(|e| e.ecosystem.as_str())
        .collect();
    assert_eq!(
        families,
        [
            "AlmaLinux",
            "Alpine",
            "Debian",
            "Red Hat",
            "Rocky Linux",
            "npm"
        ]
    );
    let npm = status
        .ecosystems
        .iter()
        .find(|e| e.ecosystem == "npm")
        .unwrap();
    assert!(npm.records > 21_000, "{npm:?}");

    debian_openssh(&real.db);
    alpine_openssh(&real.db);
    red_hat_family_openssh(&real.db);
    npm_advisories(&real.db);
    malicious_npm(&real.db);
}

fn debian_openssh(db: &Database) {
    let bookworm = os("debian", "12");
    let server = |v: &str| {
        with_source(
            package(Ecosystem::Deb, "openssh-server", v),
            "openssh",
            Some(v),
        )
    };
    let found = matches(
        db,
        &[server("1:9.2p1-2+deb12u2"), server("1:9.2p1-2+deb12u3")],
        Some(&bookworm),
    );
    let hit = find(&found, 0, "CVE-2024-6387").expect("regreSSHion at deb12u2");
    assert_eq!(hit.aliases, ["DEBIAN-CVE-2024-6387"]);
    assert_eq!(hit.fixed, ["1:9.2p1-2+deb12u3"]);
    assert_eq!(hit.severity, Severity::High);
    assert_eq!(hit.cvss.as_ref().unwrap().score, 8.1);
    assert!(
        find(&found, 1, "CVE-2024-6387").is_none(),
        "fixed at deb12u3"
    );
    // Debian 11 has no entry for it in this record: nothing.
    let found = matches(
        db,
        &[server("1:8.4p1-5+deb11u1")],
        Some(&os("debian", "11")),
    );
    assert!(find(&found, 0, "CVE-2024-6387").is_none());
}

fn alpine_openssh(db: &Database) {
    let alpine = os("alpine", "3.19.1");
    let p = |v: &str| {
        with_source(
            package(Ecosystem::Apk, "openssh-server", v),
            "openssh",
            Some(v),
        )
    };
    let found = matches(db, &[p("9.6_p1-r0"), p("9.6_p1-r1")], Some(&alpine));
    let hit = find(&found, 0, "CVE-2024-6387").expect("vulnerable 9.6_p1-r0");
    assert_eq!(hit.aliases, ["ALPINE-CVE-2024-6387"]);
    assert_eq!(hit.fixed, ["9.6_p1-r1"]);
    assert!(find(&found, 1, "CVE-2024-6387").is_none());
}

fn red_hat_family_openssh(db: &Database) {
    let p = |name: &str, v: &str| package(Ecosystem::Rpm, name, v);
    // RHSA writes `0:` epochs; the installed package has none.
    let found = matches(
        db,
        &[
            p("openssh-clients", "8.7p1-38.el9"),
            p("openssh-clients", "8.7p1-38.el9_4.1"),
        ],
        Some(&os("rhel", "9.4")),
    );
    let hit = find(&found, 0, "CVE-2024-6387").expect("RHSA-2024:4312 on rhel 9");
    assert_eq!(hit.aliases, ["RHSA-2024:4312"]);
    assert_eq!(hit.fixed, ["0:8.7p1-38.el9_4.1"]);
    assert!(find(&found, 1, "CVE-2024-6387").is_none());

    // AlmaLinux omits the epoch; its records link CVEs only as `related`.
    let found = matches(
        db,
        &[p("openssh", "8.7p1-38.el9"), p("openssh", "0:8.7p1-45.el9")],
        Some(&os("almalinux", "9.4")),
    );
    let hit = find(&found, 0, "ALSA-2024:4312").expect("ALSA-2024:4312 on alma 9");
    assert_eq!(hit.fixed, ["8.7p1-38.el9_4.1"]);
    assert!(hit.aliases.is_empty());
    assert!(find(&found, 0, "ALSA-2023:2645").is_none(), "fixed in -29");
    assert!(find(&found, 1, "ALSA-2024:4312").is_none());
    assert!(find(&found, 1, "ALSA-2026:6462").is_some(), "fixed in -48");

    // Rocky writes epoch 1 for java-11-openjdk.
    let java = |v: &str| p("java-11-openjdk", v);
    let found = matches(
        db,
        &[java("1:11.0.12.0.7-0.el8_4"), java("1:11.0.13.0.8-1.el8_4")],
        Some(&os("rocky", "8.4")),
    );
    assert!(find(&found, 0, "RLSA-2021:3891").is_some());
    assert!(find(&found, 1, "RLSA-2021:3891").is_none());
}

fn npm_advisories(db: &Database) {
    let p = |name: &str, v: &str| package(Ecosystem::Npm, name, v);
    let found = matches(
        db,
        &[
            p("lodash", "4.17.20"),
            p("lodash", "4.17.21"),
            p("minimist", "1.2.5"),
            p("minimist", "1.2.0"),
            p("minimist", "1.2.6"),
        ],
        None,
    );
    let template = find(&found, 0, "GHSA-35jh-r3h4-6jhm").expect("lodash command injection");
    assert_eq!(
        template.aliases,
        ["CVE-2021-23337", "CVE-2026-4800", "GHSA-r5fr-rjxr-66jc"]
    );
    assert_eq!(template.fixed, ["4.17.21"]);
    assert!(find(&found, 1, "GHSA-35jh-r3h4-6jhm").is_none());

    let proto = find(&found, 2, "CVE-2021-44906").expect("minimist prototype pollution");
    assert_eq!(proto.aliases, ["GHSA-xvch-5gv4-984h"]);
    assert_eq!(proto.fixed, ["1.2.6"]);
    assert_eq!(proto.severity, Severity::Critical);
    let old: Vec<&str> = found
        .iter()
        .filter(|v| v.at.package == 3)
        .map(|v| v.id.as_str())
        .collect();
    assert_eq!(
        old,
        ["CVE-2020-7598", "CVE-2021-44906"],
        "the withdrawn GHSA-7fhm-mqm4-2wp7 is gone"
    );
    assert!(!found.iter().any(|v| v.at.package == 4));
}

fn malicious_npm(db: &Database) {
    let p = |name: &str, v: &str| package(Ecosystem::Npm, name, v);
    let found = matches(
        db,
        &[
            p("chalk", "5.6.1"),
            p("chalk", "5.6.0"),
            p("debug", "4.4.2"),
            p("debug", "4.4.1"),
        ],
        Some(&os("alpine", "3.19")),
    );
    let ids: Vec<(usize, &str, VulnerabilityKind, Severity)> = found
        .iter()
        .map(|v| (v.at.package, v.id.as_str(), v.kind, v.severity))
        .collect();
    assert_eq!(
        ids,
        [
            (
                0,
                "MAL-2025-46969",
                VulnerabilityKind::Malicious,
                Severity::Critical
            ),
            (
                2,
                "MAL-2025-46974",
                VulnerabilityKind::Malicious,
                Severity::Critical
            ),
        ]
    );
    assert_eq!(found[0].aliases, ["GHSA-2v46-p5h4-248w"]);
    assert!(found[0].fixed.is_empty());
}
