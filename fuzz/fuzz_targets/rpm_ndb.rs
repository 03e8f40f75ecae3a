//! rpm's ndb `Packages.db`: slot pages and blobs with their checksums,
//! then each header blob it yields made a package.
#![no_main]

use imgscan_fuzz::catalog;
use imgscan_sbom::catalog::rpm::ndb;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(blobs) = ndb::blobs(data) {
        catalog::rpm_headers("usr/lib/sysimage/rpm/Packages.db", &blobs);
    }
});
