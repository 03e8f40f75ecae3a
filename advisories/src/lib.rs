//! imgscan's advisories: the version schemes of each ecosystem (dpkg, rpm,
//! apk, semver), checked against the package managers themselves; next,
//! the offline OSV database and matching.
#![forbid(unsafe_code)]

pub mod version;

pub use version::{VersionError, VersionScheme, scheme_for_ecosystem};
