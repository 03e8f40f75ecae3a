//! Where cached layer results live. [`CacheStore`] is the whole contract a
//! backend fulfils (a directory here; `imgscan-fleet`'s Redis store keeps
//! the very same bytes): get, put and touch opaque values by key.
//! [`DirStore`] keeps one file per key, written to a temporary name and
//! renamed into place, so readers see a whole value or none; two writers
//! of one key each rename a whole value, and either one is right. No lock
//! is taken. Its size is bounded: past the bound, the least recently used
//! entries (by modification time, which a hit refreshes) are removed.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// A key-value store for cached layer results.
pub trait CacheStore: Send + Sync + std::fmt::Debug {
    /// The value under `key`, if there is one (any failure is a miss).
    fn get(&self, key: &str) -> Option<Vec<u8>>;
    /// Stores `value` under `key`; failures are ignored (a cache is optional).
    fn put(&self, key: &str, value: &[u8]);
    /// Marks `key` as just used (for least-recently-used eviction).
    fn touch(&self, key: &str);
    /// Drops `key` (a value that failed its check).
    fn remove(&self, key: &str);
    /// Whether other hosts share the store: then nothing that only means
    /// something on this host (a local blob file's inode and times) is
    /// stored in it.
    fn shared(&self) -> bool {
        false
    }
    /// Why the store is serving nothing just now (a server that cannot be
    /// reached), in words safe to show: no credentials.
    fn trouble(&self) -> Option<String> {
        None
    }
}

/// Suffix of a stored value.
const ENTRY: &str = "entry";
/// Largest value read back (a layer's index with its captured files).
const MAX_VALUE: u64 = 4 << 30;

/// Values as files under a directory, bounded in total size.
#[derive(Debug, Clone)]
pub struct DirStore {
    dir: PathBuf,
    max_bytes: u64,
}

/// What a [`DirStore`] holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirUsage {
    /// Stored values (layer results and blob records).
    pub entries: u64,
    /// Of those, the records of blob files seen with their digest (keys
    /// starting `seen`).
    pub seen: u64,
    /// Their bytes.
    pub bytes: u64,
}

impl DirStore {
    /// A store in `dir` (created on first write) holding at most `max_bytes`.
    pub fn new(dir: impl Into<PathBuf>, max_bytes: u64) -> Self {
        DirStore {
            dir: dir.into(),
            max_bytes,
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The size bound.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    fn path(&self, key: &str) -> PathBuf {
        // Keys are hex digests; anything else never names a file here.
        let safe: String = key
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(128)
            .collect();
        let fan = safe.get(..2).unwrap_or("00");
        self.dir.join(fan).join(format!("{safe}.{ENTRY}"))
    }

    /// Every stored value with its size and last use, and stray temporary
    /// files (left by a writer that died) older than an hour.
    fn list(&self) -> (Vec<(PathBuf, u64, SystemTime)>, Vec<PathBuf>) {
        let mut entries = Vec::new();
        let mut stray = Vec::new();
        let Ok(fans) = fs::read_dir(&self.dir) else {
            return (entries, stray);
        };
        for fan in fans.flatten() {
            if !fan.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let Ok(files) = fs::read_dir(fan.path()) else {
                continue;
            };
            for file in files.flatten() {
                let Ok(meta) = file.metadata() else { continue };
                if !meta.is_file() {
                    continue;
                }
                let used = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                let path = file.path();
                if path.extension().is_some_and(|e| e == ENTRY) {
                    entries.push((path, meta.len(), used));
                } else if used.elapsed().is_ok_and(|age| age.as_secs() > 3600) {
                    stray.push(path);
                }
            }
        }
        (entries, stray)
    }

    /// What the store holds.
    pub fn usage(&self) -> DirUsage {
        let (entries, _) = self.list();
        let seen = entries
            .iter()
            .filter(|(path, _, _)| {
                path.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("seen"))
            })
            .count() as u64;
        DirUsage {
            entries: entries.len() as u64,
            seen,
            bytes: entries.iter().map(|(_, size, _)| size).sum(),
        }
    }

    /// Removes the least recently used values until at most `max_bytes`
    /// remain, and stray temporary files; returns what was removed.
    pub fn prune_to(&self, max_bytes: u64) -> DirUsage {
        let (mut entries, stray) = self.list();
        let mut removed = DirUsage::default();
        for path in stray {
            let _ = fs::remove_file(path);
        }
        let mut total: u64 = entries.iter().map(|(_, size, _)| size).sum();
        entries.sort_by_key(|(_, _, used)| *used);
        for (path, size, _) in entries {
            if total <= max_bytes {
                break;
            }
            if fs::remove_file(&path).is_ok() {
                total -= size;
                removed.entries += 1;
                removed.bytes += size;
            }
        }
        removed
    }

    /// Removes every value; returns what was removed.
    pub fn clear(&self) -> DirUsage {
        self.prune_to(0)
    }
}

impl CacheStore for DirStore {
    fn get(&self, key: &str) -> Option<Vec<u8>> {
        let file = imgscan_sbom::input::open_if_regular(&self.path(key)).ok()??;
        let mut bytes = Vec::new();
        file.take(MAX_VALUE).read_to_end(&mut bytes).ok()?;
        Some(bytes)
    }

    fn put(&self, key: &str, value: &[u8]) {
        let path = self.path(key);
        let Some(dir) = path.parent() else { return };
        if fs::create_dir_all(dir).is_err() {
            return;
        }
        // A unique temporary name in the same directory, renamed over the
        // entry: atomic, and harmless when another process does the same.
        let written = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(dir)
            .and_then(|mut tmp| {
                tmp.write_all(value)?;
                tmp.as_file().sync_data()?;
                tmp.persist(&path).map_err(|e| e.error)?;
                Ok(())
            });
        if written.is_ok() && self.usage().bytes > self.max_bytes {
            self.prune_to(self.max_bytes);
        }
    }

    fn touch(&self, key: &str) {
        if let Ok(file) = fs::File::options().append(true).open(self.path(key)) {
            let _ = file.set_modified(SystemTime::now());
        }
    }

    fn remove(&self, key: &str) {
        let _ = fs::remove_file(self.path(key));
    }
}

/// A store that keeps nothing (`--no-cache`).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoStore;

impl CacheStore for NoStore {
    fn get(&self, _: &str) -> Option<Vec<u8>> {
        None
    }
    fn put(&self, _: &str, _: &[u8]) {}
    fn touch(&self, _: &str) {}
    fn remove(&self, _: &str) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_and_least_recently_used_eviction() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path(), 25);
        store.put("aa01", &[1; 10]);
        store.put("bb02", &[2; 10]);
        assert_eq!(store.get("aa01").unwrap(), vec![1; 10]);
        assert_eq!(
            store.usage(),
            DirUsage {
                entries: 2,
                seen: 0,
                bytes: 20
            }
        );
        // aa01 was used last: bb02 goes first.
        let old = SystemTime::now() - std::time::Duration::from_secs(60);
        fs::File::options()
            .append(true)
            .open(store.path("bb02"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        store.put("cc03", &[3; 10]);
        assert!(store.get("bb02").is_none());
        assert!(store.get("aa01").is_some() && store.get("cc03").is_some());
        assert_eq!(store.clear().entries, 2);
        assert_eq!(store.usage(), DirUsage::default());
        assert!(store.get("../../etc/passwd").is_none());
    }
}
