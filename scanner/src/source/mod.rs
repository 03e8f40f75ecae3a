//! The source stage: a TARGET string becomes a [`Source`] ([`open`]), which
//! reads every layer of the target once into a layer index. Image sources
//! resolve the target ([`target`]), read its metadata into a plan
//! ([`plan`]) and read the blobs from their store ([`blobs`]: a directory,
//! a tar file, memory, a registry with its HTTP client, retries, resumed
//! blobs and credentials); a rootfs directory ([`rootfs`]) and a VM disk
//! image ([`disk`]) are one layer walked in place.

mod archive;
mod blob_reader;
pub mod blobs;
mod cred_helper;
pub mod credentials;
pub mod disk;
pub mod distribution;
pub mod layers;
pub mod plan;
pub mod platform;
mod progress;
pub mod reference;
pub mod registry;
mod registry_answers;
pub mod registry_auth;
pub mod rootfs;
#[cfg(test)]
mod session_tests;
mod stored;
pub mod stream;
pub mod target;
mod volume;

pub use layers::{LayersRead, Reading};
pub use platform::{Platform, PlatformError};
pub use progress::{NoProgress, Progress};
pub use target::{Target, TargetKind, resolve_target};

use crate::error::ScanError;
use archive::ArchiveSource;
use blobs::DirStore;
use plan::ImagePlan;
use registry::{RegistryOptions, RegistryStore};
use stored::StoredImage;
use volume::{DirectorySource, DiskSource};

/// A target that can read its layers: every kind of target is one.
pub trait Source {
    /// Reads every layer once (in parallel where the source can seek) into
    /// its index, with what the report says of each layer.
    fn read(&self, reading: Reading<'_>) -> Result<SourceRead, ScanError>;
}

/// What a source read.
pub struct SourceRead {
    /// The target's kind (an archive's, decided by its members).
    pub kind: TargetKind,
    /// The image's plan, for sources that have metadata.
    pub plan: Option<ImagePlan>,
    /// The layers in order.
    pub layers: LayersRead,
}

/// What choosing and opening a source depends on.
#[derive(Debug, Clone, Copy)]
pub struct SourceOptions<'a> {
    /// The platform to pick from a multi-platform index.
    pub platform: Option<&'a Platform>,
    /// How to reach registries.
    pub registry: &'a RegistryOptions,
    /// Accept a disk image whose OS root was not found while a volume was
    /// left unread.
    pub allow_incomplete: bool,
}

/// Resolves the TARGET string `input` and opens its source (a registry is
/// contacted here: its reference and credentials are checked).
pub fn open(input: &str, options: SourceOptions<'_>) -> Result<Box<dyn Source>, ScanError> {
    let target = resolve_target(input)?;
    let platform = options.platform.cloned();
    Ok(match target.kind {
        TargetKind::Registry => {
            let reference = target.selector.as_deref().unwrap_or_default();
            Box::new(StoredImage {
                kind: TargetKind::Registry,
                store: RegistryStore::connect(reference, options.registry)?,
                input: target.input,
                selector: None,
                platform,
            })
        }
        TargetKind::OciDir => Box::new(StoredImage {
            kind: TargetKind::OciDir,
            store: DirStore::new(&target.path),
            input: target.input,
            selector: target.selector,
            platform,
        }),
        TargetKind::Archive
        | TargetKind::OciArchive
        | TargetKind::DockerArchive
        | TargetKind::RootfsArchive => Box::new(ArchiveSource { target, platform }),
        TargetKind::Rootfs => Box::new(DirectorySource { path: target.path }),
        TargetKind::Disk => Box::new(DiskSource {
            path: target.path,
            allow_incomplete: options.allow_incomplete,
        }),
    })
}
