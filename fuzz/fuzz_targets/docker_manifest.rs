//! A `docker save` archive's metadata planned: `manifest.json` and the
//! config it names (see `imgscan_fuzz::blobs` for how the input carries
//! several documents whose digests hold).
#![no_main]

use imgscan_fuzz::blobs;
use imgscan_scanner::source::plan::plan_docker;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let store = blobs::store(data, "manifest.json");
    let _ = plan_docker(&store, "fuzz", None, None);
    let _ = plan_docker(&store, "fuzz", Some("app:1"), None);
});
