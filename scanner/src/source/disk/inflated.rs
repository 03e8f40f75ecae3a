//! Inflated clusters (qcow2) or grains (streamOptimized VMDK) of one
//! compressed image, kept for every handle that reads it: a filesystem
//! reader's threads each hold a handle, and they read the same clusters
//! (inode tables, small files side by side) by turns or at once. A unit
//! is inflated once even when several threads ask for it together (the
//! others wait for the first); the cache is bounded in bytes, the least
//! recently used going first.

use std::io;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// A unit's bytes, or why it could not be inflated.
type Unit = Arc<OnceLock<Result<Arc<[u8]>, String>>>;

/// Recently inflated units of one image, by where they are stored.
pub struct InflatedCache {
    /// (key, unit), the most recently used last.
    units: Mutex<Vec<(u64, Unit)>>,
    room: usize,
}

impl InflatedCache {
    /// A cache of `bytes` bytes of units of `unit` bytes (at least one).
    pub fn new(bytes: u64, unit: u64) -> Arc<Self> {
        Arc::new(InflatedCache {
            units: Mutex::new(Vec::new()),
            room: usize::try_from(bytes / unit.max(1))
                .unwrap_or(usize::MAX)
                .max(1),
        })
    }

    /// The unit stored at `key`, inflated by `inflate` unless cached or
    /// being inflated by another thread (then its result is waited for).
    pub fn get(
        &self,
        key: u64,
        inflate: impl FnOnce() -> io::Result<Vec<u8>>,
    ) -> io::Result<Arc<[u8]>> {
        let unit = {
            let mut units = self.units.lock().unwrap_or_else(PoisonError::into_inner);
            match units.iter().position(|(k, _)| *k == key) {
                Some(at) => {
                    let hit = units.remove(at);
                    let unit = Arc::clone(&hit.1);
                    units.push(hit);
                    unit
                }
                None => {
                    if units.len() >= self.room {
                        units.remove(0);
                    }
                    let unit = Unit::default();
                    units.push((key, Arc::clone(&unit)));
                    unit
                }
            }
        };
        let inflated = unit.get_or_init(|| inflate().map(Arc::from).map_err(|e| e.to_string()));
        inflated
            .clone()
            .map_err(|why| io::Error::new(io::ErrorKind::InvalidData, why))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn units_are_inflated_once_while_they_fit() {
        let cache = InflatedCache::new(2, 1);
        let mut inflated = 0;
        for key in [1, 2, 1, 2, 3, 1] {
            cache
                .get(key, || {
                    inflated += 1;
                    Ok(vec![key as u8])
                })
                .unwrap();
        }
        // 1 and 2 once each; 3 evicts 1, which is inflated again.
        assert_eq!(inflated, 4);
        let err = cache
            .get(9, || Err(io::Error::other("bad stream")))
            .unwrap_err();
        assert!(err.to_string().contains("bad stream"));
    }

    #[test]
    fn threads_asking_together_share_one_inflation() {
        let cache = InflatedCache::new(16, 1);
        let inflated = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    let bytes = cache
                        .get(7, || {
                            inflated.fetch_add(1, Ordering::Relaxed);
                            std::thread::sleep(std::time::Duration::from_millis(50));
                            Ok(vec![7])
                        })
                        .unwrap();
                    assert_eq!(&bytes[..], [7]);
                });
            }
        });
        assert_eq!(inflated.load(Ordering::Relaxed), 1);
    }
}
