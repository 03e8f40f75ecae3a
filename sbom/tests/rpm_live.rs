//! The rpm database fixtures' oracle files against the real `rpm`: what
//! `rpm -qa` prints today of the committed sqlite database must still be
//! the committed `oracle-sqlite.txt`, which the cataloger's unit tests
//! hold imgscan's reading to. Needs `rpm` (skipped locally without it, a
//! failure under CI).

use imgscan_fixtures::requires;
use std::path::Path;
use std::process::Command;

#[test]
fn live_rpm_prints_the_committed_oracle_of_the_sqlite_database() {
    if !requires::have_tool("rpm") {
        return;
    }
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/catalog/rpm/testdata");
    let root = tempfile::tempdir().unwrap();
    let dbdir = root.path().join("var/lib/rpm");
    std::fs::create_dir_all(&dbdir).unwrap();
    std::fs::copy(testdata.join("rpmdb.sqlite"), dbdir.join("rpmdb.sqlite")).unwrap();
    let output = Command::new("rpm")
        .arg("--root")
        .arg(root.path())
        .args([
            "--dbpath",
            "/var/lib/rpm",
            "--define",
            "_db_backend sqlite",
            "-qa",
            "--qf",
            "%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE} %{ARCH}\\n",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut lines: Vec<&str> = std::str::from_utf8(&output.stdout)
        .unwrap()
        .lines()
        .collect();
    lines.sort();
    let live: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let oracle = std::fs::read_to_string(testdata.join("oracle-sqlite.txt")).unwrap();
    assert_eq!(live, oracle);
}
