//! `scan -f markdown`: the report as a merge-request comment — the verdict,
//! counts by severity, incidents, malware (one row per file), findings and
//! the worst vulnerabilities, with the layers folded away. Also the escaping
//! every Markdown renderer here uses (this one and `diff`'s): text from an
//! image goes in code spans or is escaped, so it cannot inject links, HTML
//! or mentions into a comment, nor break a table.

use super::Report;
use super::baseline::plain;
use super::gate::GateResult;
use super::table::one_line;
use super::view::{
    SeverityCounts, findings_worst_first, layer_timeline, malware_files,
    vulnerabilities_worst_first,
};
use imgscan_advisories::VulnerabilityKind;
use imgscan_sbom::Severity;
use std::fmt::Write as _;

/// Rows a table shows before it says how many more there are (a comment
/// has a size limit; the JSON report has everything).
const MAX_ROWS: usize = 50;

/// Text with every character that could start markup escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in plain(text).chars() {
        if "\\`*_{}[]()<>#+-.!|@~&:".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Text as a code span (a backtick inside becomes `'`; a `|` is escaped,
/// which GitHub and GitLab honour inside table cells too).
pub fn code(text: &str) -> String {
    format!("`{}`", plain(text).replace('`', "'").replace('|', "\\|"))
}

/// Renders `report` as Markdown; `gate` is the verdict to lead with.
pub fn render_markdown(report: &Report, gate: Option<&GateResult>) -> String {
    let mut out = String::new();
    let verdict = gate
        .map(|g| format!(": **{}**", g.headline()))
        .unwrap_or_default();
    let _ = writeln!(out, "## imgscan {}{verdict}\n", code(&report.target.input));
    if let Some(gate) = gate {
        let _ = writeln!(out, "> {}\n", escape(&gate.reason()));
    }
    counts_table(&mut out, report);
    if let Some(incidents) = report.incidents.as_ref().filter(|i| !i.is_empty()) {
        let _ = writeln!(out, "\n### Incidents ({})\n", incidents.len());
        for incident in incidents {
            let verdicts: Vec<String> = incident.verdicts.iter().map(|v| code(&v.id)).collect();
            let starters: Vec<String> = incident
                .started_by
                .iter()
                .map(|s| {
                    let line = s.line.map(|l| format!(":{l}")).unwrap_or_default();
                    format!("{} {}", s.kind, code(&format!("{}{line}", s.path)))
                })
                .collect();
            let mut text = format!(
                "- **{}** {} (layer {}): {}",
                incident.severity,
                code(&incident.executable),
                incident.layer,
                verdicts.join(", ")
            );
            if !starters.is_empty() {
                let _ = write!(text, "; started by {}", starters.join(", "));
            }
            if let Some(created_by) = &incident.created_by {
                let _ = write!(text, "; came in with {}", code(&one_line(created_by, 120)));
            }
            let _ = writeln!(out, "{text}");
        }
    }
    if report.malware.is_some() {
        let files = malware_files(report);
        let _ = writeln!(out, "\n### Malware ({} files)\n", files.len());
        if !files.is_empty() {
            let _ = writeln!(
                out,
                "| Severity | Path | Layer | Rules |\n|---|---|---|---|"
            );
        }
        for m in files.iter().take(MAX_ROWS) {
            let rules: Vec<String> = m.rules.iter().map(|(r, _)| code(r)).collect();
            let deleted = if m.visible { "" } else { " (deleted later)" };
            let _ = writeln!(
                out,
                "| {} | {}{deleted} | {} | {} |",
                m.severity,
                code(m.path),
                m.layer,
                rules.join(", ")
            );
        }
        more(&mut out, files.len());
    }
    if let Some(findings) = &report.findings {
        let _ = writeln!(out, "\n### Findings ({})\n", findings.len());
        if !findings.is_empty() {
            let _ = writeln!(
                out,
                "| Severity | Check | Where | Layer | Fix |\n|---|---|---|---|---|"
            );
        }
        for f in findings_worst_first(report).into_iter().take(MAX_ROWS) {
            let place = match f.line {
                Some(line) => format!("{}:{line}", f.path),
                None => f.path.clone(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                f.severity,
                code(f.id),
                code(&place),
                f.layer,
                escape(&one_line(&f.remedy, 160))
            );
        }
        more(&mut out, findings.len());
    }
    if let Some(vulnerabilities) = &report.vulnerabilities {
        let _ = writeln!(out, "\n### Vulnerabilities ({})\n", vulnerabilities.len());
        if !vulnerabilities.is_empty() {
            let _ = writeln!(
                out,
                "| Severity | Id | Package | Installed | Fixed in | Layer |\n|---|---|---|---|---|---|"
            );
        }
        for v in vulnerabilities_worst_first(report)
            .into_iter()
            .take(MAX_ROWS)
        {
            let fixed = if v.kind == VulnerabilityKind::Malicious {
                "malicious: remove it".to_string()
            } else if v.fixed.is_empty() {
                "no fix".to_string()
            } else {
                escape(&v.fixed.join(", "))
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {fixed} | {} |",
                v.severity,
                code(&v.id),
                code(&v.name),
                code(&v.version),
                v.at.layer
            );
        }
        more(&mut out, vulnerabilities.len());
    }
    let _ = writeln!(
        out,
        "\n<details><summary>Layers ({})</summary>\n\n| Layer | Created by | Brought |\n|---|---|---|",
        report.layers.len()
    );
    for story in layer_timeline(report) {
        let created = story.layer.created_by.as_deref().unwrap_or("");
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            story.layer.index,
            code(&one_line(created, 100)),
            escape(&story.brought())
        );
    }
    let _ = writeln!(out, "\n</details>");
    out
}

/// The counts by kind and severity.
fn counts_table(out: &mut String, report: &Report) {
    let mut rows: Vec<(&str, SeverityCounts)> = Vec::new();
    if report.malware.is_some() {
        let files = malware_files(report);
        rows.push((
            "malware files",
            SeverityCounts::of(files.iter().map(|f| f.severity)),
        ));
    }
    if let Some(findings) = &report.findings {
        rows.push((
            "findings",
            SeverityCounts::of(findings.iter().map(|f| f.severity)),
        ));
    }
    if let Some(vulnerabilities) = &report.vulnerabilities {
        rows.push((
            "vulnerabilities",
            SeverityCounts::of(vulnerabilities.iter().map(|v| v.severity)),
        ));
    }
    if rows.is_empty() {
        return;
    }
    let header: Vec<&str> = Severity::ALL.iter().map(|s| s.as_str()).collect();
    let _ = writeln!(out, "| | {} |", header.join(" | "));
    let _ = writeln!(out, "|---{}|", "|---".repeat(Severity::ALL.len()));
    for (what, counts) in rows {
        let cells: Vec<String> = Severity::ALL
            .iter()
            .map(|s| counts.get(*s).to_string())
            .collect();
        let _ = writeln!(out, "| {what} | {} |", cells.join(" | "));
    }
}

/// "… and N more" under a table cut at [`MAX_ROWS`].
fn more(out: &mut String, total: usize) {
    if total > MAX_ROWS {
        let _ = writeln!(
            out,
            "\n… and {} more (the JSON report has them all).",
            total - MAX_ROWS
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_text_cannot_inject_markup() {
        assert_eq!(
            escape("<img src=x> @all [a](b)"),
            "\\<img src=x\\> \\@all \\[a\\]\\(b\\)"
        );
        assert_eq!(code("a`b|c"), "`a'b\\|c`");
        assert_eq!(
            escape("bell\x07"),
            "bell\\\\x07",
            "control characters shown, not sent"
        );
    }
}
