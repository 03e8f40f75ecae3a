//! XFS volumes (v4 and v5, as RHEL-family images put their root on), read
//! without mounting: the superblock gives the geometry; inodes are found
//! from their numbers; a data fork is local (short-form directories,
//! inline links), a list of extents, or a B+tree of extents; directory
//! entries are read from every data block of a directory (block, leaf and
//! node directories alike keep their entries there). Every inode number,
//! block number, count and depth is checked against the volume before it
//! is used. Walking is [`super::inode_tree`]'s.

use super::block_map::{BlockMap, Blocks, Content, Run};
use super::device::SharedVolume;
use super::error::DiskError;
use super::inode_tree::{self, InodeTree, MAX_DIR_ENTRIES, Stat};
use super::partitions::Contents;
use super::xfs_log;
use imgscan_sbom::FileKind;
use std::io;

/// Directory data lives below this logical offset; leaf and free-index
/// blocks above it.
const LEAF_OFFSET: u64 = 32 << 30;
/// Deepest extent B+tree.
const MAX_BTREE_LEVELS: u16 = 9;
/// Most extents one fork may map.
const MAX_EXTENTS: usize = 1 << 20;
/// Most bytes of directory blocks read for one directory, and most extent
/// tree blocks read for one fork (a hostile tree can point every branch at
/// the same block).
const MAX_DIR_BYTES: u64 = 256 << 20;
const MAX_TREE_BLOCKS: usize = 1 << 16;
const FORMAT_LOCAL: u8 = 1;
const FORMAT_EXTENTS: u8 = 2;
const FORMAT_BTREE: u8 = 3;

fn be16(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2)
        .map_or(0, |s| u16::from_be_bytes(s.try_into().unwrap()))
}

fn be32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |s| u32::from_be_bytes(s.try_into().unwrap()))
}

fn be64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8)
        .map_or(0, |s| u64::from_be_bytes(s.try_into().unwrap()))
}

fn bad(what: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("XFS: {what}"))
}

/// One packed extent record of a fork: `count` blocks from logical block
/// `logical` are at filesystem block `block`.
fn unpack_extent(rec: &[u8]) -> Run {
    let hi = u128::from(be64(rec, 0)) << 64 | u128::from(be64(rec, 8));
    Run {
        unwritten: hi >> 127 != 0,
        logical: ((hi >> 73) & ((1 << 54) - 1)) as u64,
        block: ((hi >> 21) & ((1 << 52) - 1)) as u64,
        count: (hi & ((1 << 21) - 1)) as u64,
    }
}

/// A parsed inode.
pub struct Inode {
    mode: u16,
    uid: u32,
    gid: u32,
    size: u64,
    format: u8,
    fork: Vec<u8>,
    nextents: u64,
}

impl Inode {
    fn kind(&self) -> FileKind {
        inode_tree::kind_of_mode(self.mode)
    }
}

/// An opened XFS volume.
pub struct XfsFs {
    volume: SharedVolume,
    block: u64,
    agblocks: u64,
    agblklog: u32,
    inopblog: u32,
    inode_size: u64,
    v5: bool,
    ftype: bool,
    big_extents: bool,
    dir_block: u64,
    root: u64,
    uuid: [u8; 16],
    label: String,
    /// The internal log: its first block and its length in blocks (no
    /// block when the log is on another device).
    log: Option<(u64, u64)>,
}

impl XfsFs {
    /// Loads the XFS filesystem of `volume`. A filesystem larger than its
    /// volume (a truncated image) is refused.
    pub fn load(volume: SharedVolume) -> Result<Self, DiskError> {
        let len = volume.size();
        let mut sb = [0u8; 512];
        volume
            .read(0, &mut sb)
            .map_err(|e| Contents::Xfs.error(format!("XFS superblock: {e}")))?;
        if &sb[..4] != b"XFSB" {
            return Err(Contents::Xfs.error("no XFS superblock"));
        }
        let block = u64::from(be32(&sb, 4));
        let version = be16(&sb, 100) & 0xf;
        let (blocklog, inodelog, inopblog, agblklog) = (sb[120], sb[122], sb[123], sb[124]);
        let inode_size = u64::from(be16(&sb, 104));
        let agblocks = u64::from(be32(&sb, 84));
        let agcount = u64::from(be32(&sb, 88));
        let credible = (9..=16).contains(&blocklog)
            && block == 1 << blocklog
            && (8..=11).contains(&inodelog)
            && inode_size == 1 << inodelog
            && u32::from(inopblog) == u32::from(blocklog) - u32::from(inodelog)
            && (1..=31).contains(&agblklog)
            && agblocks > 0
            && agblocks <= 1 << agblklog
            && (version == 4 || version == 5)
            && sb[192] <= 8;
        if !credible {
            return Err(Contents::Xfs.error("XFS superblock with a geometry no mkfs makes"));
        }
        let needed = be64(&sb, 8).saturating_mul(block);
        if needed > len || agcount.saturating_mul(agblocks).saturating_mul(block) < needed {
            return Err(Contents::Xfs.error(format!(
                "the filesystem spans {needed} bytes but its volume holds {len}: the image is truncated"
            )));
        }
        let incompat = be32(&sb, 216);
        let v5 = version == 5;
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(&sb[32..48]);
        let label_bytes = &sb[108..120];
        let label_end = label_bytes.iter().position(|&b| b == 0).unwrap_or(12);
        Ok(XfsFs {
            volume,
            block,
            agblocks,
            agblklog: u32::from(agblklog),
            inopblog: u32::from(inopblog),
            inode_size,
            v5,
            ftype: if v5 {
                incompat & 1 != 0
            } else {
                be32(&sb, 200) & 0x200 != 0
            },
            big_extents: v5 && incompat & 0x20 != 0,
            dir_block: block << sb[192],
            root: be64(&sb, 56),
            uuid,
            label: String::from_utf8_lossy(&label_bytes[..label_end]).into_owned(),
            log: match be64(&sb, 48) {
                0 => None,
                start => Some((start, u64::from(be32(&sb, 96)))),
            },
        })
    }

    /// Why what the walk reads may be older than the filesystem as its
    /// system last saw it: the log holds changes never written back (XFS
    /// logs are not replayed here), or cannot be checked.
    pub fn log_warning(&self) -> Option<String> {
        let Some((start, blocks)) = self.log else {
            return Some(
                "the XFS log is on another device: changes it holds are not seen".to_string(),
            );
        };
        let dirty = self.block_at(start).and_then(|at| {
            let basic = blocks.saturating_mul(self.block) / xfs_log::BASIC_BLOCK;
            xfs_log::is_dirty(basic, |b, buf| {
                self.read(at + b * xfs_log::BASIC_BLOCK, buf)
            })
        });
        match dirty {
            Ok(false) => None,
            Ok(true) => Some(
                "the XFS log holds changes never written to the filesystem (copied from a \
                 running system, or it crashed): files changed last may read as they were; \
                 mount it once, or run xfs_repair, to apply them"
                    .to_string(),
            ),
            Err(e) => Some(format!(
                "the XFS log cannot be checked ({e}): changes it holds are not seen"
            )),
        }
    }

    /// The filesystem UUID, as `blkid` prints it.
    pub fn uuid(&self) -> String {
        inode_tree::uuid_text(&self.uuid)
    }

    /// The volume label.
    pub fn label(&self) -> String {
        self.label.clone()
    }

    fn read(&self, at: u64, buf: &mut [u8]) -> io::Result<()> {
        self.volume
            .read(at, buf)
            .map_err(|_| bad(format!("a read at {at} past the volume")))
    }

    /// The byte a filesystem block number starts at.
    fn block_at(&self, fsb: u64) -> io::Result<u64> {
        let ag = fsb >> self.agblklog;
        let agbno = fsb & ((1 << self.agblklog) - 1);
        if agbno >= self.agblocks {
            return Err(bad(format!("block {fsb} is outside its allocation group")));
        }
        (ag * self.agblocks + agbno)
            .checked_mul(self.block)
            .filter(|&at| at < self.volume.size())
            .ok_or_else(|| bad(format!("block {fsb} lies past the volume")))
    }

    fn read_inode(&self, ino: u64) -> io::Result<Inode> {
        let per_block = self.inopblog;
        let fsb = ino >> per_block;
        let at = self.block_at(fsb)? + (ino & ((1 << per_block) - 1)) * self.inode_size;
        let mut raw = vec![0u8; self.inode_size as usize];
        self.read(at, &mut raw)?;
        if &raw[..2] != b"IN" {
            return Err(bad(format!("inode {ino} has no magic")));
        }
        let core = if raw[4] >= 3 { 176 } else { 100 };
        let forkoff = usize::from(raw[82]) * 8;
        let end = if forkoff > 0 {
            core + forkoff
        } else {
            raw.len()
        };
        let fork = raw
            .get(core..end.min(raw.len()))
            .ok_or_else(|| bad(format!("inode {ino} has a fork offset past its end")))?
            .to_vec();
        Ok(Inode {
            mode: be16(&raw, 2),
            uid: be32(&raw, 8),
            gid: be32(&raw, 12),
            size: be64(&raw, 56),
            format: raw[5],
            nextents: if self.big_extents {
                be64(&raw, 24)
            } else {
                u64::from(be32(&raw, 76))
            },
            fork,
        })
    }

    /// The block map of an inode's data fork.
    fn extents(&self, inode: &Inode) -> io::Result<BlockMap> {
        let mut out = Vec::new();
        match inode.format {
            FORMAT_EXTENTS => {
                let n = (inode.nextents as usize).min(inode.fork.len() / 16);
                out.extend(inode.fork.chunks_exact(16).take(n).map(unpack_extent));
            }
            FORMAT_BTREE => {
                let level = be16(&inode.fork, 0);
                let records = usize::from(be16(&inode.fork, 2));
                let max = inode.fork.len().saturating_sub(4) / 16;
                if level == 0 || level > MAX_BTREE_LEVELS || records > max {
                    return Err(bad("an extent tree root that does not fit its inode"));
                }
                let mut blocks = 0;
                for i in 0..records {
                    let child = be64(&inode.fork, 4 + max * 8 + i * 8);
                    self.btree_block(child, level - 1, &mut out, &mut blocks)?;
                }
            }
            _ => {}
        }
        Ok(BlockMap::new(out))
    }

    fn btree_block(
        &self,
        fsb: u64,
        level: u16,
        out: &mut Vec<Run>,
        blocks: &mut usize,
    ) -> io::Result<()> {
        *blocks += 1;
        if *blocks > MAX_TREE_BLOCKS {
            return Err(bad("an extent tree of more blocks than are read"));
        }
        let mut raw = vec![0u8; self.block as usize];
        self.read(self.block_at(fsb)?, &mut raw)?;
        let (magic, header): (&[u8], usize) = if self.v5 {
            (b"BMA3", 72)
        } else {
            (b"BMAP", 24)
        };
        if &raw[..4] != magic || be16(&raw, 4) != level {
            return Err(bad(format!("extent tree block {fsb} is not one")));
        }
        let records = usize::from(be16(&raw, 6));
        let max = (raw.len() - header) / 16;
        if records > max {
            return Err(bad(format!(
                "extent tree block {fsb} claims {records} records"
            )));
        }
        if level == 0 {
            if out.len() + records > MAX_EXTENTS {
                return Err(bad("more extents than a file may have here"));
            }
            let recs = &raw[header..header + records * 16];
            out.extend(recs.chunks_exact(16).map(unpack_extent));
            return Ok(());
        }
        for i in 0..records {
            self.btree_block(be64(&raw, header + max * 8 + i * 8), level - 1, out, blocks)?;
        }
        Ok(())
    }

    /// The entries of a directory: (name, inode number), paying the
    /// bytes read from `budget`.
    fn list_dir(&self, dir: &Inode, budget: &mut u64) -> io::Result<Vec<(Vec<u8>, u64)>> {
        let mut entries = Vec::new();
        if dir.format == FORMAT_LOCAL {
            let fork = &dir.fork;
            let count = usize::from(fork.first().copied().unwrap_or(0));
            let wide = fork.get(1).copied().unwrap_or(0) > 0;
            let ino_len = if wide { 8 } else { 4 };
            let mut at = 2 + ino_len;
            for _ in 0..count {
                let len = usize::from(
                    *fork
                        .get(at)
                        .ok_or_else(|| bad("short-form directory is cut"))?,
                );
                let name = fork
                    .get(at + 3..at + 3 + len)
                    .ok_or_else(|| bad("short-form directory is cut"))?
                    .to_vec();
                let ino_at = at + 3 + len + usize::from(self.ftype);
                let ino = if wide {
                    be64(fork, ino_at)
                } else {
                    u64::from(be32(fork, ino_at))
                };
                entries.push((name, ino));
                at = ino_at + ino_len;
            }
            return Ok(entries);
        }
        let extents = self.extents(dir)?;
        let mut block = vec![0u8; self.dir_block as usize];
        let per = self.dir_block / self.block;
        let mut read = 0u64;
        for extent in extents.runs() {
            let mut logical = extent.logical - extent.logical % per;
            while logical < extent.logical + extent.count
                && logical.saturating_mul(self.block) < LEAF_OFFSET
            {
                read += self.dir_block;
                if read > MAX_DIR_BYTES || *budget < self.dir_block {
                    return Err(bad("a directory larger than is read"));
                }
                *budget -= self.dir_block;
                extents.read(self, logical * self.block, &mut block)?;
                self.data_entries(&block, &mut entries)?;
                if entries.len() > MAX_DIR_ENTRIES {
                    return Err(bad("a directory of more entries than are read"));
                }
                logical += per;
            }
        }
        Ok(entries)
    }

    /// The entries of one directory data block (a block directory's own
    /// block, or a data block of a leaf or node directory).
    fn data_entries(&self, block: &[u8], entries: &mut Vec<(Vec<u8>, u64)>) -> io::Result<()> {
        let (header, single, data) = if self.v5 {
            (64, b"XDB3", b"XDD3")
        } else {
            (16, b"XD2B", b"XD2D")
        };
        let end = if &block[..4] == single {
            let count = be32(block, block.len() - 8) as usize;
            block.len().saturating_sub(8 + count.saturating_mul(8))
        } else if &block[..4] == data {
            block.len()
        } else {
            return Ok(());
        };
        let mut at = header;
        while at + 9 <= end {
            if be16(block, at) == 0xffff {
                let len = usize::from(be16(block, at + 2));
                if len < 8 {
                    return Err(bad("a free directory span shorter than its header"));
                }
                at += len;
                continue;
            }
            let ino = be64(block, at);
            let len = usize::from(block[at + 8]);
            let name = block
                .get(at + 9..at + 9 + len)
                .ok_or_else(|| bad("a directory entry past its block"))?;
            if !matches!(name, b"." | b"..") {
                entries.push((name.to_vec(), ino));
            }
            let size = 8 + 1 + len + usize::from(self.ftype) + 2;
            at += size.div_ceil(8) * 8;
        }
        Ok(())
    }
}

impl Blocks for XfsFs {
    fn block_size(&self) -> u64 {
        self.block
    }

    fn read_blocks(&self, fsb: u64, within: u64, buf: &mut [u8]) -> io::Result<()> {
        // A read stays inside the allocation group it starts in.
        let count = (within + buf.len() as u64).div_ceil(self.block);
        let agbno = fsb & ((1 << self.agblklog) - 1);
        if agbno + count > self.agblocks {
            return Err(bad(format!(
                "blocks from {fsb} run past their allocation group"
            )));
        }
        self.read(self.block_at(fsb)? + within, buf)
    }
}

impl InodeTree for XfsFs {
    type Inode = Inode;
    const CONTENTS: Contents = Contents::Xfs;

    fn root(&self) -> u64 {
        self.root
    }

    fn volume_size(&self) -> u64 {
        self.volume.size()
    }

    fn inode(&self, ino: u64) -> io::Result<Inode> {
        self.read_inode(ino)
    }

    fn stat(&self, inode: &Inode) -> Stat {
        let kind = inode.kind();
        Stat {
            kind,
            size: if kind == FileKind::File {
                inode.size
            } else {
                0
            },
            mode: u32::from(inode.mode),
            uid: inode.uid.into(),
            gid: inode.gid.into(),
        }
    }

    fn list(&self, dir: &Inode, budget: &mut u64) -> io::Result<Vec<(Vec<u8>, u64)>> {
        if dir.kind() != FileKind::Dir {
            return Err(bad("not a directory"));
        }
        self.list_dir(dir, budget)
    }

    fn link_target(&self, inode: &Inode) -> io::Result<Vec<u8>> {
        let size = inode.size.min(4096) as usize;
        if inode.format == FORMAT_LOCAL {
            return Ok(inode.fork.get(..size).unwrap_or(&inode.fork).to_vec());
        }
        let extents = self.extents(inode)?;
        let mut raw = vec![0u8; self.block as usize];
        extents.read(self, 0, &mut raw)?;
        // v5 remote links start with a 56-byte header.
        let from = if self.v5 && &raw[..4] == b"XSLM" {
            56
        } else {
            0
        };
        Ok(raw[from..(from + size).min(raw.len())].to_vec())
    }

    fn content(&self, file: &Inode, _limit: u64) -> io::Result<Content> {
        Ok(if file.format == FORMAT_LOCAL {
            Content::Inline(file.fork.clone())
        } else {
            Content::Mapped(self.extents(file)?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extent_records_unpack() {
        // offset 5, block 1000, 3 blocks, unwritten.
        let v: u128 = (1 << 127) | (5u128 << 73) | (1000u128 << 21) | 3;
        let mut rec = [0u8; 16];
        rec.copy_from_slice(&v.to_be_bytes());
        let e = unpack_extent(&rec);
        assert_eq!(
            (e.logical, e.block, e.count, e.unwritten),
            (5, 1000, 3, true)
        );
    }
}
