//! The argument groups a reading command takes, shared by `scan`,
//! `sbom`, `inspect`, `diff` and the fleet's `submit` and `work`: the
//! target and output, how to read the image, the registry, the layer
//! cache, the gate's policy and the advisory data.

use crate::duration::parse_duration;
use crate::size::parse_size;
use clap::{Args, ValueEnum};
use imgscan_sbom::retry::RetryPolicy;
use imgscan_scanner::Limits;
use imgscan_scanner::cache::{CacheStore, LayerCache};
use imgscan_scanner::source::Platform;
use imgscan_scanner::source::credentials::Credentials;
use imgscan_scanner::source::registry::RegistryOptions;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

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

/// Output formats of `scan` and `inspect`.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Format {
    /// Human-readable text.
    Table,
    /// The imgscan.report/v1 JSON contract.
    Json,
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
        let server = crate::redis::server(url)?;
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
