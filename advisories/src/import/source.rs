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

use zip::ZipArchive;

use super::ImportLimits;
use crate::db::DbError;

/// One document: its name (archive entry or path) and bytes.
pub(crate) struct RawEntry {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Documents of one source, read in order.
pub(crate) enum EntryReader<'l> {
    Zip {
        path: PathBuf,
        archive: Box<ZipArchive<BufReader<File>>>,
        next: usize,
        inflated: u64,
        limits: &'l ImportLimits,
    },
    Files {
        files: std::vec::IntoIter<PathBuf>,
        limits: &'l ImportLimits,
    },
}

/// The zip local-file and end-of-central-directory signatures.
const ZIP_MAGIC: [&[u8]; 2] = [b"PK\x03\x04", b"PK\x05\x06"];

impl<'l> EntryReader<'l> {
    /// Opens `path`: a directory, a zip (by its first bytes) or a JSON file.
    pub fn open(path: &Path, limits: &'l ImportLimits) -> Result<Self, DbError> {
        let meta = fs_err::metadata(path).map_err(DbError::io(path))?;
        if meta.is_dir() {
            let mut files = Vec::new();
            collect_json(path, &mut files)?;
            files.sort();
            return Ok(EntryReader::Files {
                files: files.into_iter(),
                limits,
            });
        }
        let mut magic = [0u8; 4];
        let mut file = File::open(path).map_err(DbError::io(path))?;
        let read = read_up_to(&mut file, &mut magic).map_err(DbError::io(path))?;
        if ZIP_MAGIC.contains(&&magic[..read]) {
            let file = File::open(path).map_err(DbError::io(path))?;
            let archive =
                ZipArchive::new(BufReader::new(file)).map_err(|source| DbError::Archive {
                    path: path.to_path_buf(),
                    source,
                })?;
            return Ok(EntryReader::Zip {
                path: path.to_path_buf(),
                archive: Box::new(archive),
                next: 0,
                inflated: 0,
                limits,
            });
        }
        Ok(EntryReader::Files {
            files: vec![path.to_path_buf()].into_iter(),
            limits,
        })
    }

    /// The next document, `None` at the end.
    pub fn next_entry(&mut self) -> Result<Option<RawEntry>, DbError> {
        match self {
            EntryReader::Zip {
                path,
                archive,
                next,
                inflated,
                limits,
            } => next_zip_entry(path, archive, next, inflated, limits),
            EntryReader::Files { files, limits } => match files.next() {
                Some(file) => read_file(&file, limits).map(Some),
                None => Ok(None),
            },
        }
    }
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
    let file = File::open(path).map_err(DbError::io(path))?;
    let entry = path.display().to_string();
    let bytes = read_bounded(file, limits.max_record_bytes).map_err(|e| match e {
        Bounded::Io(source) => DbError::Io {
            path: path.to_path_buf(),
            source,
        },
        Bounded::Over => refused(entry.clone(), over_limit(limits)),
    })?;
    Ok(RawEntry { name: entry, bytes })
}

fn next_zip_entry(
    path: &Path,
    archive: &mut ZipArchive<BufReader<File>>,
    next: &mut usize,
    inflated: &mut u64,
    limits: &ImportLimits,
) -> Result<Option<RawEntry>, DbError> {
    while *next < archive.len() {
        let index = *next;
        *next += 1;
        let file = archive.by_index(index).map_err(|source| DbError::Archive {
            path: path.to_path_buf(),
            source,
        })?;
        let name = String::from_utf8_lossy(file.name_raw()).into_owned();
        let entry = format!("{}!{name}", path.display());
        if escapes(&name) {
            return Err(refused(entry, "entry name escapes the archive".into()));
        }
        if file.is_dir() || !name.to_ascii_lowercase().ends_with(".json") {
            continue;
        }
        let compressed = file.compressed_size();
        let budget = limits
            .max_total_bytes
            .saturating_sub(*inflated)
            .min(limits.max_record_bytes);
        let bytes = read_bounded(file, budget).map_err(|e| match e {
            Bounded::Io(source) => DbError::Io {
                path: PathBuf::from(&entry),
                source,
            },
            Bounded::Over if budget < limits.max_record_bytes => refused(
                entry.clone(),
                format!(
                    "the archive inflates to more than {} bytes (zip bomb?)",
                    limits.max_total_bytes
                ),
            ),
            Bounded::Over => refused(entry.clone(), over_limit(limits)),
        })?;
        let size = bytes.len() as u64;
        if size > limits.ratio_floor_bytes && size / compressed.max(1) > limits.max_ratio {
            return Err(refused(
                entry,
                format!(
                    "entry inflates more than {}:1 (zip bomb?)",
                    limits.max_ratio
                ),
            ));
        }
        *inflated += size;
        return Ok(Some(RawEntry { name, bytes }));
    }
    Ok(None)
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
