//! The merged file tree as every capability sees it.
//!
//! A [`FileTreeView`] is the final view of an image after whiteouts are
//! applied: each path knows its metadata and the layer that put it there.
//! Symlinks are resolved inside the tree, as a chroot at the image root
//! would, never on the host.

/// 0-based index of a layer in the image (a rootfs directory is layer 0).
pub type LayerIndex = usize;

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
}

/// Read access to the final, merged tree of an image.
pub trait FileTreeView {
    /// The entry stored at exactly `path` (root-relative bytes, no leading
    /// `/`), without following symlinks, and the layer that put it there.
    fn entry(&self, path: &[u8]) -> Option<(&FileMeta, LayerIndex)>;

    /// Resolves every symlink in `path` inside the tree, as a chroot at the
    /// image root would. Returns the canonical root-relative path, or `None`
    /// when a component is missing, a loop is found, or the chain is too long.
    fn resolve(&self, path: &[u8]) -> Option<Vec<u8>>;

    /// The captured content of the regular file at `path` after resolving
    /// links, if the scan was asked to capture that path.
    fn content(&self, path: &[u8]) -> Option<&[u8]>;

    /// Every entry of the tree with its metadata and layer, sorted by path.
    fn walk(&self) -> Box<dyn Iterator<Item = (&[u8], &FileMeta, LayerIndex)> + '_>;
}

/// Most symlinks followed while resolving one path (Linux's own limit).
pub const MAX_LINK_HOPS: usize = 40;

/// Resolves every symlink in the root-relative `path` as a chroot at the
/// image root would: absolute targets restart at the root, `..` stops at
/// the root. `lookup` gives the entry stored at a root-relative path. The
/// result is `None` when a component is missing, a non-directory has
/// children, or more than [`MAX_LINK_HOPS`] links are followed.
pub fn resolve_path<'a>(
    path: &[u8],
    lookup: impl Fn(&[u8]) -> Option<&'a FileMeta>,
) -> Option<Vec<u8>> {
    let mut pending: Vec<Vec<u8>> = components(path).rev().map(<[u8]>::to_vec).collect();
    let mut current: Vec<Vec<u8>> = Vec::new();
    let mut hops = 0;
    while let Some(part) = pending.pop() {
        if part == b".." {
            current.pop();
            continue;
        }
        current.push(part);
        let meta = lookup(&current.join(&b'/'))?;
        match meta.kind {
            FileKind::Symlink => {
                hops += 1;
                if hops > MAX_LINK_HOPS {
                    return None;
                }
                current.pop();
                let target = meta.link.as_deref().unwrap_or_default();
                if target.first() == Some(&b'/') {
                    current.clear();
                }
                pending.extend(components(target).rev().map(<[u8]>::to_vec));
            }
            FileKind::Dir => {}
            _ if !pending.is_empty() => return None,
            _ => {}
        }
    }
    Some(current.join(&b'/'))
}

fn components(path: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    path.split(|&b| b == b'/')
        .filter(|part| !part.is_empty() && *part != b".")
}
