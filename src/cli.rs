//! The command line: subcommands, their flags, and `imgscan TARGET` as a
//! shorthand for `imgscan scan TARGET`.

use crate::scan_args::{
    CacheArgs, DataArgs, DbArgs, Format, PolicyArgs, SharedCacheArgs, TargetArgs,
};
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::path::PathBuf;

const EXIT_CODES: &str = "\
Exit status:
  0  the scan passed the gate
  1  results at or above the gate (--fail-on; any miner or malicious package by default)
  2  the scan could not be done (bad input, unreadable image)

TARGET forms (detected from content, or forced with a scheme prefix):
  ./rootfs                   a root filesystem directory (dir:)
  layout-dir[:TAG]           an OCI image layout (oci-dir:)
  image.tar[:TAG]            an oci-archive (oci-archive:) or docker save tar (docker-archive:), .tar.gz too
  rootfs.tar.gz              a tar of a root filesystem, e.g. docker export (rootfs-archive:)
  registry.local/app:1.4     an image in a registry (registry:), pulled as it is read
  disk.qcow2                 a VM disk image (raw, qcow2, VMDK, VHD, VHDX, OVA) with ext2/3/4 or XFS
                             volumes, partitioned or on LVM2 (disk:)";

/// Container and system image supply-chain scanner.
#[derive(Parser, Debug)]
#[command(name = "imgscan", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Scan an image (the default: `imgscan TARGET` is `imgscan scan TARGET`).
    Scan(ScanArgs),
    /// Describe an image: kind, digest, config, layers, OS, and with
    /// --files every path with the layer that put it there.
    Inspect(InspectArgs),
    /// List the packages in an image, as a table, the JSON report, or an
    /// SBOM document.
    Sbom(SbomArgs),
    /// The built-in rules and checks.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// The offline advisory database (OSV).
    #[command(subcommand)]
    Db(DbCommand),
    /// What changed between two reports or images: packages, vulnerabilities,
    /// malware, findings, layers. OLD and NEW are each a JSON report
    /// (`scan -f json`) or any TARGET, scanned first. Exits 1 when something
    /// new fails the gate (as `scan` would, counting only new items).
    Diff(DiffArgs),
    /// The layer-result cache: what it holds, pruning it to its bound,
    /// emptying it.
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Write the ignore file's vulnerability entries still in force as an
    /// OpenVEX 0.2 document (`not_affected`, the reason as impact
    /// statement), so the decisions a team made travel with the image.
    Vex(VexArgs),
    /// Scan a fleet of images on Redis: a work queue any number of workers
    /// share (with a shared layer cache), and the fleet's report.
    #[command(subcommand)]
    Fleet(crate::fleet::args::FleetCommand),
}

/// Flags of `vex`.
#[derive(Args, Debug)]
pub struct VexArgs {
    /// Ignore file; default: `.imgscanignore.toml` in the working directory.
    #[arg(long, value_name = "PATH")]
    pub ignore_file: Option<PathBuf>,
    /// The product of entries that name no package: the image, by digest
    /// (`sha256:…`), reference (`name@sha256:…`) or purl (repeatable).
    #[arg(long, value_name = "ID")]
    pub product: Vec<String>,
    /// The document's author.
    #[arg(long, value_name = "NAME", default_value = "imgscan")]
    pub author: String,
    /// Write the document to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `imgscan cache ...`
#[derive(Subcommand, Debug)]
pub enum CacheCommand {
    /// Where the cache is, how many layer results it holds, their size.
    Status {
        #[command(flatten)]
        cache: CacheArgs,
        #[command(flatten)]
        shared: SharedCacheArgs,
        /// Output format.
        #[arg(short, long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Remove the least recently used results until the cache is within
    /// its bound (--cache-max-size), and temporary files writers left.
    /// (Redis drops each result --cache-ttl after its last use by itself.)
    Prune {
        #[command(flatten)]
        cache: CacheArgs,
        #[command(flatten)]
        shared: SharedCacheArgs,
    },
    /// Remove every cached layer result.
    Clear {
        #[command(flatten)]
        cache: CacheArgs,
        #[command(flatten)]
        shared: SharedCacheArgs,
    },
}

/// `imgscan db ...`
#[derive(Subcommand, Debug)]
pub enum DbCommand {
    /// Download the configured ecosystems' OSV archives and rebuild the database.
    Update {
        #[command(flatten)]
        db: DbArgs,
        /// Base URL of the OSV mirror (`BASE/ECOSYSTEM/all.zip`).
        #[arg(long, value_name = "URL", env = "IMGSCAN_DB_SOURCE", default_value = imgscan_advisories::DEFAULT_SOURCE)]
        source: String,
        /// Ecosystem to fetch (repeatable); default: Debian, Ubuntu, Alpine,
        /// AlmaLinux, Rocky Linux, Red Hat, npm, PyPI.
        #[arg(long = "ecosystem", value_name = "NAME")]
        ecosystems: Vec<String>,
        /// No progress bar.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Load OSV records from zips, directories or JSON files into the database.
    Import {
        #[command(flatten)]
        db: DbArgs,
        /// OSV zip (`all.zip`), directory of records, or record file.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Where the database is, when it was built, and what it holds.
    Status {
        #[command(flatten)]
        db: DbArgs,
        /// Output format.
        #[arg(short, long, value_enum, default_value = "table")]
        format: Format,
    },
}

/// `imgscan rules ...`
#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    /// Print every built-in rule and check with its id, severity and description.
    List,
    /// Compile YARA rules (a file or a directory) and print YARA-X's diagnostics.
    Check {
        /// Rule file or directory.
        path: PathBuf,
    },
}

/// Flags of `scan`.
#[derive(Args, Debug)]
pub struct ScanArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    pub format: ScanFormat,
    /// Compare with an earlier JSON report of the same image: each item is
    /// marked new or unchanged, what disappeared is listed as fixed, and the
    /// gate counts only new items.
    #[arg(long, value_name = "OLD.json")]
    pub baseline: Option<PathBuf>,
    /// List every package in the table (the `sbom` command lists them too).
    #[arg(long)]
    pub list_packages: bool,
    #[command(flatten)]
    pub checks: CheckArgs,
}

/// Flags of `diff`.
#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The older side: a JSON report of imgscan, or a TARGET to scan.
    pub old: String,
    /// The newer side (TARGET below): a JSON report of imgscan, or a TARGET to scan.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    pub format: DiffFormat,
    #[command(flatten)]
    pub checks: CheckArgs,
}

/// Output formats of `diff`.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum DiffFormat {
    /// Human-readable text.
    Table,
    /// The imgscan.diff/v1 JSON document.
    Json,
    /// Markdown, for a merge-request comment.
    Markdown,
}

/// What a scan checks and what fails its gate (`scan`, and `diff` for a
/// side that is a target).
#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub data: DataArgs,
}

/// Flags of `inspect`.
#[derive(Args, Debug)]
pub struct InspectArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    pub format: Format,
    /// List the final tree, and the files later layers deleted.
    #[arg(long)]
    pub files: bool,
}

/// Flags of `sbom`.
#[derive(Args, Debug)]
pub struct SbomArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    pub format: SbomFormat,
}

/// Output formats of `scan`.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ScanFormat {
    /// Human-readable text.
    Table,
    /// The imgscan.report/v1 JSON contract.
    Json,
    /// SARIF 2.1.0, for code-scanning dashboards (GitHub, GitLab).
    Sarif,
    /// Indicators of compromise, one per line: type, value, where (tab-separated).
    Iocs,
    /// One self-contained HTML page: verdict, incidents, layer timeline, tables.
    Html,
    /// Markdown, for a merge-request comment.
    Markdown,
    /// CycloneDX 1.6 JSON: the SBOM with the vulnerabilities found.
    CyclonedxJson,
}

/// Output formats of `sbom`.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum SbomFormat {
    /// Human-readable text.
    Table,
    /// The imgscan.report/v1 JSON contract.
    Json,
    /// CycloneDX 1.6 JSON.
    CyclonedxJson,
    /// SPDX 2.3 JSON.
    SpdxJson,
}

/// Inserts `scan` when the first argument is not a subcommand or a
/// top-level flag, so `imgscan TARGET` means `imgscan scan TARGET`.
pub fn with_default_command(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = args.into_iter().collect();
    if let Some(first) = args.get(1).and_then(|a| a.to_str()) {
        let top_level = matches!(first, "-h" | "--help" | "-V" | "--version");
        // The subcommands are the parser's own, so a new one needs no list.
        let subcommand = first == "help" || Cli::command().find_subcommand(first).is_some();
        if !top_level && !subcommand {
            args.insert(1, OsString::from("scan"));
        }
    } else if args.get(1).is_some() {
        args.insert(1, OsString::from("scan"));
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(args: &[&str]) -> Vec<String> {
        with_default_command(args.iter().map(OsString::from))
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn target_alone_means_scan() {
        assert_eq!(
            expand(&["imgscan", "./rootfs"]),
            ["imgscan", "scan", "./rootfs"]
        );
        assert_eq!(
            expand(&["imgscan", "-f", "json", "x"]),
            ["imgscan", "scan", "-f", "json", "x"]
        );
        assert_eq!(
            expand(&["imgscan", "inspect", "x"]),
            ["imgscan", "inspect", "x"]
        );
        assert_eq!(expand(&["imgscan", "--help"]), ["imgscan", "--help"]);
        assert_eq!(expand(&["imgscan", "vex"]), ["imgscan", "vex"]);
        assert_eq!(expand(&["imgscan", "help"]), ["imgscan", "help"]);
    }
}
