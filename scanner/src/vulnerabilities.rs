//! The report's vulnerabilities: the advisory database's matches, one
//! entry per (advisory, purl) with the earliest layer and every location
//! the package was found at, after the ignore file and the user's filters
//! (`--only-fixed`, `--severity`).

use crate::ignore::{Date, IgnoreList};
use imgscan_advisories::{Cvss, Vulnerability, VulnerabilityKind};
use imgscan_sbom::{Package, Severity};
use serde::Serialize;
use std::collections::BTreeMap;

/// One vulnerable (or malicious) package, as the report lists it.
#[derive(Debug, Clone, Serialize)]
pub struct VulnerabilityEntry {
    /// The advisory id (`CVE-…`, `GHSA-…`, `MAL-…`, `ALSA-…`).
    pub id: String,
    /// `vulnerability`, or `malicious` for a malicious-package record.
    pub kind: VulnerabilityKind,
    /// The other ids of the same vulnerability.
    pub aliases: Vec<String>,
    /// The package.
    pub purl: String,
    /// Package name.
    pub name: String,
    /// Installed version.
    pub version: String,
    /// Versions that fix it; empty when there is no fix.
    pub fixed: Vec<String>,
    /// Severity.
    pub severity: Severity,
    /// The CVSS vector the severity came from, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cvss: Option<Cvss>,
    /// The earliest layer that brought the package.
    pub layer: usize,
    /// Every database or lockfile the package was found in.
    pub locations: Vec<String>,
    /// One line about it.
    pub summary: String,
}

/// Which matches the user wants reported.
#[derive(Debug, Clone, Default)]
pub struct VulnerabilityFilter {
    /// Only vulnerabilities with a fixed version.
    pub only_fixed: bool,
    /// Only these severities (all when empty).
    pub severities: Vec<Severity>,
}

impl VulnerabilityFilter {
    fn keeps(&self, entry: &VulnerabilityEntry) -> bool {
        let malicious = entry.kind == VulnerabilityKind::Malicious;
        (!self.only_fixed || malicious || !entry.fixed.is_empty())
            && (self.severities.is_empty() || self.severities.contains(&entry.severity))
    }
}

/// Groups `matches` (each naming an index into `packages`) into report
/// entries, drops what `ignore` silences and what `filter` leaves out, and
/// sorts them by severity, layer, package and id. Returns the entries and
/// how many the ignore file suppressed.
pub fn vulnerability_entries(
    matches: Vec<Vulnerability>,
    packages: &[Package],
    ignore: &IgnoreList,
    today: Date,
    filter: &VulnerabilityFilter,
) -> (Vec<VulnerabilityEntry>, u64) {
    let (entries, suppressed, _) =
        vulnerability_entries_withheld(matches, packages, ignore, today, filter);
    (entries, suppressed)
}

/// [`vulnerability_entries`], and the fingerprints of the entries left out
/// (ignored or filtered): a baseline must not call those fixed.
pub fn vulnerability_entries_withheld(
    matches: Vec<Vulnerability>,
    packages: &[Package],
    ignore: &IgnoreList,
    today: Date,
    filter: &VulnerabilityFilter,
) -> (Vec<VulnerabilityEntry>, u64, Vec<String>) {
    let mut grouped: BTreeMap<(String, String), VulnerabilityEntry> = BTreeMap::new();
    for found in matches {
        let Some(package) = packages.get(found.package) else {
            continue;
        };
        let entry = grouped
            .entry((found.id.clone(), found.purl.clone()))
            .or_insert_with(|| VulnerabilityEntry {
                id: found.id,
                kind: found.kind,
                aliases: found.aliases,
                purl: found.purl,
                name: found.name,
                version: found.version,
                fixed: found.fixed,
                severity: found.severity,
                cvss: found.cvss,
                layer: package.layer,
                locations: Vec::new(),
                summary: found.summary,
            });
        entry.layer = entry.layer.min(package.layer);
        if !entry.locations.contains(&package.location) {
            entry.locations.push(package.location.clone());
        }
    }
    let mut suppressed = 0;
    let mut withheld = Vec::new();
    let mut entries: Vec<VulnerabilityEntry> = grouped
        .into_values()
        .filter(|entry| {
            let silenced = std::iter::once(&entry.id)
                .chain(&entry.aliases)
                .any(|id| ignore.suppresses(id, Some(&entry.purl), today));
            suppressed += u64::from(silenced);
            let kept = !silenced && filter.keeps(entry);
            if !kept {
                withheld.push(crate::report::fingerprint::vulnerability(entry));
            }
            kept
        })
        .map(|mut entry| {
            entry.locations.sort();
            entry
        })
        .collect();
    entries.sort_by(|a, b| {
        (a.severity, a.layer, &a.name, &a.version, &a.id)
            .cmp(&(b.severity, b.layer, &b.name, &b.version, &b.id))
    });
    (entries, suppressed, withheld)
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgscan_sbom::Ecosystem;

    fn lodash(layer: usize, location: &str) -> Package {
        let mut package = Package::new(
            "lodash",
            "4.17.20",
            Ecosystem::Npm,
            "pkg:npm/lodash@4.17.20".into(),
            location.into(),
        );
        package.layer = layer;
        package
    }

    fn found(id: &str, package: usize, fixed: &[&str], severity: Severity) -> Vulnerability {
        Vulnerability {
            id: id.into(),
            kind: VulnerabilityKind::Vulnerability,
            aliases: vec![format!("GHSA-for-{id}")],
            package,
            purl: "pkg:npm/lodash@4.17.20".into(),
            name: "lodash".into(),
            version: "4.17.20".into(),
            fixed: fixed.iter().map(|f| f.to_string()).collect(),
            severity,
            cvss: None,
            summary: String::new(),
        }
    }

    #[test]
    fn one_entry_per_advisory_and_purl_with_every_location() {
        let packages = [
            lodash(2, "/b/package-lock.json"),
            lodash(1, "/a/package-lock.json"),
        ];
        let matches = vec![
            found("CVE-1", 0, &["4.17.21"], Severity::High),
            found("CVE-1", 1, &["4.17.21"], Severity::High),
            found("CVE-2", 0, &[], Severity::Low),
        ];
        let (entries, suppressed) = vulnerability_entries(
            matches,
            &packages,
            &IgnoreList::default(),
            (2026, 1, 1),
            &VulnerabilityFilter::default(),
        );
        assert_eq!(suppressed, 0);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].id, "CVE-1", "sorted by severity first");
        assert_eq!(entries[0].layer, 1, "the earliest layer");
        assert_eq!(
            entries[0].locations,
            ["/a/package-lock.json", "/b/package-lock.json"]
        );
    }

    #[test]
    fn ignore_by_alias_and_filters() {
        let packages = [lodash(0, "/package-lock.json")];
        let matches = || {
            vec![
                found("CVE-1", 0, &["4.17.21"], Severity::High),
                found("CVE-2", 0, &[], Severity::Low),
            ]
        };
        let ignore = IgnoreList::parse(
            "[[ignore]]\nid = \"GHSA-for-CVE-1\"\npackage = \"pkg:npm/lodash@4.17.20\"\nreason = \"r\"\nexpires = 2030-01-01\n",
            "test",
        )
        .unwrap();
        let (entries, suppressed) = vulnerability_entries(
            matches(),
            &packages,
            &ignore,
            (2026, 1, 1),
            &VulnerabilityFilter::default(),
        );
        assert_eq!((entries.len(), suppressed), (1, 1));
        assert_eq!(entries[0].id, "CVE-2");
        let only_fixed = VulnerabilityFilter {
            only_fixed: true,
            severities: Vec::new(),
        };
        let (entries, _) = vulnerability_entries(
            matches(),
            &packages,
            &IgnoreList::default(),
            (2026, 1, 1),
            &only_fixed,
        );
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].id, "CVE-1");
        let low = VulnerabilityFilter {
            only_fixed: false,
            severities: vec![Severity::Low],
        };
        let (entries, _) = vulnerability_entries(
            matches(),
            &packages,
            &IgnoreList::default(),
            (2026, 1, 1),
            &low,
        );
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].id, "CVE-2");
    }
}
