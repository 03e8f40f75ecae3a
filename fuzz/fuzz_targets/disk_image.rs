//! A whole disk image read as `imgscan disk:FILE` reads it: the format
//! sniffed and opened, partitions, LVM, ext and XFS volumes found, the
//! root walked and the volumes its fstab mounts.
#![no_main]

use imgscan_fuzz::{layer, scratch};
use imgscan_scanner::source::disk::index_disk;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = scratch::file("disk.img", data);
    layer::pass(|builder| {
        let _ = index_disk(&path, builder, true);
    });
});
