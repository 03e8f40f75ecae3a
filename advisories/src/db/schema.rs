//! The SQLite schema of the advisory database, and its version.
//!
//! One row per record (`records`) and one per affected package entry
//! (`affected`), looked up by the index on `(eco_key, name)`: matching
//! costs one indexed lookup per package name. Ranges are stored compactly
//! as JSON, GIT ranges dropped and every version already checked against
//! the ecosystem's scheme, so matching only walks them. `sources` says where
//! each ecosystem family came from; `meta` holds `built_at`.
//!
//! `PRAGMA application_id` marks the file as imgscan's and
//! `PRAGMA user_version` is [`SCHEMA_VERSION`]: a file with another
//! version is refused when opened, and replaced (not merged) on import.

use rusqlite::Connection;

/// The schema version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

/// `PRAGMA application_id` of an imgscan advisory database (`imgs`).
pub const APPLICATION_ID: i32 = 0x696d_6773;

/// Creates the tables and indexes in an empty database.
pub(crate) fn create(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(&format!(
        "PRAGMA application_id = {APPLICATION_ID};
         PRAGMA user_version = {SCHEMA_VERSION};
         CREATE TABLE meta (
             key   TEXT PRIMARY KEY,
             value TEXT NOT NULL
         ) WITHOUT ROWID;
         CREATE TABLE sources (
             family   TEXT PRIMARY KEY,  -- `Debian`, `Red Hat`, `npm`
             source   TEXT NOT NULL,     -- URL or path it was imported from
             skipped  INTEGER NOT NULL,  -- malformed records passed over
             imported TEXT NOT NULL      -- RFC 3339 UTC
         ) WITHOUT ROWID;
         CREATE TABLE records (
             id        TEXT PRIMARY KEY,
             modified  TEXT NOT NULL,
             published TEXT NOT NULL,
             summary   TEXT NOT NULL,
             aliases   TEXT NOT NULL,    -- JSON array of ids
             upstream  TEXT NOT NULL,    -- JSON array of ids
             related   TEXT NOT NULL     -- JSON array of ids
         ) WITHOUT ROWID;
         CREATE TABLE affected (
             record_id    TEXT NOT NULL,
             family       TEXT NOT NULL, -- ecosystem up to the first `:`
             ecosystem    TEXT NOT NULL, -- as the record writes it
             eco_key      TEXT NOT NULL, -- ecosystem up to `::` (Red Hat)
             name         TEXT NOT NULL,
             ranges       TEXT NOT NULL, -- JSON [[event, ...], ...] per range
             versions     TEXT NOT NULL, -- JSON array of versions
             severity     TEXT NOT NULL, -- CRITICAL|HIGH|MEDIUM|LOW|UNKNOWN
             cvss_version TEXT,
             cvss_vector  TEXT,
             cvss_score   REAL
         );
         CREATE INDEX affected_by_package ON affected (eco_key, name);
         CREATE INDEX affected_by_record ON affected (record_id);"
    ))
}

/// The lookup key of an ecosystem: everything before `::`. Red Hat writes
/// `Red Hat:enterprise_linux:9::appstream`, `…::baseos` and so on for one
/// release; the key `Red Hat:enterprise_linux:9` finds them all with one
/// indexed equality. Other ecosystems are their own key.
pub fn ecosystem_key(ecosystem: &str) -> &str {
    ecosystem.split("::").next().unwrap_or(ecosystem)
}

/// The family of an ecosystem: the part before the first `:` (`Debian`,
/// `Alpine`, `Red Hat`, `npm`), as osv.dev splits its per-ecosystem dumps.
pub fn ecosystem_family(ecosystem: &str) -> &str {
    ecosystem.split(':').next().unwrap_or(ecosystem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_families() {
        assert_eq!(
            ecosystem_key("Red Hat:enterprise_linux:9::appstream"),
            "Red Hat:enterprise_linux:9"
        );
        assert_eq!(ecosystem_key("Ubuntu:22.04:LTS"), "Ubuntu:22.04:LTS");
        assert_eq!(ecosystem_key("npm"), "npm");
        assert_eq!(ecosystem_family("Rocky Linux:8"), "Rocky Linux");
        assert_eq!(ecosystem_family("npm"), "npm");
    }

    #[test]
    fn schema_is_versioned() {
        let conn = Connection::open_in_memory().unwrap();
        create(&conn).unwrap();
        let version: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        let app: i32 = conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .unwrap();
        assert_eq!((version, app), (SCHEMA_VERSION, APPLICATION_ID));
    }
}
