//! The pipeline from a TARGET string to a [`Scanned`] image: resolve the
//! target, plan its layers, read every layer once (in parallel where the
//! source can seek), merge them into the final tree, and detect the OS.

use crate::capture::CaptureSpec;
use crate::decompress::Compression;
use crate::disk::index_disk;
use crate::error::ScanError;
use crate::ignore::{IgnoreList, today};
use crate::inventory::{cataloger_globs, take_inventory};
use crate::layer::{
    LayerBuilder, LayerIndex, PassOptions, Skipped, UNPLACED_CAPTURE_BYTES, Unknown, run_pass,
};
use crate::layer_pass::{LayerOutcome, read_layer, verify_layer};
use crate::limits::Limits;
use crate::model::{LayerInfo, Scanned, TargetInfo};
use crate::rootfs::index_rootfs;
use crate::shared_budget::SharedBudget;
use crate::source::blobs::{BlobStore, DirStore, TarStore};
use crate::source::plan::{ImageFormat, ImagePlan, PlannedLayer, plan_docker, plan_oci};
use crate::source::registry::{RegistryOptions, RegistryStore};
use crate::source::stream::read_compressed_archive;
use crate::source::{Platform, Target, TargetKind, resolve_target};
use crate::tree::FileTree;
use crate::vex::VexSet;
use crate::vulnerabilities::{Silencers, VulnerabilityFilter, select};
use imgscan_advisories::{Database, DbError};
use imgscan_sbom::{FileKind, FileTreeView, Finding, OS_FILES, OsRelease, detect_os};
use imgscan_signatures::{CheckContext, Malware, RuleSet, all_checks, check_globs, run_checks};
use rayon::prelude::*;
use std::collections::HashMap;
use std::io::Read;
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

/// Receives progress as layers finish; implemented by the CLI's progress bar.
pub trait Progress: Sync {
    /// The number of layers to read, once known.
    fn start(&self, _layers: usize) {}
    /// One layer of `bytes` uncompressed bytes is done.
    fn layer_done(&self, _bytes: u64) {}
}

/// Progress that goes nowhere.
pub struct NoProgress;

impl Progress for NoProgress {}

/// Scans the target `input`.
pub fn scan(
    input: &str,
    options: &ScanOptions,
    progress: &dyn Progress,
) -> Result<Scanned, ScanError> {
    let target = resolve_target(input)?;
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
        cache: options.cache.as_ref().map(|cache| {
            cache.with_settings(&crate::cache::CacheSettings {
                version: env!("CARGO_PKG_VERSION"),
                rules: options.rules.as_ref().map(|r| r.digest()),
                capture: &patterns,
                limits: &options.limits,
                scan_timeout: options.scan_timeout,
            })
        }),
    };
    let (kind, plan, mut read) = match target.kind {
        TargetKind::Registry => {
            let reference = target.selector.as_deref().unwrap_or_default();
            let store = RegistryStore::connect(reference, &options.registry)?;
            let plan = plan_oci(&store, input, None, options.platform.as_ref())?;
            let read = read_planned(&store, &plan, &pass, declared_size(&plan), progress)?;
            (TargetKind::Registry, Some(plan), read)
        }
        TargetKind::Disk => (
            TargetKind::Disk,
            None,
            vec![read_volume(&pass, progress, |builder| {
                index_disk(&target.path, builder, options.allow_incomplete).map_err(|cause| {
                    ScanError::Disk {
                        path: target.path.clone(),
                        cause,
                    }
                })
            })?],
        ),
        TargetKind::Rootfs => (
            TargetKind::Rootfs,
            None,
            vec![read_volume(&pass, progress, |builder| {
                index_rootfs(&target.path, builder).map_err(|e| ScanError::io(&target.path, e))
            })?],
        ),
        TargetKind::OciDir => {
            let store = DirStore::new(&target.path);
            let plan = plan_oci(
                &store,
                input,
                target.selector.as_deref(),
                options.platform.as_ref(),
            )?;
            let read = read_planned(&store, &plan, &pass, declared_size(&plan), progress)?;
            (TargetKind::OciDir, Some(plan), read)
        }
        TargetKind::Archive | TargetKind::OciArchive | TargetKind::DockerArchive => {
            read_archive(&target, options, &pass, progress)?
        }
    };
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
    let findings = findings.map(|all| {
        let before = all.len();
        let kept: Vec<Finding> = all
            .into_iter()
            .filter(|f| {
                let silenced = options.ignore.suppresses(f.id, None, today);
                if silenced {
                    withheld.push(crate::report::fingerprint::finding(f));
                }
                !silenced
            })
            .collect();
        suppressed += (before - kept.len()) as u64;
        kept
    });
    let malware = malware.map(|all| {
        let before = all.len();
        let kept: Vec<Malware> = all
            .into_iter()
            .filter(|m| {
                let silenced = options.ignore.suppresses(&m.rule, None, today);
                if silenced {
                    withheld.push(crate::report::fingerprint::malware(m));
                }
                !silenced
            })
            .collect();
        suppressed += (before - kept.len()) as u64;
        kept
    });
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
    if let Some(trouble) = pass.cache.as_ref().and_then(|c| c.trouble()) {
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
        cache: pass.cache.as_ref().map(|c| c.stats()),
    })
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

/// Reads a target that is one layer with no digest (a rootfs directory, a
/// disk image) with `index`, which walks it into the layer builder.
fn read_volume(
    pass: &PassOptions,
    progress: &dyn Progress,
    index: impl FnOnce(&mut LayerBuilder<'_>) -> Result<(), ScanError>,
) -> Result<(LayerInfo, LayerIndex), ScanError> {
    progress.start(1);
    let (result, index) = run_pass(0, pass, index);
    result?;
    let size = index
        .entries
        .iter()
        .filter(|e| e.meta.kind == FileKind::File)
        .map(|e| e.meta.size)
        .sum();
    progress.layer_done(size);
    let info = LayerInfo {
        index: 0,
        digest: None,
        diff_id: None,
        media_type: None,
        compression: None,
        compressed_size: None,
        size,
        entries: index.entry_count,
        deleted: 0,
        created_by: None,
    };
    Ok((info, index))
}

type LayersRead = Vec<(LayerInfo, LayerIndex)>;

fn read_archive(
    target: &Target,
    options: &ScanOptions,
    pass: &PassOptions,
    progress: &dyn Progress,
) -> Result<(TargetKind, Option<ImagePlan>, LayersRead), ScanError> {
    let path = &target.path;
    let mut head = [0u8; 4];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| ScanError::io(path, e))?;
    let compressed = Compression::sniff(&head[..n])
        .map_err(|reason| ScanError::malformed(path.display().to_string(), reason))?
        != Compression::None;
    let stored = std::fs::metadata(path)
        .map_err(|e| ScanError::io(path, e))?
        .len();
    if compressed {
        let pass = with_image_budget(pass, stored);
        let mut streamed = read_compressed_archive(path, &pass)?;
        let kind = archive_kind(target, &streamed.metadata)?;
        let plan = make_plan(kind, &streamed.metadata, target, options)?;
        progress.start(plan.layers.len());
        let referrer = referrer_of(&plan);
        let firsts = first_uses(&plan);
        let mut outcomes = Vec::new();
        for (layer, planned) in plan.layers.iter().enumerate() {
            if firsts[layer] != layer {
                outcomes.push(None);
                continue;
            }
            let outcome = match streamed.layers.remove(&blob_key(planned)) {
                None => {
                    return Err(ScanError::MissingBlob {
                        blob: planned.blob.clone(),
                        referrer,
                    });
                }
                Some(Err(cause)) => {
                    return Err(ScanError::Layer {
                        layer,
                        blob: planned.blob.clone(),
                        cause,
                    });
                }
                Some(Ok(mut outcome)) => {
                    outcome.index.renumber(layer);
                    outcome
                }
            };
            verify_layer(layer, planned, &outcome)?;
            progress.layer_done(outcome.bytes_read);
            outcomes.push(Some(outcome));
        }
        let read = assemble_layers(&plan, outcomes, &pass.limits)?;
        return Ok((kind, Some(plan), read));
    }
    let store = TarStore::index(path, pass.limits.max_name_bytes)?;
    let kind = archive_kind(target, &store)?;
    let plan = make_plan(kind, &store, target, options)?;
    let read = read_planned(&store, &plan, pass, stored, progress)?;
    Ok((kind, Some(plan), read))
}

/// The kind of an archive: forced by the scheme, else `manifest.json`
/// makes it a docker-archive (old and new `docker save` layouts alike), else
/// `oci-layout` an oci-archive.
fn archive_kind(target: &Target, store: &dyn BlobStore) -> Result<TargetKind, ScanError> {
    if target.kind != TargetKind::Archive {
        return Ok(target.kind);
    }
    if store.open("manifest.json")?.is_some() {
        return Ok(TargetKind::DockerArchive);
    }
    if store.open("oci-layout")?.is_some() || store.open("index.json")?.is_some() {
        return Ok(TargetKind::OciArchive);
    }
    Err(ScanError::malformed(
        target.path.display().to_string(),
        "a tar archive with neither `manifest.json` (docker-archive) nor `oci-layout` (oci-archive)",
    ))
}

fn make_plan(
    kind: TargetKind,
    store: &dyn BlobStore,
    target: &Target,
    options: &ScanOptions,
) -> Result<ImagePlan, ScanError> {
    let selector = target.selector.as_deref();
    if kind == TargetKind::DockerArchive {
        plan_docker(store, &target.input, selector, options.platform.as_ref())
    } else {
        plan_oci(store, &target.input, selector, options.platform.as_ref())
    }
}

fn referrer_of(plan: &ImagePlan) -> String {
    match (plan.format, &plan.digest) {
        (ImageFormat::Oci, Some(digest)) => digest.to_string(),
        _ => "manifest.json".to_string(),
    }
}

/// The stored size of an image's distinct layers, as its manifest declares
/// them (each is checked as it is read).
fn declared_size(plan: &ImagePlan) -> u64 {
    let firsts = first_uses(plan);
    plan.layers
        .iter()
        .enumerate()
        .filter(|(layer, _)| firsts[*layer] == *layer)
        .map(|(_, planned)| planned.size.unwrap_or(0))
        .fold(0u64, u64::saturating_add)
}

/// The pass options with an image-wide expansion budget for an image of
/// `stored` bytes.
fn with_image_budget(pass: &PassOptions, stored: u64) -> PassOptions {
    PassOptions {
        image: SharedBudget::new(pass.limits.image_budget(stored)),
        ..pass.clone()
    }
}

/// The name that identifies a layer's blob in its image.
fn blob_key(planned: &PlannedLayer) -> String {
    let name = crate::entry_name::normalize(planned.blob.as_bytes(), 4096).unwrap_or_default();
    String::from_utf8_lossy(&name).into_owned()
}

/// For each planned layer, the first layer that names the same blob: a
/// blob listed again is the same content and is read once.
fn first_uses(plan: &ImagePlan) -> Vec<usize> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    plan.layers
        .iter()
        .enumerate()
        .map(|(layer, planned)| *seen.entry(blob_key(planned)).or_insert(layer))
        .collect()
}

/// Reads the planned layers in parallel, each distinct blob in one pass,
/// and checks them. The first failing layer (by index) is the error
/// reported.
fn read_planned(
    store: &dyn BlobStore,
    plan: &ImagePlan,
    pass: &PassOptions,
    stored: u64,
    progress: &dyn Progress,
) -> Result<LayersRead, ScanError> {
    progress.start(plan.layers.len());
    let referrer = referrer_of(plan);
    let pass = with_image_budget(pass, stored);
    let firsts = first_uses(plan);
    let results: Vec<Result<Option<LayerOutcome>, ScanError>> = plan
        .layers
        .par_iter()
        .enumerate()
        .map(|(layer, planned)| {
            if firsts[layer] != layer {
                return Ok(None);
            }
            let cache = pass.cache.as_ref();
            if let Some(outcome) = cache.and_then(|c| c.reuse(layer, planned, store, &pass)) {
                verify_layer(layer, planned, &outcome)?;
                progress.layer_done(outcome.bytes_read);
                return Ok(Some(outcome));
            }
            let identity = cache.and_then(|c| c.identity(store, &planned.blob));
            let (reader, size) =
                store
                    .open(&planned.blob)?
                    .ok_or_else(|| ScanError::MissingBlob {
                        blob: planned.blob.clone(),
                        referrer: referrer.clone(),
                    })?;
            let outcome =
                read_layer(layer, reader, size, &pass).map_err(|cause| ScanError::Layer {
                    layer,
                    blob: planned.blob.clone(),
                    cause,
                })?;
            verify_layer(layer, planned, &outcome)?;
            if let Some(cache) = cache {
                cache.keep(planned, &outcome, identity, store);
            }
            progress.layer_done(outcome.bytes_read);
            Ok(Some(outcome))
        })
        .collect();
    let outcomes = results.into_iter().collect::<Result<Vec<_>, _>>()?;
    assemble_layers(plan, outcomes, &pass.limits)
}

/// The image's layers in order from the outcomes of their first uses (each
/// already checked against its digests): a layer that repeats an earlier
/// blob is checked against its own digests and applied again as a copy of that layer's index, while the image's
/// entries stay within the entry limit.
fn assemble_layers(
    plan: &ImagePlan,
    mut outcomes: Vec<Option<LayerOutcome>>,
    limits: &Limits,
) -> Result<LayersRead, ScanError> {
    let firsts = first_uses(plan);
    let mut entries = 0u64;
    let mut read: Vec<(LayerInfo, Option<LayerIndex>)> = Vec::new();
    for (layer, planned) in plan.layers.iter().enumerate() {
        let first = firsts[layer];
        let Some(outcome) = outcomes[first].as_ref() else {
            unreachable!("every first use was read");
        };
        if first != layer {
            verify_layer(layer, planned, outcome)?;
        }
        let count = outcome.index.entries.len() as u64;
        let copy = (first != layer).then(|| {
            let mut copy = if entries + count > limits.max_entries {
                let mut skipped = LayerIndex::default();
                skipped.skipped.over_entry_limit += count;
                skipped.unknowns.push(Unknown {
                    path: "/".to_string(),
                    layer,
                    reason: format!(
                        "repeats layer {first} (the same blob); not applied again: the image would hold more than {} entries",
                        limits.max_entries
                    ),
                });
                skipped
            } else {
                entries += count;
                outcome.index.clone()
            };
            copy.renumber(layer);
            copy
        });
        if first == layer {
            entries += count;
        }
        read.push((layer_info(layer, planned, outcome), copy));
    }
    Ok(read
        .into_iter()
        .enumerate()
        .map(|(layer, (info, copy))| {
            let index = copy.unwrap_or_else(|| {
                std::mem::take(&mut outcomes[layer])
                    .map(|outcome| outcome.index)
                    .unwrap_or_default()
            });
            (info, index)
        })
        .collect())
}

fn layer_info(layer: usize, planned: &PlannedLayer, outcome: &LayerOutcome) -> LayerInfo {
    LayerInfo {
        index: layer,
        digest: planned
            .digest
            .as_ref()
            .map(|d| d.to_string())
            .or_else(|| outcome.stored.as_ref().map(|t| t.digest.to_string())),
        diff_id: planned
            .diff_id
            .as_ref()
            .map(|d| d.to_string())
            .or_else(|| outcome.uncompressed.as_ref().map(|t| t.digest.to_string())),
        media_type: planned.media_type.clone(),
        compression: Some(outcome.compression.as_str().to_string()),
        compressed_size: outcome.stored.as_ref().map(|t| t.bytes).or(planned.size),
        size: outcome.bytes_read,
        entries: outcome.index.entry_count,
        deleted: 0,
        created_by: planned.created_by.clone(),
    }
}
