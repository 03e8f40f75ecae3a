//! An OVA opened (its tar members and the OVF descriptor's disk list) and
//! each disk it names toured as a region of the tar.
#![no_main]

use imgscan_fuzz::{disk, scratch};
use imgscan_scanner::source::disk::ova::Ova;
use libfuzzer_sys::fuzz_target;
use std::fs::File;

fuzz_target!(|data: &[u8]| {
    let path = scratch::file("image.ova", data);
    let Ok(file) = File::open(&path) else { return };
    let Ok(ova) = Ova::open(file, data.len() as u64) else {
        return;
    };
    for index in 0..ova.disks().len() {
        if let Ok((_, mut device)) = ova.open_disk(index) {
            disk::tour(device.as_mut());
        }
    }
});
