//! rpm's Berkeley DB hash `Packages`: pages, buckets, overflow chains,
//! then each header blob it yields made a package.
#![no_main]

use imgscan_fuzz::catalog;
use imgscan_sbom::catalog::rpm::bdb;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(blobs) = bdb::blobs(data) {
        catalog::rpm_headers("var/lib/rpm/Packages", &blobs);
    }
});
