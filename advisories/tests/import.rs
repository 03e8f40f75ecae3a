//! Importing: zips, directories and files; malformed records skipped and
//! counted; hostile archives refused with the previous database intact;
//! additive imports; status.

mod support;

use std::path::Path;

use imgscan_advisories::{
    Database, DbError, ImportLimits, SCHEMA_VERSION, import, import_with_limits,
};
use imgscan_sbom::Ecosystem;
use serde_json::json;
use support::{package, range, record, source, write_zip};

fn npm_record(id: &str, name: &str) -> Vec<u8> {
    record(
        id,
        "npm",
        name,
        json!([range(&[("introduced", "0")])]),
        json!([]),
    )
    .to_string()
    .into_bytes()
}

fn matched_ids(db_path: &Path, name: &str) -> Vec<String> {
    let db = Database::open(db_path).unwrap();
    let found = db
        .matches(&[package(Ecosystem::Npm, name, "1.0.0")], None)
        .unwrap();
    found.into_iter().map(|v| v.id).collect()
}

/// A database holding `GOOD-1` for npm package `a`, and its bytes.
fn good_db(dir: &Path) -> (std::path::PathBuf, Vec<u8>) {
    let zip = dir.join("good.zip");
    write_zip(&zip, &[("GOOD-1.json", &npm_record("GOOD-1", "a"))]);
    let db = dir.join("db").join("advisories.sqlite");
    import(&db, &[source(&zip)]).unwrap();
    let bytes = std::fs::read(&db).unwrap();
    (db, bytes)
}

fn assert_untouched(db: &Path, before: &[u8]) {
    assert_eq!(std::fs::read(db).unwrap(), before, "the database changed");
    let leftovers: Vec<_> = std::fs::read_dir(db.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "advisories.sqlite")
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
}

#[test]
fn zip_import_skips_malformed_records_and_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("all.zip");
    let bad_type = json!({"id": "BAD-2", "affected": [{"package": {"ecosystem": "npm", "name": "a"},
        "ranges": [{"type": "NOPE", "events": [{"introduced": "0"}]}]}]});
    let bad_version = record(
        "BAD-3",
        "npm",
        "a",
        json!([range(&[("introduced", "0"), ("fixed", "1.x.y")])]),
        json!([]),
    );
    let no_name = json!({"id": "BAD-4", "affected": [{"package": {"ecosystem": "npm"}}]});
    write_zip(
        &zip,
        &[
            ("GOOD-1.json", &npm_record("GOOD-1", "a")),
            ("BAD-1.json", b"{ this is not json"),
            ("BAD-2.json", bad_type.to_string().as_bytes()),
            ("BAD-3.json", bad_version.to_string().as_bytes()),
            ("BAD-4.json", no_name.to_string().as_bytes()),
            ("README.txt", b"not a record"),
            ("sub/", b""),
            ("GOOD-2.json", &npm_record("GOOD-2", "a")),
        ],
    );
    let db_path = dir.path().join("advisories.sqlite");
    let summary = import(
        &db_path,
        &[imgscan_advisories::ImportSource {
            path: zip.clone(),
            origin: "https://osv-vulnerabilities.storage.googleapis.com/npm/all.zip".into(),
        }],
    )
    .unwrap();
    assert_eq!((summary.records, summary.skipped), (2, 4));
    assert_eq!(summary.by_ecosystem.get("npm"), Some(&2));
    assert_eq!(summary.warnings.len(), 4);
    let joined = summary.warnings.join("\n");
    for name in ["BAD-1.json", "BAD-2", "BAD-3", "BAD-4"] {
        assert!(joined.contains(name), "{name} not named in:\n{joined}");
    }
    assert!(joined.contains("1.x.y"), "{joined}");

    let db = Database::open(&db_path).unwrap();
    let status = db.status().unwrap();
    assert_eq!(status.schema_version, SCHEMA_VERSION);
    assert_eq!(status.path, db_path);
    assert!(
        status.built_at.ends_with('Z') && status.built_at.len() == 20,
        "{}",
        status.built_at
    );
    assert_eq!(status.ecosystems.len(), 1);
    let npm = &status.ecosystems[0];
    assert_eq!(
        (npm.ecosystem.as_str(), npm.records, npm.skipped),
        ("npm", 2, 4)
    );
    assert_eq!(
        npm.source,
        "https://osv-vulnerabilities.storage.googleapis.com/npm/all.zip"
    );
    assert_eq!(matched_ids(&db_path, "a"), ["GOOD-1", "GOOD-2"]);
}

#[test]
fn warnings_are_capped_but_counts_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("all.zip");
    let names: Vec<String> = (0..30).map(|i| format!("BAD-{i}.json")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"[]"[..])).collect();
    write_zip(&zip, &entries);
    let summary = import(&dir.path().join("db.sqlite"), &[source(&zip)]).unwrap();
    assert_eq!(
        (summary.records, summary.skipped, summary.warnings.len()),
        (0, 30, 20)
    );
}

#[test]
fn directories_recursively_and_single_files() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("npm/deep")).unwrap();
    std::fs::write(tree.join("npm/A-1.json"), npm_record("A-1", "a")).unwrap();
    std::fs::write(tree.join("npm/deep/A-2.json"), npm_record("A-2", "a")).unwrap();
    std::fs::write(tree.join("npm/deep/notes.md"), "not a record").unwrap();
    let single = dir.path().join("A-3.json");
    std::fs::write(&single, npm_record("A-3", "a")).unwrap();
    let db_path = dir.path().join("db.sqlite");
    let summary = import(&db_path, &[source(&tree), source(&single)]).unwrap();
    assert_eq!((summary.records, summary.skipped), (3, 0));
    assert_eq!(matched_ids(&db_path, "a"), ["A-1", "A-2", "A-3"]);
    let status = Database::open(&db_path).unwrap().status().unwrap();
    assert_eq!(
        status.ecosystems[0].source,
        format!("{}, {}", single.display(), tree.display())
    );
}

#[test]
fn imports_add_up_and_replace_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = good_db(dir.path());
    // A second import adds a record and replaces GOOD-1 (now for `b`).
    let more = dir.path().join("more.zip");
    write_zip(
        &more,
        &[
            ("GOOD-1.json", &npm_record("GOOD-1", "b")),
            ("NEW-1.json", &npm_record("NEW-1", "a")),
        ],
    );
    let deb = dir.path().join("DEBIAN-CVE-1.json");
    std::fs::write(
        &deb,
        record(
            "DEBIAN-CVE-1",
            "Debian:12",
            "zlib",
            json!([range(&[("introduced", "0")])]),
            json!([]),
        )
        .to_string(),
    )
    .unwrap();
    import(&db, &[source(&more), source(&deb)]).unwrap();
    assert_eq!(matched_ids(&db, "a"), ["NEW-1"]);
    assert_eq!(matched_ids(&db, "b"), ["GOOD-1"]);
    let status = Database::open(&db).unwrap().status().unwrap();
    let summary: Vec<(&str, usize)> = status
        .ecosystems
        .iter()
        .map(|e| (e.ecosystem.as_str(), e.records))
        .collect();
    assert_eq!(summary, [("Debian", 1), ("npm", 2)]);
}

#[test]
fn escaping_entry_names_are_refused() {
    for name in [
        "../evil.json",
        "/etc/evil.json",
        "a/../../evil.json",
        "C:evil.json",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (db, before) = good_db(dir.path());
        let zip = dir.path().join("evil.zip");
        write_zip(
            &zip,
            &[
                ("FINE-1.json", &npm_record("FINE-1", "a")),
                (name, &npm_record("EVIL-1", "a")),
            ],
        );
        match import(&db, &[source(&zip)]) {
            Err(DbError::Refused { entry, reason }) => {
                assert!(entry.ends_with(&format!("!{name}")), "{entry}");
                assert!(reason.contains("escapes"), "{reason}");
            }
            other => panic!("{name}: expected a refusal, got {other:?}"),
        }
        assert_untouched(&db, &before);
        assert_eq!(matched_ids(&db, "a"), ["GOOD-1"]);
    }
}

#[test]
fn a_record_over_the_size_limit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (db, before) = good_db(dir.path());
    // 20 MiB: over the default 16 MiB, whatever the header claims.
    let mut huge = npm_record("HUGE-1", "a");
    huge.pop();
    huge.extend(std::iter::repeat_n(b' ', 20 << 20));
    huge.push(b'}');
    let zip = dir.path().join("huge.zip");
    write_zip(&zip, &[("HUGE-1.json", &huge)]);
    let err = import(&db, &[source(&zip)]).unwrap_err();
    assert!(
        matches!(&err, DbError::Refused { entry, reason } if entry.ends_with("!HUGE-1.json") && reason.contains("16777216")),
        "{err}"
    );
    assert_untouched(&db, &before);

    // The same limit holds for plain files.
    let file = dir.path().join("HUGE-1.json");
    std::fs::write(&file, &huge).unwrap();
    let err = import(&db, &[source(&file)]).unwrap_err();
    assert!(
        matches!(&err, DbError::Refused { entry, .. } if entry.ends_with("HUGE-1.json")),
        "{err}"
    );
    assert_untouched(&db, &before);
}

#[test]
fn zip_bombs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (db, before) = good_db(dir.path());
    // One entry that inflates far beyond the ratio limit.
    let zip = dir.path().join("bomb.zip");
    let zeros = vec![b'0'; 4 << 20];
    write_zip(&zip, &[("BOMB-1.json", &zeros)]);
    let err = import(&db, &[source(&zip)]).unwrap_err();
    assert!(
        matches!(&err, DbError::Refused { entry, reason } if entry.ends_with("!BOMB-1.json") && reason.contains("zip bomb")),
        "{err}"
    );
    assert_untouched(&db, &before);

    // Many entries that together inflate beyond the total limit.
    let limits = ImportLimits {
        max_total_bytes: 10_000,
        ..ImportLimits::default()
    };
    let names: Vec<String> = (0..20).map(|i| format!("R-{i}.json")).collect();
    let records: Vec<Vec<u8>> = names
        .iter()
        .map(|n| npm_record(n, &"x".repeat(600)))
        .collect();
    let entries: Vec<(&str, &[u8])> = names
        .iter()
        .map(String::as_str)
        .zip(records.iter().map(Vec::as_slice))
        .collect();
    let many = dir.path().join("many.zip");
    write_zip(&many, &entries);
    let err = import_with_limits(&db, &[source(&many)], &limits).unwrap_err();
    assert!(
        matches!(&err, DbError::Refused { reason, .. } if reason.contains("more than 10000 bytes")),
        "{err}"
    );
    assert_untouched(&db, &before);
}

#[test]
fn corrupt_archives_and_missing_sources_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (db, before) = good_db(dir.path());
    let broken = dir.path().join("broken.zip");
    let mut bytes = b"PK\x03\x04".to_vec();
    bytes.extend(std::iter::repeat_n(0xAB, 100));
    std::fs::write(&broken, bytes).unwrap();
    assert!(matches!(
        import(&db, &[source(&broken)]),
        Err(DbError::Archive { .. })
    ));
    assert_untouched(&db, &before);
    let missing = dir.path().join("missing.zip");
    assert!(
        matches!(import(&db, &[source(&missing)]), Err(DbError::Input(e)) if e.path == missing)
    );
    assert_untouched(&db, &before);
}

#[test]
fn members_sharing_a_name_are_all_read() {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("dup.zip");
    write_zip(
        &zip,
        &[
            ("a.json", b"garbage"),
            ("b.json", &npm_record("DUP-1", "a")),
            ("c.json", &npm_record("DUP-2", "b")),
        ],
    );
    let mut bytes = std::fs::read(&zip).unwrap();
    for at in 0..bytes.len() - 6 {
        if &bytes[at..at + 6] == b"b.json" || &bytes[at..at + 6] == b"c.json" {
            bytes[at] = b'a';
        }
    }
    std::fs::write(&zip, &bytes).unwrap();
    let db = dir.path().join("db.sqlite");
    let summary = import(&db, &[source(&zip)]).unwrap();
    assert_eq!((summary.records, summary.skipped), (2, 1), "{summary:?}");
    assert_eq!(matched_ids(&db, "a"), ["DUP-1"]);
    assert_eq!(matched_ids(&db, "b"), ["DUP-2"]);
}

#[test]
fn a_fifo_is_never_opened() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.zip");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let db = dir.path().join("db.sqlite");
    let err = import(&db, &[source(&fifo)]).unwrap_err();
    assert!(err.to_string().ends_with("(a FIFO)"), "{err}");
    let err = import(&fifo, &[source(dir.path())]).unwrap_err();
    assert!(err.to_string().ends_with("(a FIFO)"), "{err}");
}

#[test]
fn foreign_files_are_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("advisories.sqlite");
    std::fs::write(
        &db,
        "precious notes, not a database, long enough to have a header",
    )
    .unwrap();
    let file = dir.path().join("A-1.json");
    std::fs::write(&file, npm_record("A-1", "a")).unwrap();
    assert!(import(&db, &[source(&file)]).is_err());
    assert_eq!(
        std::fs::read_to_string(&db).unwrap(),
        "precious notes, not a database, long enough to have a header"
    );
}

#[test]
fn an_older_schema_is_rebuilt_not_merged() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = good_db(dir.path());
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("PRAGMA user_version = 0")
        .unwrap();
    assert!(matches!(
        Database::open(&db),
        Err(DbError::Schema { found: 0, .. })
    ));
    let file = dir.path().join("A-1.json");
    std::fs::write(&file, npm_record("A-1", "a")).unwrap();
    let summary = import(&db, &[source(&file)]).unwrap();
    assert!(
        summary.warnings[0].contains("schema version 0"),
        "{:?}",
        summary.warnings
    );
    assert_eq!(matched_ids(&db, "a"), ["A-1"]);
}
