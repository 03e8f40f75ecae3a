//! rpm's ndb `Packages.db`: slot pages and blobs with their checksums,
//! then each header blob it yields made a package.
#![no_main]

use imgscan_fuzz::catalog;
use imgscan_sbom::catalog::rpm::{self, ndb};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(blobs) = ndb::blobs(data) else { return };
    catalog::with_input("usr/lib/sysimage/rpm/Packages.db", data, |input| {
        for (_, blob) in &blobs {
            let _ = rpm::package(blob, input);
        }
    });
});
