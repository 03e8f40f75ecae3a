//! A VMDK opened and its virtual bytes toured: a sparse extent (header,
//! grain directory and tables) from memory, or a descriptor naming its
//! extents beside it.
#![no_main]

use imgscan_fuzz::{disk, scratch};
use imgscan_scanner::source::disk::vmdk;
use libfuzzer_sys::fuzz_target;
use std::fs::File;

fuzz_target!(|data: &[u8]| {
    let opened = if data.starts_with(b"# Disk DescriptorFile") {
        let path = scratch::file("image.vmdk", data);
        let Ok(file) = File::open(&path) else { return };
        vmdk::open_descriptor(&path, file, data.len() as u64)
    } else {
        vmdk::open_sparse(disk::memory(data))
    };
    if let Ok(mut image) = opened {
        disk::tour(image.as_mut());
    }
});
