//! Building the advisory database from OSV documents, atomically.
//!
//! The new database is written to a temporary file beside the target —
//! starting from a copy of the existing database when it has this schema
//! version, so an import adds to it and a record with the same id replaces
//! the old one — in one transaction, then renamed over the target. Any
//! error leaves the previous database exactly as it was.
//!
//! Documents are read one source at a time, parsed in parallel batches
//! (rayon) and written with prepared statements. A malformed record is
//! skipped with a warning and counted, per ecosystem family, in the
//! `sources` table; a hostile archive refuses the whole import
//! ([`DbError::Refused`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use rusqlite::{Connection, Statement, Transaction, params};
use serde::Serialize;

use crate::db::{DbError, schema, schema_marks};
use crate::severity::severity_name;
use imgscan_sbom::input::check_user_path;

mod record;
mod source;

use record::{Outcome, StoredRecord};
use source::{RawEntry, read_entries};

/// One thing to import: a zip, a directory or a JSON file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSource {
    /// Where it is on disk.
    pub path: PathBuf,
    /// Where it came from, as `db status` shows it: a URL for `db update`,
    /// else the path.
    pub origin: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Records stored (a record counts once, whatever its ecosystems).
    pub records: usize,
    /// Malformed records passed over.
    pub skipped: usize,
    /// The first warnings, at most [`ImportLimits::max_warnings`]: one per
    /// skipped record, naming it, and any note about the existing database.
    pub warnings: Vec<String>,
    /// Records stored per ecosystem family (`Debian`, `npm`, …).
    pub by_ecosystem: BTreeMap<String, usize>,
    /// Withdrawn records: not stored, and removed if an earlier import
    /// stored them.
    pub withdrawn: usize,
    /// Records with no affected package in an ecosystem imgscan matches.
    pub ignored: usize,
}

/// Bounds that make an import refuse hostile input. The defaults suit
/// osv.dev's dumps with a wide margin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportLimits {
    /// Largest document, in bytes (default 16 MiB).
    pub max_record_bytes: u64,
    /// Most bytes one archive may inflate to, all entries together
    /// (default 16 GiB).
    pub max_total_bytes: u64,
    /// Highest inflated:compressed ratio of one archive entry (default 200).
    pub max_ratio: u64,
    /// Entries up to this inflated size are not held to `max_ratio`
    /// (default 1 MiB).
    pub ratio_floor_bytes: u64,
    /// Most warnings kept in the summary (default 20).
    pub max_warnings: usize,
}

impl Default for ImportLimits {
    fn default() -> Self {
        ImportLimits {
            max_record_bytes: 16 << 20,
            max_total_bytes: 16 << 30,
            max_ratio: 200,
            ratio_floor_bytes: 1 << 20,
            max_warnings: 20,
        }
    }
}

/// Documents parsed together: enough to keep every core busy, few enough
/// to bound memory.
const BATCH_RECORDS: usize = 2048;
const BATCH_BYTES: usize = 64 << 20;

/// Imports `sources` into the database at `db_path` (creating it and its
/// directory), atomically, with the default [`ImportLimits`].
pub fn import(db_path: &Path, sources: &[ImportSource]) -> Result<ImportSummary, DbError> {
    import_with_limits(db_path, sources, &ImportLimits::default())
}

/// [`import`] with explicit limits.
pub fn import_with_limits(
    db_path: &Path,
    sources: &[ImportSource],
    limits: &ImportLimits,
) -> Result<ImportSummary, DbError> {
    let dir = match db_path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs_err::create_dir_all(dir).map_err(DbError::io(dir))?;
    let temp = tempfile::Builder::new()
        .prefix(".advisories-")
        .suffix(".sqlite.tmp")
        .tempfile_in(dir)
        .map_err(DbError::io(dir))?;
    let temp_path = temp.path().to_path_buf();
    let mut summary = ImportSummary::default();
    {
        let mut conn = start_from_existing(db_path, &temp_path, &mut summary)?;
        let sql = |e| DbError::sqlite(&temp_path)(e);
        let tx = conn.transaction().map_err(sql)?;
        let mut families = BTreeMap::<String, FamilySource>::new();
        {
            let mut writer = Writer::new(&tx, &temp_path)?;
            for source in sources {
                import_source(&mut writer, source, limits, &mut summary, &mut families)?;
            }
        }
        write_sources(&tx, &families).map_err(sql)?;
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value)
             VALUES ('built_at', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
            [],
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)?;
        conn.close().map_err(|(_, e)| sql(e))?;
    }
    temp.as_file().sync_all().map_err(DbError::io(&temp_path))?;
    temp.persist(db_path).map_err(|e| DbError::Io {
        path: db_path.to_path_buf(),
        cause: e.error,
    })?;
    Ok(summary)
}

/// Opens the temporary database: a copy of the existing one when it is an
/// imgscan database of this schema version, else a fresh one. A file at
/// `db_path` that is not SQLite at all is an error, never overwritten.
fn start_from_existing(
    db_path: &Path,
    temp_path: &Path,
    summary: &mut ImportSummary,
) -> Result<Connection, DbError> {
    let open = |path: &Path| Connection::open(path).map_err(DbError::sqlite(path));
    let pragmas = "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
                   PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536;";
    if db_path.exists() {
        // A FIFO or a device at the database's path would block or never
        // end the copy.
        check_user_path(db_path, "advisory database", false)?;
        fs_err::copy(db_path, temp_path).map_err(DbError::io(db_path))?;
        let conn = open(temp_path)?;
        let (app, version) = schema_marks(&conn).map_err(DbError::sqlite(db_path))?;
        if app == schema::APPLICATION_ID && version == schema::SCHEMA_VERSION {
            conn.execute_batch(pragmas)
                .map_err(DbError::sqlite(temp_path))?;
            return Ok(conn);
        }
        if app != schema::APPLICATION_ID {
            return Err(DbError::Schema {
                path: db_path.to_path_buf(),
                found: 0,
                expected: schema::SCHEMA_VERSION,
            });
        }
        drop(conn);
        fs_err::write(temp_path, b"").map_err(DbError::io(temp_path))?;
        summary.warnings.push(format!(
            "the database at `{}` had schema version {version}: rebuilt from these sources only",
            db_path.display()
        ));
    }
    let conn = open(temp_path)?;
    conn.execute_batch(pragmas)
        .and_then(|()| schema::create(&conn))
        .map_err(DbError::sqlite(temp_path))?;
    Ok(conn)
}

/// Where one ecosystem family came from in this import.
#[derive(Default)]
struct FamilySource {
    origins: BTreeSet<String>,
    skipped: usize,
}

fn import_source(
    writer: &mut Writer<'_>,
    source: &ImportSource,
    limits: &ImportLimits,
    summary: &mut ImportSummary,
    families: &mut BTreeMap<String, FamilySource>,
) -> Result<(), DbError> {
    let mut stored = BTreeMap::<String, usize>::new();
    let mut skipped = BTreeMap::<Option<String>, usize>::new();
    let mut batch = Vec::new();
    let mut batch_bytes = 0;
    let mut flush = |batch: &mut Vec<RawEntry>| -> Result<(), DbError> {
        let outcomes: Vec<Outcome> = batch
            .par_iter()
            .map(|e| record::prepare(&e.name, &e.bytes))
            .collect();
        batch.clear();
        for outcome in outcomes {
            match outcome {
                Outcome::Stored(record) => {
                    writer.store(&record)?;
                    summary.records += 1;
                    let of_record: BTreeSet<&str> =
                        record.affected.iter().map(|a| a.family.as_str()).collect();
                    for family in of_record {
                        *summary.by_ecosystem.entry(family.to_string()).or_default() += 1;
                        *stored.entry(family.to_string()).or_default() += 1;
                    }
                }
                Outcome::Withdrawn(id) => {
                    writer.remove(&id)?;
                    summary.withdrawn += 1;
                }
                Outcome::Ignored => summary.ignored += 1,
                Outcome::Malformed {
                    what,
                    reason,
                    family,
                } => {
                    summary.skipped += 1;
                    if summary.warnings.len() < limits.max_warnings {
                        summary.warnings.push(format!("skipped `{what}`: {reason}"));
                    }
                    *skipped.entry(family).or_default() += 1;
                }
            }
        }
        Ok(())
    };
    read_entries(&source.path, limits, &mut |entry: RawEntry| {
        batch_bytes += entry.bytes.len();
        batch.push(entry);
        if batch.len() >= BATCH_RECORDS || batch_bytes >= BATCH_BYTES {
            batch_bytes = 0;
            flush(&mut batch)?;
        }
        Ok(())
    })?;
    flush(&mut batch)?;
    // A record too broken to name its ecosystem counts against the family
    // most of its source's records belong to.
    let main_family = stored
        .iter()
        .max_by_key(|(_, n)| **n)
        .map_or_else(|| "unknown".to_string(), |(f, _)| f.clone());
    for family in stored.keys() {
        let entry = families.entry(family.clone()).or_default();
        entry.origins.insert(source.origin.clone());
    }
    for (family, count) in skipped {
        let entry = families
            .entry(family.unwrap_or_else(|| main_family.clone()))
            .or_default();
        entry.origins.insert(source.origin.clone());
        entry.skipped += count;
    }
    Ok(())
}

fn write_sources(
    tx: &Transaction<'_>,
    families: &BTreeMap<String, FamilySource>,
) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare(
        "INSERT OR REPLACE INTO sources (family, source, skipped, imported)
         VALUES (?1, ?2, ?3, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
    )?;
    for (family, source) in families {
        let origins: Vec<&str> = source.origins.iter().map(String::as_str).collect();
        stmt.execute(params![
            family,
            origins.join(", "),
            i64::try_from(source.skipped).unwrap_or(i64::MAX)
        ])?;
    }
    Ok(())
}

/// The prepared statements of one import.
struct Writer<'c> {
    path: &'c Path,
    delete_affected: Statement<'c>,
    delete_record: Statement<'c>,
    insert_record: Statement<'c>,
    insert_affected: Statement<'c>,
}

impl<'c> Writer<'c> {
    fn new(tx: &'c Transaction<'_>, path: &'c Path) -> Result<Self, DbError> {
        let prepare = |sql: &str| tx.prepare(sql).map_err(DbError::sqlite(path));
        Ok(Writer {
            path,
            delete_affected: prepare("DELETE FROM affected WHERE record_id = ?1")?,
            delete_record: prepare("DELETE FROM records WHERE id = ?1")?,
            insert_record: prepare(
                "INSERT OR REPLACE INTO records
                 (id, modified, published, summary, aliases, upstream, related)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?,
            insert_affected: prepare(
                "INSERT INTO affected
                 (record_id, family, ecosystem, eco_key, name, ranges, versions,
                  severity, cvss_version, cvss_vector, cvss_score)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?,
        })
    }

    /// Stores a record, replacing any earlier one with its id.
    fn store(&mut self, r: &StoredRecord) -> Result<(), DbError> {
        let sql = DbError::sqlite(self.path);
        self.delete_affected.execute([&r.id]).map_err(sql)?;
        self.insert_record
            .execute(params![
                r.id,
                r.modified,
                r.published,
                r.summary,
                r.aliases,
                r.upstream,
                r.related
            ])
            .map_err(DbError::sqlite(self.path))?;
        for a in &r.affected {
            let cvss = a.cvss.as_ref();
            self.insert_affected
                .execute(params![
                    r.id,
                    a.family,
                    a.ecosystem,
                    a.eco_key,
                    a.name,
                    a.ranges,
                    a.versions,
                    severity_name(a.severity),
                    cvss.map(|c| &c.version),
                    cvss.map(|c| &c.vector),
                    cvss.map(|c| c.score),
                ])
                .map_err(DbError::sqlite(self.path))?;
        }
        Ok(())
    }

    /// Removes a record (withdrawn), if stored.
    fn remove(&mut self, id: &str) -> Result<(), DbError> {
        self.delete_affected
            .execute([id])
            .and_then(|_| self.delete_record.execute([id]))
            .map(|_| ())
            .map_err(DbError::sqlite(self.path))
    }
}
