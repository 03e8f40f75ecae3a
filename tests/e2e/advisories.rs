//! The advisory database end to end: `db import`, `db update` from a real
//! HTTP server on 127.0.0.1 (conditional requests, a body cut short, 429,
//! a failing mirror, a hostile zip), `db status`, and `scan` reporting
//! vulnerable and malicious packages with the gate, the ignore file and
//! the `--only-fixed` / `--severity` filters.

use crate::http_server::{Reply, Server};
use crate::support::*;
use imgscan_fixtures::*;
use serde_json::Value;
use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};

/// openssh in Debian 12, as the security tracker's DEBIAN-CVE record and
/// the DSA both describe it (linked through `upstream`, not `aliases`).
const DEBIAN_CVE: &str = r#"{"id":"DEBIAN-CVE-2024-6387","modified":"2024-07-01T00:00:00Z",
 "upstream":["CVE-2024-6387"],"summary":"regreSSHion: a signal handler race in sshd",
 "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
 "affected":[{"package":{"ecosystem":"Debian:12","name":"openssh"},
   "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1:9.2p1-2+deb12u3"}]}]}]}"#;
const DSA: &str = r#"{"id":"DSA-5724-1","modified":"2024-07-01T00:00:00Z",
 "upstream":["CVE-2024-6387"],"summary":"openssh security update",
 "affected":[{"package":{"ecosystem":"Debian:12","name":"openssh"},
   "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1:9.2p1-2+deb12u3"}]}]}]}"#;
const LODASH: &str = r#"{"id":"GHSA-35jh-r3h4-6jhm","modified":"2024-01-01T00:00:00Z",
 "aliases":["CVE-2021-23337"],"summary":"Command Injection in lodash",
 "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H"}],
 "affected":[{"package":{"ecosystem":"npm","name":"lodash"},
   "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"4.17.21"}]}]}]}"#;
const LODASH_NO_FIX: &str = r#"{"id":"GHSA-xxxx-nofx-0001","modified":"2024-01-01T00:00:00Z",
 "summary":"A low one nobody fixed","database_specific":{"severity":"LOW"},
 "affected":[{"package":{"ecosystem":"npm","name":"lodash"},
   "ranges":[{"type":"SEMVER","events":[{"introduced":"4.0.0"}]}]}]}"#;
const MALICIOUS: &str = r#"{"id":"MAL-2025-0001","modified":"2025-01-01T00:00:00Z",
 "summary":"Malicious code in evil-pkg (npm)",
 "affected":[{"package":{"ecosystem":"npm","name":"evil-pkg"},"versions":["1.0.0"]}]}"#;
const FIXED_ELSEWHERE: &str = r#"{"id":"GHSA-yyyy-done-0002","modified":"2024-01-01T00:00:00Z",
 "summary":"Fixed before the installed version","database_specific":{"severity":"CRITICAL"},
 "affected":[{"package":{"ecosystem":"npm","name":"lodash"},
   "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"4.17.11"}]}]}]}"#;

const RECORDS: &[(&str, &str)] = &[
    ("DEBIAN-CVE-2024-6387.json", DEBIAN_CVE),
    ("DSA-5724-1.json", DSA),
    ("GHSA-35jh-r3h4-6jhm.json", LODASH),
    ("GHSA-xxxx-nofx-0001.json", LODASH_NO_FIX),
    ("MAL-2025-0001.json", MALICIOUS),
    ("GHSA-yyyy-done-0002.json", FIXED_ELSEWHERE),
];

/// A zip laid out like osv.dev's `all.zip`: one `ID.json` per record.
fn osv_zip(records: &[(&str, &str)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, text) in records {
        zip.start_file(*name, options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// A directory of record files.
fn records_dir(records: &[(&str, &str)]) -> PathBuf {
    let dir = fresh("records");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in records {
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir
}

/// Debian 12 with a vulnerable openssh-server (layer 0) and an app whose
/// lockfile pins a vulnerable lodash and a malicious package (layer 1).
fn vulnerable_image() -> PathBuf {
    let mut base = LayerTar::new();
    base.file("etc/os-release", "ID=debian\nVERSION_ID=12\n");
    base.file(
        "var/lib/dpkg/status",
        "Package: openssh-server\nStatus: install ok installed\nArchitecture: amd64\n\
         Source: openssh\nVersion: 1:9.2p1-2+deb12u2\n\n\
         Package: libc6\nStatus: install ok installed\nArchitecture: amd64\n\
         Source: glibc\nVersion: 2.36-9+deb12u7\n\n",
    );
    let mut app = LayerTar::new();
    app.file(
        "app/package-lock.json",
        r#"{"name":"app","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{
            "":{"name":"app","version":"1.0.0","dependencies":{"lodash":"^4.17.20","evil-pkg":"1.0.0"}},
            "node_modules/lodash":{"version":"4.17.20"},
            "node_modules/evil-pkg":{"version":"1.0.0"}}}"#,
    );
    oci_dir(
        &Image::new(vec![base.finish(), app.finish()]),
        LayerCompression::Gzip,
    )
}

fn db_args<'a>(db: &'a Path, args: &[&'a str]) -> Vec<&'a OsStr> {
    let mut all: Vec<&OsStr> = args.iter().map(|a| OsStr::new(*a)).collect();
    all.push(OsStr::new("--db"));
    all.push(db.as_os_str());
    all
}

fn import(db: &Path, paths: &[&Path]) -> Run {
    let mut args = db_args(db, &["db", "import"]);
    args.extend(paths.iter().map(|p| p.as_os_str()));
    run(&args)
}

fn status(db: &Path) -> Value {
    let done = run(&db_args(db, &["db", "status", "-f", "json"]));
    assert_eq!(done.code, 0, "{}", done.stderr);
    serde_json::from_str(&done.stdout).unwrap()
}

fn scan_json(target: &Path, db: &Path, extra: &[&str]) -> (Value, Run) {
    let mut args = vec![OsStr::new("--db"), db.as_os_str()];
    args.extend(extra.iter().map(OsStr::new));
    let (report, done) = scan_with(target, &args);
    assert!(done.code == 0 || done.code == 1, "{}", done.stderr);
    (report, done)
}

/// `(id, name, version)` of every vulnerability entry.
fn ids(report: &Value) -> Vec<(String, String, String)> {
    report["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["id"].as_str().unwrap().to_string(),
                v["name"].as_str().unwrap().to_string(),
                v["version"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn entry<'a>(report: &'a Value, name: &str, id_or_alias: &str) -> &'a Value {
    report["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| {
            v["name"] == name
                && (v["id"] == id_or_alias
                    || v["aliases"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|a| a == id_or_alias))
        })
        .unwrap_or_else(|| {
            panic!(
                "no {id_or_alias} for {name} in {:#}",
                report["vulnerabilities"]
            )
        })
}

#[test]
fn scan_reports_vulnerable_and_malicious_packages() {
    let db = fresh("advisories.sqlite");
    let imported = import(&db, &[&records_dir(RECORDS)]);
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    let image = vulnerable_image();
    let (report, done) = scan_json(&image, &db, &[]);
    assert_eq!(
        done.code, 1,
        "a malicious package fails the gate by default"
    );
    assert!(
        !report["summary"]["not_checked"]
            .as_array()
            .unwrap()
            .contains(&"vulnerabilities".into())
    );

    // The DSA and the DEBIAN-CVE record are one entry, matched on the
    // source package `openssh` and reported for the binary package.
    let openssh: Vec<&Value> = report["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["name"] == "openssh-server")
        .collect();
    assert_eq!(openssh.len(), 1, "{openssh:#?}");
    let mut linked: Vec<&str> = std::iter::once(&openssh[0]["id"])
        .chain(openssh[0]["aliases"].as_array().unwrap())
        .map(|v| v.as_str().unwrap())
        .collect();
    linked.sort();
    assert!(
        linked.contains(&"DSA-5724-1") && linked.contains(&"DEBIAN-CVE-2024-6387"),
        "{linked:?}"
    );
    assert_eq!(openssh[0]["fixed"][0], "1:9.2p1-2+deb12u3");
    assert_eq!(openssh[0]["layer"], 0);
    assert_eq!(openssh[0]["severity"], "HIGH");

    // The CVE is the primary id; the GHSA that names it is an alias.
    let lodash = entry(&report, "lodash", "GHSA-35jh-r3h4-6jhm");
    assert_eq!(lodash["id"], "CVE-2021-23337");
    assert_eq!(lodash["kind"], "vulnerability");
    assert_eq!(lodash["fixed"], serde_json::json!(["4.17.21"]));
    assert_eq!(lodash["severity"], "HIGH");
    assert_eq!(lodash["cvss"]["score"], 7.2);
    assert_eq!(lodash["layer"], 1);
    assert_eq!(
        lodash["locations"],
        serde_json::json!(["/app/package-lock.json"])
    );
    assert!(
        lodash["aliases"]
            .as_array()
            .unwrap()
            .contains(&"GHSA-35jh-r3h4-6jhm".into())
    );
    assert_eq!(lodash["purl"], "pkg:npm/lodash@4.17.20");

    let malicious = entry(&report, "evil-pkg", "MAL-2025-0001");
    assert_eq!(malicious["kind"], "malicious");
    assert_eq!(malicious["severity"], "CRITICAL");

    let no_fix = entry(&report, "lodash", "GHSA-xxxx-nofx-0001");
    assert_eq!(no_fix["fixed"], serde_json::json!([]));
    assert_eq!(no_fix["severity"], "LOW");
    assert!(
        !ids(&report)
            .iter()
            .any(|(id, ..)| id == "GHSA-yyyy-done-0002"),
        "a version past the fix is not vulnerable"
    );
    assert!(!ids(&report).iter().any(|(_, name, _)| name == "libc6"));
    assert_eq!(
        report["summary"]["counts"]["vulnerabilities"]["CRITICAL"],
        1
    );

    // The filters.
    let (only_fixed, _) = scan_json(&image, &db, &["--only-fixed"]);
    assert!(
        !ids(&only_fixed)
            .iter()
            .any(|(id, ..)| id == "GHSA-xxxx-nofx-0001")
    );
    assert!(
        ids(&only_fixed)
            .iter()
            .any(|(id, ..)| id == "MAL-2025-0001")
    );
    let (critical, _) = scan_json(&image, &db, &["--severity", "CRITICAL"]);
    assert_eq!(ids(&critical).len(), 1);
    let (some, _) = scan_json(&image, &db, &["--severity", "HIGH,LOW"]);
    assert_eq!(ids(&some).len(), 3, "{:?}", ids(&some));

    // The table names them.
    let table = run(&db_args(&db, &["scan", image.to_str().unwrap()]));
    assert!(
        table.stdout.contains("Vulnerabilities (4)"),
        "{}",
        table.stdout
    );
    assert!(table.stdout.contains("no fix") && table.stdout.contains("MAL-2025-0001"));
}

#[test]
fn the_gate_and_the_ignore_file_apply_to_vulnerabilities() {
    let db = fresh("advisories.sqlite");
    assert_eq!(import(&db, &[&records_dir(RECORDS)]).code, 0);
    let image = vulnerable_image();
    let ignore = fresh("ignore.toml");
    std::fs::write(
        &ignore,
        "[[ignore]]\nid = \"MAL-2025-0001\"\nreason = \"a test package, never shipped\"\nexpires = 2999-01-01\n\
         [[ignore]]\nid = \"GHSA-35jh-r3h4-6jhm\"\npackage = \"pkg:npm/lodash@4.17.20\"\nreason = \"the template API is not used\"\nexpires = 2999-01-01\n",
    )
    .unwrap();
    let ignore_flag = ["--ignore-file", ignore.to_str().unwrap()];
    let (report, done) = scan_json(&image, &db, &ignore_flag);
    assert_eq!(
        done.code, 0,
        "nothing fails without --fail-on once MAL is ignored"
    );
    assert_eq!(report["summary"]["suppressed"], 2);
    let remaining = ids(&report);
    assert!(!remaining.iter().any(|(id, ..)| id == "MAL-2025-0001"));
    assert!(
        !remaining.iter().any(|(id, ..)| id == "CVE-2021-23337"),
        "ignored through its alias"
    );
    let mut gate = ignore_flag.to_vec();
    gate.extend(["--fail-on", "HIGH"]);
    let (_, done) = scan_json(&image, &db, &gate);
    assert_eq!(done.code, 1, "openssh is HIGH: {}", done.stderr);
    let mut gate = ignore_flag.to_vec();
    gate.extend(["--fail-on", "CRITICAL"]);
    let (_, done) = scan_json(&image, &db, &gate);
    assert_eq!(done.code, 0, "{}", done.stderr);
}

#[test]
fn without_a_database_vulnerabilities_are_not_checked_and_say_so() {
    let image = vulnerable_image();
    let db = fresh("absent.sqlite");
    let (report, done) = scan_json(&image, &db, &[]);
    assert_eq!(done.code, 0);
    assert!(report.get("vulnerabilities").is_none());
    assert!(
        report["summary"]["not_checked"]
            .as_array()
            .unwrap()
            .contains(&"vulnerabilities".into())
    );
    assert!(
        done.stderr.contains("not checked") && done.stderr.contains("imgscan db update"),
        "{}",
        done.stderr
    );
    let gated = run(&db_args(
        &db,
        &["scan", "--fail-on", "HIGH", image.to_str().unwrap()],
    ));
    assert_eq!(gated.code, 2, "a gate cannot pass blind: {}", gated.stderr);
}

#[test]
fn import_skips_bad_records_and_status_counts_them() {
    let db = fresh("advisories.sqlite");
    let mut records = RECORDS.to_vec();
    records.push(("broken.json", "{\"id\": \"GHSA-broken\", "));
    let zip = fresh("all.zip");
    std::fs::write(&zip, osv_zip(&records)).unwrap();
    let imported = import(&db, &[&zip]);
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    assert!(
        imported.stderr.contains("broken.json"),
        "{}",
        imported.stderr
    );
    let status = status(&db);
    let total: u64 = status["ecosystems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["records"].as_u64().unwrap())
        .sum();
    assert_eq!(total, RECORDS.len() as u64);
    let skipped: u64 = status["ecosystems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["skipped"].as_u64().unwrap())
        .sum();
    assert_eq!(skipped, 1);
}

#[test]
fn db_update_fetches_revalidates_and_retries() {
    let server = Server::start();
    let npm: Vec<(&str, &str)> = RECORDS
        .iter()
        .copied()
        .filter(|(_, text)| text.contains("\"npm\""))
        .collect();
    let debian: Vec<(&str, &str)> = RECORDS
        .iter()
        .copied()
        .filter(|(_, text)| text.contains("Debian:12"))
        .collect();
    let npm_zip = osv_zip(&npm);
    // npm: the body breaks off, then 429, then it arrives.
    server.script(
        "/npm/all.zip",
        vec![
            Reply::CutShort {
                body: npm_zip.clone(),
                sent: npm_zip.len() / 2,
            },
            Reply::Status(429),
            Reply::Body {
                body: npm_zip,
                etag: "\"npm-1\"".into(),
            },
        ],
    );
    server.script(
        "/Debian/all.zip",
        vec![Reply::Body {
            body: osv_zip(&debian),
            etag: "\"debian-1\"".into(),
        }],
    );
    let db = fresh("advisories.sqlite");
    let update = |extra: &[&str]| {
        let mut args = db_args(
            &db,
            &[
                "db",
                "update",
                "--source",
                &server.base,
                "--ecosystem",
                "npm",
                "--ecosystem",
                "Debian",
            ],
        );
        args.extend(extra.iter().map(OsStr::new));
        run_with(&args, |cmd| {
            cmd.env("IMGSCAN_DB_BACKOFF_MS", "10");
        })
    };
    let first = update(&[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(server.seen("/npm/all.zip").len(), 3, "{}", first.stderr);
    assert!(first.stderr.contains("retrying"), "{}", first.stderr);
    let built = status(&db);
    let sources: Vec<String> = built["ecosystems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{} {} {}", e["ecosystem"], e["records"], e["source"]))
        .collect();
    assert!(
        sources
            .iter()
            .any(|s| s.starts_with("\"npm\" 4 ")
                && s.contains(&format!("{}/npm/all.zip", server.base))),
        "{sources:?}"
    );
    assert!(
        sources
            .iter()
            .any(|s| s.starts_with("\"Debian\" 2 ") && s.contains("/Debian/all.zip")),
        "{sources:?}"
    );

    // Nothing changed: conditional requests, no rebuild.
    let second = update(&[]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let npm_seen = server.seen("/npm/all.zip");
    assert_eq!(
        npm_seen.last().unwrap().if_none_match.as_deref(),
        Some("\"npm-1\"")
    );
    assert!(second.stderr.contains("up to date"), "{}", second.stderr);
    assert_eq!(status(&db)["built_at"], built["built_at"]);

    // A mirror that keeps failing, and one that serves a hostile zip: the
    // update fails and the previous database stays whole.
    server.script("/npm/all.zip", vec![Reply::Status(500)]);
    let failed = update(&[]);
    assert_eq!(failed.code, 2);
    assert!(
        failed.stderr.contains("/npm/all.zip") && failed.stderr.contains("500"),
        "{}",
        failed.stderr
    );
    let hostile = osv_zip(&[("../../escape.json", LODASH)]);
    server.script(
        "/npm/all.zip",
        vec![Reply::Body {
            body: hostile,
            etag: "\"npm-2\"".into(),
        }],
    );
    let refused = update(&[]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("escape.json"), "{}", refused.stderr);
    assert_eq!(status(&db), built);
    let (report, _) = scan_json(&vulnerable_image(), &db, &[]);
    assert!(ids(&report).iter().any(|(id, ..)| id == "MAL-2025-0001"));
}

#[test]
fn the_bundled_demo_set_finds_what_its_readme_says() {
    let db = demo_advisory_db();
    let archive = demo_docker_archive("demo.docker.tar");
    let (report, done) = scan_json(&archive, &db, &[]);
    assert_eq!(done.code, 1, "the malicious debug fails the gate");
    let mut found = ids(&report);
    found.sort();
    let row = |id: &str, name: &str, version: &str| (id.into(), name.into(), version.into());
    assert_eq!(
        found,
        [
            row("CVE-2016-2781", "coreutils", "9.1-1"),
            row("CVE-2020-28500", "lodash", "4.17.20"),
            row("CVE-2021-23337", "lodash", "4.17.20"),
            row("CVE-2024-6387", "openssh-server", "1:9.2p1-2+deb12u2"),
            row("MAL-2025-46974", "debug", "4.4.2"),
        ],
        "fixtures/advisories/README.md: libssl3 is past the CVE-2023-5363 fix, lodash past CVE-2020-8203's"
    );
    let regresshion = entry(&report, "openssh-server", "DEBIAN-CVE-2024-6387");
    assert_eq!(regresshion["fixed"][0], "1:9.2p1-2+deb12u3");
    assert_eq!(regresshion["severity"], "HIGH");
    assert_eq!(regresshion["layer"], 0);
    assert_eq!(
        entry(&report, "coreutils", "CVE-2016-2781")["fixed"],
        serde_json::json!([])
    );
    let debug = entry(&report, "debug", "MAL-2025-46974");
    assert_eq!(
        (&debug["kind"], &debug["severity"]),
        (&"malicious".into(), &"CRITICAL".into())
    );
    assert_eq!(debug["layer"], 1);

    let table = run(&db_args(&db, &["scan", archive.to_str().unwrap()]));
    assert_eq!(table.code, 1, "{}", table.stderr);
    assert!(
        table.stdout.contains("Vulnerabilities (5)")
            && table.stdout.contains("regreSSHion")
            && table.stdout.contains("remove it"),
        "{}",
        table.stdout
    );
}

/// requests' Proxy-Authorization leak, as GitHub's advisory database
/// publishes it in OSV (PyPI ecosystem, ECOSYSTEM range in PEP 440 order).
const REQUESTS: &str = r#"{"schema_version":"1.4.0","id":"GHSA-j8r2-6x86-q33q",
 "modified":"2023-11-08T04:12:18Z","published":"2023-05-22T20:36:32Z",
 "aliases":["CVE-2023-32681"],
 "summary":"Unintended leak of Proxy-Authorization header in requests",
 "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:H/PR:H/UI:R/S:C/C:H/I:N/A:N"}],
 "affected":[{"package":{"ecosystem":"PyPI","name":"requests","purl":"pkg:pypi/requests"},
   "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"2.3.0"},{"fixed":"2.31.0"}]}]}]}"#;

/// Core metadata of a distribution, as a wheel installs it.
fn metadata(name: &str, version: &str) -> String {
    format!(
        "Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\
         Summary: Python HTTP for Humans.\nLicense: Apache 2.0\n\
         Requires-Python: >=3.7\n\n# Requests\n\nName: not-a-header\n"
    )
}

/// Debian 12 whose `python3-requests` (dpkg) installed the requests
/// dist-info into `dist-packages` (layer 0), and a virtualenv with a
/// pip-installed requests 2.30.0 (layer 1).
fn python_image() -> PathBuf {
    let debian_copy = "usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA";
    let mut base = LayerTar::new();
    base.file("etc/os-release", "ID=debian\nVERSION_ID=12\n");
    base.file(
        "var/lib/dpkg/status",
        "Package: python3-requests\nStatus: install ok installed\nArchitecture: all\n\
         Source: requests\nVersion: 2.28.1+dfsg-1\n\n",
    );
    base.file(
        "var/lib/dpkg/info/python3-requests.list",
        format!(
            "/.\n/usr\n/usr/lib\n/usr/lib/python3\n/usr/lib/python3/dist-packages\n\
             /usr/lib/python3/dist-packages/requests-2.28.1.dist-info\n/{debian_copy}\n"
        ),
    );
    base.file(debian_copy, metadata("requests", "2.28.1"));
    let mut venv = LayerTar::new();
    venv.file(
        "opt/venv/lib/python3.11/site-packages/requests-2.30.0.dist-info/METADATA",
        metadata("requests", "2.30.0"),
    );
    oci_dir(
        &Image::new(vec![base.finish(), venv.finish()]),
        LayerCompression::Gzip,
    )
}

#[test]
fn pypi_distributions_are_matched_unless_an_os_package_owns_them() {
    let db = fresh("advisories.sqlite");
    let imported = import(
        &db,
        &[&records_dir(&[("GHSA-j8r2-6x86-q33q.json", REQUESTS)])],
    );
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    let image = python_image();
    let (report, _) = scan_json(&image, &db, &[]);

    let pypi: Vec<&Value> = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["ecosystem"] == "pypi")
        .collect();
    assert_eq!(pypi.len(), 2, "{pypi:#?}");
    let venv = pypi.iter().find(|p| p["version"] == "2.30.0").unwrap();
    assert_eq!(venv["purl"], "pkg:pypi/requests@2.30.0");
    assert_eq!(venv["layer"], 1);
    assert_eq!(venv["licenses"], serde_json::json!(["Apache 2.0"]));
    assert!(venv.get("owned_by").is_none(), "{venv:#}");
    let debian = pypi.iter().find(|p| p["version"] == "2.28.1").unwrap();
    assert_eq!(
        debian["location"],
        "/usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA"
    );
    assert!(
        debian["owned_by"]
            .as_str()
            .unwrap()
            .starts_with("pkg:deb/debian/python3-requests@2.28.1%2Bdfsg-1"),
        "{debian:#}"
    );

    let found = entry(&report, "requests", "GHSA-j8r2-6x86-q33q");
    assert_eq!(found["id"], "CVE-2023-32681");
    assert_eq!(found["version"], "2.30.0");
    assert_eq!(found["purl"], "pkg:pypi/requests@2.30.0");
    assert_eq!(found["fixed"], serde_json::json!(["2.31.0"]));
    assert_eq!(found["severity"], "MEDIUM");
    assert_eq!(found["layer"], 1);
    assert_eq!(
        found["locations"],
        serde_json::json!([
            "/opt/venv/lib/python3.11/site-packages/requests-2.30.0.dist-info/METADATA"
        ])
    );
    // The dpkg-owned copy (2.28.1, inside the advisory's range) is not
    // matched as a pip install.
    let vulns = report["vulnerabilities"].as_array().unwrap();
    assert_eq!(vulns.len(), 1, "{vulns:#?}");
    assert!(
        !vulns
            .iter()
            .any(|v| v["version"] == "2.28.1"
                || v["locations"].to_string().contains("dist-packages"))
    );

    // The SBOM formats still validate with PyPI packages in them.
    for (format, kind) in [("cyclonedx-json", "cyclonedx"), ("spdx-json", "spdx")] {
        let file = crate::sbom::sbom_file(format, &image);
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains("pkg:pypi/requests@2.30.0"), "{format}");
        crate::sbom::assert_valid_sbom(kind, &file);
    }
}
