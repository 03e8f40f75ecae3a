//! OS detection from each file it reads (`os-release`, `alpine-release`,
//! `redhat-release`, `debian_version`) holding the input.
#![no_main]

use imgscan_sbom::os::{OS_FILES, detect_os};
use imgscan_sbom::test_tree::MapTree;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for path in OS_FILES {
        let _ = detect_os(&MapTree::default().file(path, data));
    }
});
