//! Findings: hygiene, persistence and supply-chain problems found in an
//! image, with a stable dotted id (`npm.lock-drift`, `ssh.permit-root-login`)
//! and the place that shows them.

use crate::tree::LayerNumber;
use serde::{Deserialize, Serialize};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    /// Fix now.
    Critical,
    /// Fix soon.
    High,
    /// Worth fixing.
    Medium,
    /// Minor.
    Low,
    /// Not rated.
    Unknown,
}

impl Severity {
    /// Every severity, worst first.
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Unknown,
    ];

    /// The upper-case label the reports use (`CRITICAL`, ... `UNKNOWN`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "CRITICAL",
            Severity::High => "HIGH",
            Severity::Medium => "MEDIUM",
            Severity::Low => "LOW",
            Severity::Unknown => "UNKNOWN",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable, lower-case, dotted id.
    pub id: &'static str,
    /// Severity.
    pub severity: Severity,
    /// One-line title.
    pub title: String,
    /// Absolute, escaped path of the file that shows it.
    pub path: String,
    /// 1-based line in that file, if it applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// The layer of that file.
    pub layer: LayerNumber,
    /// What was seen.
    pub evidence: String,
    /// How to fix it.
    pub remedy: String,
}
