//! The fleet report and the queue's status for people: a table for the
//! terminal, Markdown for a merge request or a wiki. Targets come from the
//! queue, so every one is made safe for where it goes (control characters
//! escaped; Markdown markup escaped).

use crate::queue::Status;
use crate::record::Counts;
use crate::summary::{FleetReport, JobStatus, TargetRow};
use imgscan_sbom::terminal_safe;
use imgscan_scanner::report::markdown;
use std::fmt::Write;

const SEVERITIES: [&str; 4] = ["CRITICAL", "HIGH", "MEDIUM", "LOW"];

/// `C/H/M/L` counts, or `-` when not checked.
fn by_severity(counts: Option<&Counts>) -> String {
    counts.map_or("-".to_string(), |c| {
        SEVERITIES
            .iter()
            .map(|s| c.get(*s).copied().unwrap_or(0).to_string())
            .collect::<Vec<_>>()
            .join("/")
    })
}

fn status(row: &TargetRow) -> &'static str {
    match row.status {
        JobStatus::Queued => "queued",
        JobStatus::Running => "running",
        JobStatus::Done => "done",
        JobStatus::Failed => "failed",
    }
}

fn cell<T: ToString>(value: Option<T>) -> String {
    value.map_or("-".to_string(), |v| v.to_string())
}

/// The closing lines: how many targets stand where, and the cache.
fn totals(report: &FleetReport) -> String {
    let count = |s: JobStatus| report.targets.iter().filter(|t| t.status == s).count();
    let done = report
        .targets
        .iter()
        .filter(|t| t.status == JobStatus::Done);
    let failing = done.filter(|t| t.exit != Some(0)).count();
    format!(
        "{} targets: {} done ({} failed the gate), {} failed, {} running, {} queued; layer cache: {} hits, {} misses",
        report.targets.len(),
        count(JobStatus::Done),
        failing,
        count(JobStatus::Failed),
        count(JobStatus::Running),
        count(JobStatus::Queued),
        report.cache.hits,
        report.cache.misses,
    )
}

/// The report as a table; errors of failed jobs below it.
pub fn table(report: &FleetReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<6} {:<8} {:<4} {:<7} {:<15} {:<15} TARGET",
        "JOB", "STATUS", "EXIT", "MALWARE", "VULNS C/H/M/L", "FINDINGS C/H/M/L"
    );
    for row in &report.targets {
        let _ = writeln!(
            out,
            "{:<6} {:<8} {:<4} {:<7} {:<15} {:<15} {}",
            terminal_safe(&row.id),
            status(row),
            cell(row.exit),
            cell(row.malware),
            by_severity(row.vulnerabilities.as_ref()),
            by_severity(row.findings.as_ref()),
            terminal_safe(&row.target),
        );
    }
    for row in report.targets.iter().filter(|r| r.error.is_some()) {
        let _ = writeln!(
            out,
            "job {} failed: {}",
            terminal_safe(&row.id),
            terminal_safe(row.error.as_deref().unwrap_or_default())
        );
    }
    let _ = writeln!(out, "{}", totals(report));
    out
}

/// The report as Markdown.
pub fn markdown(report: &FleetReport) -> String {
    let md = |text: &str| markdown::escape(text);
    let mut out = String::from("## imgscan fleet report\n\n");
    out.push_str(
        "| job | target | status | exit | malware | vulnerabilities C/H/M/L | findings C/H/M/L |\n",
    );
    out.push_str("|---|---|---|---|---|---|---|\n");
    for row in &report.targets {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            md(&row.id),
            md(&row.target),
            status(row),
            cell(row.exit),
            cell(row.malware),
            by_severity(row.vulnerabilities.as_ref()),
            by_severity(row.findings.as_ref()),
        );
    }
    let failed: Vec<&TargetRow> = report
        .targets
        .iter()
        .filter(|r| r.error.is_some())
        .collect();
    if !failed.is_empty() {
        out.push_str("\n### Failed\n\n");
        for row in failed {
            let _ = writeln!(
                out,
                "- job {} ({}): {}",
                md(&row.id),
                md(&row.target),
                md(row.error.as_deref().unwrap_or_default())
            );
        }
    }
    // Our own words and numbers: nothing to escape.
    let _ = writeln!(out, "\n{}", totals(report));
    out
}

/// The queue's status as one line.
pub fn status_line(status: &Status) -> String {
    format!(
        "{} queued, {} running, {} done, {} failed of {} submitted; throughput {}",
        status.queued,
        status.running,
        status.done,
        status.failed,
        status.submitted,
        status
            .per_minute
            .map_or("-".to_string(), |r| format!("{r:.1} jobs/min"))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgscan_scanner::cache::CacheStats;

    #[test]
    fn targets_from_the_queue_cannot_break_the_markup() {
        let report = FleetReport {
            schema: crate::summary::SCHEMA,
            targets: vec![TargetRow {
                id: "1".into(),
                target: "evil|`x`\n# heading\x1b[31m".into(),
                status: JobStatus::Failed,
                exit: Some(2),
                malware: None,
                vulnerabilities: None,
                findings: None,
                error: Some("bad | thing".into()),
            }],
            cache: CacheStats { hits: 3, misses: 1 },
        };
        let md = markdown(&report);
        let row = md.lines().find(|l| l.starts_with("| 1 ")).unwrap();
        assert_eq!(row.matches(" | ").count(), 6, "{row}");
        assert!(!md.contains('\x1b') && !md.contains("\n# heading"), "{md}");
        let text = table(&report);
        assert!(!text.contains('\x1b'), "{text}");
        assert!(text.ends_with("1 targets: 0 done (0 failed the gate), 1 failed, 0 running, 0 queued; layer cache: 3 hits, 1 misses\n"), "{text}");
    }
}
