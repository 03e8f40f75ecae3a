//! ext directory entries, as they lie in a directory's blocks (linear and
//! hash-indexed directories alike: an index's nodes read as empty
//! entries) or in an inline directory's bytes. Each entry's record length
//! is checked against the space it is in.

use std::io;

/// The entries of one directory block or inline area, appended to `out`
/// as (name, inode number); `.` and `..` and empty slots are left out.
/// `typed` says the name length is one byte (the `filetype` feature).
pub fn entries(
    area: &[u8],
    block_size: u64,
    typed: bool,
    out: &mut Vec<(Vec<u8>, u64)>,
) -> io::Result<()> {
    let mut at = 0;
    while at + 8 <= area.len() {
        let ino = u64::from(u32::from_le_bytes(area[at..at + 4].try_into().unwrap()));
        let rec_len = record_length(u16::from_le_bytes([area[at + 4], area[at + 5]]), block_size);
        let name_len = if typed {
            usize::from(area[at + 6])
        } else {
            usize::from(u16::from_le_bytes([area[at + 6], area[at + 7]]))
        };
        if rec_len < 8 || !rec_len.is_multiple_of(4) || at + rec_len > area.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a directory entry at {at} with record length {rec_len} does not fit"),
            ));
        }
        if ino != 0 && name_len > 0 && 8 + name_len <= rec_len {
            let name = &area[at + 8..at + 8 + name_len];
            if !matches!(name, b"." | b"..") {
                out.push((name.to_vec(), ino));
            }
        }
        at += rec_len;
    }
    Ok(())
}

/// A record length as stored: blocks of 64 KiB and more store their full
/// length as 0 or 65535, and longer lengths keep bits 16-17 in the low two.
fn record_length(stored: u16, block_size: u64) -> usize {
    let stored = usize::from(stored);
    if block_size < 65536 {
        return stored;
    }
    if stored == 0 || stored == 65535 {
        return block_size as usize;
    }
    (stored & 65532) | ((stored & 3) << 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(ino: u32, rec_len: u16, name: &[u8]) -> Vec<u8> {
        let mut e = ino.to_le_bytes().to_vec();
        e.extend(rec_len.to_le_bytes());
        e.extend([name.len() as u8, 1]);
        e.extend(name);
        e.resize(usize::from(rec_len), 0);
        e
    }

    #[test]
    fn entries_and_empty_slots_read_and_overruns_are_refused() {
        let mut block = entry(2, 12, b".");
        block.extend(entry(2, 12, b".."));
        block.extend(entry(0, 16, b"gone"));
        block.extend(entry(12, 24, b"bin"));
        block.extend(entry(13, 960, b"etc"));
        let mut out = Vec::new();
        entries(&block, 1024, true, &mut out).unwrap();
        assert_eq!(out, [(b"bin".to_vec(), 12), (b"etc".to_vec(), 13)]);
        let mut bad = entry(12, 16, b"x");
        bad[4..6].copy_from_slice(&200u16.to_le_bytes());
        assert!(entries(&bad, 1024, true, &mut Vec::new()).is_err());
        assert_eq!(record_length(0, 65536), 65536);
        assert_eq!(record_length(1, 262144), 65536);
    }
}
