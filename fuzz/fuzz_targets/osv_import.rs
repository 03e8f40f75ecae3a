//! `imgscan db import` of the input: one OSV JSON record, or a zip of
//! them (osv.dev's `all.zip`), told apart by its bytes.
#![no_main]

use imgscan_fuzz::osv;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    osv::import("osv-input", data);
});
