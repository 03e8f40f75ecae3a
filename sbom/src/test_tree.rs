//! A file tree in memory for unit tests of catalogers and OS detection:
//! captured files by path, and directory symlinks resolved by prefix.

use crate::tree::{FileMeta, FileTreeView, LayerIndex};
use std::collections::HashMap;

/// Files by root-relative path, plus `(link, target)` directory links.
pub struct MapTree {
    files: HashMap<String, String>,
    links: Vec<(String, String)>,
}

impl MapTree {
    /// A tree holding `files`.
    pub fn new(files: &[(&str, &str)]) -> Self {
        MapTree { files: files.iter().map(|(p, c)| (p.to_string(), c.to_string())).collect(), links: Vec::new() }
    }

    /// Adds a directory symlink `link` -> `target` (both root-relative).
    pub fn link(mut self, link: &str, target: &str) -> Self {
        self.links.push((link.to_string(), target.to_string()));
        self
    }
}

impl FileTreeView for MapTree {
    fn entry(&self, _: &[u8]) -> Option<(&FileMeta, LayerIndex)> {
        None
    }

    fn resolve(&self, path: &[u8]) -> Option<Vec<u8>> {
        let path = std::str::from_utf8(path).ok()?;
        for (link, target) in &self.links {
            if path == link {
                return Some(target.as_bytes().to_vec());
            }
            if let Some(rest) = path.strip_prefix(link.as_str()).and_then(|r| r.strip_prefix('/')) {
                return Some(format!("{target}/{rest}").into_bytes());
            }
        }
        Some(path.as_bytes().to_vec())
    }

    fn content(&self, path: &[u8]) -> Option<&[u8]> {
        self.files.get(std::str::from_utf8(path).ok()?).map(|s| s.as_bytes())
    }
}
