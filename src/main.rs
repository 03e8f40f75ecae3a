//! `imgscan`: the command-line front of the scanner. Parses arguments,
//! shows progress on a terminal, renders the report, and maps the outcome
//! to the exit status (0 passed, 1 findings at or above the gate, 2 the
//! scan could not be done). Only this crate prints.
#![forbid(unsafe_code)]

mod cli;
mod db;
mod gate;
mod progress;
mod rules;
mod size;
mod terminal;

use clap::Parser;
use cli::{Cli, Command, Format, RulesCommand, SbomFormat, ScanFormat, TargetArgs};
use imgscan_sbom::Severity;
use imgscan_scanner::ignore::IgnoreList;
use imgscan_scanner::vulnerabilities::VulnerabilityFilter;
use imgscan_scanner::{Report, ScanOptions, scan};
use imgscan_signatures::RuleSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

/// The ignore file read when `--ignore-file` is not given.
const DEFAULT_IGNORE_FILE: &str = ".imgscanignore.toml";

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
        Command::Scan(args) => {
            let job = Job {
                catalog: true,
                checks: true,
                skip_checks: args.skip_check.clone(),
                rules: rules::load(&args.rules, !args.no_builtin_rules)?,
                ignore: load_ignore(args.ignore_file.as_deref())?,
                scan_timeout: Duration::from_secs(args.scan_timeout.max(1)),
                files: false,
                fail_on: args.fail_on.map(Into::into),
                advisories: Some(args.db.path()?),
                vulnerability_filter: VulnerabilityFilter {
                    only_fixed: args.only_fixed,
                    severities: args.severity.iter().map(|&s| s.into()).collect(),
                },
            };
            report(&args.target, job, Output::from(args.format))
        }
        Command::Inspect(args) => report(
            &args.target,
            Job::describe(args.files),
            Output::from(args.format),
        ),
        Command::Sbom(args) => report(
            &args.target,
            Job {
                catalog: true,
                ..Job::describe(false)
            },
            Output::from(args.format),
        ),
        Command::Rules(RulesCommand::List) => {
            print!("{}", rules::list()?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Rules(RulesCommand::Check { path }) => rules::check(&path),
        Command::Db(command) => db::run(command),
    }
}

/// The ignore file given, else `.imgscanignore.toml` in the working
/// directory when there is one; a file that does not parse is an error.
fn load_ignore(path: Option<&Path>) -> anyhow::Result<IgnoreList> {
    let default = Path::new(DEFAULT_IGNORE_FILE);
    match path {
        Some(path) => IgnoreList::load(path).map_err(anyhow::Error::msg),
        None if default.is_file() => IgnoreList::load(default).map_err(anyhow::Error::msg),
        None => Ok(IgnoreList::default()),
    }
}

/// What a command asks of the scan.
struct Job {
    catalog: bool,
    checks: bool,
    skip_checks: Vec<String>,
    rules: Option<RuleSet>,
    ignore: IgnoreList,
    scan_timeout: Duration,
    files: bool,
    fail_on: Option<Severity>,
    advisories: Option<PathBuf>,
    vulnerability_filter: VulnerabilityFilter,
}

impl Job {
    /// Reading and describing only: no catalogers, checks or rules, no gate.
    fn describe(files: bool) -> Self {
        Job {
            catalog: false,
            checks: false,
            skip_checks: Vec::new(),
            rules: None,
            ignore: IgnoreList::default(),
            scan_timeout: Duration::from_secs(10),
            files,
            fail_on: None,
            advisories: None,
            vulnerability_filter: VulnerabilityFilter::default(),
        }
    }
}

/// How the report is written.
enum Output {
    Table,
    Json,
    CycloneDx,
    Spdx,
    Sarif,
    Iocs,
}

impl From<Format> for Output {
    fn from(format: Format) -> Self {
        match format {
            Format::Table => Output::Table,
            Format::Json => Output::Json,
        }
    }
}

impl From<ScanFormat> for Output {
    fn from(format: ScanFormat) -> Self {
        match format {
            ScanFormat::Table => Output::Table,
            ScanFormat::Json => Output::Json,
            ScanFormat::Sarif => Output::Sarif,
            ScanFormat::Iocs => Output::Iocs,
        }
    }
}

impl From<SbomFormat> for Output {
    fn from(format: SbomFormat) -> Self {
        match format {
            SbomFormat::Table => Output::Table,
            SbomFormat::Json => Output::Json,
            SbomFormat::CyclonedxJson => Output::CycloneDx,
            SbomFormat::SpdxJson => Output::Spdx,
        }
    }
}

/// Scans the target, writes its report, and applies the gate.
fn report(args: &TargetArgs, job: Job, output: Output) -> anyhow::Result<ExitCode> {
    let options = ScanOptions {
        limits: args.limits()?,
        platform: args.platform()?,
        capture: Vec::new(),
        catalog: job.catalog,
        checks: job.checks,
        skip_checks: job.skip_checks.clone(),
        rules: job.rules.clone(),
        scan_timeout: job.scan_timeout,
        ignore: job.ignore.clone(),
        advisories: job.advisories.clone(),
        vulnerability_filter: job.vulnerability_filter.clone(),
        registry: args.registry(),
    };
    let started = Instant::now();
    let progress = progress::LayerProgress::new(args.quiet);
    let scanned = scan(&args.target, &options, &progress);
    progress.finish();
    let scanned = scanned?;
    let report = Report::new(&scanned, job.files, started.elapsed());
    for warning in &report.summary.warnings {
        eprintln!("imgscan: warning: {warning}");
    }
    let text = match output {
        Output::Json => report.to_json(),
        Output::CycloneDx => {
            imgscan_scanner::report::cyclonedx::render_cyclonedx(&report, SystemTime::now())
        }
        Output::Spdx => imgscan_scanner::report::spdx::render_spdx(&report, SystemTime::now()),
        Output::Sarif => imgscan_scanner::report::sarif::render_sarif(&report),
        Output::Iocs => report.to_iocs(),
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
    Ok(gate::verdict(&report, job.fail_on))
}
