//! A VHDX opened (headers, region table, metadata, BAT) and its virtual
//! bytes toured.
#![no_main]

use imgscan_fuzz::disk;
use imgscan_scanner::source::disk::vhdx;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(mut image) = vhdx::open(disk::memory(data)) {
        disk::tour(image.as_mut());
    }
});
