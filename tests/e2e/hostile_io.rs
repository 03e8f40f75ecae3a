//! Hostile input, round 2: files the user names (ignore file, rules,
//! advisory sources), oversized package databases, control characters from
//! the image on a terminal, output that cannot be written, `-o` onto an
//! input, OSV zips with duplicate names, records without a name, and
//! error messages that say their cause once.

use crate::support::*;
use imgscan_fixtures::*;
use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A rootfs directory at a fresh path holding `files`.
fn rootfs(files: &[(&str, &[u8])]) -> PathBuf {
    let root = fresh("rootfs");
    for (path, bytes) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    root
}

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// Runs `imgscan` and kills it after `limit`: a hang is a failure, not a
/// stuck test run.
fn run_bounded(args: &[OsString], limit: Duration) -> Run {
    let scratch = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_imgscan"))
        .args(args)
        .env("IMGSCAN_DB", scratch.path().join("db.sqlite"))
        .env("IMGSCAN_CACHE_DIR", scratch.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drained while it runs: a report larger than a pipe holds must not
    // stall the child.
    let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("imgscan {args:?} did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code().unwrap_or(-1),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Exit 2 with one line on stderr that names `file` and says `why`.
fn refused(run: &Run, file: &Path, why: &str) {
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("`{}`", file.display())) && run.stderr.contains(why),
        "expected `{}` and {why:?}: {}",
        file.display(),
        run.stderr
    );
}

fn mkfifo(path: &Path) {
    sh(Command::new("mkfifo").arg(path));
}

/// A sparse file of `size` bytes.
fn sparse(name: &str, size: u64) -> PathBuf {
    let path = fresh(name);
    std::fs::File::create(&path).unwrap().set_len(size).unwrap();
    path
}

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn named_files_must_be_small_regular_files() {
    let target = rootfs(&[("etc/os-release", b"ID=test\n")]);
    let fifo = fresh("ignore.fifo");
    mkfifo(&fifo);
    let big = sparse("big.toml", 41 << 20);
    let scan = |flag: &str, file: &Path| {
        let mut args = os(&["scan", "-q", flag]);
        args.push(file.into());
        args.push(target.clone().into());
        run_bounded(&args, LIMIT)
    };
    for flag in ["--ignore-file", "--rules"] {
        refused(
            &scan(flag, Path::new("/dev/zero")),
            Path::new("/dev/zero"),
            "(a character device)",
        );
        refused(&scan(flag, &fifo), &fifo, "(a FIFO)");
        refused(&scan(flag, &big), &big, "larger than the limit");
    }
    // `rules check`, on a file and on a directory holding a FIFO.
    let check = |path: &Path| {
        let mut args = os(&["rules", "check"]);
        args.push(path.into());
        run_bounded(&args, LIMIT)
    };
    refused(
        &check(Path::new("/dev/zero")),
        Path::new("/dev/zero"),
        "character device",
    );
    let dir = fresh("rules");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.yar"), "rule a { condition: true }\n").unwrap();
    mkfifo(&dir.join("b.yar"));
    refused(&check(&dir), &dir.join("b.yar"), "(a FIFO)");
    // `db import` reads a regular file or a directory, nothing else.
    let import = |path: &Path| {
        let db = fresh("db.sqlite");
        let mut args = os(&["db", "import", "--db"]);
        args.push(db.into());
        args.push(path.into());
        run_bounded(&args, LIMIT)
    };
    refused(
        &import(Path::new("/dev/zero")),
        Path::new("/dev/zero"),
        "character device",
    );
    refused(&import(&fifo), &fifo, "(a FIFO)");
    let db_fifo = fresh("db.fifo");
    mkfifo(&db_fifo);
    let records = fresh("records");
    std::fs::create_dir_all(&records).unwrap();
    let mut args = os(&["db", "import", "--db"]);
    args.push(db_fifo.clone().into());
    args.push(records.into());
    refused(&run_bounded(&args, LIMIT), &db_fifo, "(a FIFO)");
}

/// A package-lock.json of about `bytes` bytes, with `count` packages.
fn big_lockfile(bytes: usize) -> Vec<u8> {
    let mut out =
        String::from(r#"{"name":"big","lockfileVersion":3,"packages":{"":{"name":"big"}"#);
    let mut i = 0;
    while out.len() < bytes {
        out.push_str(&format!(
            r#","node_modules/pkg-{i}":{{"version":"1.0.{i}","license":"MIT","dependencies":{{"pkg-{}":"^1.0.0"}}}}"#,
            i + 1
        ));
        i += 1;
    }
    out.push_str("}}");
    out.into_bytes()
}

#[test]
fn an_oversized_lockfile_is_an_unknown_and_the_scan_goes_on() {
    let lock = big_lockfile(65 << 20);
    let target = rootfs(&[
        ("etc/os-release", b"ID=alpine\nVERSION_ID=3.19.1\n"),
        ("lib/apk/db/installed", b"P:musl\nV:1.2.4-r4\nA:x86_64\n\n"),
        ("app/package-lock.json", &lock),
    ]);
    let mut args = os(&["sbom", "-q", "-f", "json"]);
    args.push(target.into());
    let run = run_bounded(&args, Duration::from_secs(300));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    validate(&report);
    let names: Vec<&str> = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["musl"], "the other databases are still read");
    let unknowns = report["unknowns"].as_array().unwrap();
    assert_eq!(unknowns.len(), 1, "{unknowns:?}");
    assert_eq!(unknowns[0]["path"], "/app/package-lock.json");
    let reason = unknowns[0]["reason"].as_str().unwrap();
    assert!(reason.contains("over the limit"), "{reason}");
}

#[test]
fn lockfiles_share_one_capture_budget_per_image() {
    let lock = big_lockfile(700 << 10);
    let target = rootfs(&[
        ("etc/os-release", b"ID=alpine\nVERSION_ID=3.19.1\n"),
        ("a/package-lock.json", &lock),
        ("b/package-lock.json", &lock),
    ]);
    let mut args = os(&["sbom", "-q", "-f", "json", "--max-capture-size", "1MiB"]);
    args.push(target.into());
    let run = run_bounded(&args, Duration::from_secs(300));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    validate(&report);
    let locations: std::collections::BTreeSet<&str> = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["location"].as_str().unwrap())
        .collect();
    assert_eq!(locations.len(), 1, "one lockfile read: {locations:?}");
    let unknowns = report["unknowns"].to_string();
    assert!(unknowns.contains("are spent"), "{unknowns}");
}

/// Bytes a terminal would act on: C0 controls but newline, DEL, C1.
fn terminal_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| (c.is_control() && c != '\n') || ('\u{202a}'..='\u{202e}').contains(&c))
        .collect()
}

#[test]
fn control_characters_from_the_image_are_escaped_on_a_terminal() {
    const EVIL: &str = "\x1b]0;pwned\x07\x1b[2J\r\nforged line\u{9b}31m\x7f";
    let mut layer = LayerTar::new();
    layer.file(
        "etc/os-release",
        format!("ID=alpine\nVERSION_ID=3.19\nNAME=\"Alpine{EVIL}\"\n"),
    );
    layer.file(
        "lib/apk/db/installed",
        format!("P:musl{EVIL}\nV:1.2.4-r4{EVIL}\nA:x86_64\n\n"),
    );
    layer.file(format!("etc/cron.d/job{EVIL}"), "* * * * * root /tmp/x\n");
    layer.file(
        format!("app{EVIL}/package-lock.json"),
        format!("{{\"x\": \"{EVIL}"),
    );
    let image = Image::new(vec![layer.finish()]);
    let dir = oci_dir(&image, LayerCompression::Gzip);
    for command in ["scan", "sbom", "inspect"] {
        let mut args = os(&[command, "-q"]);
        if command == "inspect" {
            args.push("--files".into());
        }
        args.push(dir.clone().into());
        let run = run_bounded(&args, LIMIT);
        assert!(run.code == 0 || run.code == 1, "{command}: {}", run.stderr);
        for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
            let raw = terminal_controls(text);
            assert!(raw.is_empty(), "{command} {stream}: raw {raw:?} in {text}");
            assert!(
                !text.lines().any(|l| l.starts_with("forged line")),
                "{command} {stream}: a forged line: {text}"
            );
        }
        assert!(
            run.stdout.contains("\\x1b]0;pwned\\x07"),
            "{command}: shown escaped: {}",
            run.stdout
        );
    }
    // An error that quotes a name from the image stays one escaped line.
    let mut layer = LayerTar::new();
    layer.file("etc/os-release", "ID=x\n");
    let mut image = Image::new(vec![layer.finish()]);
    image.architecture = format!("amd64{EVIL}");
    let dir = oci_dir(&image, LayerCompression::Gzip);
    let mut args = os(&["inspect", "-q", "--platform", "linux/arm64"]);
    args.push(dir.into());
    let run = run_bounded(&args, LIMIT);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(terminal_controls(&run.stderr).is_empty(), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

/// Runs `imgscan` with stdout on `/dev/full`, or closed.
fn run_unwritable(args: &[OsString], closed: bool) -> Run {
    let scratch = tempfile::tempdir().unwrap();
    let mut cmd = if closed {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("exec \"$0\" \"$@\" >&-")
            .arg(env!("CARGO_BIN_EXE_imgscan"))
            .args(args);
        cmd
    } else {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgscan"));
        cmd.args(args).stdout(
            std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap(),
        );
        cmd
    };
    cmd.env("IMGSCAN_DB", scratch.path().join("db.sqlite"))
        .env("IMGSCAN_CACHE_DIR", scratch.path());
    let out = cmd.stderr(Stdio::piped()).output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn output_that_cannot_be_written_is_exit_2() {
    let target = rootfs(&[("etc/os-release", b"ID=test\n")]);
    let db = demo_advisory_db();
    let records = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/advisories");
    let rules = fresh("rules.yar");
    std::fs::write(&rules, "rule a { condition: false }\n").unwrap();
    let target = target.as_os_str();
    let commands: Vec<Vec<OsString>> = vec![
        os(&["rules", "list"]),
        vec!["rules".into(), "check".into(), rules.clone().into()],
        vec![
            "db".into(),
            "status".into(),
            "--db".into(),
            db.clone().into(),
        ],
        vec![
            "db".into(),
            "status".into(),
            "-f".into(),
            "json".into(),
            "--db".into(),
            db.clone().into(),
        ],
        vec![
            "db".into(),
            "import".into(),
            "--db".into(),
            fresh("new.sqlite").into(),
            records.into(),
        ],
        vec![
            "scan".into(),
            "-q".into(),
            "--db".into(),
            db.into(),
            target.into(),
        ],
        vec![
            "scan".into(),
            "-q".into(),
            "-f".into(),
            "json".into(),
            target.into(),
        ],
        vec!["inspect".into(), "-q".into(), target.into()],
        vec![
            "sbom".into(),
            "-q".into(),
            "-f".into(),
            "spdx-json".into(),
            target.into(),
        ],
    ];
    for args in &commands {
        for closed in [false, true] {
            let run = run_unwritable(args, closed);
            assert_eq!(run.code, 2, "{args:?} closed={closed}: {}", run.stderr);
            assert!(
                run.stderr.contains("cannot write to standard output"),
                "{args:?} closed={closed}: {}",
                run.stderr
            );
            assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        }
    }
    // `db update` finds a closed standard output before it downloads.
    let update = vec![
        "db".into(),
        "update".into(),
        "-q".into(),
        "--source".into(),
        "http://127.0.0.1:1".into(),
        "--db".into(),
        fresh("update.sqlite").into(),
    ];
    let run = run_unwritable(&update, true);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("cannot write to standard output: it is closed"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_report_never_overwrites_an_input() {
    let archive = demo_docker_archive("demo.tar");
    let before = std::fs::read(&archive).unwrap();
    let db = demo_advisory_db();
    let db_before = std::fs::read(&db).unwrap();
    let ignore = fresh("ignore.toml");
    std::fs::write(&ignore, "").unwrap();
    let link = fresh("link.tar");
    std::os::unix::fs::symlink(&archive, &link).unwrap();
    let hard = fresh("hard.tar");
    std::fs::hard_link(&archive, &hard).unwrap();
    let dotted = archive.parent().unwrap().join(".").join("demo.tar");
    let scan = |output: &Path, target: &Path| {
        let mut args = os(&["scan", "-q", "-f", "json", "--db"]);
        args.push(db.clone().into());
        args.push("--ignore-file".into());
        args.push(ignore.clone().into());
        args.push("-o".into());
        args.push(output.into());
        args.push(target.into());
        run_bounded(&args, LIMIT)
    };
    for output in [&archive, &link, &hard, &dotted, &db, &ignore] {
        let run = scan(output, &archive);
        assert_eq!(run.code, 2, "-o {}: {}", output.display(), run.stderr);
        assert!(
            run.stderr.contains("refusing to write the report"),
            "{}",
            run.stderr
        );
    }
    assert_eq!(
        std::fs::read(&archive).unwrap(),
        before,
        "the target is intact"
    );
    assert_eq!(
        std::fs::read(&db).unwrap(),
        db_before,
        "the database is intact"
    );
    assert!(std::fs::read(&ignore).unwrap().is_empty());
    // Inside a directory target: nothing is created there.
    let root = rootfs(&[("etc/os-release", b"ID=test\n")]);
    let inside = root.join("etc/report.json");
    let run = scan(&inside, &root);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(!inside.exists());
    // Elsewhere is fine.
    let run = scan(&fresh("report.json"), &archive);
    assert_eq!(run.code, 1, "the demo fails the gate: {}", run.stderr);
}

/// An OSV record for npm package `name`.
fn npm_record(id: &str, name: &str) -> String {
    format!(
        r#"{{"id":"{id}","modified":"2024-01-01T00:00:00Z","affected":[{{"package":{{"ecosystem":"npm","name":"{name}"}},"ranges":[{{"type":"SEMVER","events":[{{"introduced":"0"}}]}}]}}]}}"#
    )
}

#[test]
fn every_member_of_an_osv_zip_is_read_whatever_its_name() {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, text) in [
        ("a.json", "garbage".to_string()),
        ("b.json", npm_record("GHSA-one", "left-pad")),
        ("c.json", npm_record("GHSA-two", "right-pad")),
    ] {
        zip.start_file(name, options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    let mut bytes = zip.finish().unwrap().into_inner();
    // Rename the members in place: three members named `a.json`.
    for at in 0..bytes.len() - 6 {
        if &bytes[at..at + 6] == b"b.json" || &bytes[at..at + 6] == b"c.json" {
            bytes[at] = b'a';
        }
    }
    let path = fresh("dup.zip");
    std::fs::write(&path, &bytes).unwrap();
    let db = fresh("dup.sqlite");
    let run = run(&[
        OsStr::new("db"),
        OsStr::new("import"),
        OsStr::new("--db"),
        db.as_os_str(),
        path.as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("2 records imported") && run.stdout.contains("(1 skipped)"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_record_without_a_name_or_version_is_never_a_package() {
    for (path, content, kept) in [
        (
            "lib/apk/db/installed",
            "P:\nV:1.0-r0\n\nP:zlib\nV:\n\nP:musl\nV:1.2.4-r4\n\n",
            "musl",
        ),
        (
            "var/lib/dpkg/status",
            "Package:\nVersion: 1.0\nStatus: install ok installed\n\n\
             Package: zlib1g\nVersion:  \nStatus: install ok installed\n\n\
             Package: bash\nVersion: 5.2\nStatus: install ok installed\n",
            "bash",
        ),
    ] {
        let target = rootfs(&[("etc/os-release", b"ID=test\n"), (path, content.as_bytes())]);
        let mut args = os(&["sbom", "-q", "-f", "json"]);
        args.push(target.into());
        let run = run_bounded(&args, LIMIT);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        let names: Vec<&str> = report["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, [kept], "{path}: the good record is kept");
        let unknowns = report["unknowns"].as_array().unwrap();
        assert_eq!(unknowns.len(), 2, "{path}: {unknowns:?}");
        for unknown in unknowns {
            assert_eq!(unknown["path"], format!("/{path}"));
            assert!(
                unknown["reason"].as_str().unwrap().contains("empty"),
                "{unknowns:?}"
            );
        }
    }
}

#[test]
fn a_database_error_says_its_cause_once() {
    let garbage = fresh("garbage.sqlite");
    std::fs::write(&garbage, vec![b'x'; 8192]).unwrap();
    let target = rootfs(&[("etc/os-release", b"ID=test\n")]);
    let status = run(&[
        OsStr::new("db"),
        OsStr::new("status"),
        OsStr::new("--db"),
        garbage.as_os_str(),
    ]);
    let scan = run(&[
        OsStr::new("scan"),
        OsStr::new("-q"),
        OsStr::new("--db"),
        garbage.as_os_str(),
        target.as_os_str(),
    ]);
    for run in [status, scan] {
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert_eq!(
            run.stderr.matches("not a database").count(),
            1,
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains(&format!("`{}`", garbage.display())),
            "{}",
            run.stderr
        );
    }
}
