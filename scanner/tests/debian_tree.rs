//! The package inventory on a real Debian 12 tree (`.ci/run` builds it
//! with debootstrap): owned paths resolve through the tree's own links.

use imgscan_fixtures::requires;
use imgscan_sbom::FileTreeView;
use imgscan_scanner::{NoProgress, ScanOptions, scan};

/// On a real Debian 12 tree (merged `/usr`), dpkg's owned paths such as
/// `/bin/bash` resolve through the image's own `bin -> usr/bin` link to
/// files that exist.
#[test]
fn debian_owned_files_resolve_through_merged_usr() {
    let Some(root) = requires::debian_rootfs() else {
        return;
    };
    let options = ScanOptions {
        catalog: true,
        ..ScanOptions::default()
    };
    let scanned = scan(root.to_str().unwrap(), &options, &NoProgress).unwrap();
    let packages = scanned.packages.unwrap();
    let bash = packages.iter().find(|p| p.name == "bash").unwrap();
    assert!(
        bash.files.iter().any(|f| f == b"usr/bin/bash"),
        "`/bin/bash` resolves to `usr/bin/bash`"
    );
    let owned: Vec<&Vec<u8>> = packages.iter().flat_map(|p| &p.files).collect();
    let missing: Vec<String> = owned
        .iter()
        .filter(|f| scanned.tree.entry(f).is_none())
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    assert!(owned.len() > 5000, "{} owned paths", owned.len());
    assert!(
        missing.len() * 1000 < owned.len(),
        "{} of {} owned paths missing: {:?}",
        missing.len(),
        owned.len(),
        &missing[..missing.len().min(20)]
    );
}
