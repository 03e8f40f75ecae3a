//! LVM2 physical volumes, read without device-mapper: the label in one of a
//! volume's first four sectors leads to the metadata area, whose newest
//! text (LVM's own config syntax) describes the volume group; each logical
//! volume made of linear or striped segments becomes a device of its own,
//! mapped extent by extent onto the physical volumes that hold it. Thin
//! pools, RAID, mirrors, snapshots and caches are named, not read. Every
//! count, offset and size is checked against the volumes before use.

use super::device::{BoxedDevice, Device, bad_data, check_range};
use std::collections::BTreeMap;
use std::io;

const SECTOR: u64 = 512;
const MDA_MAGIC: &[u8; 16] = b" LVM2 x[5A%r0N*>";
/// Largest metadata text read (LVM writes a few KiB).
const MAX_METADATA: u64 = 4 << 20;
/// Deepest nesting of the metadata text, and most segments or stripes.
const MAX_DEPTH: usize = 16;
const MAX_SEGMENTS: usize = 4096;

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// A physical volume found on a disk.
#[derive(Debug, Clone)]
pub struct PhysicalVolume {
    /// Its UUID as the label stores it (32 characters, no dashes).
    pub uuid: String,
    /// The volume group metadata text its metadata area holds, if any.
    pub metadata: Option<String>,
}

/// Why a volume is not a readable LVM physical volume.
#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    /// Its first sectors could not be read.
    #[error("cannot read its label: {0}")]
    Read(#[from] std::io::Error),
    /// None of its first four sectors holds a label.
    #[error("no LVM label")]
    Missing,
    /// A label, but not LVM2's.
    #[error("LVM label of an unknown type")]
    UnknownType,
    /// The label points its header out of its sector.
    #[error("LVM label header lies outside its sector")]
    HeaderOutside,
}

/// Reads the label and metadata of the physical volume at `start` of `disk`.
pub fn read_physical_volume(
    disk: &mut dyn Device,
    start: u64,
) -> Result<PhysicalVolume, LabelError> {
    let mut head = vec![0u8; 4 * SECTOR as usize];
    let available = disk.size().saturating_sub(start).min(head.len() as u64) as usize;
    head.truncate(available);
    disk.read_at(start, &mut head)?;
    // A label counts only with its whole sector on the volume.
    let sector = (0..4)
        .filter_map(|i| head.get(i * SECTOR as usize..(i + 1) * SECTOR as usize))
        .find(|sector| sector.starts_with(b"LABELONE"))
        .ok_or(LabelError::Missing)?;
    if &sector[24..32] != b"LVM2 001" {
        return Err(LabelError::UnknownType);
    }
    let at = le_u32(sector, 20) as usize;
    let header = sector
        .get(at..)
        .filter(|h| h.len() >= 40)
        .ok_or(LabelError::HeaderOutside)?;
    let uuid = String::from_utf8_lossy(&header[..32]).into_owned();
    // Data areas, then metadata areas, each a list ended by a zero pair.
    let mut pairs = header[40..]
        .chunks_exact(16)
        .map(|c| (le_u64(c, 0), le_u64(c, 8)));
    pairs.by_ref().take_while(|&(o, _)| o != 0).for_each(drop);
    let areas: Vec<(u64, u64)> = pairs.take_while(|&(o, _)| o != 0).collect();
    let mut metadata = None;
    for (offset, size) in areas {
        if let Ok(text) = read_metadata_area(disk, start, offset, size) {
            metadata = Some(text);
            break;
        }
    }
    Ok(PhysicalVolume { uuid, metadata })
}

/// The current metadata text of the area at `offset` (`size` bytes) of the
/// volume at `start`: its header's first location, which may wrap around
/// the end of the area's circular buffer.
fn read_metadata_area(
    disk: &mut dyn Device,
    start: u64,
    offset: u64,
    size: u64,
) -> Result<String, String> {
    let area = start
        .checked_add(offset)
        .ok_or("LVM metadata area overflows")?;
    let mut header = [0u8; SECTOR as usize];
    check_range(area, header.len(), disk.size())
        .map_err(|_| "LVM metadata area lies past the end".to_string())?;
    disk.read_at(area, &mut header).map_err(|e| e.to_string())?;
    if &header[4..20] != MDA_MAGIC {
        return Err("LVM metadata area without its magic".into());
    }
    let (at, len) = (le_u64(&header, 40), le_u64(&header, 48));
    if len == 0 || len > MAX_METADATA || at < SECTOR || at >= size {
        return Err("LVM metadata area holds no usable text".into());
    }
    let first = len.min(size - at);
    let mut text = vec![0u8; len as usize];
    let read = |disk: &mut dyn Device, from: u64, buf: &mut [u8]| {
        check_range(from, buf.len(), disk.size())
            .and_then(|()| disk.read_at(from, buf))
            .map_err(|e| format!("LVM metadata: {e}"))
    };
    let text_at = area
        .checked_add(at)
        .ok_or("LVM metadata text lies past the end")?;
    read(disk, text_at, &mut text[..first as usize])?;
    if first < len {
        read(disk, area + SECTOR, &mut text[first as usize..])?;
    }
    let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
    Ok(String::from_utf8_lossy(&text[..end]).into_owned())
}

/// A value of LVM's metadata text.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Int(i64),
    Str(String),
    List(Vec<Value>),
    Section(BTreeMap<String, Value>),
}

impl Value {
    fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Section(items) => items.get(key),
            _ => None,
        }
    }

    fn int(&self, key: &str) -> Option<u64> {
        match self.get(key)? {
            Value::Int(n) => u64::try_from(*n).ok(),
            _ => None,
        }
    }

    fn str(&self, key: &str) -> Option<&str> {
        match self.get(key)? {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    fn sections(&self) -> impl Iterator<Item = (&String, &Value)> {
        let items = match self {
            Value::Section(items) => Some(items),
            _ => None,
        };
        items
            .into_iter()
            .flatten()
            .filter(|(_, v)| matches!(v, Value::Section(_)))
    }
}

/// Parses LVM's config syntax: `key = value`, `name { … }`, lists in
/// `[ … ]`, strings, integers, `#` comments.
fn parse(text: &str) -> Result<Value, String> {
    let tokens = tokenize(text)?;
    let mut at = 0;
    let section = parse_section(&tokens, &mut at, 0)?;
    if at != tokens.len() {
        return Err("LVM metadata has a stray `}`".into());
    }
    Ok(section)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Punct(char),
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '"' => {
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some('\\') => s.extend(chars.next()),
                        Some('"') => break,
                        Some(c) => s.push(c),
                        None => return Err("LVM metadata has an unterminated string".into()),
                    }
                }
                tokens.push(Token::Str(s));
            }
            '=' | '{' | '}' | '[' | ']' | ',' => tokens.push(Token::Punct(c)),
            c if c.is_whitespace() => {}
            c => {
                let mut word = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() || "={}[],#\"".contains(n) {
                        break;
                    }
                    word.push(n);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
        }
    }
    Ok(tokens)
}

fn parse_section(tokens: &[Token], at: &mut usize, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err("LVM metadata nests too deep".into());
    }
    let mut items = BTreeMap::new();
    while let Some(token) = tokens.get(*at) {
        let Token::Word(key) = token else {
            if *token == Token::Punct('}') {
                return Ok(Value::Section(items));
            }
            return Err(format!("LVM metadata: unexpected {token:?}"));
        };
        *at += 1;
        let value = match tokens.get(*at) {
            Some(Token::Punct('{')) => {
                *at += 1;
                let section = parse_section(tokens, at, depth + 1)?;
                if tokens.get(*at) != Some(&Token::Punct('}')) {
                    return Err(format!("LVM metadata: section `{key}` is not closed"));
                }
                *at += 1;
                section
            }
            Some(Token::Punct('=')) => {
                *at += 1;
                parse_value(tokens, at, depth + 1)?
            }
            other => return Err(format!("LVM metadata: `{key}` followed by {other:?}")),
        };
        items.insert(key.clone(), value);
    }
    Ok(Value::Section(items))
}

fn parse_value(tokens: &[Token], at: &mut usize, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err("LVM metadata nests too deep".into());
    }
    let token = tokens.get(*at).ok_or("LVM metadata ends after `=`")?;
    *at += 1;
    match token {
        Token::Str(s) => Ok(Value::Str(s.clone())),
        Token::Word(w) => w
            .parse()
            .map(Value::Int)
            .or_else(|_| w.parse::<f64>().map(|f| Value::Int(f as i64)))
            .map_err(|_| format!("LVM metadata: `{w}` is not a value")),
        Token::Punct('[') => {
            let mut list = Vec::new();
            loop {
                match tokens.get(*at) {
                    Some(Token::Punct(']')) => {
                        *at += 1;
                        return Ok(Value::List(list));
                    }
                    Some(Token::Punct(',')) => *at += 1,
                    Some(_) if list.len() < MAX_SEGMENTS * 2 => {
                        list.push(parse_value(tokens, at, depth + 1)?)
                    }
                    Some(_) => return Err("LVM metadata list is too long".into()),
                    None => return Err("LVM metadata list is not closed".into()),
                }
            }
        }
        other => Err(format!("LVM metadata: unexpected {other:?}")),
    }
}

/// The volume group a metadata text describes, and its `seqno` (0 when
/// the text does not parse: any parsed copy wins over it).
pub fn group_of(text: &str) -> (String, u64) {
    parse(text)
        .ok()
        .and_then(|root| {
            let (group, vg) = root.sections().next()?;
            Some((group.clone(), vg.int("seqno").unwrap_or(0)))
        })
        .unwrap_or_default()
}

/// Where a physical volume of the group is: the device holding it (a
/// disk) and the byte its volume starts at.
pub struct PlacedVolume {
    /// Its UUID without dashes.
    pub uuid: String,
    /// A device of the disk holding it.
    pub disk: BoxedDevice,
    /// First byte of the volume on that disk.
    pub start: u64,
    /// Bytes of the volume.
    pub len: u64,
}

/// A logical volume found in a group's metadata.
pub enum LogicalVolume {
    /// Readable: its device.
    Mapped {
        /// `VG/LV`.
        name: String,
        /// Its bytes.
        device: BoxedDevice,
    },
    /// Not read, with why.
    Unread {
        /// `VG/LV`.
        name: String,
        /// Why.
        reason: String,
    },
}

/// The logical volumes of the group whose metadata is `text`, mapped onto
/// `volumes` (asked for by UUID, opened when a segment needs one).
pub fn logical_volumes(
    text: &str,
    open: &mut dyn FnMut(&str) -> Option<PlacedVolume>,
) -> Result<Vec<LogicalVolume>, String> {
    let root = parse(text)?;
    let (group, vg) = root
        .sections()
        .next()
        .ok_or("LVM metadata names no volume group")?;
    let extent = vg
        .int("extent_size")
        .filter(|&e| e > 0 && e <= 1 << 32)
        .ok_or("LVM metadata lacks a usable extent_size")?
        * SECTOR;
    let pvs: BTreeMap<&str, (String, u64)> = vg
        .get("physical_volumes")
        .map(|p| {
            p.sections()
                .filter_map(|(key, pv)| {
                    let uuid = pv.str("id")?.replace('-', "");
                    let pe_start = pv.int("pe_start")?.checked_mul(SECTOR)?;
                    Some((key.as_str(), (uuid, pe_start)))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut found = Vec::new();
    let Some(lvs) = vg.get("logical_volumes") else {
        return Ok(found);
    };
    for (lv_name, lv) in lvs.sections() {
        let name = format!("{group}/{lv_name}");
        match map_lv(lv, extent, &pvs, open) {
            Ok(device) => found.push(LogicalVolume::Mapped { name, device }),
            Err(reason) => found.push(LogicalVolume::Unread { name, reason }),
        }
    }
    Ok(found)
}

fn map_lv(
    lv: &Value,
    extent: u64,
    pvs: &BTreeMap<&str, (String, u64)>,
    open: &mut dyn FnMut(&str) -> Option<PlacedVolume>,
) -> Result<BoxedDevice, String> {
    let mut segments = Vec::new();
    let mut volumes: Vec<PlacedVolume> = Vec::new();
    for (_, segment) in lv.sections().take(MAX_SEGMENTS + 1) {
        if segments.len() >= MAX_SEGMENTS {
            return Err(format!("more than {MAX_SEGMENTS} segments"));
        }
        let kind = segment.str("type").unwrap_or_default();
        if kind != "striped" {
            return Err(format!(
                "a `{kind}` segment, not read (only linear and striped ones are)"
            ));
        }
        let start = segment
            .int("start_extent")
            .ok_or("a segment without start_extent")?;
        let count = segment
            .int("extent_count")
            .ok_or("a segment without extent_count")?;
        let Some(Value::List(stripes)) = segment.get("stripes") else {
            return Err("a segment without stripes".into());
        };
        let ways = stripes.len() as u64 / 2;
        if ways == 0 || count == 0 || count % ways != 0 {
            return Err("a segment whose stripes do not divide its extents".into());
        }
        let chunk = match ways {
            1 => extent,
            _ => {
                segment
                    .int("stripe_size")
                    .filter(|&s| s > 0 && s.checked_mul(SECTOR).is_some_and(|b| b <= extent))
                    .ok_or("a striped segment without a usable stripe_size")?
                    * SECTOR
            }
        };
        let mut legs = Vec::new();
        for pair in stripes.chunks_exact(2) {
            let (Value::Str(pv), Value::Int(first)) = (&pair[0], &pair[1]) else {
                return Err("a stripe that is not a volume and an extent".into());
            };
            let (uuid, pe_start) = pvs
                .get(pv.as_str())
                .ok_or_else(|| format!("a stripe on `{pv}`, which the group does not list"))?;
            let index = match volumes.iter().position(|v| v.uuid == *uuid) {
                Some(index) => index,
                None => {
                    let placed = open(uuid)
                        .ok_or_else(|| format!("physical volume {uuid} is not on the image"))?;
                    volumes.push(placed);
                    volumes.len() - 1
                }
            };
            let first = u64::try_from(*first).map_err(|_| "a negative extent")?;
            let base = first
                .checked_mul(extent)
                .and_then(|b| b.checked_add(*pe_start))
                .ok_or("a stripe's offset overflows")?;
            let end = base
                .checked_add(count / ways * extent)
                .ok_or("a stripe's end overflows")?;
            if end > volumes[index].len {
                return Err(format!(
                    "a stripe runs past the end of physical volume {uuid}"
                ));
            }
            legs.push((index, base));
        }
        let bytes = count
            .checked_mul(extent)
            .ok_or("a segment's size overflows")?;
        let first = start
            .checked_mul(extent)
            .ok_or("a segment's offset overflows")?;
        segments.push(Segment {
            start: first,
            len: bytes,
            chunk,
            legs,
        });
    }
    segments.sort_by_key(|s| s.start);
    let mut size = 0;
    for segment in &segments {
        if segment.start != size {
            return Err("segments that leave a gap or overlap".into());
        }
        size += segment.len;
    }
    if size == 0 {
        return Err("no segment".into());
    }
    Ok(Box::new(Mapped {
        volumes,
        segments,
        size,
    }))
}

/// One segment: `len` bytes from `start` of the logical volume, spread over
/// its legs (volume index, first byte on that volume) in `chunk`s.
struct Segment {
    start: u64,
    len: u64,
    chunk: u64,
    legs: Vec<(usize, u64)>,
}

struct Mapped {
    volumes: Vec<PlacedVolume>,
    segments: Vec<Segment>,
    size: u64,
}

impl Device for Mapped {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        check_range(offset, buf.len(), self.size)?;
        let mut done = 0;
        while done < buf.len() {
            let at = offset + done as u64;
            let segment = self.segments.partition_point(|s| s.start <= at) - 1;
            let segment = &self.segments[segment];
            let within = at - segment.start;
            let chunk_index = within / segment.chunk;
            let ways = segment.legs.len() as u64;
            let (volume, base) = segment.legs[(chunk_index % ways) as usize];
            let row = chunk_index / ways;
            let in_chunk = within % segment.chunk;
            let take = ((segment.chunk - in_chunk) as usize).min(buf.len() - done);
            let placed = &mut self.volumes[volume];
            let on_volume = base + row * segment.chunk + in_chunk;
            if on_volume + take as u64 > placed.len {
                return Err(bad_data("LVM", "a read past the end of a physical volume"));
            }
            placed
                .disk
                .read_at(placed.start + on_volume, &mut buf[done..done + take])?;
            done += take;
        }
        Ok(())
    }

    fn size(&self) -> u64 {
        self.size
    }
}

/// The names fstab may give a logical volume: `/dev/mapper/VG-LV` (a dash
/// in either name doubled) and `/dev/VG/LV`.
pub fn device_names(name: &str) -> Vec<String> {
    let (vg, lv) = name.split_once('/').unwrap_or((name, ""));
    vec![
        format!(
            "/dev/mapper/{}-{}",
            vg.replace('-', "--"),
            lv.replace('-', "--")
        ),
        format!("/dev/{vg}/{lv}"),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::device::Memory;
    use super::*;

    const METADATA: &str = r#"vg0 {
        id = "5dAaeR-hLma-4we1-OkMv-9kR5-6w9M-gUGMfo"
        seqno = 3
        extent_size = 8   # 4 KiB
        physical_volumes {
            pv0 { id = "aaaa-bbbb" pe_start = 8 pe_count = 4 }
            pv1 { id = "cccc-dddd" pe_start = 8 pe_count = 4 }
        }
        logical_volumes {
            linear { status = ["READ", "WRITE", "VISIBLE"]
                segment1 { start_extent = 0 extent_count = 1 type = "striped" stripe_count = 1 stripes = [ "pv0", 1 ] }
                segment2 { start_extent = 1 extent_count = 1 type = "striped" stripe_count = 1 stripes = [ "pv1", 0 ] }
            }
            striped { segment1 { start_extent = 0 extent_count = 2 type = "striped" stripe_count = 2 stripe_size = 4 stripes = [ "pv0", 2, "pv1", 2 ] } }
            thin { segment1 { start_extent = 0 extent_count = 1 type = "thin" } }
        }
    }
    contents = "Text Format Volume Group"
    version = 1"#;

    /// Two 20 KiB volumes whose byte at `i` is `i / 512 + 10 * which`.
    fn open(uuid: &str) -> Option<PlacedVolume> {
        let which = match uuid {
            "aaaabbbb" => 0u8,
            "ccccdddd" => 1,
            _ => return None,
        };
        let bytes = (0..20480).map(|i| (i / 512) as u8 + 100 * which).collect();
        Some(PlacedVolume {
            uuid: uuid.into(),
            disk: Box::new(Memory(bytes)),
            start: 0,
            len: 20480,
        })
    }

    /// A `stripe_size` whose bytes pass 2^64 is refused, not multiplied
    /// past the end of a u64.
    #[test]
    fn a_huge_stripe_size_is_not_usable() {
        let metadata = METADATA.replace("stripe_size = 4", "stripe_size = 9223372036854775807");
        let lvs = logical_volumes(&metadata, &mut open).unwrap();
        let striped = lvs.iter().find_map(|lv| match lv {
            LogicalVolume::Unread { name, reason } if name.ends_with("/striped") => Some(reason),
            _ => None,
        });
        assert_eq!(
            striped.map(String::as_str),
            Some("a striped segment without a usable stripe_size")
        );
    }

    #[test]
    fn linear_and_striped_volumes_map_onto_their_extents() {
        let lvs = logical_volumes(METADATA, &mut open).unwrap();
        let mut mapped = BTreeMap::new();
        let mut unread = Vec::new();
        for lv in lvs {
            match lv {
                LogicalVolume::Mapped { name, device } => {
                    mapped.insert(name, device);
                }
                LogicalVolume::Unread { name, reason } => unread.push(format!("{name}: {reason}")),
            }
        }
        // linear: pv0 extent 1 (sector 8+8=16), then pv1 extent 0 (sector 8).
        let linear = mapped.get_mut("vg0/linear").unwrap();
        assert_eq!(linear.size(), 8192);
        let mut buf = [0u8; 8192];
        linear.read_at(0, &mut buf).unwrap();
        assert_eq!(
            (buf[0], buf[4095], buf[4096], buf[8191]),
            (16, 23, 108, 115)
        );
        // striped: 2 KiB chunks alternate pv0 and pv1 from extent 2 (sector 24).
        let striped = mapped.get_mut("vg0/striped").unwrap();
        striped.read_at(0, &mut buf).unwrap();
        assert_eq!(
            (buf[0], buf[2048], buf[4096], buf[6144]),
            (24, 124, 28, 128)
        );
        assert!(
            unread[0].starts_with("vg0/thin: a `thin` segment"),
            "{unread:?}"
        );
    }

    /// A 512-byte sector with the label at its start and the `LVM2 001`
    /// type, whose header (at 32) names one metadata area at `area` of
    /// `size` bytes.
    fn label(area: u64, size: u64) -> Vec<u8> {
        let mut sector = vec![0u8; SECTOR as usize];
        sector[..8].copy_from_slice(b"LABELONE");
        sector[20..24].copy_from_slice(&32u32.to_le_bytes());
        sector[24..32].copy_from_slice(b"LVM2 001");
        // uuid, device size, no data area (a zero pair), the metadata area.
        sector[32..64].copy_from_slice(&[b'u'; 32]);
        sector[88..96].copy_from_slice(&area.to_le_bytes());
        sector[96..104].copy_from_slice(&size.to_le_bytes());
        sector
    }

    /// Found by the `lvm` fuzz target: a label in the second sector of a
    /// volume shorter than that sector's end was sliced past the volume.
    #[test]
    fn a_label_whose_sector_is_cut_short_is_no_label() {
        let mut disk = vec![0u8; 979];
        disk[512..].copy_from_slice(&label(0, 0)[..979 - 512]);
        let found = read_physical_volume(&mut Memory(disk), 0);
        assert!(matches!(found, Err(LabelError::Missing)), "{found:?}");
    }

    /// A metadata area whose text offset passes 2^64 from the area's start
    /// is no text, not an overflow.
    #[test]
    fn a_metadata_text_offset_past_two_to_the_64_is_no_text() {
        let mut disk = label(1024, u64::MAX);
        disk.resize(2048, 0);
        disk[1024 + 4..1024 + 20].copy_from_slice(MDA_MAGIC);
        disk[1024 + 40..1024 + 48].copy_from_slice(&(u64::MAX - 1).to_le_bytes());
        disk[1024 + 48..1024 + 56].copy_from_slice(&16u64.to_le_bytes());
        let pv = read_physical_volume(&mut Memory(disk), 0).unwrap();
        assert_eq!(pv.metadata, None);
    }

    #[test]
    fn hostile_metadata_is_an_error_not_a_panic() {
        for text in [
            "vg { extent_size = 8 logical_volumes { lv { segment1 { start_extent = 0 extent_count = 1 type = \"striped\" stripes = [ \"pv9\", 0 ] } } } }",
            "vg { extent_size = 0 }",
            "vg { {",
            "vg { a = [ 1, 2",
            "vg { a = \"x",
            &"a { ".repeat(100),
            &format!("vg {{ a = {} }}", "[".repeat(100_000)),
        ] {
            if let Ok(lvs) = logical_volumes(text, &mut open) {
                assert!(
                    lvs.iter()
                        .all(|lv| matches!(lv, LogicalVolume::Unread { .. })),
                    "{text}"
                );
            }
        }
        let far = METADATA.replace("\"pv0\", 1 ]", "\"pv0\", 1000 ]");
        let lvs = logical_volumes(&far, &mut open).unwrap();
        assert!(
            matches!(&lvs[0], LogicalVolume::Unread { reason, .. } if reason.contains("past the end"))
        );
    }

    #[test]
    fn fstab_names_of_a_volume() {
        assert_eq!(
            device_names("vg-a/root"),
            ["/dev/mapper/vg--a-root", "/dev/vg-a/root"]
        );
    }
}
