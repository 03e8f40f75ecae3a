//! An XFS volume loaded (superblock, AG geometry), its log checked, and
//! walked into a layer
//! (inodes, extent lists and B+trees, short-form, block and leaf
//! directories), then the lookups the disk reader makes. The input is the
//! head of a 512 MiB volume (mkfs.xfs makes nothing under 300 MB).
#![no_main]

use imgscan_fuzz::{disk, layer};
use imgscan_scanner::source::disk::device::SharedVolume;
use imgscan_scanner::source::disk::inode_tree;
use imgscan_scanner::source::disk::xfs::XfsFs;
use libfuzzer_sys::fuzz_target;

/// The volume's size.
const VOLUME: u64 = 512 << 20;

fuzz_target!(|data: &[u8]| {
    let len = VOLUME.max(data.len() as u64);
    let Ok(fs) = XfsFs::load(SharedVolume::new(disk::padded(data, len), 0, len)) else {
        return;
    };
    let _ = (fs.uuid(), fs.label(), fs.log_warning());
    let _ = inode_tree::has(&fs, "/etc/os-release");
    let _ = inode_tree::read_small(&fs, "/etc/fstab", 1 << 20);
    layer::pass(|builder| {
        builder.walk_volume();
        let _ = inode_tree::walk(&fs, b"", builder);
    });
});
