//! The rpm header blob, as every rpm database backend stores one package:
//! `il` and `dl` (big-endian u32: index entries, data bytes), `il` 16-byte
//! index entries (tag, type, offset into the data, count), then `dl` bytes
//! of data. No lead magic: that belongs to `.rpm` files, not databases.
//!
//! Nothing in a blob is trusted: the index must fit the blob, every entry
//! read must lie inside the data, strings must end in NUL before the data
//! does, and nothing is allocated from a count before the count has been
//! checked against the bytes that would have to back it. Entries are only
//! checked deeply when read, so a hostile blob cannot make parsing
//! quadratic.

use super::CatalogError;

/// Package name (`STRING`).
pub(super) const NAME: u32 = 1000;
/// Version (`STRING`).
pub(super) const VERSION: u32 = 1001;
/// Release (`STRING`).
pub(super) const RELEASE: u32 = 1002;
/// Epoch (`INT32`), absent for most packages.
pub(super) const EPOCH: u32 = 1003;
/// Vendor (`STRING`).
pub(super) const VENDOR: u32 = 1011;
/// License expression (`STRING`).
pub(super) const LICENSE: u32 = 1014;
/// Architecture (`STRING`); absent for `gpg-pubkey` entries.
pub(super) const ARCH: u32 = 1022;
/// Full paths of the files, in headers from before compressed file lists.
pub(super) const OLDFILENAMES: u32 = 1027;
/// Per file, what the install did with it (`CHAR` array: 0 normal,
/// 1 replaced, 2 not installed, 3 net-shared, 4 wrong color).
pub(super) const FILESTATES: u32 = 1029;
/// Per file, its mode with the file type bits (`INT16` array).
pub(super) const FILEMODES: u32 = 1030;
/// Per file, its digest in hex, empty for all but regular files
/// (`STRING_ARRAY`; `FILEMD5S` before rpm 4.6).
pub(super) const FILEDIGESTS: u32 = 1035;
/// Per file, its `%config`, `%ghost`, `%doc`, ... bits (`INT32` array).
pub(super) const FILEFLAGS: u32 = 1037;
/// The algorithm of [`FILEDIGESTS`] as an OpenPGP hash id (`INT32`;
/// absent: MD5).
pub(super) const FILEDIGESTALGO: u32 = 5011;
/// File name of the source rpm (`STRING`).
pub(super) const SOURCERPM: u32 = 1044;
/// Per file, the index of its directory in [`DIRNAMES`] (`INT32` array).
pub(super) const DIRINDEXES: u32 = 1116;
/// Per file, its last path component (`STRING_ARRAY`).
pub(super) const BASENAMES: u32 = 1117;
/// Directories, each ending in `/` (`STRING_ARRAY`).
pub(super) const DIRNAMES: u32 = 1118;

const TYPE_CHAR: u32 = 1;
const TYPE_INT16: u32 = 3;
const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;
/// The highest type number rpm defines (`RPM_I18NSTRING_TYPE`).
const TYPE_MAX: u32 = 9;

const ENTRY_SIZE: usize = 16;

/// One parsed index entry; its extent is checked when it is read.
#[derive(Debug, Clone, Copy)]
struct Entry {
    tag: u32,
    ty: u32,
    offset: usize,
    count: usize,
}

/// A header blob whose index has been checked against its length.
#[derive(Debug)]
pub(super) struct Header<'a> {
    entries: Vec<Entry>,
    data: &'a [u8],
}

fn be32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn err(reason: String) -> CatalogError {
    CatalogError::RpmHeader(reason)
}

impl<'a> Header<'a> {
    /// Checks the index of `blob` and returns a view of it. Trailing bytes
    /// after the data are an error, as rpm treats them.
    pub(super) fn parse(blob: &'a [u8]) -> Result<Self, CatalogError> {
        if blob.len() < 8 {
            return Err(err(format!(
                "header of `{}` bytes is shorter than its 8-byte preamble",
                blob.len()
            )));
        }
        let il = be32(blob, 0) as usize;
        let dl = be32(blob, 4) as usize;
        if il == 0 {
            return Err(err("header has no index entries".into()));
        }
        let index_len = il
            .checked_mul(ENTRY_SIZE)
            .filter(|n| *n <= blob.len() - 8)
            .ok_or_else(|| {
                err(format!(
                    "header claims `{il}` index entries, more than its `{}` bytes hold",
                    blob.len()
                ))
            })?;
        let data_start = 8 + index_len;
        if dl != blob.len() - data_start {
            return Err(err(format!(
                "header claims `{dl}` data bytes, but `{}` follow its `{il}` index entries",
                blob.len() - data_start
            )));
        }
        let data = &blob[data_start..];
        let mut entries = Vec::with_capacity(il);
        for raw in blob[8..data_start].chunks_exact(ENTRY_SIZE) {
            let entry = Entry {
                tag: be32(raw, 0),
                ty: be32(raw, 4),
                offset: be32(raw, 8) as usize,
                count: be32(raw, 12) as usize,
            };
            if entry.ty > TYPE_MAX {
                return Err(err(format!(
                    "tag `{}` has unknown type `{}`",
                    entry.tag, entry.ty
                )));
            }
            if entry.offset > dl {
                return Err(err(format!(
                    "tag `{}` starts at `{}`, past the `{dl}` data bytes",
                    entry.tag, entry.offset
                )));
            }
            entries.push(entry);
        }
        Ok(Header { entries, data })
    }

    /// The entry for `tag`; when a tag appears twice (a value changed after
    /// install is appended after the signed region), the later one wins.
    fn entry(&self, tag: u32) -> Option<Entry> {
        self.entries.iter().rev().find(|e| e.tag == tag).copied()
    }

    /// The first of `count` NUL-terminated strings at `offset`, with the
    /// offset just past it.
    fn string_at(&self, tag: u32, offset: usize) -> Result<(&'a [u8], usize), CatalogError> {
        let rest = &self.data[offset.min(self.data.len())..];
        let end = rest.iter().position(|b| *b == 0).ok_or_else(|| {
            err(format!(
                "string of tag `{tag}` at `{offset}` has no terminating NUL"
            ))
        })?;
        Ok((&rest[..end], offset + end + 1))
    }

    /// A `STRING` (or the first `I18NSTRING`) value, `None` when absent.
    pub(super) fn string(&self, tag: u32) -> Result<Option<&'a [u8]>, CatalogError> {
        let Some(entry) = self.entry(tag) else {
            return Ok(None);
        };
        if entry.ty != TYPE_STRING && entry.ty != TYPE_I18NSTRING {
            return Err(err(format!(
                "tag `{tag}` has type `{}`, expected a string",
                entry.ty
            )));
        }
        if entry.count == 0 {
            return Err(err(format!("tag `{tag}` holds no string")));
        }
        Ok(Some(self.string_at(tag, entry.offset)?.0))
    }

    /// A `STRING` value as text (invalid UTF-8 replaced), `None` when absent.
    pub(super) fn text(&self, tag: u32) -> Result<Option<String>, CatalogError> {
        Ok(self
            .string(tag)?
            .map(|s| String::from_utf8_lossy(s).into_owned()))
    }

    /// A `STRING_ARRAY` value; empty when absent.
    pub(super) fn string_array(&self, tag: u32) -> Result<Vec<&'a [u8]>, CatalogError> {
        let Some(entry) = self.entry(tag) else {
            return Ok(Vec::new());
        };
        if entry.ty != TYPE_STRING_ARRAY {
            return Err(err(format!(
                "tag `{tag}` has type `{}`, expected a string array",
                entry.ty
            )));
        }
        // Every string takes at least its NUL: a count larger than the
        // remaining data is a lie, caught before anything is allocated.
        if entry.count > self.data.len() - entry.offset {
            return Err(err(format!(
                "tag `{tag}` claims `{}` strings in `{}` bytes",
                entry.count,
                self.data.len() - entry.offset
            )));
        }
        let mut strings = Vec::with_capacity(entry.count);
        let mut offset = entry.offset;
        for _ in 0..entry.count {
            let (string, next) = self.string_at(tag, offset)?;
            strings.push(string);
            offset = next;
        }
        Ok(strings)
    }

    /// The bytes of a fixed-width array of type `ty` (`width` bytes per
    /// value); `None` when absent.
    fn array_bytes(
        &self,
        tag: u32,
        ty: u32,
        width: usize,
    ) -> Result<Option<&'a [u8]>, CatalogError> {
        let Some(entry) = self.entry(tag) else {
            return Ok(None);
        };
        if entry.ty != ty {
            return Err(err(format!(
                "tag `{tag}` has type `{}`, expected `{ty}`",
                entry.ty
            )));
        }
        entry
            .count
            .checked_mul(width)
            .and_then(|n| self.data.get(entry.offset..entry.offset.checked_add(n)?))
            .map(Some)
            .ok_or_else(|| {
                err(format!(
                    "tag `{tag}` claims `{}` values at `{}`, past the `{}` data bytes",
                    entry.count,
                    entry.offset,
                    self.data.len()
                ))
            })
    }

    /// An `INT32` array value; empty when absent.
    pub(super) fn int32_array(&self, tag: u32) -> Result<Vec<u32>, CatalogError> {
        let bytes = self.array_bytes(tag, TYPE_INT32, 4)?.unwrap_or_default();
        Ok(bytes.chunks_exact(4).map(|c| be32(c, 0)).collect())
    }

    /// An `INT16` array value; empty when absent.
    pub(super) fn int16_array(&self, tag: u32) -> Result<Vec<u16>, CatalogError> {
        let bytes = self.array_bytes(tag, TYPE_INT16, 2)?.unwrap_or_default();
        Ok(bytes
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect())
    }

    /// A `CHAR` array value; empty when absent.
    pub(super) fn char_array(&self, tag: u32) -> Result<&'a [u8], CatalogError> {
        Ok(self.array_bytes(tag, TYPE_CHAR, 1)?.unwrap_or_default())
    }

    /// The first value of an `INT32` tag, `None` when absent.
    pub(super) fn int32(&self, tag: u32) -> Result<Option<u32>, CatalogError> {
        let values = self.int32_array(tag)?;
        match (self.entry(tag), values.first()) {
            (None, _) => Ok(None),
            (Some(_), Some(value)) => Ok(Some(*value)),
            (Some(_), None) => Err(err(format!("tag `{tag}` holds no value"))),
        }
    }

    /// The files the package owns as absolute paths: `DIRNAMES[DIRINDEXES[i]]`
    /// + `BASENAMES[i]`, or `OLDFILENAMES` in headers that predate them.
    pub(super) fn files(&self) -> Result<Vec<Vec<u8>>, CatalogError> {
        let basenames = self.string_array(BASENAMES)?;
        if basenames.is_empty() {
            return Ok(self
                .string_array(OLDFILENAMES)?
                .into_iter()
                .map(<[u8]>::to_vec)
                .collect());
        }
        let dirnames = self.string_array(DIRNAMES)?;
        let dirindexes = self.int32_array(DIRINDEXES)?;
        if dirindexes.len() != basenames.len() {
            return Err(err(format!(
                "`{}` base names but `{}` directory indexes",
                basenames.len(),
                dirindexes.len()
            )));
        }
        basenames
            .iter()
            .zip(dirindexes)
            .map(|(base, index)| {
                let dir = dirnames.get(index as usize).ok_or_else(|| {
                    err(format!(
                        "directory index `{index}` is past the `{}` directory names",
                        dirnames.len()
                    ))
                })?;
                Ok([*dir, *base].concat())
            })
            .collect()
    }
}

/// Builds header blobs for tests: well-formed ones, and, by patching the
/// result, every way a blob can lie.
#[cfg(test)]
pub(super) mod build {
    /// A value of one entry.
    pub(in super::super) enum Value<'a> {
        /// `STRING`.
        Str(&'a str),
        /// `STRING_ARRAY`.
        Strs(&'a [&'a str]),
        /// `INT32` array.
        Ints(&'a [u32]),
        /// `INT16` array.
        Shorts(&'a [u16]),
        /// `CHAR` array.
        Chars(&'a [u8]),
    }

    /// A blob holding `entries` in order.
    pub(in super::super) fn blob(entries: &[(u32, Value<'_>)]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut data = Vec::new();
        for (tag, value) in entries {
            let (ty, count, bytes): (u32, usize, Vec<u8>) = match value {
                Value::Str(s) => (super::TYPE_STRING, 1, [s.as_bytes(), b"\0"].concat()),
                Value::Strs(list) => (
                    super::TYPE_STRING_ARRAY,
                    list.len(),
                    list.iter().flat_map(|s| s.bytes().chain([0])).collect(),
                ),
                Value::Ints(list) => {
                    while data.len() % 4 != 0 {
                        data.push(0);
                    }
                    (
                        super::TYPE_INT32,
                        list.len(),
                        list.iter().flat_map(|v| v.to_be_bytes()).collect(),
                    )
                }
                Value::Shorts(list) => {
                    while data.len() % 2 != 0 {
                        data.push(0);
                    }
                    (
                        super::TYPE_INT16,
                        list.len(),
                        list.iter().flat_map(|v| v.to_be_bytes()).collect(),
                    )
                }
                Value::Chars(list) => (super::TYPE_CHAR, list.len(), list.to_vec()),
            };
            for field in [*tag, ty, data.len() as u32, count as u32] {
                index.extend_from_slice(&field.to_be_bytes());
            }
            data.extend_from_slice(&bytes);
        }
        let mut blob = Vec::new();
        blob.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        blob.extend_from_slice(&(data.len() as u32).to_be_bytes());
        blob.extend_from_slice(&index);
        blob.extend_from_slice(&data);
        blob
    }
}

#[cfg(test)]
mod tests {
    use super::build::{Value, blob};
    use super::*;

    fn sample() -> Vec<u8> {
        blob(&[
            (NAME, Value::Str("openssl")),
            (EPOCH, Value::Ints(&[1])),
            (BASENAMES, Value::Strs(&["openssl", "openssl.cnf"])),
            (DIRNAMES, Value::Strs(&["/usr/bin/", "/etc/pki/tls/"])),
            (DIRINDEXES, Value::Ints(&[0, 1])),
        ])
    }

    /// Overwrites the big-endian u32 at `at`.
    fn patch(mut blob: Vec<u8>, at: usize, value: u32) -> Vec<u8> {
        blob[at..at + 4].copy_from_slice(&value.to_be_bytes());
        blob
    }

    /// Byte offset of field `field` (0 tag, 1 type, 2 offset, 3 count) of entry `i`.
    fn field(i: usize, field: usize) -> usize {
        8 + i * 16 + field * 4
    }

    #[test]
    fn reads_strings_ints_and_files() {
        let blob = sample();
        let header = Header::parse(&blob).unwrap();
        assert_eq!(header.text(NAME).unwrap().as_deref(), Some("openssl"));
        assert_eq!(header.int32(EPOCH).unwrap(), Some(1));
        assert_eq!(header.string(VERSION).unwrap(), None);
        assert_eq!(
            header.files().unwrap(),
            vec![
                b"/usr/bin/openssl".to_vec(),
                b"/etc/pki/tls/openssl.cnf".to_vec()
            ]
        );
    }

    #[test]
    fn old_file_names_when_no_base_names() {
        let blob = blob(&[
            (NAME, Value::Str("old")),
            (OLDFILENAMES, Value::Strs(&["/bin/sh", "/etc/old"])),
        ]);
        let header = Header::parse(&blob).unwrap();
        assert_eq!(
            header.files().unwrap(),
            vec![b"/bin/sh".to_vec(), b"/etc/old".to_vec()]
        );
    }

    #[test]
    fn later_duplicate_tag_wins() {
        let blob = blob(&[(NAME, Value::Str("signed")), (NAME, Value::Str("dribble"))]);
        assert_eq!(
            Header::parse(&blob).unwrap().text(NAME).unwrap().as_deref(),
            Some("dribble")
        );
    }

    fn parse_err(blob: &[u8]) -> String {
        Header::parse(blob).unwrap_err().to_string()
    }

    fn read_err(blob: &[u8], read: impl Fn(&Header<'_>) -> Result<(), CatalogError>) -> String {
        read(&Header::parse(blob).expect("index is well-formed"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn lying_preamble_is_an_error() {
        assert!(parse_err(&[0, 0, 0]).contains("shorter"));
        assert!(parse_err(&patch(sample(), 0, 0)).contains("no index entries"));
        assert!(
            parse_err(&patch(sample(), 0, 6)).contains("data bytes"),
            "one entry too many"
        );
        assert!(parse_err(&patch(sample(), 0, u32::MAX)).contains("more than its"));
        assert!(parse_err(&patch(sample(), 4, u32::MAX)).contains("data bytes"));
        let mut long = sample();
        long.push(0);
        assert!(parse_err(&long).contains("data bytes"), "trailing byte");
    }

    #[test]
    fn lying_entries_are_errors() {
        assert!(parse_err(&patch(sample(), field(0, 1), 77)).contains("unknown type `77`"));
        assert!(parse_err(&patch(sample(), field(0, 2), 100_000)).contains("past the"));
        // NAME pointing at the int32 epoch's bytes: a type mismatch.
        assert!(
            read_err(&patch(sample(), field(0, 1), TYPE_INT32), |h| h
                .string(NAME)
                .map(drop))
            .contains("expected a string")
        );
        // Base names claiming more strings than bytes remain.
        assert!(
            read_err(&patch(sample(), field(2, 3), 1_000_000), |h| h
                .files()
                .map(drop))
            .contains("claims `1000000` strings")
        );
        // Epoch count running off the data.
        assert!(
            read_err(&patch(sample(), field(1, 3), u32::MAX), |h| h
                .int32(EPOCH)
                .map(drop))
            .contains("past the")
        );
        // A directory index past the directory names.
        let blob = blob(&[
            (BASENAMES, Value::Strs(&["a"])),
            (DIRNAMES, Value::Strs(&["/"])),
            (DIRINDEXES, Value::Ints(&[5])),
        ]);
        assert!(read_err(&blob, |h| h.files().map(drop)).contains("directory index `5`"));
        let blob = blob_with_counts_mismatch();
        assert!(read_err(&blob, |h| h.files().map(drop)).contains("`2` base names but `1`"));
    }

    fn blob_with_counts_mismatch() -> Vec<u8> {
        blob(&[
            (BASENAMES, Value::Strs(&["a", "b"])),
            (DIRNAMES, Value::Strs(&["/"])),
            (DIRINDEXES, Value::Ints(&[0])),
        ])
    }

    #[test]
    fn string_without_nul_is_an_error() {
        let mut blob = blob(&[(NAME, Value::Str("abc"))]);
        let last = blob.len() - 1;
        blob[last] = b'x';
        assert!(read_err(&blob, |h| h.string(NAME).map(drop)).contains("no terminating NUL"));
        // An entry pointing exactly at the end of the data holds no string.
        let blob = patch(blob, field(0, 2), 4);
        assert!(read_err(&blob, |h| h.string(NAME).map(drop)).contains("no terminating NUL"));
    }
}
