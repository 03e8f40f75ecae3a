//! Catalogers driven as the scan drives them: one file's bytes at one of
//! the cataloger's own paths, in an otherwise empty tree, with an OS.

use imgscan_sbom::catalog::{CatalogInput, Cataloger, rpm};
use imgscan_sbom::os::OsRelease;
use imgscan_sbom::test_tree::MapTree;

/// Calls `work` with the input of the file at `path` holding `content`.
pub fn with_input<T>(path: &str, content: &[u8], work: impl FnOnce(&CatalogInput<'_>) -> T) -> T {
    let tree = MapTree::default();
    let os = OsRelease {
        id: "debian".into(),
        version_id: Some("12".into()),
        name: None,
    };
    work(&CatalogInput {
        path: path.as_bytes(),
        content,
        os: Some(&os),
        tree: &tree,
    })
}

/// Catalogs `content` as the file at `path` (the result is dropped: an
/// error is fine, a panic is the bug).
pub fn run(cataloger: &dyn Cataloger, path: &str, content: &[u8]) {
    with_input(path, content, |input| {
        let _ = cataloger.catalog_records(input);
    });
}

/// Makes a package of each `(number, header blob)` an rpm database at
/// `path` yields.
pub fn rpm_headers(path: &str, blobs: &[(u32, Vec<u8>)]) {
    with_input(path, &[], |input| {
        for (_, blob) in blobs {
            let _ = rpm::package(blob, input);
        }
    });
}
