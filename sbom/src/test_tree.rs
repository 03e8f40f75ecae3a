//! A file tree in memory for tests of catalogers and checks: regular files
//! with content, directories and symlinks, resolved like the real tree.
//! Public behind the `test-support` feature so other crates' tests share it.

use crate::digest::{Algorithms, FileDigests};
use crate::tree::{FileKind, FileMeta, FileTreeView, LayerNumber, resolve_path};
use std::collections::BTreeMap;

/// Entries by root-relative path; all in layer 0 unless set otherwise.
#[derive(Default)]
pub struct MapTree {
    nodes: BTreeMap<Vec<u8>, Node>,
}

struct Node {
    meta: FileMeta,
    content: Option<Vec<u8>>,
    layer: LayerNumber,
}

impl Node {
    fn new(
        kind: FileKind,
        link: Option<&[u8]>,
        content: Option<&[u8]>,
        layer: LayerNumber,
    ) -> Self {
        let bytes = content.unwrap_or_default();
        let meta = FileMeta {
            kind,
            size: bytes.len() as u64,
            mode: 0o755,
            uid: 0,
            gid: 0,
            link: link.map(Box::from),
            head: bytes[..bytes.len().min(64)].into(),
            digests: content.map(|c| Box::new(FileDigests::of(c, Algorithms::ALL))),
        };
        Node {
            meta,
            content: content.map(<[u8]>::to_vec),
            layer,
        }
    }
}

impl MapTree {
    /// A tree holding the text `files` (parent directories implied).
    pub fn new(files: &[(&str, &str)]) -> Self {
        let mut tree = MapTree::default();
        for (path, content) in files {
            tree = tree.file(path, content.as_bytes());
        }
        tree
    }

    /// Adds a regular file with `content`.
    pub fn file(self, path: &str, content: &[u8]) -> Self {
        self.file_in(path, content, 0)
    }

    /// Adds a regular file with `content`, put there by `layer`.
    pub fn file_in(mut self, path: &str, content: &[u8], layer: LayerNumber) -> Self {
        self.add_parents(path);
        self.nodes.insert(
            path.as_bytes().to_vec(),
            Node::new(FileKind::File, None, Some(content), layer),
        );
        self
    }

    /// Sets the mode bits of the entry at `path` (0o755 unless set).
    pub fn mode(mut self, path: &str, mode: u32) -> Self {
        if let Some(node) = self.nodes.get_mut(path.as_bytes()) {
            node.meta.mode = mode;
        }
        self
    }

    /// Adds a symlink `link` -> `target` (target as stored in the link).
    pub fn link(mut self, link: &str, target: &str) -> Self {
        self.add_parents(link);
        self.nodes.insert(
            link.as_bytes().to_vec(),
            Node::new(FileKind::Symlink, Some(target.as_bytes()), None, 0),
        );
        self
    }

    fn add_parents(&mut self, path: &str) {
        let mut parent = path;
        while let Some((up, _)) = parent.rsplit_once('/') {
            self.nodes
                .entry(up.as_bytes().to_vec())
                .or_insert_with(|| Node::new(FileKind::Dir, None, None, 0));
            parent = up;
        }
    }
}

impl FileTreeView for MapTree {
    fn entry(&self, path: &[u8]) -> Option<(&FileMeta, LayerNumber)> {
        self.nodes.get(path).map(|n| (&n.meta, n.layer))
    }

    fn resolve(&self, path: &[u8]) -> Option<Vec<u8>> {
        resolve_path(path, |p| self.nodes.get(p).map(|n| &n.meta))
    }

    fn content(&self, path: &[u8]) -> Option<&[u8]> {
        self.nodes.get(&self.resolve(path)?)?.content.as_deref()
    }

    fn walk(&self) -> Box<dyn Iterator<Item = (&[u8], &FileMeta, LayerNumber)> + '_> {
        Box::new(
            self.nodes
                .iter()
                .map(|(path, n)| (path.as_slice(), &n.meta, n.layer)),
        )
    }
}
