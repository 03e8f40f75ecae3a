//! The report's vulnerabilities: the advisory database's matches, one
//! entry per (advisory, purl) with the earliest layer and every location
//! the package was found at, after the ignore file, VEX statements and the
//! user's filters (`--only-fixed`, `--severity`).

use crate::assess::ignore::{Date, IgnoreList};
use crate::assess::vex::{Applied, VexSet};
use crate::model::{Placement, VulnerabilityEntry};
use imgscan_advisories::{Vulnerability, VulnerabilityKind};
use imgscan_sbom::{Package, Severity};
use std::collections::BTreeMap;

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

/// What keeps a found vulnerability out of the report: the ignore file
/// (on `today`) and VEX statements (about the image `image_digest`).
#[derive(Debug, Clone, Copy)]
pub struct Silencers<'a> {
    /// The ignore file.
    pub ignore: &'a IgnoreList,
    /// Today, for the ignore file's expiry dates.
    pub today: Date,
    /// The VEX statements given.
    pub vex: &'a VexSet,
    /// The image's manifest digest, which VEX products may name.
    pub image_digest: Option<&'a str>,
}

/// The vulnerabilities a report lists, and what was kept out.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Report entries, sorted by severity, layer, package and id.
    pub entries: Vec<VulnerabilityEntry>,
    /// How many the ignore file and VEX suppressed.
    pub suppressed: u64,
    /// The VEX statements that suppressed an entry.
    pub vex: Vec<Applied>,
    /// Fingerprints of the entries left out (suppressed or filtered): a
    /// baseline must not call those fixed.
    pub withheld: Vec<String>,
}

/// Groups `matches` (each naming an index into `packages`) into report
/// entries, one per advisory and package, and drops what `silencers`
/// suppress and what `filter` leaves out.
pub fn select(
    matches: Vec<Vulnerability>,
    packages: &[Package],
    silencers: &Silencers<'_>,
    filter: &VulnerabilityFilter,
) -> Selection {
    let mut grouped: BTreeMap<(String, String), VulnerabilityEntry> = BTreeMap::new();
    for found in matches {
        let Some(package) = packages.get(found.at.package) else {
            continue;
        };
        let entry = grouped
            .entry((found.id.clone(), found.purl.clone()))
            .or_insert_with(|| {
                found.found_at(Placement {
                    layer: package.layer,
                    locations: Vec::new(),
                })
            });
        entry.at.layer = entry.at.layer.min(package.layer);
        if !entry.at.locations.contains(&package.location) {
            entry.at.locations.push(package.location.clone());
        }
    }
    let mut selection = Selection::default();
    for mut entry in grouped.into_values() {
        let ids: Vec<&str> = std::iter::once(&entry.id)
            .chain(&entry.aliases)
            .map(String::as_str)
            .collect();
        let ignored = ids.iter().any(|id| {
            silencers
                .ignore
                .suppresses(id, Some(&entry.purl), silencers.today)
        });
        let vex = (!ignored)
            .then(|| {
                silencers
                    .vex
                    .suppression(&ids, &entry.purl, silencers.image_digest)
            })
            .flatten();
        let silenced = ignored || vex.is_some();
        selection.suppressed += u64::from(silenced);
        selection.vex.extend(vex);
        if silenced || !filter.keeps(&entry) {
            selection
                .withheld
                .push(crate::report::fingerprint::vulnerability(&entry));
            continue;
        }
        entry.at.locations.sort();
        selection.entries.push(entry);
    }
    selection.entries.sort_by(|a, b| {
        (a.severity, a.at.layer, &a.name, &a.version, &a.id)
            .cmp(&(b.severity, b.at.layer, &b.name, &b.version, &b.id))
    });
    selection
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgscan_advisories::PackageIndex;
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

    /// [`select`] with `ignore` on 2026-01-01 and no VEX.
    fn pick(
        matches: Vec<Vulnerability>,
        packages: &[Package],
        ignore: &IgnoreList,
        filter: &VulnerabilityFilter,
    ) -> Selection {
        let silencers = Silencers {
            ignore,
            today: (2026, 1, 1),
            vex: &VexSet::default(),
            image_digest: None,
        };
        select(matches, packages, &silencers, filter)
    }

    fn found(id: &str, package: usize, fixed: &[&str], severity: Severity) -> Vulnerability {
        Vulnerability {
            id: id.into(),
            kind: VulnerabilityKind::Vulnerability,
            aliases: vec![format!("GHSA-for-{id}")],
            purl: "pkg:npm/lodash@4.17.20".into(),
            name: "lodash".into(),
            version: "4.17.20".into(),
            fixed: fixed.iter().map(|f| f.to_string()).collect(),
            severity,
            cvss: None,
            at: PackageIndex { package },
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
        let selection = pick(
            matches,
            &packages,
            &IgnoreList::default(),
            &VulnerabilityFilter::default(),
        );
        let entries = selection.entries;
        let suppressed = selection.suppressed;
        assert_eq!(suppressed, 0);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].id, "CVE-1", "sorted by severity first");
        assert_eq!(entries[0].at.layer, 1, "the earliest layer");
        assert_eq!(
            entries[0].at.locations,
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
        let selection = pick(
            matches(),
            &packages,
            &ignore,
            &VulnerabilityFilter::default(),
        );
        let entries = selection.entries;
        let suppressed = selection.suppressed;
        assert_eq!((entries.len(), suppressed), (1, 1));
        assert_eq!(entries[0].id, "CVE-2");
        let only_fixed = VulnerabilityFilter {
            only_fixed: true,
            severities: Vec::new(),
        };
        let selection = pick(matches(), &packages, &IgnoreList::default(), &only_fixed);
        let entries = selection.entries;
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].id, "CVE-1");
        let low = VulnerabilityFilter {
            only_fixed: false,
            severities: vec![Severity::Low],
        };
        let selection = pick(matches(), &packages, &IgnoreList::default(), &low);
        let entries = selection.entries;
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].id, "CVE-2");
    }

    #[test]
    fn vex_suppresses_by_alias_and_keeps_the_justification() {
        let packages = [lodash(0, "/package-lock.json")];
        let doc = r#"{"@context":"https://openvex.dev/ns/v0.2.0","statements":[
            {"vulnerability":{"name":"GHSA-for-CVE-1"},"products":[{"@id":"pkg:npm/lodash"}],
             "status":"not_affected","justification":"vulnerable_code_not_in_execute_path"}]}"#;
        let vex = VexSet::from_statements(crate::assess::vex::parse(doc, "vex.json").unwrap());
        let silencers = Silencers {
            ignore: &IgnoreList::default(),
            today: (2026, 1, 1),
            vex: &vex,
            image_digest: None,
        };
        let selection = select(
            vec![
                found("CVE-1", 0, &["4.17.21"], Severity::High),
                found("CVE-2", 0, &[], Severity::Low),
            ],
            &packages,
            &silencers,
            &VulnerabilityFilter::default(),
        );
        assert_eq!(selection.entries.len(), 1);
        assert_eq!(selection.entries[0].id, "CVE-2");
        assert_eq!(selection.suppressed, 1);
        assert_eq!(selection.withheld.len(), 1);
        assert_eq!(selection.vex[0].id, "CVE-1");
        assert_eq!(
            selection.vex[0].justification.as_deref(),
            Some("vulnerable_code_not_in_execute_path")
        );
    }
}
