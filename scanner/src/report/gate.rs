//! The gate: whether a report passes. Malware of HIGH or above and a
//! malicious package (OSV `MAL-` record) always fail; `--fail-on SEVERITY`
//! adds every vulnerability, malware match and finding at or above it.
//! Against a baseline only new items count. With `--fail-on` and
//! vulnerabilities not checked (no advisory database) the gate cannot pass
//! blind. The same [`GateRule`] judges a scan report and a diff; the CLI
//! maps the [`GateResult`] to its exit status, the human renderers show it.

use super::Report;
use imgscan_advisories::VulnerabilityKind;
use imgscan_sbom::Severity;

/// What fails: the rule a report or a diff is judged by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GateRule {
    /// `--fail-on`: everything at or above it fails too.
    pub fail_on: Option<Severity>,
}

impl GateRule {
    /// Whether a malware match of `severity` fails (HIGH or above always).
    pub fn fails_malware(&self, severity: Severity) -> bool {
        let threshold = self
            .fail_on
            .map_or(Severity::High, |t| t.max(Severity::High));
        severity <= threshold
    }

    /// Whether a vulnerability fails: a malicious package always.
    pub fn fails_vulnerability(&self, severity: Severity, malicious: bool) -> bool {
        malicious || self.fails_finding(severity)
    }

    /// Whether a finding of `severity` fails (only with `--fail-on`).
    pub fn fails_finding(&self, severity: Severity) -> bool {
        self.fail_on.is_some_and(|t| severity <= t)
    }
}

/// How many items failed the gate, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failing {
    /// Vulnerable or malicious packages.
    pub vulnerabilities: usize,
    /// Malware matches.
    pub malware: usize,
    /// Findings.
    pub findings: usize,
}

impl Failing {
    /// Whether anything failed.
    pub fn any(&self) -> bool {
        self.vulnerabilities + self.malware + self.findings > 0
    }
}

/// The gate's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing at or above the gate.
    Passed,
    /// Something at or above the gate.
    Failed,
    /// `--fail-on` given but vulnerabilities were not checked: no pass.
    Blind,
}

/// A report judged by a [`GateRule`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateResult {
    /// The rule applied.
    pub rule: GateRule,
    /// What failed.
    pub failing: Failing,
    /// The outcome.
    pub verdict: Verdict,
    /// Whether only items new against a baseline were counted.
    pub against_baseline: bool,
}

impl GateResult {
    /// Judges `report` by `rule`.
    pub fn of(report: &Report, rule: GateRule) -> GateResult {
        let failing = Failing {
            malware: report
                .malware
                .iter()
                .flatten()
                .filter(|m| m.counts() && rule.fails_malware(m.severity))
                .count(),
            vulnerabilities: report
                .vulnerabilities
                .iter()
                .flatten()
                .filter(|v| {
                    v.counts()
                        && rule
                            .fails_vulnerability(v.severity, v.kind == VulnerabilityKind::Malicious)
                })
                .count(),
            findings: report
                .findings
                .iter()
                .flatten()
                .filter(|f| f.counts() && rule.fails_finding(f.severity))
                .count(),
        };
        let blind =
            rule.fail_on.is_some() && report.summary.not_checked.contains(&"vulnerabilities");
        GateResult::new(rule, failing, blind, report.summary.baseline.is_some())
    }

    /// The outcome of `failing` under `rule`; `blind` when vulnerabilities
    /// were not checked.
    pub fn new(rule: GateRule, failing: Failing, blind: bool, against_baseline: bool) -> Self {
        let verdict = if failing.any() {
            Verdict::Failed
        } else if blind && rule.fail_on.is_some() {
            Verdict::Blind
        } else {
            Verdict::Passed
        };
        GateResult {
            rule,
            failing,
            verdict,
            against_baseline,
        }
    }

    /// One line saying why: what failed, or why nothing could pass.
    pub fn reason(&self) -> String {
        let new = if self.against_baseline { "new " } else { "" };
        let f = &self.failing;
        match self.verdict {
            Verdict::Failed => format!(
                "{} {new}vulnerable or malicious package(s), {} {new}malware match(es), {} {new}finding(s) at or above the gate",
                f.vulnerabilities, f.malware, f.findings
            ),
            Verdict::Blind => "--fail-on cannot pass: vulnerabilities were not checked (no advisory database: run `imgscan db update`)".to_string(),
            Verdict::Passed => match self.rule.fail_on {
                Some(t) => format!("nothing {new}at or above {t}, no malware of HIGH or above, no malicious package"),
                None => format!("no {new}malware of HIGH or above and no {new}malicious package (add --fail-on SEVERITY to gate on vulnerabilities and findings)"),
            },
        }
    }

    /// The headline: `PASSED`, `FAILED` or `NOT PASSED`.
    pub fn headline(&self) -> &'static str {
        match self.verdict {
            Verdict::Passed => "PASSED",
            Verdict::Failed => "FAILED",
            Verdict::Blind => "NOT PASSED",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malware_fails_at_high_always_and_lower_only_with_fail_on() {
        let default = GateRule::default();
        assert!(default.fails_malware(Severity::High));
        assert!(!default.fails_malware(Severity::Medium));
        let low = GateRule {
            fail_on: Some(Severity::Low),
        };
        assert!(low.fails_malware(Severity::Medium));
        let critical = GateRule {
            fail_on: Some(Severity::Critical),
        };
        assert!(critical.fails_malware(Severity::High), "never above HIGH");
    }

    #[test]
    fn malicious_packages_always_fail_vulnerabilities_only_with_fail_on() {
        let default = GateRule::default();
        assert!(default.fails_vulnerability(Severity::Unknown, true));
        assert!(!default.fails_vulnerability(Severity::Critical, false));
        assert!(!default.fails_finding(Severity::Critical));
        let high = GateRule {
            fail_on: Some(Severity::High),
        };
        assert!(high.fails_vulnerability(Severity::Critical, false));
        assert!(!high.fails_vulnerability(Severity::Medium, false));
    }

    #[test]
    fn a_blind_gate_does_not_pass_unless_something_failed() {
        let rule = GateRule {
            fail_on: Some(Severity::High),
        };
        let nothing = Failing::default();
        assert_eq!(
            GateResult::new(rule, nothing, true, false).verdict,
            Verdict::Blind
        );
        let one = Failing {
            malware: 1,
            ..Failing::default()
        };
        let failed = GateResult::new(rule, one, true, true);
        assert_eq!(failed.verdict, Verdict::Failed);
        assert!(
            failed.reason().contains("1 new malware"),
            "{}",
            failed.reason()
        );
        assert_eq!(
            GateResult::new(GateRule::default(), nothing, true, false).verdict,
            Verdict::Passed,
            "without --fail-on the vulnerabilities are not gated"
        );
    }
}
