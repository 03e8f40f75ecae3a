//! An LVM physical volume: its label, metadata area and text metadata,
//! then the logical volumes the metadata maps onto it, each toured.
#![no_main]

use imgscan_fuzz::disk;
use imgscan_scanner::source::disk::lvm::{self, LogicalVolume, PlacedVolume};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(pv) = lvm::read_physical_volume(disk::memory(data).as_mut(), 0) else {
        return;
    };
    let Some(text) = &pv.metadata else { return };
    let _ = lvm::group_of(text);
    let mut open = |uuid: &str| {
        (uuid == pv.uuid).then(|| PlacedVolume {
            uuid: uuid.to_string(),
            disk: disk::memory(data),
            start: 0,
            len: data.len() as u64,
        })
    };
    let Ok(volumes) = lvm::logical_volumes(text, &mut open) else {
        return;
    };
    for volume in volumes {
        if let LogicalVolume::Mapped { mut device, .. } = volume {
            disk::tour(device.as_mut());
        }
    }
});
