//! `imgscan diff OLD NEW`: each side is read as a JSON report when it is a
//! regular file that starts with `{` (no image form does), else scanned as
//! a TARGET with the same flags as `scan`; the diff is rendered, and the
//! exit status is the gate applied to what is new.

use crate::cli::{DiffArgs, DiffFormat};
use crate::{Job, gate, scan_report};
use imgscan_scanner::report::baseline::{ReportDoc, looks_like_report};
use imgscan_scanner::report::diff::Diff;
use std::path::Path;
use std::process::ExitCode;

/// Runs `imgscan diff`.
pub fn run(args: &DiffArgs) -> anyhow::Result<ExitCode> {
    let job = Job::scan(&args.checks)?;
    if let Some(path) = &args.target.output {
        let mut inputs = job.read.clone();
        inputs.push(("older side", args.old.clone().into()));
        inputs.push(("newer side", args.target.target.clone().into()));
        crate::output::refuse_overwriting_inputs(path, &inputs)?;
    }
    let old = side(&args.old, args, &job)?;
    let new = side(&args.target.target, args, &job)?;
    let diff = Diff::new(&old, &new);
    let text = match args.format {
        DiffFormat::Table => diff.to_table(),
        DiffFormat::Json => diff.to_json(),
        DiffFormat::Markdown => diff.to_markdown(),
    };
    crate::output::emit(args.target.output.as_deref(), &text)?;
    Ok(gate::diff_verdict(&diff, job.fail_on))
}

/// One side: a report file read back, or a target scanned.
fn side(input: &str, args: &DiffArgs, job: &Job) -> anyhow::Result<ReportDoc> {
    let path = Path::new(input);
    if looks_like_report(path) {
        return Ok(ReportDoc::read(path)?);
    }
    let target = crate::scan_args::TargetArgs {
        target: input.to_string(),
        ..args.target.clone()
    };
    let (report, _) = scan_report(&target, job, target.cache.layer_cache()?)?;
    for warning in &report.summary.warnings {
        crate::output::note(&format!("imgscan: warning: {input}: {warning}"));
    }
    Ok(ReportDoc::of(&report))
}
