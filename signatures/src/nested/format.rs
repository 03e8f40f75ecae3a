//! What a file's first bytes say it is, among the formats looked into, and
//! the streaming decoder of each compressed one. Names are never trusted.

use super::upx;
use std::io::{self, Read};

/// Offset of the `ustar` magic in a tar header.
const TAR_MAGIC_AT: usize = 257;

/// Most memory one xz block's decoder may ask for, in KiB (`xz -9` needs
/// about 65 MiB).
const XZ_MEMORY_LIMIT_KIB: u32 = 128 << 10;

/// A container format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A compressed stream.
    Compressed(Codec),
    /// zip, and its kin (jar, war, apk).
    Zip,
    /// POSIX or GNU tar.
    Tar,
    /// An ELF executable packed with UPX.
    Upx,
}

/// A compression format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// gzip, one member or several.
    Gzip,
    /// xz.
    Xz,
    /// Zstandard.
    Zstd,
}

impl Format {
    /// How many leading bytes [`Format::sniff`] needs.
    pub const HEAD: usize = TAR_MAGIC_AT + 5;

    /// The format `head` (a file's first bytes, [`Format::HEAD`] of them
    /// for tar) starts with, if any.
    pub fn sniff(head: &[u8]) -> Option<Format> {
        if head.starts_with(&[0x1f, 0x8b, 0x08]) {
            Some(Format::Compressed(Codec::Gzip))
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
            Some(Format::Compressed(Codec::Xz))
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Format::Compressed(Codec::Zstd))
        } else if head.starts_with(b"PK\x03\x04") {
            Some(Format::Zip)
        } else if head.get(TAR_MAGIC_AT..TAR_MAGIC_AT + 5) == Some(b"ustar") {
            Some(Format::Tar)
        } else if upx::is_packed(head) {
            Some(Format::Upx)
        } else {
            None
        }
    }

    /// Stable lower-case name, for reasons in the report.
    pub fn name(self) -> &'static str {
        match self {
            Format::Compressed(Codec::Gzip) => "gzip stream",
            Format::Compressed(Codec::Xz) => "xz stream",
            Format::Compressed(Codec::Zstd) => "zstd stream",
            Format::Zip => "zip archive",
            Format::Tar => "tar archive",
            Format::Upx => "UPX-packed executable",
        }
    }
}

impl Codec {
    /// A streaming decoder of `input`, which fails for good at its first
    /// error ([`StopAtError`]).
    pub fn decoder<'a>(self, input: &'a [u8]) -> io::Result<Box<dyn Read + 'a>> {
        let decoder: Box<dyn Read + 'a> = match self {
            Codec::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(input)),
            Codec::Xz => Box::new(lzma_rust2::XzReader::new_mem_limit(
                input,
                true,
                XZ_MEMORY_LIMIT_KIB,
            )),
            Codec::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(input)?),
        };
        Ok(Box::new(StopAtError {
            inner: decoder,
            failed: None,
        }))
    }
}

/// A reader that, once its inner reader failed, repeats that failure
/// without reading it again: a decoder's state after an error is not
/// something to read on from (lzma-rust2's xz reader, read again after a
/// corrupt chunk, loops forever without output).
struct StopAtError<R> {
    inner: R,
    failed: Option<(io::ErrorKind, String)>,
}

impl<R: Read> Read for StopAtError<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some((kind, message)) = &self.failed {
            return Err(io::Error::new(*kind, message.clone()));
        }
        self.inner.read(buf).inspect_err(|e| {
            if e.kind() != io::ErrorKind::Interrupted {
                self.failed = Some((e.kind(), e.to_string()));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_decides_never_the_name() {
        let compressed = |codec| Some(Format::Compressed(codec));
        assert_eq!(Format::sniff(&[0x1f, 0x8b, 8, 0]), compressed(Codec::Gzip));
        assert_eq!(Format::sniff(b"\xfd7zXZ\0\0"), compressed(Codec::Xz));
        assert_eq!(
            Format::sniff(&[0x28, 0xb5, 0x2f, 0xfd, 0]),
            compressed(Codec::Zstd)
        );
        assert_eq!(Format::sniff(b"PK\x03\x04\x14\0"), Some(Format::Zip));
        let mut tar = vec![0u8; 512];
        tar[257..263].copy_from_slice(b"ustar\0");
        assert_eq!(Format::sniff(&tar), Some(Format::Tar));
        assert_eq!(
            Format::sniff(b"PK\x05\x06"),
            None,
            "an empty zip holds nothing"
        );
        assert_eq!(Format::sniff(b"\x7fELF"), None);
        let mut packed = vec![0u8; 0x40 + 0x38 + 36];
        packed[..8].copy_from_slice(b"\x7fELF\x02\x01\x01\0");
        packed[0x20] = 0x40;
        packed[0x36] = 0x38;
        packed[0x38] = 1;
        packed[0x78 + 4..0x78 + 8].copy_from_slice(b"UPX!");
        assert_eq!(Format::sniff(&packed), Some(Format::Upx));
        assert_eq!(Format::sniff(b""), None);
    }
}
