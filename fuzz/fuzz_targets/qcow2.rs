//! A qcow2 image opened (header, L1 and L2 tables, refcount-free reads,
//! compressed clusters) and its virtual bytes toured.
#![no_main]

use imgscan_fuzz::{disk, scratch};
use imgscan_scanner::source::disk::qcow2::Qcow2;
use libfuzzer_sys::fuzz_target;
use std::fs::File;

fuzz_target!(|data: &[u8]| {
    let path = scratch::file("image.qcow2", data);
    let Ok(file) = File::open(&path) else { return };
    if let Ok(mut image) = Qcow2::open(file, data.len() as u64) {
        disk::tour(&mut image);
    }
});
