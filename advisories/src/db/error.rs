//! The one error type of the advisory database: opening, importing and
//! matching. Every variant names the file or archive entry at fault.
//!
//! A variant that wraps another error writes its text into its own message
//! and does not expose it as `source()`: printers that walk the chain
//! would print the cause twice (rusqlite's errors repeat their own cause
//! once more), and the CLI prints one line.

use std::path::PathBuf;

/// Why the advisory database could not be opened, built or read.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// There is no database at this path (run `imgscan db update`).
    #[error("no advisory database at `{0}`")]
    Missing(PathBuf),
    /// The file is not an imgscan advisory database of this version.
    #[error(
        "advisory database `{path}` has schema version {found}, this imgscan reads version {expected}"
    )]
    Schema {
        /// The database file.
        path: PathBuf,
        /// The version found (0 when the file is not an imgscan database).
        found: u32,
        /// The version this build reads and writes.
        expected: u32,
    },
    /// SQLite failed on this file.
    #[error("advisory database `{path}`: {cause}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        cause: rusqlite::Error,
    },
    /// Reading or writing a file failed.
    #[error("`{path}`: {cause}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        cause: std::io::Error,
    },
    /// A source or database path that is not a regular file or directory
    /// (a FIFO, a device), or cannot be looked at.
    #[error(transparent)]
    Input(#[from] imgscan_sbom::input::InputError),
    /// A zip archive could not be read (corrupt, truncated, unsupported).
    #[error("zip archive `{path}`: {cause}")]
    Archive {
        /// The archive.
        path: PathBuf,
        /// What the zip reader said.
        cause: zip::result::ZipError,
    },
    /// An import was refused because of one archive entry or file: an
    /// escaping name, a record over the size limit, a zip bomb. Nothing
    /// was changed.
    #[error("import refused at `{entry}`: {reason}")]
    Refused {
        /// The file, or `ARCHIVE!ENTRY` for a zip entry.
        entry: String,
        /// Why (lower-case).
        reason: String,
    },
    /// The database holds data this build cannot read back.
    #[error("advisory database `{path}` is corrupt: {reason}")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What could not be read.
        reason: String,
    },
}

impl DbError {
    pub(crate) fn sqlite(path: &std::path::Path) -> impl FnOnce(rusqlite::Error) -> DbError + '_ {
        move |cause| DbError::Sqlite {
            path: path.to_path_buf(),
            cause,
        }
    }

    pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> DbError + '_ {
        move |cause| DbError::Io {
            path: path.to_path_buf(),
            cause,
        }
    }
}
