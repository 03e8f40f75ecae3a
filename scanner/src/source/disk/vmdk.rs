//! VMDK images (VMware's, the format vSphere, Alibaba Cloud and OVAs use),
//! read as their virtual disk. A sparse extent (`KDMV`) maps grains of
//! sectors through a grain directory and grain tables; a streamOptimized
//! extent compresses each grain (zlib, behind a small marker) and keeps its
//! directory in a footer at the end. A descriptor file names its extents —
//! flat files, sparse files or zeros — which must sit beside it in the same
//! directory: a name with a `/` is refused, so nothing outside is opened.
//! Differencing disks (a parent) are refused, like qcow2 backing files.

use super::device::{
    BoxedDevice, Device, Format, Raw, bad_data, check_range, inflate, read_in_blocks,
};
use super::error::DiskError;
use super::inflated::InflatedCache;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;

const SECTOR: u64 = 512;
const GD_AT_END: u64 = u64::MAX;
const COMPRESSED_GRAINS: u32 = 1 << 16;
const MARKERS: u32 = 1 << 17;
/// Largest grain directory read (enough for disks of many TiB).
const MAX_GD_BYTES: u64 = 32 << 20;
/// Largest grain: 32 MiB (VMware uses 64 KiB).
const MAX_GRAIN_SECTORS: u64 = 1 << 16;
const MAX_GTES_PER_GT: u32 = 1 << 16;
/// Grain tables kept in memory at once.
const TABLE_CACHE: usize = 64;
/// Bytes of inflated grains kept in memory (at least one grain): enough
/// for a filesystem's reader threads, which read in several places at
/// once, not to inflate the same grain over and over.
const GRAIN_CACHE_BYTES: u64 = 16 << 20;
/// Largest descriptor file read, and most extents it may name.
const MAX_DESCRIPTOR: u64 = 1 << 20;
const MAX_EXTENTS: usize = 1024;

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// A sparse or streamOptimized extent.
struct Sparse {
    image: BoxedDevice,
    size: u64,
    grain: u64,
    per_table: u64,
    /// The grain directory, shared by every handle (it is only read).
    directory: Arc<[u32]>,
    compressed: bool,
    tables: HashMap<u32, Vec<u32>>,
    /// Grains inflated lately, shared by every handle.
    grains: Arc<InflatedCache>,
}

/// Opens the sparse extent whose bytes are `image`.
pub fn open_sparse(image: BoxedDevice) -> Result<BoxedDevice, DiskError> {
    Sparse::open(image).map(|s| Box::new(s) as BoxedDevice)
}

impl Sparse {
    fn open(mut image: BoxedDevice) -> Result<Self, DiskError> {
        let file_size = image.size();
        let mut header = [0u8; 512];
        check_range(0, header.len(), file_size)
            .map_err(|_| Format::VmdkSparse.error("VMDK sparse header is truncated"))?;
        image
            .read_at(0, &mut header)
            .map_err(|e| Format::VmdkSparse.error(format!("VMDK header: {e}")))?;
        let version = le_u32(&header, 4);
        if !(1..=3).contains(&version) {
            return Err(
                Format::VmdkSparse.error(format!("VMDK sparse version {version} is not supported"))
            );
        }
        if le_u32(&header, 8) & MARKERS != 0 {
            // streamOptimized: an end-of-stream marker (a zero sector)
            // closes the file, after a footer (a copy of the header that
            // knows where the directory is) when the header does not.
            let mut ending = [0u8; 1024];
            let at_end = le_u64(&header, 56) == GD_AT_END;
            let whole = file_size >= 1536
                && image.read_at(file_size - 1024, &mut ending).is_ok()
                && ending[512..].iter().all(|&b| b == 0)
                && (!at_end || ending.starts_with(b"KDMV"));
            if !whole {
                return Err(
                    Format::VmdkSparse.error("streamOptimized VMDK without its end-of-stream marker or footer: the file is truncated"),
                );
            }
            if at_end {
                header.copy_from_slice(&ending[..512]);
            }
        }
        if le_u64(&header, 56) == GD_AT_END {
            return Err(Format::VmdkSparse
                .error("VMDK whose grain directory is nowhere: the file is truncated"));
        }
        refuse_a_parent(image.as_mut(), &header)?;
        let flags = le_u32(&header, 8);
        let capacity = le_u64(&header, 12);
        let grain = le_u64(&header, 20);
        let per_table = le_u32(&header, 44);
        let gd_at = le_u64(&header, 56);
        let compressed = flags & COMPRESSED_GRAINS != 0;
        if compressed && u16::from_le_bytes([header[77], header[78]]) != 1 {
            return Err(
                Format::VmdkSparse.error("VMDK compression other than deflate is not supported")
            );
        }
        if grain == 0 || grain > MAX_GRAIN_SECTORS {
            return Err(
                Format::VmdkSparse.error(format!("VMDK grain of {grain} sectors is not usable"))
            );
        }
        if per_table == 0 || per_table > MAX_GTES_PER_GT {
            return Err(Format::VmdkSparse.error(format!(
                "VMDK grain tables of {per_table} entries are not usable"
            )));
        }
        let size = capacity
            .checked_mul(SECTOR)
            .ok_or_else(|| Format::VmdkSparse.error("VMDK capacity overflows"))?;
        let tables = capacity.div_ceil(grain).div_ceil(u64::from(per_table));
        let gd_bytes = tables * 4;
        if gd_bytes > MAX_GD_BYTES {
            return Err(Format::VmdkSparse.error(format!(
                "VMDK grain directory of {gd_bytes} bytes is too large"
            )));
        }
        let gd_at = gd_at
            .checked_mul(SECTOR)
            .ok_or_else(|| Format::VmdkSparse.error("VMDK directory offset overflows"))?;
        check_range(gd_at, gd_bytes as usize, file_size).map_err(|_| {
            Format::VmdkSparse.error("VMDK grain directory lies past the end of the file")
        })?;
        let mut raw = vec![0u8; gd_bytes as usize];
        image
            .read_at(gd_at, &mut raw)
            .map_err(|e| Format::VmdkSparse.error(format!("VMDK grain directory: {e}")))?;
        Ok(Sparse {
            image,
            size,
            grain: grain * SECTOR,
            per_table: u64::from(per_table),
            directory: raw.chunks_exact(4).map(|c| le_u32(c, 0)).collect(),
            compressed,
            tables: HashMap::new(),
            grains: InflatedCache::new(GRAIN_CACHE_BYTES, grain * SECTOR),
        })
    }

    /// The grain table entry of grain `index`: a sector, or 0/1 for zeros.
    fn entry(&mut self, index: u64) -> io::Result<u32> {
        let table = self
            .directory
            .get((index / self.per_table) as usize)
            .copied()
            .unwrap_or(0);
        if table == 0 {
            return Ok(0);
        }
        if !self.tables.contains_key(&table) {
            let bytes = self.per_table as usize * 4;
            let at = u64::from(table) * SECTOR;
            check_range(at, bytes, self.image.size())
                .map_err(|_| bad_data("VMDK", format!("grain table at {at} lies past the end")))?;
            let mut raw = vec![0u8; bytes];
            self.image.read_at(at, &mut raw)?;
            if self.tables.len() >= TABLE_CACHE {
                self.tables.clear();
            }
            self.tables
                .insert(table, raw.chunks_exact(4).map(|c| le_u32(c, 0)).collect());
        }
        Ok(self.tables[&table][(index % self.per_table) as usize])
    }

    fn read_grain(&mut self, index: u64, within: u64, buf: &mut [u8]) -> io::Result<()> {
        let entry = self.entry(index)?;
        if entry <= 1 {
            buf.fill(0);
            return Ok(());
        }
        let at = u64::from(entry) * SECTOR;
        if !self.compressed {
            let from = at + within;
            check_range(from, buf.len(), self.image.size())
                .map_err(|_| bad_data("VMDK", format!("grain at {at} lies past the end")))?;
            return self.image.read_at(from, buf);
        }
        let grain = self.inflate(at)?;
        let from = within as usize;
        buf.copy_from_slice(&grain[from..from + buf.len()]);
        Ok(())
    }

    /// A compressed grain at `at` (a 12-byte marker: LBA and length, then
    /// a zlib stream), inflated to exactly one grain.
    fn inflate(&mut self, at: u64) -> io::Result<Arc<[u8]>> {
        let grains = Arc::clone(&self.grains);
        grains.get(at, || self.inflate_uncached(at))
    }

    fn inflate_uncached(&mut self, at: u64) -> io::Result<Vec<u8>> {
        let mut marker = [0u8; 12];
        check_range(at, marker.len(), self.image.size())
            .map_err(|_| bad_data("VMDK", format!("grain at {at} lies past the end")))?;
        self.image.read_at(at, &mut marker)?;
        let stored = u64::from(le_u32(&marker, 8));
        // zlib never needs much more room than the data it holds.
        if stored > self.grain * 2 + 1024 {
            return Err(bad_data(
                "VMDK",
                format!("grain at {at} claims {stored} bytes"),
            ));
        }
        check_range(at + 12, stored as usize, self.image.size())
            .map_err(|_| bad_data("VMDK", format!("grain at {at} lies past the end")))?;
        let mut raw = vec![0u8; stored as usize];
        self.image.read_at(at + 12, &mut raw)?;
        let mut grain = inflate(&raw, true, self.grain as usize)
            .map_err(|e| bad_data("VMDK", format!("grain at {at}: {e}")))?;
        // The last grain of a disk may stop short; the rest is zeros.
        grain.resize(self.grain as usize, 0);
        Ok(grain)
    }
}

/// Refuses a sparse extent whose embedded descriptor names a parent.
fn refuse_a_parent(image: &mut dyn Device, header: &[u8]) -> Result<(), DiskError> {
    let at = le_u64(header, 28).saturating_mul(SECTOR);
    let len = le_u64(header, 36)
        .saturating_mul(SECTOR)
        .min(MAX_DESCRIPTOR);
    if at == 0 || len == 0 || check_range(at, len as usize, image.size()).is_err() {
        return Ok(());
    }
    let mut text = vec![0u8; len as usize];
    image
        .read_at(at, &mut text)
        .map_err(|e| Format::VmdkSparse.error(format!("VMDK descriptor: {e}")))?;
    check_parent(&String::from_utf8_lossy(&text))
}

/// Refuses a descriptor that names a parent disk.
fn check_parent(descriptor: &str) -> Result<(), DiskError> {
    let parent = descriptor
        .lines()
        .filter_map(|line| line.trim().strip_prefix("parentCID="))
        .any(|cid| cid.trim() != "ffffffff");
    if parent {
        return Err(Format::VmdkDescriptor.error(
            "differencing VMDK: it names a parent file of the host; merge it first \
             (`qemu-img convert -O vmdk DISK flat.vmdk`)",
        ));
    }
    Ok(())
}

impl Device for Sparse {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let (grain, size) = (self.grain, self.size);
        read_in_blocks(offset, buf, grain, size, |index, within, part| {
            self.read_grain(index, within, part)
        })
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn another_handle(&self) -> Option<io::Result<BoxedDevice>> {
        let image = self.image.another_handle()?;
        Some(image.map(|image| {
            Box::new(Sparse {
                image,
                size: self.size,
                grain: self.grain,
                per_table: self.per_table,
                directory: Arc::clone(&self.directory),
                compressed: self.compressed,
                tables: HashMap::new(),
                grains: Arc::clone(&self.grains),
            }) as BoxedDevice
        }))
    }
}

/// Extents one after another, as a descriptor lists them.
struct Extents {
    /// (first byte, extent); the last one ends at `size`.
    parts: Vec<(u64, Option<BoxedDevice>)>,
    size: u64,
}

impl Device for Extents {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        check_range(offset, buf.len(), self.size)?;
        let mut done = 0;
        while done < buf.len() {
            let at = offset + done as u64;
            let part = self.parts.partition_point(|(start, _)| *start <= at) - 1;
            let end = self
                .parts
                .get(part + 1)
                .map_or(self.size, |(start, _)| *start);
            let take = ((end - at) as usize).min(buf.len() - done);
            let (start, extent) = &mut self.parts[part];
            match extent {
                Some(extent) => extent.read_at(at - *start, &mut buf[done..done + take])?,
                None => buf[done..done + take].fill(0),
            }
            done += take;
        }
        Ok(())
    }

    fn size(&self) -> u64 {
        self.size
    }
}

/// Opens the disk a descriptor file (`path`, `size` bytes) describes.
pub fn open_descriptor(path: &Path, mut file: File, size: u64) -> Result<BoxedDevice, DiskError> {
    if size > MAX_DESCRIPTOR {
        return Err(
            Format::VmdkDescriptor.error(format!("VMDK descriptor of {size} bytes is too large"))
        );
    }
    let mut text = String::new();
    (&mut file)
        .take(MAX_DESCRIPTOR)
        .read_to_string(&mut text)
        .map_err(|e| Format::VmdkDescriptor.error(format!("VMDK descriptor: {e}")))?;
    check_parent(&text)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut parts = Vec::new();
    let mut total = 0u64;
    for line in text.lines().map(str::trim) {
        let Some(extent) = parse_extent(line)? else {
            continue;
        };
        if parts.len() >= MAX_EXTENTS {
            return Err(Format::VmdkDescriptor.error(format!(
                "VMDK descriptor names more than {MAX_EXTENTS} extents"
            )));
        }
        let bytes = extent
            .sectors
            .checked_mul(SECTOR)
            .ok_or_else(|| Format::VmdkDescriptor.error("VMDK extent size overflows"))?;
        let device = match extent.kind {
            "ZERO" => None,
            kind => Some(open_extent(dir, &extent, kind, bytes)?),
        };
        parts.push((total, device));
        total = total
            .checked_add(bytes)
            .ok_or_else(|| Format::VmdkDescriptor.error("VMDK disk size overflows"))?;
    }
    if parts.is_empty() {
        return Err(Format::VmdkDescriptor.error("VMDK descriptor names no extent"));
    }
    Ok(Box::new(Extents { parts, size: total }))
}

/// One extent line: `RW 4192256 SPARSE "disk-s001.vmdk"` or
/// `RW 2048 FLAT "disk-flat.vmdk" 0`.
struct Extent<'a> {
    sectors: u64,
    kind: &'a str,
    name: &'a str,
    offset: u64,
}

fn parse_extent(line: &str) -> Result<Option<Extent<'_>>, DiskError> {
    let mut words = line.splitn(4, ' ');
    let (Some(access), Some(sectors), Some(kind)) = (words.next(), words.next(), words.next())
    else {
        return Ok(None);
    };
    if !matches!(access, "RW" | "RDONLY" | "NOACCESS") {
        return Ok(None);
    }
    let sectors = sectors.parse().map_err(|_| {
        Format::VmdkDescriptor.error(format!("VMDK extent line `{line}` has no size"))
    })?;
    let rest = words.next().unwrap_or_default();
    let (name, offset) = match rest.strip_prefix('"').and_then(|r| r.split_once('"')) {
        Some((name, tail)) => (name, tail.trim()),
        None => ("", ""),
    };
    let offset = if offset.is_empty() {
        0
    } else {
        offset.parse().map_err(|_| {
            Format::VmdkDescriptor.error(format!("VMDK extent line `{line}` has a bad offset"))
        })?
    };
    Ok(Some(Extent {
        sectors,
        kind,
        name,
        offset,
    }))
}

/// Opens an extent file beside the descriptor.
fn open_extent(
    dir: &Path,
    extent: &Extent<'_>,
    kind: &str,
    bytes: u64,
) -> Result<BoxedDevice, DiskError> {
    let name = extent.name;
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(Format::VmdkDescriptor.error(format!(
            "VMDK extent `{name}` is not a file beside the descriptor; not opened"
        )));
    }
    let path = dir.join(name);
    let meta = std::fs::metadata(&path)
        .map_err(|e| Format::VmdkDescriptor.error(format!("VMDK extent `{name}`: {e}")))?;
    if !meta.is_file() {
        return Err(
            Format::VmdkDescriptor.error(format!("VMDK extent `{name}` is not a regular file"))
        );
    }
    let file = File::open(&path)
        .map_err(|e| Format::VmdkDescriptor.error(format!("VMDK extent `{name}`: {e}")))?;
    let file_bytes = meta.len();
    let device: BoxedDevice = match kind {
        "FLAT" | "VMFS" => {
            let start = extent
                .offset
                .checked_mul(SECTOR)
                .ok_or_else(|| Format::VmdkDescriptor.error("VMDK extent offset overflows"))?;
            if start.checked_add(bytes).is_none_or(|end| end > file_bytes) {
                return Err(Format::VmdkDescriptor.error(format!(
                    "VMDK extent `{name}` is shorter than the descriptor says"
                )));
            }
            Box::new(Raw::new(file, start, bytes))
        }
        "SPARSE" => {
            let sparse = open_sparse(Box::new(Raw::new(file, 0, file_bytes)))
                .map_err(|e| Format::VmdkDescriptor.error(format!("VMDK extent `{name}`: {e}")))?;
            if sparse.size() < bytes {
                return Err(Format::VmdkDescriptor.error(format!(
                    "VMDK extent `{name}` is smaller than the descriptor says"
                )));
            }
            sparse
        }
        other => {
            return Err(
                Format::VmdkDescriptor.error(format!("VMDK extent type {other} is not supported"))
            );
        }
    };
    Ok(device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn extent_lines_parse() {
        let e = parse_extent(r#"RW 2048 FLAT "d-flat.vmdk" 8"#)
            .unwrap()
            .unwrap();
        assert_eq!(
            (e.sectors, e.kind, e.name, e.offset),
            (2048, "FLAT", "d-flat.vmdk", 8)
        );
        let e = parse_extent("RW 100 ZERO").unwrap().unwrap();
        assert_eq!((e.kind, e.name), ("ZERO", ""));
        assert!(parse_extent("ddb.adapterType = \"ide\"").unwrap().is_none());
        assert!(parse_extent("RW lots FLAT \"x\"").is_err());
    }

    fn descriptor(dir: &Path, body: &str) -> Result<BoxedDevice, DiskError> {
        let path = dir.join("d.vmdk");
        std::fs::write(
            &path,
            format!("# Disk DescriptorFile\nversion=1\nparentCID=ffffffff\n{body}"),
        )
        .unwrap();
        let file = File::open(&path).unwrap();
        let size = file.metadata().unwrap().len();
        open_descriptor(&path, file, size)
    }

    #[test]
    fn descriptors_read_flat_and_zero_extents_beside_them_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut flat = File::create(dir.path().join("d-flat.vmdk")).unwrap();
        flat.write_all(&[9u8; 2048]).unwrap();
        let mut disk = descriptor(dir.path(), "RW 2 FLAT \"d-flat.vmdk\" 1\nRW 2 ZERO\n").unwrap();
        assert_eq!(disk.size(), 2048);
        let mut buf = [1u8; 2048];
        disk.read_at(0, &mut buf).unwrap();
        assert!(buf[..1024].iter().all(|&b| b == 9) && buf[1024..].iter().all(|&b| b == 0));
        for bad in ["../etc/passwd", "/etc/passwd", "sub/x"] {
            let err = descriptor(dir.path(), &format!("RW 2 FLAT \"{bad}\" 0\n"))
                .err()
                .unwrap()
                .to_string();
            assert!(err.contains("not a file beside the descriptor"), "{err}");
        }
        let err = descriptor(dir.path(), "RW 8 FLAT \"d-flat.vmdk\" 0\n")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("shorter"), "{err}");
        let err = descriptor(dir.path(), "parentCID=12345678\nRW 2 ZERO\n")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("differencing"), "{err}");
    }

    #[test]
    fn hostile_sparse_headers_are_refused() {
        let open = |edit: fn(&mut [u8])| {
            let mut bytes = vec![0u8; 4096];
            bytes[..4].copy_from_slice(b"KDMV");
            bytes[4..8].copy_from_slice(&1u32.to_le_bytes());
            bytes[12..20].copy_from_slice(&2048u64.to_le_bytes());
            bytes[20..28].copy_from_slice(&128u64.to_le_bytes());
            bytes[44..48].copy_from_slice(&512u32.to_le_bytes());
            bytes[56..64].copy_from_slice(&1u64.to_le_bytes());
            edit(&mut bytes);
            let mut file = tempfile::tempfile().unwrap();
            file.write_all(&bytes).unwrap();
            open_sparse(Box::new(Raw::new(file, 0, bytes.len() as u64)))
        };
        let mut disk = open(|_| {}).unwrap();
        let mut buf = [7u8; 512];
        disk.read_at(0, &mut buf).unwrap();
        assert!(buf.iter().all(|&b| b == 0));
        let err = |edit: fn(&mut [u8])| open(edit).err().unwrap().to_string();
        assert!(err(|b| b[20..28].copy_from_slice(&0u64.to_le_bytes())).contains("grain"));
        assert!(err(|b| b[12..20].copy_from_slice(&u64::MAX.to_le_bytes())).contains("overflows"));
        assert!(
            err(|b| b[56..64].copy_from_slice(&(1u64 << 40).to_le_bytes()))
                .contains("past the end")
        );
        assert!(err(|b| b[56..64].copy_from_slice(&u64::MAX.to_le_bytes())).contains("truncated"));
        // VMware's streams: the directory is found through the footer.
        let streamed = |b: &mut [u8]| {
            b[8..12].copy_from_slice(&(MARKERS | COMPRESSED_GRAINS).to_le_bytes());
            b[77] = 1;
            let footer: Vec<u8> = b[..512].to_vec();
            b[56..64].copy_from_slice(&u64::MAX.to_le_bytes());
            b[3072..3584].copy_from_slice(&footer);
        };
        assert_eq!(open(streamed).unwrap().size(), 2048 * 512);
        assert!(
            err(|b| {
                b[8..12].copy_from_slice(&(MARKERS | COMPRESSED_GRAINS).to_le_bytes());
                b[77] = 1;
                b[56..64].copy_from_slice(&u64::MAX.to_le_bytes());
            })
            .contains("truncated")
        );
    }
}
