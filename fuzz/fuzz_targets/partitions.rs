//! A disk's partition table (GPT, else MBR with its EBR chain, else the
//! whole disk) and what each partition holds, by superblock magic.
#![no_main]

use imgscan_fuzz::disk;
use imgscan_scanner::source::disk::partitions::{contents, partitions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut device = disk::memory(data);
    let Ok(found) = partitions(device.as_mut()) else {
        return;
    };
    for partition in found {
        let _ = contents(device.as_mut(), partition.start);
    }
});
