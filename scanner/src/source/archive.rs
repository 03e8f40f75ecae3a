//! Tar archives, plain or compressed. An image archive (`docker save`, an
//! OCI archive): a plain tar is indexed once and its blobs read in place,
//! in parallel; a compressed one is read in a single streaming pass that
//! indexes every layer blob as it passes (see [`super::stream`]). A tar
//! with no image metadata is a root filesystem (`docker export`, a cloud's
//! or LXC's rootfs tarball): one layer, read in one pass like an image
//! layer.

use super::blobs::{BlobStore, TarStore};
use super::layers::{
    Reading, assemble_layers, blob_key, first_uses, layer_info, read_planned, referrer_of,
    verify_layer, with_image_budget,
};
use super::plan::{ImagePlan, PlannedLayer, plan_docker, plan_oci};
use super::stream::read_compressed_archive;
use super::{Platform, Source, SourceRead, Target, TargetKind};
use crate::error::ScanError;
use crate::layer::decompress::{Compression, decoder};
use crate::layer::pass::read_layer;
use imgscan_sbom::FileKind;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

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
    if target.kind == TargetKind::RootfsArchive {
        return read_filesystem_tar(path, reading);
    }
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
    if compressed && target.kind == TargetKind::Archive && !first_member_is_metadata(path)? {
        let read = read_filesystem_tar(path, reading)?;
        // An image archive can put its metadata anywhere: one whose first
        // member did not say so, or whose start was too big to see past, is
        // still read as the image it is (or refused as one).
        if !holds_image_metadata(&read) && !cut_short(&read) {
            return Ok(read);
        }
    }
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
    if target.kind == TargetKind::Archive && !IMAGE_METADATA.iter().any(|name| store.contains(name))
    {
        return read_filesystem_tar(path, reading);
    }
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
        "a tar archive with neither `manifest.json` (docker-archive) nor `oci-layout` (oci-archive), and not a root filesystem (empty, or starting like an image; `rootfs-archive:` forces one)",
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

/// The members whose presence at the root makes a tar an image archive.
const IMAGE_METADATA: [&str; 3] = ["manifest.json", "oci-layout", "index.json"];

/// Most bytes of a compressed archive decoded to find its first member.
const FIRST_MEMBER_BYTES: u64 = 1 << 20;

/// Whether the first member of the compressed tar at `path` is one an
/// image archive starts with: its metadata, `blobs/`, or a docker-save
/// layer directory or config named by a digest. An unreadable start counts
/// as metadata, so the image reader says what is wrong with it.
fn first_member_is_metadata(path: &Path) -> Result<bool, ScanError> {
    let file = File::open(path).map_err(|e| ScanError::io(path, e))?;
    let Ok((_, decoded)) = decoder(BufReader::new(file)) else {
        return Ok(true);
    };
    let mut archive = tar::Archive::new(decoded.take(FIRST_MEMBER_BYTES));
    let first = archive
        .entries()
        .ok()
        .and_then(|mut entries| entries.next())
        .and_then(Result::ok);
    Ok(first.is_none_or(|entry| is_image_member(&entry.path_bytes())))
}

/// Whether a tar member name is one only image archives hold at their root.
fn is_image_member(name: &[u8]) -> bool {
    let name = String::from_utf8_lossy(name);
    let top = name
        .trim_start_matches("./")
        .split('/')
        .next()
        .unwrap_or_default();
    let digest = top
        .strip_suffix(".json")
        .or_else(|| top.strip_suffix(".tar"))
        .unwrap_or(top);
    IMAGE_METADATA.contains(&top)
        || matches!(top, "blobs" | "repositories")
        || (digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether a tar read as a root filesystem holds image metadata at its root.
fn holds_image_metadata(read: &SourceRead) -> bool {
    read.layers.iter().any(|(_, index)| {
        index.entries.iter().any(|entry| {
            entry.meta.kind == FileKind::File
                && IMAGE_METADATA
                    .iter()
                    .any(|name| *entry.path == *name.as_bytes())
        })
    })
}

/// Whether the expansion limit stopped the read before the tar's end.
fn cut_short(read: &SourceRead) -> bool {
    read.layers
        .iter()
        .any(|(_, index)| index.skipped.over_expansion_limit > 0)
}

/// Reads the tar at `path` as one root filesystem layer, in one pass.
fn read_filesystem_tar(path: &Path, reading: Reading<'_>) -> Result<SourceRead, ScanError> {
    let file = File::open(path).map_err(|e| ScanError::io(path, e))?;
    let stored = file.metadata().map_err(|e| ScanError::io(path, e))?.len();
    let pass = with_image_budget(reading.pass, stored);
    reading.progress.start(1);
    let planned = PlannedLayer {
        blob: path.display().to_string(),
        digest: None,
        diff_id: None,
        media_type: None,
        size: None,
        created_by: None,
    };
    let outcome = read_layer(0, file, stored, &pass).map_err(|cause| ScanError::Layer {
        layer: 0,
        blob: planned.blob.clone(),
        cause,
    })?;
    reading.progress.layer_done(outcome.bytes_read);
    let info = layer_info(0, &planned, &outcome);
    Ok(SourceRead {
        kind: TargetKind::RootfsArchive,
        plan: None,
        layers: vec![(info, outcome.index)],
    })
}
