//! A compressed image archive (`docker save | gzip`, a gzipped oci-archive)
//! read in one sequential pass. gzip cannot seek and `manifest.json` comes
//! last, so every member that could be a layer is indexed as it streams by,
//! keyed by its name, and small JSON members are kept; the plan made from
//! them at the end picks the layers and checks their digests.

use super::blobs::{MAX_METADATA_BYTES, MemoryStore};
use crate::error::ScanError;
use crate::layer::PassOptions;
use crate::layer::budget::SharedBudget;
use crate::layer::decompress::{BudgetedReader, decoder};
use crate::layer::entry_name::normalize;
use crate::layer::pass::{LayerOutcome, LayerStreamError, read_layer};
use crate::layer::tar_stream::walk_entries;
use imgscan_sbom::FileKind;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

/// Bytes of each member looked at to tell metadata from a layer.
const SNIFF_BYTES: usize = 512;

/// What the pass found: metadata members in memory, and every other
/// member's layer pass, by normalised member name.
pub struct StreamedArchive {
    /// The small JSON members.
    pub metadata: MemoryStore,
    /// Layer passes (or why a member is not a readable layer).
    pub layers: HashMap<String, Result<LayerOutcome, LayerStreamError>>,
}

/// Reads the compressed archive at `path` in one pass.
pub fn read_compressed_archive(
    path: &Path,
    options: &PassOptions,
) -> Result<StreamedArchive, ScanError> {
    let label = path.display().to_string();
    let file = File::open(path).map_err(|e| ScanError::io(path, e))?;
    let size = file.metadata().map_err(|e| ScanError::io(path, e))?.len();
    let (_, decoded) =
        decoder(BufReader::with_capacity(256 << 10, file)).map_err(|e| ScanError::io(path, e))?;
    let limit = options.limits.layer_budget(size);
    let (budget, exceeded) =
        BudgetedReader::new(decoded, "archive", limit, &SharedBudget::default());
    let mut archive = tar::Archive::new(budget);
    let mut metadata = HashMap::new();
    let mut layers = HashMap::new();
    let max_name = options.limits.max_name_bytes;
    let entries = archive.entries().map_err(|e| ScanError::io(path, e))?;
    walk_entries(entries, max_name, |item, content| {
        let Ok(name) = normalize(&item.name, max_name) else {
            return Ok(());
        };
        if item.kind != Ok(FileKind::File) || name.is_empty() {
            return Ok(());
        }
        let name = String::from_utf8_lossy(&name).into_owned();
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        content.take(SNIFF_BYTES as u64).read_to_end(&mut head)?;
        let first = head.iter().find(|b| !b.is_ascii_whitespace());
        if matches!(first, Some(b'{' | b'[')) && item.size <= MAX_METADATA_BYTES
            || name == "oci-layout"
        {
            content.read_to_end(&mut head)?;
            metadata.insert(name, head);
        } else {
            let outcome = read_layer(
                0,
                head.as_slice().chain(content.take(item.size)),
                item.size,
                options,
            );
            layers.insert(name, outcome);
        }
        Ok(())
    })
    .map_err(|e| {
        let reason = if let Some(why) = exceeded.get() {
            why.to_string()
        } else {
            format!("broken archive stream: {e}")
        };
        ScanError::malformed(label.clone(), reason)
    })?;
    Ok(StreamedArchive {
        metadata: MemoryStore::new(path, metadata),
        layers,
    })
}
