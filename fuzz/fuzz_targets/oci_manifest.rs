//! An OCI image layout's metadata planned: `index.json`, nested indexes,
//! the image manifest and its config (see `imgscan_fuzz::blobs` for how
//! the input carries several documents whose digests hold).
#![no_main]

use imgscan_fuzz::blobs;
use imgscan_scanner::source::plan::plan_oci;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let store = blobs::store(data, "index.json");
    let _ = plan_oci(&store, "fuzz", None, None);
    let _ = plan_oci(&store, "fuzz", Some("latest"), None);
});
