//! The gate: the exit status a CI step reads. 1 when malware of HIGH or
//! above or a malicious package (OSV `MAL-` record) was found (always), or
//! when a vulnerability, malware match or finding at or above `--fail-on`
//! remains. With `--fail-on` and vulnerabilities not checked (no advisory
//! database) the gate cannot pass blind, so 2 — unless a definite failure
//! was found, which is 1. Otherwise 0. Against a baseline (`--baseline`)
//! only new items count: what last week's report already had does not fail
//! this week's gate.

use imgscan_advisories::VulnerabilityKind;
use imgscan_sbom::Severity;
use imgscan_scanner::Report;
use std::process::ExitCode;

/// The exit status for `report` under the `fail_on` gate; a failure is
/// explained on stderr.
pub fn verdict(report: &Report, fail_on: Option<Severity>) -> ExitCode {
    let (code, why) = decide(report, fail_on);
    if let Some(why) = why {
        crate::output::note(&why);
    }
    ExitCode::from(code)
}

/// The gate's decision on `report`: the exit status, and the line that
/// explains a status other than 0.
pub fn decide(report: &Report, fail_on: Option<Severity>) -> (u8, Option<String>) {
    let at_or_above = |severity: Severity, threshold: Severity| severity <= threshold;
    let malware_threshold = fail_on.map_or(Severity::High, |t| t.max(Severity::High));
    let malware = report
        .malware
        .iter()
        .flatten()
        .filter(|m| m.counts() && at_or_above(m.severity, malware_threshold))
        .count();
    let vulnerabilities = report
        .vulnerabilities
        .iter()
        .flatten()
        .filter(|v| {
            v.counts()
                && (v.kind == VulnerabilityKind::Malicious
                    || fail_on.is_some_and(|t| at_or_above(v.severity, t)))
        })
        .count();
    let findings = fail_on.map_or(0, |t| {
        report
            .findings
            .iter()
            .flatten()
            .filter(|f| f.counts() && at_or_above(f.severity, t))
            .count()
    });
    if malware + vulnerabilities + findings > 0 {
        let new = if report.summary.baseline.is_some() {
            "new "
        } else {
            ""
        };
        return (
            1,
            Some(format!(
                "imgscan: gate failed: {vulnerabilities} {new}vulnerable or malicious package(s), {malware} {new}malware match(es), {findings} {new}finding(s) at or above the gate"
            )),
        );
    }
    if fail_on.is_some() && report.summary.not_checked.contains(&"vulnerabilities") {
        return (
            2,
            Some("imgscan: error: --fail-on cannot pass: vulnerabilities were not checked (no advisory database: run `imgscan db update`)".to_string()),
        );
    }
    (0, None)
}

/// The exit status of `imgscan diff`: the gate applied to what the newer
/// side has and the older had not. With `--fail-on` and the newer side's
/// vulnerabilities not checked, 2 unless something definite failed.
pub fn diff_verdict(
    diff: &imgscan_scanner::report::diff::Diff,
    fail_on: Option<Severity>,
) -> ExitCode {
    let at_or_above = |severity: Severity, threshold: Severity| severity <= threshold;
    let malware_threshold = fail_on.map_or(Severity::High, |t| t.max(Severity::High));
    let malware = diff.malware.iter().flat_map(|m| &m.new);
    let malware = malware
        .filter(|m| at_or_above(m.severity, malware_threshold))
        .count();
    let vulnerabilities = diff
        .vulnerabilities
        .iter()
        .flat_map(|v| &v.new)
        .filter(|v| v.kind == "malicious" || fail_on.is_some_and(|t| at_or_above(v.severity, t)))
        .count();
    let findings = fail_on.map_or(0, |t| {
        diff.findings
            .iter()
            .flat_map(|f| &f.new)
            .filter(|f| at_or_above(f.severity, t))
            .count()
    });
    if malware + vulnerabilities + findings > 0 {
        eprintln!(
            "imgscan: gate failed: {vulnerabilities} new vulnerable or malicious package(s), {malware} new malware match(es), {findings} new finding(s) at or above the gate"
        );
        return ExitCode::from(1);
    }
    if fail_on.is_some() && diff.vulnerabilities.is_none() {
        eprintln!(
            "imgscan: error: --fail-on cannot pass: vulnerabilities were not compared (a side did not check them)"
        );
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}
