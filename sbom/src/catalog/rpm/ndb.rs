//! rpm's ndb `Packages.db` (SUSE): rpm's own package store, read here
//! without rpm.
//!
//! All integers are little-endian. The file opens with a 32-byte header:
//! magic `RpmP`, format version 0, a generation counter, the number of
//! 4 KiB slot pages, the next package index. The slot pages (the header
//! takes the first two slots) hold 16-byte slots: magic `Slot`, package
//! index, offset and length of its blob in 16-byte blocks; offset 0 marks a
//! free slot. A blob is a 16-byte head (`BlbS`, package index, timestamp,
//! length), the header blob, zero padding to a block, and a 12-byte tail
//! (adler32 of everything before it, length again, `BlbE`). Every field is
//! checked against the others and the file, the checksum included.

use super::CatalogError;

const SLOT_PAGE: usize = 4096;
const SLOT_SIZE: usize = 16;
const BLOCK: usize = 16;
const HEAD: usize = 16;
const TAIL: usize = 12;

/// True when `content` starts with the ndb header magic.
pub(super) fn detect(content: &[u8]) -> bool {
    content.starts_with(b"RpmP")
}

fn le32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn err(reason: String) -> CatalogError {
    CatalogError::RpmNdb(reason)
}

/// Adler-32 (RFC 1950), rpm's blob checksum.
fn adler32(bytes: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    // 5552 bytes is the most that cannot overflow `b` before reducing.
    for chunk in bytes.chunks(5552) {
        for byte in chunk {
            a += u32::from(*byte);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

/// Every `(package index, header blob)` of the database, in slot order.
pub fn blobs(content: &[u8]) -> Result<Vec<(u32, Vec<u8>)>, CatalogError> {
    if content.len() < 32 || !detect(content) {
        return Err(err("no `RpmP` header".into()));
    }
    let version = le32(content, 4);
    if version != 0 {
        return Err(err(format!("unknown format version `{version}`")));
    }
    let slot_pages = le32(content, 12) as usize;
    let slots_end = slot_pages
        .checked_mul(SLOT_PAGE)
        .filter(|end| slot_pages > 0 && *end <= content.len())
        .ok_or_else(|| {
            err(format!(
                "`{slot_pages}` slot pages do not fit the `{}`-byte file",
                content.len()
            ))
        })?;
    let first_block = slots_end / BLOCK;
    let blocks = content.len() / BLOCK;
    let mut blobs = Vec::new();
    for (slot, raw) in content[..slots_end]
        .chunks_exact(SLOT_SIZE)
        .enumerate()
        .skip(32 / SLOT_SIZE)
    {
        if &raw[..4] != b"Slot" {
            return Err(err(format!("slot `{slot}` lacks its `Slot` magic")));
        }
        let (index, offset, count) = (le32(raw, 4), le32(raw, 8) as usize, le32(raw, 12) as usize);
        if offset == 0 {
            continue;
        }
        if index == 0 || count == 0 || offset < first_block {
            return Err(err(format!(
                "slot `{slot}` is malformed (package `{index}`, block `{offset}`, `{count}` blocks)"
            )));
        }
        if offset.checked_add(count).is_none_or(|end| end > blocks) {
            return Err(err(format!(
                "blob of package `{index}` (block `{offset}`, `{count}` blocks) is past the end of the file"
            )));
        }
        blobs.push((
            index,
            blob(&content[offset * BLOCK..(offset + count) * BLOCK], index)?,
        ));
    }
    Ok(blobs)
}

/// The header blob inside the `area` a slot points at.
fn blob(area: &[u8], index: u32) -> Result<Vec<u8>, CatalogError> {
    if area.len() < HEAD + TAIL || &area[..4] != b"BlbS" || le32(area, 4) != index {
        return Err(err(format!("blob of package `{index}` has no valid head")));
    }
    let len = le32(area, 12) as usize;
    if (HEAD + len + TAIL).div_ceil(BLOCK) * BLOCK != area.len() {
        return Err(err(format!(
            "blob of package `{index}` claims `{len}` bytes in `{}` blocks",
            area.len() / BLOCK
        )));
    }
    let tail = &area[area.len() - TAIL..];
    if le32(tail, 4) as usize != len || &tail[8..] != b"BlbE" {
        return Err(err(format!("blob of package `{index}` has no valid tail")));
    }
    if adler32(&area[..area.len() - TAIL]) != le32(tail, 0) {
        return Err(err(format!("blob of package `{index}` fails its checksum")));
    }
    Ok(area[HEAD..HEAD + len].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NDB: &[u8] = include_bytes!("testdata/Packages.db");

    #[test]
    fn holds_the_sqlite_blobs() {
        let mut expected = super::super::sqlite::blobs(super::super::tests::SQLITE).unwrap();
        expected.sort();
        let mut got = blobs(NDB).unwrap();
        got.sort();
        assert_eq!(got, expected);
    }

    #[test]
    fn adler32_matches_rfc_1950() {
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        assert_eq!(adler32(&[0xff; 100_000]), {
            let (mut a, mut b) = (1u64, 0u64);
            for _ in 0..100_000 {
                a = (a + 0xff) % 65521;
                b = (b + a) % 65521;
            }
            ((b << 16) | a) as u32
        });
    }

    /// Byte offset of the first used slot.
    fn first_slot() -> usize {
        (32..SLOT_PAGE)
            .step_by(SLOT_SIZE)
            .find(|at| le32(NDB, at + 8) != 0)
            .unwrap()
    }

    fn reason(content: &[u8]) -> String {
        blobs(content).unwrap_err().to_string()
    }

    #[test]
    fn hostile_files_are_errors() {
        assert!(
            reason(&NDB[..NDB.len() - 100]).contains("past the end"),
            "truncated"
        );
        assert!(reason(&NDB[..1000]).contains("slot pages do not fit"));
        let mut content = NDB.to_vec();
        content[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(reason(&content).contains("slot pages do not fit"));
        let mut content = NDB.to_vec();
        content[4] = 1;
        assert!(reason(&content).contains("version `1`"));
        let slot = first_slot();
        let mut content = NDB.to_vec();
        content[slot + 8..slot + 12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(reason(&content).contains("past the end"), "block offset");
        let mut content = NDB.to_vec();
        content[slot + 8..slot + 12].copy_from_slice(&1u32.to_le_bytes());
        assert!(
            reason(&content).contains("malformed"),
            "blob inside the slot pages"
        );
        let mut content = NDB.to_vec();
        content[slot..slot + 4].copy_from_slice(b"Slob");
        assert!(reason(&content).contains("lacks its `Slot` magic"));
        let blob_at = le32(NDB, slot + 8) as usize * BLOCK;
        let mut content = NDB.to_vec();
        content[blob_at + 12..blob_at + 16].copy_from_slice(&1_000_000u32.to_le_bytes());
        assert!(reason(&content).contains("claims `1000000` bytes"));
        let mut content = NDB.to_vec();
        content[blob_at + HEAD + 20] ^= 0x55;
        assert!(reason(&content).contains("checksum"));
    }
}
