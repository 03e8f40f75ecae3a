//! The shared vocabulary of imgscan.
//!
//! Everything that more than one capability reads lives here: the byte-exact
//! path of a file inside an image and how it is printed, the metadata of a
//! file in the merged tree, the [`FileTreeView`] trait through which
//! catalogers and checks read an image without knowing its source, and OS
//! detection. Crates higher up (`advisories`, `signatures`, `scanner`) depend
//! on this one; it depends on none of them.
#![forbid(unsafe_code)]

pub mod os;
pub mod path;
pub mod tree;

pub use os::{OS_FILES, OsRelease, detect_os};
pub use path::{display_path, escape_bytes};
pub use tree::{FileKind, FileMeta, FileTreeView, LayerIndex};
