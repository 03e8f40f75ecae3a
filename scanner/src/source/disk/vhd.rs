//! VHD images (Microsoft's Virtual Hard Disk, the format Azure and many
//! clouds import), read as their virtual disk. A 512-byte footer ends the
//! file: a fixed disk is its bytes before the footer; a dynamic disk has a
//! header that locates the block allocation table (BAT), and each allocated
//! block starts with a bitmap of the sectors it holds (a clear bit reads as
//! zeros). Differencing disks name a parent file of the host and are
//! refused, like qcow2 backing files. Every offset and size comes from the
//! file and is checked before it is used.

use super::device::{BoxedDevice, Device, Format, bad_data, check_range, read_in_blocks};
use super::error::DiskError;
use std::io;

const FOOTER: u64 = 512;
const SECTOR: u64 = 512;
const UNALLOCATED: u32 = u32::MAX;
/// Largest BAT read (enough for 2 TiB disks of 2 MiB blocks, VHD's limit).
const MAX_BAT_ENTRIES: u32 = 1 << 21;
/// Largest block: the format's default is 2 MiB.
const MAX_BLOCK: u32 = 256 << 20;

fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}

fn be_u64(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().unwrap())
}

/// The one's complement of the sum of the bytes, the checksum field read
/// as zeros.
fn checksum(bytes: &[u8], field: usize) -> u32 {
    let sum = bytes
        .iter()
        .enumerate()
        .filter(|(i, _)| !(field..field + 4).contains(i))
        .fold(0u32, |sum, (_, &b)| sum.wrapping_add(u32::from(b)));
    !sum
}

/// Opens the VHD whose image bytes are `image`.
pub fn open(mut image: BoxedDevice) -> Result<BoxedDevice, DiskError> {
    let file_size = image.size();
    if file_size < FOOTER {
        return Err(Format::Vhd.error("VHD image shorter than its footer"));
    }
    let mut footer = [0u8; FOOTER as usize];
    image
        .read_at(file_size - FOOTER, &mut footer)
        .map_err(|e| Format::Vhd.error(format!("VHD footer: {e}")))?;
    if !footer.starts_with(b"conectix") {
        // A dynamic disk whose end was cut off still has its copy in front.
        image
            .read_at(0, &mut footer)
            .map_err(|e| Format::Vhd.error(format!("VHD footer: {e}")))?;
        return Err(Format::Vhd.error(if footer.starts_with(b"conectix") {
            "VHD image whose footer is missing: the file is truncated"
        } else {
            "VHD footer not found"
        }));
    }
    if checksum(&footer, 64) != be_u32(&footer, 64) {
        return Err(Format::Vhd.error("VHD footer checksum does not match"));
    }
    let size = be_u64(&footer, 48);
    match be_u32(&footer, 60) {
        2 => {
            if size > file_size - FOOTER {
                return Err(Format::Vhd.error(format!(
                    "fixed VHD of {size} bytes in a file of {file_size}: the file is truncated"
                )));
            }
            Ok(Box::new(Fixed { image, size }))
        }
        3 => Dynamic::open(image, be_u64(&footer, 16), size).map(|d| Box::new(d) as BoxedDevice),
        4 => Err(Format::Vhd.error(
            "differencing VHD: it names a parent file of the host; merge it first \
             (`qemu-img convert -O vpc DISK flat.vhd`)",
        )),
        other => Err(Format::Vhd.error(format!("VHD disk type {other} is not known"))),
    }
}

/// A fixed VHD: the data is the file's bytes before the footer.
struct Fixed {
    image: BoxedDevice,
    size: u64,
}

impl Device for Fixed {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        check_range(offset, buf.len(), self.size)?;
        self.image.read_at(offset, buf)
    }

    fn size(&self) -> u64 {
        self.size
    }
}

/// A dynamic VHD.
struct Dynamic {
    image: BoxedDevice,
    size: u64,
    block: u64,
    bat: Vec<u32>,
    /// Bytes of each block's sector bitmap, padded to a sector.
    bitmap_bytes: u64,
    /// The bitmap of the block read last.
    bitmap: Option<(u64, Vec<u8>)>,
}

impl Dynamic {
    fn open(mut image: BoxedDevice, header_at: u64, size: u64) -> Result<Self, DiskError> {
        let mut header = [0u8; 1024];
        check_range(header_at, header.len(), image.size())
            .map_err(|_| Format::Vhd.error("VHD dynamic header lies past the end of the file"))?;
        image
            .read_at(header_at, &mut header)
            .map_err(|e| Format::Vhd.error(format!("VHD dynamic header: {e}")))?;
        if !header.starts_with(b"cxsparse") {
            return Err(Format::Vhd.error("VHD dynamic header has no `cxsparse` cookie"));
        }
        if checksum(&header, 36) != be_u32(&header, 36) {
            return Err(Format::Vhd.error("VHD dynamic header checksum does not match"));
        }
        let bat_at = be_u64(&header, 16);
        let entries = be_u32(&header, 28);
        let block = be_u32(&header, 32);
        if block == 0 || !block.is_power_of_two() || block > MAX_BLOCK || u64::from(block) < SECTOR
        {
            return Err(Format::Vhd.error(format!("VHD block size {block} is not usable")));
        }
        let block = u64::from(block);
        if entries > MAX_BAT_ENTRIES || u64::from(entries) < size.div_ceil(block) {
            return Err(Format::Vhd.error(format!(
                "VHD allocation table of {entries} entries does not fit a {size}-byte disk"
            )));
        }
        let bat_bytes = entries as usize * 4;
        check_range(bat_at, bat_bytes, image.size())
            .map_err(|_| Format::Vhd.error("VHD allocation table lies past the end of the file"))?;
        let mut raw = vec![0u8; bat_bytes];
        image
            .read_at(bat_at, &mut raw)
            .map_err(|e| Format::Vhd.error(format!("VHD allocation table: {e}")))?;
        let bat = raw.chunks_exact(4).map(|c| be_u32(c, 0)).collect();
        let bitmap_bytes = (block / SECTOR).div_ceil(8).div_ceil(SECTOR) * SECTOR;
        Ok(Dynamic {
            image,
            size,
            block,
            bat,
            bitmap_bytes,
            bitmap: None,
        })
    }

    fn read_block(&mut self, index: u64, within: u64, buf: &mut [u8]) -> io::Result<()> {
        let entry = self.bat.get(index as usize).copied().unwrap_or(UNALLOCATED);
        if entry == UNALLOCATED {
            buf.fill(0);
            return Ok(());
        }
        let start = u64::from(entry) * SECTOR;
        let end = start + self.bitmap_bytes + self.block;
        if end > self.image.size() {
            return Err(bad_data(
                "VHD",
                format!("block {index} at {start} lies past the end of the file"),
            ));
        }
        if self.bitmap.as_ref().is_none_or(|(at, _)| *at != start) {
            let mut bitmap = vec![0u8; self.bitmap_bytes as usize];
            self.image.read_at(start, &mut bitmap)?;
            self.bitmap = Some((start, bitmap));
        }
        self.image
            .read_at(start + self.bitmap_bytes + within, buf)?;
        let bitmap = &self.bitmap.as_ref().expect("just read").1;
        // Sectors the bitmap says are not there read as zeros.
        let mut pos = 0;
        while pos < buf.len() {
            let sector = (within + pos as u64) / SECTOR;
            let end = (((sector + 1) * SECTOR - within) as usize).min(buf.len());
            if bitmap[(sector / 8) as usize] & (0x80 >> (sector % 8)) == 0 {
                buf[pos..end].fill(0);
            }
            pos = end;
        }
        Ok(())
    }
}

impl Device for Dynamic {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let (block, size) = (self.block, self.size);
        read_in_blocks(offset, buf, block, size, |index, within, part| {
            self.read_block(index, within, part)
        })
    }

    fn size(&self) -> u64 {
        self.size
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::disk::device::Raw;
    use std::io::Write;

    fn device(bytes: &[u8]) -> BoxedDevice {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(bytes).unwrap();
        Box::new(Raw::new(file, 0, bytes.len() as u64))
    }

    fn footer(kind: u32, size: u64, data_at: u64) -> [u8; 512] {
        let mut f = [0u8; 512];
        f[..8].copy_from_slice(b"conectix");
        f[16..24].copy_from_slice(&data_at.to_be_bytes());
        f[48..56].copy_from_slice(&size.to_be_bytes());
        f[60..64].copy_from_slice(&kind.to_be_bytes());
        let sum = checksum(&f, 64);
        f[64..68].copy_from_slice(&sum.to_be_bytes());
        f
    }

    /// A dynamic disk of one 4 KiB block (sectors 0 and 2 present).
    fn dynamic(edit: impl FnOnce(&mut Vec<u8>)) -> Result<BoxedDevice, DiskError> {
        let mut bytes = footer(3, 8192, 512).to_vec();
        let mut header = [0u8; 1024];
        header[..8].copy_from_slice(b"cxsparse");
        header[16..24].copy_from_slice(&1536u64.to_be_bytes());
        header[28..32].copy_from_slice(&2u32.to_be_bytes());
        header[32..36].copy_from_slice(&4096u32.to_be_bytes());
        let sum = checksum(&header, 36);
        header[36..40].copy_from_slice(&sum.to_be_bytes());
        bytes.extend(header);
        let mut bat = [0xffu8; 512];
        bat[..4].copy_from_slice(&4u32.to_be_bytes());
        bytes.extend(bat);
        let mut bitmap = [0u8; 512];
        bitmap[0] = 0b1010_0000;
        bytes.extend(bitmap);
        bytes.extend([7u8; 4096]);
        bytes.extend(footer(3, 8192, 512));
        edit(&mut bytes);
        open(device(&bytes))
    }

    #[test]
    fn fixed_and_dynamic_disks_read_their_virtual_bytes() {
        let mut bytes = vec![5u8; 1024];
        bytes.extend(footer(2, 1024, u64::MAX));
        let mut disk = open(device(&bytes)).unwrap();
        let mut buf = [0u8; 1024];
        disk.read_at(0, &mut buf).unwrap();
        assert!(buf.iter().all(|&b| b == 5));
        let mut disk = dynamic(|_| {}).unwrap();
        let mut buf = vec![1u8; 8192];
        disk.read_at(0, &mut buf).unwrap();
        assert!(buf[..512].iter().all(|&b| b == 7), "sector 0 present");
        assert!(buf[512..1024].iter().all(|&b| b == 0), "sector 1 absent");
        assert!(buf[1024..1536].iter().all(|&b| b == 7), "sector 2 present");
        assert!(buf[4096..].iter().all(|&b| b == 0), "block 1 unallocated");
        let mut part = [1u8; 700];
        disk.read_at(300, &mut part).unwrap();
        assert!(part[..212].iter().all(|&b| b == 7) && part[212..].iter().all(|&b| b == 0));
    }

    #[test]
    fn hostile_vhds_are_refused_or_fail_cleanly() {
        let err = |edit: fn(&mut Vec<u8>)| {
            dynamic(edit)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(err(|b| b[560] ^= 1).contains("checksum"));
        assert!(err(|b| b.truncate(b.len() - 512)).contains("truncated"));
        let mut far = footer(2, 1 << 40, u64::MAX).to_vec();
        far.splice(0..0, [0u8; 512]);
        assert!(
            open(device(&far))
                .err()
                .unwrap()
                .to_string()
                .contains("truncated")
        );
        assert!(
            open(device(&footer(4, 512, 0)))
                .err()
                .unwrap()
                .to_string()
                .contains("differencing")
        );
        // A BAT entry pointing past the end fails the read, not the process.
        let mut disk =
            dynamic(|b| b[1536..1540].copy_from_slice(&0x00ff_ffffu32.to_be_bytes())).unwrap();
        assert!(disk.read_at(0, &mut [0u8; 512]).is_err());
    }
}
