//! npm lock drift against a real install: `npm ci` of a committed
//! lockfile, catalogued as the scanner would, has exactly the packages
//! `npm ls --all` reports and no drift, until a package is swapped and
//! another removed. Needs `npm` and its registry (skipped locally without
//! them, a failure under CI).

use imgscan_fixtures::requires;
use imgscan_sbom::catalog::npm::{
    NodeModulesCataloger, NpmLockCataloger, PnpmLockCataloger, YarnLockCataloger,
};
use imgscan_sbom::catalog::{CatalogInput, Cataloger};
use imgscan_sbom::test_globs::glob_set;
use imgscan_sbom::test_tree::MapTree;
use imgscan_sbom::{Finding, Package, Severity};
use imgscan_signatures::checks::lock_drift;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn summary(findings: &[Finding]) -> Vec<(Severity, String, String)> {
    findings
        .iter()
        .map(|f| (f.severity, f.title.clone(), f.path.clone()))
        .collect()
}

/// Catalogs every file of a directory tree as the scanner would,
/// through each cataloger's globs; locations are `/`-rooted.
fn catalog_dir(root: &Path) -> Vec<Package> {
    let catalogers: [&dyn Cataloger; 4] = [
        &NpmLockCataloger,
        &YarnLockCataloger,
        &PnpmLockCataloger,
        &NodeModulesCataloger,
    ];
    let sets: Vec<globset::GlobSet> = catalogers.iter().map(|c| glob_set(c.globs())).collect();
    let tree = MapTree::new(&[]);
    let mut out = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                pending.push(path);
                continue;
            }
            if !kind.is_file() {
                continue;
            }
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            for (cataloger, set) in catalogers.iter().zip(&sets) {
                if set.is_match(&relative) {
                    let content = std::fs::read(&path).unwrap();
                    let input = CatalogInput {
                        path: relative.as_bytes(),
                        content: &content,
                        os: None,
                        tree: &tree,
                    };
                    for mut package in cataloger
                        .catalog(&input)
                        .unwrap_or_else(|e| panic!("{relative}: {e}"))
                    {
                        package.location = format!("/{relative}");
                        out.push(package);
                    }
                }
            }
        }
    }
    out
}

/// `(name, version)` of every package `npm ls --all --json` reports.
fn npm_ls(dir: &Path) -> BTreeSet<(String, String)> {
    let output = Command::new("npm")
        .args(["ls", "--all", "--json"])
        .current_dir(dir)
        .output()
        .unwrap();
    let tree: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut out = BTreeSet::new();
    let mut pending = vec![tree];
    while let Some(node) = pending.pop() {
        let Some(dependencies) = node.get("dependencies").and_then(|d| d.as_object()) else {
            continue;
        };
        for (name, child) in dependencies {
            if let Some(version) = child.get("version").and_then(|v| v.as_str()) {
                out.insert((name.clone(), version.to_string()));
            }
            pending.push(child.clone());
        }
    }
    out
}

/// Runs `npm ci --ignore-scripts` on the `app` fixture in a temp dir.
/// `None` when npm or its registry is unavailable (see [`requires`]).
fn npm_ci_app() -> Option<tempfile::TempDir> {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app");
    std::fs::create_dir(&app).unwrap();
    let testdata =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../sbom/src/catalog/npm/testdata/app");
    std::fs::copy(testdata.join("package.json"), app.join("package.json")).unwrap();
    std::fs::copy(
        testdata.join("npm-v3/package-lock.json"),
        app.join("package-lock.json"),
    )
    .unwrap();
    let result = Command::new("npm")
        .args([
            "ci",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ])
        .current_dir(&app)
        .env("npm_config_cache", dir.path().join("cache"))
        .output();
    let failure = match result {
        Ok(output) if output.status.success() => return Some(dir),
        Ok(output) => String::from_utf8_lossy(&output.stderr).into_owned(),
        Err(e) => e.to_string(),
    };
    requires::unavailable(&format!("`npm ci` failed: {failure}"))
}

#[test]
fn real_npm_install_matches_npm_ls_and_shows_no_drift_until_tampered() {
    let Some(dir) = npm_ci_app() else {
        return;
    };
    let app = dir.path().join("app");
    let packages = catalog_dir(dir.path());
    let installed: BTreeSet<(String, String)> = packages
        .iter()
        .filter(|p| p.location.ends_with("/package.json"))
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    assert_eq!(
        installed,
        npm_ls(&app),
        "the installed set is what `npm ls --all` reports"
    );
    assert!(installed.contains(&("send".to_string(), "0.18.0".to_string())));
    assert!(installed.contains(&("@types/node".to_string(), "20.11.0".to_string())));
    assert_eq!(
        lock_drift(&packages),
        vec![],
        "a fresh `npm ci` has no drift"
    );

    // A poisoned copy: same name, a version nobody locked.
    let ms = app.join("node_modules/ms/package.json");
    let manifest = std::fs::read_to_string(&ms)
        .unwrap()
        .replace("\"version\": \"2.0.0\"", "\"version\": \"2.0.1\"");
    std::fs::write(&ms, manifest).unwrap();
    std::fs::remove_dir_all(app.join("node_modules/express")).unwrap();
    let findings = lock_drift(&catalog_dir(dir.path()));
    assert_eq!(
        summary(&findings),
        [
            (
                Severity::High,
                "`ms` 2.0.1 is installed but not in the lockfile".into(),
                "/app/node_modules/ms/package.json".into()
            ),
            (
                Severity::Medium,
                "`express` 4.18.2 is locked but not installed".into(),
                "/app/node_modules/.package-lock.json".into()
            ),
        ]
    );
}
