//! Image sources: resolving a TARGET, reading its metadata into a plan, and
//! the stores its blobs are read from (a directory, a tar file, memory, a
//! registry — with its HTTP client, retries, resumed blobs and credentials).

mod blob_reader;
pub mod blobs;
mod cred_helper;
pub mod credentials;
pub mod distribution;
pub mod plan;
pub mod platform;
pub mod reference;
pub mod registry;
mod registry_answers;
pub mod registry_auth;
#[cfg(test)]
mod session_tests;
pub mod stream;
pub mod target;

pub use platform::{Platform, PlatformError};
pub use target::{Target, TargetKind, resolve_target};
