//! Matching through a real database built from small hand-written OSV
//! records, one rule of OSV's semantics per test.

mod support;

use imgscan_advisories::{Vulnerability, VulnerabilityKind};
use imgscan_sbom::{Ecosystem, OsRelease, Package, Severity};
use serde_json::json;
use support::{db_with, os, package, range, record, with_source};

fn npm(name: &str, version: &str) -> Package {
    package(Ecosystem::Npm, name, version)
}

fn ids(found: &[Vulnerability]) -> Vec<(usize, &str)> {
    found
        .iter()
        .map(|v| (v.at.package, v.id.as_str()))
        .collect()
}

/// Which of `versions` of npm package `a` the records match.
fn affected_versions(records: &[serde_json::Value], versions: &[&str]) -> Vec<String> {
    let f = db_with(records);
    let packages: Vec<Package> = versions.iter().map(|v| npm("a", v)).collect();
    let found = f.db.matches(&packages, None).unwrap();
    found.iter().map(|v| v.version.clone()).collect()
}

#[test]
fn introduced_zero_and_fixed() {
    let r = record(
        "X-1",
        "npm",
        "a",
        json!([range(&[("introduced", "0"), ("fixed", "1.2.0")])]),
        json!([]),
    );
    assert_eq!(
        affected_versions(&[r], &["0.0.1", "1.1.9", "1.2.0", "2.0.0"]),
        ["0.0.1", "1.1.9"]
    );
}

#[test]
fn last_affected_is_inclusive() {
    let r = record(
        "X-2",
        "npm",
        "a",
        json!([range(&[
            ("introduced", "1.0.0"),
            ("last_affected", "1.5.0")
        ])]),
        json!([]),
    );
    assert_eq!(
        affected_versions(&[r], &["0.9.0", "1.0.0", "1.5.0", "1.5.1"]),
        ["1.0.0", "1.5.0"]
    );
}

#[test]
fn limit_bounds_a_range() {
    let r = record(
        "X-3",
        "npm",
        "a",
        json!([range(&[("introduced", "1.0.0"), ("limit", "2.0.0")])]),
        json!([]),
    );
    assert_eq!(
        affected_versions(&[r], &["0.9.0", "1.9.9", "2.0.0", "3.0.0"]),
        ["1.9.9"]
    );
}

#[test]
fn versions_list_is_exact() {
    let r = record("X-4", "npm", "a", json!([]), json!(["1.0.0", "1.0.2"]));
    assert_eq!(
        affected_versions(&[r], &["1.0.0", "1.0.1", "1.0.2", "1.0.20"]),
        ["1.0.0", "1.0.2"]
    );
}

#[test]
fn several_ranges_and_stretches() {
    let r = record(
        "X-5",
        "npm",
        "a",
        json!([
            range(&[("introduced", "1.0.0"), ("fixed", "1.0.2"), ("introduced", "3.0.0"), ("fixed", "3.2.5")]),
            {"type": "SEMVER", "events": [{"introduced": "5.0.0"}, {"fixed": "5.1.0"}]},
            {"type": "GIT", "repo": "https://example.com/a", "events": [{"introduced": "0"}]}
        ]),
        json!([]),
    );
    assert_eq!(
        affected_versions(
            std::slice::from_ref(&r),
            &[
                "0.1.0", "1.0.1", "2.0.0", "3.1.0", "3.2.5", "5.0.1", "6.0.0"
            ]
        ),
        ["1.0.1", "3.1.0", "5.0.1"]
    );
    let f = db_with(&[r]);
    let found = f.db.matches(&[npm("a", "3.1.0")], None).unwrap();
    assert_eq!(found[0].fixed, ["3.2.5"]);
    let found = f.db.matches(&[npm("a", "1.0.0")], None).unwrap();
    // Every fix above it in the range it is in; not the other range's.
    assert_eq!(found[0].fixed, ["1.0.2", "3.2.5"]);
}

#[test]
fn withdrawn_records_match_nothing_and_remove_earlier_copies() {
    let live = record(
        "X-6",
        "npm",
        "a",
        json!([range(&[("introduced", "0")])]),
        json!([]),
    );
    let mut gone = record(
        "X-7",
        "npm",
        "a",
        json!([range(&[("introduced", "0")])]),
        json!([]),
    );
    gone["withdrawn"] = json!("2024-01-01T00:00:00Z");
    let f = db_with(&[live.clone(), gone.clone()]);
    assert_eq!(f.summary.withdrawn, 1);
    assert_eq!(
        ids(&f.db.matches(&[npm("a", "1.0.0")], None).unwrap()),
        [(0, "X-6")]
    );

    // Imported live first, then withdrawn by a later import.
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("db.sqlite");
    let first = dir.path().join("first.json");
    std::fs::write(&first, live.to_string()).unwrap();
    imgscan_advisories::import(&db_path, &[support::source(&first)]).unwrap();
    let second = dir.path().join("second.json");
    let mut withdrawn = live;
    withdrawn["withdrawn"] = json!("2024-01-01T00:00:00Z");
    std::fs::write(&second, withdrawn.to_string()).unwrap();
    imgscan_advisories::import(&db_path, &[support::source(&second)]).unwrap();
    let db = imgscan_advisories::Database::open(&db_path).unwrap();
    assert!(db.matches(&[npm("a", "1.0.0")], None).unwrap().is_empty());
}

#[test]
fn debian_records_merge_through_upstream() {
    let debian_cve = json!({
        "id": "DEBIAN-CVE-2024-6387", "upstream": ["CVE-2024-6387"], "summary": "",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssh"},
            "ranges": [range(&[("introduced", "0"), ("fixed", "1:9.2p1-2+deb12u3")])]}]
    });
    let dsa = json!({
        "id": "DSA-5724-1", "upstream": ["CVE-2024-6387", "DEBIAN-CVE-2024-6387"],
        "summary": "openssh - security update",
        "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssh"},
            "ranges": [range(&[("introduced", "0"), ("fixed", "1:9.2p1-2+deb12u3")])]}]
    });
    // A bundle naming two CVEs folds into each group it meets.
    let bundle = json!({
        "id": "DSA-9999-1", "upstream": ["CVE-2024-6387", "CVE-2024-0001"],
        "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssh"},
            "ranges": [range(&[("introduced", "0"), ("fixed", "1:9.2p1-2+deb12u4")])]}]
    });
    let other = json!({
        "id": "DEBIAN-CVE-2024-0002", "upstream": ["CVE-2024-0002"],
        "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssh"},
            "ranges": [range(&[("introduced", "0")])]}]
    });
    let f = db_with(&[debian_cve, dsa, bundle, other]);
    let client = with_source(
        package(Ecosystem::Deb, "openssh-client", "1:9.2p1-2+deb12u2"),
        "openssh",
        Some("1:9.2p1-2+deb12u2"),
    );
    let found = f.db.matches(&[client], Some(&os("debian", "12"))).unwrap();
    assert_eq!(ids(&found), [(0, "CVE-2024-0002"), (0, "CVE-2024-6387")]);
    let v = &found[1];
    assert_eq!(
        v.aliases,
        ["DEBIAN-CVE-2024-6387", "DSA-5724-1", "DSA-9999-1"]
    );
    assert_eq!(v.fixed, ["1:9.2p1-2+deb12u3"]);
    assert_eq!(v.summary, "openssh - security update");
    assert_eq!(v.severity, Severity::High);
    assert_eq!(v.name, "openssh-client");
    assert!(found[0].fixed.is_empty());
    assert_eq!(found[0].severity, Severity::Unknown);
}

#[test]
fn aliases_merge_and_the_cve_is_primary() {
    let ghsa = json!({"id": "GHSA-aaaa", "aliases": ["CVE-2021-1"],
        "affected": [{"package": {"ecosystem": "npm", "name": "a"}, "ranges": [range(&[("introduced", "0")])]}]});
    let osv = json!({"id": "OSV-2021-1", "aliases": ["GHSA-aaaa"],
        "affected": [{"package": {"ecosystem": "npm", "name": "a"}, "ranges": [range(&[("introduced", "0")])]}]});
    let multi = json!({"id": "GHSA-bbbb", "aliases": ["CVE-2021-2", "CVE-2021-3"], "related": ["CVE-2021-1"],
        "affected": [{"package": {"ecosystem": "npm", "name": "a"}, "ranges": [range(&[("introduced", "0")])]}]});
    let f = db_with(&[ghsa, osv, multi]);
    let found = f.db.matches(&[npm("a", "1.0.0")], None).unwrap();
    assert_eq!(ids(&found), [(0, "CVE-2021-1"), (0, "GHSA-bbbb")]);
    assert_eq!(found[0].aliases, ["GHSA-aaaa", "OSV-2021-1"]);
    assert_eq!(found[1].aliases, ["CVE-2021-2", "CVE-2021-3"]);
}

#[test]
fn malicious_packages_are_critical() {
    let mal = json!({"id": "MAL-2025-1", "aliases": ["GHSA-mmmm"], "summary": "Malicious code in a",
        "database_specific": {"severity": "LOW"},
        "affected": [{"package": {"ecosystem": "npm", "name": "a"}, "versions": ["5.6.1"]}]});
    let ghsa = json!({"id": "GHSA-mmmm", "aliases": ["CVE-2025-9"],
        "affected": [{"package": {"ecosystem": "npm", "name": "a"}, "versions": ["5.6.1"]}]});
    let f = db_with(&[mal, ghsa]);
    let found =
        f.db.matches(&[npm("a", "5.6.1"), npm("a", "5.6.0")], None)
            .unwrap();
    assert_eq!(ids(&found), [(0, "MAL-2025-1")]);
    assert_eq!(found[0].kind, VulnerabilityKind::Malicious);
    assert_eq!(found[0].severity, Severity::Critical);
    assert_eq!(found[0].aliases, ["CVE-2025-9", "GHSA-mmmm"]);
    let json = serde_json::to_value(&found[0]).unwrap();
    assert_eq!(json["kind"], "malicious");
    assert_eq!(json["severity"], "CRITICAL");
    assert!(json.get("package").is_none());
}

#[test]
fn rpm_epochs_red_hat_prefix_and_binary_names() {
    let rhsa = json!({"id": "RHSA-2024:4312", "upstream": ["CVE-2024-6387"],
    "affected": [
        {"package": {"ecosystem": "Red Hat:enterprise_linux:9::appstream", "name": "openssh"},
         "ranges": [range(&[("introduced", "0"), ("fixed", "0:8.7p1-38.el9_4.1")])]},
        {"package": {"ecosystem": "Red Hat:enterprise_linux:9::baseos", "name": "openssh"},
         "ranges": [range(&[("introduced", "0"), ("fixed", "0:8.7p1-38.el9_4.1")])]},
        {"package": {"ecosystem": "Red Hat:enterprise_linux:8::appstream", "name": "openssh"},
         "ranges": [range(&[("introduced", "0"), ("fixed", "0:8.0p1-24.el8")])]}
    ]});
    let alma = record(
        "ALSA-2024:4312",
        "AlmaLinux:9",
        "openssh",
        json!([range(&[
            ("introduced", "0"),
            ("fixed", "8.7p1-38.el9_4.1.alma.1")
        ])]),
        json!([]),
    );
    let f = db_with(&[rhsa, alma]);
    let rhel = os("rhel", "9.4");
    // The binary package, no epoch in the SBOM: epoch 0.
    let old = with_source(
        package(Ecosystem::Rpm, "openssh", "8.7p1-38.el9"),
        "openssh",
        Some("8.7p1-38.el9"),
    );
    let new = package(Ecosystem::Rpm, "openssh", "0:8.7p1-38.el9_4.1");
    let client = package(Ecosystem::Rpm, "openssh-clients", "8.7p1-38.el9");
    let found =
        f.db.matches(&[old.clone(), new.clone(), client], Some(&rhel))
            .unwrap();
    assert_eq!(ids(&found), [(0, "CVE-2024-6387")]);
    assert_eq!(found[0].aliases, ["RHSA-2024:4312"]);
    assert_eq!(found[0].fixed, ["0:8.7p1-38.el9_4.1"]);

    let found =
        f.db.matches(&[old, new], Some(&os("almalinux", "9.4")))
            .unwrap();
    assert_eq!(ids(&found), [(0, "ALSA-2024:4312"), (1, "ALSA-2024:4312")]);
    let found =
        f.db.matches(
            &[package(Ecosystem::Rpm, "openssh", "1:1.0-1")],
            Some(&os("almalinux", "9")),
        )
        .unwrap();
    assert!(found.is_empty(), "epoch 1 is above every epoch-0 fix");
}

#[test]
fn debian_and_alpine_match_source_packages_and_versions() {
    let deb = record(
        "DEBIAN-CVE-1",
        "Debian:12",
        "openssl",
        json!([range(&[("introduced", "0"), ("fixed", "3.0.11-1~deb12u2")])]),
        json!(["3.0.9-1"]),
    );
    let apk = record(
        "ALPINE-CVE-1",
        "Alpine:v3.19",
        "openssh",
        json!([range(&[("introduced", "0"), ("fixed", "9.6_p1-r1")])]),
        json!([]),
    );
    let f = db_with(&[deb, apk]);
    let debian = os("debian", "12.5");
    // A binNMU of the vulnerable source: the binary's +b1 is not the
    // source's version; the versions list holds the source version.
    let binnmu = with_source(
        package(Ecosystem::Deb, "libssl3", "3.0.9-1+b1"),
        "openssl",
        Some("3.0.9-1"),
    );
    let fixed = with_source(
        package(Ecosystem::Deb, "libssl3", "3.0.11-1~deb12u2"),
        "openssl",
        Some("3.0.11-1~deb12u2"),
    );
    let by_binary_name = package(Ecosystem::Deb, "openssl", "3.0.10-1");
    let other_binary = package(Ecosystem::Deb, "libssl3", "3.0.10-1");
    let found =
        f.db.matches(
            &[binnmu, fixed, by_binary_name, other_binary],
            Some(&debian),
        )
        .unwrap();
    assert_eq!(ids(&found), [(0, "DEBIAN-CVE-1"), (2, "DEBIAN-CVE-1")]);
    assert_eq!(found[0].version, "3.0.9-1+b1");
    assert_eq!(found[0].name, "libssl3");

    let alpine = os("alpine", "3.19.1");
    let client = with_source(
        package(Ecosystem::Apk, "openssh-client-default", "9.6_p1-r0"),
        "openssh",
        Some("9.6_p1-r0"),
    );
    let patched = with_source(
        package(Ecosystem::Apk, "openssh-server", "9.6_p1-r1"),
        "openssh",
        Some("9.6_p1-r1"),
    );
    let found =
        f.db.matches(&[client.clone(), patched], Some(&alpine))
            .unwrap();
    assert_eq!(ids(&found), [(0, "ALPINE-CVE-1")]);
    // Another Alpine branch, and no OS at all: nothing.
    assert!(
        f.db.matches(std::slice::from_ref(&client), Some(&os("alpine", "3.18.4")))
            .unwrap()
            .is_empty()
    );
    assert!(
        f.db.matches(&[client], None::<&OsRelease>)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn ubuntu_looks_up_both_ecosystems() {
    let lts = record(
        "UBUNTU-CVE-1",
        "Ubuntu:22.04:LTS",
        "curl",
        json!([range(&[
            ("introduced", "0"),
            ("fixed", "7.81.0-1ubuntu1.15")
        ])]),
        json!([]),
    );
    let plain = record(
        "UBUNTU-CVE-2",
        "Ubuntu:22.04",
        "curl",
        json!([range(&[("introduced", "0")])]),
        json!([]),
    );
    let pro = record(
        "UBUNTU-CVE-3",
        "Ubuntu:Pro:22.04:LTS",
        "curl",
        json!([range(&[("introduced", "0")])]),
        json!([]),
    );
    let f = db_with(&[lts, plain, pro]);
    let curl = package(Ecosystem::Deb, "curl", "7.81.0-1ubuntu1.14");
    let found = f.db.matches(&[curl], Some(&os("ubuntu", "22.04"))).unwrap();
    assert_eq!(ids(&found), [(0, "UBUNTU-CVE-1"), (0, "UBUNTU-CVE-2")]);
}

#[test]
fn severity_from_vectors_labels_or_nothing() {
    let with = |id: &str, extra: serde_json::Value| {
        let mut r = record(
            id,
            "npm",
            id,
            json!([range(&[("introduced", "0")])]),
            json!([]),
        );
        for (k, v) in extra.as_object().unwrap() {
            r[k] = v.clone();
        }
        r
    };
    let v3 = with(
        "v3",
        json!({"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}),
    );
    let v4 = with(
        "v4",
        json!({"severity": [
        {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
        {"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N"}]}),
    );
    let label = with(
        "label",
        json!({"database_specific": {"severity": "MODERATE"}}),
    );
    let none = with("none", json!({}));
    let f = db_with(&[v3, v4, label, none]);
    let packages = ["v3", "v4", "label", "none"].map(|n| npm(n, "1.0.0"));
    let found = f.db.matches(&packages, None).unwrap();
    let got: Vec<(Severity, Option<(String, f64)>)> = found
        .iter()
        .map(|v| {
            (
                v.severity,
                v.cvss.as_ref().map(|c| (c.version.clone(), c.score)),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (Severity::Critical, Some(("3.1".into(), 9.8))),
            (Severity::High, Some(("4.0".into(), 8.7))),
            (Severity::Medium, None),
            (Severity::Unknown, None),
        ]
    );
}

#[test]
fn unparsable_package_versions_match_no_range() {
    let r = record(
        "X-8",
        "npm",
        "a",
        json!([range(&[("introduced", "0")])]),
        json!([]),
    );
    assert!(affected_versions(&[r], &["file:../a", "github:x/a#main"]).is_empty());
}

#[test]
fn results_are_sorted_by_package_then_id() {
    let records = [
        record(
            "B-1",
            "npm",
            "a",
            json!([range(&[("introduced", "0")])]),
            json!([]),
        ),
        record(
            "A-1",
            "npm",
            "a",
            json!([range(&[("introduced", "0")])]),
            json!([]),
        ),
        record(
            "C-1",
            "npm",
            "b",
            json!([range(&[("introduced", "0")])]),
            json!([]),
        ),
    ];
    let f = db_with(&records);
    let found =
        f.db.matches(&[npm("b", "1.0.0"), npm("a", "1.0.0")], None)
            .unwrap();
    assert_eq!(ids(&found), [(0, "C-1"), (1, "A-1"), (1, "B-1")]);
}
