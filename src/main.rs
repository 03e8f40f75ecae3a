//! `imgscan`: the command-line front of the scanner. Parses arguments,
//! shows progress on a terminal, renders the report, and maps the outcome
//! to the exit status (0 passed, 1 findings at or above the gate, 2 the
//! scan could not be done). Only this crate prints.
#![forbid(unsafe_code)]

mod cli;
mod progress;
mod size;
mod terminal;

use clap::Parser;
use cli::{Cli, Command, Format, SbomFormat, TargetArgs};
use imgscan_scanner::{Report, ScanOptions, scan};
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let cli = Cli::parse_from(cli::with_default_command(std::env::args_os()));
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            let mut message = format!("{err}");
            for cause in err.chain().skip(1) {
                message.push_str(&format!(": {cause}"));
            }
            eprintln!("imgscan: error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Scan(args) => report(
            &args.target,
            Job {
                catalog: true,
                files: false,
            },
            Output::from(args.format),
        ),
        Command::Inspect(args) => report(
            &args.target,
            Job {
                catalog: false,
                files: args.files,
            },
            Output::from(args.format),
        ),
        Command::Sbom(args) => report(
            &args.target,
            Job {
                catalog: true,
                files: false,
            },
            Output::from(args.format),
        ),
    }
}

/// What a command asks of the scan.
struct Job {
    catalog: bool,
    files: bool,
}

/// How the report is written.
enum Output {
    Table,
    Json,
}

impl From<Format> for Output {
    fn from(format: Format) -> Self {
        match format {
            Format::Table => Output::Table,
            Format::Json => Output::Json,
        }
    }
}

impl From<SbomFormat> for Output {
    fn from(format: SbomFormat) -> Self {
        match format {
            SbomFormat::Table => Output::Table,
            SbomFormat::Json => Output::Json,
        }
    }
}

/// Scans the target and writes its report. Until advisories, rules and
/// checks are built there is nothing to gate on, so a readable target passes.
fn report(args: &TargetArgs, job: Job, output: Output) -> anyhow::Result<ExitCode> {
    let options = ScanOptions {
        limits: args.limits()?,
        platform: args.platform()?,
        capture: Vec::new(),
        catalog: job.catalog,
    };
    let started = Instant::now();
    let progress = progress::LayerProgress::new(args.quiet);
    let scanned = scan(&args.target, &options, &progress);
    progress.finish();
    let scanned = scanned?;
    let report = Report::new(&scanned, job.files, started.elapsed());
    let text = match output {
        Output::Json => report.to_json(),
        Output::Table => imgscan_scanner::report::table::render(
            &report,
            args.output.is_none() && terminal::stdout_wants_color(),
        ),
    };
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .map_err(|e| anyhow::anyhow!("cannot write `{}`: {e}", path.display()))?,
        None => {
            let mut stdout = std::io::stdout().lock();
            let written = stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush());
            // A closed pipe (`imgscan … | head`) is the reader's choice, not a failure.
            if let Err(e) = written
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                anyhow::bail!("cannot write the report: {e}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
