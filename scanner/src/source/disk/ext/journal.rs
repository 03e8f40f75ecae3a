//! Replaying an ext journal (jbd2) in memory. A filesystem exported from
//! a running machine often has committed transactions still in its
//! journal: until they are replayed, its metadata (a new file's directory
//! entry, a cron job's inode) is stale. Replay is read-only: the result
//! is a map from filesystem block to the journal block holding its newest
//! committed copy, which the reader consults before the block itself.
//!
//! The log is walked from `s_start` with `s_sequence`, one transaction at
//! a time (descriptor blocks tag the data blocks that follow them, revoke
//! blocks cancel earlier copies); a transaction counts once its commit
//! block is found, and the walk ends at the first block that does not
//! carry the next header. It is bounded by the journal's own length.

use crate::source::disk::block_map::{BlockMap, Blocks};
use std::collections::{BTreeMap, HashSet};
use std::io;

const MAGIC: u32 = 0xC03B_3998;
const DESCRIPTOR: u32 = 1;
const COMMIT: u32 = 2;
const SUPERBLOCK_V1: u32 = 3;
const SUPERBLOCK_V2: u32 = 4;
const REVOKE: u32 = 5;
/// Incompatible journal features.
const REVOKE_FEATURE: u32 = 0x1;
const BIT64: u32 = 0x2;
const ASYNC_COMMIT: u32 = 0x4;
const CSUM_V2: u32 = 0x8;
const CSUM_V3: u32 = 0x10;
const FAST_COMMIT: u32 = 0x20;
const KNOWN: u32 = REVOKE_FEATURE | BIT64 | ASYNC_COMMIT | CSUM_V2 | CSUM_V3 | FAST_COMMIT;
/// Tag flags.
const TAG_ESCAPED: u32 = 1;
const TAG_SAME_UUID: u32 = 2;
const TAG_LAST: u32 = 8;
/// Fast-commit blocks a journal keeps when its superblock says 0.
const DEFAULT_FAST_COMMIT_BLOCKS: u64 = 256;
/// Most journal blocks walked (mke2fs makes journals of at most
/// 10,240,000 blocks), and most block copies held while replaying.
pub const MAX_JOURNAL_BLOCKS: u64 = 1 << 24;
const MAX_COPIES: usize = 1 << 22;

fn be32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |s| u32::from_be_bytes(s.try_into().unwrap()))
}

fn bad(what: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("ext journal: {what}"))
}

/// Where the newest committed copy of a filesystem block is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replaced {
    /// The volume block of the copy in the journal.
    pub at: u64,
    /// Its first four bytes were the journal's magic, stored zeroed.
    pub escaped: bool,
}

impl Replaced {
    /// Undoes the escape on a block read from the journal.
    pub fn restore(&self, block: &mut [u8]) {
        if self.escaped && block.len() >= 4 {
            block[..4].copy_from_slice(&MAGIC.to_be_bytes());
        }
    }
}

/// The blocks the journal's committed transactions replace.
pub type Overlay = BTreeMap<u64, Replaced>;

/// One transaction being read.
#[derive(Default)]
struct Transaction {
    writes: Vec<(u64, Replaced)>,
    revoked: HashSet<u64>,
}

/// The journal kept in the blocks `journal` maps (of `fs`, read without
/// any overlay), `length` blocks long.
pub fn replay(fs: &dyn Blocks, journal: &BlockMap, length: u64) -> io::Result<Overlay> {
    let block_size = fs.block_size();
    let read = |logical: u64| -> io::Result<Vec<u8>> {
        let mut raw = vec![0u8; block_size as usize];
        journal.read(fs, logical * block_size, &mut raw)?;
        Ok(raw)
    };
    let sb = read(0)?;
    let kind = be32(&sb, 4);
    if be32(&sb, 0) != MAGIC || !matches!(kind, SUPERBLOCK_V1 | SUPERBLOCK_V2) {
        return Err(bad("no journal superblock"));
    }
    if u64::from(be32(&sb, 0xC)) != block_size {
        return Err(bad("a block size other than the filesystem's"));
    }
    let features = if kind == SUPERBLOCK_V2 {
        be32(&sb, 0x28)
    } else {
        0
    };
    if features & !KNOWN != 0 {
        return Err(bad(format!(
            "incompatible features {:#x}",
            features & !KNOWN
        )));
    }
    let start = u64::from(be32(&sb, 0x1C));
    let first = u64::from(be32(&sb, 0x14));
    let mut last = u64::from(be32(&sb, 0x10))
        .min(length)
        .min(MAX_JOURNAL_BLOCKS);
    if features & FAST_COMMIT != 0 {
        let fast = match u64::from(be32(&sb, 0x54)) {
            0 => DEFAULT_FAST_COMMIT_BLOCKS,
            n => n,
        };
        last = last.saturating_sub(fast);
    }
    let mut overlay = Overlay::new();
    if start == 0 {
        return Ok(overlay);
    }
    if first == 0 || first >= last || start < first || start >= last {
        return Err(bad("a log outside the journal"));
    }
    let layout = Layout::of(features, block_size as usize);
    let next = |b: u64| if b + 1 >= last { first } else { b + 1 };
    let locate = |logical: u64| {
        journal
            .block_of(logical)
            .ok_or_else(|| bad(format!("journal block {logical} is not mapped")))
    };
    let mut sequence = be32(&sb, 0x18);
    let mut at = start;
    let mut transaction = Transaction::default();
    // Each block of the log, tagged data blocks included, is visited at
    // most once: a log that wraps onto itself ends.
    let mut left = last - first;
    while left > 0 {
        left -= 1;
        let block = read(at)?;
        if be32(&block, 0) != MAGIC || be32(&block, 8) != sequence {
            break;
        }
        match be32(&block, 4) {
            DESCRIPTOR => {
                for (target, flags) in layout.tags(&block) {
                    if left == 0 {
                        return Ok(overlay);
                    }
                    left -= 1;
                    at = next(at);
                    let copy = Replaced {
                        at: locate(at)?,
                        escaped: flags & TAG_ESCAPED != 0,
                    };
                    transaction.writes.push((target, copy));
                }
                if transaction.writes.len() + overlay.len() > MAX_COPIES {
                    return Err(bad("more block copies than a journal holds"));
                }
            }
            REVOKE => {
                transaction.revoked.extend(layout.revoked(&block));
                if transaction.revoked.len() > MAX_COPIES {
                    return Err(bad("more revoked blocks than a journal holds"));
                }
            }
            COMMIT => {
                let done = std::mem::take(&mut transaction);
                for block in &done.revoked {
                    overlay.remove(block);
                }
                for (target, copy) in done.writes {
                    if !done.revoked.contains(&target) {
                        overlay.insert(target, copy);
                    }
                }
                sequence = sequence.wrapping_add(1);
            }
            _ => break,
        }
        at = next(at);
    }
    Ok(overlay)
}

/// How tags and revoke records are laid out, from the journal's features.
struct Layout {
    block_size: usize,
    tag_bytes: usize,
    tag3: bool,
    wide: bool,
    /// Bytes at the end of a descriptor or revoke block kept for its
    /// checksum.
    tail: usize,
}

impl Layout {
    fn of(features: u32, block_size: usize) -> Self {
        let wide = features & BIT64 != 0;
        let tag3 = features & CSUM_V3 != 0;
        let csum = features & (CSUM_V2 | CSUM_V3) != 0;
        let tag_bytes = if tag3 {
            16
        } else {
            // The v1 tag, with the v2 checksum's two bytes the kernel
            // also counts, less the high block number on 32-bit journals.
            12 + if features & CSUM_V2 != 0 { 2 } else { 0 } - if wide { 0 } else { 4 }
        };
        Layout {
            block_size,
            tag_bytes,
            tag3,
            wide,
            tail: if csum { 4 } else { 0 },
        }
    }

    /// The (filesystem block, flags) of a descriptor block's tags.
    fn tags(&self, block: &[u8]) -> Vec<(u64, u32)> {
        let end = self.block_size - self.tail;
        let mut tags = Vec::new();
        let mut at = 12;
        while at + self.tag_bytes <= end {
            let low = u64::from(be32(block, at));
            let (flags, high_at) = if self.tag3 {
                (be32(block, at + 4), at + 8)
            } else {
                (
                    u32::from(u16::from_be_bytes([block[at + 6], block[at + 7]])),
                    at + 8,
                )
            };
            let high = if self.wide {
                u64::from(be32(block, high_at))
            } else {
                0
            };
            tags.push((high << 32 | low, flags));
            at += self.tag_bytes;
            if flags & TAG_SAME_UUID == 0 {
                at += 16;
            }
            if flags & TAG_LAST != 0 {
                break;
            }
        }
        tags
    }

    /// The filesystem blocks a revoke block cancels.
    fn revoked(&self, block: &[u8]) -> Vec<u64> {
        let used = (be32(block, 12) as usize).min(self.block_size - self.tail);
        let record = if self.wide { 8 } else { 4 };
        let mut out = Vec::new();
        let mut at = 16;
        while at + record <= used {
            let block_no = if self.wide {
                u64::from(be32(block, at)) << 32 | u64::from(be32(block, at + 4))
            } else {
                u64::from(be32(block, at))
            };
            out.push(block_no);
            at += record;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::disk::block_map::Run;

    /// A volume of 1 KiB blocks held in memory.
    struct Volume(Vec<u8>);

    impl Blocks for Volume {
        fn block_size(&self) -> u64 {
            1024
        }
        fn read_blocks(&self, block: u64, within: u64, buf: &mut [u8]) -> io::Result<()> {
            let at = (block * 1024 + within) as usize;
            buf.copy_from_slice(&self.0[at..at + buf.len()]);
            Ok(())
        }
    }

    fn header(volume: &mut [u8], block: usize, kind: u32, sequence: u32) -> usize {
        let at = block * 1024;
        volume[at..at + 4].copy_from_slice(&MAGIC.to_be_bytes());
        volume[at + 4..at + 8].copy_from_slice(&kind.to_be_bytes());
        volume[at + 8..at + 12].copy_from_slice(&sequence.to_be_bytes());
        at + 12
    }

    /// A journal at volume blocks 10..30 (32-bit, revokes on) of three
    /// transactions: 7 writes blocks 40 and 41 (41 escaped), 8 revokes 40
    /// and writes 42, 9 writes 43 and never commits.
    fn three_transactions() -> Vec<u8> {
        let mut v = vec![0u8; 64 * 1024];
        let sb = header(&mut v, 10, SUPERBLOCK_V2, 0) - 12;
        for (off, value) in [
            (0xC, 1024),
            (0x10, 20),
            (0x14, 1),
            (0x18, 7),
            (0x1C, 1),
            (0x28, 1),
        ] {
            v[sb + off..sb + off + 4].copy_from_slice(&(value as u32).to_be_bytes());
        }
        let tag = |v: &mut Vec<u8>, at: usize, target: u32, flags: u16| {
            v[at..at + 4].copy_from_slice(&target.to_be_bytes());
            v[at + 6..at + 8].copy_from_slice(&flags.to_be_bytes());
        };
        // Transaction 7: blocks 40 and 41 (41 escaped); then commit.
        let d = header(&mut v, 11, DESCRIPTOR, 7);
        tag(&mut v, d, 40, 0);
        tag(
            &mut v,
            d + 8 + 16,
            41,
            (TAG_ESCAPED | TAG_SAME_UUID | TAG_LAST) as u16,
        );
        header(&mut v, 14, COMMIT, 7);
        // Transaction 8: revokes 40, writes 42; committed.
        let r = header(&mut v, 15, REVOKE, 8);
        v[r..r + 4].copy_from_slice(&20u32.to_be_bytes());
        v[r + 4..r + 8].copy_from_slice(&40u32.to_be_bytes());
        let d = header(&mut v, 16, DESCRIPTOR, 8);
        tag(&mut v, d, 42, TAG_LAST as u16);
        header(&mut v, 18, COMMIT, 8);
        // Transaction 9: writes 43 but never commits.
        let d = header(&mut v, 19, DESCRIPTOR, 9);
        tag(&mut v, d, 43, TAG_LAST as u16);
        v
    }

    fn journal_map() -> BlockMap {
        BlockMap::new(vec![Run {
            logical: 0,
            block: 10,
            count: 20,
            unwritten: false,
        }])
    }

    #[test]
    fn committed_transactions_replay_and_revokes_and_torn_ones_do_not() {
        let volume = Volume(three_transactions());
        let overlay = replay(&volume, &journal_map(), 20).unwrap();
        let at = |b: u64, escaped| Replaced { at: b, escaped };
        assert_eq!(
            overlay.into_iter().collect::<Vec<_>>(),
            [(41, at(13, true)), (42, at(17, false))]
        );
    }

    /// Random bytes written over the journal's blocks: a result (an
    /// overlay or an error) every time, never a panic; every copy it
    /// names lies inside the journal.
    #[test]
    fn mutated_journals_end_in_a_result() {
        let clean = three_transactions();
        let mut next = imgscan_fixtures::xorshift(0x2545_f491_4f6c_dd1d);
        for _ in 0..3000 {
            let mut v = clean.clone();
            for _ in 0..1 + next() % 8 {
                let at = 10 * 1024 + (next() % (20 * 1024)) as usize;
                v[at] = next() as u8;
            }
            if let Ok(overlay) = replay(&Volume(v), &journal_map(), 20) {
                assert!(overlay.values().all(|copy| (11..30).contains(&copy.at)));
            }
        }
    }
}
