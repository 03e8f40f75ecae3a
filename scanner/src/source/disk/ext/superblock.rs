//! The ext2/3/4 superblock: the geometry (block size, groups, inode size),
//! the features that change how the rest is read, and the checks that a
//! hostile one cannot make the reader allocate or seek without bound.

use super::{le16, le32};
use std::io;

/// Most block groups a filesystem may have (a 4 TiB volume of 4 KiB
/// blocks has 32,768).
const MAX_GROUPS: u64 = 1 << 20;

/// Incompatible features: how the metadata is laid out. Compression
/// (0x1), a journal device (0x8) and Lustre's dirdata (0x1000) are the
/// ones not read.
pub mod incompat {
    pub const FILETYPE: u32 = 0x2;
    pub const RECOVER: u32 = 0x4;
    pub const META_BG: u32 = 0x10;
    pub const EXTENTS: u32 = 0x40;
    pub const BIT64: u32 = 0x80;
    pub const MMP: u32 = 0x100;
    pub const FLEX_BG: u32 = 0x200;
    pub const EA_INODE: u32 = 0x400;
    pub const CSUM_SEED: u32 = 0x2000;
    pub const LARGEDIR: u32 = 0x4000;
    pub const INLINE_DATA: u32 = 0x8000;
    pub const ENCRYPT: u32 = 0x1_0000;
    pub const CASEFOLD: u32 = 0x2_0000;
    /// Everything this reader understands.
    pub const KNOWN: u32 = FILETYPE
        | RECOVER
        | META_BG
        | EXTENTS
        | BIT64
        | MMP
        | FLEX_BG
        | EA_INODE
        | CSUM_SEED
        | LARGEDIR
        | INLINE_DATA
        | ENCRYPT
        | CASEFOLD;
}

/// The compatible feature that says a journal is kept.
const HAS_JOURNAL: u32 = 0x4;
/// The read-only feature that makes group descriptors sparse.
const SPARSE_SUPER: u32 = 0x1;

/// What the reader takes from the superblock.
#[derive(Debug, Clone)]
pub struct Superblock {
    pub block_size: u64,
    pub blocks: u64,
    pub first_data_block: u64,
    pub blocks_per_group: u64,
    pub inodes_per_group: u64,
    pub inodes: u64,
    pub inode_size: u64,
    pub desc_size: u64,
    pub groups: u64,
    pub first_meta_bg: u64,
    pub incompat: u32,
    pub sparse_super: bool,
    pub journal_inode: Option<u64>,
    pub uuid: [u8; 16],
    pub label: String,
}

impl Superblock {
    /// Parses the 1024 bytes at byte 1024 of the volume.
    pub fn parse(sb: &[u8; 1024]) -> io::Result<Self> {
        let bad = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
        if le16(sb, 0x38) != 0xEF53 {
            return Err(bad("no ext superblock".into()));
        }
        let log_block = le32(sb, 0x18);
        if log_block > 6 {
            return Err(bad(format!(
                "ext block size 2^{} is out of range",
                10 + log_block
            )));
        }
        let block_size = 1024 << log_block;
        let incompat = le32(sb, 0x60) as u32;
        let unknown = incompat & !incompat::KNOWN;
        if unknown != 0 {
            return Err(bad(format!(
                "ext incompatible features {unknown:#x} are not read (compression, a journal device or Lustre's dirdata)"
            )));
        }
        let wide = incompat & incompat::BIT64 != 0;
        let blocks = le32(sb, 0x4) | if wide { le32(sb, 0x150) << 32 } else { 0 };
        let first_data_block = le32(sb, 0x14);
        let blocks_per_group = le32(sb, 0x20);
        let inodes_per_group = le32(sb, 0x28);
        let groups = blocks
            .saturating_sub(first_data_block)
            .div_ceil(blocks_per_group.max(1));
        if blocks_per_group < 8 || groups > MAX_GROUPS {
            return Err(bad(format!(
                "ext superblock with {blocks} blocks in groups of {blocks_per_group} is not credible"
            )));
        }
        let inodes = le32(sb, 0x0);
        if inodes_per_group == 0 || inodes_per_group > 8 * block_size {
            return Err(bad(format!(
                "ext superblock with {inodes_per_group} inodes a group is not credible"
            )));
        }
        let inode_size = if le32(sb, 0x4C) == 0 {
            128
        } else {
            le16(sb, 0x58)
        };
        if inode_size < 128 || inode_size > block_size || !inode_size.is_power_of_two() {
            return Err(bad(format!("ext inode size {inode_size} is not credible")));
        }
        let desc_size = if wide { le16(sb, 0xFE) } else { 32 };
        if desc_size < 32 || desc_size > block_size || !desc_size.is_power_of_two() {
            return Err(bad(format!(
                "ext group descriptor size {desc_size} is not credible"
            )));
        }
        let journal = le32(sb, 0x5C) as u32 & HAS_JOURNAL != 0;
        let journal_inode = le32(sb, 0xE0);
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(&sb[0x68..0x78]);
        let label = &sb[0x78..0x88];
        let label = &label[..label.iter().position(|&b| b == 0).unwrap_or(16)];
        Ok(Superblock {
            block_size,
            blocks,
            first_data_block,
            blocks_per_group,
            inodes_per_group,
            inodes,
            inode_size,
            desc_size,
            groups,
            first_meta_bg: le32(sb, 0x104),
            incompat,
            sparse_super: le32(sb, 0x64) as u32 & SPARSE_SUPER != 0,
            journal_inode: (journal && journal_inode != 0).then_some(journal_inode),
            uuid,
            label: String::from_utf8_lossy(label).into_owned(),
        })
    }

    /// Whether an incompatible feature is set.
    pub fn has(&self, feature: u32) -> bool {
        self.incompat & feature != 0
    }

    /// The bytes the filesystem spans.
    pub fn span(&self) -> u64 {
        self.blocks.saturating_mul(self.block_size)
    }

    /// The volume block of the group descriptor of `group`.
    pub fn descriptor_block(&self, group: u64) -> u64 {
        let per_block = self.block_size / self.desc_size;
        let meta_group = group / per_block;
        // The block the superblock is in (block 1 of 1 KiB blocks, even
        // when clusters make the first data block 0).
        let super_block = 1024 / self.block_size;
        if !self.has(incompat::META_BG) || meta_group < self.first_meta_bg {
            return super_block + 1 + meta_group;
        }
        // A meta group keeps its descriptors in its own first group,
        // after the superblock copy if that group has one.
        let first = meta_group * per_block;
        let start = self.first_data_block + first * self.blocks_per_group;
        let skip = if first == 0 {
            super_block + 1 - self.first_data_block
        } else {
            u64::from(self.has_super_copy(first))
        };
        start + skip
    }

    /// Whether `group` starts with a copy of the superblock.
    fn has_super_copy(&self, group: u64) -> bool {
        if group <= 1 || !self.sparse_super {
            return true;
        }
        [3u64, 5, 7].iter().any(|&base| {
            let mut power = base;
            while power < group {
                power *= base;
            }
            power == group
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sparse() -> Superblock {
        let mut sb = [0u8; 1024];
        sb[0x38..0x3A].copy_from_slice(&0xEF53u16.to_le_bytes());
        sb[0x4..0x8].copy_from_slice(&65536u32.to_le_bytes());
        sb[0x18] = 2; // 4 KiB blocks
        sb[0x20..0x24].copy_from_slice(&32768u32.to_le_bytes());
        sb[0x28..0x2C].copy_from_slice(&8192u32.to_le_bytes());
        sb[0x64] = 1;
        Superblock::parse(&sb).unwrap()
    }

    #[test]
    fn sparse_groups_hold_copies_at_powers_of_three_five_and_seven() {
        let sb = sparse();
        let copies: Vec<u64> = (0..60).filter(|&g| sb.has_super_copy(g)).collect();
        assert_eq!(copies, [0, 1, 3, 5, 7, 9, 25, 27, 49]);
        assert_eq!((sb.groups, sb.inode_size, sb.desc_size), (2, 128, 32));
    }

    #[test]
    fn hostile_geometry_is_refused() {
        let mut sb = [0u8; 1024];
        sb[0x38..0x3A].copy_from_slice(&0xEF53u16.to_le_bytes());
        sb[0x18] = 9;
        assert!(Superblock::parse(&sb).is_err());
        sb[0x18] = 0;
        sb[0x4..0x8].copy_from_slice(&u32::MAX.to_le_bytes());
        sb[0x20..0x24].copy_from_slice(&8u32.to_le_bytes());
        assert!(Superblock::parse(&sb).is_err());
    }
}
