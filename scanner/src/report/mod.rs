//! The report: one in-memory model of a scan's results, versioned as
//! `imgscan.report/v1`, from which every output format is rendered. The
//! JSON form is the contract other tools build on; `schema/report-v1.json`
//! at the repository root describes it.

pub mod baseline;
pub mod cyclonedx;
pub mod diff;
pub mod fingerprint;
pub mod gate;
pub mod html;
pub mod markdown;
pub mod sarif;
pub mod spdx;
pub mod table;
pub mod view;

use crate::layer::{Skipped, Unknown};
use crate::merge::inventory::RemovedPackage;
use crate::model::{LayerInfo, Scanned, TargetInfo, VulnerabilityEntry};
use imgscan_sbom::{FileKind, Finding, Package, Severity, display_path};
use imgscan_signatures::{Incident, Ioc, Malware};
use serde::Serialize;
use std::collections::BTreeMap;
use std::ops::Deref;
use std::time::Duration;

/// The report schema identifier.
pub const SCHEMA: &str = "imgscan.report/v1";

/// What was asked for but not checked by this build.
pub const NOT_CHECKED: &[&str] = &["packages", "vulnerabilities", "malware", "findings"];

/// One path of the tree, for `inspect --files`.
#[derive(Debug, Clone, Serialize)]
pub struct FileEntry {
    /// Absolute, escaped path.
    pub path: String,
    /// The layer that put it there.
    pub layer: usize,
    /// `file`, `dir`, `symlink`, ...
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Size in bytes.
    pub size: u64,
    /// Symlink target, escaped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// The layer that deleted or replaced it, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_in: Option<usize>,
}

/// Totals over the image.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Totals {
    /// Number of layers.
    pub layers: usize,
    /// Paths in the final tree.
    pub paths: usize,
    /// Regular files in the final tree.
    pub files: usize,
    /// Bytes of regular files in the final tree.
    pub file_bytes: u64,
    /// Uncompressed bytes over all layers.
    pub layer_bytes: u64,
    /// Paths that a later layer deleted or replaced.
    pub deleted: usize,
}

/// Whether an item was in the baseline (`scan --baseline`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Not in the baseline: the gate counts it.
    New,
    /// In the baseline too: the gate leaves it out.
    Unchanged,
}

/// A vulnerability, malware match or finding with its [`fingerprint`] and,
/// against a baseline, its [`Status`]. Reads as the item it wraps.
#[derive(Debug, Clone, Serialize)]
pub struct Tracked<T> {
    /// The item.
    #[serde(flatten)]
    pub item: T,
    /// What identifies the item across rebuilds (see [`fingerprint`]).
    pub fingerprint: String,
    /// `new` or `unchanged`, with a baseline only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
}

impl<T> Tracked<T> {
    /// `item` with the fingerprint `fingerprint` computes for it.
    pub fn new(item: T, fingerprint: impl Fn(&T) -> String) -> Self {
        Tracked {
            fingerprint: fingerprint(&item),
            item,
            status: None,
        }
    }

    /// Whether the gate counts it: always, unless a baseline had it.
    pub fn counts(&self) -> bool {
        self.status != Some(Status::Unchanged)
    }
}

impl<T> Deref for Tracked<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.item
    }
}

/// The summary block.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Counts by kind (`findings`, ...) and severity.
    pub counts: BTreeMap<&'static str, BTreeMap<Severity, usize>>,
    /// Totals over the image.
    pub totals: Totals,
    /// Vulnerabilities, findings and malware matches suppressed by the
    /// ignore file or a VEX statement.
    pub suppressed: u64,
    /// Entries skipped, by reason.
    pub skipped: Skipped,
    /// Checks this report does not cover.
    pub not_checked: Vec<&'static str>,
    /// Warnings about the scan itself.
    pub warnings: Vec<String>,
    /// Against a baseline: what is new, unchanged and fixed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<baseline::BaselineSummary>,
    /// Layers taken from the layer-result cache and read, when one was used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache: Option<crate::cache::CacheStats>,
    /// Wall time of the scan.
    pub duration_ms: u64,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// What was scanned.
    pub target: TargetInfo,
    /// Its layers.
    pub layers: Vec<LayerInfo>,
    /// Packages found (absent when packages were not checked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packages: Option<Vec<Package>>,
    /// Packages a layer took out of a database: uninstalled, or replaced by
    /// another version (absent when packages were not checked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed_packages: Option<Vec<RemovedPackage>>,
    /// Vulnerable and malicious packages (absent when vulnerabilities were
    /// not checked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vulnerabilities: Option<Vec<Tracked<VulnerabilityEntry>>>,
    /// Files rules matched (absent when no rules ran).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub malware: Option<Vec<Tracked<Malware>>>,
    /// Findings (absent when no check ran).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub findings: Option<Vec<Tracked<Finding>>>,
    /// Against a baseline: the baseline's items this scan no longer has.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<Vec<baseline::FixedItem>>,
    /// One incident per suspicious executable, worst first (absent when
    /// neither rules nor checks ran).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incidents: Option<Vec<Incident>>,
    /// Indicators of compromise, each with where it was seen (absent when
    /// neither rules nor checks ran).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iocs: Option<Vec<Ioc>>,
    /// The VEX statements (`--vex`) that suppressed a vulnerability, each
    /// with its status and justification.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vex: Vec<crate::assess::vex::Applied>,
    /// What could not be read, with why.
    pub unknowns: Vec<Unknown>,
    /// The final tree and deleted files (`inspect --files` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<FileEntry>>,
    /// The summary.
    pub summary: Summary,
}

impl Report {
    /// Builds the report of a scan; `with_files` adds the file listing.
    pub fn new(scanned: &Scanned, with_files: bool, duration: Duration) -> Report {
        let tree = &scanned.tree;
        let regular = || tree.iter().filter(|(_, n)| n.meta.kind == FileKind::File);
        let totals = Totals {
            layers: scanned.layers.len(),
            paths: tree.len(),
            files: regular().count(),
            file_bytes: regular().map(|(_, n)| n.meta.size).sum(),
            layer_bytes: scanned.layers.iter().map(|l| l.size).sum(),
            deleted: tree.deleted().len(),
        };
        let files = with_files.then(|| {
            let live = tree
                .iter()
                .map(|(path, node)| file_entry(path, &node.meta, node.layer, None));
            let gone = tree
                .deleted()
                .iter()
                .map(|d| file_entry(&d.path, &d.node.meta, d.node.layer, Some(d.deleted_in)));
            let mut files: Vec<FileEntry> = live.chain(gone).collect();
            files.sort_by(|a, b| (&a.path, a.layer).cmp(&(&b.path, b.layer)));
            files
        });
        let mut warnings = scanned.warnings.clone();
        if scanned.skipped.over_expansion_limit > 0 {
            warnings.push("a layer was cut short by the expansion limit; its remaining content was not indexed".to_string());
        }
        Report {
            schema: SCHEMA,
            target: scanned.target.clone(),
            layers: scanned.layers.clone(),
            packages: scanned.packages.clone(),
            removed_packages: scanned.removed_packages.clone(),
            vulnerabilities: tracked(&scanned.vulnerabilities, fingerprint::vulnerability),
            malware: tracked(&scanned.malware, fingerprint::malware),
            findings: tracked(&scanned.findings, fingerprint::finding),
            fixed: None,
            incidents: scanned.incidents.clone(),
            iocs: scanned.iocs.clone(),
            vex: scanned.vex.clone(),
            unknowns: scanned.unknowns.clone(),
            files,
            summary: Summary {
                counts: counts(scanned),
                totals,
                suppressed: scanned.suppressed,
                skipped: scanned.skipped,
                not_checked: NOT_CHECKED
                    .iter()
                    .copied()
                    .filter(|c| *c != "packages" || scanned.packages.is_none())
                    .filter(|c| *c != "vulnerabilities" || scanned.vulnerabilities.is_none())
                    .filter(|c| *c != "findings" || scanned.findings.is_none())
                    .filter(|c| *c != "malware" || scanned.malware.is_none())
                    .collect(),
                warnings,
                baseline: None,
                cache: scanned.cache,
                duration_ms: duration.as_millis() as u64,
            },
        }
    }

    /// The indicators of compromise, one per line and place: type, value
    /// and where (path, `:line` when known, and the layer), tab-separated,
    /// for blocklists and threat-intel tools.
    pub fn to_iocs(&self) -> String {
        let mut text = String::new();
        for ioc in self.iocs.iter().flatten() {
            for place in &ioc.places {
                let line = place.line.map(|l| format!(":{l}")).unwrap_or_default();
                text.push_str(&format!(
                    "{}\t{}\t{}{line} (layer {})\n",
                    ioc.kind.as_str(),
                    ioc.value,
                    place.path,
                    place.layer
                ));
            }
        }
        text
    }

    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        let mut text =
            serde_json::to_string_pretty(self).expect("the report model always serialises");
        text.push('\n');
        text
    }
}

/// Each item of `items` with its fingerprint.
fn tracked<T: Clone>(
    items: &Option<Vec<T>>,
    fingerprint: fn(&T) -> String,
) -> Option<Vec<Tracked<T>>> {
    items.as_ref().map(|items| {
        items
            .iter()
            .map(|item| Tracked::new(item.clone(), fingerprint))
            .collect()
    })
}

/// Counts of vulnerabilities, findings and malware by severity (every severity listed).
fn counts(scanned: &Scanned) -> BTreeMap<&'static str, BTreeMap<Severity, usize>> {
    let by_severity = |severities: &mut dyn Iterator<Item = Severity>| {
        let mut by = BTreeMap::from([
            (Severity::Critical, 0),
            (Severity::High, 0),
            (Severity::Medium, 0),
            (Severity::Low, 0),
            (Severity::Unknown, 0),
        ]);
        for severity in severities {
            *by.entry(severity).or_default() += 1;
        }
        by
    };
    let mut counts = BTreeMap::new();
    if let Some(vulnerabilities) = &scanned.vulnerabilities {
        counts.insert(
            "vulnerabilities",
            by_severity(&mut vulnerabilities.iter().map(|v| v.severity)),
        );
    }
    if let Some(findings) = &scanned.findings {
        counts.insert(
            "findings",
            by_severity(&mut findings.iter().map(|f| f.severity)),
        );
    }
    if let Some(malware) = &scanned.malware {
        counts.insert(
            "malware",
            by_severity(&mut malware.iter().map(|m| m.severity)),
        );
    }
    counts
}

fn file_entry(
    path: &[u8],
    meta: &imgscan_sbom::FileMeta,
    layer: usize,
    deleted_in: Option<usize>,
) -> FileEntry {
    FileEntry {
        path: display_path(path),
        layer,
        kind: meta.kind.as_str(),
        size: meta.size,
        link: meta
            .link
            .as_deref()
            .filter(|_| meta.kind == FileKind::Symlink)
            .map(imgscan_sbom::escape_bytes),
        deleted_in,
    }
}

/// The advisory's page on osv.dev (the id percent-encoded as one path
/// segment, so safe in an attribute and unable to leave the path).
pub(crate) fn advisory_url(id: &str) -> String {
    let mut url = String::from("https://osv.dev/vulnerability/");
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            url.push(byte as char);
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
}

#[cfg(test)]
mod tests {
    #[test]
    fn advisory_urls_stay_in_their_path_segment() {
        assert_eq!(
            super::advisory_url("GHSA-x/../y z\"\u{e9}"),
            "https://osv.dev/vulnerability/GHSA-x%2F..%2Fy%20z%22%C3%A9"
        );
    }
}
