//! What the fuzz targets share: a layer pass to walk into, an in-memory
//! disk and a bounded tour of its bytes, a scratch file for the parsers
//! that read a path, the catalogers' input, and the OSV import. Each
//! target in `fuzz_targets/` is a few lines over these.

pub mod blobs;
pub mod catalog;
pub mod disk;
pub mod layer;
pub mod osv;
pub mod scratch;
