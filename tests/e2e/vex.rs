//! VEX through the binary: OpenVEX and CycloneDX statements suppress what
//! they say is not affected or fixed (by id or alias, for the package or
//! the image by digest), `affected` leaves it, invalid VEX is an error,
//! `imgscan vex` turns the ignore file into OpenVEX that suppresses the
//! same things, and `scan -f cyclonedx-json` carries the vulnerabilities
//! (checked with CycloneDX's own validator).

use crate::sbom::assert_valid_sbom;
use crate::support::{demo_advisory_db, demo_docker_archive, fresh, run, validate};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// `scan -f json` of the demo archive with the demo advisories and `extra`.
fn scan(archive: &Path, extra: &[&str]) -> (i32, Value, String) {
    let db = demo_advisory_db();
    let mut args = vec![
        "scan".to_string(),
        "-f".into(),
        "json".into(),
        "--db".into(),
        db.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(archive.display().to_string());
    let done = run(&args);
    let report = serde_json::from_str(&done.stdout).unwrap_or(Value::Null);
    if !report.is_null() {
        validate(&report);
    }
    (done.code, report, done.stderr)
}

/// The ids of the report's vulnerabilities.
fn ids(report: &Value) -> Vec<String> {
    let mut ids: Vec<String> = report["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

fn write(name: &str, text: &str) -> PathBuf {
    let path = fresh(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn openvex_suppresses_for_the_package_or_the_image_and_keeps_why() {
    let archive = demo_docker_archive("vex-demo.docker.tar");
    let (_, plain, _) = scan(&archive, &[]);
    let before = ids(&plain);
    assert!(before.contains(&"CVE-2024-6387".to_string()), "{before:?}");
    let digest = plain["target"]["digest"].as_str().unwrap();
    let vex = write(
        "demo.openvex.json",
        &format!(
            r#"{{
  "@context": "https://openvex.dev/ns/v0.2.0",
  "@id": "https://example.com/vex/demo-1",
  "author": "Demo Security",
  "timestamp": "2026-11-20T10:00:00Z",
  "version": 1,
  "statements": [
    {{ "vulnerability": {{ "name": "DEBIAN-CVE-2024-6387" }},
       "products": [ {{ "@id": "{digest}", "subcomponents": [ {{ "@id": "pkg:deb/debian/openssh-server" }} ] }} ],
       "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path",
       "impact_statement": "sshd is never started in this image" }},
    {{ "vulnerability": {{ "name": "CVE-2016-2781" }},
       "products": [ {{ "@id": "pkg:deb/debian/coreutils@9.1-1" }} ],
       "status": "affected", "action_statement": "no fix upstream" }},
    {{ "vulnerability": {{ "name": "GHSA-35jh-r3h4-6jhm" }},
       "products": [ {{ "@id": "pkg:npm/lodash" }} ],
       "status": "fixed" }},
    {{ "vulnerability": {{ "name": "CVE-2020-28500" }},
       "products": [ {{ "@id": "sha256:0000000000000000000000000000000000000000000000000000000000000000" }} ],
       "status": "not_affected", "justification": "component_not_present" }}
  ]
}}"#
        ),
    );
    let (code, report, stderr) = scan(&archive, &["--vex", vex.to_str().unwrap()]);
    assert_eq!(code, 1, "the malicious package still fails: {stderr}");
    let after = ids(&report);
    assert!(!after.contains(&"CVE-2024-6387".to_string()), "{after:?}");
    assert!(
        after.contains(&"CVE-2016-2781".to_string()),
        "affected stays"
    );
    assert!(
        after.contains(&"CVE-2020-28500".to_string()),
        "another image's statement does not apply"
    );
    assert_eq!(after.len() + 2, before.len(), "{before:?} -> {after:?}");
    assert_eq!(
        report["summary"]["suppressed"].as_u64().unwrap(),
        plain["summary"]["suppressed"].as_u64().unwrap() + 2
    );
    let applied = report["vex"].as_array().unwrap();
    assert_eq!(applied.len(), 2, "{applied:?}");
    let ssh = applied
        .iter()
        .find(|a| a["purl"].as_str().unwrap().contains("openssh-server"))
        .unwrap();
    assert_eq!(ssh["status"], "not_affected");
    assert_eq!(ssh["justification"], "vulnerable_code_not_in_execute_path");
    assert_eq!(ssh["statement"], "sshd is never started in this image");
    assert!(
        ssh["source"]
            .as_str()
            .unwrap()
            .ends_with("demo.openvex.json")
    );
}

#[test]
fn cyclonedx_vex_suppresses_through_bom_refs() {
    let archive = demo_docker_archive("cdx-vex-demo.docker.tar");
    let vex = write(
        "demo.cdx-vex.json",
        r#"{
  "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
  "components": [ { "type": "library", "bom-ref": "lodash", "name": "lodash", "purl": "pkg:npm/lodash@4.17.20" } ],
  "vulnerabilities": [
    { "id": "GHSA-29mw-wpgm-hmr9", "analysis": { "state": "false_positive", "detail": "no user input reaches trim" },
      "affects": [ { "ref": "lodash" } ] },
    { "id": "CVE-2021-23337", "analysis": { "state": "in_triage" }, "affects": [ { "ref": "lodash" } ] }
  ]
}"#,
    );
    let (_, report, stderr) = scan(&archive, &["--vex", vex.to_str().unwrap()]);
    let found = ids(&report);
    assert!(
        !found.contains(&"CVE-2020-28500".to_string()),
        "{found:?} {stderr}"
    );
    assert!(
        found.contains(&"CVE-2021-23337".to_string()),
        "in_triage stays"
    );
    assert_eq!(report["vex"][0]["statement"], "no user input reaches trim");
}

#[test]
fn invalid_vex_is_a_clear_error() {
    let archive = demo_docker_archive("bad-vex-demo.docker.tar");
    for (name, text, expected) in [
        ("not-json.vex", "{", "not JSON"),
        ("plain.json", r#"{"statements": []}"#, "neither OpenVEX"),
        (
            "no-why.json",
            r#"{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-1"},"products":["pkg:npm/a"],"status":"not_affected"}]}"#,
            "needs a `justification`",
        ),
    ] {
        let vex = write(name, text);
        let (code, _, stderr) = scan(&archive, &["--vex", vex.to_str().unwrap()]);
        assert_eq!(code, 2, "{name}: {stderr}");
        assert!(
            stderr.contains(name) && stderr.contains(expected),
            "{stderr}"
        );
    }
    let (code, _, stderr) = scan(&archive, &["--vex", "/nonexistent/vex.json"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("/nonexistent/vex.json"), "{stderr}");
}

#[test]
fn the_ignore_file_travels_as_openvex() {
    let archive = demo_docker_archive("vex-out-demo.docker.tar");
    let ignore = write(
        "team.imgscanignore.toml",
        r#"
[[ignore]]
id = "DEBIAN-CVE-2024-6387"
reason = "sshd is never started in this image"
expires = 2099-01-01

[[ignore]]
id = "GHSA-35jh-r3h4-6jhm"
package = "pkg:npm/lodash@4.17.20"
reason = "template() is never called"
expires = 2099-01-01

[[ignore]]
id = "ssh.permit-root-login"
reason = "a finding, not a vulnerability"
expires = 2099-01-01
"#,
    );
    let (_, ignored, _) = scan(&archive, &["--ignore-file", ignore.to_str().unwrap()]);
    let digest = ignored["target"]["digest"].as_str().unwrap().to_string();
    let vex = fresh("team.openvex.json");
    let written = run(&[
        "vex",
        "--ignore-file",
        ignore.to_str().unwrap(),
        "--product",
        digest.as_str(),
        "--author",
        "Platform Team",
        "-o",
        vex.to_str().unwrap(),
    ]);
    assert_eq!(written.code, 0, "{}", written.stderr);
    assert!(
        written.stderr.contains("ssh.permit-root-login"),
        "what was left out is said: {}",
        written.stderr
    );
    let document: Value = serde_json::from_slice(&std::fs::read(&vex).unwrap()).unwrap();
    assert_eq!(document["@context"], "https://openvex.dev/ns/v0.2.0");
    assert_eq!(document["author"], "Platform Team");
    assert_eq!(document["statements"].as_array().unwrap().len(), 2);

    // Applied as VEX instead of as an ignore file, the same vulnerabilities go.
    let empty_ignore = write("empty.imgscanignore.toml", "");
    let (_, vexed, _) = scan(
        &archive,
        &[
            "--ignore-file",
            empty_ignore.to_str().unwrap(),
            "--vex",
            vex.to_str().unwrap(),
        ],
    );
    assert_eq!(ids(&vexed), ids(&ignored));
    assert_eq!(vexed["vex"].as_array().unwrap().len(), 2);

    let unplaced = run(&["vex", "--ignore-file", ignore.to_str().unwrap()]);
    assert_eq!(unplaced.code, 2);
    assert!(unplaced.stderr.contains("--product"), "{}", unplaced.stderr);
}

#[test]
fn cyclonedx_output_of_a_scan_carries_its_vulnerabilities() {
    let archive = demo_docker_archive("cdx-scan-demo.docker.tar");
    let db = demo_advisory_db();
    let bom = fresh("demo-scan.cdx.json");
    let done = run(&[
        "scan",
        "--db",
        db.to_str().unwrap(),
        "-f",
        "cyclonedx-json",
        "-o",
        bom.to_str().unwrap(),
        archive.to_str().unwrap(),
    ]);
    assert_eq!(done.code, 1, "the gate still applies: {}", done.stderr);
    assert_valid_sbom("cyclonedx", &bom);
    let document: Value = serde_json::from_slice(&std::fs::read(&bom).unwrap()).unwrap();
    let refs: Vec<&str> = document["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    let vulnerabilities = document["vulnerabilities"].as_array().unwrap();
    assert_eq!(vulnerabilities.len(), 5);
    for v in vulnerabilities {
        let affects = v["affects"].as_array().unwrap();
        assert!(!affects.is_empty(), "{v}");
        for a in affects {
            assert!(refs.contains(&a["ref"].as_str().unwrap()), "{a} dangles");
        }
    }
    let ssh = vulnerabilities
        .iter()
        .find(|v| v["id"].as_str().unwrap().contains("2024-6387"))
        .unwrap();
    assert_eq!(ssh["ratings"][0]["severity"], "high");
    assert_eq!(ssh["ratings"][0]["method"], "CVSSv31");
    assert!(
        ssh["recommendation"]
            .as_str()
            .unwrap()
            .contains("1:9.2p1-2+deb12u3")
    );
}
