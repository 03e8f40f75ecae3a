//! Walking a zip archive (jar, war, apk) held in memory, through its
//! central directory one entry at a time, so memory does not grow with the
//! number of entries and members sharing a name are all read. Every
//! member's bytes, stored or deflated, are paid from the file's budget, so
//! members that overlap (a zip bomb) cannot multiply the work. A zip whose
//! central directory is missing (cut short) is read by its local headers
//! instead, up to where it breaks.

use super::budget::Budget;
use super::{Content, Stop, Visit};
use std::io::Cursor;
use zip::ZipReadOptions;
use zip::read::{Config, read_zipfile_from_stream};
use zip::unstable::read::ZipIterable;

/// Calls `visit` for every member of the zip archive `data`. A broken
/// member does not stop the walk; the first one is returned at its end.
pub(super) fn walk(data: &[u8], budget: &Budget, visit: &mut Visit<'_>) -> Result<(), Stop> {
    let mut archive = match ZipIterable::try_new(Cursor::new(data), Config::default()) {
        Ok(archive) => archive,
        Err(err) => return walk_local_headers(data, budget, visit, &err),
    };
    let mut body = Cursor::new(data);
    let mut first_broken = None;
    let entries = archive.files().map_err(|e| Stop::Broken(e.to_string()))?;
    for entry in entries {
        let entry = entry.map_err(|e| Stop::Broken(e.to_string()))?;
        let name = entry.name_raw().to_vec();
        let visited = if entry.is_dir() || entry.is_symlink() {
            visit(&name, Content::Other)
        } else if entry.encrypted() {
            visit(&name, Content::Unreadable("encrypted zip member".into()))
        } else {
            match entry.with_reader(&mut body, ZipReadOptions::default()) {
                Ok(mut file) => visit(&name, Content::File(&mut budget.meter(&mut file))),
                Err(err) => visit(
                    &name,
                    Content::Unreadable(format!("zip member cannot be read: {err}")),
                ),
            }
        };
        match visited {
            Err(Stop::Broken(reason)) => {
                first_broken.get_or_insert(reason);
            }
            other => other?,
        }
    }
    first_broken.map_or(Ok(()), |reason| Err(Stop::Broken(reason)))
}

/// Reads members from their local headers, in order, until the data ends
/// or breaks; the missing central directory is reported either way.
fn walk_local_headers(
    data: &[u8],
    budget: &Budget,
    visit: &mut Visit<'_>,
    why: &zip::result::ZipError,
) -> Result<(), Stop> {
    let mut reader = data;
    while let Ok(Some(mut file)) = read_zipfile_from_stream(&mut reader) {
        let name = file.name_raw().to_vec();
        if file.is_dir() {
            visit(&name, Content::Other)?;
        } else {
            visit(&name, Content::File(&mut budget.meter(&mut file)))?;
        }
    }
    Err(Stop::Broken(format!(
        "no usable central directory ({why}); read the members before the break"
    )))
}
