//! `imgscan`: the command-line front of the scanner. Parses arguments,
//! shows progress on a terminal, renders the report, and maps the outcome
//! to the exit status (0 passed, 1 findings at or above the gate, 2 the
//! scan could not be done). Only this crate prints.
#![forbid(unsafe_code)]

mod cache;
mod cli;
mod db;
mod diff;
mod duration;
mod fleet;
mod gate;
mod output;
mod progress;
mod redis;
mod rules;
mod scan_args;
mod size;
mod terminal;
mod vex;

use clap::Parser;
use cli::{CheckArgs, Cli, Command, RulesCommand, SbomFormat, ScanFormat};
use imgscan_sbom::Severity;
use imgscan_scanner::assess::ignore::IgnoreList;
use imgscan_scanner::assess::vex::VexSet;
use imgscan_scanner::assess::vulnerabilities::VulnerabilityFilter;
use imgscan_scanner::cache::LayerCache;
use imgscan_scanner::report::baseline::{ReportDoc, check_same_image};
use imgscan_scanner::report::table::TableOptions;
use imgscan_scanner::{Report, ScanOptions, Scanned, scan};
use imgscan_signatures::RuleSet;
use scan_args::{DataArgs, Format, PolicyArgs, TargetArgs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

/// The ignore file read when `--ignore-file` is not given.
pub(crate) const DEFAULT_IGNORE_FILE: &str = ".imgscanignore.toml";

fn main() -> ExitCode {
    let cli = Cli::parse_from(cli::with_default_command(std::env::args_os()));
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            let message = error_line(&err);
            // YARA-X's diagnostics on the user's own rules keep their lines;
            // anything else is one line, whatever the image put in it.
            let compile = matches!(
                err.downcast_ref::<imgscan_signatures::RulesError>(),
                Some(imgscan_signatures::RulesError::Compile(_))
            );
            if compile {
                output::note_block(&format!("imgscan: error: {message}"));
            } else {
                output::note(&format!("imgscan: error: {message}"));
            }
            ExitCode::from(2)
        }
    }
}

/// An error with its causes, in one message. Library errors carry their
/// cause in their own message; a cause is added only when its text is not
/// already there.
pub(crate) fn error_line(err: &anyhow::Error) -> String {
    let mut message = format!("{err}");
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !message.contains(&cause) {
            message.push_str(&format!(": {cause}"));
        }
    }
    message
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // Before any file is opened: with standard output closed, the first
    // file opened would become descriptor 1 and receive the output.
    let to_stdout = match &cli.command {
        Command::Scan(args) => args.target.output.is_none(),
        Command::Inspect(args) => args.target.output.is_none(),
        Command::Sbom(args) => args.target.output.is_none(),
        Command::Diff(args) => args.target.output.is_none(),
        Command::Vex(args) => args.output.is_none(),
        Command::Rules(_) | Command::Db(_) | Command::Cache(_) | Command::Fleet(_) => true,
    };
    if to_stdout {
        output::require_stdout()?;
    }
    match cli.command {
        Command::Scan(args) => {
            // A baseline that cannot be used stops the scan before it starts.
            let baseline = args
                .baseline
                .as_deref()
                .map(|path| ReportDoc::read(path).map(|doc| (path.to_path_buf(), doc)))
                .transpose()?;
            if let Some((path, doc)) = &baseline {
                anyhow::ensure!(
                    doc.is_scan(),
                    "baseline `{}` is not a scan report: it lists no vulnerabilities, malware or findings (`inspect` and `sbom` reports cannot be baselines)",
                    path.display()
                );
            }
            let mut job = Job::scan(&args.checks)?;
            if let Some((path, _)) = &baseline {
                job.read.push(("baseline", path.clone()));
            }
            let job = Job {
                baseline,
                list_packages: args.list_packages,
                ..job
            };
            report(&args.target, job, Output::from(args.format))
        }
        Command::Diff(args) => diff::run(&args),
        Command::Cache(command) => cache::run(command),
        Command::Vex(args) => vex::run(&args),
        Command::Fleet(command) => fleet::run(command),
        Command::Inspect(args) => report(
            &args.target,
            Job::describe(args.files),
            Output::from(args.format),
        ),
        Command::Sbom(args) => report(
            &args.target,
            Job {
                catalog: true,
                list_packages: true,
                ..Job::describe(false)
            },
            Output::from(args.format),
        ),
        Command::Rules(RulesCommand::List) => {
            output::print(&rules::list()?)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Rules(RulesCommand::Check { path }) => rules::check(&path),
        Command::Db(command) => db::run(command),
    }
}

/// The ignore file given, else `.imgscanignore.toml` in the working
/// directory when there is one; a file that does not parse is an error.
pub(crate) fn load_ignore(path: Option<&Path>) -> anyhow::Result<IgnoreList> {
    let default = Path::new(DEFAULT_IGNORE_FILE);
    match path {
        Some(path) => Ok(IgnoreList::load(path)?),
        None if default.is_file() => Ok(IgnoreList::load(default)?),
        None => Ok(IgnoreList::default()),
    }
}

/// What a command asks of the scan.
#[derive(Clone)]
pub(crate) struct Job {
    /// The files the command reads besides the target (ignore file, rules,
    /// database, baseline), which `-o` must not overwrite.
    read: Vec<(&'static str, PathBuf)>,
    catalog: bool,
    checks: bool,
    skip_checks: Vec<String>,
    rules: Option<RuleSet>,
    ignore: IgnoreList,
    vex: VexSet,
    scan_timeout: Duration,
    files: bool,
    fail_on: Option<Severity>,
    advisories: Option<PathBuf>,
    vulnerability_filter: VulnerabilityFilter,
    /// `scan --baseline`: the file and the report in it.
    baseline: Option<(PathBuf, ReportDoc)>,
    /// Whether the table lists every package.
    list_packages: bool,
}

impl Job {
    /// Every file the command reads: the target's path and [`Job::read`].
    fn inputs(&self, args: &TargetArgs) -> Vec<(&'static str, PathBuf)> {
        let mut inputs = self.read.clone();
        if let Ok(target) = imgscan_scanner::source::resolve_target(&args.target)
            && !target.path.as_os_str().is_empty()
        {
            inputs.push(("target", target.path));
        }
        inputs.extend(
            args.registry
                .registry_ca
                .iter()
                .map(|p| ("CA file", p.clone())),
        );
        inputs
    }

    /// A full scan (packages, vulnerabilities, rules, checks) with `checks`.
    pub(crate) fn scan(checks: &CheckArgs) -> anyhow::Result<Self> {
        Ok(Job::load(&checks.data)?.with_policy(&checks.policy))
    }

    /// A full scan reading `data` (database, rules, ignore file), under
    /// the default policy.
    pub(crate) fn load(data: &DataArgs) -> anyhow::Result<Self> {
        let advisories = data.db.path()?;
        let mut read: Vec<(&'static str, PathBuf)> =
            data.rules.iter().map(|p| ("rules", p.clone())).collect();
        read.push(("advisory database", advisories.clone()));
        read.extend(data.vex.iter().map(|p| ("VEX file", p.clone())));
        read.push((
            "ignore file",
            data.ignore_file
                .clone()
                .unwrap_or_else(|| DEFAULT_IGNORE_FILE.into()),
        ));
        Ok(Job {
            read,
            catalog: true,
            checks: true,
            rules: rules::load(&data.rules, !data.no_builtin_rules)?,
            ignore: load_ignore(data.ignore_file.as_deref())?,
            vex: VexSet::load(&data.vex)?,
            advisories: Some(advisories),
            ..Job::describe(false)
        })
    }

    /// The same scan under `policy`: the gate, what is reported, the checks
    /// left out, the rule scan's timeout.
    pub(crate) fn with_policy(self, policy: &PolicyArgs) -> Self {
        Job {
            skip_checks: policy.skip_check.clone(),
            scan_timeout: Duration::from_secs(policy.scan_timeout.max(1)),
            fail_on: policy.fail_on.map(Into::into),
            vulnerability_filter: VulnerabilityFilter {
                only_fixed: policy.only_fixed,
                severities: policy.severity.iter().map(|&s| s.into()).collect(),
            },
            ..self
        }
    }

    /// Reading and describing only: no catalogers, checks or rules, no gate.
    fn describe(files: bool) -> Self {
        Job {
            read: Vec::new(),
            catalog: false,
            checks: false,
            skip_checks: Vec::new(),
            rules: None,
            ignore: IgnoreList::default(),
            vex: VexSet::default(),
            scan_timeout: Duration::from_secs(10),
            files,
            fail_on: None,
            advisories: None,
            vulnerability_filter: VulnerabilityFilter::default(),
            baseline: None,
            list_packages: false,
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
    Html,
    Markdown,
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
            ScanFormat::Html => Output::Html,
            ScanFormat::Markdown => Output::Markdown,
            ScanFormat::CyclonedxJson => Output::CycloneDx,
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

/// Scans the target with the layer cache `cache` and builds its report.
pub(crate) fn scan_report(
    args: &TargetArgs,
    job: &Job,
    cache: Option<LayerCache>,
) -> anyhow::Result<(Report, Scanned)> {
    let options = ScanOptions {
        limits: args.image.limits()?,
        platform: args.image.platform()?,
        capture: Vec::new(),
        catalog: job.catalog,
        checks: job.checks,
        skip_checks: job.skip_checks.clone(),
        rules: job.rules.clone(),
        scan_timeout: job.scan_timeout,
        ignore: job.ignore.clone(),
        vex: job.vex.clone(),
        advisories: job.advisories.clone(),
        vulnerability_filter: job.vulnerability_filter.clone(),
        registry: args.registry.options()?,
        allow_incomplete: args.image.allow_incomplete,
        cache,
    };
    match &args.output {
        Some(path) => output::refuse_overwriting_inputs(path, &job.inputs(args))?,
        None => output::require_stdout()?,
    }
    let started = Instant::now();
    let progress = progress::LayerProgress::new(args.quiet);
    let scanned = scan(&args.target, &options, &progress);
    progress.finish();
    let scanned = scanned?;
    let report = Report::new(&scanned, job.files, started.elapsed());
    Ok((report, scanned))
}

/// Scans the target, writes its report, and applies the gate.
fn report(args: &TargetArgs, job: Job, output: Output) -> anyhow::Result<ExitCode> {
    let (mut report, scanned) = scan_report(args, &job, args.cache.layer_cache()?)?;
    if let Some((path, baseline)) = &job.baseline {
        check_same_image(path, &baseline.target, &report.target)?;
        report.apply_baseline(baseline, &scanned.withheld.iter().cloned().collect());
    }
    for warning in &report.summary.warnings {
        output::note(&format!("imgscan: warning: {warning}"));
    }
    // The gate judges scans; `inspect` and `sbom` have none to show.
    let gate = job.checks.then(|| gate::judge(&report, job.fail_on));
    let text = match output {
        Output::Json => report.to_json(),
        Output::CycloneDx => {
            imgscan_scanner::report::cyclonedx::render_cyclonedx(&report, SystemTime::now())
        }
        Output::Spdx => imgscan_scanner::report::spdx::render_spdx(&report, SystemTime::now()),
        Output::Sarif => imgscan_scanner::report::sarif::render_sarif(&report),
        Output::Iocs => report.to_iocs(),
        Output::Html => imgscan_scanner::report::html::render_html(&report, gate.as_ref()),
        Output::Markdown => {
            imgscan_scanner::report::markdown::render_markdown(&report, gate.as_ref())
        }
        Output::Table => imgscan_scanner::report::table::render(
            &report,
            &TableOptions {
                color: args.output.is_none() && terminal::stdout_wants_color(),
                gate,
                list_packages: job.list_packages,
            },
        ),
    };
    output::emit(args.output.as_deref(), &text)?;
    Ok(match &gate {
        Some(gate) => gate::exit_status(gate),
        None => ExitCode::SUCCESS,
    })
}
