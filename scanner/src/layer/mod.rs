//! What one pass over one layer leaves behind: the [`LayerIndex`] (every
//! entry's metadata, the whiteouts and opaque directories, the bytes of the
//! files someone asked for) and the [`LayerBuilder`] that fills it from a
//! stream of entries, whether they come from a tar or from a directory walk.
//!
//! The folder is the layer stage: [`pass`] reads one stored blob in one
//! streaming pass ([`decompress`] by magic, bounded by [`budget`], the
//! decompressing and the indexing joined by a [`pipe`]),
//! [`tar_stream`] and [`walked`] feed entries to the builder, [`capture`]
//! says whose bytes are kept, [`digests`] which files are hashed for
//! package integrity, and [`entry_name`] normalises every name.

pub mod budget;
pub mod capture;
pub mod decompress;
pub mod digests;
pub mod entry_name;
pub mod pass;
pub mod pipe;
pub mod tar_stream;
pub mod walked;

use crate::layer::budget::SharedBudget;
use crate::layer::capture::CaptureSpec;
use crate::layer::digests::DigestPlan;
use crate::layer::entry_name::{join, normalize, split_parent};
use crate::limits::Limits;
use imgscan_sbom::digest::Digester;
use imgscan_sbom::tree::{Unfollowed, follow_path};
use imgscan_sbom::{Algorithms, FileKind, FileMeta, display_path};
use imgscan_signatures::{
    DigestTicket, InnerPath, RuleHit, RuleSet, ScanPool, ScanProblem, ScanSettings, with_scan_pool,
};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read};
use std::sync::Arc;
use std::time::Duration;

/// How many leading bytes of every regular file the pass keeps.
pub const HEAD_BYTES: usize = 64;

/// Most bytes an image's layers keep, together, of files placed under a
/// parent their own layer does not declare: a lower layer may make that
/// parent a link, so such a file's real path, and whether a cataloger or
/// check wants it, is only known at the merge.
pub const UNPLACED_CAPTURE_BYTES: u64 = 128 << 20;

/// Bytes of path a layer may look up while following links to place its
/// entries (a real layer needs a tiny fraction; a hostile, very deep one
/// cannot make placement quadratic).
pub const PLACEMENT_BUDGET: u64 = 1 << 30;

/// Why an entry is kept by its name, unplaced.
pub const PLACEMENT_SPENT: &str = "link look-ups past their budget; this entry and the rest are placed by name, without following links";

/// Something in the target that was not read, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unknown {
    /// Absolute, escaped path inside the image.
    pub path: String,
    /// The layer it is in.
    pub layer: usize,
    /// Why it was not read.
    pub reason: String,
}

/// Counts of entries that were skipped, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Entries whose name or hard-link target escapes the tree.
    pub escaping: u64,
    /// FIFOs, sockets and device nodes (indexed, never opened).
    pub special: u64,
    /// Files that could not be read (rootfs directories).
    pub unreadable: u64,
    /// Files over the size limit, indexed but not read.
    pub over_size_limit: u64,
    /// Layers cut short by the expansion limit.
    pub over_expansion_limit: u64,
    /// Files whose rule scan failed or timed out.
    pub scan_failed: u64,
    /// Entries past the per-layer entry limit.
    pub over_entry_limit: u64,
    /// Entries of a type the tree does not hold (sparse files, volume labels).
    pub unsupported: u64,
    /// Compressed files and archives in the image not wholly looked into:
    /// nested too deep, over the expansion or member limit, broken,
    /// encrypted or of an unsupported method.
    pub not_unpacked: u64,
    /// Entries that break the layer format: whiteouts of an empty, `.` or
    /// `..` name, entries below a whiteout marker, parents whose links loop.
    pub invalid: u64,
}

impl Skipped {
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &Skipped) {
        self.escaping += other.escaping;
        self.special += other.special;
        self.unreadable += other.unreadable;
        self.over_size_limit += other.over_size_limit;
        self.over_expansion_limit += other.over_expansion_limit;
        self.scan_failed += other.scan_failed;
        self.over_entry_limit += other.over_entry_limit;
        self.unsupported += other.unsupported;
        self.not_unpacked += other.not_unpacked;
        self.invalid += other.invalid;
    }
}

/// One entry as a layer stores it.
#[derive(Debug, Clone)]
pub struct IndexedEntry {
    /// Root-relative path, with the links this layer made among its parents
    /// followed.
    pub path: Box<[u8]>,
    /// Its metadata.
    pub meta: FileMeta,
    /// Every parent is a directory this layer declared before the entry, so
    /// no lower layer can move it; otherwise the merge places it again
    /// through the links of the layers below.
    pub placed: bool,
}

/// Everything one layer pass learned about one layer.
#[derive(Debug, Clone, Default)]
pub struct LayerIndex {
    /// Entries in stream order; a name repeated in the layer keeps its last copy.
    pub entries: Vec<IndexedEntry>,
    /// Paths this layer deletes from the layers below (`.wh.NAME`).
    pub whiteouts: Vec<Box<[u8]>>,
    /// Directories whose lower contents this layer hides (`.wh..wh..opq`).
    pub opaque_dirs: Vec<Box<[u8]>>,
    /// Bytes of the files the capture spec asked for, by path.
    pub captured: HashMap<Box<[u8]>, Arc<[u8]>>,
    /// What was not read, with why.
    pub unknowns: Vec<Unknown>,
    /// Skip counts.
    pub skipped: Skipped,
    /// Entries the stream held, whiteouts and skipped ones included.
    pub entry_count: u64,
    /// Files of this layer that rules matched.
    pub malware: Vec<LayerMalware>,
    /// Files not placed in this layer (see [`IndexedEntry::placed`]) whose
    /// bytes were not kept, [`UNPLACED_CAPTURE_BYTES`] being spent.
    pub unkept: Vec<Box<[u8]>>,
    /// A wanted file was not kept because the image's capture budget was
    /// spent: what this layer holds depends on the other layers.
    pub capture_spent: bool,
}

/// A file of a layer that rules matched, or something inside it.
#[derive(Debug, Clone)]
pub struct LayerMalware {
    /// Root-relative path of the file.
    pub path: Box<[u8]>,
    /// Where inside the file the matched bytes are; root for its own.
    pub inner: InnerPath,
    /// SHA-256 of the matched bytes, hex.
    pub sha256: String,
    /// The rules that matched.
    pub hits: Vec<RuleHit>,
}

impl LayerMalware {
    /// The report's path of the matched bytes (`!` marks each step inside).
    pub fn display_path(&self) -> String {
        self.inner.display(&self.path)
    }
}

impl LayerIndex {
    /// Sets the layer number of every unknown, for a layer indexed before
    /// its place in the image was known.
    pub fn renumber(&mut self, layer: usize) {
        for unknown in &mut self.unknowns {
            unknown.layer = layer;
        }
    }
}

/// What the pass does besides indexing: which bytes to keep, within which limits.
#[derive(Debug, Clone)]
pub struct PassOptions {
    /// The bounds of the pass.
    pub limits: Limits,
    /// The files whose bytes are kept.
    pub capture: CaptureSpec,
    /// Rules every regular file is scanned with, if any.
    pub rules: Option<RuleSet>,
    /// Longest a rule scan of one file may take.
    pub scan_timeout: Duration,
    /// What all the layers of the image may still expand to, together.
    pub image: SharedBudget,
    /// What all the layers may still keep of files not placed in their
    /// own layer (at most [`UNPLACED_CAPTURE_BYTES`]).
    pub unplaced: SharedBudget,
    /// What all the layers may still keep of wanted files
    /// ([`Limits::max_captured_bytes`]).
    pub captured: SharedBudget,
    /// Whether regular files a package may own are hashed as they stream
    /// by (see [`digests`]), for the package-integrity check.
    pub digests: bool,
}

impl PassOptions {
    /// Indexing and capture only: no rules.
    pub fn new(limits: Limits, capture: CaptureSpec) -> Self {
        PassOptions {
            limits,
            capture,
            rules: None,
            scan_timeout: Duration::from_secs(10),
            image: SharedBudget::default(),
            unplaced: SharedBudget::new(UNPLACED_CAPTURE_BYTES),
            captured: SharedBudget::new(limits.max_captured_bytes),
            digests: false,
        }
    }
}

/// Runs one layer pass: `fill` feeds entries to a builder; when rules are
/// set, every regular file is scanned by a pool of workers while `fill`
/// goes on, and their verdicts join the index. Returns `fill`'s result and
/// the finished index.
pub fn run_pass<T>(
    layer: usize,
    options: &PassOptions,
    fill: impl FnOnce(&mut LayerBuilder<'_>) -> T,
) -> (T, LayerIndex) {
    let Some(rules) = &options.rules else {
        let mut builder = LayerBuilder::new(layer, options);
        let result = fill(&mut builder);
        return (result, builder.finish());
    };
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let settings = ScanSettings {
        timeout: options.scan_timeout,
        nested: options.limits.nested(),
    };
    let ((result, mut index), verdicts) = with_scan_pool(rules, settings, workers, |pool| {
        let mut builder = LayerBuilder::new(layer, options);
        builder.scan_pool = Some(pool);
        let result = fill(&mut builder);
        (result, builder.finish())
    });
    for verdict in verdicts {
        let path = verdict.display_path();
        match verdict.result {
            Ok(hits) => index.malware.push(LayerMalware {
                path: verdict.path,
                inner: verdict.inner,
                sha256: verdict.sha256.unwrap_or_default(),
                hits,
            }),
            Err(problem) => {
                match problem {
                    ScanProblem::ScanFailed(_) => index.skipped.scan_failed += 1,
                    ScanProblem::NotUnpacked(_) => index.skipped.not_unpacked += 1,
                }
                index.unknowns.push(Unknown {
                    path,
                    layer,
                    reason: problem.to_string(),
                });
            }
        }
    }
    (result, index)
}

/// An entry as a source reports it, before normalisation.
pub struct RawEntry<'a> {
    /// The name as stored (tar name, or path relative to the rootfs).
    pub name: &'a [u8],
    /// Entry type.
    pub kind: FileKind,
    /// Declared content size.
    pub size: u64,
    /// Mode bits.
    pub mode: u32,
    /// Owner.
    pub uid: u64,
    /// Group.
    pub gid: u64,
    /// Link target for symlinks and hard links.
    pub link: Option<&'a [u8]>,
}

/// Fills a [`LayerIndex`] from entries, applying names, whiteouts, limits
/// and the capture spec.
pub struct LayerBuilder<'a> {
    layer: usize,
    options: &'a PassOptions,
    index: LayerIndex,
    /// Where each live path sits in `index.entries`; an entry whose path
    /// is no longer here (a replaced directory's child) is dropped.
    positions: BTreeMap<Box<[u8]>, usize>,
    indexed: u64,
    /// Entries come from walking a filesystem in place, not from a stream.
    walked: bool,
    scan_pool: Option<&'a ScanPool>,
    buffer: Vec<u8>,
    /// The last parent placed: (name as given, placed path, placed?).
    last_parent: Option<(Vec<u8>, Vec<u8>, bool)>,
    /// What is left of [`PLACEMENT_BUDGET`].
    placement_budget: u64,
    /// Whether the budget ran out (said once).
    placement_spent: bool,
    /// Which digests the files of this layer get.
    digest_plan: DigestPlan,
    /// Live paths whose digests the scanning workers are computing.
    awaiting_digests: HashMap<Box<[u8]>, DigestTicket>,
}

impl<'a> LayerBuilder<'a> {
    /// Starts the index of layer `layer`.
    pub fn new(layer: usize, options: &'a PassOptions) -> Self {
        LayerBuilder {
            layer,
            options,
            index: LayerIndex::default(),
            positions: BTreeMap::new(),
            indexed: 0,
            walked: false,
            scan_pool: None,
            buffer: Vec::new(),
            last_parent: None,
            placement_budget: PLACEMENT_BUDGET,
            placement_spent: false,
            digest_plan: DigestPlan::default(),
            awaiting_digests: HashMap::new(),
        }
    }

    /// The layer being built.
    pub fn layer(&self) -> usize {
        self.layer
    }

    /// Records an unknown for `path` (root-relative).
    pub fn unknown(&mut self, path: &[u8], reason: impl Into<String>) {
        self.index.unknowns.push(Unknown {
            path: display_path(path),
            layer: self.layer,
            reason: reason.into(),
        });
    }

    /// Counts and records a file that could not be read.
    pub fn unreadable(&mut self, path: &[u8], reason: impl Into<String>) {
        self.index.skipped.unreadable += 1;
        self.unknown(path, reason);
    }

    /// Says the entries come from walking a filesystem (a directory, a
    /// disk): content readers read files in place, so nothing past what is
    /// kept is read, and a name like `.wh.x` is an ordinary file there,
    /// not a whiteout.
    pub fn walk_volume(&mut self) {
        self.walked = true;
    }

    /// How many bytes of the regular file `name` of `size` bytes the
    /// builder will read when it is added: all of them when its rules scan
    /// it, a reader keeps it, or it is hashed; else its head. A walk that
    /// reads files ahead on other threads fetches this much.
    pub fn content_wanted(&self, name: &[u8], size: u64) -> u64 {
        let limits = self.options.limits;
        let whole = size <= limits.max_file_bytes
            && normalize(name, limits.max_name_bytes).is_ok_and(|path| {
                self.scan_pool.is_some()
                    || self.options.capture.limit(&path).is_some()
                    || self.options.digests && !self.digest_plan.for_file(&path).is_empty()
            });
        if whole {
            size
        } else {
            size.min(HEAD_BYTES as u64)
        }
    }

    /// Whether the entry limit is reached: a walk can stop.
    pub fn is_full(&self) -> bool {
        self.indexed >= self.options.limits.max_entries
    }

    /// Counts `count` files under `path` that could not be read, with one
    /// unknown saying why.
    pub fn unread(&mut self, count: u64, path: &[u8], reason: impl Into<String>) {
        self.index.skipped.unreadable += count;
        self.unknown(path, reason);
    }

    /// Records that the layer's stream was cut short by the expansion limit.
    pub fn expansion_exceeded(&mut self, reason: String) {
        self.index.skipped.over_expansion_limit += 1;
        self.unknown(b"", reason);
    }

    /// Counts an entry of a type the tree does not hold.
    pub fn unsupported(&mut self, name: &[u8], what: &str) {
        self.index.entry_count += 1;
        self.index.skipped.unsupported += 1;
        self.unknown(name, format!("{what}; skipped"));
    }

    /// Adds one entry. `content` is read for regular files only; an error
    /// from it is returned and leaves the index without the entry.
    pub fn add(&mut self, raw: RawEntry<'_>, content: Option<&mut dyn Read>) -> io::Result<()> {
        self.index.entry_count += 1;
        let limits = self.options.limits;
        let path = match normalize(raw.name, limits.max_name_bytes) {
            Ok(path) => path,
            Err(bad) => {
                self.index.skipped.escaping += 1;
                let shown: &[u8] = &raw.name[..raw.name.len().min(256)];
                self.unknown(shown.strip_prefix(b"/").unwrap_or(shown), bad.reason());
                return Ok(());
            }
        };
        if path.is_empty() {
            return Ok(());
        }
        if !self.walked && self.whiteout(&path) {
            return Ok(());
        }
        let Some((path, placed)) = self.place(&path) else {
            return Ok(());
        };
        self.digest_plan.see(&path);
        if self.indexed >= limits.max_entries {
            self.index.skipped.over_entry_limit += 1;
            if self.index.skipped.over_entry_limit == 1 {
                self.unknown(
                    &path,
                    format!(
                        "layer holds more than {} entries; the rest are not indexed",
                        limits.max_entries
                    ),
                );
            }
            return Ok(());
        }
        let mut meta = FileMeta {
            kind: raw.kind,
            size: if raw.kind == FileKind::File {
                raw.size
            } else {
                0
            },
            mode: raw.mode & 0o7777,
            uid: raw.uid,
            gid: raw.gid,
            link: raw.link.map(Box::from),
            head: Box::default(),
            digests: None,
        };
        let mut awaiting = None;
        match raw.kind {
            FileKind::File => {
                if let Some(reader) = content {
                    awaiting = self.read_content(&path, placed, &mut meta, reader)?;
                }
            }
            FileKind::HardLink => match self.resolve_hard_link(&path, &mut meta) {
                Some(ticket) => awaiting = ticket,
                None => return Ok(()),
            },
            FileKind::Fifo | FileKind::Socket | FileKind::CharDevice | FileKind::BlockDevice => {
                self.index.skipped.special += 1;
            }
            FileKind::Dir | FileKind::Symlink => {}
        }
        if meta.kind != FileKind::File {
            self.last_parent = None;
        }
        match awaiting {
            Some(ticket) => self.awaiting_digests.insert(path.as_slice().into(), ticket),
            None => self.awaiting_digests.remove(path.as_slice()),
        };
        self.push(path, meta, placed);
        Ok(())
    }

    /// Handles the whiteout names of the layer format; returns whether
    /// `path` was one (or is invalid because it sits below one).
    fn whiteout(&mut self, path: &[u8]) -> bool {
        let (parent, base) = split_parent(path);
        if let Some(marker) = parent
            .split(|&b| b == b'/')
            .find(|c| c.starts_with(b".wh."))
        {
            self.invalid(
                path,
                format!(
                    "entry below the whiteout marker `{}`, which has no children; skipped",
                    display_path(marker).trim_start_matches('/')
                ),
            );
            return true;
        }
        let Some(hidden) = base.strip_prefix(b".wh.") else {
            return false;
        };
        if hidden == b".wh..opq" {
            // The directory itself may be a link this layer made.
            if let Some((marker, _)) = self.place(path) {
                self.index.opaque_dirs.push(split_parent(&marker).0.into());
            }
        } else if matches!(hidden, b"" | b"." | b"..") {
            self.invalid(path, "whiteout of an empty, `.` or `..` name; ignored");
        } else if !hidden.starts_with(b".wh.")
            && let Some((deleted, _)) = self.place(&join(parent, hidden))
        {
            self.index.whiteouts.push(deleted.into());
        }
        true
    }

    fn invalid(&mut self, path: &[u8], reason: impl Into<String>) {
        self.index.skipped.invalid += 1;
        self.unknown(path, reason);
    }

    /// Where `path` lands once the links this layer made among its parents
    /// are followed, and whether every parent is a directory of this layer.
    /// `None` (counted, with an unknown) when the links loop.
    fn place(&mut self, path: &[u8]) -> Option<(Vec<u8>, bool)> {
        let (parent, name) = split_parent(path);
        if parent.is_empty() {
            return Some((path.to_vec(), true));
        }
        // A parent this layer holds as a directory is where it is.
        if let Some(&at) = self.positions.get(parent)
            && self.index.entries[at].meta.kind == FileKind::Dir
        {
            return Some((path.to_vec(), self.index.entries[at].placed));
        }
        let cached = self
            .last_parent
            .as_ref()
            .filter(|(given, _, _)| given == parent)
            .map(|(_, at, placed)| (at.clone(), *placed));
        let (at, placed) = match cached {
            Some(hit) => hit,
            None => {
                let entries = &self.index.entries;
                let positions = &self.positions;
                let lookup = |p: &[u8]| positions.get(p).map(|&at| &entries[at].meta);
                let followed = match follow_path(parent, lookup, &mut self.placement_budget) {
                    Ok(followed) => followed,
                    Err(Unfollowed::Loop) => {
                        self.invalid(path, "its parent directories are links that loop; skipped");
                        return None;
                    }
                    Err(Unfollowed::Budget) => {
                        if !std::mem::replace(&mut self.placement_spent, true) {
                            self.unknown(path, PLACEMENT_SPENT);
                        }
                        (parent.to_vec(), false)
                    }
                };
                self.last_parent = Some((parent.to_vec(), followed.0.clone(), followed.1));
                followed
            }
        };
        Some((join(&at, name), placed))
    }

    fn push(&mut self, path: Vec<u8>, meta: FileMeta, placed: bool) {
        let path: Box<[u8]> = path.into();
        if let Some(&at) = self.positions.get(&path) {
            let old = &mut self.index.entries[at];
            let was_dir = old.meta.kind == FileKind::Dir;
            old.meta = meta;
            old.placed = placed;
            if was_dir && old.meta.kind != FileKind::Dir {
                self.drop_children(&path);
            }
        } else {
            self.positions
                .insert(path.clone(), self.index.entries.len());
            self.index.entries.push(IndexedEntry { path, meta, placed });
            self.indexed += 1;
        }
    }

    /// A directory replaced by a non-directory takes its children with it.
    fn drop_children(&mut self, dir: &[u8]) {
        let mut start = dir.to_vec();
        start.push(b'/');
        let mut end = dir.to_vec();
        end.push(b'/' + 1);
        let doomed: Vec<Box<[u8]>> = self
            .positions
            .range::<[u8], _>((
                std::ops::Bound::Included(&start[..]),
                std::ops::Bound::Excluded(&end[..]),
            ))
            .map(|(k, _)| k.clone())
            .collect();
        for path in doomed {
            self.positions.remove(&path);
            self.index.captured.remove(&path);
        }
    }

    /// Reads the head and, when wanted and small enough, the whole content.
    /// The content is read to its declared end so a short stream is caught.
    /// A file handed to the scanning workers is hashed there: the ticket
    /// its digests come under.
    fn read_content(
        &mut self,
        path: &[u8],
        placed: bool,
        meta: &mut FileMeta,
        reader: &mut dyn Read,
    ) -> io::Result<Option<DigestTicket>> {
        let limits = self.options.limits;
        let scan = self.scan_pool.is_some();
        let within_limit = meta.size <= limits.max_file_bytes;
        // A file over its reader's limit is not kept (the reader names
        // it); one past the image's capture budget is named here.
        let limit = self.options.capture.limit(path);
        let mut wanted = limit.is_some_and(|l| meta.size <= l && within_limit);
        if wanted && !self.options.captured.take(meta.size) {
            wanted = false;
            self.index.capture_spent = true;
            self.unknown(
                path,
                format!(
                    "not kept for the package and check readers: the image's {} bytes for them are spent",
                    limits.max_captured_bytes
                ),
            );
        }
        if !placed && limit.is_none() && within_limit {
            // Its real path is known at the merge: keep it while the
            // budget lasts, in case that path is wanted.
            if self.options.unplaced.take(meta.size) {
                wanted = true;
            } else {
                self.index.unkept.push(path.into());
            }
        }
        let read_all = (wanted || scan) && within_limit;
        let algorithms = match self.options.digests && within_limit {
            true => self.digest_plan.for_file(path),
            false => Algorithms::NONE,
        };
        // A file the workers get is hashed there, off this thread.
        let to_workers = read_all && scan;
        let hash_here = !(algorithms.is_empty() || to_workers);
        let mut digester = hash_here.then(|| Digester::new(algorithms));
        let keep = if read_all {
            meta.size as usize
        } else {
            HEAD_BYTES.min(meta.size as usize)
        };
        // Files that stay here reuse one buffer; a file handed to the
        // scanning workers takes its own.
        let mut kept = if to_workers {
            Vec::with_capacity(keep)
        } else {
            std::mem::take(&mut self.buffer)
        };
        kept.clear();
        let mut limited = reader.take(meta.size);
        (&mut limited).take(keep as u64).read_to_end(&mut kept)?;
        if let Some(digester) = &mut digester {
            digester.update(&kept);
        }
        // A stream must be read past the parts not kept; a file read in
        // place need not (a sparse 300 GB `lastlog` costs nothing), unless
        // it is hashed.
        let (total, expected) = if self.walked && digester.is_none() {
            (kept.len() as u64, keep as u64)
        } else {
            let rest = match &mut digester {
                Some(digester) => io::copy(&mut limited, digester)?,
                None => io::copy(&mut limited, &mut io::sink())?,
            };
            (kept.len() as u64 + rest, meta.size)
        };
        if total != expected {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "`{}`: content ends after {total} of {} bytes",
                    display_path(path),
                    meta.size
                ),
            ));
        }
        meta.head = kept[..kept.len().min(HEAD_BYTES)].into();
        meta.digests = digester.map(|d| Box::new(d.finish()));
        if read_all && wanted {
            self.index
                .captured
                .insert(path.into(), Arc::from(&kept[..]));
        } else if !within_limit && (limit.is_some() || scan) {
            self.index.skipped.over_size_limit += 1;
            self.unknown(
                path,
                format!(
                    "{} bytes, over the file size limit of {}; not read",
                    meta.size, limits.max_file_bytes
                ),
            );
        }
        Ok(match self.scan_pool {
            Some(pool) if to_workers && !algorithms.is_empty() => {
                Some(pool.submit_hashed(path.into(), kept, algorithms))
            }
            Some(pool) if to_workers => {
                pool.submit(path.into(), kept);
                None
            }
            _ => {
                self.buffer = kept;
                None
            }
        })
    }

    /// A hard link names an earlier entry; inside one layer it becomes a
    /// copy of that entry, awaiting the same digests (the ticket returned).
    /// A target that escapes is refused (`None`); one in a lower layer
    /// stays a link that the merged tree resolves.
    fn resolve_hard_link(
        &mut self,
        path: &[u8],
        meta: &mut FileMeta,
    ) -> Option<Option<DigestTicket>> {
        let target = meta.link.as_deref().unwrap_or_default();
        let target = match normalize(target, self.options.limits.max_name_bytes) {
            Ok(target) if !target.is_empty() => target,
            _ => {
                self.index.skipped.escaping += 1;
                self.unknown(path, "hard link to a path outside the image tree; skipped");
                return None;
            }
        };
        let (target, _) = self.place(&target)?;
        if let Some(&at) = self.positions.get(target.as_slice()) {
            let source = self.index.entries[at].meta.clone();
            if source.kind == FileKind::File {
                if let Some(bytes) = self.index.captured.get(target.as_slice()).cloned() {
                    self.index.captured.insert(path.into(), bytes);
                }
                *meta = source;
                return Some(self.awaiting_digests.get(target.as_slice()).copied());
            }
        }
        meta.link = Some(target.into());
        Some(None)
    }

    /// The finished index: entries in stream order, without those a
    /// later entry of the layer removed.
    pub fn finish(mut self) -> LayerIndex {
        if let Some(pool) = self.scan_pool
            && !self.awaiting_digests.is_empty()
        {
            let computed = pool.digests();
            for (path, ticket) in std::mem::take(&mut self.awaiting_digests) {
                // A path dropped with its directory has no position; a
                // hard link shares its target's ticket.
                if let Some(&at) = self.positions.get(&path)
                    && let Some(digests) = computed.get(&ticket)
                {
                    self.index.entries[at].meta.digests = Some(Box::new(digests.clone()));
                }
            }
        }
        let positions = &self.positions;
        let mut at = 0;
        self.index.entries.retain(|entry| {
            let live = positions.get(&entry.path) == Some(&at);
            at += 1;
            live
        });
        self.index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(capture: &[&str]) -> PassOptions {
        PassOptions::new(Limits::default(), CaptureSpec::new(capture).unwrap())
    }

    fn file<'a>(name: &'a [u8], size: u64) -> RawEntry<'a> {
        RawEntry {
            name,
            kind: FileKind::File,
            size,
            mode: 0o644,
            uid: 0,
            gid: 0,
            link: None,
        }
    }

    #[test]
    fn whiteouts_and_opaque_dirs_are_not_entries() {
        let opts = options(&[]);
        let mut b = LayerBuilder::new(1, &opts);
        b.add(file(b"etc/.wh.passwd", 0), Some(&mut &b""[..]))
            .unwrap();
        b.add(file(b"var/.wh..wh..opq", 0), Some(&mut &b""[..]))
            .unwrap();
        b.add(file(b"x/.wh..wh.plnk", 0), Some(&mut &b""[..]))
            .unwrap();
        let index = b.finish();
        assert!(index.entries.is_empty());
        assert_eq!(index.whiteouts, vec![Box::from(&b"etc/passwd"[..])]);
        assert_eq!(index.opaque_dirs, vec![Box::from(&b"var"[..])]);
        assert_eq!(index.entry_count, 3);
    }

    fn link<'a>(name: &'a [u8], target: &'a [u8], kind: FileKind) -> RawEntry<'a> {
        RawEntry {
            name,
            kind,
            size: 0,
            mode: 0o777,
            uid: 0,
            gid: 0,
            link: Some(target),
        }
    }

    fn dir(name: &[u8]) -> RawEntry<'_> {
        RawEntry {
            kind: FileKind::Dir,
            ..file(name, 0)
        }
    }

    fn paths(index: &LayerIndex) -> Vec<(String, bool)> {
        index
            .entries
            .iter()
            .map(|e| (String::from_utf8_lossy(&e.path).into_owned(), e.placed))
            .collect()
    }

    #[test]
    fn entries_are_written_through_the_layers_own_links() {
        let opts = options(&["etc/ld.so.preload"]);
        let mut b = LayerBuilder::new(0, &opts);
        b.add(dir(b"etc"), None).unwrap();
        b.add(link(b"e", b"etc", FileKind::Symlink), None).unwrap();
        b.add(file(b"e/ld.so.preload", 3), Some(&mut &b"/x\n"[..]))
            .unwrap();
        b.add(file(b"e/.wh.passwd", 0), Some(&mut &b""[..]))
            .unwrap();
        b.add(file(b"u/f", 0), Some(&mut &b""[..])).unwrap();
        let index = b.finish();
        assert_eq!(
            paths(&index),
            [
                ("etc".to_string(), true),
                ("e".to_string(), true),
                ("etc/ld.so.preload".to_string(), true),
                ("u/f".to_string(), false),
            ]
        );
        assert!(index.captured.contains_key(&b"etc/ld.so.preload"[..]));
        assert_eq!(index.whiteouts, vec![Box::from(&b"etc/passwd"[..])]);
    }

    #[test]
    fn a_directory_replaced_by_a_link_drops_its_children() {
        let opts = options(&["d/f"]);
        let mut b = LayerBuilder::new(0, &opts);
        b.add(dir(b"d"), None).unwrap();
        b.add(file(b"d/f", 1), Some(&mut &b"x"[..])).unwrap();
        b.add(link(b"d", b"etc", FileKind::Symlink), None).unwrap();
        b.add(file(b"d/g", 0), Some(&mut &b""[..])).unwrap();
        let index = b.finish();
        assert_eq!(
            paths(&index),
            [("d".to_string(), true), ("etc/g".to_string(), false)]
        );
        assert!(!index.captured.contains_key(&b"d/f"[..]));
    }

    #[test]
    fn invalid_whiteouts_are_named_and_walked_volumes_have_none() {
        let opts = options(&[]);
        let mut b = LayerBuilder::new(0, &opts);
        for name in [
            &b".wh."[..],
            b"a/.wh..",
            b"a/.wh.x/child",
            b"a/.wh..wh..opq/c",
        ] {
            b.add(file(name, 0), Some(&mut &b""[..])).unwrap();
        }
        let index = b.finish();
        assert!(index.entries.is_empty() && index.whiteouts.is_empty());
        assert!(index.opaque_dirs.is_empty());
        assert_eq!(index.skipped.invalid, 4);
        let mut b = LayerBuilder::new(0, &opts);
        b.walk_volume();
        b.add(file(b".wh.x", 0), Some(&mut &b""[..])).unwrap();
        let index = b.finish();
        assert_eq!(paths(&index), [(".wh.x".to_string(), true)]);
    }

    #[test]
    fn capture_keeps_wanted_bytes_and_heads_of_all() {
        let opts = options(&["etc/os-release"]);
        let mut b = LayerBuilder::new(0, &opts);
        b.add(file(b"./etc/os-release", 8), Some(&mut &b"ID=test\n"[..]))
            .unwrap();
        let big = vec![b'x'; 1000];
        b.add(dir(b"bin"), None).unwrap();
        b.add(file(b"bin/x", 1000), Some(&mut &big[..])).unwrap();
        // Under an undeclared parent, a lower layer's link may move it to
        // a wanted path: kept until the merge knows.
        b.add(file(b"opt/y", 3), Some(&mut &b"abc"[..])).unwrap();
        let index = b.finish();
        assert_eq!(&*index.captured[&b"etc/os-release"[..]], b"ID=test\n");
        assert_eq!(index.entries[2].meta.head.len(), HEAD_BYTES);
        assert!(!index.captured.contains_key(&b"bin/x"[..]));
        assert!(index.captured.contains_key(&b"opt/y"[..]));
    }

    #[test]
    fn wanted_files_share_the_images_capture_budget_and_their_readers_limits() {
        let mut opts = PassOptions::new(
            Limits {
                max_captured_bytes: 5,
                ..Limits::default()
            },
            CaptureSpec::with_limits(&[("a/*", u64::MAX), ("b/big", 2)]).unwrap(),
        );
        opts.unplaced = SharedBudget::new(0);
        let mut b = LayerBuilder::new(0, &opts);
        for name in [&b"a/1"[..], b"a/2", b"b/big"] {
            b.add(file(name, 3), Some(&mut &b"abc"[..])).unwrap();
        }
        let index = b.finish();
        assert!(index.captured.contains_key(&b"a/1"[..]));
        assert!(
            !index.captured.contains_key(&b"a/2"[..]),
            "the budget is spent"
        );
        assert!(
            !index.captured.contains_key(&b"b/big"[..]),
            "over its reader's limit"
        );
        assert_eq!(index.unknowns.len(), 1);
        assert_eq!(index.unknowns[0].path, "/a/2");
    }

    #[test]
    fn packaged_files_are_hashed_as_they_stream_by() {
        use imgscan_sbom::{DigestAlgorithm, FileDigests};
        let rules = imgscan_signatures::RuleSource {
            origin: "t".into(),
            text: "rule t { strings: $a = \"NEEDLE-51c2\" condition: $a }".into(),
        };
        let rules = imgscan_signatures::compile(&[rules]).unwrap().0;
        let body = vec![b'x'; 3 * HEAD_BYTES];
        // Hashed on the pass thread without rules, by the scanning
        // workers with them; streamed or walked in place.
        for (scanned, walked) in [(false, false), (false, true), (true, false), (true, true)] {
            let mut opts = options(&[]);
            opts.digests = true;
            opts.rules = scanned.then(|| rules.clone());
            let ((), index) = run_pass(0, &opts, |b| {
                if walked {
                    b.walk_volume();
                }
                b.add(
                    file(b"usr/bin/tool", body.len() as u64),
                    Some(&mut &body[..]),
                )
                .unwrap();
                b.add(file(b"app/main.js", 3), Some(&mut &b"abc"[..]))
                    .unwrap();
                b.add(dir(b"etc/dpkg"), None).unwrap();
                b.add(file(b"usr/bin/ps", 3), Some(&mut &b"abc"[..]))
                    .unwrap();
                let hard = RawEntry {
                    kind: FileKind::HardLink,
                    link: Some(b"usr/bin/ps"),
                    ..file(b"usr/bin/pgrep", 0)
                };
                b.add(hard, None).unwrap();
                // The last of two entries of one path is the file.
                b.add(file(b"usr/bin/top", 3), Some(&mut &b"old"[..]))
                    .unwrap();
                b.add(file(b"usr/bin/top", 3), Some(&mut &b"new"[..]))
                    .unwrap();
            });
            let digests = |path: &[u8]| {
                let entry = index.entries.iter().find(|e| &e.path[..] == path).unwrap();
                entry.meta.digests.as_deref()
            };
            let case = format!("scanned: {scanned}, walked: {walked}");
            assert_eq!(
                digests(b"usr/bin/tool"),
                Some(&FileDigests::of(&body, Algorithms::ALL)),
                "{case}: no package manager seen yet: every algorithm"
            );
            assert_eq!(
                digests(b"app/main.js"),
                None,
                "{case}: not where packages install"
            );
            let md5 = Algorithms::NONE.with(DigestAlgorithm::Md5);
            assert_eq!(
                digests(b"usr/bin/ps"),
                Some(&FileDigests::of(b"abc", md5)),
                "{case}: dpkg: md5"
            );
            assert_eq!(
                digests(b"usr/bin/pgrep"),
                digests(b"usr/bin/ps"),
                "{case}: a hard link is the same bytes"
            );
            assert_eq!(
                digests(b"usr/bin/top"),
                Some(&FileDigests::of(b"new", md5)),
                "{case}: the later entry's bytes"
            );
        }
        let opts = options(&[]);
        let mut b = LayerBuilder::new(0, &opts);
        b.add(file(b"usr/bin/ps", 3), Some(&mut &b"abc"[..]))
            .unwrap();
        assert_eq!(b.finish().entries[0].meta.digests, None, "not asked for");
    }

    #[test]
    fn short_content_is_an_error() {
        let opts = options(&[]);
        let mut b = LayerBuilder::new(0, &opts);
        assert!(b.add(file(b"a", 10), Some(&mut &b"abc"[..])).is_err());
        assert!(b.finish().entries.is_empty());
    }

    #[test]
    fn escaping_names_and_links_are_skipped() {
        let opts = options(&[]);
        let mut b = LayerBuilder::new(0, &opts);
        b.add(file(b"../../etc/shadow", 0), Some(&mut &b""[..]))
            .unwrap();
        let link = RawEntry {
            name: b"h",
            kind: FileKind::HardLink,
            size: 0,
            mode: 0,
            uid: 0,
            gid: 0,
            link: Some(b"../outside"),
        };
        b.add(link, None).unwrap();
        let index = b.finish();
        assert!(index.entries.is_empty());
        assert_eq!(index.skipped.escaping, 2);
        assert_eq!(index.unknowns.len(), 2);
    }

    #[test]
    fn hard_link_in_layer_copies_its_target() {
        let opts = options(&["a", "b"]);
        let mut b = LayerBuilder::new(0, &opts);
        b.add(file(b"a", 3), Some(&mut &b"abc"[..])).unwrap();
        let link = RawEntry {
            name: b"b",
            kind: FileKind::HardLink,
            size: 0,
            mode: 0,
            uid: 0,
            gid: 0,
            link: Some(b"./a"),
        };
        b.add(link, None).unwrap();
        let index = b.finish();
        assert_eq!(index.entries[1].meta.kind, FileKind::File);
        assert_eq!(&*index.captured[&b"b"[..]], b"abc");
    }

    #[test]
    fn verdicts_inside_archives_join_the_index() {
        use std::io::Write;
        let gzip = |data: &[u8]| {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(data).unwrap();
            enc.finish().unwrap()
        };
        let source = imgscan_signatures::RuleSource {
            origin: "t".into(),
            text:
                "rule t { meta: severity = \"HIGH\" strings: $a = \"NEEDLE-7f3a\" condition: $a }"
                    .into(),
        };
        let mut opts = options(&[]);
        opts.rules = Some(imgscan_signatures::compile(&[source]).unwrap().0);
        opts.limits.max_file_bytes = 1 << 20;
        let conf = gzip(
            &b"# settings\n"
                .repeat(50)
                .into_iter()
                .chain(*b"NEEDLE-7f3a")
                .collect::<Vec<_>>(),
        );
        let bomb = gzip(&vec![0u8; 4 << 20]);
        let ((), index) = run_pass(2, &opts, |b| {
            b.add(
                file(b"opt/conf.gz", conf.len() as u64),
                Some(&mut &conf[..]),
            )
            .unwrap();
            b.add(
                file(b"opt/bomb.gz", bomb.len() as u64),
                Some(&mut &bomb[..]),
            )
            .unwrap();
        });
        let found: Vec<String> = index
            .malware
            .iter()
            .map(LayerMalware::display_path)
            .collect();
        assert_eq!(found, ["/opt/conf.gz!"]);
        assert_eq!(index.malware[0].path, Box::from(&b"opt/conf.gz"[..]));
        assert_eq!(index.skipped.not_unpacked, 1);
        assert_eq!(index.unknowns.len(), 1);
        assert_eq!(index.unknowns[0].path, "/opt/bomb.gz!");
        assert_eq!(index.unknowns[0].layer, 2);
        assert!(
            index.unknowns[0]
                .reason
                .contains("expands past the limit of 1048576 bytes")
        );
    }

    #[test]
    fn entry_limit_stops_indexing() {
        let mut opts = options(&[]);
        opts.limits.max_entries = 2;
        let mut b = LayerBuilder::new(0, &opts);
        for name in [&b"a"[..], b"b", b"c", b"d"] {
            b.add(file(name, 0), Some(&mut &b""[..])).unwrap();
        }
        let index = b.finish();
        assert_eq!(index.entries.len(), 2);
        assert_eq!(index.skipped.over_entry_limit, 2);
    }
}
