//! Images whose store opens any blob by name: a registry and an OCI layout
//! directory. The plan comes from the index and manifest; the layers are
//! read in parallel, each distinct blob once.

use super::blobs::BlobStore;
use super::layers::{Reading, declared_size, read_planned};
use super::plan::plan_oci;
use super::{Platform, Source, SourceRead, TargetKind};
use crate::error::ScanError;

/// An image in a store that can open any of its blobs.
pub(super) struct StoredImage<S> {
    /// `Registry` or `OciDir`.
    pub kind: TargetKind,
    /// Where the blobs are.
    pub store: S,
    /// The TARGET string, for messages.
    pub input: String,
    /// The tag after `PATH:` that picks a manifest of a layout.
    pub selector: Option<String>,
    /// The platform to pick from a multi-platform index.
    pub platform: Option<Platform>,
}

impl<S: BlobStore> Source for StoredImage<S> {
    fn read(&self, reading: Reading<'_>) -> Result<SourceRead, ScanError> {
        let plan = plan_oci(
            &self.store,
            &self.input,
            self.selector.as_deref(),
            self.platform.as_ref(),
        )?;
        let layers = read_planned(&self.store, &plan, declared_size(&plan), reading)?;
        Ok(SourceRead {
            kind: self.kind,
            plan: Some(plan),
            layers,
        })
    }
}
