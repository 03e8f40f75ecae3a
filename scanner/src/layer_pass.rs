//! The one streaming pass over one layer blob: hash the stored bytes,
//! decompress by magic, bound the expansion, hash the tar, and index every
//! entry, all in a single read. Nothing is written to disk and no layer is
//! held whole in memory.

use crate::decompress::{BudgetedReader, Compression, decoder};
use crate::digest::{HashTap, Tapped};
use crate::error::ScanError;
use crate::layer::{LayerIndex, PassOptions, run_pass};
use crate::source::distribution::RegistryError;
use crate::source::plan::PlannedLayer;
use crate::tar_stream::index_tar;
use std::io::{self, BufReader, Read};

/// Buffer between the stored blob and the decompressor.
const READ_BUFFER: usize = 256 << 10;

/// What one layer pass produced.
#[derive(Debug)]
pub struct LayerOutcome {
    /// The index of the layer's entries.
    pub index: LayerIndex,
    /// How the blob was compressed.
    pub compression: Compression,
    /// Digest and size of the stored blob (absent when cut short).
    pub stored: Option<Tapped>,
    /// Digest and size of the uncompressed tar (absent when cut short).
    pub uncompressed: Option<Tapped>,
    /// Uncompressed bytes read, even when cut short.
    pub bytes_read: u64,
}

/// Why a layer's stream could not be read to its end; the layer and blob
/// are added by [`ScanError::Layer`].
#[derive(Debug, thiserror::Error)]
pub enum LayerStreamError {
    /// The first bytes could not be read, or name a compression that is not
    /// supported (bzip2, xz).
    #[error("{0}")]
    Start(#[source] io::Error),
    /// The registry failed the blob: its reason, not the stream's bytes.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The stream ended before its format said it would.
    #[error("truncated {stream}: {cause}")]
    Truncated {
        /// `tar stream`, `gzip stream` or `zstd stream`.
        stream: &'static str,
        /// The reader's error.
        #[source]
        cause: io::Error,
    },
    /// The stream holds bytes its format does not allow.
    #[error("broken {stream}: {cause}")]
    Broken {
        /// `tar stream`, `gzip stream` or `zstd stream`.
        stream: &'static str,
        /// The reader's error.
        #[source]
        cause: io::Error,
    },
    /// The pass stopped without the blob reporting its end.
    #[error("stream did not reach its end")]
    Unfinished,
}

/// Reads one layer blob of `stored_size` bytes. An `Err` is the reason the
/// stream is broken; the expansion limit is not an error but an unknown.
pub fn read_layer<R: Read>(
    layer: usize,
    blob: R,
    stored_size: u64,
    options: &PassOptions,
) -> Result<LayerOutcome, LayerStreamError> {
    let (stored_tap, stored) = HashTap::new(blob);
    let (compression, decoded) = decoder(BufReader::with_capacity(READ_BUFFER, stored_tap))
        .map_err(LayerStreamError::Start)?;
    let limit = options.limits.layer_budget(stored_size);
    let (budget, exceeded) = BudgetedReader::new(decoded, "layer", limit, &options.image);
    let (mut tar_tap, uncompressed) = HashTap::new(budget);
    let (result, index) = run_pass(layer, options, |builder| {
        let result = index_tar(&mut tar_tap, builder, options.limits.max_name_bytes)
            .and_then(|()| io::copy(&mut tar_tap, &mut io::sink()).map(drop));
        if result.is_err()
            && let Some(why) = exceeded.get()
        {
            builder.expansion_exceeded(format!("{why}; the rest of the layer is not indexed"));
        }
        result
    });
    let bytes_read = tar_tap.bytes_read();
    match result {
        Ok(()) => {}
        Err(_) if exceeded.get().is_some() => {
            return Ok(LayerOutcome {
                index,
                compression,
                stored: None,
                uncompressed: None,
                bytes_read,
            });
        }
        Err(err) => return Err(describe(err, compression)),
    }
    let (Some(stored), Some(uncompressed)) = (stored.get().cloned(), uncompressed.get().cloned())
    else {
        return Err(LayerStreamError::Unfinished);
    };
    Ok(LayerOutcome {
        index,
        compression,
        stored: Some(stored),
        uncompressed: Some(uncompressed),
        bytes_read,
    })
}

fn describe(err: io::Error, compression: Compression) -> LayerStreamError {
    // A registry that failed the blob is the reason, not the stream's bytes.
    let err = match err.downcast::<RegistryError>() {
        Ok(registry) => return LayerStreamError::Registry(registry),
        Err(err) => err,
    };
    let stream = match compression {
        Compression::None => "tar stream",
        Compression::Gzip => "gzip stream",
        Compression::Zstd => "zstd stream",
    };
    if err.kind() == io::ErrorKind::UnexpectedEof {
        LayerStreamError::Truncated { stream, cause: err }
    } else {
        LayerStreamError::Broken { stream, cause: err }
    }
}

/// Checks a finished layer against the digests its metadata promised.
pub fn verify_layer(
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
