//! The command line's contract: exit codes, where output goes, colour and
//! terminal rules.

use crate::support::*;
use imgscan_fixtures::*;
use std::ffi::OsStr;

#[test]
fn unreadable_targets_exit_2() {
    let err = fails(&[OsStr::new("./no/such/rootfs")]);
    assert!(err.contains("target `./no/such/rootfs` not found"), "{err}");
    let junk = fresh("junk.bin");
    std::fs::write(&junk, b"just some bytes").unwrap();
    let err = fails(&[OsStr::new("inspect"), junk.as_os_str()]);
    assert!(err.contains("not a recognised image"), "{err}");
    let bad_platform = run(&["scan", "--platform", "linux", "."]);
    assert_eq!(bad_platform.code, 2, "{}", bad_platform.stderr);
    assert_eq!(run(&["scan", "--bogus-flag", "."]).code, 2);
}

#[test]
fn output_file_and_formats() {
    let dir = oci_dir(&demo(), LayerCompression::Gzip);
    let out = fresh("report.json");
    let run = run(&[
        OsStr::new("scan"),
        dir.as_os_str(),
        OsStr::new("-f"),
        OsStr::new("json"),
        OsStr::new("-o"),
        out.as_os_str(),
    ]);
    assert_eq!(
        run.code, 1,
        "the demo's miner fails the gate: {}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "the report goes to the file only");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    validate(&report);
    assert_eq!(report["schema"], "imgscan.report/v1");
    assert!(
        report.get("files").is_none(),
        "files[] only with inspect --files"
    );
    let not_checked = report["summary"]["not_checked"].as_array().unwrap();
    assert!(
        not_checked.contains(&"vulnerabilities".into()),
        "the report says what it did not check"
    );
}

#[test]
fn json_is_deterministic_apart_from_duration() {
    let dir = oci_dir(&demo(), LayerCompression::Gzip);
    let strip = |mut v: serde_json::Value| {
        v["summary"]["duration_ms"] = 0.into();
        v
    };
    assert_eq!(strip(inspect(&dir, &[])), strip(inspect(&dir, &[])));
}

#[test]
fn no_colour_or_progress_off_a_terminal() {
    let dir = oci_dir(&demo(), LayerCompression::Gzip);
    let db = empty_advisory_db();
    let run = run_with(&[dir.as_os_str()], |cmd| {
        cmd.env("IMGSCAN_DB", &db);
    });
    assert_eq!(run.code, 1, "the demo's miner fails the gate");
    assert!(
        !run.stdout.contains('\x1b') && !run.stderr.contains('\x1b'),
        "no escape codes when piped"
    );
    assert!(
        run.stderr
            .lines()
            .all(|l| l.starts_with("imgscan: gate failed: ")),
        "no progress, only the gate's verdict: {}",
        run.stderr
    );
}

#[test]
fn colour_on_a_terminal_unless_no_color() {
    if !have_tool("script") {
        return;
    }
    let dir = oci_dir(&demo(), LayerCompression::Gzip);
    let command = format!("{} -q {}", env!("CARGO_BIN_EXE_imgscan"), dir.display());
    let on_tty = |no_color: bool| {
        let mut cmd = std::process::Command::new("script");
        cmd.args(["-qec", &command, "/dev/null"]);
        if no_color {
            cmd.env("NO_COLOR", "1");
        } else {
            cmd.env_remove("NO_COLOR");
        }
        String::from_utf8_lossy(&cmd.output().unwrap().stdout).into_owned()
    };
    let coloured = on_tty(false);
    assert!(coloured.contains("\x1b[1m"), "bold headings on a terminal");
    assert!(
        coloured.contains("\x1b[1;31mCRITICAL"),
        "severities in their colour: {coloured}"
    );
    assert!(!on_tty(true).contains("\x1b["), "NO_COLOR turns colour off");
}

#[test]
fn help_documents_exit_codes_and_target_forms() {
    let run = run(&["--help"]);
    assert_eq!(run.code, 0);
    for needle in [
        "Exit status",
        "0  the scan passed",
        "2  the scan could not be done",
        "docker-archive:",
        "oci-dir:",
    ] {
        assert!(
            run.stdout.contains(needle),
            "help lacks {needle:?}: {}",
            run.stdout
        );
    }
}
