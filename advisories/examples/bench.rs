//! Import and matching speed at scale: the real AlmaLinux and malicious-npm
//! dumps (~27,000 records) grown to N records (default 100,000) by copies
//! with renamed ids, written as one `all.zip`; then the import is timed,
//! and matching 2,000 packages (1,000 AlmaLinux 9 rpms, 1,000 npm) against
//! the result. Run in release by `benches/advisories.sh`.
//!
//!   bench [DATA_DIR] [RECORDS] [WORK_DIR]

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Instant;

use imgscan_advisories::{Database, ImportSource, import};
use imgscan_sbom::{Ecosystem, OsRelease, Package};
use serde_json::Value;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let data = PathBuf::from(args.next().unwrap_or_else(|| "../shared/data".into()));
    let target: usize = args.next().map_or(Ok(100_000), |n| n.parse())?;
    let work = args.next().map_or_else(std::env::temp_dir, PathBuf::from);
    std::fs::create_dir_all(&work)?;

    let mut originals = Vec::new();
    for dump in ["AlmaLinux-all.zip", "npm-malicious-all.zip"] {
        let mut zip = zip::ZipArchive::new(std::fs::File::open(data.join("osv").join(dump))?)?;
        for i in 0..zip.len() {
            let mut file = zip.by_index(i)?;
            let mut text = String::new();
            file.read_to_string(&mut text)?;
            let stem = file.name()?.trim_end_matches(".json").to_string();
            originals.push((stem, serde_json::from_str::<Value>(&text)?));
        }
    }

    let zip_path = work.join(format!("bench-{target}.zip"));
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path)?);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for n in 0..target {
        let (stem, record) = &originals[n % originals.len()];
        let mut record = record.clone();
        let copy = n / originals.len();
        let name = if copy > 0 {
            // Unnumbered MAL-0000 reports have an empty id and take the
            // file stem instead: rename both.
            if let Some(id) = record["id"].as_str().filter(|id| !id.is_empty()) {
                record["id"] = Value::String(format!("{id}-COPY{copy}"));
            }
            format!("{stem}-COPY{copy}.json")
        } else {
            format!("{stem}.json")
        };
        zip.start_file(name, options)?;
        zip.write_all(record.to_string().as_bytes())?;
    }
    zip.finish()?;

    let db_path = work.join(format!("bench-{target}.sqlite"));
    let _ = std::fs::remove_file(&db_path);
    let start = Instant::now();
    let summary = import(
        &db_path,
        &[ImportSource {
            path: zip_path.clone(),
            origin: zip_path.display().to_string(),
        }],
    )?;
    let import_time = start.elapsed();
    println!(
        "import: {target} documents in {:.2} s ({} stored, {} skipped, {} withdrawn, {} ignored); database {:.1} MiB",
        import_time.as_secs_f64(),
        summary.records,
        summary.skipped,
        summary.withdrawn,
        summary.ignored,
        std::fs::metadata(&db_path)?.len() as f64 / (1 << 20) as f64,
    );

    let records: Vec<Value> = originals.into_iter().map(|(_, r)| r).collect();
    let packages = bench_packages(&records);
    let os = OsRelease {
        id: "almalinux".into(),
        version_id: Some("9.4".into()),
        name: None,
    };
    let start = Instant::now();
    let db = Database::open(&db_path)?;
    let found = db.matches(&packages, Some(&os))?;
    let match_time = start.elapsed();
    println!(
        "match: {} packages in {:.1} ms (open included), {} vulnerabilities",
        packages.len(),
        match_time.as_secs_f64() * 1000.0,
        found.len()
    );
    let start = Instant::now();
    let again = db.matches(&packages, Some(&os))?;
    println!(
        "match again (same handle): {:.1} ms, {} vulnerabilities",
        start.elapsed().as_secs_f64() * 1000.0,
        again.len()
    );
    std::fs::remove_file(&zip_path)?;
    Ok(())
}

/// 1,000 AlmaLinux 9 rpm names from the records, at an old release of the
/// version the record fixes, and 1,000 npm names from the MAL records.
fn bench_packages(records: &[Value]) -> Vec<Package> {
    let mut rpms = std::collections::BTreeMap::new();
    let mut npms = std::collections::BTreeMap::new();
    for record in records {
        for affected in record["affected"].as_array().into_iter().flatten() {
            let eco = affected["package"]["ecosystem"].as_str().unwrap_or("");
            let name = affected["package"]["name"]
                .as_str()
                .unwrap_or("")
                .to_string();
            let fixed = affected["ranges"][0]["events"]
                .as_array()
                .and_then(|e| e.iter().find_map(|e| e["fixed"].as_str()));
            match eco {
                "AlmaLinux:9" => {
                    if let Some(f) = fixed {
                        let upstream = f.split('-').next().unwrap_or(f);
                        rpms.entry(name)
                            .or_insert_with(|| format!("{upstream}-1.el9"));
                    }
                }
                "npm" => {
                    let version = affected["versions"][0]
                        .as_str()
                        .unwrap_or("1.0.0")
                        .to_string();
                    npms.entry(name).or_insert(version);
                }
                _ => {}
            }
        }
    }
    let rpm = rpms.into_iter().take(1000).map(|(n, v)| {
        Package::new(
            n.clone(),
            v.clone(),
            Ecosystem::Rpm,
            format!("pkg:rpm/almalinux/{n}@{v}"),
            String::new(),
        )
    });
    let npm = npms.into_iter().take(1000).map(|(n, v)| {
        Package::new(
            n.clone(),
            v.clone(),
            Ecosystem::Npm,
            format!("pkg:npm/{n}@{v}"),
            String::new(),
        )
    });
    rpm.chain(npm).collect()
}
