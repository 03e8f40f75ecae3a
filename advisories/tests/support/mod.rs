//! Helpers shared by the integration tests: OSV fixtures written to a temp
//! directory and imported, packages and OS releases, zips built in code,
//! and the shared real-world data folder.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

use imgscan_advisories::{Database, ImportSource, ImportSummary, import};
use imgscan_sbom::{Ecosystem, OsRelease, Package, SourcePackage};
use serde_json::Value;

/// A temp dir holding a database built from `records`.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub db: Database,
    pub summary: ImportSummary,
}

/// Imports `records` (one JSON file each) into a fresh database.
pub fn db_with(records: &[Value]) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("records");
    std::fs::create_dir(&src).unwrap();
    for (i, record) in records.iter().enumerate() {
        std::fs::write(src.join(format!("{i:04}.json")), record.to_string()).unwrap();
    }
    let db_path = dir.path().join("db.sqlite");
    let summary = import(&db_path, &[source(&src)]).unwrap();
    let db = Database::open(&db_path).unwrap();
    Fixture { dir, db, summary }
}

/// An import source labelled with its own path.
pub fn source(path: &Path) -> ImportSource {
    ImportSource {
        path: path.to_path_buf(),
        origin: path.display().to_string(),
    }
}

/// An OS release.
pub fn os(id: &str, version: &str) -> OsRelease {
    OsRelease {
        id: id.into(),
        version_id: Some(version.into()),
        name: None,
    }
}

/// A package of `ecosystem`.
pub fn package(ecosystem: Ecosystem, name: &str, version: &str) -> Package {
    let purl = format!("pkg:{}/{name}@{version}", ecosystem.as_str());
    Package::new(name, version, ecosystem, purl, String::new())
}

/// A binary package built from a source package.
pub fn with_source(mut p: Package, name: &str, version: Option<&str>) -> Package {
    p.source = Some(SourcePackage {
        name: name.into(),
        version: version.map(str::to_string),
    });
    p
}

/// A minimal record: one affected package with the given ranges/versions.
pub fn record(id: &str, ecosystem: &str, name: &str, ranges: Value, versions: Value) -> Value {
    serde_json::json!({
        "id": id,
        "modified": "2025-01-01T00:00:00Z",
        "summary": format!("{id} summary"),
        "affected": [{
            "package": {"ecosystem": ecosystem, "name": name},
            "ranges": ranges,
            "versions": versions,
        }]
    })
}

/// An ECOSYSTEM range from `(kind, version)` events.
pub fn range(events: &[(&str, &str)]) -> Value {
    let events: Vec<Value> = events
        .iter()
        .map(|(k, v)| serde_json::json!({ *k: v }))
        .collect();
    serde_json::json!({"type": "ECOSYSTEM", "events": events})
}

/// Writes a deflated zip with the given (name, bytes) entries.
pub fn write_zip(path: &Path, entries: &[(&str, &[u8])]) {
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    for (name, bytes) in entries {
        zip.start_file(*name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

/// The shared real-world data folder, when it holds the OSV dumps.
pub fn shared_data() -> Option<PathBuf> {
    imgscan_fixtures::requires::shared_data("osv")
}
