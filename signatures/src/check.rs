//! The [`Check`] trait, the context checks read, and running them all;
//! the built-in checks implement it, one file per family, under `checks/`.

use imgscan_sbom::{FileTreeView, Finding, Package, Severity, display_path};
use std::borrow::Cow;
use std::collections::HashSet;

/// One finding id a check can report, for `imgscan rules list` and docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckInfo {
    /// Stable dotted id.
    pub id: &'static str,
    /// Severity it is reported at (the highest, where it varies).
    pub severity: Severity,
    /// What it means.
    pub description: &'static str,
}

/// A hygiene or persistence rule over the final file tree.
pub trait Check: Send + Sync {
    /// The ids this check reports.
    fn info(&self) -> &'static [CheckInfo];

    /// Globs of the root-relative files it reads (captured in the layer pass).
    fn globs(&self) -> &'static [&'static str];

    /// Runs over the tree.
    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding>;
}

/// What checks read: the final tree and the packages found in it.
pub struct CheckContext<'a> {
    /// The final tree.
    pub tree: &'a dyn FileTreeView,
    /// Every package found.
    pub packages: &'a [Package],
    owned: HashSet<Vec<u8>>,
    has_os_packages: bool,
}

impl<'a> CheckContext<'a> {
    /// A context over `tree` and `packages`.
    pub fn new(tree: &'a dyn FileTreeView, packages: &'a [Package]) -> Self {
        let os_packages = packages.iter().filter(|p| p.ecosystem.is_os());
        let owned = os_packages
            .clone()
            .flat_map(|p| p.files.iter().cloned())
            .collect();
        CheckContext {
            tree,
            packages,
            owned,
            has_os_packages: os_packages.count() > 0,
        }
    }

    /// The text of a captured file (lossy UTF-8), after resolving links.
    pub fn text(&self, path: &[u8]) -> Option<Cow<'a, str>> {
        self.tree.content(path).map(String::from_utf8_lossy)
    }

    /// Whether an installed OS package owns the file at `path` (resolved
    /// through the image's links); `None` when the image has no OS package
    /// database to ask.
    pub fn is_owned(&self, path: &[u8]) -> Option<bool> {
        if !self.has_os_packages {
            return None;
        }
        let resolved = self.tree.resolve(path).unwrap_or_else(|| path.to_vec());
        Some(self.owned.contains(&resolved) || self.owned.contains(path))
    }

    /// The layer of the entry at `path`, or 0.
    pub fn layer_of(&self, path: &[u8]) -> usize {
        self.tree.entry(path).map(|(_, layer)| layer).unwrap_or(0)
    }

    /// Every regular file or symlink whose root-relative path matches `pred`.
    pub fn paths_where(&self, pred: impl Fn(&[u8]) -> bool) -> Vec<Vec<u8>> {
        self.tree
            .walk()
            .filter(|(path, _, _)| pred(path))
            .map(|(path, _, _)| path.to_vec())
            .collect()
    }

    /// A finding about the file at `at` (root-relative path, 1-based line),
    /// in the layer that put the file there.
    pub fn finding(
        &self,
        info: &CheckInfo,
        severity: Severity,
        at: (&[u8], Option<usize>),
        title: String,
        evidence: String,
        remedy: &str,
    ) -> Finding {
        let (path, line) = at;
        Finding {
            id: info.id,
            severity,
            title,
            path: display_path(path),
            line: line.map(|l| l as u32),
            layer: self.layer_of(path),
            evidence,
            remedy: remedy.to_string(),
        }
    }
}

/// The globs every check needs captured.
pub fn check_globs(checks: &[Box<dyn Check>]) -> Vec<String> {
    checks
        .iter()
        .flat_map(|c| c.globs())
        .map(|g| g.to_string())
        .collect()
}

/// Runs `checks`, leaving out the ids in `skip`; findings sorted by
/// severity, layer, path, id and line.
pub fn run_checks(
    checks: &[Box<dyn Check>],
    ctx: &CheckContext<'_>,
    skip: &[String],
) -> Vec<Finding> {
    let mut findings: Vec<Finding> = checks
        .iter()
        .flat_map(|c| c.run(ctx))
        .filter(|f| !skip.iter().any(|s| s == f.id))
        .collect();
    findings.sort_by(|a, b| {
        (a.severity, a.layer, &a.path, a.id, a.line)
            .cmp(&(b.severity, b.layer, &b.path, b.id, b.line))
    });
    findings.dedup();
    findings
}
