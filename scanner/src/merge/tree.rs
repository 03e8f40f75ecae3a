//! The merged view of an image: layer indexes applied in order, with
//! whiteouts and opaque directories, into one [`FileTree`] where each path
//! knows the layer that put it there, and which files later layers deleted.
//! Symlinks resolve inside the tree only, as a chroot at the image root would.

use crate::layer::capture::CaptureSpec;
use crate::layer::entry_name::split_parent;
use crate::layer::{
    LayerIndex, PLACEMENT_BUDGET, PLACEMENT_SPENT, UNPLACED_CAPTURE_BYTES, Unknown,
};
use imgscan_sbom::tree::{Unfollowed, follow_path, place_path, resolve_path};
use imgscan_sbom::{FileKind, FileMeta, FileTreeView, LayerNumber, display_path};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// The file bytes one layer kept, by path.
pub type Captured = HashMap<Box<[u8]>, Arc<[u8]>>;

/// One path in the final tree.
#[derive(Debug, Clone)]
pub struct Node {
    /// Its metadata.
    pub meta: FileMeta,
    /// The layer that put it there.
    pub layer: LayerNumber,
}

/// A path that a layer put in the tree and a later layer removed.
#[derive(Debug, Clone)]
pub struct Deleted {
    /// Root-relative path.
    pub path: Box<[u8]>,
    /// What it was.
    pub node: Node,
    /// The layer that removed it.
    pub deleted_in: LayerNumber,
}

/// The final file tree of an image.
#[derive(Debug, Default)]
pub struct FileTree {
    nodes: BTreeMap<Box<[u8]>, Node>,
    deleted: Vec<Deleted>,
    captured: Vec<Captured>,
}

impl FileTree {
    /// Applies the layers in order, as a runtime unpacks them. Each layer's
    /// opaque directories and whiteouts hide what the layers below put
    /// there; then its entries replace what they name, and an entry that is
    /// not a directory also hides what lay below it. An entry whose parents
    /// the layer did not declare is placed through the links the tree holds
    /// by then (`e -> etc` below, `e/cron.d/x` above: `/etc/cron.d/x`), and
    /// keeps its captured bytes only where `capture` wants its real path.
    /// What cannot be placed is counted in the layer's index, with an
    /// unknown.
    pub fn merge(layers: &mut [LayerIndex], capture: &CaptureSpec) -> FileTree {
        let mut tree = FileTree::default();
        for (layer, index) in layers.iter_mut().enumerate() {
            let mut placing = Placing::new(layer);
            for dir in std::mem::take(&mut index.opaque_dirs) {
                let followed = tree.follow(&dir, &mut placing.budget);
                if let Some(dir) = placing.settle(followed, &dir, index) {
                    tree.remove_below(&dir, layer);
                }
            }
            for path in std::mem::take(&mut index.whiteouts) {
                let placed = tree.place(&path, &mut placing.budget);
                if let Some(path) = placing.settle(placed, &path, index) {
                    tree.remove(&path, layer);
                    tree.remove_below(&path, layer);
                }
            }
            let mut old_captured = std::mem::take(&mut index.captured);
            let mut captured = Captured::new();
            let unkept: HashSet<Box<[u8]>> =
                std::mem::take(&mut index.unkept).into_iter().collect();
            let mut moved: HashMap<Box<[u8]>, Box<[u8]>> = HashMap::new();
            for mut entry in std::mem::take(&mut index.entries) {
                let named = entry.path.clone();
                if !entry.placed {
                    let placed = tree.place(&entry.path, &mut placing.budget);
                    let Some(path) = placing.settle(placed, &entry.path, index) else {
                        continue;
                    };
                    entry.path = path.into();
                }
                if entry.meta.kind == FileKind::HardLink
                    && let Some(target) = entry.meta.link.clone()
                {
                    let placed = tree.place(&target, &mut placing.budget);
                    if let Some(target) = placing.settle(placed, &target, index) {
                        entry.meta.link = Some(target.into());
                    }
                }
                if let Some(bytes) = old_captured.remove(&named)
                    && (entry.placed || capture.wants(&entry.path))
                {
                    captured.insert(entry.path.clone(), bytes);
                } else if unkept.contains(&named) && capture.wants(&entry.path) {
                    index.skipped.unreadable += 1;
                    index.unknowns.push(Unknown {
                        path: display_path(&entry.path),
                        layer,
                        reason: format!(
                            "written as `{}` through links of a lower layer; its bytes were not kept (more such files than {UNPLACED_CAPTURE_BYTES} bytes in the image)",
                            display_path(&named)
                        ),
                    });
                }
                if entry.path != named {
                    moved.insert(named, entry.path.clone());
                }
                if entry.meta.kind != FileKind::Dir {
                    tree.remove_below(&entry.path, layer);
                }
                tree.add_parents(&entry.path, layer);
                let node = Node {
                    meta: entry.meta,
                    layer,
                };
                if let Some(old) = tree.nodes.insert(entry.path.clone(), node)
                    && old.layer != layer
                    && old.meta.kind != FileKind::Dir
                {
                    tree.deleted.push(Deleted {
                        path: entry.path,
                        node: old,
                        deleted_in: layer,
                    });
                }
            }
            for found in &mut index.malware {
                if let Some(path) = moved.get(&found.path) {
                    found.path = path.clone();
                }
            }
            tree.captured.push(captured);
        }
        tree
    }

    /// Where an entry named `path` lands in the tree as it is now.
    fn place(&self, path: &[u8], budget: &mut u64) -> Result<Vec<u8>, Unfollowed> {
        let parent = split_parent(path).0;
        if parent.is_empty()
            || self
                .nodes
                .get(parent)
                .is_some_and(|n| n.meta.kind == FileKind::Dir)
        {
            return Ok(path.to_vec());
        }
        place_path(path, |p| self.nodes.get(p).map(|n| &n.meta), budget).map(|(p, _)| p)
    }

    /// `path` with every link along it followed in the tree as it is now.
    fn follow(&self, path: &[u8], budget: &mut u64) -> Result<Vec<u8>, Unfollowed> {
        follow_path(path, |p| self.nodes.get(p).map(|n| &n.meta), budget).map(|(p, _)| p)
    }

    fn remove(&mut self, path: &[u8], layer: LayerNumber) {
        if let Some(node) = self.nodes.remove(path) {
            self.deleted.push(Deleted {
                path: path.into(),
                node,
                deleted_in: layer,
            });
        }
    }

    /// Removes everything strictly below `dir` (the whole tree for the root).
    fn remove_below(&mut self, dir: &[u8], layer: LayerNumber) {
        let doomed: Vec<Box<[u8]>> = if dir.is_empty() {
            self.nodes.keys().cloned().collect()
        } else {
            let mut start = dir.to_vec();
            start.push(b'/');
            let mut end = dir.to_vec();
            end.push(b'/' + 1);
            self.nodes
                .range::<[u8], _>((
                    std::ops::Bound::Included(&start[..]),
                    std::ops::Bound::Excluded(&end[..]),
                ))
                .map(|(k, _)| k.clone())
                .collect()
        };
        for path in doomed {
            self.remove(&path, layer);
        }
    }

    /// Makes sure every parent directory of `path` exists: a tar may name
    /// `a/b/c` without ever naming `a/` or `a/b/`. A parent that a lower
    /// layer made a symlink or file is replaced by a directory, as overlayfs
    /// shows a directory of an upper layer over a lower non-directory.
    fn add_parents(&mut self, path: &[u8], layer: LayerNumber) {
        let mut parent = split_parent(path).0;
        while !parent.is_empty() {
            match self.nodes.get(parent) {
                Some(node) if node.meta.kind == FileKind::Dir || node.layer == layer => break,
                Some(_) => self.remove(parent, layer),
                None => {}
            }
            let meta = FileMeta {
                kind: FileKind::Dir,
                size: 0,
                mode: 0o755,
                uid: 0,
                gid: 0,
                link: None,
                head: Box::default(),
            };
            self.nodes.insert(parent.into(), Node { meta, layer });
            parent = split_parent(parent).0;
        }
    }

    /// Every path of the final tree, sorted by bytes.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &Node)> {
        self.nodes.iter().map(|(k, v)| (&**k, v))
    }

    /// The bytes that layer `layer`'s own copy of `path` held, if captured.
    pub fn captured_in(&self, layer: LayerNumber, path: &[u8]) -> Option<&[u8]> {
        self.captured.get(layer)?.get(path).map(|b| &**b)
    }

    /// Paths that later layers removed, in the order they were removed.
    pub fn deleted(&self) -> &[Deleted] {
        &self.deleted
    }

    /// Number of paths in the final tree.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the final tree is empty.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

/// The link look-ups of one layer's merge, within [`PLACEMENT_BUDGET`].
struct Placing {
    layer: LayerNumber,
    budget: u64,
    spent: bool,
}

impl Placing {
    fn new(layer: LayerNumber) -> Self {
        Placing {
            layer,
            budget: PLACEMENT_BUDGET,
            spent: false,
        }
    }

    /// The placed path of `named`; `None` (counted, with an unknown) when
    /// its links loop; `named` itself once the budget is spent (said once).
    fn settle(
        &mut self,
        placed: Result<Vec<u8>, Unfollowed>,
        named: &[u8],
        index: &mut LayerIndex,
    ) -> Option<Vec<u8>> {
        let unknown = |reason: &str| Unknown {
            path: display_path(named),
            layer: self.layer,
            reason: reason.to_string(),
        };
        match placed {
            Ok(path) => Some(path),
            Err(Unfollowed::Loop) => {
                index.skipped.invalid += 1;
                index.unknowns.push(unknown(
                    "the links above it in the layers below loop; skipped",
                ));
                None
            }
            Err(Unfollowed::Budget) => {
                if !std::mem::replace(&mut self.spent, true) {
                    index.unknowns.push(unknown(PLACEMENT_SPENT));
                }
                Some(named.to_vec())
            }
        }
    }
}

impl FileTreeView for FileTree {
    fn entry(&self, path: &[u8]) -> Option<(&FileMeta, LayerNumber)> {
        self.nodes.get(path).map(|node| (&node.meta, node.layer))
    }

    fn resolve(&self, path: &[u8]) -> Option<Vec<u8>> {
        resolve_path(path, |p| self.nodes.get(p).map(|n| &n.meta))
    }

    fn walk(&self) -> Box<dyn Iterator<Item = (&[u8], &FileMeta, LayerNumber)> + '_> {
        Box::new(
            self.nodes
                .iter()
                .map(|(path, node)| (&**path, &node.meta, node.layer)),
        )
    }

    fn content(&self, path: &[u8]) -> Option<&[u8]> {
        let resolved = self.resolve(path)?;
        let node = self.nodes.get(resolved.as_slice())?;
        match node.meta.kind {
            FileKind::File => self
                .captured
                .get(node.layer)?
                .get(resolved.as_slice())
                .map(|b| &**b),
            FileKind::HardLink => {
                let target = node.meta.link.as_deref()?;
                let target_node = self.nodes.get(target)?;
                if target_node.meta.kind != FileKind::File {
                    return None;
                }
                self.captured
                    .get(target_node.layer)?
                    .get(target)
                    .map(|b| &**b)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::IndexedEntry;

    fn meta(kind: FileKind, link: Option<&str>) -> FileMeta {
        FileMeta {
            kind,
            size: 0,
            mode: 0o644,
            uid: 0,
            gid: 0,
            link: link.map(|l| l.as_bytes().into()),
            head: Box::default(),
        }
    }

    fn layer(
        entries: &[(&str, FileKind, Option<&str>)],
        whiteouts: &[&str],
        opaque: &[&str],
    ) -> LayerIndex {
        LayerIndex {
            entries: entries
                .iter()
                .map(|(p, k, l)| IndexedEntry {
                    path: p.as_bytes().into(),
                    meta: meta(*k, *l),
                    placed: false,
                })
                .collect(),
            whiteouts: whiteouts.iter().map(|p| p.as_bytes().into()).collect(),
            opaque_dirs: opaque.iter().map(|p| p.as_bytes().into()).collect(),
            ..LayerIndex::default()
        }
    }

    fn nothing() -> CaptureSpec {
        CaptureSpec::new::<&str>(&[]).unwrap()
    }

    fn paths(tree: &FileTree) -> Vec<String> {
        tree.iter()
            .map(|(p, n)| format!("{}@{}", String::from_utf8_lossy(p), n.layer))
            .collect()
    }

    #[test]
    fn whiteouts_opaque_dirs_and_replacement() {
        use FileKind::*;
        let mut layers = vec![
            layer(
                &[
                    ("etc", Dir, None),
                    ("etc/a", File, None),
                    ("etc/b", File, None),
                    ("var/x/y", File, None),
                    ("opt/d/f", File, None),
                ],
                &[],
                &[],
            ),
            layer(
                &[
                    ("etc/c", File, None),
                    ("var/x/new", File, None),
                    ("opt/d", File, None),
                ],
                &["etc/a"],
                &["var/x"],
            ),
        ];
        let tree = FileTree::merge(&mut layers, &nothing());
        assert_eq!(
            paths(&tree),
            [
                "etc@0",
                "etc/b@0",
                "etc/c@1",
                "opt@0",
                "opt/d@1",
                "var@0",
                "var/x@0",
                "var/x/new@1"
            ]
        );
        let deleted: Vec<_> = tree
            .deleted()
            .iter()
            .map(|d| (String::from_utf8_lossy(&d.path).into_owned(), d.deleted_in))
            .collect();
        assert_eq!(
            deleted,
            [
                ("var/x/y".to_string(), 1),
                ("etc/a".to_string(), 1),
                ("opt/d/f".to_string(), 1)
            ]
        );
    }

    #[test]
    fn whiteout_of_a_directory_removes_its_contents() {
        use FileKind::*;
        let mut layers = vec![
            layer(&[("a/b/c", File, None), ("a/d", File, None)], &[], &[]),
            layer(&[], &["a"], &[]),
        ];
        let tree = FileTree::merge(&mut layers, &nothing());
        assert!(tree.is_empty());
        assert_eq!(tree.deleted().len(), 4);
    }

    #[test]
    fn entries_are_written_through_lower_links_and_declared_directories_replace_them() {
        use FileKind::*;
        let lower = || {
            layer(
                &[
                    ("usr/bin", Dir, None),
                    ("bin", Symlink, Some("usr/bin")),
                    ("e", Symlink, Some("/etc/../etc")),
                ],
                &[],
                &[],
            )
        };
        // No `bin/` in the upper layer: the file lands in `usr/bin`.
        let mut layers = vec![
            lower(),
            layer(
                &[("bin/tool", File, None), ("e/cron.d/m", File, None)],
                &[],
                &[],
            ),
        ];
        let tree = FileTree::merge(&mut layers, &nothing());
        assert_eq!(tree.entry(b"bin").unwrap().0.kind, Symlink);
        assert_eq!(tree.entry(b"usr/bin/tool").unwrap().1, 1);
        assert!(tree.entry(b"bin/tool").is_none());
        assert_eq!(tree.entry(b"etc/cron.d/m").unwrap().1, 1);
        assert!(tree.deleted().is_empty());
        // `bin/` declared: a directory replaces the link.
        let mut layers = vec![
            lower(),
            layer(&[("bin", Dir, None), ("bin/tool", File, None)], &[], &[]),
        ];
        let tree = FileTree::merge(&mut layers, &nothing());
        assert_eq!(tree.entry(b"bin").unwrap().0.kind, Dir);
        assert_eq!(tree.resolve(b"bin/tool").unwrap(), b"bin/tool");
        assert_eq!(tree.deleted().len(), 1);
    }

    #[test]
    fn whiteouts_and_captured_bytes_follow_lower_links() {
        use FileKind::*;
        let mut upper = layer(
            &[("e/passwd", File, None), ("e/junk", File, None)],
            &["e/shadow"],
            &[],
        );
        upper
            .captured
            .insert(b"e/passwd"[..].into(), Arc::from(&b"root"[..]));
        upper
            .captured
            .insert(b"e/junk"[..].into(), Arc::from(&b"junk"[..]));
        let mut layers = vec![
            layer(
                &[("etc/shadow", File, None), ("e", Symlink, Some("etc"))],
                &[],
                &[],
            ),
            upper,
        ];
        let capture = CaptureSpec::new(&["etc/passwd"]).unwrap();
        let tree = FileTree::merge(&mut layers, &capture);
        assert!(tree.entry(b"etc/shadow").is_none());
        assert_eq!(tree.content(b"etc/passwd").unwrap(), b"root");
        assert_eq!(tree.captured_in(1, b"etc/junk"), None, "not wanted there");
    }

    #[test]
    fn a_moved_file_whose_bytes_were_not_kept_is_named() {
        use FileKind::*;
        let mut upper = layer(&[("e/passwd", File, None)], &[], &[]);
        upper.unkept.push(b"e/passwd"[..].into());
        let mut layers = vec![layer(&[("e", Symlink, Some("etc"))], &[], &[]), upper];
        let capture = CaptureSpec::new(&["etc/passwd"]).unwrap();
        let tree = FileTree::merge(&mut layers, &capture);
        assert!(tree.entry(b"etc/passwd").is_some());
        assert_eq!(layers[1].skipped.unreadable, 1);
        assert_eq!(layers[1].unknowns[0].path, "/etc/passwd");
        assert!(layers[1].unknowns[0].reason.contains("`/e/passwd`"));
    }

    #[test]
    fn symlinks_resolve_inside_the_tree_like_a_chroot() {
        use FileKind::*;
        let mut layers = vec![layer(
            &[
                ("usr/bin/bash", File, None),
                ("bin", Symlink, Some("usr/bin")),
                ("etc/escape", Symlink, Some("../../../../usr/bin/bash")),
                ("etc/abs", Symlink, Some("/bin/bash")),
                ("loop1", Symlink, Some("loop2")),
                ("loop2", Symlink, Some("/loop1")),
                ("out", Symlink, Some("/etc/shadow")),
            ],
            &[],
            &[],
        )];
        let tree = FileTree::merge(&mut layers, &nothing());
        assert_eq!(tree.resolve(b"bin/bash").unwrap(), b"usr/bin/bash");
        assert_eq!(tree.resolve(b"etc/escape").unwrap(), b"usr/bin/bash");
        assert_eq!(tree.resolve(b"etc/abs").unwrap(), b"usr/bin/bash");
        assert_eq!(tree.resolve(b"loop1"), None);
        assert_eq!(tree.resolve(b"out"), None);
        assert_eq!(tree.resolve(b"usr/bin/bash/x"), None);
    }

    #[test]
    fn long_symlink_chains_stop_at_the_hop_limit() {
        use FileKind::*;
        let names: Vec<String> = (0..=imgscan_sbom::tree::MAX_LINK_HOPS + 1)
            .map(|i| format!("l{i}"))
            .collect();
        let mut entries: Vec<(&str, FileKind, Option<&str>)> = Vec::new();
        for i in 0..names.len() - 1 {
            entries.push((&names[i], Symlink, Some(&names[i + 1])));
        }
        entries.push((names.last().unwrap(), File, None));
        let tree = FileTree::merge(&mut [layer(&entries, &[], &[])], &nothing());
        assert_eq!(tree.resolve(b"l0"), None);
        assert!(tree.resolve(b"l2").is_some());
    }
}
