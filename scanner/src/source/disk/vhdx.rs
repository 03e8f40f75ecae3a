//! VHDX images (Hyper-V's format, which Azure and Windows exports use),
//! read as their virtual disk. Two headers (the valid one with the higher
//! sequence number wins) and two region tables, each CRC-32C checked, lead
//! to the metadata (block size, virtual size, sector size) and the block
//! allocation table; payload blocks are fully present, zero or absent. A
//! header whose log is not empty (the writer stopped before applying it) is
//! refused rather than read half-written; differencing disks (a parent
//! file of the host) are refused like qcow2 backing files.

use super::device::{BoxedDevice, Device, Format, bad_data, check_range, read_in_blocks};
use super::error::DiskError;
use std::io;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
/// Largest BAT read (enough for disks of tens of TiB).
const MAX_BAT_BYTES: u64 = 64 << 20;
const FULLY_PRESENT: u64 = 6;
const PARTIALLY_PRESENT: u64 = 7;
const BAT: &str = "2DC27766-F623-4200-9D64-115E9BFD4A08";
const METADATA: &str = "8B7CA206-4790-4B9A-B8FE-575F050F886E";
const FILE_PARAMETERS: &str = "CAA16737-FA36-4D43-B3B6-33F0AA44E76B";
const VIRTUAL_DISK_SIZE: &str = "2FA54224-CD1B-4876-B211-5DBED83BF4B8";
const LOGICAL_SECTOR_SIZE: &str = "8141BF1D-A96F-4709-BA47-F233A8FAAB5F";

fn le_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().unwrap())
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// A GUID as the file stores it: the first three fields little-endian.
fn guid(text: &str) -> [u8; 16] {
    let hex: Vec<u8> = text
        .bytes()
        .filter(|b| *b != b'-')
        .collect::<Vec<_>>()
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect();
    let mut out = [0u8; 16];
    out.copy_from_slice(&hex);
    out[..4].reverse();
    out[4..6].reverse();
    out[6..8].reverse();
    out
}

/// Whether the CRC-32C of `bytes`, its checksum field at 4 read as zeros,
/// is the one stored there.
fn checksum_ok(bytes: &[u8]) -> bool {
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);
    let mut digest = crc.digest();
    digest.update(&bytes[..4]);
    digest.update(&[0; 4]);
    digest.update(&bytes[8..]);
    digest.finalize() == le_u32(bytes, 4)
}

fn read(image: &mut dyn Device, at: u64, len: u64, what: &str) -> Result<Vec<u8>, DiskError> {
    check_range(at, len as usize, image.size())
        .map_err(|_| Format::Vhdx.error(format!("VHDX {what} lies past the end of the file")))?;
    let mut bytes = vec![0u8; len as usize];
    image
        .read_at(at, &mut bytes)
        .map_err(|e| Format::Vhdx.error(format!("VHDX {what}: {e}")))?;
    Ok(bytes)
}

/// Opens the VHDX whose image bytes are `image`.
pub fn open(mut image: BoxedDevice) -> Result<BoxedDevice, DiskError> {
    let header = [64 * KIB, 128 * KIB]
        .into_iter()
        .filter_map(|at| read(image.as_mut(), at, 4 * KIB, "header").ok())
        .filter(|h| h.starts_with(b"head") && checksum_ok(h))
        .max_by_key(|h| le_u64(h, 8))
        .ok_or_else(|| Format::Vhdx.error("VHDX has no valid header"))?;
    if header[48..64].iter().any(|&b| b != 0) {
        return Err(Format::Vhdx.error(
            "VHDX with a log not yet applied (the writer stopped midway); open it once with \
             Hyper-V or `qemu-img check -r all` first",
        ));
    }
    let regions = [192 * KIB, 256 * KIB]
        .into_iter()
        .filter_map(|at| read(image.as_mut(), at, 64 * KIB, "region table").ok())
        .find(|r| r.starts_with(b"regi") && checksum_ok(r))
        .ok_or_else(|| Format::Vhdx.error("VHDX has no valid region table"))?;
    let count = le_u32(&regions, 8).min(2047) as usize;
    let region = |id: &str| {
        let id = guid(id);
        (0..count)
            .map(|i| &regions[16 + i * 32..48 + i * 32])
            .find(|e| e[..16] == id)
            .map(|e| (le_u64(e, 16), u64::from(le_u32(e, 24))))
    };
    let (bat_at, bat_len) =
        region(BAT).ok_or_else(|| Format::Vhdx.error("VHDX has no allocation table region"))?;
    let (meta_at, meta_len) =
        region(METADATA).ok_or_else(|| Format::Vhdx.error("VHDX has no metadata region"))?;
    let metadata = read(image.as_mut(), meta_at, meta_len.min(MIB), "metadata")?;
    if !metadata.starts_with(b"metadata") {
        return Err(Format::Vhdx.error("VHDX metadata table has no signature"));
    }
    let items = usize::from(le_u16(&metadata, 10)).min(2047);
    let item = |name: &str, len: usize| -> Result<&[u8], DiskError> {
        let id = guid(name);
        let entry = (0..items)
            .filter_map(|i| metadata.get(32 + i * 32..64 + i * 32))
            .find(|e| e[..16] == id)
            .ok_or_else(|| Format::Vhdx.error(format!("VHDX metadata lacks the item {name}")))?;
        let at = le_u32(entry, 16) as usize;
        metadata
            .get(at..at + len)
            .ok_or_else(|| Format::Vhdx.error("VHDX metadata item lies past its region"))
    };
    let parameters = item(FILE_PARAMETERS, 8)?;
    let block = u64::from(le_u32(parameters, 0));
    if le_u32(parameters, 4) & 2 != 0 {
        return Err(Format::Vhdx.error(
            "differencing VHDX: it names a parent file of the host; merge it first \
             (`qemu-img convert -O vhdx DISK flat.vhdx`)",
        ));
    }
    let size = le_u64(item(VIRTUAL_DISK_SIZE, 8)?, 0);
    let sector = u64::from(le_u32(item(LOGICAL_SECTOR_SIZE, 4)?, 0));
    if !(MIB..=256 * MIB).contains(&block) || !block.is_power_of_two() {
        return Err(Format::Vhdx.error(format!("VHDX block size {block} is not usable")));
    }
    if sector != 512 && sector != 4096 {
        return Err(Format::Vhdx.error(format!("VHDX logical sector size {sector} is not usable")));
    }
    let chunk_ratio = (1u64 << 23) * sector / block;
    let last = size.div_ceil(block).saturating_sub(1);
    let entries = last + last / chunk_ratio + 1;
    let bat_bytes = entries
        .checked_mul(8)
        .ok_or_else(|| Format::Vhdx.error("VHDX size overflows"))?;
    if bat_bytes > MAX_BAT_BYTES || bat_bytes > bat_len {
        return Err(Format::Vhdx.error(format!(
            "VHDX allocation table of {bat_len} bytes does not fit a {size}-byte disk"
        )));
    }
    let raw = read(image.as_mut(), bat_at, bat_bytes, "allocation table")?;
    Ok(Box::new(Vhdx {
        image,
        size,
        block,
        chunk_ratio,
        bat: raw.chunks_exact(8).map(|c| le_u64(c, 0)).collect(),
    }))
}

struct Vhdx {
    image: BoxedDevice,
    size: u64,
    block: u64,
    chunk_ratio: u64,
    bat: Vec<u64>,
}

impl Vhdx {
    fn read_block(&mut self, index: u64, within: u64, buf: &mut [u8]) -> io::Result<()> {
        let entry = self
            .bat
            .get((index + index / self.chunk_ratio) as usize)
            .copied()
            .unwrap_or(0);
        match entry & 7 {
            FULLY_PRESENT => {
                // The entry's top 44 bits are the block's offset in MiB: a
                // hostile one plus `within` passes 2^64.
                let past_end = || {
                    bad_data(
                        "VHDX",
                        format!("block {index} lies past the end of the file"),
                    )
                };
                let at = (entry >> 20)
                    .checked_mul(MIB)
                    .and_then(|start| start.checked_add(within))
                    .ok_or_else(past_end)?;
                check_range(at, buf.len(), self.image.size()).map_err(|_| past_end())?;
                self.image.read_at(at, buf)
            }
            PARTIALLY_PRESENT => Err(bad_data(
                "VHDX",
                format!("block {index} is partly in a parent disk"),
            )),
            _ => {
                buf.fill(0);
                Ok(())
            }
        }
    }
}

impl Device for Vhdx {
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

    #[test]
    fn guids_are_stored_mixed_endian() {
        assert_eq!(
            guid(BAT),
            [
                0x66, 0x77, 0xC2, 0x2D, 0x23, 0xF6, 0x00, 0x42, 0x9D, 0x64, 0x11, 0x5E, 0x9B, 0xFD,
                0x4A, 0x08
            ]
        );
    }

    /// A BAT entry whose offset sits at the top of its 44 bits, plus the
    /// offset within a block larger than 1 MiB, passed 2^64 (a panic with
    /// overflow checks, a read from a wrapped offset without).
    #[test]
    fn a_block_offset_near_two_to_the_64_is_past_the_end() {
        let mut disk = Vhdx {
            image: Box::new(super::super::device::Memory(vec![0; 4096])),
            size: 8 * MIB,
            block: 4 * MIB,
            chunk_ratio: 1024,
            bat: vec![0, !0xfffff | FULLY_PRESENT],
        };
        let mut buf = [0u8; 512];
        assert!(disk.read_at(6 * MIB, &mut buf).is_err());
    }

    #[test]
    fn crc32c_is_checked_over_the_zeroed_field() {
        let mut bytes = vec![0u8; 64];
        bytes[..4].copy_from_slice(b"head");
        let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI).checksum(&bytes);
        bytes[4..8].copy_from_slice(&crc.to_le_bytes());
        assert!(checksum_ok(&bytes));
        bytes[20] = 1;
        assert!(!checksum_ok(&bytes));
    }
}
