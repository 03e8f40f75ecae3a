//! What the human renderers (table, Markdown, HTML) show on top of the JSON
//! model: malware grouped one row per file with all its rules, counts by
//! severity, and the layer timeline — per layer what it brought (packages
//! added and removed, vulnerabilities, malware, findings, paths deleted).

use super::{Report, Status, Tracked};
use crate::merge::inventory::RemovedPackage;
use crate::model::{LayerInfo, VulnerabilityEntry};
use imgscan_sbom::{Finding, Package, Severity};
use std::collections::BTreeMap;

/// Counts by severity, worst first (indexed like [`Severity::ALL`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeverityCounts(pub [usize; 5]);

impl SeverityCounts {
    /// Counts `severities`.
    pub fn of(severities: impl IntoIterator<Item = Severity>) -> Self {
        let mut counts = SeverityCounts::default();
        for severity in severities {
            counts.0[severity as usize] += 1;
        }
        counts
    }

    /// The count for `severity`.
    pub fn get(&self, severity: Severity) -> usize {
        self.0[severity as usize]
    }

    /// All counted.
    pub fn total(&self) -> usize {
        self.0.iter().sum()
    }

    /// The non-zero counts, worst first: `1 CRITICAL, 2 HIGH`.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = Severity::ALL
            .iter()
            .filter(|s| self.get(**s) > 0)
            .map(|s| format!("{} {s}", self.get(*s)))
            .collect();
        parts.join(", ")
    }
}

/// One file rules matched, with every rule that matched it.
#[derive(Debug, Clone)]
pub struct MalwareFile<'a> {
    /// Absolute, escaped path (`!` into archives and packed files).
    pub path: &'a str,
    /// The layer that holds this copy.
    pub layer: usize,
    /// SHA-256 of the file.
    pub sha256: &'a str,
    /// Whether this copy is the one in the final tree.
    pub visible: bool,
    /// The worst of its rules.
    pub severity: Severity,
    /// The rules, worst first.
    pub rules: Vec<(&'a str, Severity)>,
    /// Evidence of all rules, without repeats.
    pub evidence: Vec<&'a str>,
    /// `new` when any of its matches is new against a baseline.
    pub status: Option<Status>,
}

/// The report's malware matches, one entry per file copy, worst first.
pub fn malware_files(report: &Report) -> Vec<MalwareFile<'_>> {
    let mut files: BTreeMap<(&str, usize), MalwareFile<'_>> = BTreeMap::new();
    for m in report.malware.iter().flatten() {
        let file = files
            .entry((m.path.as_str(), m.layer))
            .or_insert_with(|| MalwareFile {
                path: &m.path,
                layer: m.layer,
                sha256: &m.sha256,
                visible: m.visible,
                severity: m.severity,
                rules: Vec::new(),
                evidence: Vec::new(),
                status: m.status,
            });
        file.severity = file.severity.min(m.severity);
        file.rules.push((m.rule.as_str(), m.severity));
        for evidence in &m.evidence {
            if !file.evidence.contains(&evidence.as_str()) {
                file.evidence.push(evidence);
            }
        }
        if m.status == Some(Status::New) {
            file.status = Some(Status::New);
        }
    }
    let mut files: Vec<MalwareFile<'_>> = files.into_values().collect();
    for file in &mut files {
        file.rules
            .sort_by_key(|(rule, severity)| (*severity, *rule));
        file.rules.dedup();
    }
    files.sort_by(|a, b| (a.severity, a.layer, a.path).cmp(&(b.severity, b.layer, b.path)));
    files
}

/// The report's vulnerabilities, worst first: by severity, then CVSS score
/// (highest first), package and id.
pub fn vulnerabilities_worst_first(report: &Report) -> Vec<&Tracked<VulnerabilityEntry>> {
    let mut sorted: Vec<_> = report.vulnerabilities.iter().flatten().collect();
    let score = |v: &VulnerabilityEntry| v.cvss.as_ref().map_or(0.0, |c| c.score);
    sorted.sort_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then(score(b).total_cmp(&score(a)))
            .then_with(|| (&a.name, &a.id).cmp(&(&b.name, &b.id)))
    });
    sorted
}

/// The report's findings, worst first, then by layer and path.
pub fn findings_worst_first(report: &Report) -> Vec<&Tracked<Finding>> {
    let mut sorted: Vec<_> = report.findings.iter().flatten().collect();
    sorted.sort_by(|a, b| (a.severity, a.layer, &a.path).cmp(&(b.severity, b.layer, &b.path)));
    sorted
}

/// What one layer brought.
#[derive(Debug, Clone)]
pub struct LayerStory<'a> {
    /// The layer.
    pub layer: &'a LayerInfo,
    /// Packages it introduced.
    pub added: Vec<&'a Package>,
    /// Packages it took out of a database (removed or replaced).
    pub removed: Vec<&'a RemovedPackage>,
    /// Vulnerabilities of the packages it introduced, by severity.
    pub vulnerabilities: SeverityCounts,
    /// Files in it that rules matched (deleted ones too).
    pub malware: Vec<MalwareFile<'a>>,
    /// Findings about its files, by severity.
    pub findings: SeverityCounts,
}

impl LayerStory<'_> {
    /// Whether the layer is worth a second look: malware, or findings or
    /// vulnerabilities of HIGH or above.
    pub fn alarming(&self) -> bool {
        !self.malware.is_empty()
            || self.findings.get(Severity::Critical) + self.findings.get(Severity::High) > 0
            || self.vulnerabilities.get(Severity::Critical) > 0
    }

    /// One line: `packages +7 -1, 3 vulnerabilities (1 HIGH), 1 malware file, …`.
    pub fn brought(&self) -> String {
        let mut parts = Vec::new();
        if !self.added.is_empty() || !self.removed.is_empty() {
            parts.push(format!(
                "packages +{} -{}",
                self.added.len(),
                self.removed.len()
            ));
        }
        let count =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        if self.vulnerabilities.total() > 0 {
            parts.push(format!(
                "{} ({})",
                count(
                    self.vulnerabilities.total(),
                    "vulnerability",
                    "vulnerabilities"
                ),
                self.vulnerabilities.describe()
            ));
        }
        if !self.malware.is_empty() {
            parts.push(count(self.malware.len(), "malware file", "malware files"));
        }
        if self.findings.total() > 0 {
            parts.push(format!(
                "{} ({})",
                count(self.findings.total(), "finding", "findings"),
                self.findings.describe()
            ));
        }
        if self.layer.deleted > 0 {
            parts.push(format!(
                "{} lower paths deleted or replaced",
                self.layer.deleted
            ));
        }
        parts.join(", ")
    }
}

/// One [`LayerStory`] per layer, bottom first.
pub fn layer_timeline(report: &Report) -> Vec<LayerStory<'_>> {
    let malware = malware_files(report);
    report
        .layers
        .iter()
        .map(|layer| {
            let at = layer.index;
            LayerStory {
                layer,
                added: report
                    .packages
                    .iter()
                    .flatten()
                    .filter(|p| p.layer == at)
                    .collect(),
                removed: report
                    .removed_packages
                    .iter()
                    .flatten()
                    .filter(|p| p.layer == at)
                    .collect(),
                vulnerabilities: SeverityCounts::of(
                    report
                        .vulnerabilities
                        .iter()
                        .flatten()
                        .filter(|v| v.at.layer == at)
                        .map(|v| v.severity),
                ),
                malware: malware.iter().filter(|m| m.layer == at).cloned().collect(),
                findings: SeverityCounts::of(
                    report
                        .findings
                        .iter()
                        .flatten()
                        .filter(|f| f.layer == at)
                        .map(|f| f.severity),
                ),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_describe_the_non_zero_severities_worst_first() {
        let counts = SeverityCounts::of([Severity::Low, Severity::Critical, Severity::Low]);
        assert_eq!(counts.describe(), "1 CRITICAL, 2 LOW");
        assert_eq!(counts.total(), 3);
        assert_eq!(SeverityCounts::default().describe(), "");
    }
}
