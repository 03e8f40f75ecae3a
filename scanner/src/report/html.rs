//! `scan -f html`: one self-contained page a person opens first. The
//! verdict and why on top, counts by severity, incidents, then a layer
//! timeline (what each layer brought; clicking one filters the tables),
//! then tables of malware (one row per file), findings, vulnerabilities,
//! packages (folded) and unknowns. Inline CSS, inline SVG, a little inline
//! script for sorting and filtering; no external resource of any kind (the
//! page's Content-Security-Policy forbids loading one), and everything
//! essential readable with scripts off. Every string from the image or the
//! advisory feed is HTML-escaped.

use super::gate::{GateResult, Verdict};
use super::table::{human_bytes, one_line, short_digest};
use super::view::{
    LayerStory, MalwareFile, SeverityCounts, findings_worst_first, layer_timeline, malware_files,
    vulnerabilities_worst_first,
};
use super::{Report, Status, advisory_url};
use imgscan_advisories::VulnerabilityKind;
use imgscan_sbom::{Severity, terminal_safe};
use std::fmt::Write as _;

const STYLE: &str = include_str!("html/report.css");
const SCRIPT: &str = include_str!("html/report.js");

/// Text for an HTML text node or a quoted attribute: control characters
/// shown as escapes, markup characters as entities.
fn h(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in terminal_safe(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A severity badge.
fn badge(severity: Severity) -> String {
    format!(r#"<span class="sev {severity}">{severity}</span>"#)
}

/// The sort key of a severity (worst first).
fn severity_key(severity: Severity) -> usize {
    severity as usize
}

/// ` NEW` badge for an item new against a baseline.
fn new_mark(status: Option<Status>) -> &'static str {
    if status == Some(Status::New) {
        r#"<span class="new">NEW</span>"#
    } else {
        ""
    }
}

/// Renders `report` as one HTML page; `gate` is the verdict to lead with.
pub fn render_html(report: &Report, gate: Option<&GateResult>) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let headline = gate.map_or("REPORT", |g| g.headline());
    let _ = write!(
        out,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>imgscan {headline}: {}</title>
<style>{STYLE}</style>
</head>
<body>
"#,
        h(&report.target.input)
    );
    verdict(&mut out, report, gate);
    out.push_str("<main>\n");
    counts(&mut out, report);
    incidents(&mut out, report);
    let stories = layer_timeline(report);
    timeline(&mut out, &stories);
    out.push_str(
        r#"<div class="toolbar" hidden><input id="search" type="search" placeholder="Filter every table (path, package, id…)" aria-label="Filter"><span id="filter-note" class="filter-note"></span><button id="clear-filter" type="button" hidden>Show all</button></div>
"#,
    );
    malware(&mut out, report);
    findings(&mut out, report);
    vulnerabilities(&mut out, report);
    packages(&mut out, report);
    unknowns(&mut out, report);
    let _ = write!(
        out,
        r#"<footer>imgscan {} · report schema {} · scanned in {} ms</footer>
</main>
<script>{SCRIPT}</script>
</body></html>
"#,
        env!("CARGO_PKG_VERSION"),
        super::SCHEMA,
        report.summary.duration_ms
    );
    out
}

fn verdict(out: &mut String, report: &Report, gate: Option<&GateResult>) {
    let class = match gate.map(|g| g.verdict) {
        Some(Verdict::Failed) => "failed",
        Some(Verdict::Blind) => "blind",
        _ => "passed",
    };
    let t = &report.target;
    let _ = write!(
        out,
        r#"<header class="verdict {class}"><h1>imgscan: {} <code>{}</code></h1>"#,
        gate.map_or("report of", |g| g.headline()),
        h(&t.input)
    );
    if let Some(gate) = gate {
        let _ = write!(out, r#"<p class="reason">{}</p>"#, h(&gate.reason()));
    }
    out.push_str(r#"<dl class="target">"#);
    let mut row = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            let _ = write!(out, "<dt>{name}</dt><dd>{}</dd>", h(&value));
        }
    };
    row("Kind", Some(t.kind.clone()));
    row("Digest", t.digest.clone());
    row("Platform", t.platform.clone());
    row("Created", t.created.clone());
    row(
        "OS",
        Some(
            t.os.as_ref()
                .map_or("unknown (no os-release found)".into(), |os| {
                    os.name.clone().unwrap_or_else(|| {
                        format!("{} {}", os.id, os.version_id.as_deref().unwrap_or(""))
                    })
                }),
        ),
    );
    let totals = &report.summary.totals;
    row(
        "Contents",
        Some(format!(
            "{} layers, {} files ({}), {} paths deleted or replaced by later layers",
            totals.layers,
            totals.files,
            human_bytes(totals.file_bytes),
            totals.deleted
        )),
    );
    if let Some(baseline) = &report.summary.baseline {
        row(
            "Baseline",
            Some(format!(
                "{}: {} new, {} unchanged, {} fixed (the gate counts only new items)",
                baseline.target, baseline.new, baseline.unchanged, baseline.fixed
            )),
        );
    }
    if !report.summary.not_checked.is_empty() {
        row("Not checked", Some(report.summary.not_checked.join(", ")));
    }
    out.push_str("</dl></header>\n");
}

/// One card per kind: its total and an SVG bar split by severity.
fn counts(out: &mut String, report: &Report) {
    let files = malware_files(report);
    let mut cards: Vec<(&str, SeverityCounts)> = Vec::new();
    if let Some(incidents) = &report.incidents {
        cards.push((
            "Incidents",
            SeverityCounts::of(incidents.iter().map(|i| i.severity)),
        ));
    }
    if report.malware.is_some() {
        cards.push((
            "Malware files",
            SeverityCounts::of(files.iter().map(|f| f.severity)),
        ));
    }
    if let Some(findings) = &report.findings {
        cards.push((
            "Findings",
            SeverityCounts::of(findings.iter().map(|f| f.severity)),
        ));
    }
    if let Some(vulnerabilities) = &report.vulnerabilities {
        cards.push((
            "Vulnerabilities",
            SeverityCounts::of(vulnerabilities.iter().map(|v| v.severity)),
        ));
    }
    if cards.is_empty() {
        return;
    }
    out.push_str(r#"<section id="counts"><h2>Summary</h2><div class="counts">"#);
    for (title, counts) in cards {
        let _ = write!(
            out,
            r#"<div class="count-card"><h3>{title}</h3><div class="total">{}</div>{}<div class="muted">{}</div></div>"#,
            counts.total(),
            severity_bar(&counts),
            if counts.total() == 0 {
                "none".to_string()
            } else {
                counts.describe()
            }
        );
    }
    if let Some(packages) = &report.packages {
        let _ = write!(
            out,
            r#"<div class="count-card"><h3>Packages</h3><div class="total">{}</div><div class="muted">{} removed or replaced by a later layer</div></div>"#,
            packages.len(),
            report.removed_packages.as_ref().map_or(0, Vec::len)
        );
    }
    out.push_str("</div></section>\n");
}

/// A 220×14 SVG bar split by severity (an empty grey bar when all zero).
fn severity_bar(counts: &SeverityCounts) -> String {
    const WIDTH: f64 = 220.0;
    let mut svg = format!(
        r##"<svg class="sizebar" width="220" height="14" viewBox="0 0 220 14" role="img" aria-label="{}"><rect width="220" height="14" rx="3" fill="#eef0f3"/>"##,
        h(&counts.describe())
    );
    let total = counts.total();
    let mut x = 0.0;
    for severity in Severity::ALL {
        let n = counts.get(severity);
        if n == 0 || total == 0 {
            continue;
        }
        let width = WIDTH * n as f64 / total as f64;
        let _ = write!(
            svg,
            r#"<rect x="{x:.1}" width="{width:.1}" height="14" fill="var(--{})"><title>{n} {severity}</title></rect>"#,
            severity.as_str().to_lowercase()
        );
        x += width;
    }
    svg.push_str("</svg>");
    svg
}

fn incidents(out: &mut String, report: &Report) {
    let Some(incidents) = &report.incidents else {
        return;
    };
    let _ = write!(
        out,
        r#"<section id="incidents"><h2>Incidents ({})</h2>"#,
        incidents.len()
    );
    if incidents.is_empty() {
        out.push_str(r#"<p class="empty">No suspicious executable: nothing the rules or checks flagged is an executable with a verdict.</p>"#);
    }
    for incident in incidents {
        let _ = write!(
            out,
            r#"<div class="incident {}" data-layer="{}"><h3>{} <code>{}</code> <span class="muted">layer {}</span></h3><ul>"#,
            incident.severity,
            incident.layer,
            badge(incident.severity),
            h(&incident.executable),
            incident.layer
        );
        let verdicts: Vec<String> = incident
            .verdicts
            .iter()
            .map(|v| format!("<code>{}</code> ({})", h(&v.id), v.severity))
            .collect();
        let _ = write!(out, "<li><b>Verdicts:</b> {}</li>", verdicts.join(", "));
        for starter in &incident.started_by {
            let line = starter.line.map(|l| format!(":{l}")).unwrap_or_default();
            let _ = write!(
                out,
                "<li><b>Started by</b> {} <code>{}{line}</code> (layer {}): <code>{}</code></li>",
                h(starter.kind),
                h(&starter.path),
                starter.layer,
                h(&one_line(&starter.evidence, 200))
            );
        }
        for config in &incident.config {
            let _ = write!(
                out,
                "<li><b>Config</b> <code>{}</code> (layer {}): {}</li>",
                h(&config.path),
                config.layer,
                h(&config.rules.join(", "))
            );
        }
        if let Some(created_by) = &incident.created_by {
            let _ = write!(
                out,
                "<li><b>Came in with</b> layer {}: <code>{}</code></li>",
                incident.layer,
                h(&one_line(created_by, 300))
            );
        }
        out.push_str("</ul></div>");
    }
    out.push_str("</section>\n");
}

fn timeline(out: &mut String, stories: &[LayerStory<'_>]) {
    let largest = stories
        .iter()
        .map(|s| s.layer.size)
        .max()
        .unwrap_or(0)
        .max(1);
    out.push_str(r#"<section id="timeline"><h2>Layers</h2><table class="timeline"><thead><tr><th>Layer</th><th>Created by</th><th>Size</th><th>What it brought</th></tr></thead><tbody>"#);
    for story in stories {
        let layer = story.layer;
        let class = if story.alarming() {
            "layer alarming"
        } else {
            "layer"
        };
        let width = (160.0 * layer.size as f64 / largest as f64).max(1.0);
        let digest = layer
            .digest
            .as_deref()
            .map(|d| format!(r#"<div class="muted mono">{}</div>"#, h(&short_digest(d))))
            .unwrap_or_default();
        let _ = write!(
            out,
            r##"<tr class="{class}" data-layer="{}" tabindex="0"><td>{}</td><td><code>{}</code>{digest}</td><td>{}<svg class="sizebar" width="160" height="8" viewBox="0 0 160 8" aria-hidden="true"><rect width="{width:.1}" height="8" rx="2" fill="#8db1e8"/></svg></td><td class="chips">{}</td></tr>"##,
            layer.index,
            layer.index,
            h(&one_line(
                layer.created_by.as_deref().unwrap_or("(no history)"),
                200
            )),
            human_bytes(layer.size),
            chips(story)
        );
    }
    out.push_str("</tbody></table></section>\n");
}

/// What a layer brought, as chips; malware names the files.
fn chips(story: &LayerStory<'_>) -> String {
    let mut chips = String::new();
    for file in &story.malware {
        let rules: Vec<&str> = file.rules.iter().map(|(r, _)| *r).collect();
        let _ = write!(
            chips,
            r#"<span class="alarm">{} {}{}</span>"#,
            h(file.path),
            h(&rules.join(", ")),
            if file.visible { "" } else { " (deleted later)" }
        );
    }
    if !story.added.is_empty() || !story.removed.is_empty() {
        let _ = write!(
            chips,
            "<span>packages +{} −{}</span>",
            story.added.len(),
            story.removed.len()
        );
    }
    let mut counted = |what: &str, counts: &SeverityCounts| {
        if counts.total() > 0 {
            let class = if counts.get(Severity::Critical) + counts.get(Severity::High) > 0 {
                "warn"
            } else {
                ""
            };
            let _ = write!(
                chips,
                r#"<span class="{class}">{} {what} ({})</span>"#,
                counts.total(),
                counts.describe()
            );
        }
    };
    counted("vulnerabilities", &story.vulnerabilities);
    counted("findings", &story.findings);
    if story.layer.deleted > 0 {
        let _ = write!(
            chips,
            "<span>{} lower paths deleted or replaced</span>",
            story.layer.deleted
        );
    }
    if chips.is_empty() {
        chips.push_str(r#"<span class="muted">nothing of note</span>"#);
    }
    chips
}

/// Opens a sortable, filterable table section.
fn table_start(out: &mut String, id: &str, title: &str, count: usize, head: &[&str]) {
    let _ = write!(
        out,
        r#"<section id="{id}-section"><h2>{title} ({count}) <span id="{id}-shown" class="muted"></span></h2>"#
    );
    // An empty table stays in the page (the script filters every table)
    // but is not shown.
    let hidden = if count == 0 {
        out.push_str(r#"<p class="empty">None.</p>"#);
        " hidden"
    } else {
        ""
    };
    let _ = write!(out, r#"<table class="data" id="{id}"{hidden}><thead><tr>"#);
    for column in head {
        let _ = write!(out, "<th>{column}</th>");
    }
    out.push_str("</tr></thead><tbody>");
}

fn table_end(out: &mut String) {
    out.push_str("</tbody></table></section>\n");
}

fn malware(out: &mut String, report: &Report) {
    if report.malware.is_none() {
        return;
    }
    let files = malware_files(report);
    table_start(
        out,
        "malware",
        "Malware",
        files.len(),
        &["Severity", "File", "Layer", "Rules", "Evidence"],
    );
    for file in &files {
        malware_row(out, file);
    }
    table_end(out);
}

fn malware_row(out: &mut String, file: &MalwareFile<'_>) {
    let rules: Vec<String> = file
        .rules
        .iter()
        .map(|(rule, severity)| format!("<code>{}</code> {severity}", h(rule)))
        .collect();
    let evidence: Vec<String> = file
        .evidence
        .iter()
        .map(|e| format!("<code>{}</code>", h(&one_line(e, 120))))
        .collect();
    let deleted = if file.visible {
        ""
    } else {
        r#"<div class="muted">deleted by a later layer; still in the image</div>"#
    };
    let _ = write!(
        out,
        r#"<tr data-layer="{}"><td data-sort="{}">{}{}</td><td><code>{}</code>{deleted}<div class="muted mono">sha256 {}</div></td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
        file.layer,
        severity_key(file.severity),
        badge(file.severity),
        new_mark(file.status),
        h(file.path),
        h(file.sha256),
        file.layer,
        rules.join("<br>"),
        evidence.join(" ")
    );
}

fn findings(out: &mut String, report: &Report) {
    let Some(findings) = &report.findings else {
        return;
    };
    table_start(
        out,
        "findings",
        "Findings",
        findings.len(),
        &[
            "Severity",
            "Check",
            "Where",
            "Layer",
            "What was seen",
            "Fix",
        ],
    );
    for f in findings_worst_first(report) {
        let place = match f.line {
            Some(line) => format!("{}:{line}", f.path),
            None => f.path.clone(),
        };
        let _ = write!(
            out,
            r#"<tr data-layer="{}"><td data-sort="{}">{}{}</td><td><code>{}</code><div>{}</div></td><td><code>{}</code></td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>"#,
            f.layer,
            severity_key(f.severity),
            badge(f.severity),
            new_mark(f.status),
            h(f.id),
            h(&f.title),
            h(&place),
            f.layer,
            h(&one_line(&f.evidence, 200)),
            h(&f.remedy)
        );
    }
    table_end(out);
}

fn vulnerabilities(out: &mut String, report: &Report) {
    let Some(vulnerabilities) = &report.vulnerabilities else {
        return;
    };
    table_start(
        out,
        "vulnerabilities",
        "Vulnerabilities",
        vulnerabilities.len(),
        &[
            "Severity",
            "Advisory",
            "Package",
            "Installed",
            "Fixed in",
            "Layer",
            "Summary",
        ],
    );
    for v in vulnerabilities_worst_first(report) {
        let score = v
            .cvss
            .as_ref()
            .map(|c| format!(r#" <span class="muted">{:.1}</span>"#, c.score))
            .unwrap_or_default();
        let fixed = if v.kind == VulnerabilityKind::Malicious {
            "<b>malicious: remove it</b>".to_string()
        } else if v.fixed.is_empty() {
            r#"<span class="muted">no fix</span>"#.to_string()
        } else {
            h(&v.fixed.join(", "))
        };
        let aliases = if v.aliases.is_empty() {
            String::new()
        } else {
            format!(r#"<div class="muted">{}</div>"#, h(&v.aliases.join(", ")))
        };
        let _ = write!(
            out,
            r#"<tr data-layer="{}"><td data-sort="{}">{}{score}{}</td><td><a href="{}" rel="noreferrer noopener">{}</a>{aliases}</td><td><code>{}</code></td><td><code>{}</code></td><td>{fixed}</td><td>{}</td><td>{}</td></tr>"#,
            v.at.layer,
            severity_key(v.severity),
            badge(v.severity),
            new_mark(v.status),
            advisory_url(&v.id),
            h(&v.id),
            h(&v.name),
            h(&v.version),
            v.at.layer,
            h(&one_line(&v.summary, 200))
        );
    }
    table_end(out);
}

fn packages(out: &mut String, report: &Report) {
    let Some(packages) = &report.packages else {
        return;
    };
    let _ = write!(
        out,
        r#"<details class="block" id="packages-section"><summary>Packages ({}) <span id="packages-shown" class="muted"></span></summary><table class="data" id="packages"><thead><tr><th>Name</th><th>Version</th><th>Type</th><th>Layer</th><th>Location</th></tr></thead><tbody>"#,
        packages.len()
    );
    for p in packages {
        let _ = write!(
            out,
            r#"<tr data-layer="{}"><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td><td class="mono">{}</td></tr>"#,
            p.layer,
            h(&p.name),
            h(&p.version),
            p.ecosystem.as_str(),
            p.layer,
            h(&p.location)
        );
    }
    out.push_str("</tbody></table>");
    if let Some(removed) = report.removed_packages.as_ref().filter(|r| !r.is_empty()) {
        let _ = write!(
            out,
            r#"<h3>Removed or replaced by a later layer ({})</h3><table class="data" id="removed-packages"><thead><tr><th>Name</th><th>Version</th><th>Removed in layer</th><th>Brought by layer</th><th>Location</th></tr></thead><tbody>"#,
            removed.len()
        );
        for p in removed {
            let _ = write!(
                out,
                r#"<tr data-layer="{}"><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td><td class="mono">{}</td></tr>"#,
                p.layer,
                h(&p.name),
                h(&p.version),
                p.layer,
                p.introduced,
                h(&p.location)
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</details>\n");
}

fn unknowns(out: &mut String, report: &Report) {
    table_start(
        out,
        "unknowns",
        "Not read",
        report.unknowns.len(),
        &["Path", "Layer", "Why"],
    );
    for unknown in &report.unknowns {
        let _ = write!(
            out,
            r#"<tr data-layer="{}"><td><code>{}</code></td><td>{}</td><td>{}</td></tr>"#,
            unknown.layer,
            h(&unknown.path),
            unknown.layer,
            h(&unknown.reason)
        );
    }
    table_end(out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::spdx::tests::{sample_packages, sample_report};

    #[test]
    fn image_text_is_escaped_everywhere() {
        assert_eq!(
            h("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(h("bell\x07"), "bell\\x07");
    }

    #[test]
    fn the_page_loads_nothing_from_outside() {
        let mut report = sample_report(Some(sample_packages()));
        let page = render_html(&report, None);
        assert!(page.starts_with("<!DOCTYPE html>"));
        for external in ["<link", " src=", "@import", "url(", "http://", "//fonts"] {
            assert!(!page.contains(external), "found {external}");
        }
        assert!(page.contains("default-src 'none'"));
        report.layers[0].created_by = Some("RUN <script>alert(1)</script>".into());
        let page = render_html(&report, None);
        assert!(!page.contains("<script>alert"), "image text is escaped");
        assert!(page.contains("RUN &lt;script&gt;alert(1)&lt;/script&gt;"));
    }

    #[test]
    fn a_thousand_packages_stay_within_two_megabytes() {
        let template = sample_packages().remove(0);
        let packages: Vec<_> = (0..1000)
            .map(|i| {
                let mut p = template.clone();
                p.name = format!("package-with-a-long-name-{i}");
                p.version = format!("1.2.{i}-1+deb12u1");
                p.location = "/var/lib/dpkg/status".into();
                p
            })
            .collect();
        let page = render_html(&sample_report(Some(packages)), None);
        assert!(page.matches("package-with-a-long-name-").count() >= 1000);
        assert!(page.len() < 2 << 20, "{} bytes", page.len());
    }
}
