//! The fleet on a real Redis: workers in separate processes sharing one
//! queue and one layer cache; a worker killed (SIGKILL) while it holds a
//! job, whose job another takes over; every target in the report once,
//! with its verdict; the base layer analysed once for the whole fleet; a
//! second delivery of a finished job recording nothing new; Redis
//! stopped under running workers (they exit 2, and nothing is recorded done
//! that was not); malformed jobs parked with their reason; TLS and a
//! password; and a scan whose Redis cache is down or mute.

use crate::redis_server::{Config, Redis, free_port, send_signal};
use crate::support::*;
use imgscan_fixtures::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The layer every image of the fleet shares: a Debian base.
fn base() -> Vec<u8> {
    let mut layer = LayerTar::new();
    layer.file("etc/os-release", "ID=debian\nVERSION_ID=12\n");
    layer.file(
        "var/lib/dpkg/status",
        "Package: coreutils\nStatus: install ok installed\nArchitecture: amd64\nVersion: 9.1-1\n\n",
    );
    layer.finish()
}

/// Image `n` of the fleet: the base and an app layer of its own; an odd
/// `n` also ships a miner's pool config (the gate fails: exit 1).
fn image(n: usize) -> PathBuf {
    let mut top = LayerTar::new();
    top.file("srv/app/version", format!("{n}\n"));
    if n % 2 == 1 {
        top.file(
            "opt/.cache/pool.conf",
            "pool=stratum+tcp://pool.example.net:3333\n",
        );
    }
    oci_dir(
        &Image::new(vec![base(), top.finish()]),
        LayerCompression::Gzip,
    )
}

/// The exit status the gate gives image `n`.
fn verdict(n: usize) -> u64 {
    (n % 2) as u64
}

fn db() -> &'static Path {
    static DB: OnceLock<PathBuf> = OnceLock::new();
    DB.get_or_init(empty_advisory_db)
}

/// `imgscan ARGS` with `env` set.
fn imgscan(args: &[&str], env: &[(&str, &str)]) -> Run {
    run_with(args, |cmd| {
        cmd.env_remove("IMGSCAN_REDIS_PASSWORD");
        for (k, v) in env {
            cmd.env(k, v);
        }
    })
}

/// A worker process: `fleet work --redis URL --name NAME --db DB EXTRA`.
fn worker(url: &str, name: &str, extra: &[&str], env: &[(&str, &str)]) -> Child {
    let scratch = fresh("worker");
    std::fs::create_dir_all(&scratch).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgscan"));
    cmd.args(["fleet", "work", "--redis", url, "--name", name, "--db"])
        .arg(db())
        .args(extra)
        .env("IMGSCAN_CACHE_DIR", &scratch)
        .env_remove("IMGSCAN_REDIS_PASSWORD")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("the worker starts")
}

/// Waits for `child` to exit (at most `limit`); its status and stderr.
fn finish(mut child: Child, limit: Duration) -> (i32, String) {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            return (status.code().unwrap_or(-1), stderr);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("the worker did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `fleet submit` of `targets` (with `extra` options), which must succeed.
fn submit(url: &str, targets: &[PathBuf], extra: &[&str], env: &[(&str, &str)]) {
    let mut args = vec!["fleet", "submit", "--redis", url];
    args.extend(extra);
    let paths: Vec<&str> = targets.iter().map(|t| t.to_str().unwrap()).collect();
    args.extend(&paths);
    let done = imgscan(&args, env);
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(
        done.stdout.lines().count(),
        targets.len(),
        "{}",
        done.stdout
    );
}

/// `fleet report -f json`: the document and the exit status.
fn report(url: &str, env: &[(&str, &str)]) -> (Value, i32) {
    let done = imgscan(&["fleet", "report", "--redis", url, "-f", "json"], env);
    let doc: Value = serde_json::from_str(&done.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", done.stdout, done.stderr));
    validate_fleet(&doc);
    (doc, done.code)
}

/// Validates a fleet report against `schema/fleet-v1.json`.
fn validate_fleet(doc: &Value) {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    let validator = VALIDATOR.get_or_init(|| {
        let schema: Value =
            serde_json::from_str(include_str!("../../schema/fleet-v1.json")).unwrap();
        jsonschema::validator_for(&schema).expect("the schema compiles")
    });
    let errors: Vec<String> = validator.iter_errors(doc).map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty(),
        "fleet report off its schema: {errors:#?}"
    );
}

/// Target → (status, exit) of every row; a target twice fails.
fn rows(doc: &Value) -> BTreeMap<String, (String, Option<u64>)> {
    let mut rows = BTreeMap::new();
    for row in doc["targets"].as_array().unwrap() {
        let target = row["target"].as_str().unwrap().to_string();
        let value = (
            row["status"].as_str().unwrap().to_string(),
            row["exit"].as_u64(),
        );
        assert!(
            rows.insert(target.clone(), value).is_none(),
            "{target} twice"
        );
    }
    rows
}

/// The pending entries of the queue: (entry, consumer).
fn pending(redis: &Redis) -> Vec<(String, String)> {
    let out = redis.cli(&[
        "XPENDING",
        "imgscan:fleet:queue",
        "imgscan-workers",
        "-",
        "+",
        "100",
    ]);
    let lines: Vec<&str> = out.lines().filter(|l| !l.is_empty()).collect();
    lines
        .chunks(4)
        .map(|c| (c[0].to_string(), c[1].to_string()))
        .collect()
}

#[test]
fn workers_share_the_queue_and_a_killed_workers_job_is_taken_over() {
    let Some(redis) = Redis::start() else { return };
    let url = redis.url(0);
    let cache = redis.url(1);
    let images: Vec<PathBuf> = (0..8).map(image).collect();
    submit(&url, &images, &[], &[]);
    let extra = ["--cache", &cache, "--claim-after", "2"];
    // Worker A is frozen while it holds a job, then killed: the job it
    // held was never finished.
    let a = worker(&url, "A", &extra, &[]);
    let started = Instant::now();
    let held = loop {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "A never held a job"
        );
        if pending(&redis).iter().any(|(_, c)| c == "A") {
            send_signal(a.id(), "STOP");
            if let Some((entry, _)) = pending(&redis).into_iter().find(|(_, c)| c == "A") {
                break entry;
            }
            send_signal(a.id(), "CONT");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // Meanwhile the report shows A's job running, and none done twice.
    let (during, code) = report(&url, &[]);
    assert_eq!(code, 2, "not done yet");
    let statuses: Vec<&str> = during["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.len(), images.len());
    assert_eq!(
        statuses.iter().filter(|s| **s == "running").count(),
        1,
        "{during:#}"
    );
    send_signal(a.id(), "KILL");
    let (code, _) = finish(a, Duration::from_secs(10));
    assert_eq!(code, -1, "killed by a signal");
    let entry = redis.cli(&["XRANGE", "imgscan:fleet:queue", &held, &held]);
    let fields: Vec<&str> = entry.lines().collect();
    let at = fields
        .iter()
        .position(|f| *f == "job")
        .expect("A's job is still queued");
    let held_job = fields[at + 1].to_string();
    let b = worker(
        &url,
        "B",
        &[&extra[..], &["--exit-when-empty"]].concat(),
        &[],
    );
    let c = worker(
        &url,
        "C",
        &[&extra[..], &["--exit-when-empty"]].concat(),
        &[],
    );
    let mut said = String::new();
    for w in [b, c] {
        let (code, stderr) = finish(w, Duration::from_secs(180));
        assert_eq!(code, 0, "{stderr}");
        said.push_str(&stderr);
    }
    let took_over = format!("job {held_job} taken over from a worker that stopped answering");
    assert_eq!(said.matches(&took_over).count(), 1, "{said}");
    let (doc, code) = report(&url, &[]);
    assert_eq!(code, 1, "some images fail the gate");
    let rows = rows(&doc);
    assert_eq!(rows.len(), images.len(), "every target once: {doc:#}");
    for (n, path) in images.iter().enumerate() {
        let row = &rows[path.to_str().unwrap()];
        assert_eq!(row, &("done".to_string(), Some(verdict(n))), "image {n}");
    }
    for row in doc["targets"].as_array().unwrap() {
        let malware = row["malware"].as_u64().unwrap();
        assert_eq!(malware > 0, row["exit"] == 1, "{row}");
        assert_eq!(row["vulnerabilities"]["CRITICAL"], 0, "{row}");
    }
    // The job A held was finished by B or C; every job has its report.
    let outcome: Value =
        serde_json::from_str(&redis.cli(&["HGET", "imgscan:fleet:done", &held_job])).unwrap();
    assert!(
        ["B", "C"].contains(&outcome["worker"].as_str().unwrap()),
        "{outcome}"
    );
    for id in 1..=images.len() {
        let key = format!("imgscan:fleet:report:{id}");
        let stored: Value = serde_json::from_str(&redis.cli(&["GET", &key])).unwrap();
        validate(&stored);
        assert!(
            redis.cli(&["TTL", &key]).parse::<i64>().unwrap() > 0,
            "bounded"
        );
    }
    assert_eq!(redis.cli(&["XLEN", "imgscan:fleet:queue"]), "0");
}

#[test]
fn the_shared_cache_reads_the_base_layer_once_for_the_fleet() {
    let password = "fleet-s3cret-pw";
    let Some(redis) = Redis::start_with(Config {
        password: Some(password.into()),
        ..Config::default()
    }) else {
        return;
    };
    let env = [("IMGSCAN_REDIS_PASSWORD", password)];
    let (url, cache) = (redis.url(0), redis.url(1));
    let images: Vec<PathBuf> = (0..3).map(image).collect();
    let results = fresh("results");
    let extra = [
        "--cache",
        &cache,
        "--exit-when-empty",
        "--results-dir",
        results.to_str().unwrap(),
    ];
    // Two workers, one after the other, in separate processes.
    submit(&url, &images[..2], &[], &env);
    let (code, first) = finish(worker(&url, "one", &extra, &env), Duration::from_secs(120));
    assert_eq!(code, 0, "{first}");
    submit(&url, &images[2..], &[], &env);
    let (code, second) = finish(worker(&url, "two", &extra, &env), Duration::from_secs(120));
    assert_eq!(code, 0, "{second}");
    let (doc, code) = report(&url, &env);
    assert_eq!(code, 1);
    assert_eq!(
        doc["cache"],
        serde_json::json!({"hits": 2, "misses": 4}),
        "the base read once, each app layer once: {doc:#}"
    );
    // A second delivery of a job already done changes nothing.
    let spec = redis.cli(&["HGET", "imgscan:fleet:jobs", "1"]);
    redis.cli(&[
        "XADD",
        "imgscan:fleet:queue",
        "*",
        "job",
        "1",
        "spec",
        &spec,
    ]);
    let (code, third) = finish(worker(&url, "three", &extra, &env), Duration::from_secs(60));
    assert_eq!(code, 0, "{third}");
    assert!(third.contains("job 1 was already done"), "{third}");
    assert_eq!(report(&url, &env).0, doc, "the same report");
    for id in 1..=3 {
        let saved: Value = serde_json::from_str(
            &std::fs::read_to_string(results.join(format!("job-{id}.json"))).unwrap(),
        )
        .unwrap();
        validate(&saved);
    }
    assert_eq!(redis.cli(&["EXISTS", "imgscan:fleet:report:1"]), "0");
    // A plain scan with the same cache finds both of image 0's layers there.
    let scanned = imgscan(
        &[
            "scan",
            "-q",
            "-f",
            "json",
            "--db",
            db().to_str().unwrap(),
            images[0].to_str().unwrap(),
        ],
        &[("IMGSCAN_CACHE", &cache), env[0]],
    );
    let scanned: Value = serde_json::from_str(&scanned.stdout).unwrap();
    assert_eq!(
        scanned["summary"]["cache"],
        serde_json::json!({"hits": 2, "misses": 0})
    );
    // The cache holds versioned keys with a time to live, and nothing
    // holds the password.
    let keys = redis.cli(&["-n", "1", "--scan"]);
    assert!(!keys.is_empty());
    for key in keys.lines() {
        assert!(key.starts_with("imgscan:cache:v1:"), "{key}");
        let ttl: i64 = redis.cli(&["-n", "1", "TTL", key]).parse().unwrap();
        assert!(ttl > 0, "{key} has no TTL");
        assert!(!redis.cli(&["-n", "1", "GET", key]).contains(password));
    }
    // `imgscan cache` speaks of the shared cache too.
    let status = imgscan(&["cache", "status", "-f", "json", "--cache", &cache], &env);
    let status: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(
        status["results"], 4,
        "a base and three app layers: {status}"
    );
    assert_eq!(status["redis"], redis.url(1));
    let cleared = imgscan(&["cache", "clear", "--cache", &cache], &env);
    assert_eq!(cleared.stdout, "removed 4 results\n", "{}", cleared.stderr);
    assert_eq!(redis.cli(&["-n", "1", "DBSIZE"]), "0");
    for dump in [
        redis.cli(&["HGETALL", "imgscan:fleet:done"]),
        redis.cli(&["HGETALL", "imgscan:fleet:jobs"]),
        first,
        second,
    ] {
        assert!(!dump.contains(password), "{dump}");
    }
}

#[test]
fn workers_exit_when_redis_stops_and_nothing_is_recorded_done_that_was_not() {
    let Some(mut redis) = Redis::start_with(Config {
        persist: true,
        ..Config::default()
    }) else {
        return;
    };
    let url = redis.url(0);
    let images: Vec<PathBuf> = (0..10).map(image).collect();
    submit(&url, &images, &[], &[]);
    let workers: Vec<Child> = ["X", "Y"]
        .iter()
        .map(|name| worker(&url, name, &["--claim-after", "2"], &[]))
        .collect();
    let started = Instant::now();
    while redis
        .cli(&["HLEN", "imgscan:fleet:done"])
        .parse::<u64>()
        .unwrap()
        < 2
    {
        assert!(started.elapsed() < Duration::from_secs(120), "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    redis.stop();
    for w in workers {
        let (code, stderr) = finish(w, Duration::from_secs(60));
        assert_eq!(code, 2, "a worker that lost Redis fails: {stderr}");
        let said = stderr.lines().last().unwrap_or_default();
        assert!(
            said.starts_with(&format!(
                "imgscan: error: redis `redis://127.0.0.1:{}/0`",
                redis.port
            )),
            "{stderr}"
        );
    }
    redis.restart();
    // Every job is either done, with its report, or still on the stream.
    let done: u64 = redis.cli(&["HLEN", "imgscan:fleet:done"]).parse().unwrap();
    let queued: u64 = redis.cli(&["XLEN", "imgscan:fleet:queue"]).parse().unwrap();
    assert!(done >= 2);
    assert_eq!(
        done + queued,
        images.len() as u64,
        "no job lost, none done twice"
    );
    for id in redis.cli(&["HKEYS", "imgscan:fleet:done"]).lines() {
        let key = format!("imgscan:fleet:report:{id}");
        assert_eq!(
            redis.cli(&["EXISTS", &key]),
            "1",
            "job {id} done without its report"
        );
    }
    let (code, stderr) = finish(
        worker(&url, "Z", &["--claim-after", "1", "--exit-when-empty"], &[]),
        Duration::from_secs(180),
    );
    assert_eq!(code, 0, "{stderr}");
    let (doc, _) = report(&url, &[]);
    let rows = rows(&doc);
    assert_eq!(rows.len(), images.len());
    for (n, path) in images.iter().enumerate() {
        assert_eq!(
            rows[path.to_str().unwrap()],
            ("done".to_string(), Some(verdict(n)))
        );
    }
}

#[test]
fn malformed_jobs_are_parked_as_failed_with_their_reason() {
    let Some(redis) = Redis::start() else { return };
    let url = redis.url(0);
    let good = image(0);
    let good = good.to_str().unwrap();
    let add = |fields: &[&str]| {
        let mut args = vec!["XADD", "imgscan:fleet:queue", "*"];
        args.extend(fields);
        redis.cli(&args);
    };
    add(&["job", "101", "spec", "not json"]);
    add(&["spec", r#"{"target":"x"}"#]);
    add(&[
        "job",
        "102",
        "spec",
        r#"{"target":"/no/such/image.tar","options":{}}"#,
    ]);
    let bad_severity = format!(r#"{{"target":"{good}","options":{{"fail_on":"SEVERE"}}}}"#);
    add(&["job", "103", "spec", &bad_severity]);
    let foreign = format!(r#"{{"target":"{good}","options":{{"db":"/etc/shadow"}}}}"#);
    add(&["job", "104", "spec", &foreign]);
    let bad_size = format!(r#"{{"target":"{good}","options":{{"max_file_size":"lots"}}}}"#);
    add(&["job", "105", "spec", &bad_size]);
    // `fleet submit` refuses such options itself.
    let refused = imgscan(
        &[
            "fleet",
            "submit",
            "--redis",
            &url,
            "--max-file-size",
            "lots",
            good,
        ],
        &[],
    );
    assert_eq!(refused.code, 2);
    assert!(refused.stderr.contains("not a size"), "{}", refused.stderr);
    let empty = imgscan(&["fleet", "submit", "--redis", &url, good, " "], &[]);
    assert_eq!(empty.code, 2);
    assert!(empty.stderr.contains("an empty TARGET"), "{}", empty.stderr);
    submit(
        &url,
        &[PathBuf::from(good)],
        &["--fail-on", "CRITICAL"],
        &[],
    );
    let (code, stderr) = finish(
        worker(&url, "W", &["--exit-when-empty", "--claim-after", "1"], &[]),
        Duration::from_secs(120),
    );
    assert_eq!(code, 0, "{stderr}");
    let (doc, code) = report(&url, &[]);
    assert_eq!(code, 2, "failed jobs make the report exit 2");
    let targets = doc["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 7, "{doc:#}");
    let by_id = |id: &str| targets.iter().find(|t| t["id"] == id).unwrap();
    for (id, says) in [
        ("101", "malformed job spec"),
        ("102", "target `/no/such/image.tar` not found"),
        ("103", "unknown variant `SEVERE`"),
        ("104", "unknown option `db`"),
        ("105", "`lots` is not a size"),
    ] {
        let row = by_id(id);
        assert_eq!(row["status"], "failed", "{row}");
        assert_eq!(row["exit"], 2, "{row}");
        let error = row["error"].as_str().unwrap();
        assert!(error.contains(says), "job {id}: {error}");
    }
    let nameless = targets.iter().find(|t| t["target"] == "x").unwrap();
    assert!(
        nameless["error"]
            .as_str()
            .unwrap()
            .contains("no `job` field")
    );
    let good_row = targets.iter().find(|t| t["status"] == "done").unwrap();
    assert_eq!(good_row["exit"], 0);
    // The bad target was tried three times before it was parked.
    assert_eq!(stderr.matches("job 102 failed").count(), 3, "{stderr}");
    let table = imgscan(&["fleet", "report", "--redis", &url], &[]);
    assert!(
        table
            .stdout
            .contains("job 102 failed: target `/no/such/image.tar` not found"),
        "{}",
        table.stdout
    );
    let markdown = imgscan(&["fleet", "report", "--redis", &url, "-f", "markdown"], &[]);
    assert!(
        markdown.stdout.starts_with("## imgscan fleet report"),
        "{}",
        markdown.stdout
    );
    let status = imgscan(&["fleet", "status", "--redis", &url, "-f", "json"], &[]);
    let status: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(
        (status["done"].as_u64(), status["failed"].as_u64()),
        (Some(1), Some(6))
    );
    assert_eq!(
        (status["queued"].as_u64(), status["running"].as_u64()),
        (Some(0), Some(0))
    );
    assert!(status["per_minute"].as_f64().unwrap() > 0.0, "{status}");
    // The next run starts afresh.
    let cleared = imgscan(&["fleet", "clear", "--redis", &url], &[]);
    assert_eq!(cleared.code, 0, "{}", cleared.stderr);
    assert_eq!(redis.cli(&["KEYS", "imgscan:fleet:*"]), "");
    let (doc, code) = report(&url, &[]);
    assert_eq!((doc["targets"].as_array().unwrap().len(), code), (0, 0));
}

#[test]
fn a_fleet_over_tls_with_a_password() {
    let Some(redis) = Redis::start_with(Config {
        password: Some("tls-pw".into()),
        tls: true,
        ..Config::default()
    }) else {
        return;
    };
    let ca = redis.dir.join("ca.pem");
    let env = [
        ("IMGSCAN_REDIS_PASSWORD", "tls-pw"),
        ("SSL_CERT_FILE", ca.to_str().unwrap()),
    ];
    let url = redis.url(0);
    let list = fresh("images.txt");
    let target = image(1);
    std::fs::write(&list, format!("# this week\n\n{}\n", target.display())).unwrap();
    let submitted = imgscan(
        &[
            "fleet",
            "submit",
            "--redis",
            &url,
            "--from-file",
            list.to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!(
        submitted.stdout,
        format!("1\t{}\n", target.display()),
        "{}",
        submitted.stderr
    );
    let (code, stderr) = finish(
        worker(
            &url,
            "T",
            &["--exit-when-empty", "--cache", &redis.url(1)],
            &env,
        ),
        Duration::from_secs(120),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("warning"), "the TLS cache works: {stderr}");
    let (doc, _) = report(&url, &env);
    assert_eq!(doc["targets"][0]["exit"], 1);
    assert_eq!(doc["cache"]["misses"], 2);
    // Without the password: refused, and said without leaking anything.
    let refused = imgscan(&["fleet", "status", "--redis", &url], &[env[1]]);
    assert_eq!(refused.code, 2);
    assert!(
        refused
            .stderr
            .contains(&format!("redis `rediss://127.0.0.1:{}/0`", redis.port)),
        "{}",
        refused.stderr
    );
}

#[test]
fn a_scan_whose_redis_cache_is_down_or_mute_scans_without_it() {
    // Nothing listens on one port; the other accepts and never answers.
    let closed = free_port();
    let mute = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mute_port = mute.local_addr().unwrap().port();
    let held = std::thread::spawn(move || {
        let conns: Vec<_> = mute.incoming().take(1).collect();
        std::thread::sleep(Duration::from_secs(30));
        drop(conns);
    });
    let target = image(1);
    for port in [closed, mute_port] {
        let url = format!("redis://:pw@127.0.0.1:{port}/0");
        let started = Instant::now();
        let run = imgscan(
            &[
                "scan",
                "-q",
                "-f",
                "json",
                "--db",
                db().to_str().unwrap(),
                target.to_str().unwrap(),
            ],
            &[("IMGSCAN_CACHE", &url)],
        );
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "degraded in time"
        );
        assert_eq!(run.code, 1, "the scan itself goes on: {}", run.stderr);
        let report: Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(report["malware"][0]["rule"], "stratum_protocol");
        let warnings: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| l.contains("warning"))
            .collect();
        assert_eq!(warnings.len(), 1, "{}", run.stderr);
        assert!(
            warnings[0].contains("layer cache was unavailable"),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("pw@"), "{}", run.stderr);
    }
    drop(held);
}

/// `fleet` needs a Redis URL, and refuses one that is not.
#[test]
fn fleet_refuses_a_url_that_is_not_redis() {
    let run = imgscan(
        &["fleet", "status", "--redis", "http://user:hunter2@host/"],
        &[],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("not a Redis URL"), "{}", run.stderr);
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
}
