//! The layer-result cache: what one layer pass yields — the layer's index,
//! the bytes captured for catalogers and checks, the rules' verdicts on its
//! files — depends only on the layer's content and the scan's settings, so
//! a re-scan of an unchanged layer takes it from the cache instead of
//! decompressing and scanning it again. Advisory matching, the merge of
//! the layers and everything after it always run afresh.
//!
//! The key is a SHA-256 over the layer's diff_id and everything that
//! changes the result: imgscan's version, the encoding's format, the rule
//! set's digest (built-in and `--rules` sources), the capture patterns,
//! the limits and the per-file scan timeout. A hit is trusted only for the
//! very blob it was made from: the blob must have the digest the entry
//! records, so an image cannot borrow a clean layer's result by naming its
//! diff_id. The blob is hashed to know (cheap next to decompressing and
//! scanning it), unless it is a local file this cache already saw with
//! that digest and that is unchanged since: same device, inode, size,
//! modification and change time (any write moves the change time, which
//! only root can set back) — recorded only when the file's identity was
//! the same before and after it was read. A layer that ran out of an image-wide budget, was cut short, or
//! is not a blob with a diff_id is not cached.
//!
//! Values are self-checking ([`codec`]) and stored through [`CacheStore`];
//! the directory store is safe for parallel jobs on one host (no lock,
//! atomic renames, least-recently-used eviction). A store shared between
//! hosts (Redis) never holds the blob-file records: an inode means nothing
//! elsewhere, so there every hit hashes its blob.

pub mod codec;
pub mod store;

pub use store::{CacheStore, DirStore, DirUsage, NoStore};

use crate::digest::Digest;
use crate::layer::PassOptions;
use crate::layer::pass::LayerOutcome;
use crate::limits::Limits;
use crate::source::blobs::BlobStore;
use crate::source::plan::PlannedLayer;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The default bound of the cache directory.
pub const DEFAULT_MAX_BYTES: u64 = 4 << 30;

/// `summary.cache`: layers taken from the cache and layers read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheStats {
    /// Layers whose result came from the cache.
    pub hits: u64,
    /// Layers read (and stored when they could be).
    pub misses: u64,
}

/// A scan's handle on the cache: the store, the digest of the scan's
/// settings, and the counts. Clones share the counts.
#[derive(Debug, Clone)]
pub struct LayerCache {
    store: Arc<dyn CacheStore>,
    settings: String,
    hits: Arc<AtomicU64>,
    misses: Arc<AtomicU64>,
}

/// What goes into every key besides the diff_id.
#[derive(Debug)]
pub struct CacheSettings<'a> {
    /// imgscan's version.
    pub version: &'a str,
    /// The digest of the rule set, if rules run.
    pub rules: Option<&'a str>,
    /// The capture patterns with their readers' limits, in order.
    pub capture: &'a [(String, u64)],
    /// The limits.
    pub limits: &'a Limits,
    /// The per-file rule scan timeout.
    pub scan_timeout: Duration,
}

impl CacheSettings<'_> {
    /// The settings' digest, hex.
    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        let mut field = |bytes: &[u8]| {
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        };
        field(self.version.as_bytes());
        field(&codec::FORMAT.to_le_bytes());
        field(self.rules.unwrap_or("no rules").as_bytes());
        for (pattern, limit) in self.capture {
            field(pattern.as_bytes());
            field(&limit.to_le_bytes());
        }
        field(format!("{:?}", self.limits).as_bytes());
        field(&self.scan_timeout.as_millis().to_le_bytes());
        hex::encode(h.finalize())
    }
}

impl LayerCache {
    /// A cache over `store`; a scan sets its settings ([`Self::with_settings`]).
    pub fn open(store: Arc<dyn CacheStore>) -> Self {
        LayerCache {
            store,
            settings: String::new(),
            hits: Arc::default(),
            misses: Arc::default(),
        }
    }

    /// A cache over `store`, for scans with `settings`.
    pub fn new(store: Arc<dyn CacheStore>, settings: &CacheSettings<'_>) -> Self {
        LayerCache {
            store,
            settings: settings.digest(),
            hits: Arc::default(),
            misses: Arc::default(),
        }
    }

    /// The same store and counts, for scans with `settings`.
    pub fn with_settings(&self, settings: &CacheSettings<'_>) -> Self {
        LayerCache {
            settings: settings.digest(),
            ..self.clone()
        }
    }

    /// The counts so far.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    /// The key of the layer with `diff_id` under these settings.
    pub fn key(&self, diff_id: &Digest) -> String {
        let mut h = Sha256::new();
        h.update(self.settings.as_bytes());
        h.update([0]);
        h.update(diff_id.as_str().as_bytes());
        hex::encode(h.finalize())
    }

    /// The cached outcome of `planned` read as layer `layer`, when there is
    /// one made from this very blob (hashed from `blobs` to make sure) and
    /// the image's budgets allow it; counts a hit. `None` otherwise (the
    /// caller reads the layer and counts the miss with [`Self::keep`]).
    pub fn reuse(
        &self,
        layer: usize,
        planned: &PlannedLayer,
        blobs: &dyn BlobStore,
        pass: &PassOptions,
    ) -> Option<LayerOutcome> {
        let key = self.key(planned.diff_id.as_ref()?);
        let bytes = self.store.get(&key)?;
        let Some(mut outcome) = codec::decode(&key, &bytes) else {
            // Torn or tampered: never trusted, rewritten by this scan.
            self.store.remove(&key);
            return None;
        };
        drop(bytes);
        let stored = outcome.stored.clone()?;
        if planned.digest.as_ref().is_some_and(|d| *d != stored.digest) {
            return None;
        }
        // A local blob file seen with this digest and unchanged since
        // (same inode, size, mtime and ctime) need not be hashed again.
        let seen = self
            .identity(blobs, &planned.blob)
            .map(|id| self.seen_key(&id, &stored.digest));
        let known = seen
            .as_ref()
            .and_then(|key| self.store.get(key))
            .is_some_and(|value| value == stored.digest.as_str().as_bytes());
        if !known {
            let (reader, _) = blobs.open(&planned.blob).ok()??;
            if blob_digest(reader)? != (stored.digest.clone(), stored.bytes) {
                return None;
            }
            // Recorded only if the file did not change while it was hashed.
            let after = self
                .identity(blobs, &planned.blob)
                .map(|id| self.seen_key(&id, &stored.digest));
            if let Some(key) = seen.as_ref().filter(|key| after.as_ref() == Some(*key)) {
                self.store.put(key, stored.digest.as_str().as_bytes());
            }
        }
        let unplaced: u64 = outcome
            .index
            .entries
            .iter()
            .filter(|e| !e.placed)
            .filter_map(|e| outcome.index.captured.get(&e.path))
            .map(|bytes| bytes.len() as u64)
            .sum();
        if !pass.image.take(outcome.bytes_read) || !pass.unplaced.take(unplaced) {
            return None;
        }
        outcome.index.renumber(layer);
        self.store.touch(&key);
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(outcome)
    }

    /// Why the store serves nothing just now, if it does not.
    pub fn trouble(&self) -> Option<String> {
        self.store.trouble()
    }

    /// A blob file's identity on this host (device, inode, size, times),
    /// unless the store is shared with other hosts, where it means nothing.
    pub fn identity(&self, blobs: &dyn BlobStore, blob: &str) -> Option<String> {
        if self.store.shared() {
            return None;
        }
        blobs.identity(blob)
    }

    /// The key under which a blob file's identity is recorded as hashed
    /// to `digest`.
    fn seen_key(&self, identity: &str, digest: &Digest) -> String {
        let mut h = Sha256::new();
        h.update(b"seen blob\0");
        h.update(identity.as_bytes());
        h.update([0]);
        h.update(digest.as_str().as_bytes());
        format!("seen{}", hex::encode(h.finalize()))
    }

    /// Counts a layer read, and stores its outcome when it stands on its
    /// own: whole, with a diff_id it matches, and nothing left out for an
    /// image-wide budget; records the blob file as seen with its digest
    /// when its `identity` (taken before it was read) is unchanged.
    pub fn keep(
        &self,
        planned: &PlannedLayer,
        outcome: &LayerOutcome,
        identity: Option<String>,
        blobs: &dyn BlobStore,
    ) {
        self.misses.fetch_add(1, Ordering::Relaxed);
        let (Some(diff_id), Some(_), Some(uncompressed)) =
            (&planned.diff_id, &outcome.stored, &outcome.uncompressed)
        else {
            return;
        };
        let index = &outcome.index;
        if uncompressed.digest != *diff_id
            || !index.unkept.is_empty()
            || index.capture_spent
            || index.skipped.over_expansion_limit > 0
        {
            return;
        }
        let key = self.key(diff_id);
        self.store.put(&key, &codec::encode(&key, outcome));
        if let (Some(stored), Some(identity)) = (&outcome.stored, identity)
            && self.identity(blobs, &planned.blob).as_ref() == Some(&identity)
        {
            let seen = self.seen_key(&identity, &stored.digest);
            self.store.put(&seen, stored.digest.as_str().as_bytes());
        }
    }
}

/// SHA-256 and length of everything `reader` yields.
fn blob_digest(mut reader: impl Read) -> Option<(Digest, u64)> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 << 10];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        total += n as u64;
    }
    let digest = Digest::parse(&format!("sha256:{}", hex::encode(h.finalize()))).ok()?;
    Some((digest, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings<'a>(
        version: &'a str,
        rules: Option<&'a str>,
        limits: &'a Limits,
    ) -> CacheSettings<'a> {
        CacheSettings {
            version,
            rules,
            capture: &[],
            limits,
            scan_timeout: Duration::from_secs(10),
        }
    }

    #[test]
    fn keys_change_with_version_rules_limits_and_content() {
        let limits = Limits::default();
        let store: Arc<dyn CacheStore> = Arc::new(NoStore);
        let diff = Digest::of(b"layer");
        let key = |s: &CacheSettings<'_>| LayerCache::new(store.clone(), s).key(&diff);
        let base = key(&settings("0.1.0", Some("r1"), &limits));
        assert_eq!(base, key(&settings("0.1.0", Some("r1"), &limits)));
        assert_ne!(
            base,
            key(&settings("0.1.1", Some("r1"), &limits)),
            "version"
        );
        assert_ne!(base, key(&settings("0.1.0", Some("r2"), &limits)), "rules");
        assert_ne!(base, key(&settings("0.1.0", None, &limits)), "no rules");
        let smaller = Limits {
            max_file_bytes: 1,
            ..limits
        };
        assert_ne!(
            base,
            key(&settings("0.1.0", Some("r1"), &smaller)),
            "limits"
        );
        let other = LayerCache::new(store.clone(), &settings("0.1.0", Some("r1"), &limits));
        assert_ne!(base, other.key(&Digest::of(b"other")), "content");
    }
}
