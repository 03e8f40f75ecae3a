//! UPX-packed executables, unpacked in memory so that rules see the
//! program the packer hid: for ELF files, byte for byte the file `upx -d`
//! restores (PE files: [`pe`]).
//!
//! The layout UPX 4 writes for a Linux ELF (learnt from files packed by
//! Debian's `upx-ucl` 4.2.4; all fields little-endian, each header 12
//! bytes):
//!
//! - the packed file's own ELF header and program headers, then `l_info`
//!   (checksum, magic `UPX!`, loader size, version, format) and `p_info`
//!   (program id, the original file's size, block size);
//! - block after block, each a `b_info` (uncompressed size, compressed
//!   size, method, filter id, filter marker, unused) and its bytes: first
//!   the original ELF header with its program headers, then the rest of
//!   each `PT_LOAD` segment's file bytes in file order (a segment larger
//!   than the block size in several blocks); a block whose two sizes are
//!   equal is stored as it is;
//! - the loader (no block headers), then the blocks of what follows the
//!   last segment in the file (section headers, symbols, comments), then a
//!   closing `b_info` of size 0 and compressed size `UPX!`, the pack
//!   header (`UPX!`, version, format, method, level, sums and sizes) and,
//!   last, the offset of `p_info` as 32 bits.
//!
//! The original file is rebuilt in a buffer of its stated size, paid from
//! the file's expansion budget before anything is allocated: the header
//! block says where each segment goes, the gaps between segments stay zero
//! (as in the original, which UPX does not store), and the closing blocks
//! are found as the chain of block headers that ends at the closing
//! `b_info`. Every size, offset and code is checked against the buffer and
//! the input, so a hostile file is a [`Failure`], never a panic, and time
//! is bounded by the input and output sizes.
//!
//! Methods: NRV2B, NRV2D and NRV2E in every bit width ([`nrv`]) and LZMA
//! ([`lzma`]); x86 call-trick filters are undone ([`filter`]). PE files
//! packed by UPX unpack to their memory image ([`pe`]). Big-endian ELF
//! files are only named by the `packed_executable` rule.

mod filter;
mod lzma;
mod nrv;
mod pe;

use super::NestedError;
use super::budget::ExpansionBudget;
use super::format::Format;
use nrv::{Variant, Width};

/// The magic of `l_info`, the closing `b_info` and the pack header.
const MAGIC: &[u8; 4] = b"UPX!";
/// Size of `l_info`, `p_info` and `b_info`.
const HEADER: usize = 12;
/// How far past the last segment's blocks the closing blocks may start:
/// the loader sits between them (about 3 KiB for amd64 in UPX 4).
const TAIL_WINDOW: usize = 64 << 10;
/// Most blocks in the closing chain looked for.
const TAIL_BLOCKS: usize = 64;
/// ELF `PT_LOAD`.
const PT_LOAD: u32 = 1;

/// Why a packed file was not (wholly) unpacked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The layout or a block is broken: why.
    Broken(String),
    /// A block in a compression method not read here.
    Unsupported(String),
    /// The unpacked size is past what the file's budget holds.
    Spent,
}

impl Failure {
    /// The failure as the report says it; `limit` is the file's budget.
    pub fn into_error(self, limit: u64) -> NestedError {
        match self {
            Failure::Broken(reason) => NestedError::Broken {
                format: Format::Upx.name(),
                reason,
            },
            Failure::Unsupported(reason) => NestedError::Unreadable { reason },
            Failure::Spent => NestedError::Expansion { limit },
        }
    }
}

/// An unpacked file: the original's bytes as far as they were restored
/// (zero past that), and the first problem met.
#[derive(Debug)]
pub struct Unpacked {
    /// The rebuilt file, of the size the packed file states.
    pub bytes: Vec<u8>,
    /// How many bytes were decoded into it (the gaps between segments are
    /// not).
    pub decoded: usize,
    /// Why the rest was not, if it was not.
    pub problem: Option<Failure>,
}

/// Whether `data` (a whole file, or at least its first few hundred bytes
/// for an ELF file) looks like a UPX-packed little-endian ELF or PE file.
pub fn is_packed(data: &[u8]) -> bool {
    locate(data).is_some() || pe::pack_header(data).is_some()
}

/// Unpacks `data`, paying the original's size from `budget`; an error when
/// nothing could be decoded.
pub fn unpack(data: &[u8], budget: &ExpansionBudget) -> Result<Unpacked, Failure> {
    if data.starts_with(b"MZ") {
        return pe::unpack(data, budget);
    }
    let p_info = locate(data).ok_or_else(|| broken("no UPX headers after the program headers"))?;
    let size = le32(data, p_info + 4).ok_or_else(|| broken("`p_info` is cut off"))? as usize;
    if size < HEADER {
        return Err(broken(format!(
            "stated unpacked size `{size}` is too small"
        )));
    }
    if !budget.pay(size as u64) {
        return Err(Failure::Spent);
    }
    let mut unpacked = Unpacked {
        bytes: vec![0u8; size],
        decoded: 0,
        problem: None,
    };
    let result = rebuild(data, p_info + HEADER, &mut unpacked);
    match result {
        Err(problem) if unpacked.decoded == 0 => Err(problem),
        result => {
            unpacked.problem = result.err();
            Ok(unpacked)
        }
    }
}

fn broken(reason: impl Into<String>) -> Failure {
    Failure::Broken(reason.into())
}

fn le16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        data.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn le32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        data.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn le64(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        data.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// A little-endian ELF file's program header table: offset, entry size,
/// count, and whether it is 64-bit.
fn program_headers(elf: &[u8]) -> Option<(usize, usize, usize, bool)> {
    if !elf.starts_with(b"\x7fELF") || elf.get(5) != Some(&1) {
        return None;
    }
    let (offset, entry, count, wide) = match elf.get(4)? {
        1 => (
            u64::from(le32(elf, 0x1c)?),
            le16(elf, 0x2a)?,
            le16(elf, 0x2c)?,
            false,
        ),
        2 => (le64(elf, 0x20)?, le16(elf, 0x36)?, le16(elf, 0x38)?, true),
        _ => return None,
    };
    Some((
        usize::try_from(offset).ok()?,
        entry.into(),
        count.into(),
        wide,
    ))
}

/// Where `p_info` is: after `l_info`, which follows the packed file's
/// program headers, when `l_info` has its magic; else where the file's
/// last 32 bits point, when the magic is there or the two places agree (a
/// file whose magic was wiped to stop `upx -d`).
fn locate(data: &[u8]) -> Option<usize> {
    let (offset, entry, count, _) = program_headers(data)?;
    let after_headers = offset.checked_add(entry.checked_mul(count)?)?;
    let here = after_headers.checked_add(HEADER)?;
    let magic_before =
        |p_info: usize| p_info >= 8 && data.get(p_info - 8..p_info - 4) == Some(&MAGIC[..]);
    let whole = |p_info: usize| {
        p_info
            .checked_add(2 * HEADER)
            .is_some_and(|end| end <= data.len())
    };
    if magic_before(here) && whole(here) {
        return Some(here);
    }
    let trailer = le32(data, data.len().checked_sub(4)?)? as usize;
    (whole(trailer) && (magic_before(trailer) || trailer == here)).then_some(trailer)
}

/// One `b_info` and where its bytes are in the input.
#[derive(Debug, Clone, Copy)]
struct Block {
    at: usize,
    unpacked: usize,
    packed: usize,
    method: u8,
    filter: u8,
    marker: u8,
}

impl Block {
    /// The block header at `at`, if it is whole and its sizes hold.
    fn peek(data: &[u8], at: usize) -> Option<Block> {
        let header = data.get(at..at.checked_add(HEADER)?)?;
        let block = Block {
            at,
            unpacked: le32(header, 0)? as usize,
            packed: le32(header, 4)? as usize,
            method: header[8],
            filter: header[9],
            marker: header[10],
        };
        (block.unpacked > 0 && block.packed <= block.unpacked && block.end() <= data.len())
            .then_some(block)
    }

    /// The block header at `at`, or why it is not one.
    fn read(data: &[u8], at: usize) -> Result<Block, Failure> {
        if let Some(block) = Block::peek(data, at) {
            return Ok(block);
        }
        let field = |i: usize| at.checked_add(i).and_then(|i| le32(data, i));
        let (Some(unpacked), Some(packed), Some(_)) = (field(0), field(4), field(8)) else {
            return Err(broken(format!("block header at `{at:#x}` is cut off")));
        };
        Err(broken(if unpacked == 0 {
            format!("the blocks end at `{at:#x}` before the file does")
        } else if packed > unpacked {
            format!("block at `{at:#x}` states `{packed}` compressed bytes for `{unpacked}`")
        } else {
            format!("block at `{at:#x}` of `{packed}` bytes runs past the end of the file")
        }))
    }

    /// Where the next block header is.
    fn end(&self) -> usize {
        self.at + HEADER + self.packed
    }

    /// Decodes the block from `data` into `out`, exactly its size.
    fn decode(&self, data: &[u8], out: &mut [u8]) -> Result<(), Failure> {
        let input = &data[self.at + HEADER..self.end()];
        decode(self.method, input, out, self.at)?;
        if self.filter != 0 {
            // A filter not undone leaves branch operands as stored.
            filter::unfilter(self.filter, self.marker, out);
        }
        Ok(())
    }
}

/// Decodes `input`, compressed with UPX method `method` (or stored, when
/// as long as `out`), into `out`; `at` names the place in messages.
fn decode(method: u8, input: &[u8], out: &mut [u8], at: usize) -> Result<(), Failure> {
    if input.len() == out.len() {
        out.copy_from_slice(input);
    } else if let Some((variant, width)) = nrv_method(method) {
        nrv::decode(variant, width, input, out)
            .map_err(|e| broken(format!("block at `{at:#x}`: {e}")))?;
    } else if method == 14 {
        lzma::decode(input, out).map_err(|e| broken(format!("block at `{at:#x}`: {e}")))?;
    } else {
        return Err(Failure::Unsupported(format!(
            "UPX compression method `{method}` (block at `{at:#x}`) is not read"
        )));
    }
    Ok(())
}

/// The NRV variant and bit width of a UPX method number.
fn nrv_method(method: u8) -> Option<(Variant, Width)> {
    let variant = match method {
        2..=4 => Variant::B,
        5..=7 => Variant::D,
        8..=10 => Variant::E,
        _ => return None,
    };
    let width = match (method - 2) % 3 {
        0 => Width::Le32,
        1 => Width::Byte,
        _ => Width::Le16,
    };
    Some((variant, width))
}

/// Decodes the blocks from `at` into `unpacked`: the header block, the
/// segments it lists, and what follows them.
fn rebuild(data: &[u8], mut at: usize, unpacked: &mut Unpacked) -> Result<(), Failure> {
    let size = unpacked.bytes.len();
    let first = Block::read(data, at)?;
    if first.unpacked > size {
        return Err(broken(format!(
            "the first block's `{}` bytes are more than the file's `{size}`",
            first.unpacked
        )));
    }
    first.decode(data, &mut unpacked.bytes[..first.unpacked])?;
    unpacked.decoded = first.unpacked;
    at = first.end();
    let (segments, tail) = layout(&unpacked.bytes[..first.unpacked], size)?;
    for (start, end) in segments {
        let mut cursor = start;
        while cursor < end {
            let block = Block::read(data, at)?;
            if block.unpacked > end - cursor {
                return Err(broken(format!(
                    "block at `{at:#x}` of `{}` bytes overruns its segment (`{}` left)",
                    block.unpacked,
                    end - cursor
                )));
            }
            block.decode(data, &mut unpacked.bytes[cursor..cursor + block.unpacked])?;
            cursor += block.unpacked;
            unpacked.decoded += block.unpacked;
            at = block.end();
        }
    }
    if tail < size {
        let Some(mut at) = find_tail(data, at, size - tail) else {
            return Err(broken(format!(
                "the blocks of the last `{}` bytes (after the segments: section headers, symbols) were not found",
                size - tail
            )));
        };
        let mut cursor = tail;
        while cursor < size {
            let block = Block::read(data, at)?;
            let end = cursor + block.unpacked;
            if end > size {
                return Err(broken(format!(
                    "block at `{at:#x}` runs past the file's end"
                )));
            }
            block.decode(data, &mut unpacked.bytes[cursor..end])?;
            unpacked.decoded += block.unpacked;
            cursor = end;
            at = block.end();
        }
    }
    Ok(())
}

/// The file ranges the blocks after the header block fill, in order, from
/// the original ELF header `header` (the first block, `header.len()` bytes
/// of the file) in a file of `size` bytes: each `PT_LOAD` segment's bytes
/// not yet covered; and where what follows the last segment starts.
fn layout(header: &[u8], size: usize) -> Result<(Vec<(usize, usize)>, usize), Failure> {
    let not_elf = || broken("the first block is not an ELF header with its program headers");
    let (offset, entry, count, wide) = program_headers(header).ok_or_else(not_elf)?;
    let table_end = entry
        .checked_mul(count)
        .and_then(|len| len.checked_add(offset))
        .ok_or_else(not_elf)?;
    if table_end > header.len() || entry < if wide { 56 } else { 32 } {
        return Err(not_elf());
    }
    let mut covered = header.len();
    let mut segments = Vec::new();
    for i in 0..count {
        let ph = offset + i * entry;
        if le32(header, ph) != Some(PT_LOAD) {
            continue;
        }
        let (start, len) = if wide {
            (le64(header, ph + 8), le64(header, ph + 32))
        } else {
            (
                le32(header, ph + 4).map(u64::from),
                le32(header, ph + 16).map(u64::from),
            )
        };
        let (start, len) = (start.ok_or_else(not_elf)?, len.ok_or_else(not_elf)?);
        let end = start.checked_add(len).filter(|&end| end <= size as u64);
        let Some(end) = end else {
            return Err(broken(format!(
                "a segment of `{len}` bytes at `{start:#x}` is past the file's `{size}` bytes"
            )));
        };
        let (start, end) = (start as usize, end as usize);
        if len == 0 || end <= covered {
            continue;
        }
        segments.push((start.max(covered), end));
        covered = end;
    }
    Ok((segments, covered))
}

/// Where the blocks of the bytes after the last segment start: the first
/// place within [`TAIL_WINDOW`] after `from` whose chain of block headers
/// adds up to `want` bytes and ends at the closing `b_info` (size 0,
/// compressed size `UPX!`).
fn find_tail(data: &[u8], from: usize, want: usize) -> Option<usize> {
    let closing = |at: usize| {
        data.get(at..at + 8)
            .is_some_and(|b| b[..4] == [0; 4] && b[4..] == MAGIC[..])
    };
    let end = data.len().min(from.saturating_add(TAIL_WINDOW));
    (from..end).find(|&start| {
        let mut at = start;
        let mut total = 0usize;
        for _ in 0..TAIL_BLOCKS {
            let Some(block) = Block::peek(data, at) else {
                return false;
            };
            total += block.unpacked;
            at = block.end();
            if total > want {
                return false;
            }
            if closing(at) {
                return total == want;
            }
        }
        false
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files packed by Debian's upx-ucl 4.2.4 (`testdata/make.sh`), and
    /// the SHA-256 of the originals.
    const NRV2E: &[u8] = include_bytes!("testdata/hello.nrv2e");
    const LZMA: &[u8] = include_bytes!("testdata/hello.lzma");
    const NRV2B: &[u8] = include_bytes!("testdata/hello.nrv2b");
    const NRV2D: &[u8] = include_bytes!("testdata/hello.nrv2d");
    const HELLO_SHA256: &str = include_str!("testdata/hello.sha256");
    /// LZMA, with the call-trick filter 0x49 on the code segment.
    const FILTERED: &[u8] = include_bytes!("testdata/static.brute");
    const STATIC_SHA256: &str = include_str!("testdata/static.sha256");

    fn unpacked(data: &[u8]) -> Unpacked {
        unpack(data, &ExpansionBudget::new(1 << 30)).unwrap()
    }

    fn sha256(bytes: &[u8]) -> String {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(bytes))
    }

    #[test]
    fn real_packed_files_unpack_to_the_original() {
        for (name, packed, original) in [
            ("nrv2e", NRV2E, HELLO_SHA256),
            ("lzma", LZMA, HELLO_SHA256),
            ("nrv2b", NRV2B, HELLO_SHA256),
            ("nrv2d", NRV2D, HELLO_SHA256),
            ("filtered", FILTERED, STATIC_SHA256),
        ] {
            assert!(is_packed(packed), "{name}");
            let out = unpacked(packed);
            assert_eq!(out.problem, None, "{name}");
            assert_eq!(sha256(&out.bytes), original.trim(), "{name}");
        }
    }

    /// Without the filter undone, only branch operands differ.
    #[test]
    fn the_filter_is_what_makes_code_exact() {
        let p_info = locate(FILTERED).unwrap();
        let mut at = p_info + HEADER;
        let mut filtered = None;
        while let Ok(block) = Block::read(FILTERED, at) {
            if block.filter != 0 {
                filtered = Some(block);
                break;
            }
            at = block.end();
        }
        let block = filtered.expect("a filtered block");
        let mut raw = vec![0u8; block.unpacked];
        let unfiltered = Block { filter: 0, ..block };
        unfiltered.decode(FILTERED, &mut raw).unwrap();
        let mut restored = raw.clone();
        assert!(filter::unfilter(block.filter, block.marker, &mut restored));
        assert_ne!(raw, restored);
        let original = unpacked(FILTERED).bytes;
        assert!(original.windows(restored.len()).any(|w| w == restored));
    }

    #[test]
    fn plain_files_are_not_packed() {
        assert!(!is_packed(b"\x7fELF"));
        assert!(!is_packed(b""));
        let original = unpacked(NRV2E).bytes;
        assert!(!is_packed(&original), "the unpacked program");
        assert!(matches!(
            unpack(&original, &ExpansionBudget::new(1 << 30)),
            Err(Failure::Broken(_))
        ));
    }

    /// `upx -d` refuses a file whose magic was wiped; the headers still
    /// say where everything is.
    #[test]
    fn a_wiped_magic_is_still_unpacked() {
        let mut wiped = NRV2E.to_vec();
        let mut at = 0;
        while let Some(found) = wiped[at..].windows(4).position(|w| w == MAGIC) {
            wiped[at + found..at + found + 4].copy_from_slice(b"\0\0\0\0");
            at += found + 4;
        }
        assert!(is_packed(&wiped));
        let out = unpacked(&wiped);
        // The closing blocks are found by the closing magic; the segments,
        // where the code and strings are, are whole.
        assert!(matches!(out.problem, Some(Failure::Broken(_))));
        let whole = unpacked(NRV2E).bytes;
        let first = Block::read(NRV2E, locate(NRV2E).unwrap() + HEADER).unwrap();
        let (_, tail) = layout(&whole[..first.unpacked], whole.len()).unwrap();
        assert_eq!(out.bytes[..tail], whole[..tail]);
        assert_ne!(out.bytes[tail..], whole[tail..]);
    }

    #[test]
    fn the_budget_is_paid_before_anything_is_allocated() {
        let budget = ExpansionBudget::new(1000);
        assert_eq!(unpack(NRV2E, &budget).unwrap_err(), Failure::Spent);
        assert!(budget.is_spent());
    }

    /// Every header field of the first blocks set to hostile values, and
    /// every cut of the file: a problem or a partial file, never a panic.
    #[test]
    fn hostile_headers_and_cuts_are_failures() {
        let p_info = locate(NRV2E).unwrap();
        for field in [p_info + 4, p_info + 12, p_info + 16, p_info + 20] {
            for value in [0u32, 1, 11, 0x7fff_ffff, u32::MAX, 0x1000] {
                let mut bad = NRV2E.to_vec();
                bad[field..field + 4].copy_from_slice(&value.to_le_bytes());
                let _ = unpack(&bad, &ExpansionBudget::new(64 << 20));
            }
        }
        // A huge stated size is the budget's, not an allocation.
        let mut huge = NRV2E.to_vec();
        huge[p_info + 4..p_info + 8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            unpack(&huge, &ExpansionBudget::new(64 << 20)).unwrap_err(),
            Failure::Spent
        );
        // An unknown method.
        let mut method = NRV2E.to_vec();
        method[p_info + 12 + 8] = 99;
        assert!(matches!(
            unpack(&method, &ExpansionBudget::new(64 << 20)),
            Err(Failure::Unsupported(_))
        ));
        // Cut anywhere: the trailer's pointer is gone, `l_info` still found;
        // before the closing block, the file is never whole.
        for cut in (0..NRV2E.len()).step_by(7) {
            let out = unpack(&NRV2E[..cut], &ExpansionBudget::new(64 << 20));
            if let Ok(out) = out
                && cut + 64 < NRV2E.len()
            {
                assert!(out.problem.is_some(), "cut {cut}");
            }
        }
        // Each byte of the headers and the first blocks flipped.
        for i in p_info..(p_info + 400).min(NRV2E.len()) {
            let mut flipped = NRV2E.to_vec();
            flipped[i] ^= 0xa5;
            let _ = unpack(&flipped, &ExpansionBudget::new(64 << 20));
        }
    }

    /// A megabyte of tiny block headers that chain on and on, never to a
    /// closing one: the search gives up within its window and hop limit.
    #[test]
    fn the_tail_search_is_bounded() {
        let mut data = Vec::new();
        while data.len() < 1 << 20 {
            data.extend_from_slice(&[1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, b'x']);
        }
        let started = std::time::Instant::now();
        assert_eq!(find_tail(&data, 0, usize::MAX), None);
        assert!(started.elapsed().as_secs() < 10);
        // The same chain, closed: found, from its first header.
        data.truncate(13 * 100);
        data.extend_from_slice(&[0, 0, 0, 0, b'U', b'P', b'X', b'!', 0, 0, 0, 0]);
        assert_eq!(find_tail(&data, 0, 64), Some(13 * 36));
        assert_eq!(find_tail(&data, 0, 1), Some(13 * 99));
    }

    #[test]
    fn method_numbers() {
        assert_eq!(nrv_method(2), Some((Variant::B, Width::Le32)));
        assert_eq!(nrv_method(3), Some((Variant::B, Width::Byte)));
        assert_eq!(nrv_method(4), Some((Variant::B, Width::Le16)));
        assert_eq!(nrv_method(5), Some((Variant::D, Width::Le32)));
        assert_eq!(nrv_method(8), Some((Variant::E, Width::Le32)));
        assert_eq!(nrv_method(10), Some((Variant::E, Width::Le16)));
        assert_eq!(nrv_method(14), None);
        assert_eq!(nrv_method(1), None);
    }
}
