//! Image sources: resolving a TARGET, reading its metadata into a plan, and
//! the stores its blobs are read from (a directory, a tar file, memory, a
//! registry).

pub mod blobs;
pub mod credentials;
pub mod plan;
pub mod platform;
pub mod registry;
pub mod stream;
pub mod target;

pub use platform::Platform;
pub use target::{Target, TargetKind, resolve_target};
