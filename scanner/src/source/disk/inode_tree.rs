//! A filesystem read by inode number (ext, XFS), walked into a layer like
//! a rootfs directory, and the path lookups the disk reader makes.
//!
//! The walk lists directories depth first in name order on the calling
//! thread; reader threads fetch the files' bytes and the links' targets
//! ahead of it (a large file in pieces, by all of them at once, so that
//! inflating a compressed image's clusters is spread over every core),
//! and the entries join the layer in walk order. What is fetched ahead is
//! bounded in entries and bytes; a file larger than that is streamed in
//! its turn. A directory reached twice is not listed again,
//! and the directory bytes read over a whole volume are bounded, so a
//! hostile tree of looping or shared blocks ends.

use super::block_map::{Blocks, Content, MappedFile};
use super::error::DiskError;
use super::partitions::Contents;
use crate::layer::walked::add_walked;
use crate::layer::{LayerBuilder, RawEntry};
use imgscan_sbom::FileKind;
use std::collections::{HashSet, VecDeque};
use std::io::{self, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};

/// Deepest directory listed.
const MAX_DEPTH: usize = 1024;
/// Most entries of one directory read.
pub const MAX_DIR_ENTRIES: usize = 1 << 20;
/// Most files and links fetched ahead of the walk.
const MAX_AHEAD: usize = 256;
/// Most bytes fetched ahead of the walk (one larger file goes alone).
const MAX_AHEAD_BYTES: u64 = 64 << 20;
/// Bytes of one piece of a large file fetched by one reader.
const PIECE_BYTES: u64 = 1 << 20;
/// Symbolic links followed by one lookup, as the kernel allows.
const MAX_LINKS_FOLLOWED: usize = 40;

/// What a walk needs of an inode.
pub struct Stat {
    /// The file type.
    pub kind: FileKind,
    /// Its size in bytes.
    pub size: u64,
    /// Its mode bits, type included.
    pub mode: u32,
    /// Its owner.
    pub uid: u64,
    /// Its group.
    pub gid: u64,
}

/// A filesystem whose files are found by inode number.
pub trait InodeTree: Blocks {
    /// A parsed inode.
    type Inode: Send;
    /// Which filesystem this is, for errors.
    const CONTENTS: Contents;
    /// The root directory's inode number.
    fn root(&self) -> u64;
    /// The volume's size in bytes: a filesystem's directories fit in it,
    /// so it bounds the directory bytes a walk or lookup reads.
    fn volume_size(&self) -> u64;
    /// Reads inode `ino`.
    fn inode(&self, ino: u64) -> io::Result<Self::Inode>;
    /// Its type, size and owner.
    fn stat(&self, inode: &Self::Inode) -> Stat;
    /// A directory's entries other than `.` and `..`, as (name, inode
    /// number), paying the bytes read from `budget`.
    fn list(&self, dir: &Self::Inode, budget: &mut u64) -> io::Result<Vec<(Vec<u8>, u64)>>;
    /// A symbolic link's target.
    fn link_target(&self, link: &Self::Inode) -> io::Result<Vec<u8>>;
    /// Where a regular file's first `limit` bytes are.
    fn content(&self, file: &Self::Inode, limit: u64) -> io::Result<Content>;
}

/// A regular file's first `limit` bytes (fewer if it is shorter).
pub fn open<'f, T: InodeTree>(
    fs: &'f T,
    file: &T::Inode,
    limit: u64,
) -> io::Result<MappedFile<'f>> {
    let size = fs.stat(file).size.min(limit);
    Ok(MappedFile::new(
        fs,
        Arc::new(fs.content(file, limit)?),
        size,
    ))
}

/// The inode `path` names, symbolic links followed inside the volume.
pub fn lookup<T: InodeTree>(fs: &T, path: &[u8]) -> io::Result<T::Inode> {
    let mut budget = fs.volume_size();
    let mut parents = vec![fs.root()];
    let mut todo: Vec<Vec<u8>> = components(path).rev().collect();
    let mut followed = 0;
    let mut inode = fs.inode(fs.root())?;
    while let Some(part) = todo.pop() {
        match part.as_slice() {
            b"." => continue,
            b".." => {
                if parents.len() > 1 {
                    parents.pop();
                }
                inode = fs.inode(*parents.last().expect("the root stays"))?;
                continue;
            }
            _ => {}
        }
        if fs.stat(&inode).kind != FileKind::Dir {
            return Err(io::Error::new(io::ErrorKind::NotFound, "not a directory"));
        }
        let ino = fs
            .list(&inode, &mut budget)?
            .into_iter()
            .find_map(|(name, ino)| (name == part).then_some(ino))
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))?;
        let child = fs.inode(ino)?;
        if fs.stat(&child).kind == FileKind::Symlink {
            followed += 1;
            if followed > MAX_LINKS_FOLLOWED {
                return Err(io::Error::other("too many levels of symbolic links"));
            }
            let target = fs.link_target(&child)?;
            if target.starts_with(b"/") {
                parents.truncate(1);
            }
            todo.extend(components(&target).rev());
            inode = fs.inode(*parents.last().expect("the root stays"))?;
            continue;
        }
        parents.push(ino);
        inode = child;
    }
    Ok(inode)
}

/// The file type the type bits of a POSIX mode give.
pub fn kind_of_mode(mode: u16) -> FileKind {
    match mode & 0o170000 {
        0o040000 => FileKind::Dir,
        0o120000 => FileKind::Symlink,
        0o010000 => FileKind::Fifo,
        0o140000 => FileKind::Socket,
        0o020000 => FileKind::CharDevice,
        0o060000 => FileKind::BlockDevice,
        _ => FileKind::File,
    }
}

/// A filesystem UUID as `blkid` prints it.
pub fn uuid_text(uuid: &[u8; 16]) -> String {
    let h = hex::encode(uuid);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn components(path: &[u8]) -> impl DoubleEndedIterator<Item = Vec<u8>> + '_ {
    path.split(|&b| b == b'/')
        .filter(|p| !p.is_empty())
        .map(<[u8]>::to_vec)
}

/// Whether `path` names something.
pub fn has<T: InodeTree>(fs: &T, path: &str) -> bool {
    lookup(fs, path.as_bytes()).is_ok()
}

/// A regular file's bytes, if it is there, readable and at most `limit`.
pub fn read_small<T: InodeTree>(fs: &T, path: &str, limit: u64) -> Option<Vec<u8>> {
    let inode = lookup(fs, path.as_bytes()).ok()?;
    let stat = fs.stat(&inode);
    if stat.kind != FileKind::File || stat.size > limit {
        return None;
    }
    let mut bytes = Vec::new();
    open(fs, &inode, limit).ok()?.read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// How many threads fetch files ahead of a walk.
pub fn reader_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Adds every entry below the root of `fs` to `builder`, each name
/// prefixed by `mount` (`""` for the root filesystem, `boot/` for one
/// mounted at `/boot`). A root that cannot be listed is an error; anything
/// below it is an unknown.
pub fn walk<T: InodeTree>(
    fs: &T,
    mount: &[u8],
    builder: &mut LayerBuilder<'_>,
) -> Result<(), DiskError> {
    let readers = reader_threads();
    let (jobs, queue) = sync_channel::<Job<T::Inode>>(MAX_AHEAD);
    let queue = Mutex::new(queue);
    std::thread::scope(|scope| {
        for _ in 0..readers {
            let queue = &queue;
            scope.spawn(move || serve(fs, queue));
        }
        let mut ahead = Ahead {
            fs,
            pending: VecDeque::new(),
            bytes: 0,
            jobs,
        };
        let listed = list_all(fs, mount, builder, &mut ahead);
        while ahead.settle_first(builder) {}
        listed
    })
}

/// Lists every directory below the root, queueing each entry on `ahead`.
fn list_all<T: InodeTree>(
    fs: &T,
    mount: &[u8],
    builder: &mut LayerBuilder<'_>,
    ahead: &mut Ahead<'_, T>,
) -> Result<(), DiskError> {
    let mut budget = fs.volume_size();
    let mut pending = vec![(
        fs.root(),
        mount.strip_suffix(b"/").unwrap_or(mount).to_vec(),
        0,
    )];
    let mut seen = HashSet::new();
    while let Some((ino, rel, depth)) = pending.pop() {
        if builder.is_full() {
            break;
        }
        if depth > MAX_DEPTH || !seen.insert(ino) {
            builder.unread(
                1,
                &rel,
                "directory not listed: nested too deep, or reached twice",
            );
            continue;
        }
        let listed = fs.inode(ino).and_then(|dir| fs.list(&dir, &mut budget));
        let mut children = match listed {
            Ok(children) => children,
            Err(e) if depth == 0 => {
                return Err(T::CONTENTS.error(format!("cannot list the top directory: {e}")));
            }
            Err(e) => {
                builder.unreadable(&rel, format!("cannot list directory: {e}"));
                continue;
            }
        };
        children.sort();
        let mut subdirs = Vec::new();
        for (name, child_ino) in children {
            let mut child = rel.clone();
            if !child.is_empty() {
                child.push(b'/');
            }
            child.extend_from_slice(&name);
            let inode = match fs.inode(child_ino) {
                Ok(inode) => inode,
                Err(e) => {
                    builder.unreadable(&child, format!("cannot read its inode: {e}"));
                    continue;
                }
            };
            let stat = fs.stat(&inode);
            if stat.kind == FileKind::Dir {
                subdirs.push((child_ino, child.clone(), depth + 1));
            }
            ahead.push(child, stat, inode, builder);
        }
        pending.extend(subdirs.into_iter().rev());
    }
    Ok(())
}

/// What a reader thread is asked to fetch.
enum Fetch<I> {
    /// A link's target.
    Link(I),
    /// A file's first `bytes` bytes.
    File(I, u64),
    /// `len` bytes from `offset` of a file whose blocks are known.
    Piece {
        content: Arc<Content>,
        offset: u64,
        len: u64,
    },
}

/// A fetch and where its bytes go.
type Job<I> = (Fetch<I>, SyncSender<io::Result<Vec<u8>>>);

/// A reader thread: fetches until the walk is over.
fn serve<T: InodeTree>(fs: &T, queue: &Mutex<Receiver<Job<T::Inode>>>) {
    loop {
        let job = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok((fetch, reply)) = job else { return };
        let fetched = match fetch {
            Fetch::Link(inode) => fs.link_target(&inode),
            Fetch::File(inode, bytes) => open(fs, &inode, bytes).and_then(|mut file| {
                let mut read = Vec::with_capacity(bytes as usize);
                file.read_to_end(&mut read)?;
                Ok(read)
            }),
            Fetch::Piece {
                content,
                offset,
                len,
            } => {
                let mut piece = vec![0u8; len as usize];
                content.read_at(fs, offset, &mut piece).map(|()| piece)
            }
        };
        let _ = reply.send(fetched);
    }
}

/// An entry waiting for its turn to join the layer.
struct Queued<I> {
    name: Vec<u8>,
    stat: Stat,
    content: Pending<I>,
    /// How many bytes the builder reads of it (held ahead while fetched).
    bytes: u64,
}

/// Where a queued entry's bytes come from.
enum Pending<I> {
    /// It has none (a directory, a special file).
    None,
    /// Reader threads are fetching them, in one piece or several.
    Fetched(Vec<Receiver<io::Result<Vec<u8>>>>),
    /// They cannot be read: why.
    Failed(io::Error),
    /// A file too large to hold ahead: streamed when its turn comes.
    Streamed(I),
}

/// The entries listed but not yet added, in walk order.
struct Ahead<'f, T: InodeTree> {
    fs: &'f T,
    pending: VecDeque<Queued<T::Inode>>,
    bytes: u64,
    jobs: SyncSender<Job<T::Inode>>,
}

impl<T: InodeTree> Ahead<'_, T> {
    /// Queues the entry `name`, asking the readers for a file's bytes or a
    /// link's target (a file larger than [`MAX_AHEAD_BYTES`] is streamed
    /// in its turn instead, never held whole); adds the oldest entries
    /// while too much is ahead.
    fn push(&mut self, name: Vec<u8>, stat: Stat, inode: T::Inode, builder: &mut LayerBuilder<'_>) {
        let bytes = match stat.kind {
            FileKind::File => builder.content_wanted(&name, stat.size),
            _ => 0,
        };
        let mut entry = Queued {
            name,
            stat,
            content: Pending::None,
            bytes,
        };
        let reads = matches!(entry.stat.kind, FileKind::File | FileKind::Symlink);
        if reads && bytes > MAX_AHEAD_BYTES {
            entry.content = Pending::Streamed(inode);
            self.pending.push_back(entry);
            return;
        }
        while self.pending.len() >= MAX_AHEAD
            || !self.pending.is_empty() && self.bytes + bytes > MAX_AHEAD_BYTES
        {
            self.settle_first(builder);
        }
        if reads {
            let fetches = match entry.stat.kind {
                FileKind::Symlink => Ok(vec![Fetch::Link(inode)]),
                _ if bytes > 2 * PIECE_BYTES => self.pieces(&inode, bytes),
                _ => Ok(vec![Fetch::File(inode, bytes)]),
            };
            entry.content = match fetches {
                Ok(fetches) => Pending::Fetched(self.send(fetches)),
                Err(e) => Pending::Failed(e),
            };
            self.bytes += bytes;
        }
        self.pending.push_back(entry);
    }

    /// A large file's first `bytes` bytes as pieces for several readers.
    fn pieces(&self, inode: &T::Inode, bytes: u64) -> io::Result<Vec<Fetch<T::Inode>>> {
        let content = Arc::new(self.fs.content(inode, bytes)?);
        Ok((0..bytes.div_ceil(PIECE_BYTES))
            .map(|i| Fetch::Piece {
                content: Arc::clone(&content),
                offset: i * PIECE_BYTES,
                len: PIECE_BYTES.min(bytes - i * PIECE_BYTES),
            })
            .collect())
    }

    /// Hands `fetches` to the readers; their replies, in order.
    fn send(&self, fetches: Vec<Fetch<T::Inode>>) -> Vec<Receiver<io::Result<Vec<u8>>>> {
        fetches
            .into_iter()
            .map(|fetch| {
                let (reply, fetched) = sync_channel(1);
                // The readers outlive the walk; a send fails only if they
                // all died, and then the entry reads as unreadable.
                let _ = self.jobs.send((fetch, reply));
                fetched
            })
            .collect()
    }

    /// Adds the oldest entry, waiting for its bytes; `false` when none.
    fn settle_first(&mut self, builder: &mut LayerBuilder<'_>) -> bool {
        let Some(entry) = self.pending.pop_front() else {
            return false;
        };
        let stat = &entry.stat;
        let raw = RawEntry {
            name: &entry.name,
            kind: stat.kind,
            size: stat.size,
            mode: stat.mode,
            uid: stat.uid,
            gid: stat.gid,
            link: None,
        };
        match entry.content {
            Pending::None => {
                let _ = builder.add(raw, None);
            }
            Pending::Streamed(inode) => {
                let no_link = || Err(io::Error::other("not a link"));
                add_walked(builder, raw, no_link, || open(self.fs, &inode, entry.bytes));
            }
            Pending::Fetched(_) | Pending::Failed(_) => {
                self.bytes -= entry.bytes;
                let pieces = std::cell::Cell::new(Some(gather(entry.content)));
                let take = || {
                    pieces
                        .take()
                        .unwrap_or_else(|| Err(io::Error::other("read twice")))
                };
                // A link's target is fetched in one piece.
                let link = || take().map(|pieces| pieces.concat());
                add_walked(builder, raw, link, || take().map(Pieces::new));
            }
        }
        true
    }
}

/// A fetched entry's pieces, in order, or the first error.
fn gather<I>(content: Pending<I>) -> io::Result<Vec<Vec<u8>>> {
    let replies = match content {
        Pending::Fetched(replies) => replies,
        Pending::Failed(e) => return Err(e),
        Pending::None | Pending::Streamed(_) => return Ok(Vec::new()),
    };
    replies
        .into_iter()
        .map(|reply| {
            reply
                .recv()
                .unwrap_or_else(|_| Err(io::Error::other("the reader thread stopped")))
        })
        .collect()
}

/// A file's fetched pieces read one after the other, never joined.
struct Pieces {
    rest: std::vec::IntoIter<Vec<u8>>,
    current: io::Cursor<Vec<u8>>,
}

impl Pieces {
    fn new(pieces: Vec<Vec<u8>>) -> Self {
        Pieces {
            rest: pieces.into_iter(),
            current: io::Cursor::new(Vec::new()),
        }
    }
}

impl Read for Pieces {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.current.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            match self.rest.next() {
                Some(piece) => self.current = io::Cursor::new(piece),
                None => return Ok(0),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_read_in_order_across_their_seams() {
        let pieces = vec![b"ab".to_vec(), Vec::new(), b"cde".to_vec(), b"f".to_vec()];
        let mut reader = Pieces::new(pieces);
        let mut small = [0u8; 2];
        let mut read = Vec::new();
        loop {
            let n = reader.read(&mut small).unwrap();
            if n == 0 {
                break;
            }
            read.extend_from_slice(&small[..n]);
        }
        assert_eq!(read, b"abcdef");
        assert_eq!(kind_of_mode(0o120777), FileKind::Symlink);
        assert_eq!(uuid_text(&[0xab; 16]).len(), 36);
    }
}
