//! The offline advisory database: one SQLite file, opened read-only for a
//! scan. [`crate::import`] builds it; [`Database::matches`] (in
//! `matching`) reads it.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

mod error;
pub mod schema;

pub use error::DbError;
pub use schema::SCHEMA_VERSION;

/// An open advisory database. One per scan; not shared between threads.
pub struct Database {
    pub(crate) conn: Connection,
    pub(crate) path: PathBuf,
}

/// What a database holds, for `imgscan db status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DbStatus {
    /// The database file.
    pub path: PathBuf,
    /// Its schema version.
    pub schema_version: u32,
    /// When it was last built (RFC 3339 UTC).
    pub built_at: String,
    /// One entry per ecosystem family, sorted by name.
    pub ecosystems: Vec<EcosystemStatus>,
}

/// Records of one ecosystem family (`Debian`, `AlmaLinux`, `npm`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EcosystemStatus {
    /// The family: the OSV ecosystem up to its first `:`.
    pub ecosystem: String,
    /// Records with at least one affected package in it.
    pub records: usize,
    /// Malformed records passed over when it was last imported.
    pub skipped: usize,
    /// Where it was last imported from (URL or path).
    pub source: String,
}

impl Database {
    /// Opens an existing database read-only: [`DbError::Missing`] when
    /// there is none, [`DbError::Schema`] when it is not an imgscan
    /// database of [`SCHEMA_VERSION`].
    pub fn open(path: &Path) -> Result<Database, DbError> {
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => {
                return Err(DbError::Io {
                    path: path.to_path_buf(),
                    cause: std::io::Error::other("not a regular file"),
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(DbError::Missing(path.to_path_buf()));
            }
            Err(source) => return Err(DbError::io(path)(source)),
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(DbError::sqlite(path))?;
        check_schema(&conn, path)?;
        Ok(Database {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// The database's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Schema version, build time and records per ecosystem family.
    pub fn status(&self) -> Result<DbStatus, DbError> {
        let sql = DbError::sqlite(&self.path);
        let built_at: String = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'built_at'", [], |r| {
                r.get(0)
            })
            .map_err(sql)?;
        let mut ecosystems = std::collections::BTreeMap::<String, EcosystemStatus>::new();
        let mut stmt = self
            .conn
            .prepare("SELECT family, source, skipped FROM sources")
            .map_err(DbError::sqlite(&self.path))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(EcosystemStatus {
                    ecosystem: r.get(0)?,
                    records: 0,
                    skipped: r.get::<_, i64>(2)?.try_into().unwrap_or(0),
                    source: r.get(1)?,
                })
            })
            .map_err(DbError::sqlite(&self.path))?;
        for row in rows {
            let row = row.map_err(DbError::sqlite(&self.path))?;
            ecosystems.insert(row.ecosystem.clone(), row);
        }
        let mut stmt = self
            .conn
            .prepare("SELECT family, COUNT(DISTINCT record_id) FROM affected GROUP BY family")
            .map_err(DbError::sqlite(&self.path))?;
        let counts = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(DbError::sqlite(&self.path))?;
        for count in counts {
            let (family, records) = count.map_err(DbError::sqlite(&self.path))?;
            let entry = ecosystems
                .entry(family.clone())
                .or_insert_with(|| EcosystemStatus {
                    ecosystem: family,
                    records: 0,
                    skipped: 0,
                    source: String::new(),
                });
            entry.records = records.try_into().unwrap_or(0);
        }
        Ok(DbStatus {
            path: self.path.clone(),
            schema_version: SCHEMA_VERSION,
            built_at,
            ecosystems: ecosystems.into_values().collect(),
        })
    }
}

/// Refuses a file that is not an imgscan database of this schema version.
pub(crate) fn check_schema(conn: &Connection, path: &Path) -> Result<(), DbError> {
    let (app, version) = schema_marks(conn).map_err(DbError::sqlite(path))?;
    if app != schema::APPLICATION_ID || version != SCHEMA_VERSION {
        return Err(DbError::Schema {
            path: path.to_path_buf(),
            found: if app == schema::APPLICATION_ID {
                version
            } else {
                0
            },
            expected: SCHEMA_VERSION,
        });
    }
    Ok(())
}

/// `PRAGMA application_id` and `PRAGMA user_version` of a database.
pub(crate) fn schema_marks(conn: &Connection) -> rusqlite::Result<(i32, u32)> {
    let app = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    let version = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    Ok((app, version))
}

/// Where the database lives: `$IMGSCAN_DB`, else
/// `$XDG_CACHE_HOME/imgscan/advisories.sqlite` (when absolute), else
/// `~/.cache/imgscan/advisories.sqlite`; `None` without a home directory.
pub fn default_db_path() -> Option<PathBuf> {
    db_path_from(|name| std::env::var_os(name))
}

/// [`default_db_path`] over any environment lookup.
fn db_path_from(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
    let var = |name: &str| env(name).filter(|v| !v.is_empty());
    if let Some(path) = var("IMGSCAN_DB") {
        return Some(PathBuf::from(path));
    }
    let cache = var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| var("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(cache.join("imgscan").join("advisories.sqlite"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_path_order() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| std::ffi::OsString::from(v))
            }
        };
        const ALL: &[(&str, &str)] = &[
            ("IMGSCAN_DB", "/db.sqlite"),
            ("XDG_CACHE_HOME", "/xdg"),
            ("HOME", "/home/u"),
        ];
        assert_eq!(db_path_from(env(ALL)), Some("/db.sqlite".into()));
        assert_eq!(
            db_path_from(env(&ALL[1..])),
            Some("/xdg/imgscan/advisories.sqlite".into())
        );
        assert_eq!(
            db_path_from(env(&[("XDG_CACHE_HOME", "rel"), ("HOME", "/home/u")])),
            Some("/home/u/.cache/imgscan/advisories.sqlite".into())
        );
        assert_eq!(
            db_path_from(env(&[("IMGSCAN_DB", ""), ("HOME", "/h")])),
            Some("/h/.cache/imgscan/advisories.sqlite".into())
        );
        assert_eq!(db_path_from(env(&[])), None);
    }

    #[test]
    fn missing_and_foreign_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none.sqlite");
        assert!(matches!(Database::open(&path), Err(DbError::Missing(p)) if p == path));

        let foreign = dir.path().join("foreign.sqlite");
        Connection::open(&foreign)
            .unwrap()
            .execute_batch("CREATE TABLE t (x); PRAGMA user_version = 7;")
            .unwrap();
        match Database::open(&foreign) {
            Err(DbError::Schema {
                found, expected, ..
            }) => assert_eq!((found, expected), (0, SCHEMA_VERSION)),
            other => panic!("expected a schema error, got {:?}", other.err()),
        }

        let newer = dir.path().join("newer.sqlite");
        let conn = Connection::open(&newer).unwrap();
        schema::create(&conn).unwrap();
        conn.execute_batch("PRAGMA user_version = 99;").unwrap();
        drop(conn);
        assert!(matches!(
            Database::open(&newer),
            Err(DbError::Schema { found: 99, .. })
        ));

        let text = dir.path().join("text.sqlite");
        std::fs::write(&text, "this is not sqlite at all, not even close........").unwrap();
        assert!(matches!(Database::open(&text), Err(DbError::Sqlite { .. })));
    }
}
