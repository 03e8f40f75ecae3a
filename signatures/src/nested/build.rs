//! Test-only builders of the formats looked into, so each test states its
//! archive in one line.

use std::io::{Cursor, Write};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

pub fn xz(data: &[u8]) -> Vec<u8> {
    let options = lzma_rust2::XzOptions::with_preset(1);
    let mut enc = lzma_rust2::XzWriter::new(Vec::new(), options).unwrap();
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

pub fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 1).unwrap()
}

/// A ustar archive of regular files.
pub fn tar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, name, *data).unwrap();
    }
    builder.into_inner().unwrap()
}

/// A zip archive of deflated files; names are taken as bytes as they are.
pub fn zip(members: &[(&[u8], &[u8])]) -> Vec<u8> {
    // The writer takes `str` names: write placeholders of the same length,
    // then put the real bytes in both headers (local and central).
    let placeholder = |i: usize, len: usize| {
        assert!(len >= 6, "names long enough to be unique placeholders");
        format!("{i:~>len$}")
    };
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (i, (name, data)) in members.iter().enumerate() {
        writer
            .start_file(placeholder(i, name.len()), options)
            .unwrap();
        writer.write_all(data).unwrap();
    }
    let mut bytes = writer.finish().unwrap().into_inner();
    for (i, (name, _)) in members.iter().enumerate() {
        let from = placeholder(i, name.len()).into_bytes();
        let mut at = 0;
        let mut patched = 0;
        while let Some(found) = bytes[at..].windows(from.len()).position(|w| w == from) {
            let start = at + found;
            bytes[start..start + from.len()].copy_from_slice(name);
            at = start + from.len();
            patched += 1;
        }
        assert_eq!(
            patched, 2,
            "the name is in the local and the central header"
        );
    }
    bytes
}
