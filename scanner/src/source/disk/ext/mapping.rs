//! Where an ext file's blocks are, from its inode: an extent tree (ext4)
//! or direct and indirect block pointers (ext2/3), turned into a
//! [`BlockMap`] covering the blocks that will be read. Tree depth, blocks
//! read and runs made are bounded: a hostile tree can point every branch
//! at the same block.

use super::inode::{EXTENTS_FL, I_BLOCK_BYTES, Inode};
use super::{le16, le32};
use crate::source::disk::block_map::{BlockMap, Blocks, Run};
use std::io;

/// The magic that opens every extent tree node.
const EXTENT_MAGIC: u16 = 0xF30A;
/// Deepest extent tree (ext4 allows 5 levels below the root).
const MAX_EXTENT_DEPTH: u16 = 5;
/// Most tree or indirect blocks read to map one file.
const MAX_TREE_BLOCKS: usize = 1 << 16;
/// Most runs one file's map may have.
const MAX_RUNS: usize = 1 << 20;
/// An extent longer than this is unwritten (preallocated).
const INIT_MAX_LEN: u64 = 32768;

fn bad(ino: u64, what: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("inode {ino}: {what}"))
}

/// The map of the first `blocks` logical blocks of `inode` (more may be
/// mapped when an extent straddles the end).
pub fn map(fs: &dyn Blocks, inode: &Inode, blocks: u64) -> io::Result<BlockMap> {
    let mut mapper = Mapper {
        fs,
        ino: inode.ino,
        blocks,
        runs: Vec::new(),
        read: 0,
    };
    if blocks == 0 {
        return Ok(BlockMap::default());
    }
    if inode.has(EXTENTS_FL) {
        mapper.extent_node(&inode.i_block, None)?;
    } else {
        mapper.pointers(&inode.i_block)?;
    }
    Ok(BlockMap::new(mapper.runs))
}

struct Mapper<'a> {
    fs: &'a dyn Blocks,
    ino: u64,
    /// Logical blocks wanted.
    blocks: u64,
    runs: Vec<Run>,
    /// Tree blocks read so far.
    read: usize,
}

impl Mapper<'_> {
    fn block(&mut self, block: u64) -> io::Result<Vec<u8>> {
        self.read += 1;
        if self.read > MAX_TREE_BLOCKS {
            return Err(bad(self.ino, "a block map of more blocks than are read"));
        }
        let mut raw = vec![0u8; self.fs.block_size() as usize];
        self.fs.read_blocks(block, 0, &mut raw)?;
        Ok(raw)
    }

    fn push(&mut self, run: Run) -> io::Result<()> {
        if let Some(last) = self.runs.last_mut()
            && last.logical + last.count == run.logical
            && last.block + last.count == run.block
            && last.unwritten == run.unwritten
        {
            last.count += run.count;
            return Ok(());
        }
        if self.runs.len() >= MAX_RUNS {
            return Err(bad(self.ino, "more extents than a file may have here"));
        }
        self.runs.push(run);
        Ok(())
    }

    /// One extent tree node (the root in `i_block`, or a tree block);
    /// `depth` is what its parent says it must be.
    fn extent_node(&mut self, node: &[u8], depth: Option<u16>) -> io::Result<()> {
        let entries = le16(node, 2) as usize;
        let max = le16(node, 4) as usize;
        let here = le16(node, 6) as u16;
        let room = (node.len() - 12) / 12;
        if le16(node, 0) as u16 != EXTENT_MAGIC
            || entries > max
            || max > room
            || here > MAX_EXTENT_DEPTH
            || depth.is_some_and(|d| d != here)
        {
            return Err(bad(self.ino, "an extent tree node that is not one"));
        }
        for i in 0..entries {
            let e = &node[12 + i * 12..24 + i * 12];
            let logical = le32(e, 0);
            if logical >= self.blocks {
                break;
            }
            if here == 0 {
                let len = le16(e, 4);
                let (count, unwritten) = if len > INIT_MAX_LEN {
                    (len - INIT_MAX_LEN, true)
                } else {
                    (len, false)
                };
                let block = le16(e, 6) << 32 | le32(e, 8);
                self.push(Run {
                    logical,
                    block,
                    count,
                    unwritten,
                })?;
            } else {
                let child = le16(e, 8) << 32 | le32(e, 4);
                let raw = self.block(child)?;
                self.extent_node(&raw, Some(here - 1))?;
            }
        }
        Ok(())
    }

    /// The twelve direct pointers and the three indirect trees.
    fn pointers(&mut self, i_block: &[u8; I_BLOCK_BYTES]) -> io::Result<()> {
        let per_block = self.fs.block_size() / 4;
        for i in 0..12u64 {
            self.pointer(le32(i_block, i as usize * 4), i, 0)?;
        }
        let mut logical = 12;
        for level in 1..=3u32 {
            let pointer = le32(i_block, (11 + level as usize) * 4);
            self.pointer(pointer, logical, level)?;
            logical += per_block.pow(level);
        }
        Ok(())
    }

    /// The blocks a pointer maps from `logical` on, through `level`
    /// levels of indirection (0: the pointer is the data block).
    fn pointer(&mut self, pointer: u64, logical: u64, level: u32) -> io::Result<()> {
        if pointer == 0 || logical >= self.blocks {
            return Ok(());
        }
        if level == 0 {
            return self.push(Run {
                logical,
                block: pointer,
                count: 1,
                unwritten: false,
            });
        }
        let per_block = self.fs.block_size() / 4;
        let span = per_block.pow(level - 1);
        let raw = self.block(pointer)?;
        for i in 0..per_block {
            let child = logical + i * span;
            if child >= self.blocks {
                break;
            }
            self.pointer(le32(&raw, i as usize * 4), child, level - 1)?;
        }
        Ok(())
    }
}
