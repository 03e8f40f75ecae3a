//! Lock drift: what a project's `node_modules` holds against what its
//! lockfiles say, so that a package swapped or added after the locked
//! install (a poisoned dependency hiding in a built image) shows.
//!
//! Packages are grouped by project directory, read from their locations:
//! a lockfile's project is its directory (for the hidden lockfiles
//! `node_modules/.package-lock.json` and `node_modules/.pnpm/lock.yaml`, the
//! directory holding `node_modules`); an installed package's is the
//! directory before the first `/node_modules/` of its path, or, for a
//! workspace member's own `node_modules` (`/app/packages/b/node_modules/…`),
//! the nearest ancestor up to [`MAX_WORKSPACE_DEPTH`] levels that has a
//! lockfile. The walk does not leave a directory named `lib`: that is a
//! global install prefix (`/usr/local/lib/node_modules`), not a workspace.
//!
//! Two findings, both `npm.lock-drift`:
//! - HIGH: a package is installed at a version no lockfile of its project
//!   names (including a package the lockfiles do not name at all).
//! - MEDIUM: a production package a lockfile names (no dev, optional,
//!   dev-optional or peer mark: those may rightly be left out by
//!   `--omit`, platform checks or `--legacy-peer-deps`) is not installed,
//!   in a project that has an installed tree at all (a lockfile copied
//!   without `node_modules` is not drift). A name already reported HIGH in
//!   the project is not reported again as missing.
//!
//! Known limits: yarn and pnpm lockfiles do not list the bundled
//! dependencies of a package (npm's do), so a package that bundles its own
//! `node_modules` shows those as unlocked under yarn and pnpm; yarn v1 does
//! not record the project's own optional dependencies, so a platform-only
//! direct optional dependency (fsevents on Linux) shows as missing there.
//!
//! The catalogers under `imgscan_sbom::catalog::npm` read both sides;
//! this check compares them.

use super::info;
use crate::check::{Check, CheckContext, CheckInfo};
use imgscan_sbom::{Ecosystem, Finding, Package, Severity};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// The id of every lock-drift finding.
pub const LOCK_DRIFT_ID: &str = "npm.lock-drift";

/// How many directories above a `node_modules` its project's lockfile may
/// sit (`packages/b`, `apps/web/ui`).
const MAX_WORKSPACE_DEPTH: usize = 3;

/// File names of lockfiles at a project's top.
const LOCKFILES: [&str; 4] = [
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
];
/// Hidden lockfiles inside a project's `node_modules`.
const HIDDEN_LOCKFILES: [&str; 2] = [
    "/node_modules/.package-lock.json",
    "/node_modules/.pnpm/lock.yaml",
];

/// Where a package was found, read from its location.
enum Origin<'a> {
    /// A lockfile of the project at this directory.
    Lock(&'a str),
    /// Installed below `node_modules` of this directory.
    Installed(&'a str),
}

fn origin(location: &str) -> Option<Origin<'_>> {
    for hidden in HIDDEN_LOCKFILES {
        if let Some(project) = location.strip_suffix(hidden) {
            return (!project.contains("/node_modules/")).then_some(Origin::Lock(project));
        }
    }
    let (dir, file) = location.rsplit_once('/')?;
    if LOCKFILES.contains(&file) {
        return (!format!("{dir}/").contains("/node_modules/")).then_some(Origin::Lock(dir));
    }
    let (project, _) = location.split_once("/node_modules/")?;
    (file == "package.json").then_some(Origin::Installed(project))
}

/// What the lockfiles of one project say.
#[derive(Default)]
struct Locked<'a> {
    /// Lockfile locations.
    files: BTreeSet<&'a str>,
    /// Locked versions by name.
    versions: BTreeMap<&'a str, BTreeSet<&'a str>>,
    packages: Vec<&'a Package>,
}

/// Compares lockfiles with installed trees, project by project.
///
/// `packages` are the image's packages as catalogued, each with its
/// `location` (absolute display path: `/app/package-lock.json`,
/// `/app/node_modules/lodash/package.json`) and `layer` set; packages of
/// other ecosystems and other files are ignored. Returns the findings
/// sorted by severity, layer, path and title; each names the installed
/// `package.json` (HIGH) or the lockfile (MEDIUM) and that package's layer.
pub fn lock_drift<'a>(packages: impl IntoIterator<Item = &'a Package>) -> Vec<Finding> {
    let mut locked: BTreeMap<&str, Locked> = BTreeMap::new();
    let mut installed: Vec<(&str, &Package)> = Vec::new();
    for package in packages
        .into_iter()
        .filter(|p| p.ecosystem == Ecosystem::Npm)
    {
        match origin(&package.location) {
            Some(Origin::Lock(project)) => {
                let entry = locked.entry(project).or_default();
                entry.files.insert(&package.location);
                entry
                    .versions
                    .entry(&package.name)
                    .or_default()
                    .insert(&package.version);
                entry.packages.push(package);
            }
            Some(Origin::Installed(dir)) => installed.push((dir, package)),
            None => {}
        }
    }

    let mut by_project: BTreeMap<&str, Vec<&Package>> = BTreeMap::new();
    for (dir, package) in installed {
        if let Some(project) = project_of(dir, &locked) {
            by_project.entry(project).or_default().push(package);
        }
    }

    let mut findings = Vec::new();
    for (project, installed) in &by_project {
        let lock = &locked[project];
        let lockfiles = lock
            .files
            .iter()
            .map(|f| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut unlocked_names = HashSet::new();
        for package in installed {
            let versions = lock.versions.get(package.name.as_str());
            if versions.is_some_and(|v| v.contains(package.version.as_str())) {
                continue;
            }
            unlocked_names.insert(package.name.as_str());
            let locked_as = match versions {
                Some(versions) => versions
                    .iter()
                    .map(|v| format!("{}@{v}", package.name))
                    .collect::<Vec<_>>()
                    .join(", "),
                None => "no version of it".to_string(),
            };
            findings.push(Finding {
                id: LOCK_DRIFT_ID,
                severity: Severity::High,
                title: format!("`{}` {} is installed but not in the lockfile", package.name, package.version),
                path: package.location.clone(),
                line: None,
                layer: package.layer,
                evidence: format!("installed {}@{} at `{}`; {lockfiles} lock {locked_as}", package.name, package.version, package.location),
                remedy: "Reinstall from the lockfile (`npm ci`, `yarn install --frozen-lockfile`, `pnpm install --frozen-lockfile`) and find out what wrote this version: an unlocked version is how a tampered or injected package hides.".to_string(),
            });
        }

        let present: HashSet<(&str, &str)> = installed
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        let mut reported = HashSet::new();
        let mut missing: Vec<&Package> = lock
            .packages
            .iter()
            .copied()
            .filter(|p| p.scope.is_none())
            .collect();
        missing.sort_by(|a, b| {
            (&a.location, &a.name, &a.version).cmp(&(&b.location, &b.name, &b.version))
        });
        for package in missing {
            let key = (package.name.as_str(), package.version.as_str());
            if present.contains(&key) || unlocked_names.contains(key.0) || !reported.insert(key) {
                continue;
            }
            let others: Vec<&str> = installed
                .iter()
                .filter(|p| p.name == package.name)
                .map(|p| p.version.as_str())
                .collect();
            let holds = match others.is_empty() {
                true => "no copy of it".to_string(),
                false => format!(
                    "only {}",
                    others
                        .iter()
                        .map(|v| format!("{}@{v}", package.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            findings.push(Finding {
                id: LOCK_DRIFT_ID,
                severity: Severity::Medium,
                title: format!("`{}` {} is locked but not installed", package.name, package.version),
                path: package.location.clone(),
                line: None,
                layer: package.layer,
                evidence: format!("`{}` locks {}@{} as a production dependency; `{project}/node_modules` holds {holds}", package.location, package.name, package.version),
                remedy: "Install with the lockfile in the image build (`npm ci`, `yarn install --frozen-lockfile`, `pnpm install --frozen-lockfile`) so that `node_modules` is what was locked.".to_string(),
            });
        }
    }
    findings.sort_by(|a, b| {
        (a.severity, a.layer, &a.path, &a.title).cmp(&(b.severity, b.layer, &b.path, &b.title))
    });
    findings
}

/// The project with a lockfile that the `node_modules` under `dir` belongs to.
fn project_of<'a>(dir: &'a str, locked: &BTreeMap<&str, Locked>) -> Option<&'a str> {
    let mut at = dir;
    for _ in 0..=MAX_WORKSPACE_DEPTH {
        if locked.contains_key(at) {
            return Some(at);
        }
        let (parent, name) = at.rsplit_once('/')?;
        if name == "lib" {
            return None;
        }
        at = parent;
    }
    None
}

/// The npm lock-drift check.
pub struct NpmDrift;

const DRIFT: CheckInfo = info(
    LOCK_DRIFT_ID,
    Severity::High,
    "installed npm packages differ from the lockfile: a version no lockfile names (HIGH) or a locked package missing (MEDIUM)",
);

impl Check for NpmDrift {
    fn info(&self) -> &'static [CheckInfo] {
        std::slice::from_ref(&DRIFT)
    }

    fn globs(&self) -> &'static [&'static str] {
        &[]
    }

    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        lock_drift(ctx.packages)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgscan_sbom::Scope;

    fn package(name: &str, version: &str, scope: Option<Scope>, location: &str) -> Package {
        let mut package = Package::new(
            name,
            version,
            Ecosystem::Npm,
            format!("pkg:npm/{name}@{version}"),
            location.to_string(),
        );
        package.scope = scope;
        package
    }

    fn summary(findings: &[Finding]) -> Vec<(Severity, String, String)> {
        findings
            .iter()
            .map(|f| (f.severity, f.title.clone(), f.path.clone()))
            .collect()
    }

    #[test]
    fn origins() {
        assert!(matches!(
            origin("/app/package-lock.json"),
            Some(Origin::Lock("/app"))
        ));
        assert!(matches!(
            origin("/package-lock.json"),
            Some(Origin::Lock(""))
        ));
        assert!(matches!(
            origin("/app/node_modules/.package-lock.json"),
            Some(Origin::Lock("/app"))
        ));
        assert!(matches!(
            origin("/app/node_modules/.pnpm/lock.yaml"),
            Some(Origin::Lock("/app"))
        ));
        assert!(origin("/app/node_modules/x/yarn.lock").is_none());
        assert!(matches!(
            origin("/app/node_modules/a/node_modules/b/package.json"),
            Some(Origin::Installed("/app"))
        ));
        assert!(matches!(
            origin("/node_modules/a/package.json"),
            Some(Origin::Installed(""))
        ));
        assert!(origin("/app/package.json").is_none());
        assert!(origin("/var/lib/dpkg/status").is_none());
    }

    #[test]
    fn swapped_missing_and_excused_packages() {
        let lock = "/app/package-lock.json";
        let packages = [
            package("lodash", "4.17.21", None, lock),
            package("ms", "2.0.0", None, lock),
            package("ms", "2.1.3", None, lock),
            package("express", "4.18.2", None, lock),
            package("is-number", "7.0.0", Some(Scope::Dev), lock),
            package("fsevents", "2.3.3", Some(Scope::Optional), lock),
            package("react", "18.3.1", Some(Scope::Peer), lock),
            package(
                "lodash",
                "4.17.22",
                None,
                "/app/node_modules/lodash/package.json",
            ),
            package("ms", "2.0.0", None, "/app/node_modules/ms/package.json"),
            // A workspace member's own node_modules belongs to /app.
            package(
                "ms",
                "2.1.3",
                None,
                "/app/packages/b/node_modules/ms/package.json",
            ),
            package(
                "evil",
                "1.0.0",
                None,
                "/app/node_modules/express/node_modules/evil/package.json",
            ),
            // A lockfile without node_modules is not drift.
            package("left-pad", "1.3.0", None, "/srv/source-only/yarn.lock"),
            // No lockfile for this tree: nothing to compare.
            package("x", "1.0.0", None, "/opt/tool/node_modules/x/package.json"),
        ];
        let findings = lock_drift(&packages);
        assert_eq!(
            summary(&findings),
            [
                (
                    Severity::High,
                    "`evil` 1.0.0 is installed but not in the lockfile".into(),
                    "/app/node_modules/express/node_modules/evil/package.json".into()
                ),
                (
                    Severity::High,
                    "`lodash` 4.17.22 is installed but not in the lockfile".into(),
                    "/app/node_modules/lodash/package.json".into()
                ),
                (
                    Severity::Medium,
                    "`express` 4.18.2 is locked but not installed".into(),
                    lock.into()
                ),
            ]
        );
        assert_eq!(
            findings[1].evidence,
            "installed lodash@4.17.22 at `/app/node_modules/lodash/package.json`; `/app/package-lock.json` lock lodash@4.17.21"
        );
        assert!(
            findings[0].evidence.ends_with("lock no version of it"),
            "{}",
            findings[0].evidence
        );
        assert!(findings.iter().all(|f| f.id == "npm.lock-drift"));
    }

    #[test]
    fn global_prefixes_are_not_workspaces() {
        let packages = [
            package("left-pad", "1.3.0", None, "/package-lock.json"),
            package(
                "left-pad",
                "1.3.0",
                None,
                "/node_modules/left-pad/package.json",
            ),
            package(
                "npm",
                "10.8.2",
                None,
                "/usr/local/lib/node_modules/npm/package.json",
            ),
            package(
                "abbrev",
                "2.0.0",
                None,
                "/usr/local/lib/node_modules/npm/node_modules/abbrev/package.json",
            ),
        ];
        assert_eq!(lock_drift(&packages), vec![]);
    }

    #[test]
    fn every_lockfile_of_a_project_counts_once() {
        let packages = [
            package("ms", "2.0.0", None, "/app/package-lock.json"),
            package("ms", "2.0.0", None, "/app/node_modules/.package-lock.json"),
            package("debug", "2.6.9", None, "/app/package-lock.json"),
            package(
                "debug",
                "2.6.9",
                None,
                "/app/node_modules/.package-lock.json",
            ),
            package("ms", "2.0.0", None, "/app/node_modules/ms/package.json"),
        ];
        let findings = lock_drift(&packages);
        assert_eq!(
            summary(&findings),
            [(
                Severity::Medium,
                "`debug` 2.6.9 is locked but not installed".into(),
                "/app/node_modules/.package-lock.json".into()
            )]
        );
    }
}
