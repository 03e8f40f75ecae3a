//! The errors that stop a scan. Each names the file, blob or layer at fault
//! so the CLI can print one clear line; trouble that does not stop a scan
//! (an escaping entry, an unreadable file) is an [`crate::Unknown`] instead.

use crate::layer::pass::LayerStreamError;
use crate::source::disk::DiskError;
use std::path::PathBuf;

/// Why a scan could not be done.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The target string names nothing that exists and is not a reference.
    #[error("target `{0}` not found")]
    TargetNotFound(String),
    /// A registry refused or failed a request.
    #[error("registry `{reference}`: {reason}")]
    Registry {
        /// The image reference, as resolved.
        reference: String,
        /// What the registry or the network said.
        reason: String,
    },
    /// Reading a file of the target failed.
    #[error("cannot read `{path}`: {cause}")]
    Io {
        /// The file that failed.
        path: PathBuf,
        /// The underlying error.
        cause: std::io::Error,
    },
    /// The advisory database could not be read.
    #[error(transparent)]
    Advisories(#[from] imgscan_advisories::DbError),
    /// A manifest, index, config or archive that does not parse or is
    /// inconsistent.
    #[error("`{file}`: {reason}")]
    Malformed {
        /// The file inside the target (e.g. `index.json`, a blob name).
        file: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A disk image that could not be read.
    #[error("`{}`: {cause}", path.display())]
    Disk {
        /// The image file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        cause: DiskError,
    },
    /// A blob that a manifest or index names is not in the target.
    #[error("blob `{blob}` named by `{referrer}` is missing")]
    MissingBlob {
        /// The missing blob (digest or archive path).
        blob: String,
        /// The file that names it.
        referrer: String,
    },
    /// A blob whose content does not hash to its digest.
    #[error("`{blob}`: digest mismatch: expected `{expected}`, got `{actual}`")]
    DigestMismatch {
        /// The blob (with its layer, when it is one).
        blob: String,
        /// The digest the manifest or config promised.
        expected: String,
        /// The digest of the bytes read.
        actual: String,
    },
    /// A layer whose stream could not be read to its end.
    #[error("layer {layer} (`{blob}`): {cause}")]
    Layer {
        /// 0-based layer number ([`imgscan_sbom::LayerNumber`]).
        layer: usize,
        /// The layer's blob (digest or archive path).
        blob: String,
        /// What went wrong (truncated stream, bad tar header, ...).
        #[source]
        cause: LayerStreamError,
    },
    /// A layer blob whose size is not the one its manifest gives.
    #[error("layer {layer} (`{blob}`): {stored} bytes stored, the manifest says {promised}")]
    LayerSize {
        /// 0-based layer number ([`imgscan_sbom::LayerNumber`]).
        layer: usize,
        /// The layer's blob (digest or archive path).
        blob: String,
        /// The bytes read.
        stored: u64,
        /// The size the manifest gives.
        promised: u64,
    },
    /// Several images and no way to choose one.
    #[error(
        "`{target}` holds several images; choose one with --platform or `TARGET:TAG`: {choices}"
    )]
    Ambiguous {
        /// The target as given.
        target: String,
        /// The choices, comma-separated.
        choices: String,
    },
    /// A selector (tag or platform) that matches no image.
    #[error("`{target}` has no image matching {wanted}; available: {choices}")]
    NoMatch {
        /// The target as given.
        target: String,
        /// What was asked for.
        wanted: String,
        /// The choices, comma-separated.
        choices: String,
    },
    /// A command-line option with a value that cannot work.
    #[error("invalid option: {0}")]
    Config(String),
}

impl ScanError {
    pub(crate) fn malformed(file: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        ScanError::Malformed {
            file: file.into(),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, cause: std::io::Error) -> Self {
        ScanError::Io {
            path: path.into(),
            cause,
        }
    }
}
