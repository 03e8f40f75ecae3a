//! A pool of rule-scanning threads for one layer pass: the pass thread
//! decompresses and reads files, and hands each file's bytes to workers that
//! each own one YARA-X scanner, so rules run on every core while the stream
//! is still being read. The queue is bounded, so at most a few files are in
//! memory at once.

use crate::malware::{RuleHit, RuleScanner};
use crate::rules::RuleSet;
use sha2::{Digest, Sha256};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One file to scan: its path and bytes.
type Job = (Box<[u8]>, Vec<u8>);

/// What scanning one file gave.
#[derive(Debug, Clone)]
pub struct FileVerdict {
    /// Root-relative path.
    pub path: Box<[u8]>,
    /// The rules that matched, or why the scan failed.
    pub result: Result<Vec<RuleHit>, String>,
    /// SHA-256 of the bytes (hex), computed only when a rule matched.
    pub sha256: Option<String>,
}

/// Hands files to the scanning workers.
pub struct ScanPool {
    jobs: SyncSender<Job>,
}

impl ScanPool {
    /// Queues one file; blocks while the queue is full.
    pub fn submit(&self, path: Box<[u8]>, data: Vec<u8>) {
        // The workers outlive every submit inside `with_scan_pool`.
        let _ = self.jobs.send((path, data));
    }
}

/// Runs `work` with a pool of `workers` scanning threads over `rules`, and
/// returns its result with every file verdict that matched or failed.
pub fn with_scan_pool<T>(
    rules: &RuleSet,
    timeout: Duration,
    workers: usize,
    work: impl FnOnce(&ScanPool) -> T,
) -> (T, Vec<FileVerdict>) {
    let workers = workers.max(1);
    let (jobs, queue) = sync_channel::<Job>(workers * 2);
    let queue: Arc<Mutex<Receiver<Job>>> = Arc::new(Mutex::new(queue));
    let verdicts = Mutex::new(Vec::new());
    let result = std::thread::scope(|scope| {
        for _ in 0..workers {
            let queue = Arc::clone(&queue);
            let verdicts = &verdicts;
            scope.spawn(move || {
                let mut scanner = RuleScanner::new(rules, timeout);
                loop {
                    let job = queue.lock().map(|q| q.recv());
                    let Ok(Ok((path, data))) = job else { break };
                    let result = scanner.scan(&data);
                    let interesting = result.as_ref().map_or(true, |hits| !hits.is_empty());
                    if interesting {
                        let sha256 = result.is_ok().then(|| hex::encode(Sha256::digest(&data)));
                        if let Ok(mut all) = verdicts.lock() {
                            all.push(FileVerdict {
                                path,
                                result,
                                sha256,
                            });
                        }
                    }
                }
            });
        }
        let pool = ScanPool { jobs };
        let result = work(&pool);
        drop(pool);
        result
    });
    let mut verdicts = verdicts.into_inner().unwrap_or_default();
    verdicts.sort_by(|a, b| a.path.cmp(&b.path));
    (result, verdicts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSource;
    use crate::rules::compile;

    #[test]
    fn files_are_scanned_by_the_workers() {
        let source = RuleSource {
            origin: "t".into(),
            text: "rule t { meta: severity = \"HIGH\" strings: $a = \"needle\" condition: $a }"
                .into(),
        };
        let (rules, _) = compile(&[source]).unwrap();
        let ((), verdicts) = with_scan_pool(&rules, Duration::from_secs(5), 2, |pool| {
            for i in 0..100u32 {
                let data = if i % 10 == 0 {
                    format!("hay needle {i}")
                } else {
                    format!("hay {i}")
                };
                pool.submit(format!("f{i:03}").into_bytes().into(), data.into_bytes());
            }
        });
        let paths: Vec<String> = verdicts
            .iter()
            .map(|v| String::from_utf8_lossy(&v.path).into_owned())
            .collect();
        assert_eq!(
            paths,
            (0..10)
                .map(|i| format!("f{:03}", i * 10))
                .collect::<Vec<_>>()
        );
        assert!(
            verdicts
                .iter()
                .all(|v| v.sha256.as_ref().is_some_and(|s| s.len() == 64))
        );
    }
}
