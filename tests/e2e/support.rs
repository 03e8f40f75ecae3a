//! Helpers shared by the end-to-end tests: running the binary, validating
//! JSON against the committed schema, and packing images into temp dirs.

pub use imgscan_fixtures::requires::{debian_rootfs, env_path, have_tool, unavailable};
use imgscan_fixtures::{
    ArchiveCompression, DockerLayout, Image, LayerCompression, LayerTar, Variant, load_fixture,
    write_docker_archive, write_oci_layout,
};
use serde_json::Value;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The outcome of one run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `imgscan` with `args`, with the advisory DB and cache in temp dirs.
pub fn run<S: AsRef<OsStr>>(args: &[S]) -> Run {
    run_with(args, |_| {})
}

/// Runs `imgscan`, letting `adjust` change the command first.
pub fn run_with<S: AsRef<OsStr>>(args: &[S], adjust: impl FnOnce(&mut Command)) -> Run {
    let scratch = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgscan"));
    cmd.args(args)
        .env("IMGSCAN_DB", scratch.path().join("db.sqlite"))
        .env("IMGSCAN_CACHE_DIR", scratch.path())
        .env_remove("NO_COLOR");
    adjust(&mut cmd);
    let out = cmd.output().expect("imgscan runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `imgscan inspect --files -f json TARGET [extra]`, which must succeed and
/// validate against the schema.
pub fn inspect(target: impl AsRef<OsStr>, extra: &[&str]) -> Value {
    let mut args: Vec<&OsStr> = vec![
        OsStr::new("inspect"),
        OsStr::new("--files"),
        OsStr::new("-f"),
        OsStr::new("json"),
        target.as_ref(),
    ];
    args.extend(extra.iter().map(OsStr::new));
    let run = run(&args);
    assert_eq!(run.code, 0, "inspect failed: {}", run.stderr);
    let value: Value = serde_json::from_str(&run.stdout).expect("stdout is JSON");
    validate(&value);
    value
}

/// Runs a target that must fail with exit 2, returning stderr.
pub fn fails(args: &[&OsStr]) -> String {
    let run = run(args);
    assert_eq!(
        run.code, 2,
        "expected exit 2, got {}: {}{}",
        run.code, run.stdout, run.stderr
    );
    assert!(
        run.stdout.is_empty(),
        "nothing on stdout on failure: {}",
        run.stdout
    );
    assert_eq!(
        run.stderr.lines().count(),
        1,
        "one line on stderr: {}",
        run.stderr
    );
    run.stderr
}

/// Validates a report against `schema/report-v1.json`.
pub fn validate(report: &Value) {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    let validator = VALIDATOR.get_or_init(|| {
        let schema: Value =
            serde_json::from_str(include_str!("../../schema/report-v1.json")).unwrap();
        jsonschema::validator_for(&schema).expect("the schema compiles")
    });
    let errors: Vec<String> = validator
        .iter_errors(report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "report does not match the schema: {errors:#?}"
    );
}

/// Validates an `imgscan diff -f json` document against `schema/diff-v1.json`.
pub fn validate_diff(diff: &Value) {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    let validator = VALIDATOR.get_or_init(|| {
        let schema: Value =
            serde_json::from_str(include_str!("../../schema/diff-v1.json")).unwrap();
        jsonschema::validator_for(&schema).expect("the schema compiles")
    });
    let errors: Vec<String> = validator
        .iter_errors(diff)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "diff does not match the schema: {errors:#?}"
    );
}

/// The committed demo fixture.
pub fn demo() -> Image {
    load_fixture(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/images/demo")).unwrap()
}

/// The demo fixture as a plain `docker save` archive (legacy layout) at
/// a fresh path named `name`: the form the README's first command scans.
pub fn demo_docker_archive(name: &str) -> PathBuf {
    let archive = fresh(name);
    write_docker_archive(
        &archive,
        &demo(),
        DockerLayout::Legacy,
        ArchiveCompression::None,
    )
    .unwrap();
    archive
}

/// A one-layer image for `arch` whose `/etc/arch` says which it is.
pub fn arch_image(arch: &str) -> Image {
    let mut layer = LayerTar::new();
    layer.file("etc/arch", arch);
    let mut image = Image::new(vec![layer.finish()]);
    image.architecture = arch.to_string();
    image
}

/// An OCI layout at a fresh path `name` holding an amd64 and an arm64
/// image, each with its platform in the index.
pub fn two_arch_layout(name: &str) -> PathBuf {
    let (amd, arm) = (arch_image("amd64"), arch_image("arm64"));
    let dir = fresh(name);
    let variant = |image| Variant {
        image,
        platform_in_index: true,
        ref_name: None,
    };
    write_oci_layout(
        &dir,
        &[variant(&amd), variant(&arm)],
        LayerCompression::Gzip,
    )
    .unwrap();
    dir
}

/// The platform imgscan picks by default here: the host's.
pub fn host_platform() -> &'static str {
    if cfg!(target_arch = "aarch64") {
        "linux/arm64"
    } else {
        "linux/amd64"
    }
}

/// The platform a report says it read.
pub fn arch_of(report: &Value) -> String {
    report["target"]["platform"].as_str().unwrap().to_string()
}

/// Prefix of the scratch directories of test runs.
const SCRATCH_PREFIX: &str = "imgscan-e2e-";

/// A directory that lives as long as the test process. A static is never
/// dropped, so each run first removes what runs that ended long ago left.
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        remove_stale_scratch();
        tempfile::Builder::new()
            .prefix(SCRATCH_PREFIX)
            .tempdir()
            .unwrap()
    })
    .path()
}

/// Removes scratch directories untouched for a day (no run lasts that long).
fn remove_stale_scratch() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    let day = std::time::Duration::from_secs(24 * 3600);
    for entry in entries.flatten() {
        let stale = entry
            .file_name()
            .to_string_lossy()
            .starts_with(SCRATCH_PREFIX)
            && entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > day));
        if stale {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A fresh path under the process-wide scratch directory.
pub fn fresh(name: &str) -> PathBuf {
    let dir = tempfile::tempdir_in(scratch()).unwrap().keep();
    dir.join(name)
}

/// Packs `image` as a single-image OCI layout.
pub fn oci_dir(image: &Image, how: LayerCompression) -> PathBuf {
    let dir = fresh("layout");
    write_oci_layout(
        &dir,
        &[Variant {
            image,
            platform_in_index: true,
            ref_name: Some("latest".into()),
        }],
        how,
    )
    .unwrap();
    dir
}

/// `(path, layer, type, size, deleted_in)` of every `files[]` entry.
pub fn file_rows(report: &Value) -> Vec<(String, u64, String, u64, Option<u64>)> {
    report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["layer"].as_u64().unwrap(),
                f["type"].as_str().unwrap().to_string(),
                f["size"].as_u64().unwrap(),
                f["deleted_in"].as_u64(),
            )
        })
        .collect()
}

/// The `files[]` entry for `path` still in the final tree.
pub fn live<'a>(report: &'a Value, path: &str) -> Option<&'a Value> {
    report["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path && f.get("deleted_in").is_none())
}

/// Runs a tool the test needs and fails the test, with its stderr, if the
/// tool fails.
pub fn sh(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An advisory database with no records, so that a scan checks
/// vulnerabilities (finding none) instead of warning that it could not.
pub fn empty_advisory_db() -> PathBuf {
    let records = fresh("no-records");
    std::fs::create_dir_all(&records).unwrap();
    advisory_db("empty.sqlite", &records)
}

/// The bundled demo advisories (`fixtures/advisories`) in a new database.
pub fn demo_advisory_db() -> PathBuf {
    let records = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/advisories");
    advisory_db("demo-advisories.sqlite", &records)
}

/// A new database `name` holding the OSV records of the directory
/// `records`, imported through the binary.
fn advisory_db(name: &str, records: &Path) -> PathBuf {
    let db = fresh(name);
    let imported = run(&[
        OsStr::new("db"),
        OsStr::new("import"),
        OsStr::new("--db"),
        db.as_os_str(),
        records.as_os_str(),
    ]);
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    db
}

/// `imgscan scan -f json` of `target` against an empty advisory database,
/// with the report validated against the schema.
pub fn scan_json(target: &Path) -> (Value, Run) {
    let db = empty_advisory_db();
    let done = run(&[
        OsStr::new("scan"),
        OsStr::new("-f"),
        OsStr::new("json"),
        OsStr::new("--db"),
        db.as_os_str(),
        target.as_os_str(),
    ]);
    let report: Value =
        serde_json::from_str(&done.stdout).unwrap_or_else(|e| panic!("{e}: {}", done.stderr));
    validate(&report);
    (report, done)
}
