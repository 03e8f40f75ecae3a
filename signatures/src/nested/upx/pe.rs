//! UPX-packed PE executables (win32/pe and win64/pe, as UPX 4 writes them,
//! learnt from files packed by Debian's `upx-ucl` 4.2.4). UPX's version
//! string and then its pack header — `UPX!`, version, format (9 win32, 36
//! win64), method, level, two sums, the unpacked and packed sizes, the
//! original file's size, filter id and marker, 32 bytes in all — open the
//! raw data of the packed file's second section, and one compressed stream
//! of the packed size follows.
//!
//! That stream unpacks to the program's memory image from its first
//! section on, each section at its address, followed by what UPX keeps to
//! rebuild imports, relocations and the original headers. The image is
//! what the rules see — not the original file, which `upx -d` rebuilds
//! from those tables: code and strings are whole, absolute addresses are
//! left as UPX stores them. The call-trick filter is undone over the code
//! range the original header (kept at the image's end) states.

use super::{Failure, MAGIC, Unpacked, broken, decode, filter, le16, le32};
use crate::nested::budget::ExpansionBudget;
use std::ops::Range;

/// Pack header formats: win32/pe, win64/pe.
const FORMATS: [u8; 2] = [9, 36];
/// Size of the pack header.
const PACK_HEADER: usize = 32;
/// How far past the section table the pack header is looked for.
const SEARCH: usize = 4096;
/// Size of a section header.
const SECTION: usize = 40;

/// The pack header's fields this reader uses.
#[derive(Debug, Clone, Copy)]
pub struct PackHeader {
    at: usize,
    method: u8,
    unpacked: usize,
    packed: usize,
    filter: u8,
    marker: u8,
    machine: u16,
    first_address: u32,
}

/// The pack header of `data` when it is a UPX-packed PE file.
pub fn pack_header(data: &[u8]) -> Option<PackHeader> {
    if !data.starts_with(b"MZ") {
        return None;
    }
    let pe = le32(data, 0x3c)? as usize;
    if data.get(pe..pe.checked_add(4)?)? != b"PE\0\0" {
        return None;
    }
    let machine = le16(data, pe + 4)?;
    let count = usize::from(le16(data, pe + 6)?);
    let table = pe + 24 + usize::from(le16(data, pe + 20)?);
    let first_address = le32(data, table + 12)?;
    let table_end = table + count.max(1) * SECTION;
    let window = data.get(table_end..data.len().min(table_end + SEARCH))?;
    let mut from = 0;
    while let Some(found) = window[from..].windows(4).position(|w| w == MAGIC) {
        let at = table_end + from + found;
        from += found + 1;
        let Some(fields) = data.get(at..at + PACK_HEADER) else {
            break;
        };
        let header = PackHeader {
            at,
            method: fields[6],
            unpacked: le32(fields, 16)? as usize,
            packed: le32(fields, 20)? as usize,
            filter: fields[28],
            marker: fields[29],
            machine,
            first_address,
        };
        let stream_end = (at + PACK_HEADER).checked_add(header.packed)?;
        if FORMATS.contains(&fields[5])
            && header.unpacked > 0
            && header.packed > 0
            && header.packed <= header.unpacked
            && stream_end <= data.len()
        {
            return Some(header);
        }
    }
    None
}

/// Unpacks the PE file `data` into its memory image, paying its size from
/// `budget` first.
pub fn unpack(data: &[u8], budget: &ExpansionBudget) -> Result<Unpacked, Failure> {
    let header =
        pack_header(data).ok_or_else(|| broken("no UPX pack header after the sections"))?;
    if !budget.pay(header.unpacked as u64) {
        return Err(Failure::Spent);
    }
    let mut bytes = vec![0u8; header.unpacked];
    let start = header.at + PACK_HEADER;
    decode(
        header.method,
        &data[start..start + header.packed],
        &mut bytes,
        start,
    )?;
    if header.filter != 0
        && let Some(code) = code_range(&bytes, &header)
    {
        filter::unfilter(header.filter, header.marker, &mut bytes[code]);
    }
    Ok(Unpacked {
        decoded: bytes.len(),
        bytes,
        problem: None,
    })
}

/// The code range of `image` that the original PE header at its end
/// states (`BaseOfCode`, `SizeOfCode`), relative to the first section.
fn code_range(image: &[u8], header: &PackHeader) -> Option<Range<usize>> {
    let mut end = image.len();
    while let Some(at) = image[..end].windows(4).rposition(|w| w == b"PE\0\0") {
        end = at;
        let optional = at + 24;
        let magic = le16(image, optional);
        if le16(image, at + 4) != Some(header.machine) || !matches!(magic, Some(0x10b | 0x20b)) {
            continue;
        }
        let size = le32(image, optional + 4)? as usize;
        let base = le32(image, optional + 20)?.checked_sub(header.first_address)? as usize;
        let stop = base.saturating_add(size).min(image.len());
        return (base < stop).then_some(base..stop);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Packed by Debian's upx-ucl 4.2.4 from `testdata/hello.c`, built by
    /// mingw-w64 for win64 (`testdata/make.sh`): NRV2B, filter 0x49.
    const WIN64: &[u8] = include_bytes!("testdata/hello.exe.upx");

    fn budget() -> ExpansionBudget {
        ExpansionBudget::new(64 << 20)
    }

    #[test]
    fn a_packed_pe_file_unpacks_to_its_image() {
        let header = pack_header(WIN64).expect("packed");
        assert_eq!(header.filter, 0x49);
        let out = unpack(WIN64, &budget()).unwrap();
        assert_eq!(out.problem, None);
        let greeting = b"hello from an unpacked program";
        assert!(out.bytes.windows(greeting.len()).any(|w| w == greeting));
        assert!(code_range(&out.bytes, &header).is_some_and(|code| code.start == 0));
    }

    #[test]
    fn hostile_pe_files_are_failures() {
        let header = pack_header(WIN64).unwrap();
        let sizes = header.at + 20;
        for value in [0u32, 1, u32::MAX, 0x7fff_ffff] {
            for field in [sizes - 4, sizes] {
                let mut bad = WIN64.to_vec();
                bad[field..field + 4].copy_from_slice(&value.to_le_bytes());
                let _ = unpack(&bad, &budget());
            }
        }
        let mut huge = WIN64.to_vec();
        huge[sizes - 4..sizes].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
        assert_eq!(unpack(&huge, &budget()).unwrap_err(), Failure::Spent);
        let stream_end = header.at + PACK_HEADER + header.packed;
        for cut in (0..stream_end).step_by(11) {
            assert!(unpack(&WIN64[..cut], &budget()).is_err(), "cut {cut}");
        }
        for i in header.at..header.at + 200 {
            let mut flipped = WIN64.to_vec();
            flipped[i] ^= 0x5a;
            let _ = unpack(&flipped, &budget());
        }
        assert!(pack_header(b"MZ").is_none());
    }
}
