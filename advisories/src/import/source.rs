//! Where OSV documents come from: a zip (osv.dev's per-ecosystem
//! `all.zip`), a directory searched recursively for `*.json`, or one JSON
//! file. Each yields whole documents, one at a time, within the import
//! limits.
//!
//! A zip is not trusted: an entry name that could escape (`..`, absolute,
//! a drive letter, NUL), a document over the size limit, an entry that
//! inflates beyond the ratio limit, or an archive whose entries together
//! inflate beyond the total limit refuses the whole import. Sizes are
//! measured on the bytes actually inflated, never taken from the headers.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use imgscan_sbom::input::{check_user_path, open_user_file};
use zip::ZipReadOptions;
use zip::read::Config;
use zip::unstable::read::ZipIterable;

use super::ImportLimits;
use crate::db::DbError;

/// One document: its name (archive entry or path) and bytes.
pub(crate) struct RawEntry {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// The zip local-file and end-of-central-directory signatures.
const ZIP_MAGIC: [&[u8]; 2] = [b"PK\x03\x04", b"PK\x05\x06"];

/// What the user named as a source.
const WHAT: &str = "advisory source";

/// Reads every document of `path` — a directory, a zip (by its first
/// bytes) or a JSON file — in order, handing each to `visit`. Only a
/// regular file or a directory is read: a FIFO or a device is refused.
pub(crate) fn read_entries(
    path: &Path,
    limits: &ImportLimits,
    visit: &mut dyn FnMut(RawEntry) -> Result<(), DbError>,
) -> Result<(), DbError> {
    if check_user_path(path, WHAT, true)?.is_dir() {
        let mut files = Vec::new();
        collect_json(path, &mut files)?;
        files.sort();
        for file in files {
            visit(read_file(&file, limits)?)?;
        }
        return Ok(());
    }
    let mut magic = [0u8; 4];
    let mut file = open_user_file(path, WHAT)?;
    let read = read_up_to(&mut file, &mut magic).map_err(DbError::io(path))?;
    if ZIP_MAGIC.contains(&&magic[..read]) {
        return read_zip(path, file, limits, visit);
    }
    visit(read_file(path, limits)?)
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Every `*.json` below `dir`; symlinked directories are not followed.
fn collect_json(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), DbError> {
    for entry in fs_err::read_dir(dir).map_err(DbError::io(dir))? {
        let entry = entry.map_err(DbError::io(dir))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(DbError::io(&path))?;
        if kind.is_dir() {
            collect_json(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
            && fs_err::metadata(&path).is_ok_and(|m| m.is_file())
        {
            out.push(path);
        }
    }
    Ok(())
}

fn read_file(path: &Path, limits: &ImportLimits) -> Result<RawEntry, DbError> {
    let file = open_user_file(path, WHAT)?;
    let entry = path.display().to_string();
    let bytes = read_bounded(file, limits.max_record_bytes).map_err(|e| match e {
        Bounded::Io(cause) => DbError::Io {
            path: path.to_path_buf(),
            cause,
        },
        Bounded::Over => refused(entry.clone(), over_limit(limits)),
    })?;
    Ok(RawEntry { name: entry, bytes })
}

/// Reads every member of the zip, through its central directory one entry
/// at a time: memory does not grow with the number of members, and members
/// that share a name are all read (an index keyed by name would keep one).
fn read_zip(
    path: &Path,
    file: File,
    limits: &ImportLimits,
    visit: &mut dyn FnMut(RawEntry) -> Result<(), DbError>,
) -> Result<(), DbError> {
    let archive_err = |cause| DbError::Archive {
        path: path.to_path_buf(),
        cause,
    };
    let mut archive =
        ZipIterable::try_new(BufReader::new(file), Config::default()).map_err(archive_err)?;
    let entries = archive.files().map_err(archive_err)?;
    let mut inflated = 0u64;
    while let Some(entry) = entries.next() {
        let entry = entry.map_err(archive_err)?;
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        let at = format!("{}!{name}", path.display());
        if escapes(&name) {
            return Err(refused(at, "entry name escapes the archive".into()));
        }
        if entry.is_dir() || !name.to_ascii_lowercase().ends_with(".json") {
            continue;
        }
        let compressed = entry.compressed_size();
        let budget = limits
            .max_total_bytes
            .saturating_sub(inflated)
            .min(limits.max_record_bytes);
        let member = entry
            .with_reader(entries.reader_mut(), ZipReadOptions::default())
            .map_err(archive_err)?;
        let bytes = read_bounded(member, budget).map_err(|e| match e {
            Bounded::Io(cause) => DbError::Io {
                path: PathBuf::from(&at),
                cause,
            },
            Bounded::Over if budget < limits.max_record_bytes => refused(
                at.clone(),
                format!(
                    "the archive inflates to more than {} bytes (zip bomb?)",
                    limits.max_total_bytes
                ),
            ),
            Bounded::Over => refused(at.clone(), over_limit(limits)),
        })?;
        let size = bytes.len() as u64;
        if size > limits.ratio_floor_bytes && size / compressed.max(1) > limits.max_ratio {
            return Err(refused(
                at,
                format!(
                    "entry inflates more than {}:1 (zip bomb?)",
                    limits.max_ratio
                ),
            ));
        }
        inflated += size;
        visit(RawEntry { name, bytes })?;
    }
    Ok(())
}

fn refused(entry: String, reason: String) -> DbError {
    DbError::Refused { entry, reason }
}

/// Whether an archive entry name could point outside the directory it is
/// unpacked into (imgscan never unpacks, but such an archive is hostile).
fn escapes(name: &str) -> bool {
    let bytes = name.as_bytes();
    name.contains('\0')
        || name.starts_with('/')
        || name.starts_with('\\')
        || (bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':')
        || name.split(['/', '\\']).any(|part| part == "..")
}

/// Why a bounded read stopped.
enum Bounded {
    Io(std::io::Error),
    Over,
}

fn over_limit(limits: &ImportLimits) -> String {
    format!("record is over the {} byte limit", limits.max_record_bytes)
}

/// Reads at most `limit` bytes; more is [`Bounded::Over`].
fn read_bounded(reader: impl Read, limit: u64) -> Result<Vec<u8>, Bounded> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(Bounded::Io)?;
    if bytes.len() as u64 > limit {
        return Err(Bounded::Over);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_names() {
        for bad in [
            "../x.json",
            "a/../../x.json",
            "/etc/x.json",
            "\\x.json",
            "C:x.json",
            "a\\..\\x.json",
            "a\0.json",
        ] {
            assert!(escapes(bad), "{bad:?}");
        }
        for good in ["x.json", "a/b.json", "..x.json", "a/..b/c.json"] {
            assert!(!escapes(good), "{good:?}");
        }
    }
}
