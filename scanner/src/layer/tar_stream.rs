//! Walks a tar stream entry by entry, for layers and for the outer tar of
//! an image archive alike.
//!
//! The `tar` crate is used in raw mode so that GNU long names and PAX
//! records, which a hostile stream could make gigabytes long, are read here
//! under the name-length limit instead of into an unbounded buffer.

use crate::layer::{LayerBuilder, RawEntry};
use imgscan_sbom::FileKind;
use std::io::{self, Read};
use tar::EntryType;

/// One tar entry with its long name and PAX records applied.
pub struct TarItem {
    /// The entry name as stored (not yet normalised).
    pub name: Vec<u8>,
    /// Link target, for symlinks and hard links.
    pub link: Option<Vec<u8>>,
    /// Entry type, or what it is when the tree holds no such type.
    pub kind: Result<FileKind, String>,
    /// Content size.
    pub size: u64,
    /// Mode bits.
    pub mode: u32,
    /// Owner.
    pub uid: u64,
    /// Group.
    pub gid: u64,
    /// Offset of the content in the (uncompressed) tar stream.
    pub data_offset: u64,
}

/// Calls `visit` for every entry of `entries`, with a reader of its
/// content. An error means the stream itself is broken (truncated, bad
/// header) or `visit` failed.
pub fn walk_entries<R: Read>(
    entries: tar::Entries<'_, R>,
    max_name: usize,
    mut visit: impl FnMut(TarItem, &mut dyn Read) -> io::Result<()>,
) -> io::Result<()> {
    let mut long_name: Option<Vec<u8>> = None;
    let mut long_link: Option<Vec<u8>> = None;
    let mut pax: Option<Vec<u8>> = None;
    for entry in entries.raw(true) {
        let mut entry = entry?;
        let header = entry.header();
        let entry_type = header.entry_type();
        match entry_type {
            EntryType::GNULongName => {
                long_name = Some(read_meta_record(&mut entry, max_name, "GNU long name")?);
                continue;
            }
            EntryType::GNULongLink => {
                long_link = Some(read_meta_record(&mut entry, max_name, "GNU long link")?);
                continue;
            }
            EntryType::XHeader => {
                pax = Some(read_meta_record(&mut entry, max_name * 2, "PAX header")?);
                continue;
            }
            EntryType::XGlobalHeader => continue,
            _ => {}
        }
        let mut name = long_name
            .take()
            .unwrap_or_else(|| header.path_bytes().into_owned());
        let mut link = long_link
            .take()
            .or_else(|| header.link_name_bytes().map(|l| l.into_owned()));
        let size = entry.size();
        let mut uid = header.uid().unwrap_or(0);
        let mut gid = header.gid().unwrap_or(0);
        let mode = header.mode().unwrap_or(0);
        if let Some(records) = pax.take() {
            for (key, value) in pax_records(&records)? {
                match key {
                    b"path" => name = value.to_vec(),
                    b"linkpath" => link = Some(value.to_vec()),
                    b"uid" => uid = parse_decimal(value).unwrap_or(uid),
                    b"gid" => gid = parse_decimal(value).unwrap_or(gid),
                    b"size" if parse_decimal(value) != Some(size) => {
                        return Err(io::Error::other("PAX size override is not supported"));
                    }
                    _ => {}
                }
            }
        }
        strip_nul(&mut name);
        if let Some(link) = link.as_mut() {
            strip_nul(link);
        }
        let kind = match entry_type {
            EntryType::Regular | EntryType::Continuous => Ok(FileKind::File),
            EntryType::Directory => Ok(FileKind::Dir),
            EntryType::Symlink => Ok(FileKind::Symlink),
            EntryType::Link => Ok(FileKind::HardLink),
            EntryType::Char => Ok(FileKind::CharDevice),
            EntryType::Block => Ok(FileKind::BlockDevice),
            EntryType::Fifo => Ok(FileKind::Fifo),
            EntryType::GNUSparse => Err("sparse file".to_string()),
            other => Err(format!(
                "tar entry of type `{}`",
                other.as_byte().escape_ascii()
            )),
        };
        if !matches!(kind, Ok(FileKind::Symlink | FileKind::HardLink)) {
            link = None;
        }
        let data_offset = entry.raw_file_position();
        let item = TarItem {
            name,
            link,
            kind,
            size,
            mode,
            uid,
            gid,
            data_offset,
        };
        visit(item, &mut entry)?;
    }
    Ok(())
}

/// Indexes every entry of the layer tar stream `reader` into `builder`.
pub fn index_tar<R: Read>(
    reader: R,
    builder: &mut LayerBuilder<'_>,
    max_name: usize,
) -> io::Result<()> {
    let mut archive = tar::Archive::new(reader);
    walk_entries(archive.entries()?, max_name, |item, content| {
        let kind = match item.kind {
            Ok(kind) => kind,
            Err(what) => {
                builder.unsupported(&item.name, &what);
                return Ok(());
            }
        };
        let raw = RawEntry {
            name: &item.name,
            kind,
            size: item.size,
            mode: item.mode,
            uid: item.uid,
            gid: item.gid,
            link: item.link.as_deref(),
        };
        builder.add(raw, (kind == FileKind::File).then_some(content))
    })
}

fn read_meta_record<R: Read>(entry: &mut R, max: usize, what: &str) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    entry.take(max as u64 + 1).read_to_end(&mut out)?;
    if out.len() > max {
        return Err(io::Error::other(format!("{what} longer than {max} bytes")));
    }
    Ok(out)
}

fn strip_nul(bytes: &mut Vec<u8>) {
    if let Some(end) = bytes.iter().position(|&b| b == 0) {
        bytes.truncate(end);
    }
}

fn parse_decimal(value: &[u8]) -> Option<u64> {
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// Splits PAX extended header records (`LEN key=value\n`).
fn pax_records(mut data: &[u8]) -> io::Result<Vec<(&[u8], &[u8])>> {
    let bad = || io::Error::other("malformed PAX header");
    let mut out = Vec::new();
    while !data.is_empty() {
        let space = data.iter().position(|&b| b == b' ').ok_or_else(bad)?;
        let len = parse_decimal(&data[..space]).ok_or_else(bad)? as usize;
        if len <= space + 1 || len > data.len() || data[len - 1] != b'\n' {
            return Err(bad());
        }
        let record = &data[space + 1..len - 1];
        let eq = record.iter().position(|&b| b == b'=').ok_or_else(bad)?;
        out.push((&record[..eq], &record[eq + 1..]));
        data = &data[len..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::PassOptions;
    use crate::layer::capture::CaptureSpec;
    use crate::limits::Limits;

    fn options() -> PassOptions {
        PassOptions::new(Limits::default(), CaptureSpec::new(&["**"]).unwrap())
    }

    fn tar_with(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        build(&mut b);
        b.into_inner().unwrap()
    }

    fn append(b: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8]) {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, data).unwrap();
    }

    #[test]
    fn long_names_and_links_survive() {
        let long = format!("{}/file", "d".repeat(300));
        let data = tar_with(|b| {
            append(b, &long, b"x");
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(EntryType::Symlink);
            h.set_size(0);
            b.append_link(&mut h, "link", &long).unwrap();
        });
        let opts = options();
        let mut builder = LayerBuilder::new(0, &opts);
        index_tar(&data[..], &mut builder, 4096).unwrap();
        let index = builder.finish();
        assert_eq!(&*index.entries[0].path, long.as_bytes());
        assert_eq!(index.entries[1].meta.link.as_deref(), Some(long.as_bytes()));
    }

    #[test]
    fn overlong_name_record_is_refused() {
        let long = "n".repeat(5000);
        let data = tar_with(|b| append(b, &long, b"x"));
        let opts = options();
        let mut builder = LayerBuilder::new(0, &opts);
        let err = index_tar(&data[..], &mut builder, 1024).unwrap_err();
        assert!(err.to_string().contains("longer than 1024"), "{err}");
    }

    #[test]
    fn truncated_stream_is_an_error() {
        let data = tar_with(|b| append(b, "a", &[1u8; 5000]));
        let opts = options();
        let mut builder = LayerBuilder::new(0, &opts);
        assert!(index_tar(&data[..3000], &mut builder, 1024).is_err());
    }

    #[test]
    fn pax_records_parse() {
        let recs = pax_records(b"16 path=abc/def\n11 uid=100\n").unwrap();
        assert_eq!(
            recs,
            vec![(&b"path"[..], &b"abc/def"[..]), (&b"uid"[..], &b"100"[..])]
        );
        assert!(pax_records(b"99 path=x\n").is_err());
    }
}
