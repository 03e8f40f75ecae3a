//! The scan model: what the pipeline ([`crate::scan`]) fills in and the
//! report ([`crate::report`]) and its renderers only read: the target and
//! its layers, the scanned result, and the vulnerability entries. Both
//! import it; it imports neither, and the report never imports the
//! pipeline.

use crate::layer::{Skipped, Unknown};
use crate::merge::inventory::RemovedPackage;
use crate::merge::tree::FileTree;
use imgscan_advisories::Vulnerability;
use imgscan_sbom::{Finding, OsRelease, Package};
use imgscan_signatures::{Incident, Ioc, Malware};
use serde::Serialize;

/// What the target is.
#[derive(Debug, Clone, Serialize)]
pub struct TargetInfo {
    /// The TARGET string as given.
    pub input: String,
    /// `dir`, `oci-dir`, `oci-archive` or `docker-archive`.
    pub kind: String,
    /// Manifest digest (OCI) or config digest (docker-archive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// `os/arch[/variant]` from the image config.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Creation time from the image config.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The names the image goes by in its archive or layout (`RepoTags`,
    /// OCI ref names).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// The OS found in the final tree.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<OsRelease>,
}

/// One layer.
#[derive(Debug, Clone, Serialize)]
pub struct LayerInfo {
    /// 0-based index, bottom first.
    pub index: usize,
    /// Digest of the stored blob.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Digest of the uncompressed tar.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff_id: Option<String>,
    /// Media type the manifest claims.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Compression found in the blob's bytes (`none`, `gzip`, `zstd`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compression: Option<String>,
    /// Stored size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compressed_size: Option<u64>,
    /// Uncompressed size in bytes.
    pub size: u64,
    /// Number of entries in the layer (whiteouts included).
    pub entries: u64,
    /// Paths of lower layers this layer deleted or replaced.
    pub deleted: usize,
    /// The history line that made the layer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

/// A scanned image: its description, its layers, and the final tree.
#[derive(Debug)]
pub struct Scanned {
    /// What the target is.
    pub target: TargetInfo,
    /// Each layer, bottom first.
    pub layers: Vec<LayerInfo>,
    /// The merged final tree.
    pub tree: FileTree,
    /// Everything that was not read, with why.
    pub unknowns: Vec<Unknown>,
    /// Skip counts over all layers.
    pub skipped: Skipped,
    /// Packages, when cataloging was asked for.
    pub packages: Option<Vec<Package>>,
    /// Packages a layer took out of a database (removed or replaced by
    /// another version), when cataloging was asked for.
    pub removed_packages: Option<Vec<RemovedPackage>>,
    /// Findings of the checks, when they ran.
    pub findings: Option<Vec<Finding>>,
    /// Files rules matched, when rules ran.
    pub malware: Option<Vec<Malware>>,
    /// Indicators of compromise from the rules and checks, when either ran.
    pub iocs: Option<Vec<Ioc>>,
    /// One incident per suspicious executable, when rules or checks ran.
    pub incidents: Option<Vec<Incident>>,
    /// Vulnerable and malicious packages, when an advisory database was read.
    pub vulnerabilities: Option<Vec<VulnerabilityEntry>>,
    /// Findings and malware entries the ignore file silenced.
    pub suppressed: u64,
    /// The VEX statements that suppressed a vulnerability.
    pub vex: Vec<crate::assess::vex::Applied>,
    /// Warnings about the scan itself (expired ignore entries, ...).
    pub warnings: Vec<String>,
    /// Fingerprints of what was found but not reported (the ignore file,
    /// `--severity`, `--only-fixed`): a baseline must not call it fixed.
    pub withheld: Vec<String>,
    /// Layers taken from the cache and read, when a cache was used.
    pub cache: Option<crate::cache::CacheStats>,
}

/// One vulnerable (or malicious) package, as the report lists it: the
/// advisory database's match, found at a [`Placement`].
pub type VulnerabilityEntry = Vulnerability<Placement>;

/// Where the report found a vulnerable package.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Placement {
    /// The earliest layer that brought the package.
    pub layer: usize,
    /// Every database or lockfile the package was found in.
    pub locations: Vec<String>,
}
