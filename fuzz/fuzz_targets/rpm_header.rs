//! One rpm header blob (index entries, data store, tags) made a package.
#![no_main]

use imgscan_fuzz::catalog;
use imgscan_sbom::catalog::rpm;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    catalog::with_input("var/lib/rpm/Packages", data, |input| {
        let _ = rpm::package(data, input);
    });
});
