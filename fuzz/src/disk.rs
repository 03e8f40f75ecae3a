//! Disks for the disk-format targets: the input as an in-memory
//! [`Device`] (or as the head of a larger disk of zeros, for filesystems
//! no mkfs makes small), and a bounded tour of a device's virtual bytes (the start,
//! then blocks spread over the whole size) so that every kind of table
//! lookup a format does runs without reading a huge virtual disk whole.

use imgscan_scanner::source::disk::device::{BoxedDevice, Device, Memory, check_range};
use std::io;

/// Bytes read from the start of a device.
const HEAD: u64 = 64 << 10;
/// Blocks read spread over the rest.
const SPREAD: u64 = 64;
/// Bytes of each spread block.
const BLOCK: usize = 4096;

/// The input as a disk.
pub fn memory(data: &[u8]) -> BoxedDevice {
    Box::new(Memory(data.to_vec()))
}

/// The input as the first bytes of a disk of `size` bytes (at least the
/// input's) whose other bytes are zeros: XFS is at least 300 MB, while the
/// metadata a walk reads sits in its first megabyte.
pub fn padded(data: &[u8], size: u64) -> BoxedDevice {
    let size = size.max(data.len() as u64);
    Box::new(Padded {
        data: data.to_vec(),
        size,
    })
}

struct Padded {
    data: Vec<u8>,
    size: u64,
}

impl Device for Padded {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        check_range(offset, buf.len(), self.size)?;
        buf.fill(0);
        let held = self.data.len() as u64;
        if offset < held {
            let from = offset as usize;
            let take = buf.len().min(self.data.len() - from);
            buf[..take].copy_from_slice(&self.data[from..from + take]);
        }
        Ok(())
    }

    fn size(&self) -> u64 {
        self.size
    }
}

/// Reads the head of `device` and blocks spread over its size, ignoring
/// read errors (a broken table is an error, not a crash).
pub fn tour(device: &mut dyn Device) {
    let size = device.size();
    let mut head = vec![0u8; HEAD.min(size) as usize];
    let _ = device.read_at(0, &mut head);
    let mut block = [0u8; BLOCK];
    for i in 0..SPREAD {
        let at = (size / SPREAD).saturating_mul(i);
        let len = (size - at).min(BLOCK as u64) as usize;
        let _ = device.read_at(at, &mut block[..len]);
    }
}
