//! One ext inode: its type, owner and size, its flags, the 60 bytes of
//! `i_block` (an extent tree's root, block pointers, a fast link's target
//! or inline data) and, for inline data, the rest kept in the inode's
//! `system.data` extended attribute.

use super::{le16, le32};
use crate::source::disk::inode_tree::kind_of_mode;
use imgscan_sbom::FileKind;
use std::io;

/// The file's blocks are mapped by an extent tree.
pub const EXTENTS_FL: u32 = 0x8_0000;
/// The file's bytes are kept in the inode.
pub const INLINE_DATA_FL: u32 = 0x1000_0000;
/// The file's bytes (and a directory's names) are encrypted.
pub const ENCRYPT_FL: u32 = 0x800;
/// Bytes of `i_block`.
pub const I_BLOCK_BYTES: usize = 60;
/// The magic of the extended attributes kept in an inode.
const XATTR_MAGIC: u32 = 0xEA02_0000;
/// The `system.` attribute name prefix's index.
const XATTR_SYSTEM: u8 = 7;

/// A parsed inode.
#[derive(Debug, Clone)]
pub struct Inode {
    pub ino: u64,
    pub mode: u16,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub flags: u32,
    /// 512-byte sectors held, less an extended attribute block's.
    pub data_sectors: u64,
    pub i_block: [u8; I_BLOCK_BYTES],
    /// An inline file's bytes past `i_block` (its `system.data`).
    pub inline_rest: Vec<u8>,
}

impl Inode {
    /// Parses inode `ino` from its on-disk bytes (at least 128).
    pub fn parse(ino: u64, raw: &[u8], block_size: u64) -> io::Result<Self> {
        let mode = le16(raw, 0) as u16;
        let flags = le32(raw, 0x20) as u32;
        let size = le32(raw, 0x4) | le32(raw, 0x6C) << 32;
        let sectors = le32(raw, 0x1C) | le16(raw, 0x74) << 32;
        let acl_block = le32(raw, 0x68) | le16(raw, 0x76) << 32;
        let acl_sectors = if acl_block != 0 { block_size / 512 } else { 0 };
        let mut i_block = [0u8; I_BLOCK_BYTES];
        i_block.copy_from_slice(&raw[0x28..0x28 + I_BLOCK_BYTES]);
        let inline_rest = if flags & INLINE_DATA_FL != 0 {
            system_data(raw).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("inode {ino} keeps inline data with no readable system.data"),
                )
            })?
        } else {
            Vec::new()
        };
        Ok(Inode {
            ino,
            mode,
            uid: (le16(raw, 0x2) | le16(raw, 0x78) << 16) as u32,
            gid: (le16(raw, 0x18) | le16(raw, 0x7A) << 16) as u32,
            size,
            flags,
            data_sectors: sectors.saturating_sub(acl_sectors),
            i_block,
            inline_rest,
        })
    }

    /// The file type its mode gives.
    pub fn kind(&self) -> FileKind {
        kind_of_mode(self.mode)
    }

    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    /// Whether a link keeps its target in `i_block` (a "fast" link).
    pub fn is_fast_link(&self) -> bool {
        !self.has(EXTENTS_FL | INLINE_DATA_FL)
            && self.size < I_BLOCK_BYTES as u64
            && self.data_sectors == 0
    }

    /// An inline file's bytes: `i_block`, then `system.data`.
    pub fn inline_bytes(&self) -> Vec<u8> {
        let mut bytes = self.i_block.to_vec();
        bytes.extend_from_slice(&self.inline_rest);
        bytes
    }
}

/// The value of the `system.data` attribute kept in the inode, if any
/// (empty when there is none: the data fits `i_block`).
fn system_data(raw: &[u8]) -> Option<Vec<u8>> {
    if raw.len() <= 128 {
        return Some(Vec::new());
    }
    let extra = le16(raw, 0x80) as usize;
    let start = 128 + extra;
    if start + 4 > raw.len() || le32(raw, start) != u64::from(XATTR_MAGIC) {
        return Some(Vec::new());
    }
    let table = start + 4;
    let mut at = table;
    while at + 16 <= raw.len() && le32(raw, at) != 0 {
        let name_len = usize::from(raw[at]);
        let index = raw[at + 1];
        let value_at = le16(raw, at + 2) as usize;
        let value_inode = le32(raw, at + 4);
        let value_len = le32(raw, at + 8) as usize;
        let name = raw.get(at + 16..at + 16 + name_len)?;
        if index == XATTR_SYSTEM && name == b"data" {
            if value_inode != 0 {
                return None;
            }
            let from = table.checked_add(value_at)?;
            return raw
                .get(from..from.checked_add(value_len)?)
                .map(<[u8]>::to_vec);
        }
        at += (16 + name_len).div_ceil(4) * 4;
    }
    Some(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_data_continues_in_system_data() {
        let mut raw = vec![0u8; 256];
        raw[0..2].copy_from_slice(&0o100644u16.to_le_bytes());
        raw[0x4..0x8].copy_from_slice(&70u32.to_le_bytes());
        raw[0x20..0x24].copy_from_slice(&INLINE_DATA_FL.to_le_bytes());
        raw[0x28..0x28 + 60].fill(b'a');
        raw[0x80..0x82].copy_from_slice(&32u16.to_le_bytes());
        let table = 128 + 32 + 4;
        raw[160..164].copy_from_slice(&XATTR_MAGIC.to_le_bytes());
        // One entry, "data" in the system namespace, 10 bytes at 64.
        raw[table] = 4;
        raw[table + 1] = XATTR_SYSTEM;
        raw[table + 2..table + 4].copy_from_slice(&64u16.to_le_bytes());
        raw[table + 8..table + 12].copy_from_slice(&10u32.to_le_bytes());
        raw[table + 16..table + 20].copy_from_slice(b"data");
        raw[table + 64..table + 74].fill(b'b');
        let inode = Inode::parse(12, &raw, 4096).unwrap();
        let bytes = inode.inline_bytes();
        assert_eq!(bytes.len(), 70);
        assert!(bytes[..60].iter().all(|&b| b == b'a') && bytes[60..].iter().all(|&b| b == b'b'));
        // A value said to lie past the inode is refused, not read.
        raw[table + 8..table + 12].copy_from_slice(&1000u32.to_le_bytes());
        assert!(Inode::parse(12, &raw, 4096).is_err());
    }
}
