//! Targets that are one layer with no digest: a rootfs directory, walked
//! in place, and a VM disk image, whose filesystems are walked through its
//! own readers. Both fill the layer builder directly, without a tar.

use super::disk::index_disk;
use super::layers::Reading;
use super::rootfs::index_rootfs;
use super::{Source, SourceRead, TargetKind};
use crate::error::ScanError;
use crate::layer::{LayerBuilder, LayerIndex, run_pass};
use crate::model::LayerInfo;
use imgscan_sbom::FileKind;
use std::path::PathBuf;

/// A rootfs directory.
pub(super) struct DirectorySource {
    /// The directory.
    pub path: PathBuf,
}

impl Source for DirectorySource {
    fn read(&self, reading: Reading<'_>) -> Result<SourceRead, ScanError> {
        let path = &self.path;
        let layer = read_volume(reading, |builder| {
            index_rootfs(path, builder).map_err(|e| ScanError::io(path, e))
        })?;
        Ok(SourceRead {
            kind: TargetKind::Rootfs,
            plan: None,
            layers: vec![layer],
        })
    }
}

/// A VM disk image.
pub(super) struct DiskSource {
    /// The image file.
    pub path: PathBuf,
    /// Accept a disk whose OS root was not found while a volume was left
    /// unread.
    pub allow_incomplete: bool,
}

impl Source for DiskSource {
    fn read(&self, reading: Reading<'_>) -> Result<SourceRead, ScanError> {
        let path = &self.path;
        let layer = read_volume(reading, |builder| {
            index_disk(path, builder, self.allow_incomplete).map_err(|cause| ScanError::Disk {
                path: path.clone(),
                cause,
            })
        })?;
        Ok(SourceRead {
            kind: TargetKind::Disk,
            plan: None,
            layers: vec![layer],
        })
    }
}

/// Reads a target that is one layer with no digest (a rootfs directory, a
/// disk image) with `index`, which walks it into the layer builder.
fn read_volume(
    reading: Reading<'_>,
    index: impl FnOnce(&mut LayerBuilder<'_>) -> Result<(), ScanError>,
) -> Result<(LayerInfo, LayerIndex), ScanError> {
    reading.progress.start(1);
    let (result, index) = run_pass(0, reading.pass, index);
    result?;
    let size = index
        .entries
        .iter()
        .filter(|e| e.meta.kind == FileKind::File)
        .map(|e| e.meta.size)
        .sum();
    reading.progress.layer_done(size);
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
