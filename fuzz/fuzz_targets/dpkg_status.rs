//! dpkg's `status` database catalogued.
#![no_main]

use imgscan_fuzz::catalog;
use imgscan_sbom::catalog::dpkg::DpkgCataloger;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    catalog::run(&DpkgCataloger, "var/lib/dpkg/status", data);
});
