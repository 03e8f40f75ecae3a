//! An ext2/3/4 filesystem inside a disk, read with `ext4-view` and walked
//! into a layer like a rootfs directory: symlinks recorded with their
//! target (resolved later inside the image tree), special files never
//! read, regular files handed to the layer pass. Paths are bytes end to
//! end, so non-UTF-8 names survive. The walk is iterative.
//!
//! One thread lists the directories; reader threads, each with its own
//! view of the filesystem over the shared device, fetch the files' bytes
//! and the links' targets ahead of it (`ext4-view` opens a file by path,
//! a lookup that costs as much as the listing), and the entries join the
//! layer in walk order. What is fetched ahead is bounded in files and
//! bytes.

use super::device::{BoxedDevice, Device};
use super::error::DiskError;
use super::partitions::Contents;
use crate::layer::walked::add_walked;
use crate::layer::{LayerBuilder, RawEntry};
use ext4_view::{DirEntry, Ext4, Ext4Read, FileType, PathBuf as ExtPath};
use imgscan_sbom::FileKind;
use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};

/// Most block groups a filesystem may have (a 4 TiB volume of 4 KiB
/// blocks has 32,768).
const MAX_GROUPS: u64 = 1 << 20;
/// Deepest directory listed (ext4-view's 4096-byte paths allow 2048).
const MAX_DEPTH: usize = 1024;
/// Most entries of one directory read (a hostile directory can map one
/// block of entries many times over).
const MAX_DIR_ENTRIES: usize = 1_000_000;
/// Most files and links fetched ahead of the walk.
const MAX_AHEAD: usize = 256;
/// Most bytes fetched ahead of the walk (one larger file goes alone).
const MAX_AHEAD_BYTES: u64 = 64 << 20;

/// The disk, shared by the filesystem's views on several threads.
type SharedDisk = Arc<Mutex<BoxedDevice>>;

/// One volume of a disk as `ext4-view` reads it.
#[derive(Clone)]
struct Volume {
    disk: SharedDisk,
    start: u64,
    len: u64,
}

impl Ext4Read for Volume {
    fn read(
        &mut self,
        start_byte: u64,
        dst: &mut [u8],
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync + 'static>> {
        super::device::check_range(start_byte, dst.len(), self.len)?;
        let mut disk = self.disk.lock().unwrap_or_else(PoisonError::into_inner);
        disk.read_at(self.start + start_byte, dst)?;
        Ok(())
    }
}

impl Volume {
    /// A view of the filesystem on this volume.
    fn load(&self) -> Result<Ext4, ext4_view::Ext4Error> {
        Ext4::load(Box::new(self.clone()))
    }
}

/// An opened ext filesystem.
pub struct ExtFs {
    fs: Ext4,
    volume: Volume,
}

impl ExtFs {
    /// Loads the filesystem of the volume `start..start + len` of `disk`.
    /// A filesystem larger than its volume (a truncated image) is refused.
    pub fn load(mut disk: BoxedDevice, start: u64, len: u64) -> Result<Self, DiskError> {
        let needed = declared_size(disk.as_mut(), start)?;
        if needed > len {
            return Err(Contents::Ext.error(format!(
                "the filesystem spans {needed} bytes but its volume holds {len}: the image is truncated"
            )));
        }
        let volume = Volume {
            disk: Arc::new(Mutex::new(disk)),
            start,
            len,
        };
        volume
            .load()
            .map(|fs| ExtFs { fs, volume })
            .map_err(|e| Contents::Ext.error(e.to_string()))
    }

    /// The filesystem UUID, as `blkid` prints it.
    pub fn uuid(&self) -> String {
        self.fs.uuid().to_string()
    }

    /// The volume label.
    pub fn label(&self) -> String {
        self.fs.label().to_str().unwrap_or_default().to_string()
    }

    /// Whether `path` names something (links followed inside the volume).
    pub fn has(&self, path: &str) -> bool {
        self.fs.exists(path).unwrap_or(false)
    }

    /// A small file's bytes, if it is there and readable.
    pub fn read_small(&self, path: &str, limit: u64) -> Option<Vec<u8>> {
        let meta = self.fs.metadata(path).ok()?;
        (meta.len() <= limit).then(|| self.fs.read(path).ok())?
    }

    /// Adds every entry below the filesystem's root to `builder`, each
    /// name prefixed by `mount` (`""` for the root filesystem, `boot/`
    /// for one mounted at `/boot`). A top directory that cannot be listed
    /// is an error; anything below it is an unknown.
    ///
    /// `ext4-view` opens a file by path, and finding a name in a directory
    /// without an htree index scans it from the start: reading every file
    /// of a directory of n entries costs n² steps. `budget` bounds the
    /// steps over the whole disk; past it, files in large directories are
    /// listed but their content is not read (links are left out), and the
    /// report says so.
    pub fn walk(
        &self,
        mount: &[u8],
        budget: &mut u64,
        builder: &mut LayerBuilder<'_>,
    ) -> Result<(), DiskError> {
        let readers = std::thread::available_parallelism().map_or(2, |n| n.get());
        let (jobs, queue) = sync_channel::<Fetch>(MAX_AHEAD);
        let queue = Mutex::new(queue);
        std::thread::scope(|scope| {
            for _ in 0..readers {
                let (volume, queue) = (self.volume.clone(), &queue);
                scope.spawn(move || fetch_for(&volume, queue));
            }
            let mut ahead = Ahead {
                fs: &self.fs,
                pending: VecDeque::new(),
                bytes: 0,
                jobs,
            };
            let listed = self.list(mount, budget, builder, &mut ahead);
            while ahead.settle_first(builder) {}
            listed
        })
    }

    /// Lists every directory below the root, depth first in name order,
    /// queueing each entry on `ahead`.
    fn list(
        &self,
        mount: &[u8],
        budget: &mut u64,
        builder: &mut LayerBuilder<'_>,
        ahead: &mut Ahead<'_>,
    ) -> Result<(), DiskError> {
        let mut pending: Vec<(ExtPath, Vec<u8>, usize)> = vec![(
            ExtPath::new("/"),
            mount.strip_suffix(b"/").unwrap_or(mount).to_vec(),
            0,
        )];
        while let Some((dir, rel, depth)) = pending.pop() {
            if builder.is_full() {
                break;
            }
            // Listing resolves the path from the top: one lookup per level.
            let listing_cost = depth as u64 + 1;
            if depth > MAX_DEPTH || *budget < listing_cost {
                builder.unread(
                    1,
                    &rel,
                    "directory not listed: nested too deep, or the disk's lookup budget is spent \
                     (a hostile filesystem can link a directory back to its ancestor)",
                );
                continue;
            }
            *budget -= listing_cost;
            let entries = match self.fs.read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if depth == 0 => {
                    return Err(Contents::Ext.error(format!("cannot list the top directory: {e}")));
                }
                Err(e) => {
                    builder.unreadable(&rel, format!("cannot list directory: {e}"));
                    continue;
                }
            };
            let mut children = Vec::new();
            for entry in entries {
                match entry {
                    Ok(entry) if matches!(entry.file_name().as_ref(), b"." | b"..") => {}
                    Ok(_) if children.len() >= MAX_DIR_ENTRIES => {
                        builder.unread(
                            1,
                            &rel,
                            format!("more than {MAX_DIR_ENTRIES} entries; the rest are not read"),
                        );
                        break;
                    }
                    Ok(entry) => children.push((entry.file_name().as_ref().to_vec(), entry)),
                    Err(e) => builder.unreadable(&rel, format!("cannot list directory: {e}")),
                }
            }
            children.sort_by(|a, b| a.0.cmp(&b.0));
            let lookup_cost = children.len() as u64;
            let mut unread = 0u64;
            let mut subdirs = Vec::new();
            for (name, entry) in children {
                let mut child = rel.clone();
                if !child.is_empty() {
                    child.push(b'/');
                }
                child.extend_from_slice(&name);
                let affordable = *budget >= lookup_cost;
                match visit(&entry, child.clone(), affordable, builder, ahead) {
                    Visited::Dir => subdirs.push((entry.path(), child, depth + 1)),
                    Visited::Read => *budget -= lookup_cost,
                    Visited::Unread => unread += 1,
                    Visited::Other => {}
                }
            }
            if unread > 0 {
                builder.unread(
                    unread,
                    &rel,
                    format!(
                        "{unread} files or links not read: this directory of {lookup_cost} \
                         entries has no index the reader uses, and the disk's lookup budget is spent"
                    ),
                );
            }
            pending.extend(subdirs.into_iter().rev());
        }
        Ok(())
    }
}

/// Queues one entry on `ahead`, its file or link fetched ahead only when
/// `affordable`.
fn visit(
    entry: &DirEntry,
    rel: Vec<u8>,
    affordable: bool,
    builder: &mut LayerBuilder<'_>,
    ahead: &mut Ahead<'_>,
) -> Visited {
    let meta = match entry.metadata() {
        Ok(meta) => meta,
        Err(e) => {
            builder.unreadable(&rel, format!("cannot stat: {e}"));
            return Visited::Other;
        }
    };
    let kind = match meta.file_type() {
        FileType::Directory => FileKind::Dir,
        FileType::Symlink => FileKind::Symlink,
        FileType::Regular => FileKind::File,
        FileType::Fifo => FileKind::Fifo,
        FileType::Socket => FileKind::Socket,
        FileType::CharacterDevice => FileKind::CharDevice,
        FileType::BlockDevice => FileKind::BlockDevice,
    };
    let reads = matches!(kind, FileKind::File | FileKind::Symlink);
    let wanted = match kind {
        FileKind::File => builder.content_wanted(&rel, meta.len()),
        _ => 0,
    };
    let mut queued = Queued {
        name: rel,
        kind,
        size: meta.len(),
        mode: u32::from(meta.mode()),
        uid: meta.uid().into(),
        gid: meta.gid().into(),
        content: Content::None,
        bytes: wanted,
    };
    if reads && !affordable {
        if kind == FileKind::File {
            // Listed with its size; no content, so nothing scans it.
            queued.bytes = 0;
            ahead.push(queued, None, builder);
        }
        return Visited::Unread;
    }
    ahead.push(queued, reads.then(|| entry.path()), builder);
    match kind {
        FileKind::Dir => Visited::Dir,
        _ if reads => Visited::Read,
        _ => Visited::Other,
    }
}

/// What a reader thread is asked to fetch: a file's first `bytes` bytes,
/// or a link's target.
struct Fetch {
    path: ExtPath,
    link: bool,
    bytes: u64,
    reply: SyncSender<io::Result<Vec<u8>>>,
}

impl Fetch {
    fn run(&self, fs: &Ext4) -> io::Result<Vec<u8>> {
        if self.link {
            return fs
                .read_link(&self.path)
                .map(|target| target.as_ref().to_vec())
                .map_err(io::Error::other);
        }
        let file = fs.open(&self.path).map_err(io::Error::other)?;
        let mut bytes = Vec::with_capacity(self.bytes as usize);
        file.take(self.bytes).read_to_end(&mut bytes)?;
        Ok(bytes)
    }
}

/// A reader thread: its own view of the filesystem, fetching until the
/// walk is over.
fn fetch_for(volume: &Volume, queue: &Mutex<Receiver<Fetch>>) {
    let fs = volume.load().map_err(|e| e.to_string());
    loop {
        let job = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(job) = job else { return };
        let fetched = match &fs {
            Ok(fs) => job.run(fs),
            Err(why) => Err(io::Error::other(why.clone())),
        };
        let _ = job.reply.send(fetched);
    }
}

/// An entry waiting for its turn to join the layer.
struct Queued {
    name: Vec<u8>,
    kind: FileKind,
    size: u64,
    mode: u32,
    uid: u64,
    gid: u64,
    /// Where its bytes come from.
    content: Content,
    /// How many bytes the builder reads of it.
    bytes: u64,
}

/// Where a queued entry's bytes come from.
enum Content {
    /// It has none (a directory, a special file, a file not read).
    None,
    /// A reader thread is fetching them.
    Fetched(Receiver<io::Result<Vec<u8>>>),
    /// A file too large to hold ahead: streamed when its turn comes.
    Streamed(ExtPath),
}

/// The entries listed but not yet added, in walk order.
struct Ahead<'f> {
    /// The walk's own view, for files streamed in turn.
    fs: &'f Ext4,
    pending: VecDeque<Queued>,
    bytes: u64,
    jobs: SyncSender<Fetch>,
}

impl Ahead<'_> {
    /// Queues `entry`, asking the readers for `fetch` first if given (a
    /// file larger than [`MAX_AHEAD_BYTES`] is streamed in its turn
    /// instead, never held whole); adds the oldest entries while too much
    /// is ahead.
    fn push(&mut self, mut entry: Queued, fetch: Option<ExtPath>, builder: &mut LayerBuilder<'_>) {
        if entry.bytes > MAX_AHEAD_BYTES
            && let Some(path) = fetch
        {
            entry.content = Content::Streamed(path);
            entry.bytes = 0;
            self.pending.push_back(entry);
            return;
        }
        while self.pending.len() >= MAX_AHEAD
            || !self.pending.is_empty() && self.bytes + entry.bytes > MAX_AHEAD_BYTES
        {
            self.settle_first(builder);
        }
        if let Some(path) = fetch {
            let (reply, fetched) = sync_channel(1);
            let job = Fetch {
                path,
                link: entry.kind == FileKind::Symlink,
                bytes: entry.bytes,
                reply,
            };
            // The readers outlive the walk; a send fails only if they
            // all died, and then the entry reads as unreadable.
            let _ = self.jobs.send(job);
            entry.content = Content::Fetched(fetched);
            self.bytes += entry.bytes;
        }
        self.pending.push_back(entry);
    }

    /// Adds the oldest entry, waiting for its bytes; `false` when none.
    fn settle_first(&mut self, builder: &mut LayerBuilder<'_>) -> bool {
        let Some(entry) = self.pending.pop_front() else {
            return false;
        };
        let raw = RawEntry {
            name: &entry.name,
            kind: entry.kind,
            size: entry.size,
            mode: entry.mode,
            uid: entry.uid,
            gid: entry.gid,
            link: None,
        };
        let fetched = match entry.content {
            Content::None => {
                let _ = builder.add(raw, None);
                return true;
            }
            Content::Streamed(path) => {
                let no_link = || Err(io::Error::other("not a link"));
                add_walked(builder, raw, no_link, || {
                    self.fs.open(&path).map_err(io::Error::other)
                });
                return true;
            }
            Content::Fetched(fetched) => fetched,
        };
        self.bytes -= entry.bytes;
        let bytes = fetched
            .recv()
            .unwrap_or_else(|_| Err(io::Error::other("the reader thread stopped")));
        let bytes = std::cell::Cell::new(Some(bytes));
        let take = || {
            bytes
                .take()
                .unwrap_or_else(|| Err(io::Error::other("read twice")))
        };
        add_walked(builder, raw, take, || take().map(io::Cursor::new));
        true
    }
}

/// What visiting an entry did.
enum Visited {
    /// A directory to descend.
    Dir,
    /// A file or link that was read (a lookup by name was paid for).
    Read,
    /// A file or link left unread: the lookup budget is spent.
    Unread,
    /// Anything else.
    Other,
}

/// The bytes the ext superblock at `start` says the filesystem spans.
fn declared_size(disk: &mut dyn Device, start: u64) -> std::io::Result<u64> {
    let mut sb = [0u8; 1024];
    disk.read_at(start + 1024, &mut sb)?;
    let le32 = |at: usize| u64::from(u32::from_le_bytes(sb[at..at + 4].try_into().unwrap()));
    let log_block = le32(24);
    if log_block > 6 {
        return Err(std::io::Error::other(format!(
            "ext block size 2^{} is out of range",
            10 + log_block
        )));
    }
    let wide = le32(0x60) & 0x80 != 0;
    let blocks = le32(4) | if wide { le32(0x150) << 32 } else { 0 };
    // ext4-view allocates per block group: refuse counts no mkfs makes.
    let per_group = le32(0x20);
    let groups = blocks.saturating_sub(le32(0x14)).div_ceil(per_group.max(1));
    if per_group < 8 || groups > MAX_GROUPS {
        return Err(std::io::Error::other(format!(
            "ext superblock with {blocks} blocks in groups of {per_group} is not credible"
        )));
    }
    Ok(blocks.saturating_mul(1024 << log_block))
}
