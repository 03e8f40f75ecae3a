//! An ext2/3/4 filesystem inside a disk, read without mounting: the
//! superblock gives the geometry, group descriptors the inode tables,
//! inodes are found from their numbers, a file's blocks from its extent
//! tree or block pointers (or its inode, for inline data), and directory
//! entries from every block of a directory (hash-indexed ones keep theirs
//! there too). A journal with committed transactions is replayed in
//! memory first. Every block number is checked against the filesystem
//! before it is read; walking is [`super::inode_tree`]'s.

mod dir;
mod inode;
mod journal;
mod mapping;
mod superblock;

use super::block_map::{Blocks, Content};
use super::device::SharedVolume;
use super::error::DiskError;
use super::inode_tree::{self, InodeTree, MAX_DIR_ENTRIES, Stat};
use super::partitions::Contents;
use imgscan_sbom::FileKind;
use inode::{ENCRYPT_FL, INLINE_DATA_FL, Inode};
use journal::Overlay;
use std::io::{self, Read};
use superblock::{Superblock, incompat};

/// Longest link target read.
const MAX_LINK: u64 = 4096;
/// The root directory's inode number.
const ROOT: u64 = 2;

/// The little-endian 16-bit field at `at` (ext's fields are all
/// little-endian; callers check `at` against the structure's size).
fn le16(b: &[u8], at: usize) -> u64 {
    u64::from(u16::from_le_bytes([b[at], b[at + 1]]))
}

/// The little-endian 32-bit field at `at`.
fn le32(b: &[u8], at: usize) -> u64 {
    u64::from(u32::from_le_bytes(b[at..at + 4].try_into().unwrap()))
}

fn bad(what: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("ext: {what}"))
}

/// An opened ext filesystem.
pub struct ExtFs {
    volume: SharedVolume,
    sb: Superblock,
    /// The first block of each group's inode table.
    inode_tables: Vec<u64>,
    /// Blocks replaced by the journal's committed transactions.
    overlay: Overlay,
}

impl ExtFs {
    /// Loads the filesystem of `volume`. A filesystem larger than its
    /// volume (a truncated image) is refused.
    pub fn load(volume: SharedVolume) -> Result<Self, DiskError> {
        let len = volume.size();
        let error = |e: io::Error| Contents::Ext.error(e.to_string());
        let mut raw = [0u8; 1024];
        volume.read(1024, &mut raw).map_err(error)?;
        let sb = Superblock::parse(&raw).map_err(error)?;
        if sb.span() > len {
            return Err(Contents::Ext.error(format!(
                "the filesystem spans {} bytes but its volume holds {len}: the image is truncated",
                sb.span()
            )));
        }
        let mut fs = ExtFs {
            volume,
            sb,
            inode_tables: Vec::new(),
            overlay: Overlay::new(),
        };
        fs.inode_tables = fs.read_inode_tables().map_err(error)?;
        if fs.sb.has(incompat::RECOVER) {
            fs.overlay = fs.replay_journal().map_err(|e| {
                Contents::Ext.error(format!("the journal needs replaying and cannot be: {e}"))
            })?;
        }
        Ok(fs)
    }

    /// Each group's inode table, from the group descriptors.
    fn read_inode_tables(&self) -> io::Result<Vec<u64>> {
        let (desc_size, block) = (self.sb.desc_size as usize, self.sb.block_size);
        let per_block = block / self.sb.desc_size;
        let mut tables = Vec::with_capacity(self.sb.groups as usize);
        let mut raw = vec![0u8; block as usize];
        for group in 0..self.sb.groups {
            if group % per_block == 0 {
                self.read_blocks(self.sb.descriptor_block(group), 0, &mut raw)?;
            }
            let at = (group % per_block) as usize * desc_size;
            let d = &raw[at..at + desc_size];
            let low = le32(d, 8);
            let high = if desc_size >= 64 { le32(d, 0x28) } else { 0 };
            tables.push(high << 32 | low);
        }
        Ok(tables)
    }

    /// The journal's committed blocks, read before any overlay exists.
    fn replay_journal(&self) -> io::Result<Overlay> {
        let ino = self
            .sb
            .journal_inode
            .ok_or_else(|| bad("the journal is on another device"))?;
        let inode = self.inode(ino)?;
        // Map no more of it than a replay walks.
        let length = (inode.size / self.sb.block_size).min(journal::MAX_JOURNAL_BLOCKS);
        let map = mapping::map(self, &inode, length)?;
        journal::replay(self, &map, length)
    }

    /// The filesystem UUID, as `blkid` prints it.
    pub fn uuid(&self) -> String {
        inode_tree::uuid_text(&self.sb.uuid)
    }

    /// The volume label.
    pub fn label(&self) -> String {
        self.sb.label.clone()
    }

    /// Where a file's first `bytes` bytes are.
    fn blocks_of(&self, inode: &Inode, bytes: u64) -> io::Result<Content> {
        if inode.has(INLINE_DATA_FL) {
            return Ok(Content::Inline(inode.inline_bytes()));
        }
        let blocks = bytes.div_ceil(self.sb.block_size);
        mapping::map(self, inode, blocks).map(Content::Mapped)
    }

    /// Refuses a file or directory whose bytes are encrypted.
    fn readable(inode: &Inode) -> io::Result<()> {
        if inode.has(ENCRYPT_FL) {
            return Err(io::Error::other(
                "encrypted (fscrypt); its content is not read",
            ));
        }
        Ok(())
    }
}

impl Blocks for ExtFs {
    fn block_size(&self) -> u64 {
        self.sb.block_size
    }

    fn read_blocks(&self, block: u64, within: u64, buf: &mut [u8]) -> io::Result<()> {
        let size = self.sb.block_size;
        let count = (within + buf.len() as u64).div_ceil(size);
        if block
            .checked_add(count)
            .is_none_or(|end| end > self.sb.blocks)
        {
            return Err(bad(format!("block {block} lies past the filesystem")));
        }
        if self.overlay.range(block..block + count).next().is_none() {
            return self.volume.read(block * size + within, buf);
        }
        // Some blocks have newer copies in the journal: read block by block.
        let mut whole = vec![0u8; size as usize];
        let mut done = 0;
        let mut at = within;
        for b in block..block + count {
            let take = ((size - at) as usize).min(buf.len() - done);
            match self.overlay.get(&b) {
                Some(copy) => {
                    if copy.at >= self.sb.blocks {
                        return Err(bad(format!(
                            "the journal's copy of block {b} lies past the filesystem"
                        )));
                    }
                    self.volume.read(copy.at * size, &mut whole)?;
                    copy.restore(&mut whole);
                    buf[done..done + take].copy_from_slice(&whole[at as usize..at as usize + take]);
                }
                None => self
                    .volume
                    .read(b * size + at, &mut buf[done..done + take])?,
            }
            done += take;
            at = 0;
        }
        Ok(())
    }
}

impl InodeTree for ExtFs {
    type Inode = Inode;
    const CONTENTS: Contents = Contents::Ext;

    fn root(&self) -> u64 {
        ROOT
    }

    fn volume_size(&self) -> u64 {
        self.volume.size()
    }

    fn inode(&self, ino: u64) -> io::Result<Inode> {
        if ino == 0 || ino > self.sb.inodes {
            return Err(bad(format!("inode {ino} is out of range")));
        }
        let index = ino - 1;
        let group = (index / self.sb.inodes_per_group) as usize;
        let table = *self
            .inode_tables
            .get(group)
            .ok_or_else(|| bad(format!("inode {ino} is in no group")))?;
        let at = (index % self.sb.inodes_per_group) * self.sb.inode_size;
        let block = table.saturating_add(at / self.sb.block_size);
        let within = at % self.sb.block_size;
        let mut raw = vec![0u8; self.sb.inode_size as usize];
        self.read_blocks(block, within, &mut raw)?;
        Inode::parse(ino, &raw, self.sb.block_size)
    }

    fn stat(&self, inode: &Inode) -> Stat {
        Stat {
            kind: inode.kind(),
            size: inode.size,
            mode: u32::from(inode.mode),
            uid: inode.uid.into(),
            gid: inode.gid.into(),
        }
    }

    fn list(&self, dir: &Inode, budget: &mut u64) -> io::Result<Vec<(Vec<u8>, u64)>> {
        Self::readable(dir)?;
        if dir.kind() != FileKind::Dir {
            return Err(bad(format!("inode {} is not a directory", dir.ino)));
        }
        let typed = self.sb.has(incompat::FILETYPE);
        let mut entries = Vec::new();
        if dir.has(INLINE_DATA_FL) {
            // Four bytes of parent inode number, then entries; the rest
            // continue in system.data.
            dir::entries(&dir.i_block[4..], self.sb.block_size, typed, &mut entries)?;
            dir::entries(&dir.inline_rest, self.sb.block_size, typed, &mut entries)?;
            return Ok(entries);
        }
        let size = self.sb.block_size;
        if dir.size > *budget {
            return Err(bad(format!(
                "a directory of {} bytes is more than is left to read",
                dir.size
            )));
        }
        *budget -= dir.size;
        let blocks = dir.size.div_ceil(size);
        let Content::Mapped(map) = self.blocks_of(dir, dir.size)? else {
            unreachable!("only inline directories are kept in the inode");
        };
        let mut raw = vec![0u8; size as usize];
        for logical in 0..blocks {
            map.read(self, logical * size, &mut raw)?;
            dir::entries(&raw, size, typed, &mut entries)?;
            if entries.len() > MAX_DIR_ENTRIES {
                return Err(bad(format!("more than {MAX_DIR_ENTRIES} entries")));
            }
        }
        Ok(entries)
    }

    fn link_target(&self, link: &Inode) -> io::Result<Vec<u8>> {
        let size = link.size.min(MAX_LINK) as usize;
        if link.is_fast_link() {
            return Ok(link.i_block[..size].to_vec());
        }
        Self::readable(link)?;
        let mut target = Vec::with_capacity(size);
        inode_tree::open(self, link, size as u64)?.read_to_end(&mut target)?;
        Ok(target)
    }

    fn content(&self, file: &Inode, limit: u64) -> io::Result<Content> {
        Self::readable(file)?;
        self.blocks_of(file, file.size.min(limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::disk::device::Memory;

    #[test]
    fn a_blank_volume_is_not_an_ext_filesystem() {
        let disk = Box::new(Memory(vec![0u8; 8192]));
        assert!(ExtFs::load(SharedVolume::new(disk, 0, 8192)).is_err());
    }
}
