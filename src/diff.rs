//! `imgscan diff OLD NEW`: each side is read as a JSON report when it is a
//! regular file that starts with `{` (no image form does), else scanned as
//! a TARGET with the same flags as `scan`; the diff is rendered, and the
//! exit status is the gate applied to what is new.

use crate::cli::{DiffArgs, DiffFormat};
use crate::{Job, gate, scan_report};
use imgscan_scanner::report::baseline::{ReportDoc, looks_like_report};
use imgscan_scanner::report::diff::Diff;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Runs `imgscan diff`.
pub fn run(args: &DiffArgs) -> anyhow::Result<ExitCode> {
    let job = Job::scan(&args.checks)?;
    let old = side(&args.old, args, &job)?;
    let new = side(&args.target.target, args, &job)?;
    let diff = Diff::new(&old, &new);
    let text = match args.format {
        DiffFormat::Table => diff.to_table(),
        DiffFormat::Json => diff.to_json(),
        DiffFormat::Markdown => diff.to_markdown(),
    };
    match &args.target.output {
        Some(path) => std::fs::write(path, text)
            .map_err(|e| anyhow::anyhow!("cannot write `{}`: {e}", path.display()))?,
        None => {
            let mut stdout = std::io::stdout().lock();
            let written = stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush());
            if let Err(e) = written
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                anyhow::bail!("cannot write the diff: {e}");
            }
        }
    }
    Ok(gate::diff_verdict(&diff, job.fail_on))
}

/// One side: a report file read back, or a target scanned.
fn side(input: &str, args: &DiffArgs, job: &Job) -> anyhow::Result<ReportDoc> {
    let path = Path::new(input);
    if looks_like_report(path) {
        return Ok(ReportDoc::read(path)?);
    }
    let target = crate::cli::TargetArgs {
        target: input.to_string(),
        ..args.target.clone()
    };
    let (report, _) = scan_report(&target, job, target.cache.layer_cache()?)?;
    for warning in &report.summary.warnings {
        eprintln!("imgscan: warning: {input}: {warning}");
    }
    Ok(ReportDoc::of(&report))
}
