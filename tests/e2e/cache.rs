//! The layer-result cache through the binary: hits and misses in
//! `summary.cache`, the same report from the cache as from the layers,
//! invalidation by rules and limits, a rebuilt top layer read alone, a
//! corrupted entry ignored and rewritten, a tampered blob never served from
//! the cache, four concurrent scans sharing one cache dir agreeing exactly,
//! and `imgscan cache status|prune|clear`.

use crate::support::*;
use imgscan_fixtures::*;
use serde_json::Value;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

fn bottom() -> Vec<u8> {
    let mut layer = LayerTar::new();
    layer.file("etc/os-release", "ID=debian\nVERSION_ID=12\n");
    layer.file(
        "var/lib/dpkg/status",
        "Package: coreutils\nStatus: install ok installed\nArchitecture: amd64\nVersion: 9.1-1\n\n",
    );
    layer.file("etc/ssh/sshd_config", "PermitRootLogin yes\n");
    layer.file(
        "opt/.cache/pool.conf",
        "pool=stratum+tcp://pool.example.net:3333\n",
    );
    layer.finish()
}

fn top(version: &str) -> Vec<u8> {
    let mut layer = LayerTar::new();
    layer.file(
        "app/package-lock.json",
        format!(
            r#"{{"name":"app","version":"1.0.0","lockfileVersion":3,"packages":{{"":{{"name":"app"}},"node_modules/lodash":{{"version":"{version}"}}}}}}"#
        ),
    );
    layer.finish()
}

fn image(version: &str) -> PathBuf {
    oci_dir(
        &Image::new(vec![bottom(), top(version)]),
        LayerCompression::Gzip,
    )
}

/// `scan -f json --cache-dir CACHE TARGET [extra]` with an empty advisory
/// database; the report (validated) and the exit code.
fn scan(cache: &Path, target: &Path, extra: &[&str]) -> (i32, Value) {
    let db = empty_db();
    let mut args: Vec<&OsStr> = vec![
        "-q".as_ref(),
        "--db".as_ref(),
        db.as_os_str(),
        "--cache-dir".as_ref(),
        cache.as_os_str(),
    ];
    args.extend(extra.iter().map(OsStr::new));
    let (report, done) = scan_with(target, &args);
    (done.code, report)
}

fn empty_db() -> &'static Path {
    static DB: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DB.get_or_init(empty_advisory_db)
}

fn cache_counts(report: &Value) -> (u64, u64) {
    let cache = &report["summary"]["cache"];
    (
        cache["hits"].as_u64().unwrap(),
        cache["misses"].as_u64().unwrap(),
    )
}

/// The report without what legitimately differs between runs.
fn comparable(report: &Value) -> Value {
    let mut report = report.clone();
    let summary = report["summary"].as_object_mut().unwrap();
    summary.remove("duration_ms");
    summary.remove("cache");
    report
}

fn entries(cache: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for fan in std::fs::read_dir(cache.join("layers")).unwrap().flatten() {
        for file in std::fs::read_dir(fan.path()).unwrap().flatten() {
            let seen = file.file_name().to_string_lossy().starts_with("seen");
            if !seen && file.path().extension().is_some_and(|e| e == "entry") {
                found.push(file.path());
            }
        }
    }
    found.sort();
    found
}

#[test]
fn a_rescan_comes_from_the_cache_and_says_so() {
    let cache = fresh("cache");
    let target = image("4.17.20");
    let (code, cold) = scan(&cache, &target, &[]);
    assert_eq!(code, 1, "the stratum config fails the gate");
    assert_eq!(cache_counts(&cold), (0, 2));
    assert_eq!(cold["malware"][0]["rule"], "stratum_protocol");
    assert!(!cold["findings"].as_array().unwrap().is_empty());
    assert_eq!(entries(&cache).len(), 2);
    let (code, warm) = scan(&cache, &target, &[]);
    assert_eq!(code, 1);
    assert_eq!(cache_counts(&warm), (2, 0));
    assert_eq!(comparable(&warm), comparable(&cold), "the same report");
    // A rebuild that changed only the top layer reads only that one.
    let rebuilt = image("4.17.21");
    let (_, report) = scan(&cache, &rebuilt, &[]);
    assert_eq!(cache_counts(&report), (1, 1));
    let (_, fresh_report) = scan(&fresh("other-cache"), &rebuilt, &[]);
    assert_eq!(comparable(&report), comparable(&fresh_report));
    // --no-cache neither reads nor says.
    let (_, uncached) = scan(&cache, &target, &["--no-cache"]);
    assert!(uncached["summary"].get("cache").is_none());
    assert_eq!(comparable(&uncached), comparable(&cold));
}

#[test]
fn rules_and_limits_are_part_of_the_key() {
    let cache = fresh("cache");
    let target = image("4.17.20");
    scan(&cache, &target, &[]);
    let rules = fresh("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(
        rules.join("corp.yar"),
        "rule corp_lockfile { meta: severity = \"LOW\" strings: $a = \"lodash\" condition: $a }\n",
    )
    .unwrap();
    let with_rules = ["--rules", rules.to_str().unwrap()];
    let (_, report) = scan(&cache, &target, &with_rules);
    assert_eq!(cache_counts(&report), (0, 2), "other rules, other results");
    assert!(
        report["malware"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["rule"] == "corp_lockfile"),
        "the new rule ran: {report:#}"
    );
    let (_, report) = scan(&cache, &target, &with_rules);
    assert_eq!(cache_counts(&report), (2, 0));
    // Changing a rule's text is another rule set.
    std::fs::write(
        rules.join("corp.yar"),
        "rule corp_lockfile { meta: severity = \"LOW\" strings: $a = \"no such text\" condition: $a }\n",
    )
    .unwrap();
    let (_, report) = scan(&cache, &target, &with_rules);
    assert_eq!(cache_counts(&report), (0, 2));
    let (_, report) = scan(&cache, &target, &["--max-file-size", "1MiB"]);
    assert_eq!(cache_counts(&report), (0, 2), "other limits, other results");
}

#[test]
fn a_corrupted_entry_is_ignored_and_rewritten() {
    let cache = fresh("cache");
    let target = image("4.17.20");
    let (_, cold) = scan(&cache, &target, &[]);
    let files = entries(&cache);
    assert_eq!(files.len(), 2);
    // One entry with a flipped byte, the other cut short.
    let mut bytes = std::fs::read(&files[0]).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&files[0], &bytes).unwrap();
    let bytes = std::fs::read(&files[1]).unwrap();
    std::fs::write(&files[1], &bytes[..bytes.len() - 7]).unwrap();
    let (_, report) = scan(&cache, &target, &[]);
    assert_eq!(cache_counts(&report), (0, 2), "never trusted");
    assert_eq!(comparable(&report), comparable(&cold));
    let (_, report) = scan(&cache, &target, &[]);
    assert_eq!(cache_counts(&report), (2, 0), "rewritten whole");
    assert_eq!(comparable(&report), comparable(&cold));
}

#[test]
fn a_changed_blob_is_never_served_from_the_cache() {
    let cache = fresh("cache");
    let target = image("4.17.20");
    scan(&cache, &target, &[]);
    // The bottom layer's blob replaced by other bytes under the same name:
    // the result cached for its diff_id must not stand in for it.
    let index: Value =
        serde_json::from_slice(&std::fs::read(target.join("index.json")).unwrap()).unwrap();
    let blob = |digest: &str| {
        target
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    };
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(blob(index["manifests"][0]["digest"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    let bottom = blob(manifest["layers"][0]["digest"].as_str().unwrap());
    let other = blob(manifest["layers"][1]["digest"].as_str().unwrap());
    std::fs::copy(&other, &bottom).unwrap();
    let db = empty_db();
    let stderr = fails(&[
        "scan".as_ref(),
        "--db".as_ref(),
        db.as_os_str(),
        "--cache-dir".as_ref(),
        cache.as_os_str(),
        target.as_os_str(),
    ]);
    assert!(stderr.contains("digest"), "{stderr}");
}

#[test]
fn four_concurrent_scans_share_one_cache_dir_and_agree() {
    let cache = fresh("cache");
    let target = image("4.17.20");
    let db = empty_db();
    let scratch = fresh("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_imgscan"))
                .args(["scan", "-q", "-f", "json", "--db"])
                .arg(db)
                .arg("--cache-dir")
                .arg(&cache)
                .arg(&target)
                .env("IMGSCAN_DB", scratch.join("none.sqlite"))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let reports: Vec<Value> = children
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().unwrap();
            assert_eq!(
                out.status.code(),
                Some(1),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let report: Value = serde_json::from_slice(&out.stdout).unwrap();
            validate(&report);
            report
        })
        .collect();
    for report in &reports[1..] {
        assert_eq!(comparable(report), comparable(&reports[0]));
    }
    for report in &reports {
        let (hits, misses) = cache_counts(report);
        assert_eq!(hits + misses, 2);
    }
    assert_eq!(
        entries(&cache).len(),
        2,
        "one entry per layer, whoever wrote it"
    );
    let (_, after) = scan(&cache, &target, &[]);
    assert_eq!(cache_counts(&after), (2, 0));
    assert_eq!(comparable(&after), comparable(&reports[0]));
}

#[test]
fn cache_status_prune_and_clear() {
    let cache = fresh("cache");
    scan(&cache, &image("4.17.20"), &[]);
    scan(&cache, &image("4.17.21"), &[]);
    let status = |extra: &[&str]| -> Value {
        let mut args: Vec<&OsStr> = vec![
            "cache".as_ref(),
            "status".as_ref(),
            "-f".as_ref(),
            "json".as_ref(),
            "--cache-dir".as_ref(),
            cache.as_os_str(),
        ];
        args.extend(extra.iter().map(OsStr::new));
        let done = run(&args);
        assert_eq!(done.code, 0, "{}", done.stderr);
        serde_json::from_str(&done.stdout).unwrap()
    };
    let before = status(&[]);
    assert_eq!(before["results"], 3, "{before}");
    assert_eq!(
        before["blobs_seen"], 4,
        "two layouts of two blob files each"
    );
    let total = before["bytes"].as_u64().unwrap();
    assert!(total > 0);
    // Prune to a bound below the total: the least recently used go.
    let bound = format!("{}", total - 1);
    let done = run(&[
        "cache".as_ref(),
        "prune".as_ref(),
        "--cache-max-size".as_ref(),
        OsStr::new(&bound),
        "--cache-dir".as_ref(),
        cache.as_os_str(),
    ]);
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(done.stdout.starts_with("removed 1 "), "{}", done.stdout);
    let done = run(&[
        "cache".as_ref(),
        "clear".as_ref(),
        "--cache-dir".as_ref(),
        cache.as_os_str(),
    ]);
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(done.stdout.starts_with("removed "), "{}", done.stdout);
    assert_eq!(status(&[])["results"], 0);
    assert_eq!(status(&[])["blobs_seen"], 0);
}
