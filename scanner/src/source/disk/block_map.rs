//! Where a file's bytes lie on a filesystem (ext and XFS alike): runs of
//! logical blocks mapped to volume blocks, sorted, and a reader that
//! streams a file through them. Unmapped blocks (holes) and unwritten
//! ones read as zeros; the filesystem checks every volume block it is
//! asked for.

use std::io::{self, Read};
use std::sync::Arc;

/// A filesystem's blocks, as its files' maps read them.
pub trait Blocks: Sync {
    /// Bytes to a block.
    fn block_size(&self) -> u64;
    /// Fills `buf` from byte `within` of volume block `block` on (a read
    /// may run into the blocks that follow).
    fn read_blocks(&self, block: u64, within: u64, buf: &mut [u8]) -> io::Result<()>;
}

/// `count` blocks from logical block `logical` of a file lie at volume
/// block `block` (unwritten ones read as zeros).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// The first logical block of the file mapped.
    pub logical: u64,
    /// The volume block it lies at.
    pub block: u64,
    /// How many blocks follow on both sides.
    pub count: u64,
    /// Allocated but never written: reads as zeros.
    pub unwritten: bool,
}

/// A file's runs, sorted by logical block.
#[derive(Debug, Default)]
pub struct BlockMap {
    runs: Vec<Run>,
}

impl BlockMap {
    /// The map of `runs`, in any order.
    pub fn new(mut runs: Vec<Run>) -> Self {
        runs.sort_by_key(|r| r.logical);
        BlockMap { runs }
    }

    /// The runs, by logical block.
    pub fn runs(&self) -> &[Run] {
        &self.runs
    }

    /// The volume block holding logical block `logical`, if it is
    /// mapped and written.
    pub fn block_of(&self, logical: u64) -> Option<u64> {
        let next = self.runs.partition_point(|r| r.logical <= logical);
        let run = self.runs[..next].last()?;
        (logical - run.logical < run.count && !run.unwritten)
            .then(|| run.block + (logical - run.logical))
    }

    /// Fills `buf` from byte `offset` of the file, a run at a time.
    pub fn read(&self, fs: &dyn Blocks, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let block = fs.block_size();
        let mut done = 0;
        while done < buf.len() {
            let at = offset + done as u64;
            let (logical, within) = (at / block, at % block);
            let left = (buf.len() - done) as u64;
            let next = self.runs.partition_point(|r| r.logical <= logical);
            let run = next
                .checked_sub(1)
                .map(|i| self.runs[i])
                .filter(|r| logical - r.logical < r.count);
            // Bytes from `at` to the end of its run or hole.
            let span = match run {
                Some(r) => (r.count - (logical - r.logical)).saturating_mul(block),
                None => self
                    .runs
                    .get(next)
                    .map_or(u64::MAX, |r| (r.logical - logical).saturating_mul(block)),
            };
            let take = (span - within).min(left) as usize;
            let part = &mut buf[done..done + take];
            match run {
                Some(r) if !r.unwritten => {
                    fs.read_blocks(r.block + (logical - r.logical), within, part)?
                }
                _ => part.fill(0),
            }
            done += take;
        }
        Ok(())
    }
}

/// Where a file's bytes are.
pub enum Content {
    /// In blocks of the volume.
    Mapped(BlockMap),
    /// In the inode itself.
    Inline(Vec<u8>),
}

impl Content {
    /// Fills `buf` from byte `offset` of the file.
    pub fn read_at(&self, fs: &dyn Blocks, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        match self {
            Content::Mapped(map) => map.read(fs, offset, buf),
            Content::Inline(bytes) => {
                let part = usize::try_from(offset)
                    .ok()
                    .and_then(|from| bytes.get(from..from.checked_add(buf.len())?))
                    .ok_or_else(|| {
                        io::Error::new(
                            io::ErrorKind::InvalidData,
                            "a file kept in its inode is shorter than its size",
                        )
                    })?;
                buf.copy_from_slice(part);
                Ok(())
            }
        }
    }
}

/// A file's first `size` bytes, read through its block map as they are
/// asked for.
pub struct MappedFile<'a> {
    fs: &'a dyn Blocks,
    content: Arc<Content>,
    at: u64,
    size: u64,
}

impl<'a> MappedFile<'a> {
    /// The first `size` bytes of a file whose `content` lies on `fs`.
    pub fn new(fs: &'a dyn Blocks, content: Arc<Content>, size: u64) -> Self {
        MappedFile {
            fs,
            content,
            at: 0,
            size,
        }
    }
}

impl Read for MappedFile<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.size.saturating_sub(self.at);
        let take = (buf.len() as u64).min(left).min(1 << 20) as usize;
        if take == 0 {
            return Ok(0);
        }
        self.content.read_at(self.fs, self.at, &mut buf[..take])?;
        self.at += take as u64;
        Ok(take)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks of 4 bytes, each filled with its number.
    struct Numbered;

    impl Blocks for Numbered {
        fn block_size(&self) -> u64 {
            4
        }
        fn read_blocks(&self, block: u64, within: u64, buf: &mut [u8]) -> io::Result<()> {
            for (i, b) in buf.iter_mut().enumerate() {
                *b = (block + (within + i as u64) / 4) as u8;
            }
            Ok(())
        }
    }

    #[test]
    fn runs_holes_and_unwritten_blocks_read_in_place() {
        let run = |logical, block, count, unwritten| Run {
            logical,
            block,
            count,
            unwritten,
        };
        // Logical 0-1 at 10, hole at 2, 3 at 20 unwritten, 4-5 at 7.
        let map = BlockMap::new(vec![
            run(4, 7, 2, false),
            run(0, 10, 2, false),
            run(3, 20, 1, true),
        ]);
        let mut file = MappedFile::new(&Numbered, Arc::new(Content::Mapped(map)), 26);
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        let mut want = vec![10u8; 4];
        want.extend([11; 4]);
        want.extend([0; 8]);
        want.extend([7; 4]);
        want.extend([8; 4]);
        want.extend([0; 2]);
        assert_eq!(bytes, want);
        let mut part = [0u8; 3];
        let map = BlockMap::new(vec![run(0, 10, 2, false)]);
        map.read(&Numbered, 3, &mut part).unwrap();
        assert_eq!(part, [10, 11, 11]);
    }
}
