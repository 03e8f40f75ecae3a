//! A disk as a random-access device of its virtual bytes: the [`Device`]
//! trait every container format implements, a region of a file ([`Raw`]),
//! the helpers the formats share, and the [`Format`] names. Which format a
//! file is, and opening it, is [`super::image`]'s.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError, TryLockError};

/// Random access to a disk's virtual bytes.
pub trait Device {
    /// Fills `buf` from `offset`; reading past the end is an error.
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
    /// The virtual size in bytes.
    fn size(&self) -> u64;
    /// Another handle on the same bytes, sharing what this one caches,
    /// where the format can give one (none: open the image again).
    fn another_handle(&self) -> Option<io::Result<BoxedDevice>> {
        None
    }
}

/// A disk device that can move between threads.
pub type BoxedDevice = Box<dyn Device + Send>;

/// A region of a file: a raw image (the whole file), the data of a fixed
/// VHD (all but its footer), a member of an OVA.
pub struct Raw {
    file: File,
    start: u64,
    size: u64,
}

impl Raw {
    /// The `size` bytes of `file` from `start`.
    pub fn new(file: File, start: u64, size: u64) -> Self {
        Raw { file, start, size }
    }
}

impl Device for Raw {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        check_range(offset, buf.len(), self.size)?;
        self.file.read_exact_at(buf, self.start + offset)
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn another_handle(&self) -> Option<io::Result<BoxedDevice>> {
        Some(self.file.try_clone().map(|file| {
            Box::new(Raw {
                file,
                start: self.start,
                size: self.size,
            }) as BoxedDevice
        }))
    }
}

/// A disk held in memory: tests build small disks this way, and the fuzz
/// targets hand their input to the formats as one.
pub struct Memory(pub Vec<u8>);

impl Device for Memory {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        check_range(offset, buf.len(), self.size())?;
        let at = offset as usize;
        buf.copy_from_slice(&self.0[at..at + buf.len()]);
        Ok(())
    }

    fn size(&self) -> u64 {
        self.0.len() as u64
    }
}

/// One volume of a disk (`start..start + len`), read by a filesystem
/// reader from several threads at once. It can hold several handles on
/// the same bytes: a read takes whichever is free, so threads reading a
/// compressed image inflate its clusters in parallel.
pub struct SharedVolume {
    disks: Vec<Mutex<BoxedDevice>>,
    start: u64,
    len: u64,
    /// Which handle a read waits for when all are busy.
    next: AtomicUsize,
}

impl SharedVolume {
    /// The volume `start..start + len` of `disk`.
    pub fn new(disk: BoxedDevice, start: u64, len: u64) -> Self {
        SharedVolume {
            disks: vec![Mutex::new(disk)],
            start,
            len,
            next: AtomicUsize::new(0),
        }
    }

    /// Adds another handle on the same bytes.
    pub fn add_handle(&mut self, disk: BoxedDevice) {
        self.disks.push(Mutex::new(disk));
    }

    /// The volume's size in bytes.
    pub fn size(&self) -> u64 {
        self.len
    }

    /// Fills `buf` from byte `at` of the volume; past its end is an error.
    pub fn read(&self, at: u64, buf: &mut [u8]) -> io::Result<()> {
        check_range(at, buf.len(), self.len)?;
        for disk in &self.disks {
            let mut free = match disk.try_lock() {
                Ok(free) => free,
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => continue,
            };
            return free.read_at(self.start + at, buf);
        }
        let turn = self.next.fetch_add(1, Ordering::Relaxed) % self.disks.len();
        let mut disk = self.disks[turn]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        disk.read_at(self.start + at, buf)
    }
}

/// Errors when `offset + len` passes `size`.
pub fn check_range(offset: u64, len: usize, size: u64) -> io::Result<()> {
    match offset.checked_add(len as u64) {
        Some(end) if end <= size => Ok(()),
        _ => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("read of {len} bytes at {offset} passes the disk's end ({size} bytes)"),
        )),
    }
}

/// Fills `buf` from virtual `offset` of a disk of `size` bytes mapped in
/// blocks of `block` bytes: `read_block(index, within, part)` fills the
/// part of `buf` that falls in block `index`, from byte `within` of it.
pub fn read_in_blocks(
    offset: u64,
    buf: &mut [u8],
    block: u64,
    size: u64,
    mut read_block: impl FnMut(u64, u64, &mut [u8]) -> io::Result<()>,
) -> io::Result<()> {
    check_range(offset, buf.len(), size)?;
    let mut done = 0;
    while done < buf.len() {
        let at = offset + done as u64;
        let within = at % block;
        let take = ((block - within) as usize).min(buf.len() - done);
        read_block(at / block, within, &mut buf[done..done + take])?;
        done += take;
    }
    Ok(())
}

/// Inflates the deflate stream `raw` (zlib-wrapped when `zlib`) into at
/// most `most` bytes, written straight into the result: a compressed
/// cluster or grain is held whole in memory, so it needs no reader's
/// buffering. A stream that ends early gives fewer bytes; one that would
/// give more is cut at `most`.
pub fn inflate(raw: &[u8], zlib: bool, most: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(most);
    flate2::Decompress::new(zlib)
        .decompress_vec(raw, &mut out, flate2::FlushDecompress::Finish)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    out.truncate(most);
    Ok(out)
}

/// An error about the disk format's own structures.
pub fn bad_data(format: &str, what: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("{format}: {what}"))
}

/// The image format of a disk file, from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// qcow2 (`QFI\xfb`).
    Qcow2,
    /// VHD: a `conectix` footer at the end (and, dynamic, at the start).
    Vhd,
    /// VHDX (`vhdxfile`).
    Vhdx,
    /// A VMDK sparse extent (`KDMV`).
    VmdkSparse,
    /// A VMDK descriptor naming its extents.
    VmdkDescriptor,
    /// An OVA: a tar whose first member is the OVF descriptor.
    Ova,
    /// Raw bytes (an MBR, a GPT, or a bare filesystem).
    Raw,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn streams_inflate_to_at_most_what_is_asked() {
        let bytes: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
        let mut deflate = flate2::write::DeflateEncoder::new(Vec::new(), Default::default());
        deflate.write_all(&bytes).unwrap();
        let raw = deflate.finish().unwrap();
        assert_eq!(inflate(&raw, false, 70_000).unwrap(), bytes);
        assert_eq!(inflate(&raw, false, 65_536).unwrap(), bytes[..65_536]);
        assert!(inflate(&raw[..raw.len() / 2], false, 70_000).unwrap().len() < 70_000);
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), Default::default());
        zlib.write_all(&bytes).unwrap();
        assert_eq!(
            inflate(&zlib.finish().unwrap(), true, 70_000).unwrap(),
            bytes
        );
        assert!(inflate(&[0xff; 64], false, 1024).is_err());
    }

    #[test]
    fn ranges_past_the_end_are_errors() {
        assert!(check_range(0, 512, 512).is_ok());
        assert!(check_range(1, 512, 512).is_err());
        assert!(check_range(u64::MAX, 2, 512).is_err());
    }
}
