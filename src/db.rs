//! `imgscan db update|import|status`: the offline advisory database, from
//! the user's side. The work is `imgscan-advisories`'; this prints.

use crate::cli::DbCommand;
use crate::output::{self, note};
use crate::progress::DownloadBar;
use crate::scan_args::Format;
use imgscan_advisories::download::{DownloadPolicy, Downloader, Fetched};
use imgscan_advisories::{Database, ImportSource, ImportSummary, default_ecosystems};
use imgscan_sbom::terminal_safe;
use std::fmt::Write;
use std::path::Path;
use std::process::ExitCode;

/// Runs one `db` subcommand.
pub fn run(command: DbCommand) -> anyhow::Result<ExitCode> {
    match command {
        DbCommand::Update {
            db,
            source,
            ecosystems,
            quiet,
        } => {
            let path = db.path()?;
            output::require_stdout()?;
            let ecosystems = if ecosystems.is_empty() {
                default_ecosystems().map(str::to_string).collect()
            } else {
                ecosystems
            };
            create_parent(&path)?;
            let downloader = Downloader::new(download_policy()?)?;
            let bar = DownloadBar::new(quiet);
            let updated =
                imgscan_advisories::update(&path, &source, &ecosystems, &downloader, &bar);
            bar.finish();
            let updated = updated?;
            for (ecosystem, url, fetched) in &updated.fetched {
                match fetched {
                    Fetched::Downloaded(bytes) => note(&format!(
                        "imgscan: {ecosystem}: downloaded {} from {url}",
                        imgscan_scanner::report::table::human_bytes(*bytes)
                    )),
                    Fetched::NotModified => note(&format!("imgscan: {ecosystem}: not modified")),
                }
            }
            match &updated.rebuilt {
                Some(summary) => print_import(&path, summary)?,
                None => note(&format!("imgscan: `{}` is up to date", path.display())),
            }
            Ok(ExitCode::SUCCESS)
        }
        DbCommand::Import { db, paths } => {
            let path = db.path()?;
            output::require_stdout()?;
            create_parent(&path)?;
            let sources: Vec<ImportSource> = paths
                .iter()
                .map(|p| ImportSource {
                    path: p.clone(),
                    origin: p.display().to_string(),
                })
                .collect();
            let summary = imgscan_advisories::import(&path, &sources)?;
            print_import(&path, &summary)?;
            Ok(ExitCode::SUCCESS)
        }
        DbCommand::Status { db, format } => {
            let path = db.path()?;
            let status = Database::open(&path)?.status()?;
            let mut out = String::new();
            match format {
                Format::Json => {
                    let ecosystems: Vec<serde_json::Value> = status
                        .ecosystems
                        .iter()
                        .map(|e| {
                            serde_json::json!({
                                "ecosystem": e.ecosystem,
                                "records": e.records,
                                "skipped": e.skipped,
                                "source": e.source,
                            })
                        })
                        .collect();
                    let json = serde_json::json!({
                        "path": status.path,
                        "schema_version": status.schema_version,
                        "built_at": status.built_at,
                        "ecosystems": ecosystems,
                    });
                    writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
                }
                Format::Table => {
                    let safe = |s: &str| terminal_safe(s).into_owned();
                    writeln!(
                        out,
                        "Database  {}",
                        safe(&status.path.display().to_string())
                    )?;
                    writeln!(out, "Schema    {}", status.schema_version)?;
                    writeln!(out, "Built     {}", safe(&status.built_at))?;
                    writeln!(
                        out,
                        "\n{:<40} {:>9} {:>8}  SOURCE",
                        "ECOSYSTEM", "RECORDS", "SKIPPED"
                    )?;
                    for e in &status.ecosystems {
                        writeln!(
                            out,
                            "{:<40} {:>9} {:>8}  {}",
                            safe(&e.ecosystem),
                            e.records,
                            e.skipped,
                            safe(&e.source)
                        )?;
                    }
                }
            }
            output::print(&out)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The download policy, with the retry backoff overridable through
/// `IMGSCAN_DB_BACKOFF_MS` (tests and impatient mirrors).
fn download_policy() -> anyhow::Result<DownloadPolicy> {
    let mut policy = DownloadPolicy::default();
    if let Ok(ms) = std::env::var("IMGSCAN_DB_BACKOFF_MS") {
        let ms: u64 = ms.parse().map_err(|_| {
            anyhow::anyhow!("IMGSCAN_DB_BACKOFF_MS must be a number of milliseconds")
        })?;
        policy.backoff = std::time::Duration::from_millis(ms);
    }
    Ok(policy)
}

fn create_parent(path: &Path) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| anyhow::anyhow!("cannot create `{}`: {e}", parent.display()))?;
    }
    Ok(())
}

fn print_import(path: &Path, summary: &ImportSummary) -> anyhow::Result<()> {
    for warning in &summary.warnings {
        note(&format!("imgscan: warning: {warning}"));
    }
    if summary.skipped > summary.warnings.len() {
        note(&format!(
            "imgscan: warning: … and {} more records skipped",
            summary.skipped - summary.warnings.len()
        ));
    }
    let mut out = String::new();
    writeln!(
        out,
        "{} records imported into `{}` ({} skipped)",
        summary.records,
        terminal_safe(&path.display().to_string()),
        summary.skipped
    )?;
    for (ecosystem, records) in &summary.by_ecosystem {
        writeln!(out, "  {:<40} {records:>9}", terminal_safe(ecosystem))?;
    }
    output::print(&out)
}
