//! The command line: subcommands, their flags, and `imgscan TARGET` as a
//! shorthand for `imgscan scan TARGET`.

use crate::duration::parse_duration;
use crate::size::parse_size;
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use imgscan_sbom::retry::RetryPolicy;
use imgscan_scanner::Limits;
use imgscan_scanner::cache::{CacheStore, LayerCache};
use imgscan_scanner::source::Platform;
use imgscan_scanner::source::credentials::Credentials;
use imgscan_scanner::source::registry::RegistryOptions;
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const EXIT_CODES: &str = "\
Exit status:
  0  the scan passed the gate
  1  results at or above the gate (--fail-on; any miner or malicious package by default)
  2  the scan could not be done (bad input, unreadable image)

TARGET forms (detected from content, or forced with a scheme prefix):
  ./rootfs                   a root filesystem directory (dir:)
  layout-dir[:TAG]           an OCI image layout (oci-dir:)
  image.tar[:TAG]            an oci-archive (oci-archive:) or docker save tar (docker-archive:), .tar.gz too
  registry.local/app:1.4     an image in a registry (registry:), pulled as it is read
  disk.qcow2                 a VM disk image, raw or qcow2, with ext2/3/4 volumes (disk:)";

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

/// Where the layer-result cache is and how big it may grow.
#[derive(Args, Debug, Clone)]
pub struct CacheArgs {
    /// imgscan's cache directory (layer results in `layers/`); default:
    /// `$IMGSCAN_CACHE_DIR`, else `imgscan` in the user's cache directory.
    #[arg(long, value_name = "DIR", env = "IMGSCAN_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Most bytes of layer results kept (least recently used go first).
    #[arg(
        long,
        value_name = "SIZE",
        env = "IMGSCAN_CACHE_MAX_SIZE",
        default_value = "4GiB"
    )]
    pub cache_max_size: String,
}

impl CacheArgs {
    /// The layer-result store, or `None` without a cache directory.
    pub fn store(&self) -> anyhow::Result<Option<imgscan_scanner::cache::DirStore>> {
        let max = parse_size(&self.cache_max_size)?;
        let dir = self.cache_dir.clone().or_else(|| {
            let base = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
            Some(base.join("imgscan"))
        });
        Ok(dir.map(|dir| imgscan_scanner::cache::DirStore::new(dir.join("layers"), max)))
    }
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
        /// AlmaLinux, Rocky Linux, Red Hat, npm.
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

/// Where the advisory database is.
#[derive(Args, Debug)]
pub struct DbArgs {
    /// The advisory database file; default: `$IMGSCAN_DB`, else
    /// `imgscan/advisories.sqlite` in the user's cache directory.
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

impl DbArgs {
    /// The database path asked for, else the default one.
    pub fn path(&self) -> anyhow::Result<PathBuf> {
        match &self.db {
            Some(path) => Ok(path.clone()),
            None => imgscan_advisories::default_db_path().ok_or_else(|| {
                anyhow::anyhow!(
                    "no cache directory (set HOME or XDG_CACHE_HOME), and no --db given"
                )
            }),
        }
    }
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

/// What fails the gate and what is reported: the options that travel with
/// a fleet job, since they mean the same on every machine.
#[derive(Args, Debug, Clone, Serialize, Deserialize)]
pub struct PolicyArgs {
    /// Exit 1 when a vulnerability, malware match or finding at or above
    /// SEVERITY remains.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_on: Option<SeverityArg>,
    /// Report only the vulnerabilities with these severities (comma-separated).
    #[arg(long, value_enum, value_name = "LIST", value_delimiter = ',')]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<SeverityArg>,
    /// Report only vulnerabilities that have a fixed version.
    #[arg(long)]
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub only_fixed: bool,
    /// Leave out the check with this id (repeatable); see `imgscan rules list`.
    #[arg(long, value_name = "ID")]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skip_check: Vec<String>,
    /// Longest a rule scan of one file may take, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_SCAN_TIMEOUT)]
    #[serde(default = "default_scan_timeout")]
    pub scan_timeout: u64,
}

/// `--scan-timeout` when not given.
const DEFAULT_SCAN_TIMEOUT: u64 = 10;

fn default_scan_timeout() -> u64 {
    DEFAULT_SCAN_TIMEOUT
}

/// What a scan reads besides the target: the advisory database, rules and
/// the ignore file (paths of the machine that scans).
#[derive(Args, Debug)]
pub struct DataArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Add YARA rules from PATH, a file or a directory (repeatable).
    #[arg(long, value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Do not use the built-in miner rules.
    #[arg(long)]
    pub no_builtin_rules: bool,
    /// Ignore file (TOML `[[ignore]]` entries with id, reason, expires);
    /// default: `.imgscanignore.toml` in the working directory, if present.
    #[arg(long, value_name = "PATH")]
    pub ignore_file: Option<PathBuf>,
    /// VEX document (OpenVEX 0.2 or CycloneDX; repeatable): `not_affected`
    /// and `fixed` statements suppress the vulnerability for the package or
    /// image they name; the last statement that matches decides.
    #[arg(long, value_name = "FILE")]
    pub vex: Vec<PathBuf>,
}

/// Severities as flags (and fleet jobs) take them.
#[derive(ValueEnum, Clone, Copy, Debug, Serialize, Deserialize)]
#[value(rename_all = "UPPER")]
#[serde(rename_all = "UPPERCASE")]
pub enum SeverityArg {
    /// Critical.
    Critical,
    /// High (as a gate: high and above).
    High,
    /// Medium (as a gate: medium and above).
    Medium,
    /// Low (as a gate: low and above).
    Low,
    /// Unknown (as a gate: everything).
    Unknown,
}

impl From<SeverityArg> for imgscan_sbom::Severity {
    fn from(value: SeverityArg) -> Self {
        match value {
            SeverityArg::Critical => Self::Critical,
            SeverityArg::High => Self::High,
            SeverityArg::Medium => Self::Medium,
            SeverityArg::Low => Self::Low,
            SeverityArg::Unknown => Self::Unknown,
        }
    }
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

/// Output formats of `scan` and `inspect`.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Format {
    /// Human-readable text.
    Table,
    /// The imgscan.report/v1 JSON contract.
    Json,
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

/// The target and the flags every reading command shares.
#[derive(Args, Debug, Clone)]
pub struct TargetArgs {
    /// What to scan: a rootfs directory, OCI layout, image archive, or
    /// registry reference.
    pub target: String,
    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub image: ImageArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub cache: LayerCacheArgs,
}

/// How an image is read: which platform, what is accepted, the limits.
/// These travel with a fleet job too.
#[derive(Args, Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImageArgs {
    /// Image platform to pick from a multi-platform index (os/arch[/variant]);
    /// default: the host's, else the only one.
    #[arg(long)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Accept a disk image whose OS root was not found while a volume was
    /// left unread (LVM, an unknown or encrypted filesystem); by default
    /// such a scan is refused (exit 2), never passed half-blind.
    #[arg(long)]
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_incomplete: bool,
    /// Most bytes one layer may expand to (e.g. 32GiB).
    #[arg(long, value_name = "SIZE")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_layer_size: Option<String>,
    /// Most bytes all the layers of an image may expand to together (e.g. 64GiB).
    #[arg(long, value_name = "SIZE")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_image_size: Option<String>,
    /// Most uncompressed bytes per stored byte, past the first 256 MiB of a layer.
    #[arg(long, value_name = "N")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_expansion_ratio: Option<u64>,
    /// Largest file read into memory for inspection (e.g. 512MiB).
    #[arg(long, value_name = "SIZE")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_file_size: Option<String>,
    /// Most bytes of package databases, lockfiles and configs kept for
    /// reading over the whole image (e.g. 2GiB).
    #[arg(long, value_name = "SIZE")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_capture_size: Option<String>,
    /// Most entries one layer may hold.
    #[arg(long, value_name = "N")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_entries: Option<u64>,
    /// Most steps the rule scan takes inside compressed files and archives
    /// (gzip, xz, zstd, zip/jar, tar) found in the image; 0 turns it off.
    #[arg(long, value_name = "N")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_archive_depth: Option<usize>,
    /// Most bytes one file's compressed content may expand to per byte of
    /// the file, past its first 16 MiB (and never past --max-file-size).
    #[arg(long, value_name = "N")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_archive_ratio: Option<u64>,
    /// Most members read from one archive inside the image.
    #[arg(long, value_name = "N")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_archive_members: Option<u64>,
}

/// How registries are reached (this machine's network and credentials).
#[derive(Args, Debug, Clone)]
pub struct RegistryArgs {
    /// Reach this registry (host[:port]) over plain HTTP (repeatable);
    /// loopback registries always are.
    #[arg(long, value_name = "HOST")]
    pub insecure_registry: Vec<String>,
    /// Trust this CA certificate (PEM) for registry TLS (repeatable); with
    /// it, loopback registries are reached over HTTPS too.
    #[arg(long, value_name = "FILE")]
    pub registry_ca: Vec<PathBuf>,
    /// Registry user name (else the Docker config's credentials, else anonymous).
    #[arg(
        long,
        env = "IMGSCAN_REGISTRY_USERNAME",
        requires = "registry_password"
    )]
    pub registry_username: Option<String>,
    /// Registry password or token, with --registry-username.
    #[arg(
        long,
        env = "IMGSCAN_REGISTRY_PASSWORD",
        hide_env_values = true,
        requires = "registry_username"
    )]
    pub registry_password: Option<String>,
    /// Retries of a registry request or blob that failed for a reason worth
    /// retrying (429, 5xx, a reset or timed-out connection, a body cut
    /// short), with exponential backoff from 1 s (env
    /// IMGSCAN_REGISTRY_BACKOFF_MS), at most 60 s apart or as
    /// `Retry-After` says within that, for at most 5 minutes.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub registry_retries: u32,
    /// Longest a registry connection may take to open, a read may wait
    /// for data or a credential helper for its answer; a blob's
    /// connection must average 16 KiB/s once twice this has passed.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub registry_timeout: u64,
}

/// Which layer-result cache a scan uses: a local directory, a shared Redis,
/// or none.
#[derive(Args, Debug, Clone)]
pub struct LayerCacheArgs {
    #[command(flatten)]
    pub dir: CacheArgs,
    #[command(flatten)]
    pub shared: SharedCacheArgs,
    /// Read every layer, neither using nor filling the layer-result cache.
    #[arg(long, env = "IMGSCAN_NO_CACHE", value_parser = clap::builder::FalseyValueParser::new())]
    pub no_cache: bool,
}

/// A layer-result cache on Redis, shared by every runner that names it.
#[derive(Args, Debug, Clone)]
pub struct SharedCacheArgs {
    /// Keep layer results in a shared Redis instead of the cache directory
    /// (`redis://[:PASSWORD@]HOST[:PORT][/DB]`, `rediss://` for TLS; the
    /// password may come from IMGSCAN_REDIS_PASSWORD). A Redis that is down
    /// or slow means a scan without the cache and a warning, never a failed scan.
    #[arg(
        long = "cache",
        value_name = "URL",
        env = "IMGSCAN_CACHE",
        hide_env_values = true
    )]
    pub url: Option<String>,
    /// How long a layer result stays in Redis after its last use (e.g. 30d, 12h).
    #[arg(long, value_name = "DURATION", default_value = "30d")]
    pub cache_ttl: String,
}

impl SharedCacheArgs {
    /// The Redis store `--cache` names, if it names one.
    pub fn store(&self) -> anyhow::Result<Option<imgscan_fleet::RedisStore>> {
        let Some(url) = &self.url else {
            return Ok(None);
        };
        let ttl = parse_duration(&self.cache_ttl)?;
        let server = crate::fleet::redis_server(url)?;
        Ok(Some(imgscan_fleet::RedisStore::new(server, ttl)))
    }
}

impl LayerCacheArgs {
    /// The store the flags ask for: Redis with `--cache`, else the cache
    /// directory; `None` with `--no-cache` or no directory.
    pub fn store(&self) -> anyhow::Result<Option<Arc<dyn CacheStore>>> {
        if self.no_cache {
            return Ok(None);
        }
        if let Some(store) = self.shared.store()? {
            return Ok(Some(Arc::new(store)));
        }
        Ok(self
            .dir
            .store()?
            .map(|store| Arc::new(store) as Arc<dyn CacheStore>))
    }

    /// A fresh handle (counts at zero) on the store the flags ask for.
    pub fn layer_cache(&self) -> anyhow::Result<Option<LayerCache>> {
        Ok(self.store()?.map(LayerCache::open))
    }
}

impl ImageArgs {
    /// The limits the flags ask for, over the defaults.
    pub fn limits(&self) -> anyhow::Result<Limits> {
        let mut limits = Limits::default();
        if let Some(size) = &self.max_layer_size {
            limits.max_layer_bytes = parse_size(size)?;
            limits.ratio_floor_bytes = limits.ratio_floor_bytes.min(limits.max_layer_bytes);
        }
        if let Some(size) = &self.max_image_size {
            limits.max_image_bytes = parse_size(size)?;
        }
        if let Some(ratio) = self.max_expansion_ratio {
            anyhow::ensure!(ratio > 0, "--max-expansion-ratio must be at least 1");
            limits.max_expansion_ratio = ratio;
        }
        if let Some(size) = &self.max_file_size {
            limits.max_file_bytes = parse_size(size)?;
        }
        if let Some(size) = &self.max_capture_size {
            limits.max_captured_bytes = parse_size(size)?;
        }
        if let Some(entries) = self.max_entries {
            limits.max_entries = entries;
        }
        if let Some(depth) = self.max_archive_depth {
            anyhow::ensure!(depth <= 16, "--max-archive-depth must be at most 16");
            limits.max_archive_depth = depth;
        }
        if let Some(ratio) = self.max_archive_ratio {
            anyhow::ensure!(ratio > 0, "--max-archive-ratio must be at least 1");
            limits.max_archive_ratio = ratio;
        }
        if let Some(members) = self.max_archive_members {
            limits.max_archive_members = members;
        }
        Ok(limits)
    }

    /// The platform asked for, if any.
    pub fn platform(&self) -> anyhow::Result<Option<Platform>> {
        self.platform
            .as_deref()
            .map(|p| Platform::parse(p).map_err(anyhow::Error::from))
            .transpose()
    }
}

impl RegistryArgs {
    /// How to reach registries.
    pub fn options(&self) -> anyhow::Result<RegistryOptions> {
        anyhow::ensure!(
            self.registry_timeout > 0,
            "--registry-timeout must be at least 1"
        );
        let mut retry = RetryPolicy {
            attempts: self.registry_retries.saturating_add(1),
            ..RetryPolicy::default()
        };
        if let Ok(ms) = std::env::var("IMGSCAN_REGISTRY_BACKOFF_MS") {
            let ms: u64 = ms.parse().map_err(|_| {
                anyhow::anyhow!("IMGSCAN_REGISTRY_BACKOFF_MS must be a number of milliseconds")
            })?;
            retry.first_wait = Duration::from_millis(ms);
        }
        Ok(RegistryOptions {
            insecure: self.insecure_registry.clone(),
            credentials: self
                .registry_username
                .clone()
                .zip(self.registry_password.clone())
                .map(|(username, password)| Credentials { username, password }),
            ca_files: self.registry_ca.clone(),
            retry,
            timeout: Duration::from_secs(self.registry_timeout),
        })
    }
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
