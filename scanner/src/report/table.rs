//! The human-readable rendering of a report. It leads with what matters:
//! the target, the gate's verdict and counts, then incidents, malware (one
//! row per file, all its rules), findings and vulnerabilities, then the
//! layers with what each brought, what was skipped and not checked; the
//! packages with `--list-packages`, the file listing when asked. Colour
//! (severities, headings) only when the caller says the output is a
//! terminal that wants it. Every string that comes from the target (or from an
//! advisory feed) goes through [`terminal_safe`]: control characters in it
//! are shown as escapes, never sent to the terminal.

use super::gate::{GateResult, Verdict};
use super::view::{
    SeverityCounts, findings_worst_first, layer_timeline, malware_files,
    vulnerabilities_worst_first,
};
use super::{Report, Status};
use imgscan_advisories::VulnerabilityKind;
use imgscan_sbom::{Severity, terminal_safe};
use std::fmt::Write;

/// A target-derived string, safe to print.
fn e(text: &str) -> String {
    terminal_safe(text).into_owned()
}

/// How the table is drawn.
#[derive(Debug, Clone, Copy, Default)]
pub struct TableOptions {
    /// ANSI colour: headings bold, severities coloured (a terminal that
    /// wants it; never with `NO_COLOR` or into a pipe).
    pub color: bool,
    /// The gate's outcome, shown first (absent for `inspect` and `sbom`).
    pub gate: Option<GateResult>,
    /// List every package (`--list-packages`; the `sbom` command).
    pub list_packages: bool,
}

/// ANSI styling, or none.
struct Style {
    color: bool,
}

impl Style {
    fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }

    /// `s` (already padded) in the colour of `severity`.
    fn severity(&self, severity: Severity, s: &str) -> String {
        let code = match severity {
            Severity::Critical => "1;31",
            Severity::High => "31",
            Severity::Medium => "33",
            Severity::Low => "36",
            Severity::Unknown => "2",
        };
        self.paint(code, s)
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

/// ` NEW` after an item new against a baseline.
fn mark(status: Option<Status>) -> &'static str {
    if status == Some(Status::New) {
        " NEW"
    } else {
        ""
    }
}

/// Renders `report` as text: the target and the verdict first, then what
/// matters most (incidents, malware, findings, vulnerabilities), then the
/// layers, what was skipped, and packages and files when asked for.
pub fn render(report: &Report, options: &TableOptions) -> String {
    let style = Style {
        color: options.color,
    };
    let mut out = String::new();
    header(&mut out, report, options, &style);
    incidents(&mut out, report, &style);
    malware(&mut out, report, &style);
    findings(&mut out, report, &style);
    vulnerabilities(&mut out, report, &style);
    layers(&mut out, report, &style);
    scan_notes(&mut out, report, &style);
    if options.list_packages {
        packages(&mut out, report, &style);
    }
    files(&mut out, report, &style);
    out
}

fn header(out: &mut String, report: &Report, options: &TableOptions, style: &Style) {
    let t = &report.target;
    let _ = writeln!(
        out,
        "{} {} ({})",
        style.bold("Target  "),
        e(&t.input),
        t.kind
    );
    if let Some(digest) = &t.digest {
        let _ = writeln!(out, "{} {}", style.bold("Digest  "), e(digest));
    }
    if let Some(platform) = &t.platform {
        let _ = writeln!(out, "{} {}", style.bold("Platform"), e(platform));
    }
    if let Some(created) = &t.created {
        let _ = writeln!(out, "{} {}", style.bold("Created "), e(created));
    }
    let os = match &t.os {
        Some(os) => os
            .name
            .clone()
            .unwrap_or_else(|| format!("{} {}", os.id, os.version_id.as_deref().unwrap_or(""))),
        None => "unknown (no os-release found)".to_string(),
    };
    let _ = writeln!(out, "{} {}", style.bold("OS      "), e(&os));
    if let Some(gate) = &options.gate {
        let headline = match gate.verdict {
            Verdict::Passed => style.paint("1;32", gate.headline()),
            _ => style.severity(Severity::Critical, gate.headline()),
        };
        let _ = writeln!(
            out,
            "{} {headline}: {}",
            style.bold("Gate    "),
            gate.reason()
        );
    }
    let mut found = Vec::new();
    if let Some(incidents) = report.incidents.as_ref().filter(|i| !i.is_empty()) {
        found.push(format!("{} incident(s)", incidents.len()));
    }
    let files = malware_files(report);
    if report.malware.is_some() {
        found.push(format!(
            "{} malware file(s){}",
            files.len(),
            by_severity(&SeverityCounts::of(files.iter().map(|f| f.severity)))
        ));
    }
    if let Some(findings) = &report.findings {
        found.push(format!(
            "{} finding(s){}",
            findings.len(),
            by_severity(&SeverityCounts::of(findings.iter().map(|f| f.severity)))
        ));
    }
    if let Some(vulnerabilities) = &report.vulnerabilities {
        found.push(format!(
            "{} vulnerabilit{}{}",
            vulnerabilities.len(),
            if vulnerabilities.len() == 1 {
                "y"
            } else {
                "ies"
            },
            by_severity(&SeverityCounts::of(
                vulnerabilities.iter().map(|v| v.severity)
            ))
        ));
    }
    if let Some(packages) = &report.packages {
        let hint = if options.list_packages {
            ""
        } else {
            " (--list-packages lists them)"
        };
        found.push(format!("{} package(s){hint}", packages.len()));
    }
    if !found.is_empty() {
        let _ = writeln!(out, "{} {}", style.bold("Found   "), found.join(", "));
    }
    let baseline = super::baseline::render_table(report);
    if !baseline.is_empty() {
        let _ = write!(out, "{baseline}");
    }
}

/// ` (1 CRITICAL, 2 HIGH)`, or nothing when all are zero.
fn by_severity(counts: &SeverityCounts) -> String {
    if counts.total() == 0 {
        String::new()
    } else {
        format!(" ({})", counts.describe())
    }
}

fn incidents(out: &mut String, report: &Report, style: &Style) {
    // Incidents first: each is the story the entries below are pieces of.
    let Some(incidents) = report.incidents.as_ref().filter(|i| !i.is_empty()) else {
        return;
    };
    let _ = writeln!(
        out,
        "\n{}",
        style.bold(&format!("Incidents ({})", incidents.len()))
    );
    for incident in incidents {
        let _ = writeln!(
            out,
            "{} {} (layer {})",
            style.severity(incident.severity, &format!("{:<8}", incident.severity)),
            e(&incident.executable),
            incident.layer
        );
        let verdicts: Vec<&str> = incident.verdicts.iter().map(|v| v.id.as_str()).collect();
        let _ = writeln!(out, "         verdicts: {}", e(&verdicts.join(", ")));
        for starter in &incident.started_by {
            let line = starter.line.map(|l| format!(":{l}")).unwrap_or_default();
            let _ = writeln!(
                out,
                "         started by ({}): {}{line}",
                starter.kind,
                e(&starter.path)
            );
        }
        for config in &incident.config {
            let _ = writeln!(out, "         config: {}", e(&config.path));
        }
        if let Some(created_by) = &incident.created_by {
            let _ = writeln!(
                out,
                "         came in with: {}",
                one_line(&e(created_by), 100)
            );
        }
    }
}

fn malware(out: &mut String, report: &Report, style: &Style) {
    if report.malware.is_none() {
        return;
    }
    let files = malware_files(report);
    let _ = writeln!(
        out,
        "\n{}",
        style.bold(&format!("Malware ({} files)", files.len()))
    );
    for m in files {
        let seen = if m.visible {
            ""
        } else {
            " (deleted by a later layer; still in the image)"
        };
        let rules: Vec<&str> = m.rules.iter().map(|(rule, _)| *rule).collect();
        let _ = writeln!(
            out,
            "{} layer {:<3} {}{seen}{}",
            style.severity(m.severity, &format!("{:<8}", m.severity)),
            m.layer,
            e(m.path),
            mark(m.status)
        );
        let _ = writeln!(out, "         rules: {}", e(&rules.join(", ")));
        let _ = writeln!(out, "         sha256 {}", e(m.sha256));
        let _ = writeln!(out, "         evidence: {}", e(&m.evidence.join(" | ")));
    }
}

fn findings(out: &mut String, report: &Report, style: &Style) {
    let Some(findings) = &report.findings else {
        return;
    };
    let _ = writeln!(
        out,
        "\n{}",
        style.bold(&format!("Findings ({})", findings.len()))
    );
    for f in findings_worst_first(report) {
        let place = match f.line {
            Some(line) => format!("{}:{line}", e(&f.path)),
            None => e(&f.path),
        };
        let _ = writeln!(
            out,
            "{} {:<30} layer {:<3} {}{}",
            style.severity(f.severity, &format!("{:<8}", f.severity)),
            e(f.id),
            f.layer,
            place,
            mark(f.status)
        );
        let _ = writeln!(out, "         {}", e(&f.title));
        let _ = writeln!(out, "         evidence: {}", e(&f.evidence));
        let _ = writeln!(out, "         fix: {}", e(&f.remedy));
    }
}

fn vulnerabilities(out: &mut String, report: &Report, style: &Style) {
    let Some(vulnerabilities) = &report.vulnerabilities else {
        return;
    };
    let _ = writeln!(
        out,
        "\n{}",
        style.bold(&format!("Vulnerabilities ({})", vulnerabilities.len()))
    );
    if !vulnerabilities.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            style.bold(&format!(
                "{:<13} {:<20} {:<28} {:<24} {:<24} {:>5}  {}",
                "SEVERITY", "ID", "PACKAGE", "INSTALLED", "FIXED IN", "LAYER", "SUMMARY"
            ))
        );
    }
    for v in vulnerabilities_worst_first(report) {
        let severity = match &v.cvss {
            Some(cvss) => format!("{} {:.1}", v.severity, cvss.score),
            None => v.severity.to_string(),
        };
        let fixed = if v.kind == VulnerabilityKind::Malicious {
            "remove it".to_string()
        } else if v.fixed.is_empty() {
            "no fix".to_string()
        } else {
            e(&v.fixed.join(", "))
        };
        let _ = writeln!(
            out,
            "{} {:<20} {:<28} {:<24} {:<24} {:>5}  {}{}",
            style.severity(v.severity, &format!("{severity:<13}")),
            e(&v.id),
            e(&v.name),
            e(&v.version),
            fixed,
            v.at.layer,
            one_line(&e(&v.summary), 70),
            mark(v.status)
        );
    }
}

fn layers(out: &mut String, report: &Report, style: &Style) {
    let _ = writeln!(
        out,
        "\n{}",
        style.bold(&format!(
            "{:<5} {:<19} {:>10} {:>10} {:>8}  {}",
            "LAYER", "DIGEST", "STORED", "SIZE", "ENTRIES", "CREATED BY"
        ))
    );
    for story in layer_timeline(report) {
        let layer = story.layer;
        let digest = layer
            .digest
            .as_deref()
            .map(|d| short_digest(&e(d)))
            .unwrap_or_else(|| "-".into());
        let stored = layer
            .compressed_size
            .map(human_bytes)
            .unwrap_or_else(|| "-".into());
        let created = layer
            .created_by
            .as_deref()
            .map(|c| one_line(&e(c), 60))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{:<5} {:<19} {:>10} {:>10} {:>8}  {}",
            layer.index,
            digest,
            stored,
            human_bytes(layer.size),
            layer.entries,
            created
        );
        let brought = story.brought();
        if !brought.is_empty() {
            let line = format!("{:<5} brought: {brought}", "");
            if story.alarming() {
                let _ = writeln!(out, "{}", style.severity(Severity::High, &line));
            } else {
                let _ = writeln!(out, "{line}");
            }
        }
    }
    let totals = &report.summary.totals;
    let _ = writeln!(
        out,
        "{} {} layers, {} paths, {} files ({}), {} deleted or replaced by later layers",
        style.bold("Totals  "),
        totals.layers,
        totals.paths,
        totals.files,
        human_bytes(totals.file_bytes),
        totals.deleted
    );
}

fn scan_notes(out: &mut String, report: &Report, style: &Style) {
    let s = &report.summary;
    let k = &s.skipped;
    let skipped = [
        ("escaping the tree", k.escaping),
        ("special files", k.special),
        ("unreadable", k.unreadable),
        ("over the size limit", k.over_size_limit),
        ("layers over the expansion limit", k.over_expansion_limit),
        ("over the entry limit", k.over_entry_limit),
        ("unsupported entry types", k.unsupported),
        ("archives not wholly looked into", k.not_unpacked),
        ("invalid layer entries", k.invalid),
    ];
    let skipped: Vec<String> = skipped
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(what, n)| format!("{n} {what}"))
        .collect();
    if !skipped.is_empty() {
        let _ = writeln!(out, "{} {}", style.bold("Skipped "), skipped.join(", "));
    }
    if !report.unknowns.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            style.bold(&format!("Unknowns ({})", report.unknowns.len()))
        );
        for unknown in &report.unknowns {
            let _ = writeln!(
                out,
                "  layer {} {}: {}",
                unknown.layer,
                e(&unknown.path),
                e(&unknown.reason)
            );
        }
    }
    for warning in &s.warnings {
        let _ = writeln!(out, "{} {}", style.bold("Warning "), e(warning));
    }
    if !s.not_checked.is_empty() {
        let _ = writeln!(
            out,
            "{} {}",
            style.bold("Not checked"),
            s.not_checked.join(", ")
        );
    }
}

fn packages(out: &mut String, report: &Report, style: &Style) {
    let Some(packages) = &report.packages else {
        return;
    };
    let _ = writeln!(
        out,
        "\n{}",
        style.bold(&format!("Packages ({})", packages.len()))
    );
    if !packages.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            style.bold(&format!(
                "{:<32} {:<28} {:<4} {:>5}  {}",
                "NAME", "VERSION", "TYPE", "LAYER", "LOCATION"
            ))
        );
    }
    for p in packages {
        let _ = writeln!(
            out,
            "{:<32} {:<28} {:<4} {:>5}  {}",
            e(&p.name),
            e(&p.version),
            p.ecosystem.as_str(),
            p.layer,
            e(&p.location)
        );
    }
}

fn files(out: &mut String, report: &Report, style: &Style) {
    let Some(files) = &report.files else {
        return;
    };
    let _ = writeln!(
        out,
        "\n{}",
        style.bold(&format!(
            "{:<5} {:<12} {:>10}  {}",
            "LAYER", "TYPE", "SIZE", "PATH"
        ))
    );
    for f in files {
        let mut line = format!(
            "{:<5} {:<12} {:>10}  {}",
            f.layer,
            f.kind,
            human_bytes(f.size),
            e(&f.path)
        );
        if let Some(link) = &f.link {
            let _ = write!(line, " -> {}", e(link));
        }
        if let Some(layer) = f.deleted_in {
            let _ = write!(line, "  (deleted in layer {layer})");
        }
        let _ = writeln!(out, "{line}");
    }
}

pub(crate) fn short_digest(digest: &str) -> String {
    digest.chars().take("sha256:".len() + 12).collect()
}

pub(crate) fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        format!("{}…", flat.chars().take(max - 1).collect::<String>())
    }
}

/// Formats a byte count with a binary unit.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_lines() {
        assert_eq!(human_bytes(10), "10 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(one_line("a\n  b", 10), "a b");
        assert_eq!(one_line("abcdefghijkl", 5), "abcd…");
    }
}
