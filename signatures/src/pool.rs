//! A pool of rule-scanning threads for one layer pass: the pass thread
//! decompresses and reads files, and hands each file's bytes to workers that
//! each own one YARA-X scanner, so rules run on every core while the stream
//! is still being read. A worker also looks inside the compressed files and
//! archives it is handed ([`crate::nested`]), and hashes the files the
//! pass asks digests of (package integrity), so hashing does not hold up
//! the pass thread either. The queue is bounded in files and in bytes:
//! deep enough that the workers keep busy while the pass waits on a slow
//! read, shallow enough that little is in memory at once.

use crate::malware::{RuleHit, RuleScanError, RuleScanner};
use crate::nested::{InnerPath, NestedError, NestedLimits, scan_file};
use crate::rules::RuleSet;
use imgscan_sbom::{Algorithms, FileDigests};
use std::collections::HashMap;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

/// Most files queued or being scanned, per worker.
const QUEUED_PER_WORKER: usize = 32;
/// Most bytes queued or being scanned (one larger file goes alone).
const MAX_QUEUED_BYTES: u64 = 64 << 20;

/// Bytes handed to the workers and not yet scanned.
#[derive(Default)]
struct Queued {
    bytes: Mutex<u64>,
    freed: Condvar,
}

impl Queued {
    /// Waits until `len` more bytes fit, and counts them.
    fn take(&self, len: u64) {
        let mut bytes = self.bytes.lock().unwrap_or_else(PoisonError::into_inner);
        while *bytes > 0 && *bytes + len > MAX_QUEUED_BYTES {
            bytes = self
                .freed
                .wait(bytes)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *bytes += len;
    }

    /// Counts `len` bytes as scanned.
    fn give(&self, len: u64) {
        let mut bytes = self.bytes.lock().unwrap_or_else(PoisonError::into_inner);
        *bytes -= len;
        self.freed.notify_all();
    }
}

/// Gives a job's bytes back when dropped: after its scan, or when the
/// worker panics mid-scan, so a submit never waits for bytes no one holds.
struct Taken<'q> {
    queued: &'q Queued,
    len: u64,
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        self.queued.give(self.len);
    }
}

/// One file to scan: its path and bytes, and the digests to compute of
/// them, if any.
struct Job {
    path: Box<[u8]>,
    data: Vec<u8>,
    digests: Option<(DigestTicket, Algorithms)>,
}

/// Names the digests one [`ScanPool::submit_hashed`] asked for, among
/// those [`ScanPool::digests`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DigestTicket(u64);

/// The digests the workers computed, and how many asked for are not yet.
#[derive(Default)]
struct Hashed {
    done: HashMap<DigestTicket, FileDigests>,
    outstanding: u64,
    next: u64,
}

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
    hashed: Arc<(Mutex<Hashed>, Condvar)>,
    queued: Arc<Queued>,
}

impl ScanPool {
    /// Queues one file; blocks while the queue is full.
    pub fn submit(&self, path: Box<[u8]>, data: Vec<u8>) {
        self.send(Job {
            path,
            data,
            digests: None,
        });
    }

    /// Queues one file whose `algorithms` digests are wanted too; they are
    /// among [`ScanPool::digests`] under the ticket returned.
    pub fn submit_hashed(
        &self,
        path: Box<[u8]>,
        data: Vec<u8>,
        algorithms: Algorithms,
    ) -> DigestTicket {
        let ticket = {
            let mut hashed = self.hashed.0.lock().unwrap_or_else(PoisonError::into_inner);
            hashed.outstanding += 1;
            hashed.next += 1;
            DigestTicket(hashed.next)
        };
        self.send(Job {
            path,
            data,
            digests: Some((ticket, algorithms)),
        });
        ticket
    }

    fn send(&self, job: Job) {
        let len = job.data.len() as u64;
        self.queued.take(len);
        // The workers outlive every submit inside `with_scan_pool`; if they
        // all died, the job is dropped and its bytes given back.
        if self.jobs.send(job).is_err() {
            self.queued.give(len);
        }
    }

    /// Waits until every digest asked for so far is computed, and takes
    /// them; the rule scans may still be running.
    pub fn digests(&self) -> HashMap<DigestTicket, FileDigests> {
        let (lock, computed) = &*self.hashed;
        let mut hashed = lock.lock().unwrap_or_else(PoisonError::into_inner);
        while hashed.outstanding > 0 {
            hashed = computed
                .wait(hashed)
                .unwrap_or_else(PoisonError::into_inner);
        }
        std::mem::take(&mut hashed.done)
    }
}

/// Computes a job's digests, if it asked for any, and hands them over.
fn hash(job: &Job, hashed: &(Mutex<Hashed>, Condvar)) {
    let Some((ticket, algorithms)) = job.digests else {
        return;
    };
    let digests = FileDigests::of(&job.data, algorithms);
    let mut state = hashed.0.lock().unwrap_or_else(PoisonError::into_inner);
    state.done.insert(ticket, digests);
    state.outstanding -= 1;
    hashed.1.notify_all();
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
    let (jobs, queue) = sync_channel::<Job>(workers * QUEUED_PER_WORKER);
    let queued = Arc::new(Queued::default());
    let queue: Arc<Mutex<Receiver<Job>>> = Arc::new(Mutex::new(queue));
    let hashed = Arc::new((Mutex::new(Hashed::default()), Condvar::new()));
    let verdicts = Mutex::new(Vec::new());
    let result = std::thread::scope(|scope| {
        for _ in 0..workers {
            let queue = Arc::clone(&queue);
            let hashed = Arc::clone(&hashed);
            let queued = Arc::clone(&queued);
            let verdicts = &verdicts;
            scope.spawn(move || {
                let mut scanner = RuleScanner::new(rules, settings.timeout);
                loop {
                    let job = queue.lock().map(|q| q.recv());
                    let Ok(Ok(job)) = job else { break };
                    let _taken = Taken {
                        queued: &queued,
                        len: job.data.len() as u64,
                    };
                    // Digests first: the pass may be waiting for them.
                    hash(&job, &hashed);
                    let found = scan_file(&mut scanner, settings.nested, &job.path, &job.data);
                    if !found.is_empty()
                        && let Ok(mut all) = verdicts.lock()
                    {
                        all.extend(found);
                    }
                }
            });
        }
        let pool = ScanPool {
            jobs,
            hashed,
            queued,
        };
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
