//! apk's installed database catalogued.
#![no_main]

use imgscan_fuzz::catalog;
use imgscan_sbom::catalog::apk::ApkCataloger;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    catalog::run(&ApkCataloger, "lib/apk/db/installed", data);
});
