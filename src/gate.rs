//! The gate: the exit status a CI step reads. 1 when a finding at or above
//! `--fail-on` remains; with `--fail-on` and vulnerabilities not checked
//! (no advisory database in this build) the gate cannot pass blind, so 2 —
//! unless a definite failure was found, which is 1. Otherwise 0.

use imgscan_sbom::Severity;
use imgscan_scanner::Report;
use std::process::ExitCode;

/// The exit status for `report` under the `fail_on` gate.
pub fn verdict(report: &Report, fail_on: Option<Severity>) -> ExitCode {
    let Some(threshold) = fail_on else {
        return ExitCode::SUCCESS;
    };
    let failing = report
        .findings
        .iter()
        .flatten()
        .filter(|f| f.severity <= threshold)
        .count();
    if failing > 0 {
        eprintln!(
            "imgscan: gate failed: {failing} finding(s) at or above {}",
            format!("{threshold:?}").to_uppercase()
        );
        return ExitCode::from(1);
    }
    if report.summary.not_checked.contains(&"vulnerabilities") {
        eprintln!(
            "imgscan: error: --fail-on cannot pass: vulnerabilities were not checked (the advisory database is not built yet)"
        );
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}
