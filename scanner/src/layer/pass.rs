//! The one streaming pass over one layer blob: hash the stored bytes,
//! decompress by magic, bound the expansion, hash the tar, and index every
//! entry, all in a single read. Nothing is written to disk and no layer is
//! held whole in memory. Two threads share the work ([`pipe`]): the
//! calling thread reads, hashes and decompresses the blob; a second one
//! hashes and indexes the tar (and hands files to the rule-scan workers).

use crate::digest::{HashTap, Tapped};
use crate::layer::decompress::{BudgetedReader, Compression, decoder};
use crate::layer::pipe::{self, pipe};
use crate::layer::tar_stream::index_tar;
use crate::layer::{LayerIndex, PassOptions, run_pass};
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
    /// The blob's store failed it (a registry that gave up): its reason,
    /// not the stream's bytes.
    #[error(transparent)]
    Store(#[from] StoreFailure),
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

/// Why a blob's store stopped delivering its bytes (a registry that gave
/// up on the blob, …). A store's reader returns it inside an `io::Error`
/// ([`StoreFailure::into_io`]), so the pass reports the store's reason
/// instead of a broken stream.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct StoreFailure(Box<dyn std::error::Error + Send + Sync>);

impl StoreFailure {
    /// `cause` as the `io::Error` a store's reader returns.
    pub fn into_io(cause: impl std::error::Error + Send + Sync + 'static) -> io::Error {
        io::Error::other(StoreFailure(Box::new(cause)))
    }
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
    // A plain tar is stored as it is: the blob's digest is the tar's. The
    // tar side, the busier thread, then only counts.
    let plain = compression == Compression::None;
    let limit = options.limits.layer_budget(stored_size);
    let (writer, reader) = pipe();
    let (budget, exceeded) = BudgetedReader::new(reader, "layer", limit, &options.image);
    let (mut tar_tap, uncompressed) = if plain {
        (HashTap::counting(budget), stored.clone())
    } else {
        HashTap::new(budget)
    };
    // Owns the pipe's reading end, so the pump stops when indexing does.
    let indexing = {
        let exceeded = exceeded.clone();
        move || {
            let (result, index) = run_pass(layer, options, |builder| {
                let result = index_tar(&mut tar_tap, builder, options.limits.max_name_bytes)
                    .and_then(|()| io::copy(&mut tar_tap, &mut io::sink()).map(drop));
                if result.is_err()
                    && let Some(why) = exceeded.get()
                {
                    builder
                        .expansion_exceeded(format!("{why}; the rest of the layer is not indexed"));
                }
                result
            });
            (result, index, tar_tap.bytes_read())
        }
    };
    let (result, index, bytes_read) = std::thread::scope(|scope| {
        let indexer = scope.spawn(indexing);
        pipe::pump(decoded, writer);
        indexer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
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
    // A store that failed the blob is the reason, not the stream's bytes.
    let err = match err.downcast::<StoreFailure>() {
        Ok(failure) => return LayerStreamError::Store(failure),
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
