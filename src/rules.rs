//! `imgscan rules ...` and `--rules`: loading the built-in and the user's
//! YARA rules (compiled once, cached on disk), listing every built-in rule
//! and check, and checking a user's rules with YARA-X's own diagnostics.

use imgscan_sbom::terminal_safe;
use imgscan_scanner::Limits;
use imgscan_signatures::{
    RuleSet, all_checks, builtin_sources, compile, compile_cached, read_sources,
};
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Where compiled rules are cached: `IMGSCAN_CACHE_DIR`, else the XDG cache.
fn cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("IMGSCAN_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("imgscan"))
}

/// The rules a scan runs: the built-in set unless turned off, plus every
/// `--rules` path; `None` when there are none.
pub fn load(paths: &[PathBuf], builtin: bool) -> anyhow::Result<Option<RuleSet>> {
    let mut sources = if builtin {
        builtin_sources()
    } else {
        Vec::new()
    };
    for path in paths {
        sources.extend(read_sources(path)?);
    }
    if sources.is_empty() {
        return Ok(None);
    }
    Ok(Some(compile_cached(&sources, cache_dir().as_deref())?))
}

/// The listing: every built-in rule, then every check, one line per id.
pub fn list() -> anyhow::Result<String> {
    let (rules, _) = compile(&builtin_sources())?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Rules scan every regular file of every layer and, by default {} steps deep, the\n\
         files inside gzip, xz, zstd, zip (jar, war, apk) and tar files among them\n\
         (reported as `/opt/tools.tar.gz!/bin/xmrig`; see --max-archive-depth).\n",
        Limits::default().max_archive_depth
    );
    let _ = writeln!(out, "{:<36} {:<9} DESCRIPTION", "RULE", "SEVERITY");
    for info in rules.infos() {
        let _ = writeln!(
            out,
            "{:<36} {:<9} {}",
            info.id, info.severity, info.description
        );
    }
    let _ = writeln!(out, "\n{:<36} {:<9} DESCRIPTION", "CHECK", "SEVERITY");
    for check in all_checks() {
        for info in check.info() {
            let _ = writeln!(
                out,
                "{:<36} {:<9} {}",
                info.id, info.severity, info.description
            );
        }
    }
    Ok(out)
}

/// Compiles the rules at `path`, printing YARA-X's warnings, and the rules
/// found; a compile error is exit 2 with the diagnostics.
pub fn check(path: &Path) -> anyhow::Result<ExitCode> {
    let sources = read_sources(path)?;
    anyhow::ensure!(
        !sources.is_empty(),
        "no `.yar` or `.yara` files in `{}`",
        path.display()
    );
    crate::output::require_stdout()?;
    let (rules, warnings) = compile(&sources)?;
    for warning in &warnings {
        crate::output::note_block(warning);
    }
    let infos = rules.infos();
    let mut out = String::new();
    writeln!(
        out,
        "{} rule(s) compiled from {} file(s), {} warning(s)",
        infos.len(),
        sources.len(),
        warnings.len()
    )?;
    for info in infos {
        writeln!(
            out,
            "  {:<36} {:<9} {}",
            terminal_safe(&info.id),
            info.severity,
            terminal_safe(&info.description)
        )?;
    }
    crate::output::print(&out)?;
    Ok(ExitCode::SUCCESS)
}
