//! The pipeline from a TARGET string to a [`Scanned`] image: resolve the
//! target, plan its layers, read every layer once (in parallel where the
//! source can seek), merge them into the final tree, and detect the OS.

use crate::assess::ignore::{IgnoreList, today};
use crate::assess::vex::VexSet;
use crate::assess::vulnerabilities::{Silencers, VulnerabilityFilter, select};
use crate::cache::{CacheSettings, LayerCache};
use crate::error::ScanError;
use crate::layer::budget::SharedBudget;
use crate::layer::capture::CaptureSpec;
use crate::layer::{LayerIndex, PassOptions, Skipped, UNPLACED_CAPTURE_BYTES, Unknown};
use crate::limits::Limits;
use crate::merge::inventory::{cataloger_globs, take_inventory};
use crate::merge::tree::FileTree;
use crate::model::{LayerInfo, Scanned, TargetInfo};
use crate::source::registry::RegistryOptions;
use crate::source::{Platform, Progress, Reading, SourceOptions, SourceRead};
use imgscan_advisories::{Database, DbError};
use imgscan_sbom::{FileKind, FileTreeView, OS_FILES, OsRelease, detect_os};
use imgscan_signatures::{CheckContext, Malware, RuleSet, all_checks, check_globs, run_checks};
use std::path::PathBuf;
use std::time::Duration;

/// What a scan is asked to do.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Bounds on what a hostile target may cost.
    pub limits: Limits,
    /// The platform to pick from a multi-platform index.
    pub platform: Option<Platform>,
    /// Extra globs whose file bytes the layer pass keeps.
    pub capture: Vec<String>,
    /// Whether to catalog packages.
    pub catalog: bool,
    /// Whether to run the hygiene and persistence checks (they read the
    /// packages' file lists, so they catalog too).
    pub checks: bool,
    /// Check ids to leave out.
    pub skip_checks: Vec<String>,
    /// Rules every regular file of every layer is scanned with.
    pub rules: Option<RuleSet>,
    /// Longest a rule scan of one file may take.
    pub scan_timeout: Duration,
    /// Entries that silence vulnerabilities, findings and malware rules.
    pub ignore: IgnoreList,
    /// VEX statements (`--vex`) that suppress vulnerabilities.
    pub vex: VexSet,
    /// The advisory database to match packages against (`None`: do not).
    pub advisories: Option<PathBuf>,
    /// Which matches to report.
    pub vulnerability_filter: VulnerabilityFilter,
    /// How to reach registries.
    pub registry: RegistryOptions,
    /// Accept a disk image whose OS root was not found while a volume was
    /// left unread (otherwise an error: a scan that read nothing of the
    /// system is never a pass).
    pub allow_incomplete: bool,
    /// The layer-result cache, if one is used (its settings are set here).
    pub cache: Option<crate::cache::LayerCache>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            limits: Limits::default(),
            platform: None,
            capture: Vec::new(),
            catalog: false,
            checks: false,
            skip_checks: Vec::new(),
            rules: None,
            scan_timeout: Duration::from_secs(10),
            ignore: IgnoreList::default(),
            vex: VexSet::default(),
            advisories: None,
            vulnerability_filter: VulnerabilityFilter::default(),
            registry: RegistryOptions::default(),
            allow_incomplete: false,
            cache: None,
        }
    }
}

/// Scans the target `input`.
pub fn scan(
    input: &str,
    options: &ScanOptions,
    progress: &dyn Progress,
) -> Result<Scanned, ScanError> {
    let source = crate::source::open(
        input,
        SourceOptions {
            platform: options.platform.as_ref(),
            registry: &options.registry,
            allow_incomplete: options.allow_incomplete,
        },
    )?;
    let unbounded = |pattern: &str| (pattern.to_string(), u64::MAX);
    let mut patterns: Vec<(String, u64)> = OS_FILES.iter().map(|s| unbounded(s)).collect();
    patterns.extend(options.capture.iter().map(|p| unbounded(p)));
    let catalog = options.catalog || options.checks || options.advisories.is_some();
    let catalogers = if catalog {
        imgscan_sbom::catalog::all()
    } else {
        Vec::new()
    };
    let checks = if options.checks {
        all_checks()
    } else {
        Vec::new()
    };
    patterns.extend(check_globs(&checks).iter().map(|p| unbounded(p)));
    patterns.extend(cataloger_globs(&catalogers));
    let capture =
        CaptureSpec::with_limits(&patterns).map_err(|e| ScanError::Config(e.to_string()))?;
    let pass = PassOptions {
        limits: options.limits,
        capture,
        rules: options.rules.clone(),
        scan_timeout: options.scan_timeout,
        image: SharedBudget::default(),
        unplaced: SharedBudget::new(UNPLACED_CAPTURE_BYTES),
        captured: SharedBudget::new(options.limits.max_captured_bytes),
    };
    let cache: Option<LayerCache> = options.cache.as_ref().map(|cache| {
        cache.with_settings(&CacheSettings {
            version: env!("CARGO_PKG_VERSION"),
            rules: options.rules.as_ref().map(|r| r.digest()),
            capture: &patterns,
            limits: &options.limits,
            scan_timeout: options.scan_timeout,
        })
    });
    let SourceRead {
        kind,
        plan,
        layers: mut read,
    } = source.read(Reading {
        pass: &pass,
        cache: cache.as_ref(),
        progress,
    })?;
    let digest = plan
        .as_ref()
        .and_then(|p| p.digest.as_ref().map(|d| d.to_string()));
    let (mut layers, mut indexes): (Vec<LayerInfo>, Vec<LayerIndex>) = read.drain(..).unzip();
    let tree = FileTree::merge(&mut indexes, &pass.capture);
    for deleted in tree.deleted() {
        if let Some(layer) = layers.get_mut(deleted.deleted_in) {
            layer.deleted += 1;
        }
    }
    let mut unknowns: Vec<Unknown> = indexes
        .iter()
        .flat_map(|index| index.unknowns.iter().cloned())
        .collect();
    let mut skipped = Skipped::default();
    for index in &indexes {
        skipped.add(&index.skipped);
    }
    let malware = options
        .rules
        .is_some()
        .then(|| malware_entries(&indexes, &tree));
    let os: Option<OsRelease> = detect_os(&tree);
    let (packages, removed_packages) = if catalog {
        let inventory = take_inventory(&tree, os.as_ref(), &catalogers);
        unknowns.extend(inventory.unknowns);
        (Some(inventory.packages), Some(inventory.removed))
    } else {
        (None, None)
    };
    let findings = options.checks.then(|| {
        let ctx = CheckContext::new(&tree, packages.as_deref().unwrap_or_default());
        run_checks(&checks, &ctx, &options.skip_checks)
    });
    let today = today();
    let mut suppressed = 0;
    let mut withheld = Vec::new();
    let mut warnings = options.ignore.expired_warnings(today);
    let mut vex = Vec::new();
    let vulnerabilities = match (&options.advisories, &packages) {
        (Some(path), Some(packages)) => match Database::open(path) {
            Ok(db) => {
                let matches = db.matches(packages, os.as_ref())?;
                let silencers = Silencers {
                    ignore: &options.ignore,
                    today,
                    vex: &options.vex,
                    image_digest: digest.as_deref(),
                };
                let selection =
                    select(matches, packages, &silencers, &options.vulnerability_filter);
                suppressed += selection.suppressed;
                withheld.extend(selection.withheld);
                vex = selection.vex;
                Some(selection.entries)
            }
            Err(DbError::Missing(path)) => {
                warnings.push(format!(
                    "vulnerabilities were not checked: no advisory database at `{}` (run `imgscan db update`, or `imgscan db import` an OSV dump)",
                    path.display()
                ));
                None
            }
            Err(e) => return Err(e.into()),
        },
        _ => None,
    };
    let packages = packages.filter(|_| options.catalog);
    let mut silenced = Silenced {
        ignore: &options.ignore,
        today,
        suppressed,
        withheld,
    };
    let findings =
        findings.map(|all| silenced.keep(all, |f| f.id, crate::report::fingerprint::finding));
    let malware =
        malware.map(|all| silenced.keep(all, |m| &m.rule, crate::report::fingerprint::malware));
    let Silenced {
        suppressed,
        withheld,
        ..
    } = silenced;
    let (iocs, incidents) = if malware.is_some() || findings.is_some() {
        let ctx = CheckContext::new(&tree, packages.as_deref().unwrap_or_default());
        let (malware, findings) = (
            malware.as_deref().unwrap_or_default(),
            findings.as_deref().unwrap_or_default(),
        );
        let created_by: Vec<Option<String>> = layers.iter().map(|l| l.created_by.clone()).collect();
        (
            Some(imgscan_signatures::ioc::collect(&ctx, malware, findings)),
            Some(imgscan_signatures::incident::correlate(
                &ctx,
                malware,
                findings,
                &created_by,
            )),
        )
    } else {
        (None, None)
    };
    unknowns.sort_by(|a, b| (a.layer, &a.path, &a.reason).cmp(&(b.layer, &b.path, &b.reason)));
    let target = TargetInfo {
        input: input.to_string(),
        kind: kind.as_str().to_string(),
        digest,
        platform: plan
            .as_ref()
            .and_then(|p| p.platform.as_ref().map(|p| p.to_string())),
        names: plan.as_ref().map(|p| p.names.clone()).unwrap_or_default(),
        created: plan.and_then(|p| p.created),
        os,
    };
    if let Some(trouble) = cache.as_ref().and_then(|c| c.trouble()) {
        warnings.push(format!(
            "the layer cache was unavailable ({trouble}): layers were read without it"
        ));
    }
    Ok(Scanned {
        target,
        layers,
        tree,
        unknowns,
        skipped,
        packages,
        removed_packages,
        findings,
        malware,
        iocs,
        incidents,
        vulnerabilities,
        suppressed,
        vex,
        warnings,
        withheld,
        cache: cache.as_ref().map(|c| c.stats()),
    })
}

/// What the ignore file silenced of the verdicts: how many, and their
/// fingerprints (so a baseline does not call them fixed).
struct Silenced<'a> {
    ignore: &'a IgnoreList,
    today: crate::clock::Date,
    suppressed: u64,
    withheld: Vec<String>,
}

impl Silenced<'_> {
    /// Keeps the `items` the ignore file does not silence by their `id`.
    fn keep<T>(
        &mut self,
        items: Vec<T>,
        id: impl Fn(&T) -> &str,
        fingerprint: impl Fn(&T) -> String,
    ) -> Vec<T> {
        items
            .into_iter()
            .filter(|item| {
                let silenced = self.ignore.suppresses(id(item), None, self.today);
                if silenced {
                    self.suppressed += 1;
                    self.withheld.push(fingerprint(item));
                }
                !silenced
            })
            .collect()
    }
}

/// The report's malware entries: one per (file copy, rule), visible when
/// that copy is the one in the final tree; sorted by severity, layer, path
/// and rule.
fn malware_entries(indexes: &[LayerIndex], tree: &FileTree) -> Vec<Malware> {
    let mut entries = Vec::new();
    for (layer, index) in indexes.iter().enumerate() {
        for found in &index.malware {
            let visible = tree
                .entry(&found.path)
                .is_some_and(|(meta, l)| l == layer && meta.kind == FileKind::File);
            for hit in &found.hits {
                entries.push(Malware {
                    rule: hit.rule.clone(),
                    severity: hit.severity,
                    path: found.display_path(),
                    layer,
                    visible,
                    sha256: found.sha256.clone(),
                    evidence: hit.evidence.clone(),
                    iocs: hit.iocs.clone(),
                });
            }
        }
    }
    entries.sort_by(|a, b| {
        (a.severity, a.layer, &a.path, &a.rule).cmp(&(b.severity, b.layer, &b.path, &b.rule))
    });
    entries
}
