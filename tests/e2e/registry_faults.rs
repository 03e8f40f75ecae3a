//! Registry resilience against the real registry behind a fault-injecting
//! proxy: 429 with `Retry-After`, 503s, a layer blob cut off mid-stream
//! (resumed with `Range`, or sent again whole by a registry that ignores
//! ranges, the bytes already read skipped) and one trickled out too slowly
//! (cut off by the timeouts and resumed) still give the very report a
//! direct pull gives; a registry that fails forever (503s, cuts, a
//! trickle) is given up on, with exit 2 and a clear message, within
//! bounded time.

use crate::fault_proxy::{Fault, FaultProxy, Rule};
use crate::registry::{json_exiting, run_clean};
use crate::registry_server::{Registry, open_registry};
use crate::support::*;
use imgscan_fixtures::*;
use serde_json::Value;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The demo image with a 768 KiB layer of noise on top, pushed once:
/// `(repository:tag, the noise layer's digest, the direct pull's report)`.
fn pushed(registry: &'static Registry) -> &'static (String, String, Value) {
    static PUSHED: OnceLock<(String, String, Value)> = OnceLock::new();
    PUSHED.get_or_init(|| {
        let mut next = xorshift(13);
        let noise: Vec<u8> = (0..768 << 10).map(|_| next() as u8).collect();
        let mut layer = LayerTar::new();
        layer.file("srv/noise.bin", noise);
        let mut image = demo();
        image.layers.push(layer.finish());
        image.history.push("noise".into());
        let dir = oci_dir(&image, LayerCompression::Gzip);
        let reference = registry.push(&format!("oci:{}", dir.display()), "faults/app:1", false);
        let direct = scan(&reference, &[], |_| {});
        let noise = direct["layers"].as_array().unwrap().last().unwrap()["digest"]
            .as_str()
            .unwrap()
            .to_string();
        let repo_tag = reference.split_once('/').unwrap().1.to_string();
        (repo_tag, noise, direct)
    })
}

/// `scan -f json` of `target` with a short backoff, plus `extra` flags
/// (the demo's miner fails the gate: exit 1).
fn scan(target: &str, extra: &[&str], adjust: impl FnOnce(&mut std::process::Command)) -> Value {
    json_exiting(&scan_run(target, extra, adjust), 1)
}

fn scan_run(target: &str, extra: &[&str], adjust: impl FnOnce(&mut std::process::Command)) -> Run {
    let db = empty_advisory_db();
    let mut args = vec!["scan", "-f", "json", "--db", db.to_str().unwrap(), target];
    args.extend(extra);
    run_clean(&args, |cmd| {
        cmd.env("IMGSCAN_REGISTRY_BACKOFF_MS", "20");
        adjust(cmd);
    })
}

/// The parts of a report a pull through faults must give unchanged.
fn same_result(through: &Value, direct: &Value) {
    assert_eq!(through["target"]["digest"], direct["target"]["digest"]);
    for key in [
        "layers",
        "packages",
        "vulnerabilities",
        "malware",
        "findings",
    ] {
        assert_eq!(through[key], direct[key], "{key}");
    }
    assert!(
        direct["layers"].as_array().unwrap().len() >= 2,
        "the image has layers"
    );
}

#[test]
fn transient_failures_are_retried_and_a_cut_blob_resumes_with_range() {
    let Some(registry) = open_registry() else {
        return;
    };
    let (repo_tag, noise, direct) = pushed(registry);
    let hex = noise.trim_start_matches("sha256:");
    let proxy = FaultProxy::start(
        &registry.host,
        vec![
            Rule::new(
                "/manifests/",
                Fault::Status("429 Too Many Requests", "Retry-After: 2\r\n"),
                1,
            ),
            Rule::new(
                "/manifests/",
                Fault::Status("503 Service Unavailable", ""),
                1,
            ),
            Rule::new(hex, Fault::Cut(100_000), 1),
            Rule::new(hex, Fault::Status("502 Bad Gateway", ""), 1),
        ],
    );
    let started = Instant::now();
    let through = scan(&format!("{}/{repo_tag}", proxy.host), &[], |_| {});
    let took = started.elapsed();
    same_result(&through, direct);
    assert!(
        took >= Duration::from_secs(2),
        "Retry-After: 2 was honoured (the backoff alone is 20 ms): {took:?}"
    );
    let seen = proxy.seen();
    let blob: Vec<_> = seen.iter().filter(|s| s.path.contains(hex)).collect();
    assert_eq!(blob.len(), 3, "cut, 502, then resumed: {blob:?}");
    assert_eq!(blob[0].range, None);
    assert_eq!(
        blob[2].range.as_deref(),
        Some("bytes=100000-"),
        "the resumed request starts at the first byte not read: {blob:?}"
    );
    assert!(blob[2].fault.is_none());
}

#[test]
fn a_registry_that_ignores_ranges_resends_the_blob_and_what_was_read_is_skipped() {
    let Some(registry) = open_registry() else {
        return;
    };
    let (repo_tag, noise, direct) = pushed(registry);
    let hex = noise.trim_start_matches("sha256:");
    let proxy = FaultProxy::start(
        &registry.host,
        vec![
            Rule::new(hex, Fault::Cut(200_000), 1),
            Rule::new(hex, Fault::NoRange, 1),
        ],
    );
    let through = scan(&format!("{}/{repo_tag}", proxy.host), &[], |_| {});
    same_result(&through, direct);
    let seen = proxy.seen();
    let blob: Vec<_> = seen.iter().filter(|s| s.path.contains(hex)).collect();
    assert_eq!(blob.len(), 2, "cut, then sent whole: {blob:?}");
    assert_eq!(blob[1].range.as_deref(), Some("bytes=200000-"));
}

#[test]
fn a_trickling_blob_is_cut_off_by_the_timeout_and_resumed() {
    let Some(registry) = open_registry() else {
        return;
    };
    let (repo_tag, noise, direct) = pushed(registry);
    let hex = noise.trim_start_matches("sha256:");
    // 1 KiB every 100 ms is 10 KiB/s: under the 16 KiB/s a blob must keep
    // once twice the 1-second timeout has passed.
    let proxy = FaultProxy::start(
        &registry.host,
        vec![Rule::new(
            hex,
            Fault::Trickle(1024, Duration::from_millis(100)),
            1,
        )],
    );
    let started = Instant::now();
    let through = scan(
        &format!("{}/{repo_tag}", proxy.host),
        &["--registry-timeout", "1"],
        |_| {},
    );
    let took = started.elapsed();
    same_result(&through, direct);
    assert!(took < Duration::from_secs(30), "no hang: {took:?}");
    let seen = proxy.seen();
    let blob: Vec<_> = seen.iter().filter(|s| s.path.contains(hex)).collect();
    assert_eq!(blob.len(), 2, "trickled, then resumed: {blob:?}");
    let resumed_at: u64 = blob[1]
        .range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes=")?.strip_suffix('-')?.parse().ok())
        .unwrap_or_else(|| panic!("a range request: {blob:?}"));
    assert!(
        resumed_at > 0 && resumed_at < 768 << 10,
        "resumed past what the trickle delivered: {resumed_at}"
    );
}

#[test]
fn a_registry_that_fails_forever_is_given_up_on_in_bounded_time() {
    let Some(registry) = open_registry() else {
        return;
    };
    let (repo_tag, noise, _) = pushed(registry);
    let forever = usize::MAX;
    let down = FaultProxy::start(
        &registry.host,
        vec![Rule::new(
            "/v2/",
            Fault::Status("503 Service Unavailable", "Retry-After: 1\r\n"),
            forever,
        )],
    );
    let target = format!("{}/{repo_tag}", down.host);
    let started = Instant::now();
    let done = scan_run(&target, &["--registry-retries", "2"], |_| {});
    assert_eq!(done.code, 2, "{}", done.stdout);
    assert!(
        done.stderr.contains(&target)
            && done.stderr.contains("gave up after 3 attempts")
            && done.stderr.contains("HTTP 503"),
        "{}",
        done.stderr
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(down.seen().len(), 3, "three attempts, no more");

    // A blob that breaks off every time: resumed, then given up on.
    let hex = noise.trim_start_matches("sha256:");
    let cutting = FaultProxy::start(
        &registry.host,
        vec![Rule::new(hex, Fault::Cut(50_000), forever)],
    );
    let started = Instant::now();
    let done = scan_run(
        &format!("{}/{repo_tag}", cutting.host),
        &["--registry-retries", "3", "--no-cache"],
        |_| {},
    );
    assert_eq!(done.code, 2, "{}", done.stdout);
    assert!(
        done.stderr.contains(hex)
            && done.stderr.contains("gave up after 4 attempts")
            && !done.stderr.contains("gzip"),
        "{}",
        done.stderr
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    let ranges: Vec<_> = cutting
        .seen()
        .into_iter()
        .filter(|s| s.path.contains(hex))
        .map(|s| s.range)
        .collect();
    assert_eq!(
        ranges,
        [
            None,
            Some("bytes=50000-".into()),
            Some("bytes=100000-".into()),
            Some("bytes=150000-".into())
        ],
        "each attempt goes on from where the last broke off"
    );

    // A blob that only ever trickles: each connection cut off by the
    // timeouts, then given up on; no hang.
    let trickling = FaultProxy::start(
        &registry.host,
        vec![Rule::new(
            hex,
            Fault::Trickle(512, Duration::from_millis(100)),
            forever,
        )],
    );
    let started = Instant::now();
    let done = scan_run(
        &format!("{}/{repo_tag}", trickling.host),
        &["--registry-retries", "1", "--registry-timeout", "1"],
        |_| {},
    );
    assert_eq!(done.code, 2, "{}", done.stdout);
    assert!(
        done.stderr.contains(hex)
            && done.stderr.contains("gave up after 2 attempts")
            && done.stderr.contains("KiB/s"),
        "{}",
        done.stderr
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}
