//! A VHD opened (footer, dynamic header, block allocation table) and its
//! virtual bytes toured.
#![no_main]

use imgscan_fuzz::disk;
use imgscan_scanner::source::disk::vhd;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(mut image) = vhd::open(disk::memory(data)) {
        disk::tour(image.as_mut());
    }
});
