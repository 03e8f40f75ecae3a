//! Indicators of compromise: the values a blocklist or a threat-intel tool
//! takes from a scan — mining pools (host and port), Monero wallets (only
//! checksum-valid ones), the URLs and hosts droppers, cron lines, units and
//! install scripts fetch from, and the fingerprints of SSH keys baked into
//! `authorized_keys` — each with every place it was seen.
//!
//! Rules give theirs from the matched bytes ([`crate::ioc_extract`], run by
//! [`crate::RuleScanner`] while the bytes are at hand); findings from their
//! evidence; keys from the captured `authorized_keys` files.

use crate::check::CheckContext;
pub use crate::ioc_extract::IocKind;
use crate::ioc_extract::fetched_urls;
use crate::malware::Malware;
use imgscan_sbom::Finding;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// One place an indicator was seen.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct IocPlace {
    /// Absolute, escaped path (with `!` steps inside archives).
    pub path: String,
    /// The layer of that file.
    pub layer: usize,
    /// 1-based line, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

/// An indicator with every place it was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ioc {
    /// What it is.
    #[serde(rename = "type")]
    pub kind: IocKind,
    /// The value, as a blocklist takes it.
    pub value: String,
    /// Where it was seen, sorted.
    #[serde(rename = "where")]
    pub places: Vec<IocPlace>,
}

/// Findings whose evidence is a command that fetches code.
const FETCHING_FINDINGS: &[&str] = &[
    "cron.download-and-run",
    "systemd.download-and-run",
    "startup.download-and-run",
    "npm.install-script",
];

/// Every indicator of a scan: from the rules' matches, the findings'
/// evidence and the `authorized_keys` files findings name.
pub fn collect(ctx: &CheckContext<'_>, malware: &[Malware], findings: &[Finding]) -> Vec<Ioc> {
    let mut all: BTreeMap<(IocKind, String), Vec<IocPlace>> = BTreeMap::new();
    let mut add = |kind, value: String, place: IocPlace| {
        all.entry((kind, value)).or_default().push(place);
    };
    for entry in malware {
        for (kind, value) in &entry.iocs {
            let place = IocPlace {
                path: entry.path.clone(),
                layer: entry.layer,
                line: None,
            };
            add(*kind, value.clone(), place);
        }
    }
    for finding in findings {
        let place = || IocPlace {
            path: finding.path.clone(),
            layer: finding.layer,
            line: finding.line,
        };
        if FETCHING_FINDINGS.contains(&finding.id) {
            for (kind, value) in fetched_urls(finding.evidence.as_bytes(), usize::MAX) {
                add(kind, value, place());
            }
        }
        if finding.id == "ssh.authorized-keys" {
            let path = finding.path.trim_start_matches('/').as_bytes();
            let Some(text) = ctx.text(path) else { continue };
            for (index, line) in text.lines().enumerate() {
                if let Some(fingerprint) = key_fingerprint(line) {
                    let place = IocPlace {
                        line: Some(index as u32 + 1),
                        ..place()
                    };
                    add(IocKind::SshKey, fingerprint, place);
                }
            }
        }
    }
    all.into_iter()
        .map(|((kind, value), mut places)| {
            places.sort();
            places.dedup();
            Ioc {
                kind,
                value,
                places,
            }
        })
        .collect()
}

/// The `SHA256:…` fingerprint of an `authorized_keys` line (options before
/// the key type are allowed), as `ssh-keygen -l` prints it.
pub fn key_fingerprint(line: &str) -> Option<String> {
    use base64::Engine;
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| w.starts_with("ssh-") || w.starts_with("ecdsa-") || w.starts_with("sk-"))?;
    let blob = base64::engine::general_purpose::STANDARD
        .decode(words.get(at + 1)?)
        .ok()?;
    let digest = Sha256::digest(&blob);
    Some(format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_key_fingerprints_match_ssh_keygen() {
        // As ssh-keygen computes it: SHA-256 of the blob, base64 unpadded
        // (the e2e test compares with `ssh-keygen -l` on a generated key).
        let blob = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20abcdefghijklmnopqrstuvwxyz012345";
        use base64::Engine;
        let line = format!(
            "no-pty ssh-ed25519 {} attacker@203.0.113.9",
            base64::engine::general_purpose::STANDARD.encode(blob)
        );
        let expected = format!(
            "SHA256:{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(Sha256::digest(blob))
        );
        assert_eq!(key_fingerprint(&line), Some(expected));
        assert_eq!(key_fingerprint("# ssh-rsa AAAA"), None);
        assert_eq!(key_fingerprint("ssh-rsa !!notbase64"), None);
    }
}
