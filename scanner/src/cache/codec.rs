//! The bytes of a cached layer result: a self-checking envelope (magic,
//! format version, the key it was stored under, length, SHA-256) around a
//! compact binary encoding of the layer pass's outcome. The same bytes go
//! to any [`CacheStore`](super::CacheStore), a directory or a shared
//! server; a torn, truncated or tampered value fails the check and is a
//! miss, never trusted.

use crate::digest::{Digest, Tapped};
use crate::layer::decompress::Compression;
use crate::layer::pass::LayerOutcome;
use crate::layer::{IndexedEntry, LayerIndex, LayerMalware, Skipped, Unknown};
use imgscan_sbom::{Algorithms, DigestAlgorithm, FileDigests, FileKind, FileMeta, Severity};
use imgscan_signatures::{InnerPath, IocKind, RuleHit, Step};
use sha2::{Digest as _, Sha256};
use std::sync::Arc;

/// Marks a cached layer value.
const MAGIC: &[u8; 8] = b"imgscanL";
/// Bumped whenever the encoding changes (4: a step into a UPX-packed
/// executable, which results stored before could not hold).
pub const FORMAT: u32 = 4;

/// `outcome` as stored under `key`.
pub fn encode(key: &str, outcome: &LayerOutcome) -> Vec<u8> {
    let mut body = Writer::default();
    body.outcome(outcome);
    let payload = body.0;
    let mut out = Vec::with_capacity(payload.len() + 64 + key.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT.to_le_bytes());
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&Sha256::digest(&payload));
    out.extend_from_slice(&payload);
    out
}

/// The outcome stored in `bytes` under `key`; `None` when the bytes are not
/// exactly what [`encode`] wrote for that key.
pub fn decode(key: &str, bytes: &[u8]) -> Option<LayerOutcome> {
    let mut r = Reader(bytes);
    if r.take(8)? != MAGIC || r.u32()? != FORMAT {
        return None;
    }
    let key_len = r.u32()? as usize;
    let stored_key = r.take(key_len)?;
    if stored_key != key.as_bytes() {
        return None;
    }
    let len = usize::try_from(r.u64()?).ok()?;
    let sum = r.take(32)?;
    let payload = r.take(len)?;
    if !r.0.is_empty() || Sha256::digest(payload)[..] != *sum {
        return None;
    }
    let mut body = Reader(payload);
    let outcome = body.outcome()?;
    body.0.is_empty().then_some(outcome)
}

#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, v: &[u8]) {
        self.u64(v.len() as u64);
        self.0.extend_from_slice(v);
    }
    fn opt_bytes(&mut self, v: Option<&[u8]>) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                self.bytes(v);
            }
        }
    }
    /// The set of algorithms computed (a byte), then each digest.
    fn digests(&mut self, v: Option<&FileDigests>) {
        let Some(digests) = v else {
            return self.u8(0);
        };
        let set = digests
            .iter()
            .fold(Algorithms::NONE, |set, (a, _)| set.with(a));
        self.u8(set.bits());
        for (_, digest) in digests.iter() {
            self.0.extend_from_slice(digest);
        }
    }
    fn tapped(&mut self, v: Option<&Tapped>) {
        self.opt_bytes(v.map(|t| t.digest.as_str().as_bytes()));
        self.u64(v.map_or(0, |t| t.bytes));
    }
    /// A step inside: 0 decompressed, 1 and the name an archive member,
    /// 2 unpacked.
    fn step(&mut self, v: &Step) {
        match v {
            Step::Decompressed => self.u8(0),
            Step::Member(name) => {
                self.u8(1);
                self.bytes(name);
            }
            Step::Unpacked => self.u8(2),
        }
    }
    fn list<T>(&mut self, items: &[T], mut each: impl FnMut(&mut Self, &T)) {
        self.u64(items.len() as u64);
        for item in items {
            each(self, item);
        }
    }

    fn outcome(&mut self, o: &LayerOutcome) {
        self.u8(match o.compression {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Zstd => 2,
        });
        self.tapped(o.stored.as_ref());
        self.tapped(o.uncompressed.as_ref());
        self.u64(o.bytes_read);
        let i = &o.index;
        self.list(&i.entries, |w, e| {
            w.bytes(&e.path);
            w.u8(code(&KINDS, &e.meta.kind));
            w.u64(e.meta.size);
            w.u64(u64::from(e.meta.mode));
            w.u64(e.meta.uid);
            w.u64(e.meta.gid);
            w.opt_bytes(e.meta.link.as_deref());
            w.bytes(&e.meta.head);
            w.digests(e.meta.digests.as_deref());
            w.u8(u8::from(e.placed));
        });
        self.list(&i.whiteouts, |w, p| w.bytes(p));
        self.list(&i.opaque_dirs, |w, p| w.bytes(p));
        let mut captured: Vec<_> = i.captured.iter().collect();
        captured.sort();
        self.list(&captured, |w, (path, bytes)| {
            w.bytes(path);
            w.bytes(bytes);
        });
        self.list(&i.unknowns, |w, u| {
            w.bytes(u.path.as_bytes());
            w.u64(u.layer as u64);
            w.bytes(u.reason.as_bytes());
        });
        let s = &i.skipped;
        for n in [
            s.escaping,
            s.special,
            s.unreadable,
            s.over_size_limit,
            s.over_expansion_limit,
            s.scan_failed,
            s.over_entry_limit,
            s.unsupported,
            s.not_unpacked,
            s.invalid,
        ] {
            self.u64(n);
        }
        self.u64(i.entry_count);
        self.list(&i.malware, |w, m| {
            w.bytes(&m.path);
            w.list(m.inner.steps(), Writer::step);
            w.bytes(m.sha256.as_bytes());
            w.list(&m.hits, |w, h| {
                w.bytes(h.rule.as_bytes());
                w.u8(code(&SEVERITIES, &h.severity));
                w.list(&h.evidence, |w, e| w.bytes(e.as_bytes()));
                w.list(&h.iocs, |w, (kind, value)| {
                    w.u8(code(&IOC_KINDS, kind));
                    w.bytes(value.as_bytes());
                });
            });
        });
        self.list(&i.unkept, |w, p| w.bytes(p));
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.u64()?).ok()?;
        self.take(n)
    }
    fn boxed(&mut self) -> Option<Box<[u8]>> {
        self.bytes().map(Box::from)
    }
    fn string(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?.to_vec()).ok()
    }
    fn opt_boxed(&mut self) -> Option<Option<Box<[u8]>>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(self.boxed()?)),
            _ => None,
        }
    }
    fn step(&mut self) -> Option<Step> {
        match self.u8()? {
            0 => Some(Step::Decompressed),
            1 => Some(Step::Member(self.boxed()?)),
            2 => Some(Step::Unpacked),
            _ => None,
        }
    }
    fn digests(&mut self) -> Option<Option<Box<FileDigests>>> {
        let set = Algorithms::from_bits(self.u8()?)?;
        if set.is_empty() {
            return Some(None);
        }
        let mut digests = FileDigests::default();
        for algorithm in DigestAlgorithm::ALL
            .into_iter()
            .filter(|a| set.contains(*a))
        {
            digests.set(algorithm, self.take(algorithm.digest_len())?);
        }
        Some(Some(Box::new(digests)))
    }
    fn tapped(&mut self) -> Option<Option<Tapped>> {
        let digest = self.opt_boxed()?;
        let bytes = self.u64()?;
        match digest {
            None => Some(None),
            Some(d) => Some(Some(Tapped {
                digest: Digest::parse(std::str::from_utf8(&d).ok()?).ok()?,
                bytes,
            })),
        }
    }
    /// `count` items, never allocating ahead of the input (each item takes
    /// at least one byte).
    fn list<T>(&mut self, mut each: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let count = usize::try_from(self.u64()?).ok()?;
        if count > self.0.len() {
            return None;
        }
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            items.push(each(self)?);
        }
        Some(items)
    }

    fn outcome(&mut self) -> Option<LayerOutcome> {
        let compression = match self.u8()? {
            0 => Compression::None,
            1 => Compression::Gzip,
            2 => Compression::Zstd,
            _ => return None,
        };
        let stored = self.tapped()?;
        let uncompressed = self.tapped()?;
        let bytes_read = self.u64()?;
        let entries = self.list(|r| {
            Some(IndexedEntry {
                path: r.boxed()?,
                meta: FileMeta {
                    kind: decoded(&KINDS, r.u8()?)?,
                    size: r.u64()?,
                    mode: u32::try_from(r.u64()?).ok()?,
                    uid: r.u64()?,
                    gid: r.u64()?,
                    link: r.opt_boxed()?,
                    head: r.boxed()?,
                    digests: r.digests()?,
                },
                placed: r.u8()? != 0,
            })
        })?;
        let whiteouts = self.list(Reader::boxed)?;
        let opaque_dirs = self.list(Reader::boxed)?;
        let captured = self
            .list(|r| Some((r.boxed()?, Arc::<[u8]>::from(r.bytes()?))))?
            .into_iter()
            .collect();
        let unknowns = self.list(|r| {
            Some(Unknown {
                path: r.string()?,
                layer: usize::try_from(r.u64()?).ok()?,
                reason: r.string()?,
            })
        })?;
        let mut counts = [0u64; 10];
        for n in &mut counts {
            *n = self.u64()?;
        }
        let [
            escaping,
            special,
            unreadable,
            over_size_limit,
            over_expansion_limit,
            scan_failed,
            over_entry_limit,
            unsupported,
            not_unpacked,
            invalid,
        ] = counts;
        let entry_count = self.u64()?;
        let malware = self.list(|r| {
            Some(LayerMalware {
                path: r.boxed()?,
                inner: InnerPath::from_steps(r.list(Reader::step)?),
                sha256: r.string()?,
                hits: r.list(|r| {
                    Some(RuleHit {
                        rule: r.string()?,
                        severity: decoded(&SEVERITIES, r.u8()?)?,
                        evidence: r.list(Reader::string)?,
                        iocs: r.list(|r| Some((decoded(&IOC_KINDS, r.u8()?)?, r.string()?)))?,
                    })
                })?,
            })
        })?;
        let unkept = self.list(Reader::boxed)?;
        Some(LayerOutcome {
            index: LayerIndex {
                entries,
                whiteouts,
                opaque_dirs,
                captured,
                unknowns,
                skipped: Skipped {
                    escaping,
                    special,
                    unreadable,
                    over_size_limit,
                    over_expansion_limit,
                    scan_failed,
                    over_entry_limit,
                    unsupported,
                    not_unpacked,
                    invalid,
                },
                entry_count,
                malware,
                unkept,
                // Only layers that stand on their own are kept.
                capture_spent: false,
            },
            compression,
            stored,
            uncompressed,
            bytes_read,
        })
    }
}

const KINDS: [FileKind; 8] = [
    FileKind::File,
    FileKind::Dir,
    FileKind::Symlink,
    FileKind::HardLink,
    FileKind::CharDevice,
    FileKind::BlockDevice,
    FileKind::Fifo,
    FileKind::Socket,
];

const SEVERITIES: [Severity; 5] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Unknown,
];

const IOC_KINDS: [IocKind; 5] = [
    IocKind::Pool,
    IocKind::Wallet,
    IocKind::Url,
    IocKind::Host,
    IocKind::SshKey,
];

/// The code of `value`: its place in `table` (the format's order).
fn code<T: PartialEq>(table: &[T], value: &T) -> u8 {
    table.iter().position(|t| t == value).unwrap_or(0) as u8
}

/// The value of `code` in `table`, if the code is known.
fn decoded<T: Copy>(table: &[T], code: u8) -> Option<T> {
    table.get(usize::from(code)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> LayerOutcome {
        let mut index = LayerIndex::default();
        index.entries.push(IndexedEntry {
            path: b"etc/passwd".as_slice().into(),
            meta: FileMeta {
                kind: FileKind::File,
                size: 5,
                mode: 0o644,
                uid: 0,
                gid: 0,
                link: None,
                head: b"root:".as_slice().into(),
                digests: Some(Box::new(FileDigests::of(b"root:", Algorithms::ALL))),
            },
            placed: true,
        });
        index.entries.push(IndexedEntry {
            path: b"bin".as_slice().into(),
            meta: FileMeta {
                kind: FileKind::Symlink,
                size: 0,
                mode: 0o777,
                uid: 1,
                gid: 2,
                link: Some(b"usr/bin".as_slice().into()),
                head: Box::default(),
                digests: None,
            },
            placed: false,
        });
        index.whiteouts.push(b"tmp/x".as_slice().into());
        index
            .captured
            .insert(b"etc/passwd".as_slice().into(), Arc::from(&b"root:"[..]));
        index.unknowns.push(Unknown {
            path: "/dev/x".into(),
            layer: 3,
            reason: "special".into(),
        });
        index.skipped.special = 1;
        index.skipped.invalid = 7;
        index.entry_count = 3;
        index.malware.push(LayerMalware {
            path: b"opt/a.tgz".as_slice().into(),
            inner: InnerPath::from_steps([
                Step::Decompressed,
                Step::Member(b"bin/x".as_slice().into()),
                Step::Unpacked,
            ]),
            sha256: "ab".repeat(32),
            hits: vec![RuleHit {
                rule: "xmrig_miner".into(),
                severity: Severity::Critical,
                evidence: vec!["XMRig".into()],
                iocs: vec![(IocKind::Pool, "pool.example:3333".into())],
            }],
        });
        LayerOutcome {
            index,
            compression: Compression::Gzip,
            stored: Some(Tapped {
                digest: Digest::of(b"stored"),
                bytes: 6,
            }),
            uncompressed: Some(Tapped {
                digest: Digest::of(b"tar"),
                bytes: 3,
            }),
            bytes_read: 3,
        }
    }

    #[test]
    fn round_trip() {
        let bytes = encode("k1", &sample());
        let back = decode("k1", &bytes).expect("decodes");
        assert_eq!(encode("k1", &back), bytes, "the same bytes again");
        assert_eq!(
            back.index.malware[0].display_path(),
            "/opt/a.tgz!/bin/x!upx"
        );
        assert_eq!(
            back.index.entries[1].meta.link.as_deref(),
            Some(&b"usr/bin"[..])
        );
        assert_eq!(back.stored.unwrap().digest, Digest::of(b"stored"));
        assert_eq!(
            back.index.entries[0].meta.digests,
            sample().index.entries[0].meta.digests,
            "file digests survive"
        );
    }

    #[test]
    fn any_damage_is_a_miss() {
        let bytes = encode("k1", &sample());
        assert!(decode("k2", &bytes).is_none(), "stored under another key");
        for cut in [0, 10, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode("k1", &bytes[..cut]).is_none(), "torn at {cut}");
        }
        for at in [0, 9, 40, bytes.len() / 2, bytes.len() - 1] {
            let mut bent = bytes.clone();
            bent[at] ^= 0x40;
            assert!(decode("k1", &bent).is_none(), "flipped at {at}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode("k1", &longer).is_none());
    }
}
