//! Walking a zip archive (jar, war, apk) held in memory, through its
//! central directory one entry at a time, so memory does not grow with the
//! number of entries and members sharing a name are all read. Every
//! member's bytes, stored or deflated, are paid from the file's budget, so
//! members that overlap (a zip bomb) cannot multiply the work. A zip whose
//! central directory is missing (cut short) is read by its local headers
//! instead, up to where it breaks.

use super::budget::ExpansionBudget;
use super::{Content, Stop, Visit};
use std::io::Cursor;
use zip::read::{Config, read_zipfile_from_stream};
use zip::unstable::read::ZipIterable;
use zip::{CompressionMethod, ZipReadOptions};

/// Calls `visit` for every member of the zip archive `data`. A broken
/// member does not stop the walk; the first one is returned at its end.
pub(super) fn walk(
    data: &[u8],
    budget: &ExpansionBudget,
    visit: &mut Visit<'_>,
) -> Result<(), Stop> {
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
        } else if !matches!(
            entry.compression(),
            CompressionMethod::Stored | CompressionMethod::Deflated
        ) {
            let method = entry.compression();
            let why = format!("zip member compressed with an unsupported method ({method})");
            visit(&name, Content::Unreadable(why))
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
    budget: &ExpansionBudget,
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

#[cfg(test)]
mod tests {
    use super::super::build::zip;
    use super::*;

    /// Each member's name and what was made of it.
    fn members(data: &[u8]) -> (Vec<(String, String)>, Result<(), String>) {
        let budget = ExpansionBudget::new(1 << 20);
        let mut seen = Vec::new();
        let walked = walk(data, &budget, &mut |name, content| {
            let what = match content {
                Content::File(reader) => {
                    let mut text = String::new();
                    reader.read_to_string(&mut text).unwrap();
                    text
                }
                Content::Other => "other".into(),
                Content::Unreadable(why) => why,
            };
            seen.push((String::from_utf8_lossy(name).into_owned(), what));
            Ok(())
        });
        (seen, walked.map_err(|stop| format!("{stop:?}")))
    }

    /// Sets a header field of the `index`th member, in its local and its
    /// central header, at `local`/`central` bytes past each signature.
    fn patch(data: &mut [u8], index: usize, local: usize, central: usize, value: u16) {
        for (signature, offset) in [(b"PK\x03\x04", local), (b"PK\x01\x02", central)] {
            let at = data
                .windows(4)
                .enumerate()
                .filter(|(_, w)| w == signature)
                .nth(index)
                .unwrap()
                .0;
            data[at + offset..at + offset + 2].copy_from_slice(&value.to_le_bytes());
        }
    }

    #[test]
    fn encrypted_and_unsupported_members_are_named_not_read() {
        let mut data = zip(&[
            (b"a-bzip2.bin", b"one"),
            (b"b-secret.bin", b"two"),
            (b"c-plain.txt", b"three"),
        ]);
        patch(&mut data, 0, 8, 10, 12);
        patch(&mut data, 1, 6, 8, 1);
        let (seen, walked) = members(&data);
        assert_eq!(walked, Ok(()));
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[0].0, "a-bzip2.bin");
        assert_eq!(
            seen[0].1,
            "zip member compressed with an unsupported method (Bzip2)"
        );
        assert_eq!(
            seen[1],
            ("b-secret.bin".into(), "encrypted zip member".into())
        );
        assert_eq!(seen[2], ("c-plain.txt".into(), "three".into()));
    }

    #[test]
    fn members_with_one_name_are_all_read() {
        let data = zip(&[(b"dup-name", b"one"), (b"dup-name", b"two")]);
        let (seen, walked) = members(&data);
        assert_eq!(walked, Ok(()));
        let texts: Vec<&str> = seen.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(texts, ["one", "two"]);
    }
}
