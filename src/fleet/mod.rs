//! `imgscan fleet submit|status|report|clear` (and `work`, in [`work`]): scans of
//! many images on a Redis work queue shared by any number of workers. The
//! queue and its records are `imgscan-fleet`'s; this prints.

pub mod args;
mod work;

use crate::output;
use crate::redis::server as redis_server;
use crate::scan_args::Format;
use args::{FleetCommand, FleetFormat, SubmitArgs};
use imgscan_fleet::summary::JobStatus;
use imgscan_fleet::{FleetReport, JobSpec, Queue, render};
use std::io::Read;
use std::process::ExitCode;

/// Runs one `fleet` subcommand.
pub fn run(command: FleetCommand) -> anyhow::Result<ExitCode> {
    match command {
        FleetCommand::Submit(args) => submit(&args),
        FleetCommand::Work(args) => work::run(&args),
        FleetCommand::Status { redis, format } => {
            let status = Queue::open(&redis_server(&redis.redis)?)?.status()?;
            output::print(&match format {
                Format::Json => serde_json::to_string_pretty(&status)? + "\n",
                Format::Table => render::status_line(&status) + "\n",
            })?;
            Ok(ExitCode::SUCCESS)
        }
        FleetCommand::Report { redis, format } => {
            let report = FleetReport::read(&mut Queue::open(&redis_server(&redis.redis)?)?)?;
            output::print(&match format {
                FleetFormat::Table => render::table(&report),
                FleetFormat::Json => report.to_json(),
                FleetFormat::Markdown => render::markdown(&report),
            })?;
            Ok(ExitCode::from(report_exit(&report)))
        }
        FleetCommand::Clear { redis } => {
            let server = redis_server(&redis.redis)?;
            let removed = Queue::open(&server)?.clear()?;
            output::note(&format!(
                "imgscan: removed {removed} fleet key(s) from {server}"
            ));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// 2 when a target could not be scanned or is not done, else 1 when one
/// failed the gate, else 0.
fn report_exit(report: &FleetReport) -> u8 {
    report
        .targets
        .iter()
        .map(|t| match t.status {
            JobStatus::Done => t.exit.unwrap_or(2),
            _ => 2,
        })
        .max()
        .unwrap_or(0)
}

/// Queues the targets; prints each job's id and target.
fn submit(args: &SubmitArgs) -> anyhow::Result<ExitCode> {
    args.options.check()?;
    let mut targets = args.targets.clone();
    if let Some(path) = &args.from_file {
        let mut text = String::new();
        if path.as_os_str() == "-" {
            std::io::stdin().read_to_string(&mut text)?;
        } else {
            text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read `{}`: {e}", path.display()))?;
        }
        targets.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string),
        );
    }
    anyhow::ensure!(
        !targets.is_empty(),
        "nothing to submit: give TARGET arguments or --from-file LIST"
    );
    anyhow::ensure!(
        targets.iter().all(|t| !t.trim().is_empty()),
        "an empty TARGET cannot be scanned"
    );
    let options = args.options.to_spec();
    let specs: Vec<JobSpec> = targets
        .into_iter()
        .map(|target| JobSpec {
            target,
            options: options.clone(),
        })
        .collect();
    let server = redis_server(&args.redis.redis)?;
    let ids = Queue::open(&server)?.submit(&specs)?;
    let mut text = String::new();
    for (id, spec) in ids.iter().zip(&specs) {
        text.push_str(&format!(
            "{id}\t{}\n",
            imgscan_sbom::terminal_safe(&spec.target)
        ));
    }
    output::print(&text)?;
    output::note(&format!("imgscan: queued {} job(s) on {server}", ids.len()));
    Ok(ExitCode::SUCCESS)
}
