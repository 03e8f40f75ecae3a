//! rpm's sqlite database (`rpmdb.sqlite`, rpm 4.16 and later: Fedora 33+,
//! RHEL 9, Rocky, AlmaLinux 9): the table `Packages(hnum, blob)` holds one
//! header blob per package.
//!
//! The bytes are deserialized into an in-memory, read-only connection:
//! nothing touches the disk. rpm keeps the file in WAL mode; an in-memory
//! database cannot use a write-ahead log, so the copy's header is marked
//! as a rollback-journal file (bytes 18 and 19) before sqlite sees it.
//! Pages still sitting in a `-wal` file beside the database are not read,
//! as a closed rpm database has checkpointed them.

use super::CatalogError;
use rusqlite::{Connection, OpenFlags};
use std::io::Read;

const MAGIC: &[u8] = b"SQLite format 3\0";
/// Size of the sqlite file header.
const HEADER: usize = 100;

/// True when `content` starts with the sqlite file magic.
pub(super) fn detect(content: &[u8]) -> bool {
    content.starts_with(MAGIC)
}

fn err(reason: impl std::fmt::Display) -> CatalogError {
    CatalogError::RpmSqlite(reason.to_string())
}

/// Refuses a file cut short: sqlite would read the pages that remain and
/// could answer with some packages missing, rather than fail.
fn check_size(content: &[u8]) -> Result<(), CatalogError> {
    let be32 = |at: usize| {
        u32::from_be_bytes([
            content[at],
            content[at + 1],
            content[at + 2],
            content[at + 3],
        ])
    };
    let page_size = match u16::from_be_bytes([content[16], content[17]]) {
        1 => 65536,
        size => usize::from(size),
    };
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(err(format!(
            "page size `{page_size}` is not a power of two from 512 to 65536"
        )));
    }
    if !content.len().is_multiple_of(page_size) {
        return Err(err(format!(
            "file of `{}` bytes is not a whole number of `{page_size}`-byte pages",
            content.len()
        )));
    }
    // The page count in the header is valid when written by the same
    // change as the counter beside it (sqlite 3.7.0 and later).
    let pages = be32(28) as usize;
    if pages != 0 && be32(24) == be32(92) && pages.saturating_mul(page_size) > content.len() {
        return Err(err(format!(
            "truncated: `{pages}` pages of `{page_size}` bytes, but `{}` bytes",
            content.len()
        )));
    }
    Ok(())
}

/// Every `(hnum, header blob)` of the `Packages` table, by `hnum`.
pub(super) fn blobs(content: &[u8]) -> Result<Vec<(u32, Vec<u8>)>, CatalogError> {
    if content.len() < HEADER || !detect(content) {
        return Err(err(format!(
            "file of `{}` bytes has no sqlite header",
            content.len()
        )));
    }
    check_size(content)?;
    let mut conn =
        Connection::open_in_memory_with_flags(OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(err)?;
    // Versions 2/2 (WAL) become 1/1 (legacy journal) in sqlite's copy.
    let wal = content[18] == 2 || content[19] == 2;
    let versions: &[u8] = if wal { &[1, 1] } else { &content[18..20] };
    let reader = content[..18].chain(versions).chain(&content[20..]);
    conn.deserialize_read_exact("main", reader, content.len(), true)
        .map_err(err)?;
    let kind: Option<String> = conn
        .query_row(
            "SELECT type FROM sqlite_master WHERE name = 'Packages'",
            [],
            |row| row.get(0),
        )
        .map(Some)
        .or_else(|e| {
            if e == rusqlite::Error::QueryReturnedNoRows {
                Ok(None)
            } else {
                Err(err(e))
            }
        })?;
    if kind.as_deref() != Some("table") {
        return Err(err("no `Packages` table"));
    }
    let mut statement = conn
        .prepare("SELECT hnum, blob FROM Packages ORDER BY hnum")
        .map_err(err)?;
    let rows = statement
        .query_map([], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?))
        })
        .map_err(err)?;
    rows.map(|row| {
        let (hnum, blob) = row.map_err(err)?;
        let hnum =
            u32::try_from(hnum).map_err(|_| err(format!("header number `{hnum}` out of range")))?;
        Ok((hnum, blob))
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::rpm::tests::SQLITE;

    #[test]
    fn reads_every_blob_of_a_wal_mode_database() {
        assert_eq!(
            SQLITE[18], 2,
            "the fixture is in WAL mode, as rpm leaves it"
        );
        let blobs = blobs(SQLITE).unwrap();
        assert!(blobs.len() >= 20);
        assert!(blobs.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn truncated_database_is_an_error() {
        for len in [50, 4096, SQLITE.len() / 2, SQLITE.len() - 1] {
            let reason = blobs(&SQLITE[..len]).unwrap_err().to_string();
            assert!(reason.starts_with("sqlite: "), "{len}: {reason}");
        }
        let reason = blobs(&SQLITE[..SQLITE.len() - 4096])
            .unwrap_err()
            .to_string();
        assert!(reason.contains("truncated"), "{reason}");
    }

    #[test]
    fn other_sqlite_databases_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.sqlite");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE Other (x); CREATE VIEW Packages AS SELECT 1 AS hnum, x'00' AS blob;",
        )
        .unwrap();
        drop(conn);
        let reason = blobs(&std::fs::read(&path).unwrap())
            .unwrap_err()
            .to_string();
        assert!(reason.contains("no `Packages` table"), "{reason}");
    }
}
