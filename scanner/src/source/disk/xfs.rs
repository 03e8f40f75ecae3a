//! XFS volumes (v4 and v5, as RHEL-family images put their root on), read
//! without mounting: the superblock gives the geometry; inodes are found
//! from their numbers; a data fork is local (short-form directories,
//! inline links), a list of extents, or a B+tree of extents; directory
//! entries are read from every data block of a directory (block, leaf and
//! node directories alike keep their entries there). Every inode number,
//! block number, count and depth is checked against the volume before it
//! is used; a directory reached twice is not walked again.

use super::device::{BoxedDevice, check_range};
use super::error::DiskError;
use super::partitions::Contents;
use crate::layer::walked::add_walked;
use crate::layer::{LayerBuilder, RawEntry};
use imgscan_sbom::FileKind;
use std::cell::RefCell;
use std::collections::HashSet;
use std::io::{self, Read};

/// Directory data lives below this logical offset; leaf and free-index
/// blocks above it.
const LEAF_OFFSET: u64 = 32 << 30;
/// Deepest directory nesting walked, and deepest extent B+tree.
const MAX_DEPTH: usize = 1024;
const MAX_BTREE_LEVELS: u16 = 9;
/// Most extents one fork may map, and most entries one directory may list.
const MAX_EXTENTS: usize = 1 << 20;
const MAX_DIR_ENTRIES: usize = 1 << 20;
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

/// One mapping of a fork: `count` blocks from logical block `offset` are
/// at filesystem block `block` (an unwritten one reads as zeros).
#[derive(Debug, Clone, Copy)]
struct Extent {
    offset: u64,
    block: u64,
    count: u64,
    unwritten: bool,
}

impl Extent {
    fn unpack(rec: &[u8]) -> Self {
        let hi = u128::from(be64(rec, 0)) << 64 | u128::from(be64(rec, 8));
        Extent {
            unwritten: hi >> 127 != 0,
            offset: ((hi >> 73) & ((1 << 54) - 1)) as u64,
            block: ((hi >> 21) & ((1 << 52) - 1)) as u64,
            count: (hi & ((1 << 21) - 1)) as u64,
        }
    }
}

/// A parsed inode.
struct Inode {
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
        match self.mode & 0o170000 {
            0o040000 => FileKind::Dir,
            0o120000 => FileKind::Symlink,
            0o010000 => FileKind::Fifo,
            0o140000 => FileKind::Socket,
            0o020000 => FileKind::CharDevice,
            0o060000 => FileKind::BlockDevice,
            _ => FileKind::File,
        }
    }
}

/// An opened XFS volume.
pub struct XfsFs {
    disk: RefCell<BoxedDevice>,
    start: u64,
    len: u64,
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
}

impl XfsFs {
    /// Loads the XFS volume `start..start + len` of `disk`. A filesystem
    /// larger than its volume (a truncated image) is refused.
    pub fn load(mut disk: BoxedDevice, start: u64, len: u64) -> Result<Self, DiskError> {
        let mut sb = [0u8; 512];
        check_range(start, sb.len(), disk.size())
            .and_then(|()| disk.read_at(start, &mut sb))
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
            disk: RefCell::new(disk),
            start,
            len,
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
        })
    }

    /// The filesystem UUID, as `blkid` prints it.
    pub fn uuid(&self) -> String {
        let h = hex::encode(self.uuid);
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    }

    /// The volume label.
    pub fn label(&self) -> String {
        self.label.clone()
    }

    fn read(&self, at: u64, buf: &mut [u8]) -> io::Result<()> {
        check_range(at, buf.len(), self.len)
            .map_err(|_| bad(format!("a read at {at} past the volume")))?;
        self.disk.borrow_mut().read_at(self.start + at, buf)
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
            .filter(|&at| at < self.len)
            .ok_or_else(|| bad(format!("block {fsb} lies past the volume")))
    }

    fn inode(&self, ino: u64) -> io::Result<Inode> {
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

    /// The extents of an inode's data fork, sorted by logical offset.
    fn extents(&self, inode: &Inode) -> io::Result<Vec<Extent>> {
        let mut out = Vec::new();
        match inode.format {
            FORMAT_EXTENTS => {
                let n = (inode.nextents as usize).min(inode.fork.len() / 16);
                out.extend(inode.fork.chunks_exact(16).take(n).map(Extent::unpack));
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
        out.sort_by_key(|e| e.offset);
        Ok(out)
    }

    fn btree_block(
        &self,
        fsb: u64,
        level: u16,
        out: &mut Vec<Extent>,
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
            out.extend(recs.chunks_exact(16).map(Extent::unpack));
            return Ok(());
        }
        for i in 0..records {
            self.btree_block(be64(&raw, header + max * 8 + i * 8), level - 1, out, blocks)?;
        }
        Ok(())
    }

    /// Fills `buf` from byte `offset` of a file mapped by `extents`.
    fn read_mapped(&self, extents: &[Extent], offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let mut done = 0;
        while done < buf.len() {
            let at = offset + done as u64;
            let logical = at / self.block;
            let within = at % self.block;
            let take = ((self.block - within) as usize).min(buf.len() - done);
            let part = &mut buf[done..done + take];
            let next = extents.partition_point(|e| e.offset <= logical);
            let mapped = next
                .checked_sub(1)
                .map(|i| extents[i])
                .filter(|e| logical < e.offset + e.count);
            match mapped {
                Some(e) if !e.unwritten => {
                    let fsb = e.block + (logical - e.offset);
                    self.read(self.block_at(fsb)? + within, part)?;
                }
                _ => part.fill(0),
            }
            done += take;
        }
        Ok(())
    }

    /// The entries of a directory: (name, inode number).
    fn list(&self, dir: &Inode) -> io::Result<Vec<(Vec<u8>, u64)>> {
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
        for extent in &extents {
            let mut logical = extent.offset - extent.offset % per;
            while logical < extent.offset + extent.count
                && logical.saturating_mul(self.block) < LEAF_OFFSET
            {
                read += self.dir_block;
                if read > MAX_DIR_BYTES {
                    return Err(bad("a directory larger than is read"));
                }
                self.read_mapped(&extents, logical * self.block, &mut block)?;
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

    /// The inode number `path` names (links are not followed).
    fn lookup(&self, path: &str) -> Option<u64> {
        let mut ino = self.root;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            let dir = self.inode(ino).ok()?;
            if dir.kind() != FileKind::Dir {
                return None;
            }
            ino = self
                .list(&dir)
                .ok()?
                .into_iter()
                .find(|(name, _)| name == part.as_bytes())?
                .1;
        }
        Some(ino)
    }

    /// Whether `path` names something.
    pub fn has(&self, path: &str) -> bool {
        self.lookup(path).is_some()
    }

    /// A small regular file's bytes, if it is there and readable.
    pub fn read_small(&self, path: &str, limit: u64) -> Option<Vec<u8>> {
        let inode = self.inode(self.lookup(path)?).ok()?;
        if inode.kind() != FileKind::File || inode.size > limit {
            return None;
        }
        let mut bytes = Vec::new();
        self.open(&inode).ok()?.read_to_end(&mut bytes).ok()?;
        Some(bytes)
    }

    fn open(&self, inode: &Inode) -> io::Result<FileReader<'_>> {
        let extents = if inode.format == FORMAT_LOCAL {
            Vec::new()
        } else {
            self.extents(inode)?
        };
        Ok(FileReader {
            fs: self,
            extents,
            local: (inode.format == FORMAT_LOCAL).then(|| inode.fork.clone()),
            at: 0,
            size: inode.size,
        })
    }

    fn link_target(&self, inode: &Inode) -> io::Result<Vec<u8>> {
        let size = inode.size.min(4096) as usize;
        if inode.format == FORMAT_LOCAL {
            return Ok(inode.fork.get(..size).unwrap_or(&inode.fork).to_vec());
        }
        let extents = self.extents(inode)?;
        let mut raw = vec![0u8; self.block as usize];
        self.read_mapped(&extents, 0, &mut raw)?;
        // v5 remote links start with a 56-byte header.
        let from = if self.v5 && &raw[..4] == b"XSLM" {
            56
        } else {
            0
        };
        Ok(raw[from..(from + size).min(raw.len())].to_vec())
    }

    /// Adds every entry below the filesystem's root to `builder`, each
    /// name prefixed by `mount` (see [`super::ext::ExtFs::walk`]).
    pub fn walk(&self, mount: &[u8], builder: &mut LayerBuilder<'_>) -> Result<(), DiskError> {
        let mut pending = vec![(
            self.root,
            mount.strip_suffix(b"/").unwrap_or(mount).to_vec(),
            0,
        )];
        let mut seen = HashSet::new();
        while let Some((ino, rel, depth)) = pending.pop() {
            if builder.is_full() {
                break;
            }
            if depth > MAX_DEPTH || !seen.insert(ino) {
                builder.unread(
                    1,
                    &rel,
                    "directory not listed: nested too deep, or reached twice",
                );
                continue;
            }
            let listed = self.inode(ino).and_then(|dir| self.list(&dir));
            let mut children = match listed {
                Ok(children) => children,
                Err(e) if depth == 0 => {
                    return Err(Contents::Xfs.error(format!("cannot list the top directory: {e}")));
                }
                Err(e) => {
                    builder.unreadable(&rel, format!("cannot list directory: {e}"));
                    continue;
                }
            };
            children.sort();
            let mut subdirs = Vec::new();
            for (name, child_ino) in children {
                let mut child = rel.clone();
                if !child.is_empty() {
                    child.push(b'/');
                }
                child.extend_from_slice(&name);
                let inode = match self.inode(child_ino) {
                    Ok(inode) => inode,
                    Err(e) => {
                        builder.unreadable(&child, format!("cannot read its inode: {e}"));
                        continue;
                    }
                };
                let entry = RawEntry {
                    name: &child,
                    kind: inode.kind(),
                    size: if inode.kind() == FileKind::File {
                        inode.size
                    } else {
                        0
                    },
                    mode: u32::from(inode.mode),
                    uid: inode.uid.into(),
                    gid: inode.gid.into(),
                    link: None,
                };
                let descend = add_walked(
                    builder,
                    entry,
                    || self.link_target(&inode),
                    || self.open(&inode),
                );
                if descend {
                    subdirs.push((child_ino, child, depth + 1));
                }
            }
            pending.extend(subdirs.into_iter().rev());
        }
        Ok(())
    }
}

/// A regular file's bytes, read through its extents as they are asked for.
struct FileReader<'a> {
    fs: &'a XfsFs,
    extents: Vec<Extent>,
    local: Option<Vec<u8>>,
    at: u64,
    size: u64,
}

impl Read for FileReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.size.saturating_sub(self.at);
        let take = (buf.len() as u64).min(left).min(1 << 20) as usize;
        if take == 0 {
            return Ok(0);
        }
        match &self.local {
            Some(bytes) => {
                let from = self.at as usize;
                let part = bytes
                    .get(from..from + take)
                    .ok_or_else(|| bad("an inline file larger than its inode"))?;
                buf[..take].copy_from_slice(part);
            }
            None => self
                .fs
                .read_mapped(&self.extents, self.at, &mut buf[..take])?,
        }
        self.at += take as u64;
        Ok(take)
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
        let e = Extent::unpack(&rec);
        assert_eq!(
            (e.offset, e.block, e.count, e.unwritten),
            (5, 1000, 3, true)
        );
    }
}
