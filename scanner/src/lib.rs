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

pub mod cache;
pub mod capture;
pub mod clock;
pub mod decompress;
pub mod digest;
pub mod disk;
pub mod entry_name;
pub mod error;
pub mod ignore;
pub mod inventory;
pub mod layer;
pub mod layer_pass;
pub mod limits;
pub mod model;
pub mod report;
pub mod rootfs;
pub mod scan;
pub mod shared_budget;
pub mod source;
pub mod tar_stream;
pub mod tree;
pub mod vex;
pub mod vulnerabilities;
pub mod walked;

pub use error::ScanError;
pub use layer::{Skipped, Unknown};
pub use limits::Limits;
pub use model::Scanned;
pub use report::Report;
pub use scan::{NoProgress, Progress, ScanOptions, scan};
