//! The package inventory: every cataloger run over the files it asked for
//! in the final tree, from the bytes the layer pass captured (nothing reads
//! a layer twice). Each package's layer is the first layer whose own copy
//! of the database lists that name and version; a package a layer's copy
//! no longer lists (removed, or replaced by another version) is recorded
//! as removed in that layer.
//!
//! A language package whose metadata file an OS package owns (Debian's
//! `python3-requests` installs `requests-2.28.1.dist-info/METADATA`) is the
//! OS package's: it stays in the inventory, marked `owned_by` that
//! package's purl, and advisory matching passes it over, since the OS
//! feed's advisories for the OS package cover it (and a distribution's
//! patched build would otherwise be matched as the upstream release).

use crate::layer::Unknown;
use crate::layer::capture::CaptureSpec;
use crate::merge::tree::FileTree;
use imgscan_sbom::{
    CatalogInput, Cataloger, FileKind, FileTreeView, OsRelease, Package, display_path,
};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap, HashSet};

/// Packages found, and files that could not be cataloged.
#[derive(Debug, Default)]
pub struct Inventory {
    /// Packages, one per (ecosystem, name, version, location), sorted by
    /// layer, location, name and version.
    pub packages: Vec<Package>,
    /// Packages an earlier layer's copy of a database listed and a later
    /// layer's copy no longer does, sorted by layer, location and name.
    pub removed: Vec<RemovedPackage>,
    /// Databases and lockfiles that did not parse.
    pub unknowns: Vec<Unknown>,
}

/// A package (name and version) a layer took out of a database or lockfile:
/// uninstalled, or replaced by another version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct RemovedPackage {
    /// The layer whose copy of the database no longer lists it.
    pub layer: usize,
    /// The database or lockfile (absolute, escaped).
    pub location: String,
    /// Package name.
    pub name: String,
    /// The version that went away.
    pub version: String,
    /// Package URL of that version.
    pub purl: String,
    /// The layer that had brought it.
    pub introduced: usize,
}

/// The globs every cataloger needs captured, each with that cataloger's
/// byte cap ([`Cataloger::max_bytes`]).
pub fn cataloger_globs(catalogers: &[Box<dyn Cataloger>]) -> Vec<(String, u64)> {
    catalogers
        .iter()
        .flat_map(|c| {
            c.globs()
                .iter()
                .chain(c.aux_globs())
                .map(|g| (g.to_string(), c.max_bytes()))
        })
        .collect()
}

/// Runs `catalogers` over `tree`.
pub fn take_inventory(
    tree: &FileTree,
    os: Option<&OsRelease>,
    catalogers: &[Box<dyn Cataloger>],
) -> Inventory {
    let specs: Vec<CaptureSpec> = catalogers
        .iter()
        .map(|c| CaptureSpec::new(c.globs()).expect("built-in cataloger globs compile"))
        .collect();
    let mut work: Vec<(usize, &[u8], usize)> = Vec::new();
    for (path, node) in tree.iter() {
        if !matches!(node.meta.kind, FileKind::File | FileKind::HardLink) {
            continue;
        }
        for (at, spec) in specs.iter().enumerate() {
            if spec.wants(path) {
                work.push((at, path, node.layer));
            }
        }
    }
    let results: Vec<Result<Cataloged, Unknown>> = work
        .par_iter()
        .map(|&(at, path, layer)| catalog_file(tree, os, catalogers[at].as_ref(), path, layer))
        .collect();
    let mut inventory = Inventory::default();
    let mut seen = HashSet::new();
    for result in results {
        match result {
            Ok(Cataloged {
                packages,
                removed,
                passed_over,
            }) => {
                inventory.unknowns.extend(passed_over);
                inventory.removed.extend(removed);
                for package in packages {
                    let key = (
                        package.ecosystem,
                        package.name.clone(),
                        package.version.clone(),
                        package.location.clone(),
                    );
                    if seen.insert(key) {
                        inventory.packages.push(package);
                    }
                }
            }
            Err(unknown) => inventory.unknowns.push(unknown),
        }
    }
    inventory.packages.sort_by(|a, b| {
        (a.layer, &a.location, &a.name, &a.version).cmp(&(
            b.layer,
            &b.location,
            &b.name,
            &b.version,
        ))
    });
    inventory.removed.sort();
    inventory.removed.dedup();
    mark_owned(&mut inventory.packages);
    inventory
}

/// Marks each language package whose metadata file (its `location`) an
/// OS package lists among its files with that OS package's purl.
fn mark_owned(packages: &mut [Package]) {
    let owners: HashMap<String, String> = packages
        .iter()
        .filter(|p| p.ecosystem.is_os())
        .flat_map(|p| p.files.iter().map(|f| (display_path(f), p.purl.clone())))
        .collect();
    if owners.is_empty() {
        return;
    }
    for package in packages.iter_mut().filter(|p| !p.ecosystem.is_os()) {
        package.owned_by = owners.get(&package.location).cloned();
    }
}

/// One file's packages, what its layers removed, and its records that are
/// not packages.
#[derive(Default)]
struct Cataloged {
    packages: Vec<Package>,
    removed: Vec<RemovedPackage>,
    passed_over: Vec<Unknown>,
}

fn catalog_file<'a>(
    tree: &'a FileTree,
    os: Option<&'a OsRelease>,
    cataloger: &dyn Cataloger,
    path: &'a [u8],
    layer: usize,
) -> Result<Cataloged, Unknown> {
    let location = display_path(path);
    let unknown = |reason: String| Unknown {
        path: location.clone(),
        layer,
        reason: format!("{}: {reason}", cataloger.name()),
    };
    // Over its format's limit, the layer pass did not keep it.
    let limit = cataloger.max_bytes();
    let size = tree
        .resolve(path)
        .and_then(|real| tree.entry(&real).map(|(meta, _)| meta.size))
        .unwrap_or(0);
    if size > limit {
        return Err(unknown(format!(
            "{size} bytes, over the limit of {limit} bytes for this format; not parsed"
        )));
    }
    let Some(content) = tree.content(path) else {
        return Ok(Cataloged::default());
    };
    let input = |content: &'a [u8]| CatalogInput {
        path,
        content,
        os,
        tree,
    };
    let parse = |content: &'a [u8]| cataloger.catalog(&input(content));
    let found = cataloger
        .catalog_records(&input(content))
        .map_err(|e| unknown(e.to_string()))?;
    let mut packages = found.packages;
    let passed_over = found.passed_over.into_iter().map(unknown).collect();
    // Every cataloger refuses a record without a name or version; this
    // holds the line for one that would not.
    if packages
        .iter()
        .any(|p| p.name.trim().is_empty() || p.version.trim().is_empty())
    {
        return Err(unknown("a record with an empty name or version".into()));
    }
    // Earlier layers' own copies of this file, parsed.
    let earlier: Vec<(usize, Vec<Package>)> = (0..layer)
        .filter_map(|l| tree.captured_in(l, path).map(|bytes| (l, bytes)))
        .filter(|(_, bytes)| bytes.len() as u64 <= limit)
        .filter_map(|(l, bytes)| parse(bytes).ok().map(|p| (l, p)))
        .collect();
    let keys = |packages: &[Package]| -> BTreeSet<(String, String)> {
        packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect()
    };
    let earlier_keys: Vec<(usize, BTreeSet<(String, String)>)> =
        earlier.iter().map(|(l, p)| (*l, keys(p))).collect();
    let introduced = |key: &(String, String), default: usize| {
        earlier_keys
            .iter()
            .find(|(_, set)| set.contains(key))
            .map_or(default, |(l, _)| *l)
    };
    for package in &mut packages {
        package.location = location.clone();
        let key = (package.name.clone(), package.version.clone());
        package.layer = introduced(&key, layer);
    }
    // Each copy against the next: what the next one no longer lists.
    let final_keys = (layer, keys(&packages));
    let mut removed = Vec::new();
    for (at, (from_layer, from)) in earlier.iter().enumerate() {
        let (next_layer, next) = earlier_keys.get(at + 1).unwrap_or(&final_keys);
        for package in from {
            let key = (package.name.clone(), package.version.clone());
            if !next.contains(&key) {
                removed.push(RemovedPackage {
                    layer: *next_layer,
                    location: location.clone(),
                    name: package.name.clone(),
                    version: package.version.clone(),
                    purl: package.purl.clone(),
                    introduced: introduced(&key, *from_layer),
                });
            }
        }
    }
    Ok(Cataloged {
        packages,
        removed,
        passed_over,
    })
}
