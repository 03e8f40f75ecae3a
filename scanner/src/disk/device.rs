//! A VM disk image as a random-access device of its virtual bytes: a raw
//! image is its own bytes; a qcow2 image is translated cluster by cluster
//! ([`super::qcow2`]). Formats that are recognised but not read (VMDK,
//! VHD, VHDX) are refused by name.

use super::qcow2::Qcow2;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Random access to a disk's virtual bytes.
pub trait Device {
    /// Fills `buf` from `offset`; reading past the end is an error.
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
    /// The virtual size in bytes.
    fn size(&self) -> u64;
}

/// A raw image: the file is the disk.
pub struct Raw {
    file: File,
    size: u64,
}

impl Device for Raw {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        check_range(offset, buf.len(), self.size)?;
        self.file.read_exact_at(buf, offset)
    }

    fn size(&self) -> u64 {
        self.size
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

/// The image format of a disk file, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// qcow2 (`QFI\xfb`).
    Qcow2,
    /// Raw bytes (an MBR, a GPT, or a bare filesystem).
    Raw,
}

/// Opens the disk image at `path`. Errors say what is wrong with the file
/// (an unsupported format is named, with how to convert it).
pub fn open(path: &Path) -> Result<Box<dyn Device + Send>, String> {
    let file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let size = file
        .metadata()
        .map_err(|e| format!("cannot stat: {e}"))?
        .len();
    let mut head = [0u8; 512];
    let n = file.read_at(&mut head, 0).map_err(|e| e.to_string())?;
    let head = &head[..n];
    match format_of(head)? {
        Format::Qcow2 => Ok(Box::new(Qcow2::open(file, size)?)),
        Format::Raw => Ok(Box::new(Raw { file, size })),
    }
}

fn format_of(head: &[u8]) -> Result<Format, String> {
    let unsupported = |name: &str| {
        Err(format!(
            "{name} disk images are not read; convert it with `qemu-img convert -O qcow2 DISK out.qcow2`"
        ))
    };
    if head.starts_with(b"QFI\xfb") {
        Ok(Format::Qcow2)
    } else if head.starts_with(b"KDMV") || head.starts_with(b"# Disk DescriptorFile") {
        unsupported("VMDK")
    } else if head.starts_with(b"vhdxfile") {
        unsupported("VHDX")
    } else if head.starts_with(b"conectix") {
        unsupported("VHD")
    } else {
        Ok(Format::Raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_magic() {
        assert_eq!(format_of(b"QFI\xfb\0\0\0\x03"), Ok(Format::Qcow2));
        assert_eq!(format_of(&[0u8; 512]), Ok(Format::Raw));
        let err = format_of(b"KDMV\x01\0\0\0").unwrap_err();
        assert!(
            err.contains("VMDK") && err.contains("qemu-img convert"),
            "{err}"
        );
        assert!(format_of(b"conectix").unwrap_err().contains("VHD"));
    }

    #[test]
    fn ranges_past_the_end_are_errors() {
        assert!(check_range(0, 512, 512).is_ok());
        assert!(check_range(1, 512, 512).is_err());
        assert!(check_range(u64::MAX, 2, 512).is_err());
    }
}
