//! imgscan's scanner: everything between a TARGET string and a report.
//!
//! A target is resolved ([`source::resolve_target`]) into a rootfs
//! directory, an OCI layout, or an image archive; its metadata becomes a
//! plan of layers ([`source::plan`]); each layer is read in exactly one
//! streaming pass ([`layer_pass`]) that verifies its digests, decompresses
//! it by magic, bounds its expansion and indexes every entry
//! ([`layer::LayerBuilder`]); the indexes merge into the final tree
//! ([`tree::FileTree`]) that catalogers and checks read through
//! [`imgscan_sbom::FileTreeView`]. Nothing is extracted to disk, and
//! nothing is followed outside the image.
#![forbid(unsafe_code)]

pub mod assess;
pub mod cache;
pub mod clock;
pub mod digest;
pub mod error;
pub mod layer;
pub mod limits;
pub mod merge;
pub mod model;
pub mod report;
pub mod scan;
pub mod source;

pub use error::ScanError;
pub use layer::{Skipped, Unknown};
pub use limits::Limits;
pub use model::Scanned;
pub use report::Report;
pub use scan::{ScanOptions, scan};
pub use source::{NoProgress, Progress};
