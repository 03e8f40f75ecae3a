//! The OSV import driven as `imgscan db import FILE` drives it: the input
//! written as a file (a JSON record, or a zip of them, by its bytes) and
//! imported into a fresh database in the scratch directory.

use crate::scratch;
use imgscan_advisories::{ImportLimits, ImportSource, import_with_limits};

/// Imports `data`, saved as the scratch file `name`, into a new database
/// (the result is dropped: a refusal is fine, a panic is the bug).
pub fn import(name: &str, data: &[u8]) {
    let path = scratch::file(name, data);
    let db = scratch::dir().join("advisories.sqlite");
    let _ = std::fs::remove_file(&db);
    let source = ImportSource {
        origin: path.display().to_string(),
        path,
    };
    let _ = import_with_limits(&db, &[source], &ImportLimits::default());
}
