//! Content digests (`sha256:<hex>`) and a reader tap that hashes and counts
//! the bytes flowing through it, so every blob is verified as it is read,
//! in the same pass that decompresses it.

use sha2::{Digest as _, Sha256};
use std::fmt;
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
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
    hasher: Sha256,
    bytes: u64,
    result: TapResult,
    off: HashSwitch,
}

/// Turns a [`HashTap`] off from outside it (after it was handed on): it
/// then passes bytes through unhashed and never publishes a result.
#[derive(Debug, Clone, Default)]
pub struct HashSwitch(Arc<AtomicBool>);

impl HashSwitch {
    /// Stops the tap hashing: another digest will stand for its bytes.
    pub fn turn_off(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn is_off(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl<R: Read> HashTap<R> {
    /// Wraps `inner`; the result appears in the returned slot at EOF.
    pub fn new(inner: R) -> (Self, TapResult) {
        let (tap, result, _) = Self::switchable(inner);
        (tap, result)
    }

    /// Like [`HashTap::new`], with a switch that can turn the tap off.
    pub fn switchable(inner: R) -> (Self, TapResult, HashSwitch) {
        let result = TapResult::default();
        let off = HashSwitch::default();
        (
            HashTap {
                inner,
                hasher: Sha256::new(),
                bytes: 0,
                result: result.clone(),
                off: off.clone(),
            },
            result,
            off,
        )
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }
}

impl<R: Read> Read for HashTap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.off.is_off() {
            return Ok(n);
        }
        if n == 0 {
            if !buf.is_empty() && self.result.get().is_none() {
                let digest = Digest(format!(
                    "sha256:{}",
                    hex::encode(self.hasher.clone().finalize())
                ));
                let _ = self.result.set(Tapped {
                    digest,
                    bytes: self.bytes,
                });
            }
        } else {
            self.hasher.update(&buf[..n]);
            self.bytes += n as u64;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tap_turned_off_publishes_nothing() {
        let data = b"some bytes".to_vec();
        let (mut tap, result, switch) = HashTap::switchable(&data[..]);
        let mut first = [0u8; 4];
        tap.read_exact(&mut first).unwrap();
        switch.turn_off();
        let mut rest = Vec::new();
        tap.read_to_end(&mut rest).unwrap();
        assert_eq!([&first[..], &rest[..]].concat(), data, "bytes pass through");
        assert!(result.get().is_none());
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
