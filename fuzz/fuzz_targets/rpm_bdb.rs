//! rpm's Berkeley DB hash `Packages`: pages, buckets, overflow chains,
//! then each header blob it yields made a package.
#![no_main]

use imgscan_fuzz::catalog;
use imgscan_sbom::catalog::rpm::{self, bdb};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(blobs) = bdb::blobs(data) else { return };
    catalog::with_input("var/lib/rpm/Packages", data, |input| {
        for (_, blob) in &blobs {
            let _ = rpm::package(blob, input);
        }
    });
});
