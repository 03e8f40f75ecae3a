//! npm's `package-lock.json` and `npm-shrinkwrap.json` (lockfileVersion 1,
//! 2 and 3) and the hidden lockfile `node_modules/.package-lock.json`.
//!
//! Versions 2 and 3 key each package by its install path
//! (`node_modules/send/node_modules/ms`); version 1 nests `dependencies`
//! objects instead. Both become one tree of install locations, and each
//! package's dependencies are resolved in it the way Node's `require` finds
//! them: the nearest `node_modules/<name>` walking up from the dependent.
//! Version 2 files carry both forms; `packages` is read.

use super::{
    Collected, Keys, License, Str, cut, inside_installed_package, licenses, npm_purl, parse_json,
    plausible,
};
use crate::catalog::{CatalogError, CatalogInput, Cataloger};
use crate::package::{Package, Scope};
use serde::Deserialize;
use serde::de::IgnoredAny;
use std::collections::{BTreeMap, HashMap};

/// Deepest `node_modules` nesting accepted in one install path; real trees
/// stay far below it, and the bound keeps resolution linear in the input.
const MAX_NESTING: usize = 64;

/// The package-lock / npm-shrinkwrap cataloger.
pub struct NpmLockCataloger;

impl Cataloger for NpmLockCataloger {
    fn name(&self) -> &'static str {
        "npm-lock"
    }

    fn max_bytes(&self) -> u64 {
        super::MAX_LOCKFILE_BYTES
    }

    fn globs(&self) -> &'static [&'static str] {
        &[
            "**/package-lock.json",
            "**/npm-shrinkwrap.json",
            "**/node_modules/.package-lock.json",
        ]
    }

    fn catalog(&self, input: &CatalogInput<'_>) -> Result<Vec<Package>, CatalogError> {
        if inside_installed_package(input.path) {
            return Ok(Vec::new());
        }
        parse(input.content)
    }
}

/// Parses a package-lock of any version into its packages.
fn parse(content: &[u8]) -> Result<Vec<Package>, CatalogError> {
    let lock: Lockfile = parse_json(content)?;
    let tree = match (lock.packages, lock.dependencies) {
        (Some(packages), _) => Tree::from_packages(packages)?,
        (None, Some(dependencies)) => Tree::from_v1(dependencies)?,
        (None, None) if lock.lockfile_version.is_some() => return Ok(Vec::new()),
        (None, None) => {
            return Err(CatalogError::NotNpmLockfile);
        }
    };
    Ok(tree.packages())
}

// Strings are borrowed from the file where they can be ([`Str`]) and
// dependency maps keep only their keys ([`Keys`]): the parse holds little
// more than the tree it builds.
#[derive(Deserialize)]
struct Lockfile<'a> {
    #[serde(rename = "lockfileVersion")]
    lockfile_version: Option<IgnoredAny>,
    #[serde(borrow)]
    packages: Option<BTreeMap<Str<'a>, Entry<'a>>>,
    #[serde(borrow)]
    dependencies: Option<BTreeMap<Str<'a>, V1Entry<'a>>>,
}

/// A `packages` entry (lockfileVersion 2 and 3).
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Entry<'a> {
    #[serde(borrow)]
    name: Option<Str<'a>>,
    #[serde(borrow)]
    version: Option<Str<'a>>,
    license: Option<License>,
    dev: bool,
    optional: bool,
    dev_optional: bool,
    peer: bool,
    link: bool,
    #[serde(borrow)]
    dependencies: Keys<'a>,
    #[serde(borrow)]
    optional_dependencies: Keys<'a>,
    #[serde(borrow)]
    peer_dependencies: Keys<'a>,
}

/// A `dependencies` entry (lockfileVersion 1 and old shrinkwraps).
#[derive(Deserialize, Default)]
#[serde(default)]
struct V1Entry<'a> {
    #[serde(borrow)]
    version: Option<Str<'a>>,
    dev: bool,
    optional: bool,
    #[serde(borrow)]
    requires: Keys<'a>,
    #[serde(borrow)]
    dependencies: BTreeMap<Str<'a>, V1Entry<'a>>,
}

/// The scope npm's flags give.
fn scope(dev: bool, optional: bool, dev_optional: bool, peer: bool) -> Option<Scope> {
    match (dev, optional, dev_optional, peer) {
        (true, true, _, _) | (_, _, true, _) => Some(Scope::DevOptional),
        (true, _, _, _) => Some(Scope::Dev),
        (_, true, _, _) => Some(Scope::Optional),
        (_, _, _, true) => Some(Scope::Peer),
        _ => None,
    }
}

/// One install location.
#[derive(Default)]
struct Node {
    /// Name and version, when this location holds a package to report
    /// (not the project, a workspace member or a link).
    package: Option<(String, String)>,
    scope: Option<Scope>,
    licenses: Vec<String>,
    /// Names this package requires, resolved from here.
    requires: Vec<String>,
    parent: Option<usize>,
    /// Packages installed in this location's `node_modules`, by directory name.
    children: HashMap<String, usize>,
}

/// Install locations; index 0 is the project root.
struct Tree {
    nodes: Vec<Node>,
}

impl Tree {
    fn new() -> Self {
        Tree {
            nodes: vec![Node::default()],
        }
    }

    fn push(&mut self, parent: usize, installed_as: Option<&str>, node: Node) -> usize {
        let index = self.nodes.len();
        self.nodes.push(Node {
            parent: Some(parent),
            ..node
        });
        if let Some(name) = installed_as {
            self.nodes[parent].children.insert(name.to_string(), index);
        }
        index
    }

    /// Builds the tree from `packages` (keys are install paths).
    fn from_packages(entries: BTreeMap<Str<'_>, Entry<'_>>) -> Result<Tree, CatalogError> {
        let mut tree = Tree::new();
        let mut by_path: HashMap<Str<'_>, usize> = HashMap::from([(Str::default(), 0)]);
        // Keys are sorted, and a path sorts after every prefix of it: each
        // location's parent is in place before the location itself.
        for (path, entry) in entries {
            if path.is_empty() {
                continue;
            }
            let marks: Vec<usize> = path
                .match_indices("node_modules/")
                .map(|(i, _)| i)
                .filter(|&i| i == 0 || path.as_bytes()[i - 1] == b'/')
                .collect();
            if marks.len() > MAX_NESTING {
                return Err(CatalogError::TooDeep {
                    entry: cut(&path).to_string(),
                    limit: MAX_NESTING,
                });
            }
            let installed_as = match marks.last() {
                Some(&i) => {
                    let name = &path[i + "node_modules/".len()..];
                    if !is_install_name(name) {
                        return Err(CatalogError::NotInstallPath(cut(&path).to_string()));
                    }
                    Some(name)
                }
                None => None,
            };
            let parent = marks
                .iter()
                .rev()
                .map(|&i| path[..i].trim_end_matches('/'))
                .find_map(|prefix| by_path.get(prefix).copied())
                .unwrap_or(0);
            let mut node = Node::default();
            if let (Some(installed), false) = (installed_as, entry.link) {
                let name = entry
                    .name
                    .map_or_else(|| installed.to_string(), |n| n.0.into_owned());
                if let Some(version) = entry.version.map(|v| v.0.into_owned()) {
                    if !plausible(&name, &version) {
                        return Err(CatalogError::ImplausibleEntry(cut(&path).to_string()));
                    }
                    node.package = Some((name, version));
                }
                node.scope = scope(entry.dev, entry.optional, entry.dev_optional, entry.peer);
                node.licenses = licenses(entry.license, None);
                node.requires = entry
                    .dependencies
                    .0
                    .into_iter()
                    .chain(entry.optional_dependencies.0)
                    .chain(entry.peer_dependencies.0)
                    .map(|k| k.0.into_owned())
                    .collect();
            }
            let index = tree.push(parent, installed_as, node);
            by_path.insert(path, index);
        }
        Ok(tree)
    }

    /// Builds the tree from lockfileVersion 1 nested `dependencies`.
    fn from_v1(top: BTreeMap<Str<'_>, V1Entry<'_>>) -> Result<Tree, CatalogError> {
        let mut tree = Tree::new();
        // serde_json already bounds the nesting; walking it needs no recursion.
        let mut pending = vec![(0, top)];
        while let Some((parent, entries)) = pending.pop() {
            for (installed, mut entry) in entries {
                let mut node = Node::default();
                match entry.version.as_deref() {
                    Some(version)
                        if version.starts_with("file:") || version.starts_with("link:") => {}
                    Some(version) => {
                        let (name, version) = version
                            .strip_prefix("npm:")
                            .and_then(super::split_at_version)
                            .unwrap_or((&*installed, version));
                        if !plausible(name, version) || !is_install_name(&installed) {
                            return Err(CatalogError::ImplausibleDependency(
                                cut(&installed).to_string(),
                            ));
                        }
                        node.package = Some((name.to_string(), version.to_string()));
                        node.scope = scope(entry.dev, entry.optional, false, false);
                        node.requires = std::mem::take(&mut entry.requires)
                            .0
                            .into_iter()
                            .map(|k| k.0.into_owned())
                            .collect();
                    }
                    None => {}
                }
                let index = tree.push(parent, Some(&*installed), node);
                pending.push((index, std::mem::take(&mut entry.dependencies)));
            }
        }
        Ok(tree)
    }

    /// The nearest package named `name` visible from location `from`.
    fn resolve(&self, from: usize, name: &str) -> Option<usize> {
        let mut at = Some(from);
        while let Some(index) = at {
            if let Some(&found) = self.nodes[index].children.get(name) {
                return Some(found);
            }
            at = self.nodes[index].parent;
        }
        None
    }

    fn packages(self) -> Vec<Package> {
        let mut collected = Collected::default();
        for (index, node) in self.nodes.iter().enumerate() {
            let Some((name, version)) = &node.package else {
                continue;
            };
            let dependencies = node
                .requires
                .iter()
                .filter_map(|dep| self.resolve(index, dep))
                .filter_map(|found| self.nodes[found].package.as_ref())
                .map(|(name, version)| npm_purl(name, version))
                .collect();
            collected.add(
                name,
                version,
                node.scope,
                node.licenses.clone(),
                dependencies,
            );
        }
        collected.finish()
    }
}

/// Whether `name` is one directory (`ms`) or a scoped pair (`@types/node`).
fn is_install_name(name: &str) -> bool {
    let valid = |part: &str| !part.is_empty() && part != "." && part != "..";
    match name.split_once('/') {
        Some((scope, bare)) => {
            scope.starts_with('@') && valid(&scope[1..]) && valid(bare) && !bare.contains('/')
        }
        None => valid(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::npm::testdata;

    fn find<'a>(packages: &'a [Package], name: &str, version: &str) -> &'a Package {
        packages
            .iter()
            .find(|p| p.name == name && p.version == version)
            .unwrap_or_else(|| panic!("{name}@{version} missing"))
    }

    #[test]
    fn v3_graph_scopes_and_licenses() {
        let packages = parse(testdata::read("app/npm-v3/package-lock.json").as_bytes()).unwrap();
        assert!(
            !packages.iter().any(|p| p.name == "fixture-app"),
            "the project itself is not a package"
        );
        let express = find(&packages, "express", "4.18.2");
        assert_eq!(express.scope, None);
        assert_eq!(express.licenses, ["MIT"]);
        assert!(
            express
                .dependencies
                .contains(&"pkg:npm/send@0.18.0".to_string())
        );
        // send's own nested ms 2.1.3, not the hoisted 2.0.0.
        assert!(
            find(&packages, "send", "0.18.0")
                .dependencies
                .contains(&"pkg:npm/ms@2.1.3".to_string())
        );
        assert!(
            find(&packages, "debug", "2.6.9")
                .dependencies
                .contains(&"pkg:npm/ms@2.0.0".to_string())
        );
        let types = find(&packages, "@types/node", "20.11.0");
        assert_eq!(types.purl, "pkg:npm/%40types/node@20.11.0");
        assert_eq!(types.dependencies, ["pkg:npm/undici-types@5.26.5"]);
        assert_eq!(
            find(&packages, "is-number", "7.0.0").scope,
            Some(Scope::Dev)
        );
        assert_eq!(
            find(&packages, "fsevents", "2.3.3").scope,
            Some(Scope::Optional)
        );
        assert_eq!(find(&packages, "react", "18.3.1").scope, Some(Scope::Peer));
        assert!(
            find(&packages, "use-sync-external-store", "1.2.0")
                .dependencies
                .contains(&"pkg:npm/react@18.3.1".to_string())
        );
        assert_eq!(find(&packages, "qs", "6.11.0").licenses, ["BSD-3-Clause"]);
    }

    #[test]
    fn all_versions_agree_on_the_locked_set() {
        let names = |file: &str| -> Vec<(String, String)> {
            let packages = parse(testdata::read(file).as_bytes()).unwrap();
            packages
                .into_iter()
                .map(|p| (p.name, p.version))
                .filter(|(n, _)| n != "react" && n != "loose-envify" && n != "js-tokens")
                .collect()
        };
        let v3 = names("app/npm-v3/package-lock.json");
        assert_eq!(v3.len(), 76, "{v3:?}");
        assert_eq!(names("app/npm-v2/package-lock.json"), v3);
        // npm 6 does not install peers; the rest is the same.
        let v1 = names("app/npm-v1/package-lock.json");
        assert_eq!(v1, v3);
    }

    #[test]
    fn v1_graph_and_scopes() {
        let packages = parse(testdata::read("app/npm-v1/package-lock.json").as_bytes()).unwrap();
        assert!(
            find(&packages, "send", "0.18.0")
                .dependencies
                .contains(&"pkg:npm/ms@2.1.3".to_string())
        );
        assert!(
            find(&packages, "express", "4.18.2")
                .dependencies
                .contains(&"pkg:npm/body-parser@1.20.1".to_string())
        );
        assert_eq!(
            find(&packages, "is-number", "7.0.0").scope,
            Some(Scope::Dev)
        );
        assert_eq!(
            find(&packages, "fsevents", "2.3.3").scope,
            Some(Scope::Optional)
        );
    }

    #[test]
    fn workspaces_and_links() {
        let packages = parse(testdata::read("workspace/package-lock.json").as_bytes()).unwrap();
        let got: Vec<(&str, &str)> = packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        // Workspace members and their links are the project's own code.
        assert_eq!(got, [("ms", "2.0.0"), ("ms", "2.1.3")]);
    }

    #[test]
    fn aliases_report_the_real_package() {
        let lock = r#"{"lockfileVersion": 3, "packages": {
            "": {"dependencies": {"foo": "npm:bar@1.0.0"}},
            "node_modules/foo": {"name": "bar", "version": "1.0.0", "dependencies": {"baz": "*"}},
            "node_modules/baz": {"version": "2.0.0"}}}"#;
        let packages = parse(lock.as_bytes()).unwrap();
        assert_eq!(packages[0].name, "bar");
        assert_eq!(packages[0].dependencies, ["pkg:npm/baz@2.0.0"]);
        let v1 = r#"{"lockfileVersion": 1, "dependencies": {"foo": {"version": "npm:bar@1.0.0"}, "x": {"version": "file:../x"}}}"#;
        let packages = parse(v1.as_bytes()).unwrap();
        assert_eq!(packages.len(), 1);
        assert_eq!(packages[0].purl, "pkg:npm/bar@1.0.0");
    }

    #[test]
    fn malformed_and_hostile_files_are_errors() {
        assert!(parse(b"").is_err());
        assert!(parse(b"[]").is_err());
        assert!(parse(b"{}").is_err());
        assert!(parse(br#"{"packages": {"node_modules/a": {"version": 7}}}"#).is_err());
        assert!(parse(br#"{"packages": {"node_modules/a/b/c": {"version": "1"}}}"#).is_err());
        let long = format!(
            r#"{{"packages": {{"node_modules/a": {{"version": "{}"}}}}}}"#,
            "1".repeat(300)
        );
        assert!(parse(long.as_bytes()).is_err());
        let deep_path = format!(
            r#"{{"packages": {{"{}x": {{"version": "1"}}}}}}"#,
            "node_modules/a/".repeat(65)
        );
        assert_eq!(
            parse(deep_path.as_bytes()).unwrap_err(),
            CatalogError::TooDeep {
                entry: "node_modules/a/".repeat(65)[..80].to_string(),
                limit: MAX_NESTING
            }
        );
        let deep = format!(
            "{}{}",
            r#"{"lockfileVersion":1,"dependencies":"#,
            r#"{"a":{"dependencies":"#.repeat(100_000)
        );
        let err = parse(deep.as_bytes()).unwrap_err();
        assert!(matches!(err, CatalogError::Json(_)), "{err:?}");
        assert!(err.to_string().contains("recursion"), "{err}");
        assert_eq!(parse(br#"{"lockfileVersion": 3}"#).unwrap(), vec![]);
    }

    #[test]
    fn lockfiles_shipped_inside_packages_are_skipped() {
        let tree = crate::test_tree::MapTree::new(&[]);
        let content = testdata::read("app/npm-v3/package-lock.json");
        let input = |path: &'static [u8]| CatalogInput {
            path,
            content: content.as_bytes(),
            os: None,
            tree: &tree,
        };
        assert!(
            NpmLockCataloger
                .catalog(&input(b"app/node_modules/x/npm-shrinkwrap.json"))
                .unwrap()
                .is_empty()
        );
        assert!(
            !NpmLockCataloger
                .catalog(&input(b"app/node_modules/.package-lock.json"))
                .unwrap()
                .is_empty()
        );
    }
}
