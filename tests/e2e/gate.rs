//! The weekly rebuild gate through the binary: a base image and its
//! rebuild (a package added, a vulnerable one upgraded, a miner config and
//! a finding planted, the bottom layer unchanged), scanned with the demo
//! advisories; `scan --baseline` marks items new or unchanged, lists what
//! was fixed and gates only what is new; unusable baselines are exit 2;
//! `imgscan diff` compares reports and images as table, JSON and Markdown.

use crate::support::*;
use imgscan_fixtures::*;
use serde_json::Value;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const BASE_STATUS: &str = "Package: coreutils\nStatus: install ok installed\nArchitecture: amd64\nVersion: 9.1-1\n\n\
Package: openssh-server\nStatus: install ok installed\nArchitecture: amd64\nSource: openssh\nVersion: 1:9.2p1-2+deb12u2\n\n";

const LOCK: &str = r#"{"name":"app","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{
  "":{"name":"app","version":"1.0.0","dependencies":{"lodash":"4.17.20"}},
  "node_modules/lodash":{"version":"4.17.20"}}}"#;

/// The base: Debian 12 with a vulnerable openssh and coreutils (layer 0),
/// an app with a vulnerable lodash and an sshd that allows passwords
/// (layer 1).
fn base_image() -> Image {
    Image::new(vec![bottom_layer(), app_layer(false)])
}

/// The rebuild: the same bottom layer; on top openssh upgraded past the
/// fix, curl added, a stratum miner config, and root login allowed.
fn rebuild_image() -> Image {
    Image::new(vec![bottom_layer(), app_layer(true)])
}

fn bottom_layer() -> Vec<u8> {
    let mut layer = LayerTar::new();
    layer.file("etc/os-release", "ID=debian\nVERSION_ID=12\n");
    layer.file("var/lib/dpkg/status", BASE_STATUS);
    layer.finish()
}

fn app_layer(rebuilt: bool) -> Vec<u8> {
    let mut layer = LayerTar::new();
    layer.file("app/package-lock.json", LOCK);
    if rebuilt {
        layer.file(
            "var/lib/dpkg/status",
            "Package: coreutils\nStatus: install ok installed\nArchitecture: amd64\nVersion: 9.1-1\n\n\
             Package: curl\nStatus: install ok installed\nArchitecture: amd64\nVersion: 7.88.1-10+deb12u8\n\n\
             Package: openssh-server\nStatus: install ok installed\nArchitecture: amd64\nSource: openssh\nVersion: 1:9.2p1-2+deb12u3\n\n",
        );
        layer.file(
            "etc/ssh/sshd_config",
            "# rebuilt\nPermitRootLogin yes\nPasswordAuthentication yes\n",
        );
        layer.file(
            "opt/.cache/pool.conf",
            "pool=stratum+tcp://pool.example.net:3333\n",
        );
    } else {
        layer.file("etc/ssh/sshd_config", "PasswordAuthentication yes\n");
    }
    layer.finish()
}

/// The two images, their JSON reports and the demo database, made once.
struct Week {
    base: PathBuf,
    rebuild: PathBuf,
    base_json: PathBuf,
    rebuild_json: PathBuf,
    db: PathBuf,
}

fn week() -> &'static Week {
    static WEEK: OnceLock<Week> = OnceLock::new();
    WEEK.get_or_init(|| {
        let db = demo_advisory_db();
        let base = oci_dir(&base_image(), LayerCompression::Gzip);
        let rebuild = oci_dir(&rebuild_image(), LayerCompression::Gzip);
        let base_json = fresh("base.json");
        let rebuild_json = fresh("rebuild.json");
        for (image, out, code) in [(&base, &base_json, 0), (&rebuild, &rebuild_json, 1)] {
            let done = run(&args(
                &db,
                &[
                    "scan".as_ref(),
                    "-f".as_ref(),
                    "json".as_ref(),
                    "-o".as_ref(),
                    out.as_os_str(),
                    image.as_os_str(),
                ],
            ));
            assert_eq!(done.code, code, "{}", done.stderr);
            validate(&serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap());
        }
        Week {
            base,
            rebuild,
            base_json,
            rebuild_json,
            db,
        }
    })
}

fn args<'a>(db: &'a Path, rest: &[&'a OsStr]) -> Vec<&'a OsStr> {
    let mut all = rest.to_vec();
    all.push(OsStr::new("--db"));
    all.push(db.as_os_str());
    all
}

fn scan_with_baseline(image: &Path, baseline: &Path, extra: &[&str]) -> (i32, Value, String) {
    let w = week();
    let mut rest: Vec<&OsStr> = vec![
        "scan".as_ref(),
        "-f".as_ref(),
        "json".as_ref(),
        "--baseline".as_ref(),
        baseline.as_os_str(),
        image.as_os_str(),
    ];
    rest.extend(extra.iter().map(OsStr::new));
    let done = run(&args(&w.db, &rest));
    let report: Value = serde_json::from_str(&done.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", done.stdout, done.stderr));
    validate(&report);
    (done.code, report, done.stderr)
}

/// `(kind, id, status)` of every vulnerability, malware match and finding.
fn statuses(report: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (kind, key) in [
        ("vulnerability", "id"),
        ("malware", "rule"),
        ("finding", "id"),
    ] {
        let section = match kind {
            "vulnerability" => "vulnerabilities",
            "malware" => "malware",
            _ => "findings",
        };
        for item in report[section].as_array().unwrap() {
            out.push((
                kind.to_string(),
                item[key].as_str().unwrap().to_string(),
                item["status"].as_str().unwrap_or("-").to_string(),
            ));
        }
    }
    out.sort();
    out
}

fn fingerprints(report: &Value, section: &str) -> Vec<String> {
    let mut fps: Vec<String> = report[section]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["fingerprint"].as_str().unwrap().to_string())
        .collect();
    fps.sort();
    fps
}

fn has(list: &[(String, String, String)], kind: &str, id: &str, status: &str) -> bool {
    list.iter()
        .any(|(k, i, s)| k == kind && i.contains(id) && s == status)
}

#[test]
fn every_item_has_a_fingerprint_that_survives_the_rebuild() {
    let w = week();
    let base: Value = serde_json::from_slice(&std::fs::read(&w.base_json).unwrap()).unwrap();
    let rebuild: Value = serde_json::from_slice(&std::fs::read(&w.rebuild_json).unwrap()).unwrap();
    for report in [&base, &rebuild] {
        for section in ["vulnerabilities", "malware", "findings"] {
            for item in report[section].as_array().unwrap() {
                assert_eq!(item["fingerprint"].as_str().unwrap().len(), 32, "{item}");
                assert!(item.get("status").is_none(), "no status without a baseline");
            }
        }
    }
    let find = |r: &Value, section: &str, key: &str, id: &str| -> Value {
        r[section]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i[key].as_str().unwrap().contains(id))
            .unwrap_or_else(|| panic!("{id} in {section}"))
            .clone()
    };
    // Same package, same advisory: same fingerprint, whatever the layer.
    let lodash_old = find(&base, "vulnerabilities", "name", "lodash");
    let lodash_new = find(&rebuild, "vulnerabilities", "name", "lodash");
    assert_eq!(lodash_old["fingerprint"], lodash_new["fingerprint"]);
    // The finding moved from layer 1's old file to its new one at another line.
    let pw_old = find(&base, "findings", "id", "ssh.password-authentication");
    let pw_new = find(&rebuild, "findings", "id", "ssh.password-authentication");
    assert_ne!(pw_old["line"], pw_new["line"]);
    assert_eq!(pw_old["fingerprint"], pw_new["fingerprint"]);
    // Two scans of one image print the same fingerprints.
    let again = run(&args(
        &w.db,
        &[
            "scan".as_ref(),
            "-f".as_ref(),
            "json".as_ref(),
            w.base.as_os_str(),
        ],
    ));
    let again: Value = serde_json::from_str(&again.stdout).unwrap();
    for section in ["vulnerabilities", "malware", "findings"] {
        assert_eq!(fingerprints(&again, section), fingerprints(&base, section));
    }
    // SARIF carries them as partialFingerprints.
    let sarif = run(&args(
        &w.db,
        &[
            "scan".as_ref(),
            "-f".as_ref(),
            "sarif".as_ref(),
            w.rebuild.as_os_str(),
        ],
    ));
    let sarif: Value = serde_json::from_str(&sarif.stdout).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for result in results {
        assert_eq!(
            result["partialFingerprints"]["imgscan/v1"]
                .as_str()
                .unwrap()
                .len(),
            32
        );
    }
}

#[test]
fn the_baseline_marks_new_unchanged_and_fixed() {
    let w = week();
    let (code, report, stderr) = scan_with_baseline(&w.rebuild, &w.base_json, &[]);
    assert_eq!(
        code, 1,
        "the new miner config fails the default gate: {stderr}"
    );
    let list = statuses(&report);
    assert!(
        has(&list, "vulnerability", "2016-2781", "unchanged"),
        "{list:?}"
    );
    assert!(
        has(&list, "vulnerability", "2021-23337", "unchanged"),
        "{list:?}"
    );
    assert!(
        !has(&list, "vulnerability", "2024-6387", "new"),
        "upgraded past the fix"
    );
    assert!(has(&list, "malware", "stratum_protocol", "new"), "{list:?}");
    assert!(
        has(&list, "finding", "ssh.permit-root-login", "new"),
        "{list:?}"
    );
    assert!(
        has(&list, "finding", "ssh.password-authentication", "unchanged"),
        "{list:?}"
    );
    let fixed = report["fixed"].as_array().unwrap();
    assert_eq!(fixed.len(), 1, "{fixed:#?}");
    assert_eq!(fixed[0]["kind"], "vulnerability");
    assert!(fixed[0]["id"].as_str().unwrap().contains("2024-6387"));
    assert_eq!(fixed[0]["name"], "openssh-server");
    assert_eq!(fixed[0]["version"], "1:9.2p1-2+deb12u2");
    let new = list.iter().filter(|(_, _, s)| s == "new").count();
    let unchanged = list.iter().filter(|(_, _, s)| s == "unchanged").count();
    let summary = &report["summary"]["baseline"];
    assert_eq!(summary["new"], new);
    assert_eq!(summary["unchanged"], unchanged);
    assert_eq!(summary["fixed"], 1);
    assert_eq!(summary["target"], w.base.to_str().unwrap());
    assert!(stderr.contains("1 new malware match"), "{stderr}");
    // The table says it too.
    let table = run(&args(
        &w.db,
        &[
            "scan".as_ref(),
            "--baseline".as_ref(),
            w.base_json.as_os_str(),
            w.rebuild.as_os_str(),
        ],
    ));
    assert!(
        table.stdout.contains("fixed vulnerability"),
        "{}",
        table.stdout
    );
    assert!(table.stdout.contains(" new, "), "{}", table.stdout);
    // And SARIF, in its own words.
    let sarif = run(&args(
        &w.db,
        &[
            "scan".as_ref(),
            "-f".as_ref(),
            "sarif".as_ref(),
            "--baseline".as_ref(),
            w.base_json.as_os_str(),
            w.rebuild.as_os_str(),
        ],
    ));
    let sarif: Value = serde_json::from_str(&sarif.stdout).unwrap();
    let states: Vec<(&str, &str)> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["ruleId"].as_str().unwrap(),
                r["baselineState"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(states.contains(&("stratum_protocol", "new")), "{states:?}");
    assert!(
        states.contains(&("ssh.password-authentication", "unchanged")),
        "{states:?}"
    );
}

#[test]
fn the_gate_counts_only_new_items() {
    let w = week();
    // Against itself nothing is new: --fail-on LOW passes.
    let (code, report, stderr) = scan_with_baseline(&w.base, &w.base_json, &["--fail-on", "LOW"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["summary"]["baseline"]["new"], 0);
    assert_eq!(report["fixed"], serde_json::json!([]));
    // Without the baseline, the same scan fails.
    let plain = run(&args(
        &w.db,
        &[
            "scan".as_ref(),
            "--fail-on".as_ref(),
            "LOW".as_ref(),
            w.base.as_os_str(),
        ],
    ));
    assert_eq!(plain.code, 1, "{}", plain.stderr);
    // The rebuild against the base fails on what is new only.
    let (code, _, stderr) =
        scan_with_baseline(&w.rebuild, &w.base_json, &["--fail-on", "CRITICAL"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(
            "0 new vulnerable or malicious package(s), 1 new malware match(es), 0 new finding(s)"
        ),
        "only the new miner config counts: {stderr}"
    );
    // An item the ignore file now silences is not "fixed".
    let ignore = fresh("ignore.toml");
    std::fs::write(
        &ignore,
        "[[ignore]]\nid = \"ssh.password-authentication\"\nreason = \"bastion\"\nexpires = 2999-01-01\n",
    )
    .unwrap();
    let (_, report, _) = scan_with_baseline(
        &w.base,
        &w.base_json,
        &["--ignore-file", ignore.to_str().unwrap()],
    );
    assert_eq!(
        report["fixed"],
        serde_json::json!([]),
        "silenced, not fixed"
    );
}

#[test]
fn an_unusable_baseline_is_exit_2() {
    let w = week();
    let fail = |baseline: &Path, image: &Path, wanted: &str| {
        let stderr = fails(&args(
            &w.db,
            &[
                "scan".as_ref(),
                "-f".as_ref(),
                "json".as_ref(),
                "--baseline".as_ref(),
                baseline.as_os_str(),
                image.as_os_str(),
            ],
        ));
        assert!(stderr.contains(wanted), "{wanted:?} not in {stderr}");
    };
    // Another image: another OS, another platform.
    let mut alpine = LayerTar::new();
    alpine.file("etc/os-release", "ID=alpine\nVERSION_ID=3.19.1\n");
    let alpine = oci_dir(&Image::new(vec![alpine.finish()]), LayerCompression::Gzip);
    fail(
        &w.base_json,
        &alpine,
        "another image: OS `debian`, this scan `alpine`",
    );
    let mut arm = rebuild_image();
    arm.architecture = "arm64".into();
    let arm = oci_dir(&arm, LayerCompression::Gzip);
    fail(
        &w.base_json,
        &arm,
        "another image: platform `linux/amd64`, this scan `linux/arm64`",
    );
    // Another image by name: a docker archive's RepoTags name the image;
    // a rebuild tagged in the same repository is the same image.
    let tagged = |name: &str, image: Image, tag: &str| {
        let path = fresh(name);
        let mut image = image;
        image.tags = vec![tag.to_string()];
        write_docker_archive(
            &path,
            &image,
            DockerLayout::Legacy,
            ArchiveCompression::None,
        )
        .unwrap();
        path
    };
    let app_1 = tagged("app-1.tar", base_image(), "registry.local/team/app:1");
    let app_1_json = fresh("app-1.json");
    let done = run(&args(
        &w.db,
        &[
            "scan".as_ref(),
            "-f".as_ref(),
            "json".as_ref(),
            "-o".as_ref(),
            app_1_json.as_os_str(),
            app_1.as_os_str(),
        ],
    ));
    assert_eq!(done.code, 0, "{}", done.stderr);
    let names: Value = serde_json::from_slice(&std::fs::read(&app_1_json).unwrap()).unwrap();
    assert_eq!(
        names["target"]["names"],
        serde_json::json!(["registry.local/team/app:1"])
    );
    let app_2 = tagged("app-2.tar", rebuild_image(), "registry.local/team/app:2");
    let same = run(&args(
        &w.db,
        &[
            "scan".as_ref(),
            "--baseline".as_ref(),
            app_1_json.as_os_str(),
            app_2.as_os_str(),
        ],
    ));
    assert_eq!(same.code, 1, "a rebuild is compared: {}", same.stderr);
    let other = tagged("other.tar", rebuild_image(), "registry.local/team/other:1");
    fail(
        &app_1_json,
        &other,
        "another image: image `registry.local/team/app`, this scan `registry.local/team/other`",
    );
    // Another schema, an older one, not a report, corrupt, truncated.
    let text = std::fs::read_to_string(&w.base_json).unwrap();
    let write = |name: &str, content: &str| {
        let path = fresh(name);
        std::fs::write(&path, content).unwrap();
        path
    };
    let v0 = write(
        "v0.json",
        &text.replace("imgscan.report/v1", "imgscan.report/v0"),
    );
    fail(&v0, &w.rebuild, "`imgscan.report/v0` report");
    let sarif = write("sarif.json", "{\"version\":\"2.1.0\",\"runs\":[]}");
    fail(&sarif, &w.rebuild, "SARIF");
    let cut = write("cut.json", &text[..text.len() / 2]);
    fail(&cut, &w.rebuild, "not valid JSON");
    let bent = write("bent.json", &text.replace("\"target\"", "\"tarjet\""));
    fail(&bent, &w.rebuild, "missing field `target`");
    // Not a scan report: inspect's.
    let inspected = write(
        "inspect.json",
        &run(&[
            "inspect".as_ref(),
            "-f".as_ref(),
            "json".as_ref(),
            w.base.as_os_str(),
        ])
        .stdout,
    );
    fail(&inspected, &w.rebuild, "not a scan report");
    // Not a regular file, too large, missing.
    let dir = fresh("a-dir");
    std::fs::create_dir_all(&dir).unwrap();
    fail(&dir, &w.rebuild, "not a regular file");
    let fifo = fresh("fifo");
    sh(std::process::Command::new("mkfifo").arg(&fifo));
    fail(&fifo, &w.rebuild, "not a regular file");
    let huge = fresh("huge.json");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(257 << 20)
        .unwrap();
    fail(&huge, &w.rebuild, "larger than");
    fail(&fresh("missing.json"), &w.rebuild, "cannot read report");
}

/// Runs `imgscan diff OLD NEW [extra]` with the demo database.
fn diff(old: &Path, new: &Path, extra: &[&str]) -> (i32, String, String) {
    let w = week();
    let mut rest: Vec<&OsStr> = vec!["diff".as_ref(), old.as_os_str(), new.as_os_str()];
    rest.extend(extra.iter().map(OsStr::new));
    let done = run(&args(&w.db, &rest));
    (done.code, done.stdout, done.stderr)
}

fn names(list: &Value, key: &str) -> Vec<String> {
    let mut names: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i[key].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn diff_of_two_reports() {
    let w = week();
    let (code, json, stderr) = diff(&w.base_json, &w.rebuild_json, &["-f", "json"]);
    assert_eq!(code, 1, "a new miner config fails the gate: {stderr}");
    let d: Value = serde_json::from_str(&json).unwrap();
    validate_diff(&d);
    assert_eq!(names(&d["packages"]["added"], "name"), ["curl"]);
    assert_eq!(
        names(&d["packages"]["removed"], "name"),
        Vec::<String>::new()
    );
    let changed = &d["packages"]["changed"][0];
    assert_eq!(changed["name"], "openssh-server");
    assert_eq!(changed["from"], serde_json::json!(["1:9.2p1-2+deb12u2"]));
    assert_eq!(changed["to"], serde_json::json!(["1:9.2p1-2+deb12u3"]));
    assert_eq!(d["vulnerabilities"]["new"], serde_json::json!([]));
    let fixed = names(&d["vulnerabilities"]["fixed"], "id");
    assert!(
        fixed.len() == 1 && fixed[0].contains("2024-6387"),
        "{fixed:?}"
    );
    assert_eq!(names(&d["malware"]["new"], "rule"), ["stratum_protocol"]);
    assert_eq!(
        names(&d["findings"]["new"], "id"),
        ["ssh.permit-root-login"]
    );
    assert_eq!(d["findings"]["gone"], serde_json::json!([]));
    assert_eq!(
        d["layers"]["shared"].as_array().unwrap().len(),
        1,
        "the bottom layer"
    );
    assert_eq!(d["layers"]["added"].as_array().unwrap().len(), 1);
    assert_eq!(d["layers"]["removed"].as_array().unwrap().len(), 1);
    assert_eq!(d["not_compared"], serde_json::json!([]));

    let (code, md, _) = diff(&w.base_json, &w.rebuild_json, &["-f", "markdown"]);
    assert_eq!(code, 1);
    assert!(md.starts_with("## imgscan diff:"), "{md}");
    assert!(md.contains("### New malware (1)"), "{md}");
    assert!(md.contains("### Fixed vulnerabilities (1)"), "{md}");
    assert!(md.contains("`openssh-server`"), "{md}");
    let (_, table, _) = diff(&w.base_json, &w.rebuild_json, &[]);
    assert!(table.contains("vulnerabilities: 0 new, 1 fixed"), "{table}");
    assert!(
        table.contains("packages: 1 added, 0 removed, 1 changed"),
        "{table}"
    );

    // Backwards, the miner config is gone and nothing new fails.
    let (code, json, stderr) = diff(&w.rebuild_json, &w.base_json, &["-f", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let back: Value = serde_json::from_str(&json).unwrap();
    validate_diff(&back);
    assert_eq!(
        names(&back["malware"]["gone"], "rule"),
        ["stratum_protocol"]
    );
    // A new vulnerability fails --fail-on.
    let (code, _, _) = diff(&w.rebuild_json, &w.base_json, &["--fail-on", "HIGH"]);
    assert_eq!(code, 1, "the regreSSHion (HIGH) is back");
    // Nothing changed: exit 0 even with --fail-on LOW.
    let (code, table, stderr) = diff(&w.base_json, &w.base_json, &["--fail-on", "LOW"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(table.contains("vulnerabilities: 0 new, 0 fixed"), "{table}");
}

#[test]
fn diff_of_images_is_the_diff_of_their_reports() {
    let w = week();
    let (code, from_images, stderr) = diff(&w.base, &w.rebuild, &["-f", "json", "-q"]);
    assert_eq!(code, 1, "{stderr}");
    let (_, from_reports, _) = diff(&w.base_json, &w.rebuild_json, &["-f", "json"]);
    let (mut a, mut b): (Value, Value) = (
        serde_json::from_str(&from_images).unwrap(),
        serde_json::from_str(&from_reports).unwrap(),
    );
    validate_diff(&a);
    assert_eq!(a["old"]["input"], w.base.to_str().unwrap());
    for d in [&mut a, &mut b] {
        d["old"]["input"] = Value::Null;
        d["new"]["input"] = Value::Null;
    }
    assert_eq!(a, b);
    // One side a report, the other an image.
    let (code, _, stderr) = diff(&w.base_json, &w.rebuild, &["-q"]);
    assert_eq!(code, 1, "{stderr}");
    // A side that cannot be read is exit 2.
    let (code, out, stderr) = diff(&w.base_json, Path::new("/nonexistent/image.tar"), &[]);
    assert_eq!((code, out.as_str()), (2, ""), "{stderr}");
}
