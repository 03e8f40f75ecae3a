//! Layer decompression, chosen by the stream's own magic bytes (media types
//! lie), and the expansion budget that stops decompression bombs without
//! ever holding more than a buffer of the output.

use crate::layer::budget::SharedBudget;
use std::io::{self, BufRead, Read};
use std::sync::{Arc, OnceLock};

/// How a blob is compressed, as its first bytes say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// A plain tar stream.
    None,
    /// gzip, one member or several (pigz).
    Gzip,
    /// Zstandard.
    Zstd,
}

impl Compression {
    /// Detects the compression from the first bytes of a blob, or names the
    /// unsupported format it recognises.
    pub fn sniff(head: &[u8]) -> Result<Self, &'static str> {
        if head.starts_with(&[0x1f, 0x8b]) {
            Ok(Compression::Gzip)
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Ok(Compression::Zstd)
        } else if head.starts_with(b"BZh") {
            Err("bzip2-compressed layers are not supported")
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
            Err("xz-compressed layers are not supported")
        } else {
            Ok(Compression::None)
        }
    }

    /// Stable name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// Wraps `input` in the decoder its first bytes call for.
pub fn decoder<'a, R: BufRead + 'a>(mut input: R) -> io::Result<(Compression, Box<dyn Read + 'a>)> {
    let head = input.fill_buf()?;
    let compression = Compression::sniff(head).map_err(io::Error::other)?;
    let reader: Box<dyn Read + 'a> = match compression {
        Compression::None => Box::new(input),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(input)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(input)?),
    };
    Ok((compression, reader))
}

/// Error payload raised when a stream expands past its budget.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "{scope} expands past the limit of {limit} bytes (a decompression bomb, or raise --max-layer-size / --max-expansion-ratio / --max-image-size)"
)]
pub struct BudgetExceeded {
    /// What the budget bounds: `layer`, `archive` or `image`.
    pub scope: &'static str,
    /// The budget in bytes.
    pub limit: u64,
}

/// Which budget ended a read, once one has.
pub type Exceeded = Arc<OnceLock<BudgetExceeded>>;

/// Passes through at most `limit` bytes, and no more than the image budget
/// holds; one more byte is an error, and the shared slot records which
/// budget, not the stream, ended the read.
pub struct BudgetedReader<R> {
    inner: R,
    scope: &'static str,
    limit: u64,
    remaining: u64,
    image: SharedBudget,
    exceeded: Exceeded,
}

impl<R: Read> BudgetedReader<R> {
    /// Wraps `inner` with a budget of `limit` bytes for `scope` (`layer`,
    /// `archive`), drawing from `image` as well.
    pub fn new(
        inner: R,
        scope: &'static str,
        limit: u64,
        image: &SharedBudget,
    ) -> (Self, Exceeded) {
        let exceeded = Exceeded::default();
        (
            BudgetedReader {
                inner,
                scope,
                limit,
                remaining: limit,
                image: image.clone(),
                exceeded: exceeded.clone(),
            },
            exceeded,
        )
    }

    fn exceed(&self, scope: &'static str, limit: u64) -> io::Error {
        let payload = self
            .exceeded
            .get_or_init(|| BudgetExceeded { scope, limit })
            .clone();
        io::Error::other(payload)
    }
}

impl<R: Read> Read for BudgetedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.remaining == 0 {
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(self.exceed(self.scope, self.limit)),
            };
        }
        let want = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if !self.image.take(n as u64) {
            return Err(self.exceed("image", self.image.limit()));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn multi_member_gzip_is_read_whole() {
        let mut both = gzip(b"hello ");
        both.extend(gzip(b"world"));
        let (kind, mut reader) = decoder(&both[..]).unwrap();
        assert_eq!(kind, Compression::Gzip);
        let mut out = String::new();
        reader.read_to_string(&mut out).unwrap();
        assert_eq!(out, "hello world");
    }

    #[test]
    fn zstd_and_plain_are_detected() {
        let z = zstd::encode_all(&b"abc"[..], 3).unwrap();
        let (kind, mut reader) = decoder(&z[..]).unwrap();
        assert_eq!(kind, Compression::Zstd);
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"abc");
        assert_eq!(decoder(&b"plain"[..]).unwrap().0, Compression::None);
        assert!(decoder(&b"BZh91AY"[..]).is_err());
    }

    #[test]
    fn truncated_gzip_is_an_error() {
        let full = gzip(&vec![7u8; 100_000]);
        let (_, mut reader) = decoder(&full[..full.len() / 2]).unwrap();
        assert!(io::copy(&mut reader, &mut io::sink()).is_err());
    }

    #[test]
    fn budget_allows_exactly_the_limit() {
        let data = [0u8; 100];
        let image = SharedBudget::default();
        let (mut ok, flag) = BudgetedReader::new(&data[..], "layer", 100, &image);
        assert_eq!(io::copy(&mut ok, &mut io::sink()).unwrap(), 100);
        assert!(flag.get().is_none());
        let (mut over, flag) = BudgetedReader::new(&data[..], "layer", 99, &image);
        assert!(io::copy(&mut over, &mut io::sink()).is_err());
        assert_eq!(flag.get().unwrap().scope, "layer");
    }

    #[test]
    fn the_image_budget_is_shared_by_its_layers() {
        let data = [0u8; 100];
        let image = SharedBudget::new(150);
        let (mut first, flag) = BudgetedReader::new(&data[..], "layer", 1000, &image);
        assert_eq!(io::copy(&mut first, &mut io::sink()).unwrap(), 100);
        assert!(flag.get().is_none());
        let (mut second, flag) = BudgetedReader::new(&data[..], "layer", 1000, &image);
        assert!(io::copy(&mut second, &mut io::sink()).is_err());
        let exceeded = flag.get().unwrap();
        assert_eq!((exceeded.scope, exceeded.limit), ("image", 150));
    }
}
