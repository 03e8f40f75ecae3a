//! The partitions of a disk: a GPT, else an MBR (with its chain of
//! extended boot records), else the whole disk as one volume. Each is
//! bounded by the disk, and what filesystem it holds is read from its
//! superblock magic so the report can name what was not read.

use super::device::Device;
use std::io;

/// Most GPT entries and logical (EBR) partitions looked at.
const MAX_PARTITIONS: u64 = 256;
const SECTOR: u64 = 512;

/// One volume of the disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// 1-based number as `fdisk` shows it (0: the whole disk).
    pub number: u32,
    /// First byte.
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
    /// What fstab's `PARTUUID=` names it by: the GPT partition GUID, or
    /// `SIGNATURE-NN` from an MBR's disk signature.
    pub part_uuid: Option<String>,
}

/// What [`Contents::Other`] names an LVM physical volume.
pub const LVM_PV: &str = "LVM physical volume";

/// What a volume holds, by magic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contents {
    /// ext2, ext3 or ext4.
    Ext,
    /// XFS.
    Xfs,
    /// Another filesystem or volume kind, named.
    Other(&'static str),
    /// Zeros where any filesystem keeps its signature: never formatted.
    Blank,
    /// Something not recognised.
    Unknown,
}

impl Contents {
    /// The kind of filesystem, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Contents::Ext => "ext",
            Contents::Xfs => "XFS",
            Contents::Other(kind) => kind,
            Contents::Blank => "blank",
            Contents::Unknown => "unrecognised",
        }
    }
}

/// The volumes of `disk`, in disk order; a partition that overlaps an
/// earlier one (a hostile table can list one volume hundreds of times) is
/// dropped.
pub fn partitions(disk: &mut dyn Device) -> io::Result<Vec<Partition>> {
    let mut found = listed(disk)?;
    found.sort_by_key(|p| (p.start, p.number));
    let mut end = 0;
    found.retain(|p| {
        let keep = p.len > 0 && (p.start >= end || p.number == 0);
        if keep {
            end = p.start + p.len;
        }
        keep
    });
    Ok(found)
}

fn listed(disk: &mut dyn Device) -> io::Result<Vec<Partition>> {
    let size = disk.size();
    let whole = vec![Partition {
        number: 0,
        start: 0,
        len: size,
        part_uuid: None,
    }];
    if size < 2 * SECTOR {
        return Ok(whole);
    }
    // A GPT header sits at LBA 1: byte 512 on disks of 512-byte sectors,
    // byte 4096 on disks of 4 KiB sectors.
    for sector in [SECTOR, 4096] {
        if size < 2 * sector {
            break;
        }
        let mut lba1 = [0u8; 512];
        disk.read_at(sector, &mut lba1)?;
        if &lba1[..8] == b"EFI PART" {
            return gpt(disk, &lba1, sector);
        }
    }
    let mut mbr = [0u8; 512];
    disk.read_at(0, &mut mbr)?;
    if mbr[510..512] != [0x55, 0xaa] || contents(disk, 0)? == Contents::Ext {
        return Ok(whole);
    }
    let mut found = Vec::new();
    for slot in 0..4 {
        let (kind, start, sectors) = mbr_entry(&mbr, slot);
        if kind == 0 || sectors == 0 {
            continue;
        }
        if matches!(kind, 0x05 | 0x0f | 0x85) {
            logical(disk, start, &mut found)?;
        } else {
            push(&mut found, slot as u32 + 1, start, sectors, size, SECTOR);
        }
    }
    let signature = le_u32(&mbr, 440);
    if signature != 0 {
        for p in &mut found {
            p.part_uuid = Some(format!("{signature:08x}-{:02x}", p.number));
        }
    }
    Ok(if found.is_empty() { whole } else { found })
}

/// A GPT GUID as text: the first three fields are stored little-endian.
fn guid(b: &[u8]) -> String {
    format!(
        "{:08x}-{:04x}-{:04x}-{}-{}",
        le_u32(b, 0),
        u16::from_le_bytes([b[4], b[5]]),
        u16::from_le_bytes([b[6], b[7]]),
        hex::encode(&b[8..10]),
        hex::encode(&b[10..16])
    )
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

fn mbr_entry(sector: &[u8], slot: usize) -> (u8, u64, u64) {
    let at = 446 + 16 * slot;
    (
        sector[at + 4],
        u64::from(le_u32(sector, at + 8)),
        u64::from(le_u32(sector, at + 12)),
    )
}

/// Adds a partition of `sectors` from sector `start` (of `sector` bytes),
/// clipped to the disk.
fn push(found: &mut Vec<Partition>, number: u32, start: u64, sectors: u64, size: u64, sector: u64) {
    let start = start.saturating_mul(sector);
    if start >= size {
        return;
    }
    let len = sectors.saturating_mul(sector).min(size - start);
    found.push(Partition {
        number,
        start,
        len,
        part_uuid: None,
    });
}

/// Follows the chain of extended boot records from the extended partition
/// at sector `base`; logical partitions are numbered from 5. A chain may
/// go backwards (fdisk leaves such), but not in a loop.
fn logical(disk: &mut dyn Device, base: u64, found: &mut Vec<Partition>) -> io::Result<()> {
    let size = disk.size();
    let mut next = 0u64;
    let mut visited = std::collections::HashSet::new();
    for number in 5..5 + MAX_PARTITIONS as u32 {
        if !visited.insert(next) {
            break;
        }
        let at = (base + next).saturating_mul(SECTOR);
        if at.saturating_add(SECTOR) > size {
            break;
        }
        let mut ebr = [0u8; 512];
        disk.read_at(at, &mut ebr)?;
        if ebr[510..512] != [0x55, 0xaa] {
            break;
        }
        let (kind, start, sectors) = mbr_entry(&ebr, 0);
        if kind != 0 && sectors != 0 {
            push(found, number, base + next + start, sectors, size, SECTOR);
        }
        let (link_kind, link, _) = mbr_entry(&ebr, 1);
        if link_kind == 0 || link == 0 {
            break;
        }
        next = link;
    }
    Ok(())
}

fn gpt(disk: &mut dyn Device, header: &[u8], sector: u64) -> io::Result<Vec<Partition>> {
    let size = disk.size();
    let entries_lba = le_u64(header, 72);
    let count = u64::from(le_u32(header, 80)).min(MAX_PARTITIONS);
    let entry_size = u64::from(le_u32(header, 84));
    if !(128..=4096).contains(&entry_size) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("GPT entry size {entry_size} is out of range"),
        ));
    }
    let mut found = Vec::new();
    let mut entry = vec![0u8; entry_size as usize];
    for i in 0..count {
        let at = entries_lba
            .saturating_mul(sector)
            .saturating_add(i * entry_size);
        if at.saturating_add(entry_size) > size {
            break;
        }
        disk.read_at(at, &mut entry)?;
        if entry[..16].iter().all(|&b| b == 0) {
            continue;
        }
        let (first, last) = (le_u64(&entry, 32), le_u64(&entry, 40));
        if last < first {
            continue;
        }
        push(
            &mut found,
            i as u32 + 1,
            first,
            (last - first).saturating_add(1),
            size,
            sector,
        );
        if let Some(added) = found.last_mut().filter(|p| p.number == i as u32 + 1) {
            added.part_uuid = Some(guid(&entry[16..32]));
        }
    }
    Ok(found)
}

/// What the volume at `start` holds.
pub fn contents(disk: &mut dyn Device, start: u64) -> io::Result<Contents> {
    let mut head = vec![0u8; 4096];
    let available = disk.size().saturating_sub(start).min(head.len() as u64) as usize;
    head.truncate(available);
    disk.read_at(start, &mut head)?;
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    Ok(if at(1080, &[0x53, 0xef]) {
        Contents::Ext
    } else if at(0, b"XFSB") {
        Contents::Xfs
    } else if at(512, b"LABELONE") || at(24, b"LABELONE") {
        Contents::Other(LVM_PV)
    } else if at(0, b"LUKS\xba\xbe") {
        Contents::Other("LUKS encrypted volume")
    } else if at(4086, b"SWAPSPACE2") {
        Contents::Other("swap")
    } else if at(82, b"FAT32") || at(54, b"FAT1") {
        Contents::Other("FAT")
    } else if at(3, b"NTFS    ") {
        Contents::Other("NTFS")
    } else if btrfs(disk, start)? {
        Contents::Other("Btrfs")
    } else if head.iter().all(|&b| b == 0) {
        Contents::Blank
    } else {
        Contents::Unknown
    })
}

fn btrfs(disk: &mut dyn Device, start: u64) -> io::Result<bool> {
    let at = start.saturating_add(0x10040);
    if at.saturating_add(8) > disk.size() {
        return Ok(false);
    }
    let mut magic = [0u8; 8];
    disk.read_at(at, &mut magic)?;
    Ok(&magic == b"_BHRfS_M")
}

#[cfg(test)]
mod tests {
    use super::super::device::Memory;
    use super::*;

    fn mbr_slot(disk: &mut [u8], sector: usize, slot: usize, kind: u8, start: u32, len: u32) {
        let at = sector * 512 + 446 + 16 * slot;
        disk[at + 4] = kind;
        disk[at + 8..at + 12].copy_from_slice(&start.to_le_bytes());
        disk[at + 12..at + 16].copy_from_slice(&len.to_le_bytes());
        disk[sector * 512 + 510] = 0x55;
        disk[sector * 512 + 511] = 0xaa;
    }

    #[test]
    fn mbr_with_primary_and_logical_partitions() {
        let mut disk = vec![0u8; 64 * 512];
        mbr_slot(&mut disk, 0, 0, 0x83, 2, 10);
        mbr_slot(&mut disk, 0, 1, 0x05, 20, 40);
        // EBR at 20: a logical partition at 20+1, then a link to 20+10.
        mbr_slot(&mut disk, 20, 0, 0x83, 1, 5);
        mbr_slot(&mut disk, 20, 1, 0x05, 10, 20);
        // EBR at 30: one more, and a link to itself (a loop) that is not
        // followed twice.
        mbr_slot(&mut disk, 30, 0, 0x83, 1, 1000);
        mbr_slot(&mut disk, 30, 1, 0x05, 10, 1);
        let found = partitions(&mut Memory(disk)).unwrap();
        let spans: Vec<(u32, u64, u64)> = found
            .iter()
            .map(|p| (p.number, p.start / 512, p.len / 512))
            .collect();
        assert_eq!(
            spans,
            [(1, 2, 10), (5, 21, 5), (6, 31, 33)],
            "the last is clipped"
        );
    }

    #[test]
    fn gpt_entries_and_hostile_sizes() {
        let mut disk = vec![0u8; 40 * 512];
        disk[512..520].copy_from_slice(b"EFI PART");
        disk[512 + 72..512 + 80].copy_from_slice(&2u64.to_le_bytes());
        disk[512 + 80..512 + 84].copy_from_slice(&u32::MAX.to_le_bytes());
        disk[512 + 84..512 + 88].copy_from_slice(&128u32.to_le_bytes());
        let entry = 2 * 512 + 128;
        disk[entry] = 0xaf;
        disk[entry + 32..entry + 40].copy_from_slice(&34u64.to_le_bytes());
        disk[entry + 40..entry + 48].copy_from_slice(&39u64.to_le_bytes());
        let found = partitions(&mut Memory(disk.clone())).unwrap();
        assert_eq!(
            found,
            [Partition {
                number: 2,
                start: 34 * 512,
                len: 6 * 512,
                part_uuid: Some("00000000-0000-0000-0000-000000000000".into()),
            }]
        );
        disk[512 + 84..512 + 88].copy_from_slice(&7u32.to_le_bytes());
        assert!(partitions(&mut Memory(disk)).is_err());
    }

    #[test]
    fn gpt_on_a_disk_of_4k_sectors() {
        let mut disk = vec![0u8; 64 * 4096];
        disk[4096..4104].copy_from_slice(b"EFI PART");
        disk[4096 + 72..4096 + 80].copy_from_slice(&2u64.to_le_bytes());
        disk[4096 + 80..4096 + 84].copy_from_slice(&4u32.to_le_bytes());
        disk[4096 + 84..4096 + 88].copy_from_slice(&128u32.to_le_bytes());
        let entry = 2 * 4096;
        disk[entry] = 0xaf;
        disk[entry + 32..entry + 40].copy_from_slice(&6u64.to_le_bytes());
        disk[entry + 40..entry + 48].copy_from_slice(&9u64.to_le_bytes());
        let found = partitions(&mut Memory(disk)).unwrap();
        let spans: Vec<(u32, u64, u64)> =
            found.iter().map(|p| (p.number, p.start, p.len)).collect();
        assert_eq!(spans, [(1, 6 * 4096, 4 * 4096)]);
    }

    #[test]
    fn overlapping_partitions_are_dropped() {
        let mut disk = vec![0u8; 64 * 512];
        mbr_slot(&mut disk, 0, 0, 0x83, 2, 10);
        mbr_slot(&mut disk, 0, 1, 0x83, 2, 10);
        mbr_slot(&mut disk, 0, 2, 0x83, 5, 10);
        mbr_slot(&mut disk, 0, 3, 0x83, 12, 4);
        let found = partitions(&mut Memory(disk)).unwrap();
        let numbers: Vec<u32> = found.iter().map(|p| p.number).collect();
        assert_eq!(numbers, [1, 4]);
    }

    #[test]
    fn blank_and_unrecognised_volumes_differ() {
        let mut mem = Memory(vec![0u8; 8192]);
        assert_eq!(contents(&mut mem, 0).unwrap(), Contents::Blank);
        mem.0[100] = 0x90;
        assert_eq!(contents(&mut mem, 0).unwrap(), Contents::Unknown);
    }

    #[test]
    fn a_bare_filesystem_is_the_whole_disk() {
        let mut disk = vec![0u8; 8192];
        disk[1080] = 0x53;
        disk[1081] = 0xef;
        let mut mem = Memory(disk);
        assert_eq!(partitions(&mut mem).unwrap()[0].number, 0);
        assert_eq!(contents(&mut mem, 0).unwrap(), Contents::Ext);
    }
}
