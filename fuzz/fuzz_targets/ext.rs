//! An ext2/3/4 volume loaded (superblock, group descriptors, journal replay) and
//! walked into a layer (inodes, extent trees, block pointers, inline data,
//! directories, links), then the
//! lookups the disk reader makes (`os-release`, `fstab`).
#![no_main]

use imgscan_fuzz::{disk, layer};
use imgscan_scanner::source::disk::device::SharedVolume;
use imgscan_scanner::source::disk::inode_tree;
use imgscan_scanner::source::disk::ext::ExtFs;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let volume = SharedVolume::new(disk::memory(data), 0, data.len() as u64);
    let Ok(fs) = ExtFs::load(volume) else {
        return;
    };
    let _ = (fs.uuid(), fs.label(), inode_tree::has(&fs, "/etc/os-release"));
    let _ = inode_tree::read_small(&fs, "/etc/fstab", 1 << 20);
    layer::pass(|builder| {
        builder.walk_volume();
        let _ = inode_tree::walk(&fs, b"", builder);
    });
});
