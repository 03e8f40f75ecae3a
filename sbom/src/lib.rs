//! The shared vocabulary of imgscan.
//!
//! Everything that more than one capability reads lives here: the byte-exact
//! path of a file inside an image and how it is printed, the metadata of a
//! file in the merged tree, the [`FileTreeView`] trait through which
//! catalogers and checks read an image without knowing its source, and OS
//! detection, the package and finding models, and one cataloger per
//! ecosystem. Crates higher up (`advisories`, `signatures`, `scanner`) depend
//! on this one; it depends on none of them.
#![forbid(unsafe_code)]

pub mod catalog;
pub mod digest;
pub mod finding;
pub mod input;
pub mod os;
pub mod package;
pub mod path;
pub mod purl;
pub mod retry;
pub mod text;
pub mod tree;

#[cfg(any(test, feature = "test-support"))]
pub mod test_globs;
#[cfg(any(test, feature = "test-support"))]
pub mod test_tree;

pub use catalog::{CatalogError, CatalogInput, Cataloger, Catalogued};
pub use digest::{Algorithms, DigestAlgorithm, FileDigests, ShippedDigest, ShippedFile};
pub use finding::{Finding, Severity};
pub use os::{OS_FILES, OsRelease, detect_os};
pub use package::{Ecosystem, Package, Scope, SourcePackage};
pub use path::{display_path, escape_bytes};
pub use purl::purl;
pub use text::terminal_safe;
pub use tree::{FileKind, FileMeta, FileTreeView, LayerNumber};
