//! A disk image file opened as a [`Device`] of its virtual bytes: a raw
//! image is its own bytes; qcow2, VHD, VHDX and VMDK images are translated
//! block by block ([`super::qcow2`], [`super::vhd`], [`super::vhdx`],
//! [`super::vmdk`]); an OVA holds its disks as members of a tar
//! ([`super::ova`]). Every format is known by its bytes, never its name.

use super::device::{BoxedDevice, Device, Format, Raw};
use super::error::DiskError;
use super::ova::Ova;
use super::qcow2::Qcow2;
use super::{vhd, vhdx, vmdk};
use std::fs::File;
use std::io;
use std::path::Path;

/// The number of disks the image at `path` holds (an OVA may hold
/// several; every other format one).
pub fn disk_count(path: &Path) -> Result<usize, DiskError> {
    let (file, size, format) = sniff(path)?;
    Ok(match format {
        Format::Ova => Ova::open(file, size)?.disks().len(),
        _ => 1,
    })
}

/// Opens disk `index` of the image at `path`. Errors say what is wrong
/// with the file.
pub fn open(path: &Path, index: usize) -> Result<BoxedDevice, DiskError> {
    let (file, size, format) = sniff(path)?;
    match format {
        Format::Ova => {
            let ova = Ova::open(file, size)?;
            let (member, device) = ova.open_disk(index)?;
            open_region(device).map_err(|cause| DiskError::OvaDisk {
                member,
                cause: Box::new(cause),
            })
        }
        Format::Qcow2 => Ok(Box::new(Qcow2::open(file, size)?)),
        Format::VmdkDescriptor => vmdk::open_descriptor(path, file, size),
        _ => open_region(Box::new(Raw::new(file, 0, size))),
    }
}

/// Opens the disk whose image bytes are `image` (a file, or a member of
/// an OVA), by its format.
fn open_region(mut image: BoxedDevice) -> Result<BoxedDevice, DiskError> {
    let head = head_of(image.as_mut())?;
    let tail = tail_of(image.as_mut())?;
    match format_of(&head, &tail) {
        Format::Vhd => vhd::open(image),
        Format::Vhdx => vhdx::open(image),
        Format::VmdkSparse => vmdk::open_sparse(image),
        Format::Raw => Ok(image),
        Format::Qcow2 | Format::VmdkDescriptor | Format::Ova => Err(DiskError::Nested),
    }
}

fn head_of(image: &mut dyn Device) -> io::Result<Vec<u8>> {
    let mut head = vec![0u8; 512.min(image.size()) as usize];
    image.read_at(0, &mut head)?;
    Ok(head)
}

fn tail_of(image: &mut dyn Device) -> io::Result<Vec<u8>> {
    let size = image.size();
    let mut tail = vec![0u8; 512.min(size) as usize];
    image.read_at(size - tail.len() as u64, &mut tail)?;
    Ok(tail)
}

/// Opens `path` and tells its format.
fn sniff(path: &Path) -> Result<(File, u64, Format), DiskError> {
    let file = File::open(path).map_err(DiskError::Open)?;
    let size = file.metadata().map_err(DiskError::Stat)?.len();
    let mut whole = Raw::new(file.try_clone()?, 0, size);
    let head = head_of(&mut whole)?;
    let tail = tail_of(&mut whole)?;
    Ok((file, size, format_of(&head, &tail)))
}

/// Whether `head`, a file's first bytes, is an OVA: a tar whose first
/// member is the OVF descriptor.
pub fn is_ova(head: &[u8]) -> bool {
    let first_member = head.get(..100).map(|name| {
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        &name[..end]
    });
    head.get(257..262) == Some(b"ustar") && first_member.is_some_and(|name| name.ends_with(b".ovf"))
}

fn format_of(head: &[u8], tail: &[u8]) -> Format {
    if head.starts_with(b"QFI\xfb") {
        Format::Qcow2
    } else if head.starts_with(b"KDMV") {
        Format::VmdkSparse
    } else if head.starts_with(b"# Disk DescriptorFile") {
        Format::VmdkDescriptor
    } else if head.starts_with(b"vhdxfile") {
        Format::Vhdx
    } else if head.starts_with(b"conectix") || tail.starts_with(b"conectix") {
        Format::Vhd
    } else if is_ova(head) {
        Format::Ova
    } else {
        Format::Raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_their_bytes() {
        let zeros = [0u8; 512];
        assert_eq!(format_of(b"QFI\xfb\0\0\0\x03", &zeros), Format::Qcow2);
        assert_eq!(format_of(&zeros, &zeros), Format::Raw);
        assert_eq!(format_of(b"KDMV\x01\0\0\0", &zeros), Format::VmdkSparse);
        assert_eq!(format_of(b"vhdxfile", &zeros), Format::Vhdx);
        assert_eq!(format_of(b"conectix", &zeros), Format::Vhd);
        assert_eq!(format_of(&zeros, b"conectix"), Format::Vhd);
        let mut tar = [0u8; 512];
        tar[..8].copy_from_slice(b"vm.ovf\0\0");
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(format_of(&tar, &zeros), Format::Ova);
    }
}
