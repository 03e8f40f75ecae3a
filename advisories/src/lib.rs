//! imgscan's advisories: the version schemes of each ecosystem (dpkg, rpm,
//! apk, semver), checked against the package managers themselves; the
//! offline OSV database ([`import`] builds it, [`Database`] opens it) and
//! matching of packages against it ([`Database::matches`]); and keeping it
//! current from an OSV mirror ([`update`], over [`download`]).
#![forbid(unsafe_code)]

pub mod db;
pub mod download;
pub mod feeds;
pub mod import;
pub mod matching;
pub mod osv;
pub mod severity;
pub mod update;
pub mod version;

pub use db::{Database, DbError, DbStatus, EcosystemStatus, SCHEMA_VERSION, default_db_path};
pub use feeds::{default_ecosystems, scheme_for_ecosystem};
pub use import::{ImportLimits, ImportSource, ImportSummary, import, import_with_limits};
pub use matching::{PackageIndex, Vulnerability, VulnerabilityKind};
pub use severity::Cvss;
pub use update::{DEFAULT_SOURCE, UpdateError, UpdateSummary, update};
pub use version::{VersionError, VersionScheme};
