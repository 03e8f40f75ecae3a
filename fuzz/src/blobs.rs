//! Image metadata for the manifest targets. Every manifest and config is
//! checked against its digest before it is parsed, which random bytes
//! never pass; so the input is a few documents separated by
//! [`SEPARATOR`], and `@N` in one (N a digit) stands for the hex SHA-256
//! of document N once its own `@`s are replaced (a document refers only to
//! later ones, as an index refers to its manifests and they to a config).
//! Document 0 is the layout's `index.json` or the archive's
//! `manifest.json`; the others are stored under `blobs/sha256/HEX` (OCI)
//! and `HEX.json` (a docker archive's config).

use imgscan_scanner::source::blobs::MemoryStore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;

/// What separates the documents of one input.
pub const SEPARATOR: &[u8] = b"\n----\n";

/// The store the documents of `data` make, document 0 named `first`.
pub fn store(data: &[u8], first: &str) -> MemoryStore {
    let mut documents = split(data);
    let mut digests = vec![String::new(); documents.len()];
    for at in (0..documents.len()).rev() {
        let filled = fill(&documents[at], &digests[at + 1..], at + 1);
        digests[at] = hex::encode(Sha256::digest(&filled));
        documents[at] = filled;
    }
    let mut files = HashMap::new();
    for (at, document) in documents.into_iter().enumerate() {
        if at == 0 {
            files.insert(first.to_string(), document);
        } else {
            files.insert(format!("{}.json", digests[at]), document.clone());
            files.insert(format!("blobs/sha256/{}", digests[at]), document);
        }
    }
    MemoryStore::new(Path::new("fuzz"), files)
}

fn split(data: &[u8]) -> Vec<Vec<u8>> {
    let mut documents = Vec::new();
    let mut rest = data;
    while let Some(at) = rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
        documents.push(rest[..at].to_vec());
        rest = &rest[at + SEPARATOR.len()..];
    }
    documents.push(rest.to_vec());
    documents
}

/// `document` with `@N` replaced by the digest of document N, where
/// `later[0]` is document `first`'s; other `@`s stay.
fn fill(document: &[u8], later: &[String], first: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(document.len());
    let mut i = 0;
    while i < document.len() {
        let digit = document.get(i + 1).filter(|d| d.is_ascii_digit());
        let known = digit
            .map(|d| usize::from(d - b'0'))
            .and_then(|n| n.checked_sub(first))
            .and_then(|n| later.get(n));
        match (document[i], known) {
            (b'@', Some(digest)) => {
                out.extend_from_slice(digest.as_bytes());
                i += 2;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}
