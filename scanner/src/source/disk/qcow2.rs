//! qcow2 images (versions 2 and 3), read as their virtual disk: the L1
//! table maps each virtual cluster to an L2 table, whose entries give the
//! host offset of a plain cluster, a compressed cluster (deflate, or zstd
//! when the header says so), an all-zero cluster, or nothing (zeros).
//!
//! Refused: backing files and external data files (they name other files
//! of the host, which are not the target), encryption, extended L2
//! entries. Every table size and offset comes from the file and is
//! checked before it is used; a compressed cluster inflates to at most one
//! cluster.

use super::device::{BoxedDevice, Device, Format, check_range, inflate};
use super::error::DiskError;
use super::inflated::InflatedCache;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

const MAGIC: &[u8; 4] = b"QFI\xfb";
/// Most bytes of L1 table read (enough for disks of many TiB).
const MAX_L1_BYTES: u64 = 32 << 20;
/// L2 tables kept in memory at once.
const L2_CACHE: usize = 64;
/// Bytes of inflated compressed clusters kept in memory (at least one
/// cluster): enough for a filesystem's reader threads, which read in
/// several places at once, not to inflate the same cluster over and over.
const INFLATED_CACHE_BYTES: u64 = 16 << 20;
const OFFSET_MASK: u64 = 0x00ff_ffff_ffff_fe00;
const COMPRESSED: u64 = 1 << 62;
const ZERO: u64 = 1;

/// An open qcow2 image.
pub struct Qcow2 {
    file: File,
    file_size: u64,
    cluster_bits: u32,
    size: u64,
    /// The L1 table, shared by every handle (it is only read).
    l1: Arc<[u64]>,
    zstd: bool,
    l2_cache: HashMap<u64, Vec<u64>>,
    /// Compressed clusters inflated lately, shared by every handle: a
    /// filesystem reads metadata and data blocks by turns.
    inflated: Arc<InflatedCache>,
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}

fn be_u64(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().unwrap())
}

impl Qcow2 {
    /// Reads and checks the header and the L1 table.
    pub fn open(file: File, file_size: u64) -> Result<Self, DiskError> {
        let mut header = [0u8; 112];
        let n = file
            .read_at(&mut header, 0)
            .map_err(|e| Format::Qcow2.error(format!("qcow2 header: {e}")))?;
        if n < 72 || &header[..4] != MAGIC {
            return Err(Format::Qcow2.error("qcow2 header is truncated"));
        }
        let version = be_u32(&header, 4);
        if !(2..=3).contains(&version) {
            return Err(Format::Qcow2.error(format!("qcow2 version {version} is not supported")));
        }
        if be_u64(&header, 8) != 0 {
            return Err(Format::Qcow2.error(
                "qcow2 image with a backing file: it names another file of the host; \
                 flatten it first (`qemu-img convert -O qcow2 DISK flat.qcow2`)",
            ));
        }
        let cluster_bits = be_u32(&header, 20);
        if !(9..=21).contains(&cluster_bits) {
            return Err(
                Format::Qcow2.error(format!("qcow2 cluster_bits {cluster_bits} is out of range"))
            );
        }
        let size = be_u64(&header, 24);
        if be_u32(&header, 32) != 0 {
            return Err(Format::Qcow2.error("encrypted qcow2 images are not read"));
        }
        let mut zstd = false;
        if version == 3 {
            if n < 104 {
                return Err(Format::Qcow2.error("qcow2 v3 header is truncated"));
            }
            let incompatible = be_u64(&header, 72);
            if incompatible & (1 << 2) != 0 {
                return Err(
                    Format::Qcow2.error("qcow2 image with an external data file is not read")
                );
            }
            if incompatible & (1 << 4) != 0 {
                return Err(Format::Qcow2.error("qcow2 extended L2 entries are not supported"));
            }
            if incompatible & !0b1111 != 0 {
                return Err(Format::Qcow2.error(format!(
                    "qcow2 incompatible features {incompatible:#x} are not supported"
                )));
            }
            let header_length = be_u32(&header, 100);
            if incompatible & (1 << 3) != 0 {
                if header_length <= 104 || n <= 104 {
                    return Err(Format::Qcow2.error("qcow2 header lacks its compression type"));
                }
                zstd = match header[104] {
                    0 => false,
                    1 => true,
                    other => {
                        return Err(Format::Qcow2
                            .error(format!("qcow2 compression type {other} is unknown")));
                    }
                };
            }
        }
        let l1_size = u64::from(be_u32(&header, 36));
        let l1_offset = be_u64(&header, 40);
        let cluster = 1u64 << cluster_bits;
        let per_l2 = cluster / 8;
        let needed = size.div_ceil(cluster).div_ceil(per_l2);
        if l1_size < needed {
            return Err(Format::Qcow2.error(format!(
                "qcow2 L1 table of {l1_size} entries is too small for a {size}-byte disk"
            )));
        }
        let l1_bytes = l1_size * 8;
        if l1_bytes > MAX_L1_BYTES {
            return Err(
                Format::Qcow2.error(format!("qcow2 L1 table of {l1_bytes} bytes is too large"))
            );
        }
        check_range(l1_offset, l1_bytes as usize, file_size)
            .map_err(|_| Format::Qcow2.error("qcow2 L1 table lies past the end of the file"))?;
        let mut raw = vec![0u8; l1_bytes as usize];
        file.read_exact_at(&mut raw, l1_offset)
            .map_err(|e| Format::Qcow2.error(format!("qcow2 L1 table: {e}")))?;
        let l1 = raw.chunks_exact(8).map(|c| be_u64(c, 0)).collect();
        Ok(Qcow2 {
            file,
            file_size,
            cluster_bits,
            size,
            l1,
            zstd,
            l2_cache: HashMap::new(),
            inflated: InflatedCache::new(INFLATED_CACHE_BYTES, cluster),
        })
    }

    fn cluster_size(&self) -> u64 {
        1 << self.cluster_bits
    }

    fn bad(&self, what: String) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, format!("qcow2: {what}"))
    }

    /// The L2 entry for the virtual cluster `index`, 0 when unallocated.
    fn l2_entry(&mut self, index: u64) -> io::Result<u64> {
        let per_l2 = self.cluster_size() / 8;
        let l1_index = (index / per_l2) as usize;
        let table = self.l1.get(l1_index).copied().unwrap_or(0) & OFFSET_MASK;
        if table == 0 {
            return Ok(0);
        }
        if !self.l2_cache.contains_key(&table) {
            let cluster = self.cluster_size();
            if !table.is_multiple_of(cluster) {
                return Err(self.bad(format!("L2 table at {table} is not cluster-aligned")));
            }
            check_range(table, cluster as usize, self.file_size)
                .map_err(|_| self.bad(format!("L2 table at {table} lies past the file's end")))?;
            let mut raw = vec![0u8; cluster as usize];
            self.file.read_exact_at(&mut raw, table)?;
            if self.l2_cache.len() >= L2_CACHE {
                self.l2_cache.clear();
            }
            self.l2_cache
                .insert(table, raw.chunks_exact(8).map(|c| be_u64(c, 0)).collect());
        }
        Ok(self.l2_cache[&table][(index % per_l2) as usize])
    }

    /// Copies `buf.len()` bytes of virtual cluster `index` from `within`.
    fn read_cluster(&mut self, index: u64, within: u64, buf: &mut [u8]) -> io::Result<()> {
        let entry = self.l2_entry(index)?;
        if entry & COMPRESSED != 0 {
            let data = self.inflate(entry)?;
            buf.copy_from_slice(&data[within as usize..within as usize + buf.len()]);
            return Ok(());
        }
        let host = entry & OFFSET_MASK;
        if entry & ZERO != 0 || host == 0 {
            buf.fill(0);
            return Ok(());
        }
        if !host.is_multiple_of(self.cluster_size()) {
            return Err(self.bad(format!("data cluster at {host} is not cluster-aligned")));
        }
        let at = host + within;
        check_range(at, buf.len(), self.file_size)
            .map_err(|_| self.bad(format!("data cluster at {host} lies past the file's end")))?;
        self.file.read_exact_at(buf, at)
    }

    /// The bytes of a compressed cluster, inflated to exactly one cluster.
    fn inflate(&self, entry: u64) -> io::Result<Arc<[u8]>> {
        self.inflated.get(entry, || self.inflate_uncached(entry))
    }

    fn inflate_uncached(&self, entry: u64) -> io::Result<Vec<u8>> {
        let x = 62 - (self.cluster_bits - 8);
        let offset = entry & ((1u64 << x) - 1);
        let sectors = ((entry & !COMPRESSED & !(1 << 63)) >> x) + 1;
        let stored = (sectors * 512).saturating_sub(offset % 512);
        let end = offset.saturating_add(stored).min(self.file_size);
        if offset >= end {
            return Err(self.bad(format!("compressed cluster at {offset} lies past the end")));
        }
        let mut raw = vec![0u8; (end - offset) as usize];
        self.file.read_exact_at(&mut raw, offset)?;
        let cluster = self.cluster_size();
        let data = if self.zstd {
            let mut data = Vec::with_capacity(cluster as usize);
            zstd::stream::read::Decoder::new(&raw[..]).and_then(|mut decoder| {
                // QEMU's frames fit in a cluster's window; a crafted
                // frame may not ask for more.
                decoder.window_log_max(self.cluster_bits.max(10))?;
                decoder.take(cluster).read_to_end(&mut data)?;
                Ok(data)
            })
        } else {
            inflate(&raw, false, cluster as usize)
        };
        let data = data.map_err(|e| self.bad(format!("compressed cluster at {offset}: {e}")))?;
        if data.len() as u64 != cluster {
            return Err(self.bad(format!(
                "compressed cluster at {offset} inflates to {} bytes, not {cluster}",
                data.len()
            )));
        }
        Ok(data)
    }
}

impl Device for Qcow2 {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        check_range(offset, buf.len(), self.size)?;
        let cluster = self.cluster_size();
        let mut done = 0;
        while done < buf.len() {
            let at = offset + done as u64;
            let within = at % cluster;
            let take = ((cluster - within) as usize).min(buf.len() - done);
            self.read_cluster(at / cluster, within, &mut buf[done..done + take])?;
            done += take;
        }
        Ok(())
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn another_handle(&self) -> Option<io::Result<BoxedDevice>> {
        Some(self.file.try_clone().map(|file| {
            Box::new(Qcow2 {
                file,
                file_size: self.file_size,
                cluster_bits: self.cluster_bits,
                size: self.size,
                l1: Arc::clone(&self.l1),
                zstd: self.zstd,
                l2_cache: HashMap::new(),
                inflated: Arc::clone(&self.inflated),
            }) as BoxedDevice
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A v3 header with `edit` applied, as a file.
    fn header(edit: impl FnOnce(&mut [u8])) -> Result<Qcow2, DiskError> {
        let mut bytes = vec![0u8; 4096];
        bytes[..4].copy_from_slice(MAGIC);
        bytes[4..8].copy_from_slice(&3u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&16u32.to_be_bytes());
        bytes[24..32].copy_from_slice(&(1u64 << 20).to_be_bytes());
        bytes[36..40].copy_from_slice(&1u32.to_be_bytes());
        bytes[40..48].copy_from_slice(&1024u64.to_be_bytes());
        bytes[100..104].copy_from_slice(&104u32.to_be_bytes());
        edit(&mut bytes);
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&bytes).unwrap();
        Qcow2::open(file, bytes.len() as u64)
    }

    #[test]
    fn a_sane_header_opens_and_reads_zeros() {
        let mut disk = header(|_| {}).unwrap();
        let mut buf = [7u8; 4096];
        disk.read_at(4096, &mut buf).unwrap();
        assert!(
            buf.iter().all(|&b| b == 0),
            "unallocated clusters read as zeros"
        );
        assert!(disk.read_at((1 << 20) - 1, &mut buf).is_err());
    }

    #[test]
    fn hostile_headers_are_refused() {
        let refused = |edit: fn(&mut [u8]), says: &str| {
            let err = header(edit).err().expect("refused");
            assert!(
                matches!(
                    err,
                    DiskError::Image {
                        format: Format::Qcow2,
                        ..
                    }
                ),
                "{err:?}"
            );
            assert!(err.to_string().contains(says), "{err}");
        };
        refused(
            |b| b[8..16].copy_from_slice(&512u64.to_be_bytes()),
            "backing file",
        );
        refused(
            |b| b[20..24].copy_from_slice(&40u32.to_be_bytes()),
            "cluster_bits",
        );
        refused(
            |b| b[32..36].copy_from_slice(&1u32.to_be_bytes()),
            "encrypted",
        );
        refused(|b| b[79] = 1 << 2, "external data file");
        refused(|b| b[79] = 1 << 4, "extended L2");
        refused(
            |b| b[36..40].copy_from_slice(&0u32.to_be_bytes()),
            "too small",
        );
        refused(
            |b| {
                b[24..32].copy_from_slice(&(1u64 << 50).to_be_bytes());
                b[36..40].copy_from_slice(&u32::MAX.to_be_bytes());
            },
            "too large",
        );
        refused(
            |b| b[40..48].copy_from_slice(&(1u64 << 40).to_be_bytes()),
            "past the end",
        );
    }
}
