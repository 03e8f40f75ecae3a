//! pnpm's `pnpm-lock.yaml` (lockfile versions 5.x, 6.x and 9.x) and the
//! copy pnpm keeps of it in `node_modules/.pnpm/lock.yaml`.
//!
//! The versions differ in how a package is keyed: `/name/1.0.0_peer@2` (5),
//! `/name@1.0.0(peer@2)` (6), and `name@1.0.0` under `packages` with the
//! dependency graph under `snapshots`, keyed `name@1.0.0(peer@2)` (9). A
//! dependency `name: ref` resolves to the key built from both, or to `ref`
//! itself when it is an alias (`/real/1.0.0`, `/real@1.0.0`, `real@1.0.0`);
//! `link:` refs point at workspace members, which are not packages.
//! Versions 5 and 6 mark `dev` and `optional` per package; version 9 marks
//! only `optional`, so dev-only packages are found by walking the graph
//! from each importer's `dependencies` and `devDependencies`.

use super::{
    Collected, Text, cut, inside_installed_package, parse_yaml, plausible, split_at_version, utf8,
};
use crate::catalog::{CatalogError, CatalogInput, Cataloger};
use crate::package::{Package, Scope};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

/// The pnpm-lock.yaml cataloger.
pub struct PnpmLockCataloger;

impl Cataloger for PnpmLockCataloger {
    fn name(&self) -> &'static str {
        "pnpm-lock"
    }

    fn max_bytes(&self) -> u64 {
        super::MAX_LOCKFILE_BYTES
    }

    fn globs(&self) -> &'static [&'static str] {
        &["**/pnpm-lock.yaml", "**/node_modules/.pnpm/lock.yaml"]
    }

    fn catalog(&self, input: &CatalogInput<'_>) -> Result<Vec<Package>, CatalogError> {
        if inside_installed_package(input.path) {
            return Ok(Vec::new());
        }
        parse(utf8(input.content)?)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Lockfile {
    lockfile_version: Option<Text>,
    #[serde(default)]
    importers: BTreeMap<String, Importer>,
    /// A single project's dependencies (versions 5 and 6 without importers).
    #[serde(flatten)]
    root: Importer,
    #[serde(default)]
    packages: BTreeMap<String, Entry>,
    #[serde(default)]
    snapshots: BTreeMap<String, Entry>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Importer {
    dependencies: BTreeMap<String, Ref>,
    optional_dependencies: BTreeMap<String, Ref>,
    dev_dependencies: BTreeMap<String, Ref>,
}

/// An importer's dependency: `1.0.0` (5) or `{ specifier, version }` (6, 9).
#[derive(Deserialize)]
#[serde(untagged)]
enum Ref {
    Plain(Text),
    Detailed { version: Text },
}

impl Ref {
    fn text(&self) -> &str {
        match self {
            Ref::Plain(text) | Ref::Detailed { version: text } => &text.0,
        }
    }
}

/// A `packages` or `snapshots` entry.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Entry {
    name: Option<String>,
    version: Option<Text>,
    dev: Option<bool>,
    optional: bool,
    dependencies: BTreeMap<String, Text>,
    optional_dependencies: BTreeMap<String, Text>,
}

/// The key syntax of a lockfile version.
#[derive(Clone, Copy, PartialEq)]
enum Syntax {
    /// `/name/1.0.0_peer@2`
    V5,
    /// `/name@1.0.0(peer@2)`
    V6,
    /// `name@1.0.0(peer@2)`
    V9,
}

impl Syntax {
    /// Name and version from a key.
    fn split_key(self, key: &str) -> Option<(String, String)> {
        let key = key.strip_prefix('/').unwrap_or(key);
        let (name, version) = match self {
            Syntax::V5 => {
                let (name, rest) = key.rsplit_once('/')?;
                (name, rest.split('_').next().unwrap_or(rest))
            }
            Syntax::V6 | Syntax::V9 => split_at_version(key.split('(').next().unwrap_or(key))?,
        };
        plausible(name, version).then(|| (name.to_string(), version.to_string()))
    }

    /// The keys a dependency `name: reference` may point at, in order.
    fn targets(self, name: &str, reference: &str) -> Option<[String; 2]> {
        if reference.starts_with("link:") {
            return None;
        }
        let built = match self {
            Syntax::V5 => format!("/{name}/{reference}"),
            Syntax::V6 => format!("/{name}@{reference}"),
            Syntax::V9 => format!("{name}@{reference}"),
        };
        Some([built, reference.to_string()])
    }
}

/// One node of the graph: a package key and what it depends on.
struct Node {
    package: Option<(String, String)>,
    dev: Option<bool>,
    optional: bool,
    /// `(name, reference)` of each dependency.
    dependencies: Vec<(String, String)>,
}

fn parse(text: &str) -> Result<Vec<Package>, CatalogError> {
    let lock: Lockfile = parse_yaml(text)?;
    let version = lock
        .lockfile_version
        .ok_or(CatalogError::NotPnpmLockfile)?
        .0;
    let major: u32 = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .ok_or_else(|| {
            CatalogError::UnknownLockfileVersion(super::first_line(&version).to_string())
        })?;
    let syntax = match major {
        0..=5 => Syntax::V5,
        6..=8 => Syntax::V6,
        _ => Syntax::V9,
    };
    // Version 9 keeps the graph in `snapshots` and the identity in
    // `packages`; earlier versions keep both in `packages`.
    let (graph, details) = match syntax {
        Syntax::V9 if !lock.snapshots.is_empty() => (lock.snapshots, lock.packages),
        _ => (lock.packages, BTreeMap::new()),
    };
    let mut index = HashMap::new();
    let mut nodes = Vec::with_capacity(graph.len());
    for (key, entry) in graph {
        let base = key.split('(').next().unwrap_or(&key);
        let detail = details.get(base);
        let name = entry
            .name
            .clone()
            .or_else(|| detail.and_then(|d| d.name.clone()));
        let version = entry
            .version
            .as_ref()
            .or_else(|| detail.and_then(|d| d.version.as_ref()))
            .map(|v| v.0.clone());
        let package = match (name, version) {
            (Some(name), Some(version)) if plausible(&name, &version) => Some((name, version)),
            (Some(_), Some(_)) => {
                return Err(CatalogError::ImplausibleEntry(cut(&key).to_string()));
            }
            _ => syntax.split_key(&key),
        };
        let dependencies = entry
            .dependencies
            .into_iter()
            .chain(entry.optional_dependencies)
            .map(|(name, reference)| (name, reference.0))
            .collect();
        index.insert(key, nodes.len());
        nodes.push(Node {
            package,
            dev: entry.dev,
            optional: entry.optional,
            dependencies,
        });
    }
    let resolve = |name: &str, reference: &str| {
        syntax
            .targets(name, reference)
            .and_then(|keys| keys.iter().find_map(|k| index.get(k).copied()))
    };
    let edges: Vec<Vec<usize>> = nodes
        .iter()
        .map(|node| {
            node.dependencies
                .iter()
                .filter_map(|(n, r)| resolve(n, r))
                .collect()
        })
        .collect();

    let scopes: Vec<Option<Scope>> = match syntax {
        Syntax::V9 => {
            let importers = lock.importers.values().chain(std::iter::once(&lock.root));
            let prod_roots = importers
                .clone()
                .flat_map(|i| i.dependencies.iter().chain(&i.optional_dependencies));
            let dev_roots = importers.flat_map(|i| &i.dev_dependencies);
            let prod = reachable(prod_roots.filter_map(|(n, r)| resolve(n, r.text())), &edges);
            let dev = reachable(dev_roots.filter_map(|(n, r)| resolve(n, r.text())), &edges);
            nodes
                .iter()
                .enumerate()
                .map(|(i, node)| match (prod[i], dev[i], node.optional) {
                    (false, true, true) => Some(Scope::DevOptional),
                    (false, true, false) => Some(Scope::Dev),
                    (_, _, true) => Some(Scope::Optional),
                    _ => None,
                })
                .collect()
        }
        Syntax::V5 | Syntax::V6 => nodes
            .iter()
            .map(|node| match (node.dev, node.optional) {
                (Some(true), true) => Some(Scope::DevOptional),
                (Some(true), false) => Some(Scope::Dev),
                (_, true) => Some(Scope::Optional),
                _ => None,
            })
            .collect(),
    };

    let mut collected = Collected::default();
    for (i, node) in nodes.iter().enumerate() {
        let Some((name, version)) = &node.package else {
            continue;
        };
        let dependencies = edges[i]
            .iter()
            .filter_map(|&t| nodes[t].package.as_ref())
            .map(|(n, v)| super::npm_purl(n, v))
            .collect();
        collected.add(name, version, scopes[i], Vec::new(), dependencies);
    }
    Ok(collected.finish())
}

/// Which nodes `roots` reach through `edges` (iteratively).
fn reachable(roots: impl Iterator<Item = usize>, edges: &[Vec<usize>]) -> Vec<bool> {
    let mut seen = vec![false; edges.len()];
    let mut pending: Vec<usize> = roots.collect();
    while let Some(node) = pending.pop() {
        if !std::mem::replace(&mut seen[node], true) {
            pending.extend(edges[node].iter().copied().filter(|&t| !seen[t]));
        }
    }
    seen
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

    fn set(packages: &[Package]) -> Vec<(String, String)> {
        packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect()
    }

    #[test]
    fn every_lockfile_version_gives_the_same_graph() {
        let v9 = parse(&testdata::read("app/pnpm-v9/pnpm-lock.yaml")).unwrap();
        let v6 = parse(&testdata::read("app/pnpm-v6/pnpm-lock.yaml")).unwrap();
        let v5 = parse(&testdata::read("app/pnpm-v5/pnpm-lock.yaml")).unwrap();
        assert_eq!(set(&v6), set(&v9));
        // pnpm 7 did not install peers by default.
        let peers = ["js-tokens", "loose-envify", "react"];
        let v9_without_peers: Vec<_> = set(&v9)
            .into_iter()
            .filter(|(n, _)| !peers.contains(&n.as_str()))
            .collect();
        assert_eq!(set(&v5), v9_without_peers);
        for packages in [&v5, &v6, &v9] {
            assert!(
                find(packages, "send", "0.18.0")
                    .dependencies
                    .contains(&"pkg:npm/ms@2.1.3".to_string())
            );
            assert!(
                find(packages, "debug", "2.6.9")
                    .dependencies
                    .contains(&"pkg:npm/ms@2.0.0".to_string())
            );
            assert_eq!(
                find(packages, "@types/node", "20.11.0").dependencies,
                ["pkg:npm/undici-types@5.26.5"]
            );
            assert_eq!(
                find(packages, "@types/node", "20.11.0").purl,
                "pkg:npm/%40types/node@20.11.0"
            );
            assert_eq!(find(packages, "is-number", "7.0.0").scope, Some(Scope::Dev));
            assert_eq!(
                find(packages, "fsevents", "2.3.3").scope,
                Some(Scope::Optional)
            );
            assert_eq!(find(packages, "express", "4.18.2").scope, None);
            assert!(!packages.iter().any(|p| p.name == "fixture-app"));
        }
        for packages in [&v6, &v9] {
            assert_eq!(
                find(packages, "use-sync-external-store", "1.2.0").dependencies,
                ["pkg:npm/react@18.3.1"]
            );
            assert_eq!(find(packages, "react", "18.3.1").scope, None);
        }
    }

    #[test]
    fn workspace_links_are_not_packages() {
        let packages = parse(&testdata::read("workspace/pnpm-lock.yaml")).unwrap();
        assert_eq!(
            set(&packages),
            [
                ("ms".to_string(), "2.0.0".to_string()),
                ("ms".to_string(), "2.1.3".to_string())
            ]
        );
    }

    #[test]
    fn aliases_and_peer_suffixes() {
        let v5 = "lockfileVersion: 5.4\ndependencies:\n  foo: /bar/1.0.0\npackages:\n  /bar/1.0.0:\n    dependencies:\n      '@s/p': 2.0.0_react@18.0.0\n    dev: false\n  /@s/p/2.0.0_react@18.0.0:\n    dev: true\n";
        let packages = parse(v5).unwrap();
        assert_eq!(
            set(&packages),
            [
                ("@s/p".to_string(), "2.0.0".to_string()),
                ("bar".to_string(), "1.0.0".to_string())
            ]
        );
        assert_eq!(packages[1].dependencies, ["pkg:npm/%40s/p@2.0.0"]);
        let v9 = "lockfileVersion: '9.0'\nimporters:\n  .:\n    dependencies:\n      foo:\n        specifier: npm:bar@1\n        version: bar@1.0.0\npackages:\n  bar@1.0.0:\n    resolution: {integrity: x}\nsnapshots:\n  bar@1.0.0: {}\n";
        let packages = parse(v9).unwrap();
        assert_eq!(set(&packages), [("bar".to_string(), "1.0.0".to_string())]);
        assert_eq!(packages[0].scope, None);
    }

    #[test]
    fn malformed_and_hostile_files_are_errors() {
        assert!(parse("").is_err());
        assert!(parse("packages: {}\n").is_err(), "no lockfileVersion");
        assert!(parse("lockfileVersion: x\n").is_err());
        assert!(parse("lockfileVersion: '9.0'\npackages: [1, 2]\n").is_err());
        assert!(parse("lockfileVersion: '9.0'\npackages:\n  a@1: {\n").is_err());
        let deep = format!("lockfileVersion: '9.0'\npackages: {}", "[".repeat(100_000));
        assert!(parse(&deep).is_err());
        let mut bomb = String::from("lockfileVersion: '9.0'\na0: &a0 [x, x, x, x, x, x, x, x]\n");
        for i in 1..40 {
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{0}, *a{0}, *a{0}, *a{0}, *a{0}, *a{0}, *a{0}, *a{0}]\n",
                i - 1
            ));
        }
        assert!(parse(&bomb).is_err());
        assert_eq!(parse("lockfileVersion: '9.0'\n").unwrap(), vec![]);
    }
}
