//! Reading an image's planned layers: each distinct blob once, in
//! parallel where the store can seek, through the cache when one is set;
//! every layer checked against the digests its metadata promised; repeats
//! of a blob applied again as copies. Shared by every source that has a
//! plan (registry, OCI layout, archives).

use crate::cache::LayerCache;
use crate::error::ScanError;
use crate::layer::budget::SharedBudget;
use crate::layer::entry_name::normalize;
use crate::layer::pass::{LayerOutcome, read_layer};
use crate::layer::{LayerIndex, PassOptions, Unknown};
use crate::limits::Limits;
use crate::model::LayerInfo;
use crate::source::Progress;
use crate::source::blobs::BlobStore;
use crate::source::plan::{ImageFormat, ImagePlan, PlannedLayer};
use rayon::prelude::*;
use std::collections::HashMap;

/// The layers of a target in order, each with what the report says of it.
pub type LayersRead = Vec<(LayerInfo, LayerIndex)>;

/// What every source reads its layers with.
#[derive(Clone, Copy)]
pub struct Reading<'a> {
    /// The pass every layer goes through.
    pub pass: &'a PassOptions,
    /// Where layer results are reused from and kept, if anywhere.
    pub cache: Option<&'a LayerCache>,
    /// Told as layers finish.
    pub progress: &'a dyn Progress,
}

/// The name that identifies a planned layer's blob in its image's
/// metadata, for error messages.
pub(super) fn referrer_of(plan: &ImagePlan) -> String {
    match (plan.format, &plan.digest) {
        (ImageFormat::Oci, Some(digest)) => digest.to_string(),
        _ => "manifest.json".to_string(),
    }
}

/// The stored size of an image's distinct layers, as its manifest declares
/// them (each is checked as it is read).
pub(super) fn declared_size(plan: &ImagePlan) -> u64 {
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
pub(super) fn with_image_budget(pass: &PassOptions, stored: u64) -> PassOptions {
    PassOptions {
        image: SharedBudget::new(pass.limits.image_budget(stored)),
        ..pass.clone()
    }
}

/// The name that identifies a layer's blob in its image.
pub(super) fn blob_key(planned: &PlannedLayer) -> String {
    let name = normalize(planned.blob.as_bytes(), 4096).unwrap_or_default();
    String::from_utf8_lossy(&name).into_owned()
}

/// For each planned layer, the first layer that names the same blob: a
/// blob listed again is the same content and is read once.
pub(super) fn first_uses(plan: &ImagePlan) -> Vec<usize> {
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
pub(super) fn read_planned(
    store: &dyn BlobStore,
    plan: &ImagePlan,
    stored: u64,
    reading: Reading<'_>,
) -> Result<LayersRead, ScanError> {
    reading.progress.start(plan.layers.len());
    let referrer = referrer_of(plan);
    let pass = with_image_budget(reading.pass, stored);
    let firsts = first_uses(plan);
    let results: Vec<Result<Option<LayerOutcome>, ScanError>> = plan
        .layers
        .par_iter()
        .enumerate()
        .map(|(layer, planned)| {
            if firsts[layer] != layer {
                return Ok(None);
            }
            let cache = reading.cache;
            if let Some(outcome) = cache.and_then(|c| c.reuse(layer, planned, store, &pass)) {
                verify_layer(layer, planned, &outcome)?;
                reading.progress.layer_done(outcome.bytes_read);
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
            reading.progress.layer_done(outcome.bytes_read);
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
pub(super) fn assemble_layers(
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

/// What the report says of a layer read as `planned`.
pub(super) fn layer_info(
    layer: usize,
    planned: &PlannedLayer,
    outcome: &LayerOutcome,
) -> LayerInfo {
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

/// Checks a finished layer against the digests its metadata promised.
pub(super) fn verify_layer(
    layer: usize,
    planned: &PlannedLayer,
    outcome: &LayerOutcome,
) -> Result<(), ScanError> {
    let label = || format!("layer {layer} (`{}`)", planned.blob);
    if let (Some(expected), Some(stored)) = (&planned.digest, &outcome.stored) {
        if &stored.digest != expected {
            return Err(ScanError::DigestMismatch {
                blob: label(),
                expected: expected.to_string(),
                actual: stored.digest.to_string(),
            });
        }
        if let Some(size) = planned.size.filter(|&s| s != stored.bytes) {
            return Err(ScanError::LayerSize {
                layer,
                blob: planned.blob.clone(),
                stored: stored.bytes,
                promised: size,
            });
        }
    }
    if let (Some(expected), Some(uncompressed)) = (&planned.diff_id, &outcome.uncompressed)
        && &uncompressed.digest != expected
    {
        return Err(ScanError::DigestMismatch {
            blob: format!("{} uncompressed", label()),
            expected: expected.to_string(),
            actual: uncompressed.digest.to_string(),
        });
    }
    Ok(())
}
