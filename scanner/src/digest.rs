//! Content digests (`sha256:<hex>`) and a reader tap that hashes and counts
//! the bytes flowing through it, so every blob is verified as it is read,
//! in the same pass that decompresses it.

use sha2::{Digest as _, Sha256};
use std::fmt;
use std::io::{self, Read};
use std::sync::{Arc, OnceLock};

/// Why a string is not a [`Digest`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// An algorithm other than `sha256`.
    #[error("unsupported digest `{0}` (only sha256 is supported)")]
    Unsupported(String),
    /// `sha256:` followed by anything but 64 lower-case hex digits.
    #[error("malformed digest `{0}`")]
    Malformed(String),
}

/// A validated OCI content digest. Only `sha256` is accepted; the hex part
/// is checked so that a digest can never smuggle a path component.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

impl Digest {
    /// Parses `sha256:<64 lower-case hex>`.
    pub fn parse(text: &str) -> Result<Self, DigestError> {
        let Some(hex) = text.strip_prefix("sha256:") else {
            return Err(DigestError::Unsupported(text.to_string()));
        };
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(DigestError::Malformed(text.to_string()));
        }
        Ok(Digest(text.to_string()))
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Digest(format!("sha256:{}", hex::encode(Sha256::digest(bytes))))
    }

    /// The hex part.
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }

    /// The path of this blob inside an OCI layout.
    pub fn blob_path(&self) -> String {
        format!("blobs/sha256/{}", self.hex())
    }

    /// The full `sha256:<hex>` form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a [`HashTap`] saw once its stream reached its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tapped {
    /// Digest of every byte read.
    pub digest: Digest,
    /// Number of bytes read.
    pub bytes: u64,
}

/// Shared slot a [`HashTap`] fills when its inner reader reports EOF.
pub type TapResult = Arc<OnceLock<Tapped>>;

/// Hashes and counts the bytes read through it. The result is published
/// only when the inner reader reports end of stream, so a stream that was
/// abandoned early never passes for a verified one.
pub struct HashTap<R> {
    inner: R,
    /// None for a tap that only counts.
    hasher: Option<Sha256>,
    bytes: u64,
    result: TapResult,
}

impl<R: Read> HashTap<R> {
    /// Wraps `inner`; the result appears in the returned slot at EOF.
    pub fn new(inner: R) -> (Self, TapResult) {
        let result = TapResult::default();
        (
            HashTap {
                inner,
                hasher: Some(Sha256::new()),
                bytes: 0,
                result: result.clone(),
            },
            result,
        )
    }

    /// Wraps `inner`, only counting its bytes: for a stream another tap
    /// already hashes.
    pub fn counting(inner: R) -> Self {
        HashTap {
            inner,
            hasher: None,
            bytes: 0,
            result: TapResult::default(),
        }
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }
}

impl<R: Read> Read for HashTap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let Some(hasher) = &mut self.hasher else {
            self.bytes += n as u64;
            return Ok(n);
        };
        if n == 0 {
            if !buf.is_empty() && self.result.get().is_none() {
                let digest = Digest(format!("sha256:{}", hex::encode(hasher.clone().finalize())));
                let _ = self.result.set(Tapped {
                    digest,
                    bytes: self.bytes,
                });
            }
        } else {
            hasher.update(&buf[..n]);
            self.bytes += n as u64;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counting_tap_counts_and_publishes_nothing() {
        let data = b"some bytes".to_vec();
        let mut tap = HashTap::counting(&data[..]);
        let mut read = Vec::new();
        tap.read_to_end(&mut read).unwrap();
        assert_eq!((&read[..], tap.bytes_read()), (&data[..], 10));
        assert!(tap.result.get().is_none());
    }

    #[test]
    fn digests_are_validated() {
        assert!(Digest::parse(&format!("sha256:{}", "a".repeat(64))).is_ok());
        let upper = format!("sha256:{}", "A".repeat(64));
        assert_eq!(Digest::parse(&upper), Err(DigestError::Malformed(upper)));
        assert!(Digest::parse("sha256:../../etc/passwd").is_err());
        let sha512 = format!("sha512:{}", "a".repeat(128));
        assert_eq!(
            Digest::parse(&sha512),
            Err(DigestError::Unsupported(sha512.clone()))
        );
        assert_eq!(
            Digest::parse(&sha512).unwrap_err().to_string(),
            format!("unsupported digest `{sha512}` (only sha256 is supported)")
        );
    }

    #[test]
    fn tap_publishes_only_at_eof() {
        let data = b"hello world".to_vec();
        let (mut tap, result) = HashTap::new(&data[..]);
        let mut buf = [0u8; 4];
        tap.read_exact(&mut buf).unwrap();
        assert!(result.get().is_none());
        io::copy(&mut tap, &mut io::sink()).unwrap();
        let tapped = result.get().unwrap();
        assert_eq!(tapped.bytes, 11);
        assert_eq!(tapped.digest, Digest::of(b"hello world"));
    }
}
