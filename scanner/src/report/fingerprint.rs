//! Fingerprints: what identifies a vulnerability, malware match or finding
//! across rebuilds of an image, so that a weekly rebuild can be compared
//! with last week's report (`scan --baseline`, `imgscan diff`).
//!
//! A fingerprint leaves out everything a rebuild changes without changing
//! the problem: layer digests and indexes, and for a vulnerability the
//! installed version (an upgrade that still does not fix it is the same
//! problem). It is the first 128 bits of a SHA-256, in hex, over a kind tag
//! and the identifying fields, each terminated by a NUL byte:
//!
//! | item | fields |
//! |---|---|
//! | vulnerability | ecosystem (purl type), package name, vulnerability id |
//! | malware | rule, path, SHA-256 of the matched bytes |
//! | finding | check id, path, normalised evidence |
//!
//! Several entries may share one fingerprint (two versions of one package
//! in two lockfiles with the same vulnerability): it names a problem, not
//! a row.

use crate::model::VulnerabilityEntry;
use imgscan_sbom::Finding;
use imgscan_signatures::Malware;
use sha2::{Digest, Sha256};

/// The fingerprint of a vulnerable (or malicious) package.
pub fn vulnerability(entry: &VulnerabilityEntry) -> String {
    of_vulnerability(&entry.purl, &entry.name, &entry.id)
}

/// The fingerprint of a malware match.
pub fn malware(entry: &Malware) -> String {
    of_malware(&entry.rule, &entry.path, &entry.sha256)
}

/// The fingerprint of a finding.
pub fn finding(entry: &Finding) -> String {
    of_finding(entry.id, &entry.path, &entry.evidence)
}

/// The fingerprint of vulnerability `id` in the package `name` of `purl`.
/// (A report read back is fingerprinted from its fields, so reports
/// written before fingerprints existed compare too.)
pub fn of_vulnerability(purl: &str, name: &str, id: &str) -> String {
    hash("vulnerability", &[ecosystem_of(purl), name, id])
}

/// The fingerprint of `rule` matching the bytes `sha256` at `path`.
pub fn of_malware(rule: &str, path: &str, sha256: &str) -> String {
    hash("malware", &[rule, path, sha256])
}

/// The fingerprint of the check `id` at `path` with `evidence`.
pub fn of_finding(id: &str, path: &str, evidence: &str) -> String {
    hash("finding", &[id, path, &normalise_evidence(evidence)])
}

/// The purl type (`deb`, `npm`, …) of `purl`, or the whole string when it
/// is not a purl.
pub fn ecosystem_of(purl: &str) -> &str {
    purl.strip_prefix("pkg:")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or(purl)
}

/// Evidence as the fingerprint sees it: lower case, whitespace runs as one
/// space, trimmed, and every run of digits as `0` — a size, a count or a
/// version number that a rebuild changes does not make a new finding.
pub fn normalise_evidence(evidence: &str) -> String {
    let mut out = String::with_capacity(evidence.len());
    let mut last = ' ';
    for c in evidence.trim().chars() {
        let c = if c.is_whitespace() {
            ' '
        } else if c.is_ascii_digit() {
            '0'
        } else {
            c.to_ascii_lowercase()
        };
        if (c == ' ' || c == '0') && c == last {
            continue;
        }
        out.push(c);
        last = c;
    }
    out
}

fn hash(kind: &str, fields: &[&str]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(kind.as_bytes());
    hasher.update([0]);
    for field in fields {
        hasher.update(field.as_bytes());
        hasher.update([0]);
    }
    hex::encode(&hasher.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Placement;
    use imgscan_advisories::{Vulnerability, VulnerabilityKind};
    use imgscan_sbom::Severity;

    fn vuln(purl: &str, name: &str, version: &str, id: &str, layer: usize) -> VulnerabilityEntry {
        Vulnerability {
            id: id.into(),
            kind: VulnerabilityKind::Vulnerability,
            aliases: Vec::new(),
            purl: purl.into(),
            name: name.into(),
            version: version.into(),
            fixed: Vec::new(),
            severity: Severity::High,
            cvss: None,
            at: Placement {
                layer,
                locations: vec!["/var/lib/dpkg/status".into()],
            },
            summary: String::new(),
        }
    }

    #[test]
    fn a_vulnerability_keeps_its_fingerprint_across_versions_and_layers() {
        let old = vuln(
            "pkg:deb/debian/openssh-server@1:9.2p1-2+deb12u1?arch=amd64",
            "openssh-server",
            "1:9.2p1-2+deb12u1",
            "CVE-2024-6387",
            0,
        );
        let new = vuln(
            "pkg:deb/debian/openssh-server@1:9.2p1-2+deb12u2?arch=amd64",
            "openssh-server",
            "1:9.2p1-2+deb12u2",
            "CVE-2024-6387",
            3,
        );
        assert_eq!(vulnerability(&old), vulnerability(&new));
        assert_eq!(vulnerability(&old).len(), 32);
        let other_id = vuln(&new.purl, &new.name, &new.version, "CVE-2024-0001", 3);
        assert_ne!(vulnerability(&new), vulnerability(&other_id));
        let npm = vuln(
            "pkg:npm/openssh-server@1",
            "openssh-server",
            "1",
            "CVE-2024-6387",
            3,
        );
        assert_ne!(
            vulnerability(&new),
            vulnerability(&npm),
            "the ecosystem counts"
        );
    }

    #[test]
    fn malware_is_rule_path_and_content() {
        let m = Malware {
            rule: "xmrig_miner".into(),
            severity: Severity::Critical,
            path: "/usr/sbin/kswapd0".into(),
            layer: 1,
            visible: true,
            sha256: "ab".repeat(32),
            evidence: vec!["XMRig".into()],
            iocs: Vec::new(),
        };
        let moved = Malware {
            layer: 4,
            visible: false,
            evidence: Vec::new(),
            ..m.clone()
        };
        assert_eq!(malware(&m), malware(&moved));
        let changed = Malware {
            sha256: "cd".repeat(32),
            ..m.clone()
        };
        assert_ne!(malware(&m), malware(&changed));
    }

    #[test]
    fn findings_ignore_numbers_case_and_spacing() {
        let f = Finding {
            id: "file.unowned-executable",
            severity: Severity::High,
            title: "t".into(),
            path: "/usr/sbin/kswapd0".into(),
            line: Some(3),
            layer: 1,
            evidence: "ELF file of 1234 bytes,  not owned".into(),
            remedy: "r".into(),
        };
        let rebuilt = Finding {
            line: Some(7),
            layer: 2,
            evidence: " elf file of 98 bytes, not owned\n".into(),
            ..f.clone()
        };
        assert_eq!(finding(&f), finding(&rebuilt));
        let elsewhere = Finding {
            path: "/usr/sbin/other".into(),
            ..f.clone()
        };
        assert_ne!(finding(&f), finding(&elsewhere));
        assert_eq!(normalise_evidence(" A  b\t12.3 "), "a b 0.0");
    }

    #[test]
    fn kinds_never_collide() {
        assert_ne!(hash("malware", &["a", "b"]), hash("finding", &["a", "b"]));
        assert_ne!(hash("finding", &["ab", ""]), hash("finding", &["a", "b"]));
    }
}
