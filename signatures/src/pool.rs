//! A pool of rule-scanning threads for one layer pass: the pass thread
//! decompresses and reads files, and hands each file's bytes to workers that
//! each own one YARA-X scanner, so rules run on every core while the stream
//! is still being read. A worker also looks inside the compressed files and
//! archives it is handed ([`crate::nested`]). The queue is bounded, so at
//! most a few files are in memory at once.

use crate::malware::{RuleHit, RuleScanError, RuleScanner};
use crate::nested::{InnerPath, NestedError, NestedLimits, scan_file};
use crate::rules::RuleSet;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One file to scan: its path and bytes.
type Job = (Box<[u8]>, Vec<u8>);

/// How the workers scan each file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanSettings {
    /// Longest one rule scan may take.
    pub timeout: Duration,
    /// How far to look inside compressed files and archives.
    pub nested: NestedLimits,
}

/// Why bytes were not (wholly) scanned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanProblem {
    /// The rule scan failed or timed out.
    #[error("rule scan failed: {0}")]
    ScanFailed(RuleScanError),
    /// Content inside the file was not (wholly) looked into.
    #[error(transparent)]
    NotUnpacked(#[from] NestedError),
}

/// What scanning some bytes of one file gave: the file's own, or those of
/// something inside it.
#[derive(Debug, Clone)]
pub struct FileVerdict {
    /// Root-relative path of the image file.
    pub path: Box<[u8]>,
    /// Where inside that file the bytes are; root for its own bytes.
    pub inner: InnerPath,
    /// The rules that matched, or why the bytes were not (wholly) scanned.
    pub result: Result<Vec<RuleHit>, ScanProblem>,
    /// SHA-256 of the bytes (hex), computed only when a rule matched.
    pub sha256: Option<String>,
}

impl FileVerdict {
    /// The report's path of the scanned bytes (see [`InnerPath::display`]).
    pub fn display_path(&self) -> String {
        self.inner.display(&self.path)
    }
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
/// returns its result with every verdict that matched or failed, sorted by
/// path.
pub fn with_scan_pool<T>(
    rules: &RuleSet,
    settings: ScanSettings,
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
                let mut scanner = RuleScanner::new(rules, settings.timeout);
                loop {
                    let job = queue.lock().map(|q| q.recv());
                    let Ok(Ok((path, data))) = job else { break };
                    let found = scan_file(&mut scanner, settings.nested, &path, &data);
                    if !found.is_empty()
                        && let Ok(mut all) = verdicts.lock()
                    {
                        all.extend(found);
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
    // Stable: one file's verdicts keep the order of its walk.
    verdicts.sort_by(|a, b| (&a.path, &a.inner).cmp(&(&b.path, &b.inner)));
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
        let settings = ScanSettings {
            timeout: Duration::from_secs(5),
            nested: NestedLimits::default(),
        };
        let ((), verdicts) = with_scan_pool(&rules, settings, 2, |pool| {
            for i in 0..100u32 {
                let data = if i % 10 == 0 {
                    format!("hay needle {i}")
                } else {
                    format!("hay {i}")
                };
                pool.submit(format!("f{i:03}").into_bytes().into(), data.into_bytes());
            }
        });
        let paths: Vec<String> = verdicts.iter().map(FileVerdict::display_path).collect();
        assert_eq!(
            paths,
            (0..10)
                .map(|i| format!("/f{:03}", i * 10))
                .collect::<Vec<_>>()
        );
        assert!(
            verdicts
                .iter()
                .all(|v| v.sha256.as_ref().is_some_and(|s| s.len() == 64))
        );
    }
}
