//! What `rpm -V` can verify of a package's files: each regular file's
//! digest from `FILEDIGESTS`, in the header's `FILEDIGESTALGO` (MD5 when
//! absent, as in rpm before 4.6). Left out, as rpm leaves them out or
//! expects them to change: `%config` files (the administrator edits
//! them), `%ghost` files (created at run time), `%missingok` files, files
//! the install did not write as they are (`FILESTATES` other than normal:
//! replaced by another package, not installed under `--excludedocs` or
//! `nodocs`, the other architecture's copy of a multilib file), and
//! digests in algorithms the layer pass does not compute (SHA-384/512/224).

use super::CatalogError;
use super::header::{FILEDIGESTALGO, FILEDIGESTS, FILEFLAGS, FILEMODES, FILESTATES, Header};
use crate::catalog::CatalogInput;
use crate::digest::{DigestAlgorithm, ShippedDigest, ShippedFile, database_path};
use crate::tree::locate;

/// `RPMFILE_CONFIG`, `RPMFILE_MISSINGOK` and `RPMFILE_GHOST`.
const CHANGING: u32 = 1 | 1 << 3 | 1 << 6;
/// `S_IFMT` and `S_IFREG`.
const TYPE_MASK: u16 = 0o170000;
const REGULAR: u16 = 0o100000;

/// The algorithm of an OpenPGP hash id, where the pass computes it.
fn algorithm(id: u32) -> Option<DigestAlgorithm> {
    match id {
        1 => Some(DigestAlgorithm::Md5),
        2 => Some(DigestAlgorithm::Sha1),
        8 => Some(DigestAlgorithm::Sha256),
        _ => None,
    }
}

/// The verifiable files among `paths` (the header's file list, absolute,
/// in header order). Per-file arrays that do not have one value per file
/// verify nothing rather than pair values with the wrong files.
pub(super) fn shipped_files(
    header: &Header<'_>,
    paths: &[Vec<u8>],
    input: &CatalogInput<'_>,
) -> Result<Vec<ShippedFile>, CatalogError> {
    let Some(algorithm) = algorithm(header.int32(FILEDIGESTALGO)?.unwrap_or(1)) else {
        return Ok(Vec::new());
    };
    let digests = header.string_array(FILEDIGESTS)?;
    let flags = header.int32_array(FILEFLAGS)?;
    let modes = header.int16_array(FILEMODES)?;
    let states = header.char_array(FILESTATES)?;
    let per_file = |len: usize| len == paths.len();
    if !per_file(digests.len())
        || !per_file(modes.len())
        || !(flags.is_empty() || per_file(flags.len()))
        || !(states.is_empty() || per_file(states.len()))
    {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    for (at, raw) in paths.iter().enumerate() {
        let changing = flags.get(at).is_some_and(|f| f & CHANGING != 0);
        let installed = states.get(at).is_none_or(|s| *s == 0);
        if changing || !installed || modes[at] & TYPE_MASK != REGULAR {
            continue;
        }
        let (Some(path), Some(digest)) = (
            database_path(raw),
            ShippedDigest::from_hex(algorithm, digests[at]),
        ) else {
            continue;
        };
        files.push(ShippedFile {
            path: locate(input.tree, path),
            digest,
        });
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::super::header::build::{Value, blob};
    use super::super::header::{BASENAMES, DIRINDEXES, DIRNAMES};
    use super::*;
    use crate::test_tree::MapTree;

    const SHA256: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    fn shipped(entries: &[(u32, Value<'_>)]) -> Vec<String> {
        let blob = blob(entries);
        let header = Header::parse(&blob).unwrap();
        let tree = MapTree::new(&[]);
        let input = CatalogInput {
            path: b"",
            content: b"",
            os: None,
            tree: &tree,
        };
        shipped_files(&header, &header.files().unwrap(), &input)
            .unwrap()
            .into_iter()
            .map(|f| {
                format!(
                    "{} {}",
                    String::from_utf8_lossy(&f.path),
                    f.digest.algorithm.as_str()
                )
            })
            .collect()
    }

    /// What is shipped of six files (`usr/bin/ps`, `etc/ps.conf`,
    /// `etc/run.pid`, `usr/bin/docs`, `usr/bin/top`, `usr/bin/gone`) with
    /// the per-file tags `tags`.
    fn shipped_of_six(tags: Vec<(u32, Value<'_>)>) -> Vec<String> {
        let mut entries: Vec<(u32, Value<'_>)> = files().into();
        entries.extend(tags);
        shipped(&entries)
    }

    fn files<'a>() -> [(u32, Value<'a>); 3] {
        [
            (
                BASENAMES,
                Value::Strs(&["ps", "ps.conf", "run.pid", "docs", "top", "gone"]),
            ),
            (DIRNAMES, Value::Strs(&["/usr/bin/", "/etc/"])),
            (DIRINDEXES, Value::Ints(&[0, 1, 1, 0, 0, 0])),
        ]
    }

    #[test]
    fn config_ghost_non_regular_and_uninstalled_files_are_left_out() {
        let digests = [SHA256, SHA256, "", "", SHA256, SHA256];
        let found = shipped_of_six(vec![
            (FILEDIGESTS, Value::Strs(&digests)),
            (FILEDIGESTALGO, Value::Ints(&[8])),
            (FILEFLAGS, Value::Ints(&[0, 1 | 1 << 4, 1 << 6, 0, 0, 0])),
            (
                FILEMODES,
                Value::Shorts(&[0o100755, 0o100644, 0o100644, 0o040755, 0o100755, 0o100644]),
            ),
            (FILESTATES, Value::Chars(&[0, 0, 0, 0, 0, 2])),
        ]);
        assert_eq!(found, ["usr/bin/ps sha256", "usr/bin/top sha256"]);
    }

    #[test]
    fn old_headers_are_md5_and_unknown_algorithms_verify_nothing() {
        let md5 = "900150983cd24fb0d6963f7d28e17f72";
        let found = shipped_of_six(vec![
            (FILEDIGESTS, Value::Strs(&[md5; 6])),
            (FILEMODES, Value::Shorts(&[0o100755; 6])),
        ]);
        assert_eq!(found.len(), 6);
        assert!(found.iter().all(|f| f.ends_with(" md5")));
        let sha512 = shipped_of_six(vec![
            (FILEDIGESTS, Value::Strs(&[md5; 6])),
            (FILEDIGESTALGO, Value::Ints(&[10])),
            (FILEMODES, Value::Shorts(&[0o100755; 6])),
        ]);
        assert!(sha512.is_empty());
    }

    #[test]
    fn arrays_that_do_not_match_the_files_verify_nothing() {
        let found = shipped_of_six(vec![
            (FILEDIGESTS, Value::Strs(&[SHA256; 2])),
            (FILEDIGESTALGO, Value::Ints(&[8])),
            (FILEMODES, Value::Shorts(&[0o100755; 6])),
        ]);
        assert!(found.is_empty());
    }
}
