//! The gate's exit status, the one a CI step reads: 0 passed, 1 something
//! at or above the gate (see [`imgscan_scanner::report::gate`]), 2 a gate
//! that cannot pass blind (`--fail-on` without vulnerabilities checked).
//! Against a baseline only new items count; `imgscan diff` counts what the
//! newer side has and the older had not.

use imgscan_sbom::Severity;
use imgscan_scanner::Report;
use imgscan_scanner::report::diff::Diff;
use imgscan_scanner::report::gate::{Failing, GateResult, GateRule, Verdict};
use std::process::ExitCode;

/// `report` judged under the `fail_on` gate.
pub fn judge(report: &Report, fail_on: Option<Severity>) -> GateResult {
    GateResult::of(report, GateRule { fail_on })
}

/// The gate's decision on `report`: the exit status, and the line that
/// explains a status other than 0.
pub fn decide(report: &Report, fail_on: Option<Severity>) -> (u8, Option<String>) {
    outcome(&judge(report, fail_on))
}

/// The exit status for `result`, and the line that explains one other than 0.
fn outcome(result: &GateResult) -> (u8, Option<String>) {
    match result.verdict {
        Verdict::Passed => (0, None),
        Verdict::Failed => (
            1,
            Some(format!("imgscan: gate failed: {}", result.reason())),
        ),
        Verdict::Blind => (2, Some(format!("imgscan: error: {}", result.reason()))),
    }
}

/// The exit status for `result`, with its reason on stderr when not 0.
pub fn exit_status(result: &GateResult) -> ExitCode {
    let (code, why) = outcome(result);
    if let Some(why) = why {
        crate::output::note(&why);
    }
    ExitCode::from(code)
}

/// The exit status of `imgscan diff`: the gate applied to what the newer
/// side has and the older had not. With `--fail-on` and vulnerabilities
/// not compared, 2 unless something definite failed.
pub fn diff_verdict(diff: &Diff, fail_on: Option<Severity>) -> ExitCode {
    let rule = GateRule { fail_on };
    let failing = Failing {
        malware: diff
            .malware
            .iter()
            .flat_map(|m| &m.new)
            .filter(|m| rule.fails_malware(m.severity))
            .count(),
        vulnerabilities: diff
            .vulnerabilities
            .iter()
            .flat_map(|v| &v.new)
            .filter(|v| rule.fails_vulnerability(v.severity, v.kind == "malicious"))
            .count(),
        findings: diff
            .findings
            .iter()
            .flat_map(|f| &f.new)
            .filter(|f| rule.fails_finding(f.severity))
            .count(),
    };
    exit_status(&GateResult::new(
        rule,
        failing,
        diff.vulnerabilities.is_none(),
        true,
    ))
}
