//! Image archives (`docker save` and OCI archives, plain or compressed):
//! a plain tar is indexed once and its blobs read in place, in parallel; a
//! compressed one is read in a single streaming pass that indexes every
//! layer blob as it passes (see [`super::stream`]).

use super::blobs::{BlobStore, TarStore};
use super::layers::{
    Reading, assemble_layers, blob_key, first_uses, read_planned, referrer_of, verify_layer,
    with_image_budget,
};
use super::plan::{ImagePlan, plan_docker, plan_oci};
use super::stream::read_compressed_archive;
use super::{Platform, Source, SourceRead, Target, TargetKind};
use crate::error::ScanError;
use crate::layer::decompress::Compression;
use std::io::Read;

/// A tar archive holding an image.
pub(super) struct ArchiveSource {
    /// The resolved target (its kind may still be the undecided `Archive`).
    pub target: Target,
    /// The platform to pick from a multi-platform index.
    pub platform: Option<Platform>,
}

impl Source for ArchiveSource {
    fn read(&self, reading: Reading<'_>) -> Result<SourceRead, ScanError> {
        read_archive(&self.target, self.platform.as_ref(), reading)
    }
}

fn read_archive(
    target: &Target,
    platform: Option<&Platform>,
    reading: Reading<'_>,
) -> Result<SourceRead, ScanError> {
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
        let pass = with_image_budget(reading.pass, stored);
        let mut streamed = read_compressed_archive(path, &pass)?;
        let kind = archive_kind(target, &streamed.metadata)?;
        let plan = make_plan(kind, &streamed.metadata, target, platform)?;
        reading.progress.start(plan.layers.len());
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
            reading.progress.layer_done(outcome.bytes_read);
            outcomes.push(Some(outcome));
        }
        let layers = assemble_layers(&plan, outcomes, &pass.limits)?;
        return Ok(SourceRead {
            kind,
            plan: Some(plan),
            layers,
        });
    }
    let store = TarStore::index(path, reading.pass.limits.max_name_bytes)?;
    let kind = archive_kind(target, &store)?;
    let plan = make_plan(kind, &store, target, platform)?;
    let layers = read_planned(&store, &plan, stored, reading)?;
    Ok(SourceRead {
        kind,
        plan: Some(plan),
        layers,
    })
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
    platform: Option<&Platform>,
) -> Result<ImagePlan, ScanError> {
    let selector = target.selector.as_deref();
    if kind == TargetKind::DockerArchive {
        plan_docker(store, &target.input, selector, platform)
    } else {
        plan_oci(store, &target.input, selector, platform)
    }
}
