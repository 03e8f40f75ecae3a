//! The human-readable rendering of a report: what the target is, a table of
//! layers, totals, what was skipped and not checked, and the file listing
//! when asked. Colour only when the caller says the output is a terminal
//! that wants it. Every string that comes from the target (or from an
//! advisory feed) goes through [`terminal_safe`]: control characters in it
//! are shown as escapes, never sent to the terminal.

use super::Report;
use imgscan_advisories::VulnerabilityKind;
use imgscan_sbom::terminal_safe;
use std::fmt::Write;

/// A target-derived string, safe to print.
fn e(text: &str) -> String {
    terminal_safe(text).into_owned()
}

/// Renders `report` as text; `color` adds ANSI emphasis to headings.
pub fn render(report: &Report, color: bool) -> String {
    let bold = |s: &str| {
        if color {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let mut out = String::new();
    let t = &report.target;
    let _ = writeln!(out, "{} {} ({})", bold("Target  "), e(&t.input), t.kind);
    if let Some(digest) = &t.digest {
        let _ = writeln!(out, "{} {}", bold("Digest  "), e(digest));
    }
    if let Some(platform) = &t.platform {
        let _ = writeln!(out, "{} {}", bold("Platform"), e(platform));
    }
    if let Some(created) = &t.created {
        let _ = writeln!(out, "{} {}", bold("Created "), e(created));
    }
    let os = match &t.os {
        Some(os) => os
            .name
            .clone()
            .unwrap_or_else(|| format!("{} {}", os.id, os.version_id.as_deref().unwrap_or(""))),
        None => "unknown (no os-release found)".to_string(),
    };
    let _ = writeln!(out, "{} {}", bold("OS      "), e(&os));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{}",
        bold(&format!(
            "{:<5} {:<19} {:>10} {:>10} {:>8}  {}",
            "LAYER", "DIGEST", "STORED", "SIZE", "ENTRIES", "CREATED BY"
        ))
    );
    for layer in &report.layers {
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
    }
    let s = &report.summary;
    let totals = &s.totals;
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{} {} layers, {} paths, {} files ({}), {} deleted or replaced by later layers",
        bold("Totals  "),
        totals.layers,
        totals.paths,
        totals.files,
        human_bytes(totals.file_bytes),
        totals.deleted
    );
    // Incidents first: each is the story the entries below are pieces of.
    if let Some(incidents) = report.incidents.as_ref().filter(|i| !i.is_empty()) {
        let _ = writeln!(
            out,
            "\n{}",
            bold(&format!("Incidents ({})", incidents.len()))
        );
        for incident in incidents {
            let _ = writeln!(
                out,
                "{:<8} {} (layer {})",
                format!("{:?}", incident.severity).to_uppercase(),
                incident.executable,
                incident.layer
            );
            let verdicts: Vec<&str> = incident.verdicts.iter().map(|v| v.id.as_str()).collect();
            let _ = writeln!(out, "         verdicts: {}", verdicts.join(", "));
            for starter in &incident.started_by {
                let line = starter.line.map(|l| format!(":{l}")).unwrap_or_default();
                let _ = writeln!(
                    out,
                    "         started by ({}): {}{line}",
                    starter.kind, starter.path
                );
            }
            for config in &incident.config {
                let _ = writeln!(out, "         config: {}", config.path);
            }
            if let Some(created_by) = &incident.created_by {
                let _ = writeln!(out, "         came in with: {created_by}");
            }
        }
    }
    if let Some(packages) = &report.packages {
        let _ = writeln!(out, "\n{}", bold(&format!("Packages ({})", packages.len())));
        if !packages.is_empty() {
            let _ = writeln!(
                out,
                "{}",
                bold(&format!(
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
        let _ = writeln!(out);
    }
    if let Some(vulnerabilities) = &report.vulnerabilities {
        let _ = writeln!(
            out,
            "{}",
            bold(&format!("Vulnerabilities ({})", vulnerabilities.len()))
        );
        if !vulnerabilities.is_empty() {
            let _ = writeln!(
                out,
                "{}",
                bold(&format!(
                    "{:<13} {:<20} {:<28} {:<24} {:<24} {:>5}  {}",
                    "SEVERITY", "ID", "PACKAGE", "INSTALLED", "FIXED IN", "LAYER", "SUMMARY"
                ))
            );
        }
        for v in vulnerabilities {
            let severity = match &v.cvss {
                Some(cvss) => format!("{:?} {:.1}", v.severity, cvss.score).to_uppercase(),
                None => format!("{:?}", v.severity).to_uppercase(),
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
                "{:<13} {:<20} {:<28} {:<24} {:<24} {:>5}  {}",
                severity,
                e(&v.id),
                e(&v.name),
                e(&v.version),
                fixed,
                v.layer,
                one_line(&e(&v.summary), 70)
            );
        }
        let _ = writeln!(out);
    }
    if let Some(malware) = &report.malware {
        let _ = writeln!(out, "{}", bold(&format!("Malware ({})", malware.len())));
        for m in malware {
            let severity = format!("{:?}", m.severity).to_uppercase();
            let seen = if m.visible {
                ""
            } else {
                " (deleted by a later layer; still in the image)"
            };
            let _ = writeln!(
                out,
                "{:<8} {:<30} layer {:<3} {}{seen}",
                severity,
                e(&m.rule),
                m.layer,
                e(&m.path)
            );
            let _ = writeln!(out, "         sha256 {}", e(&m.sha256));
            let _ = writeln!(out, "         evidence: {}", e(&m.evidence.join(" | ")));
        }
        let _ = writeln!(out);
    }
    if let Some(findings) = &report.findings {
        let _ = writeln!(out, "{}", bold(&format!("Findings ({})", findings.len())));
        for f in findings {
            let place = match f.line {
                Some(line) => format!("{}:{line}", e(&f.path)),
                None => e(&f.path),
            };
            let severity = format!("{:?}", f.severity).to_uppercase();
            let _ = writeln!(
                out,
                "{:<8} {:<30} layer {:<3} {}",
                severity,
                e(f.id),
                f.layer,
                place
            );
            let _ = writeln!(out, "         {}", e(&f.title));
            let _ = writeln!(out, "         evidence: {}", e(&f.evidence));
            let _ = writeln!(out, "         fix: {}", e(&f.remedy));
        }
        let _ = writeln!(out);
    }
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
        let _ = writeln!(out, "{} {}", bold("Skipped "), skipped.join(", "));
    }
    if !report.unknowns.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            bold(&format!("Unknowns ({})", report.unknowns.len()))
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
        let _ = writeln!(out, "{} {}", bold("Warning "), e(warning));
    }
    if !s.not_checked.is_empty() {
        let _ = writeln!(out, "{} {}", bold("Not checked"), s.not_checked.join(", "));
    }
    if let Some(files) = &report.files {
        let _ = writeln!(
            out,
            "\n{}",
            bold(&format!(
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
    out
}

fn short_digest(digest: &str) -> String {
    digest.chars().take("sha256:".len() + 12).collect()
}

fn one_line(text: &str, max: usize) -> String {
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
