//! Whether an XFS volume's internal log still holds changes the
//! filesystem never received: a volume copied from a running machine, or
//! one that crashed. XFS is not replayed here, so such a volume is read as
//! its metadata stands and the walk says so.
//!
//! The log is circular, in 512-byte basic blocks each stamped with the
//! cycle (pass over the log) it was written in: a record header carries
//! it after its magic, every other block in its first word. The head is
//! where the stamps step down (or turn to zero in a log not yet
//! wrapped), found by bisection; the last record before it is clean only
//! when it is the unmount record (one operation, flagged unmount).

use std::io;

/// The magic of a log record header.
const RECORD_MAGIC: u32 = 0xFEED_BABE;
/// An operation that ends a clean unmount.
const UNMOUNT_FLAG: u8 = 0x20;
/// Bytes of a basic block.
pub const BASIC_BLOCK: u64 = 512;
/// Basic blocks searched back from the head for the last record (a
/// record holds at most 256 KiB, plus its headers).
const MAX_RECORD_BLOCKS: u64 = 2 * 520;
/// Bytes of log data one record header sector covers.
const HEADER_COVERS: u64 = 32 << 10;

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}

/// Whether the log of `blocks` basic blocks, read one block at a time by
/// `read` (basic block number, 512-byte buffer), ends in anything but a
/// clean unmount.
pub fn is_dirty(
    blocks: u64,
    read: impl Fn(u64, &mut [u8; 512]) -> io::Result<()>,
) -> io::Result<bool> {
    if blocks < 2 {
        return Ok(false);
    }
    let cycle = |block: u64| -> io::Result<u32> {
        let mut raw = [0u8; 512];
        read(block, &mut raw)?;
        Ok(if be32(&raw, 0) == RECORD_MAGIC {
            be32(&raw, 4)
        } else {
            be32(&raw, 0)
        })
    };
    let first = cycle(0)?;
    if first == 0 {
        // Never written: nothing to replay.
        return Ok(false);
    }
    let last = cycle(blocks - 1)?;
    let head = if last == first {
        // Every block of this pass is written: the head is back at 0.
        blocks
    } else {
        // The first block stamped like the last one (a lower cycle, or
        // zero): bisect between a block of this pass and one that is not.
        let (mut lo, mut hi) = (0, blocks - 1);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if cycle(mid)? == first {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        hi
    };
    // The last record header before the head, wrapping round the end.
    let mut raw = [0u8; 512];
    for back in 1..=MAX_RECORD_BLOCKS.min(blocks) {
        let block = (head + blocks - back) % blocks;
        read(block, &mut raw)?;
        if be32(&raw, 0) != RECORD_MAGIC {
            continue;
        }
        let operations = be32(&raw, 40);
        // Records larger than one header covers carry more header blocks.
        let size = u64::from(be32(&raw, 320)).max(HEADER_COVERS);
        let headers = if be32(&raw, 8) & 2 != 0 {
            size.div_ceil(HEADER_COVERS)
        } else {
            1
        };
        let mut op = [0u8; 512];
        read((block + headers) % blocks, &mut op)?;
        return Ok(!(operations == 1 && op[9] & UNMOUNT_FLAG != 0));
    }
    // No record header where one must be: the log cannot be trusted clean.
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A log of `n` blocks: a record header at each of `records` (cycle,
    /// operations, operation flags), data blocks stamped `stamp`.
    fn log(n: usize, stamp: &[(usize, u32)], records: &[(usize, u32, u32, u8)]) -> Vec<[u8; 512]> {
        let mut blocks = vec![[0u8; 512]; n];
        for &(at, cycle) in stamp {
            blocks[at][..4].copy_from_slice(&cycle.to_be_bytes());
        }
        for &(at, cycle, ops, flags) in records {
            let b = &mut blocks[at];
            b[..4].copy_from_slice(&RECORD_MAGIC.to_be_bytes());
            b[4..8].copy_from_slice(&cycle.to_be_bytes());
            b[8..12].copy_from_slice(&2u32.to_be_bytes());
            b[40..44].copy_from_slice(&ops.to_be_bytes());
            b[320..324].copy_from_slice(&(32768u32).to_be_bytes());
            blocks[at + 1][..4].copy_from_slice(&cycle.to_be_bytes());
            blocks[at + 1][9] = flags;
        }
        blocks
    }

    fn dirty(blocks: &[[u8; 512]]) -> bool {
        is_dirty(blocks.len() as u64, |b, buf| {
            *buf = blocks[b as usize];
            Ok(())
        })
        .unwrap()
    }

    #[test]
    fn a_log_ending_in_its_unmount_record_is_clean() {
        // mkfs: one unmount record, the rest never written.
        assert!(!dirty(&log(64, &[], &[(0, 1, 1, UNMOUNT_FLAG)])));
        // Transactions, then an unmount record, head at block 12.
        let written: Vec<(usize, u32)> = (0..12).map(|b| (b, 1)).collect();
        let clean = log(64, &written, &[(0, 1, 3, 0), (10, 1, 1, UNMOUNT_FLAG)]);
        assert!(!dirty(&clean));
        // The same transactions with no unmount after them.
        let crashed = log(64, &written[..10], &[(0, 1, 3, 0), (6, 1, 2, 0)]);
        assert!(dirty(&crashed));
        // A second pass (cycle 2) over a first: head where 2 turns to 1.
        let mut stamps: Vec<(usize, u32)> = (0..64).map(|b| (b, 1)).collect();
        stamps.extend((0..20).map(|b| (b, 2)));
        let wrapped = log(64, &stamps, &[(16, 2, 4, 0)]);
        assert!(dirty(&wrapped));
        let wrapped_clean = log(64, &stamps, &[(18, 2, 1, UNMOUNT_FLAG)]);
        assert!(!dirty(&wrapped_clean));
    }
}
