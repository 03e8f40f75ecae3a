//! rpm's Berkeley DB `Packages` file (CentOS 7, RHEL 8, Amazon Linux 2): a
//! Berkeley DB hash database mapping a 4-byte header number to a header
//! blob, read here page by page without libdb.
//!
//! The file is an array of pages of one size. Page 0 is the hash metadata
//! page (magic `0x061561` at byte 12, which also gives the byte order, page
//! size at 20, last page number at 32). Every page starts with a 26-byte
//! header: page number (8), previous (12) and next (16) page, entry count
//! (20), free-space offset (22, on overflow pages the bytes used), type
//! (25). Hash pages (type 13, or 2 in old files) hold an array of u16 item
//! offsets after the header, items alternating key and data, each running
//! up to the previous item's offset (the first to the page end). An item
//! is its type byte then, for `H_KEYDATA` (1), the bytes; for `H_OFFPAGE`
//! (3), padding to 4, the first overflow page and the total length. The
//! bytes of an off-page item are spread over overflow pages (type 7)
//! chained by next-page numbers.
//!
//! Pages are scanned in file order, as rpm's own read-only reader does, so
//! the bucket structure need not be trusted. Every overflow page may be
//! used once: a chain that loops or shares a page is an error, which also
//! bounds the work by the file's size.

use super::CatalogError;

const HASH_MAGIC: u32 = 0x0006_1561;
const BTREE_MAGIC: u32 = 0x0005_3162;
const PAGE_HEADER: usize = 26;
const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASHMETA: u8 = 8;
const P_HASH: u8 = 13;
const H_KEYDATA: u8 = 1;
const H_DUPLICATE: u8 = 2;
const H_OFFPAGE: u8 = 3;
const H_OFFDUP: u8 = 4;

/// True when `content` starts like a Berkeley DB file of any access method.
pub(super) fn detect(content: &[u8]) -> bool {
    content.len() >= 16 && {
        let word = [content[12], content[13], content[14], content[15]];
        [HASH_MAGIC, BTREE_MAGIC]
            .iter()
            .any(|m| u32::from_le_bytes(word) == *m || u32::from_be_bytes(word) == *m)
    }
}

/// The database's byte order, pages and the pages already used by an item.
struct Db<'a> {
    content: &'a [u8],
    big_endian: bool,
    page_size: usize,
    pages: usize,
    used: Vec<bool>,
}

fn err(reason: String) -> CatalogError {
    CatalogError::RpmBerkeleyDb(reason)
}

impl<'a> Db<'a> {
    fn u16(&self, bytes: &[u8], at: usize) -> usize {
        let raw = [bytes[at], bytes[at + 1]];
        usize::from(if self.big_endian {
            u16::from_be_bytes(raw)
        } else {
            u16::from_le_bytes(raw)
        })
    }

    fn u32(&self, bytes: &[u8], at: usize) -> u32 {
        let raw = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
        if self.big_endian {
            u32::from_be_bytes(raw)
        } else {
            u32::from_le_bytes(raw)
        }
    }

    fn page(&self, pgno: usize) -> &'a [u8] {
        &self.content[pgno * self.page_size..(pgno + 1) * self.page_size]
    }

    /// The item at index `i` of a hash page.
    fn item(
        &self,
        page: &'a [u8],
        pgno: usize,
        entries: usize,
        i: usize,
    ) -> Result<&'a [u8], CatalogError> {
        let start = self.u16(page, PAGE_HEADER + 2 * i);
        let end = if i == 0 {
            self.page_size
        } else {
            self.u16(page, PAGE_HEADER + 2 * (i - 1))
        };
        if start < PAGE_HEADER + 2 * entries || start >= end || end > self.page_size {
            return Err(err(format!(
                "page `{pgno}` item `{i}` spans `{start}..{end}`, outside its page"
            )));
        }
        Ok(&page[start..end])
    }

    /// The bytes of a data item, following overflow pages when off-page.
    fn data(&mut self, item: &'a [u8], pgno: usize) -> Result<Vec<u8>, CatalogError> {
        match item[0] {
            H_KEYDATA => Ok(item[1..].to_vec()),
            H_OFFPAGE if item.len() >= 12 => {
                let first = self.u32(item, 4) as usize;
                let total = self.u32(item, 8) as usize;
                self.overflow(first, total)
            }
            H_OFFPAGE => Err(err(format!(
                "page `{pgno}` has an off-page item of `{}` bytes",
                item.len()
            ))),
            H_DUPLICATE | H_OFFDUP => Err(err(format!(
                "page `{pgno}` holds duplicate data items, which rpm never writes"
            ))),
            other => Err(err(format!(
                "page `{pgno}` has an item of unknown type `{other}`"
            ))),
        }
    }

    /// Reads `total` bytes from the overflow chain starting at `first`.
    fn overflow(&mut self, first: usize, total: usize) -> Result<Vec<u8>, CatalogError> {
        if total > self.content.len() {
            return Err(err(format!(
                "off-page item claims `{total}` bytes, more than the file holds"
            )));
        }
        let mut out = Vec::with_capacity(total);
        let mut pgno = first;
        while out.len() < total {
            if pgno == 0 {
                return Err(err(format!(
                    "overflow chain ends after `{}` of `{total}` bytes",
                    out.len()
                )));
            }
            if pgno >= self.pages {
                return Err(err(format!(
                    "overflow page `{pgno}` is past the end of the `{}` pages",
                    self.pages
                )));
            }
            if std::mem::replace(&mut self.used[pgno], true) {
                return Err(err(format!(
                    "overflow page `{pgno}` is reached twice (a cycle or a shared page)"
                )));
            }
            let page = self.page(pgno);
            if page[25] != P_OVERFLOW {
                return Err(err(format!(
                    "page `{pgno}` in an overflow chain has type `{}`",
                    page[25]
                )));
            }
            let len = self.u16(page, 22);
            if PAGE_HEADER + len > self.page_size || out.len() + len > total {
                return Err(err(format!(
                    "overflow page `{pgno}` claims `{len}` bytes, beyond its page or item"
                )));
            }
            out.extend_from_slice(&page[PAGE_HEADER..PAGE_HEADER + len]);
            pgno = self.u32(page, 16) as usize;
        }
        Ok(out)
    }
}

/// Every `(header number, header blob)` of the database, in page order;
/// rpm's record 0 (the next header number) is left out.
pub fn blobs(content: &[u8]) -> Result<Vec<(u32, Vec<u8>)>, CatalogError> {
    if content.len() < 512 {
        return Err(err(format!(
            "file of `{}` bytes is too short for a metadata page",
            content.len()
        )));
    }
    let magic = [content[12], content[13], content[14], content[15]];
    let big_endian = if u32::from_le_bytes(magic) == HASH_MAGIC {
        false
    } else if u32::from_be_bytes(magic) == HASH_MAGIC {
        true
    } else if u32::from_le_bytes(magic) == BTREE_MAGIC || u32::from_be_bytes(magic) == BTREE_MAGIC {
        return Err(err(
            "a btree database: rpm's `Packages` is a hash database".into()
        ));
    } else {
        return Err(err("no hash magic".into()));
    };
    let mut db = Db {
        content,
        big_endian,
        page_size: 0,
        pages: 0,
        used: Vec::new(),
    };
    let page_size = db.u32(content, 20) as usize;
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(err(format!(
            "page size `{page_size}` is not a power of two from 512 to 65536"
        )));
    }
    if content[24] != 0 {
        return Err(err("the database is encrypted".into()));
    }
    if content[25] != P_HASHMETA {
        return Err(err(format!(
            "page 0 has type `{}`, not hash metadata",
            content[25]
        )));
    }
    if content[26] & 1 != 0 {
        return Err(err(
            "pages carry checksums, which rpm databases do not use".into()
        ));
    }
    db.page_size = page_size;
    db.pages = content.len() / page_size;
    let last = db.u32(content, 32) as usize;
    if last >= db.pages {
        return Err(err(format!(
            "last page `{last}` is past the end of the `{}` pages in the file",
            db.pages
        )));
    }
    db.used = vec![false; db.pages];
    let mut blobs = Vec::new();
    for pgno in 1..=last {
        let page = db.page(pgno);
        if page[25] != P_HASH && page[25] != P_HASH_UNSORTED {
            continue;
        }
        let entries = db.u16(page, 20);
        if !entries.is_multiple_of(2) || PAGE_HEADER + 2 * entries > page_size {
            return Err(err(format!("hash page `{pgno}` claims `{entries}` items")));
        }
        for pair in 0..entries / 2 {
            let key = db.item(page, pgno, entries, 2 * pair)?;
            let data = db.item(page, pgno, entries, 2 * pair + 1)?;
            if key[0] != H_KEYDATA || key.len() != 5 {
                return Err(err(format!(
                    "page `{pgno}` has a key that is not a 4-byte header number"
                )));
            }
            let number = db.u32(key, 1);
            let blob = db.data(data, pgno)?;
            if number != 0 {
                blobs.push((number, blob));
            }
        }
    }
    Ok(blobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LITTLE: &[u8] = include_bytes!("testdata/Packages");
    const BIG: &[u8] = include_bytes!("testdata/Packages.be");

    fn sorted(mut blobs: Vec<(u32, Vec<u8>)>) -> Vec<(u32, Vec<u8>)> {
        blobs.sort();
        blobs
    }

    #[test]
    fn both_byte_orders_hold_the_sqlite_blobs() {
        let expected = sorted(super::super::sqlite::blobs(super::super::tests::SQLITE).unwrap());
        assert!(expected.len() >= 20);
        assert_eq!(sorted(blobs(LITTLE).unwrap()), expected);
        assert_eq!(sorted(blobs(BIG).unwrap()), expected);
    }

    /// Page size and byte order of a fixture, and the first overflow page
    /// whose chain continues.
    fn chained_overflow_page(content: &[u8], big_endian: bool) -> (usize, usize, bool) {
        let db = Db {
            content,
            big_endian,
            page_size: 0,
            pages: 0,
            used: Vec::new(),
        };
        let page_size = db.u32(content, 20) as usize;
        let db = Db { page_size, ..db };
        let pgno = (1..content.len() / page_size)
            .find(|p| {
                let page = db.page(*p);
                page[25] == P_OVERFLOW && db.u32(page, 16) != 0
            })
            .expect("a fixture with a chained overflow page");
        (page_size, pgno, big_endian)
    }

    fn set_u32(content: &mut [u8], at: usize, value: u32, big_endian: bool) {
        let bytes = if big_endian {
            value.to_be_bytes()
        } else {
            value.to_le_bytes()
        };
        content[at..at + 4].copy_from_slice(&bytes);
    }

    #[test]
    fn overflow_cycle_is_an_error() {
        for (fixture, big_endian) in [(LITTLE, false), (BIG, true)] {
            let (page_size, pgno, _) = chained_overflow_page(fixture, big_endian);
            let mut content = fixture.to_vec();
            set_u32(&mut content, pgno * page_size + 16, pgno as u32, big_endian);
            let reason = blobs(&content).unwrap_err().to_string();
            assert!(reason.contains("reached twice"), "{reason}");
        }
    }

    #[test]
    fn overflow_page_past_the_end_is_an_error() {
        let (page_size, pgno, big_endian) = chained_overflow_page(LITTLE, false);
        let mut content = LITTLE.to_vec();
        set_u32(&mut content, pgno * page_size + 16, 1_000_000, big_endian);
        let reason = blobs(&content).unwrap_err().to_string();
        assert!(reason.contains("`1000000` is past the end"), "{reason}");
    }

    #[test]
    fn truncated_file_is_an_error() {
        let reason = blobs(&LITTLE[..LITTLE.len() / 2]).unwrap_err().to_string();
        assert!(reason.contains("past the end"), "{reason}");
        assert!(
            blobs(&LITTLE[..100])
                .unwrap_err()
                .to_string()
                .contains("too short")
        );
    }

    #[test]
    fn bad_metadata_is_an_error() {
        let mut content = LITTLE.to_vec();
        set_u32(&mut content, 20, 1000, false);
        assert!(
            blobs(&content)
                .unwrap_err()
                .to_string()
                .contains("page size `1000`")
        );
        let mut content = LITTLE.to_vec();
        set_u32(&mut content, 12, BTREE_MAGIC, false);
        assert!(blobs(&content).unwrap_err().to_string().contains("btree"));
        let mut content = LITTLE.to_vec();
        content[24] = 1;
        assert!(
            blobs(&content)
                .unwrap_err()
                .to_string()
                .contains("encrypted")
        );
    }

    /// A one-bucket database of 512-byte pages, written by hand, holding
    /// `blob` on the hash page itself (`H_KEYDATA`) under key 7.
    fn on_page(blob: &[u8], big_endian: bool) -> Vec<u8> {
        let mut content = vec![0u8; 1024];
        let put32 = |c: &mut [u8], at: usize, v: u32| set_u32(c, at, v, big_endian);
        let put16 = |c: &mut [u8], at: usize, v: u16| {
            let bytes = if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            };
            c[at..at + 2].copy_from_slice(&bytes);
        };
        put32(&mut content, 12, HASH_MAGIC);
        put32(&mut content, 16, 9);
        put32(&mut content, 20, 512);
        content[25] = P_HASHMETA;
        put32(&mut content, 32, 1);
        let page = 512;
        put32(&mut content, page + 8, 1);
        put16(&mut content, page + 20, 2);
        content[page + 25] = P_HASH;
        let key_at = 512 - 5;
        let data_at = key_at - 1 - blob.len();
        put16(&mut content, page + PAGE_HEADER, key_at as u16);
        put16(&mut content, page + PAGE_HEADER + 2, data_at as u16);
        content[page + key_at] = H_KEYDATA;
        put32(&mut content, page + key_at + 1, 7);
        content[page + data_at] = H_KEYDATA;
        content[page + data_at + 1..page + key_at].copy_from_slice(blob);
        content
    }

    #[test]
    fn on_page_data_items() {
        for big_endian in [false, true] {
            let content = on_page(b"a small header", big_endian);
            assert_eq!(
                blobs(&content).unwrap(),
                vec![(7, b"a small header".to_vec())]
            );
        }
    }

    #[test]
    fn lying_item_offsets_are_errors() {
        let page_size = 1024;
        let pgno = (1..LITTLE.len() / page_size)
            .find(|p| LITTLE[p * page_size + 25] == P_HASH)
            .unwrap();
        let mut content = LITTLE.to_vec();
        // First item offset pointing into the page header.
        content[pgno * page_size + PAGE_HEADER..][..2].copy_from_slice(&3u16.to_le_bytes());
        assert!(
            blobs(&content)
                .unwrap_err()
                .to_string()
                .contains("outside its page")
        );
        let mut content = LITTLE.to_vec();
        content[pgno * page_size + 20..][..2].copy_from_slice(&u16::MAX.to_le_bytes());
        assert!(
            blobs(&content)
                .unwrap_err()
                .to_string()
                .contains("claims `65535` items")
        );
    }
}
