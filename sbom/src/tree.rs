//! The merged file tree as every capability sees it.
//!
//! A [`FileTreeView`] is the final view of an image after whiteouts are
//! applied: each path knows its metadata and the layer that put it there.
//! Symlinks are resolved inside the tree, as a chroot at the image root
//! would, never on the host.

use crate::digest::FileDigests;

/// A layer's 0-based position in the image (a rootfs directory is layer 0),
/// as `layer` in the report.
pub type LayerNumber = usize;

/// The type of a tree entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link; its target is in [`FileMeta::link`].
    Symlink,
    /// A hard link whose target was not found in the same layer; its target
    /// path is in [`FileMeta::link`].
    HardLink,
    /// A character device node.
    CharDevice,
    /// A block device node.
    BlockDevice,
    /// A named pipe.
    Fifo,
    /// A Unix socket.
    Socket,
}

impl FileKind {
    /// Stable lower-case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::File => "file",
            FileKind::Dir => "dir",
            FileKind::Symlink => "symlink",
            FileKind::HardLink => "hardlink",
            FileKind::CharDevice => "char-device",
            FileKind::BlockDevice => "block-device",
            FileKind::Fifo => "fifo",
            FileKind::Socket => "socket",
        }
    }
}

/// Metadata of one entry, as the layer recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMeta {
    /// Entry type.
    pub kind: FileKind,
    /// Size of the content in bytes (0 for anything but regular files).
    pub size: u64,
    /// Permission bits, including setuid/setgid/sticky.
    pub mode: u32,
    /// Owner user id.
    pub uid: u64,
    /// Owner group id.
    pub gid: u64,
    /// Link target bytes, exactly as stored, for symlinks and hard links.
    pub link: Option<Box<[u8]>>,
    /// The first bytes of a regular file's content (magic numbers), so that
    /// "is this an ELF?" never needs a second read.
    pub head: Box<[u8]>,
    /// Digests of a regular file's whole content, computed as it streamed
    /// by, when the scan verifies packages and the file may be packaged.
    pub digests: Option<Box<FileDigests>>,
}

/// Read access to the final, merged tree of an image.
pub trait FileTreeView {
    /// The entry stored at exactly `path` (root-relative bytes, no leading
    /// `/`), without following symlinks, and the layer that put it there.
    fn entry(&self, path: &[u8]) -> Option<(&FileMeta, LayerNumber)>;

    /// Resolves every symlink in `path` inside the tree, as a chroot at the
    /// image root would. Returns the canonical root-relative path, or `None`
    /// when a component is missing, a loop is found, or the chain is too long.
    fn resolve(&self, path: &[u8]) -> Option<Vec<u8>>;

    /// The captured content of the regular file at `path` after resolving
    /// links, if the scan was asked to capture that path.
    fn content(&self, path: &[u8]) -> Option<&[u8]>;

    /// Every entry of the tree with its metadata and layer, sorted by path.
    fn walk(&self) -> Box<dyn Iterator<Item = (&[u8], &FileMeta, LayerNumber)> + '_>;
}

/// Where the file a package database names at the root-relative `path`
/// is: the links among its parents resolved inside `tree`, its last
/// component kept (a link there is the file itself, replaced by a link).
/// Parents that do not resolve are kept by name.
pub fn locate(tree: &dyn FileTreeView, path: &[u8]) -> Vec<u8> {
    let Some(at) = path.iter().rposition(|&b| b == b'/') else {
        return path.to_vec();
    };
    let mut located = tree
        .resolve(&path[..at])
        .unwrap_or_else(|| path[..at].to_vec());
    if !located.is_empty() {
        located.push(b'/');
    }
    located.extend_from_slice(&path[at + 1..]);
    located
}

/// Most symlinks followed while resolving one path (Linux's own limit).
pub const MAX_LINK_HOPS: usize = 40;

/// Bytes of path looked up while resolving one path for a reader of the
/// final tree ([`resolve_path`]): far more than any real path needs.
const RESOLVE_BUDGET: u64 = 16 << 20;

/// Resolves every symlink in the root-relative `path` as a chroot at the
/// image root would: absolute targets restart at the root, `..` stops at
/// the root. `lookup` gives the entry stored at a root-relative path. The
/// result is `None` when a component is missing, a non-directory has
/// children, or more than [`MAX_LINK_HOPS`] links are followed.
pub fn resolve_path<'a>(
    path: &[u8],
    lookup: impl Fn(&[u8]) -> Option<&'a FileMeta>,
) -> Option<Vec<u8>> {
    let (path, complete) = follow_path(path, lookup, &mut RESOLVE_BUDGET.clone()).ok()?;
    complete.then_some(path)
}

/// Why the links along a path could not be followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unfollowed {
    /// More than [`MAX_LINK_HOPS`] links: a loop, or a chain too long.
    Loop,
    /// The look-up budget is spent (a hostile, very deep tree).
    Budget,
}

/// Where an entry named `path` lands when a runtime writes it into a tree
/// (`lookup` gives that tree's entries): every symlink among its parents is
/// followed (see [`follow_path`]); the last component is kept as it is (an
/// entry replaces a link, it does not write through it). Returns the
/// root-relative path and whether every parent was found as a directory.
pub fn place_path<'a>(
    path: &[u8],
    lookup: impl Fn(&[u8]) -> Option<&'a FileMeta>,
    budget: &mut u64,
) -> Result<(Vec<u8>, bool), Unfollowed> {
    let (parent, name) = match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&[][..], path),
    };
    let (mut placed, complete) = follow_path(parent, lookup, budget)?;
    if !placed.is_empty() {
        placed.push(b'/');
    }
    placed.extend_from_slice(name);
    Ok((placed, complete))
}

/// Follows every symlink along `path`, the last component included, inside
/// the tree, as `openat` below a chroot would. Components that are missing,
/// or below a non-directory, are kept by name (the writer of an entry makes
/// them directories), and a `..` from a link target climbs back out of them.
/// Returns the root-relative path and whether every component was found as
/// a directory. Each look-up charges its path's length to `budget`.
pub fn follow_path<'a>(
    path: &[u8],
    lookup: impl Fn(&[u8]) -> Option<&'a FileMeta>,
    budget: &mut u64,
) -> Result<(Vec<u8>, bool), Unfollowed> {
    let mut pending: Vec<Vec<u8>> = components(path).rev().map(<[u8]>::to_vec).collect();
    // The path so far, and where each of its components starts.
    let mut current: Vec<u8> = Vec::with_capacity(path.len());
    let mut starts: Vec<usize> = Vec::new();
    let mut hops = 0;
    let mut incomplete = false;
    // Depth of the first component that was missing or not a directory:
    // nothing below it exists, so it is not looked up.
    let mut absent_from: Option<usize> = None;
    while let Some(part) = pending.pop() {
        if part == b".." {
            if let Some(start) = starts.pop() {
                current.truncate(start.saturating_sub(1));
            }
            if absent_from.is_some_and(|depth| starts.len() < depth) {
                absent_from = None;
            }
            continue;
        }
        starts.push(if current.is_empty() {
            0
        } else {
            current.len() + 1
        });
        if !current.is_empty() {
            current.push(b'/');
        }
        current.extend_from_slice(&part);
        if absent_from.is_some() {
            continue;
        }
        *budget = budget
            .checked_sub(current.len() as u64 + 1)
            .ok_or(Unfollowed::Budget)?;
        match lookup(&current) {
            Some(meta) if meta.kind == FileKind::Symlink => {
                hops += 1;
                if hops > MAX_LINK_HOPS {
                    return Err(Unfollowed::Loop);
                }
                let start = starts.pop().unwrap_or(0);
                current.truncate(start.saturating_sub(1));
                let target = meta.link.as_deref().unwrap_or_default();
                if target.first() == Some(&b'/') {
                    current.clear();
                    starts.clear();
                }
                pending.extend(components(target).rev().map(<[u8]>::to_vec));
            }
            Some(meta) if meta.kind == FileKind::Dir => {}
            Some(_) if pending.is_empty() => {}
            _ => {
                incomplete = true;
                absent_from = Some(starts.len());
            }
        }
    }
    Ok((current, !incomplete))
}

fn components(path: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    path.split(|&b| b == b'/')
        .filter(|part| !part.is_empty() && *part != b".")
}
