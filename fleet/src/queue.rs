//! The work queue: one Redis Stream of jobs read by one consumer group.
//!
//! Keys (all under `imgscan:fleet:`): `queue` the stream, `seq` the job
//! counter, `jobs` (job → spec) every job submitted, `done` (job → its
//! [`Outcome`]) and `failed` (job → [`Parked`]) the results, `attempts`
//! (job → failures so far), `report:JOB` the full JSON report (with a
//! time to live; or a file under `--results-dir`), `since` and `last` the
//! first submission and the last result (for throughput). [`Queue::clear`]
//! removes them all, for the next run.
//!
//! Delivery is at least once: a worker takes an entry (`XREADGROUP`), and
//! it stays pending until the worker records the result, acknowledges and
//! deletes it — in one `MULTI`, so a result is never recorded without the
//! entry being settled, nor the other way round. While it scans, the
//! worker renews its claim ([`Queue::heartbeat`]); an entry left idle for
//! `--claim-after` belongs to a worker that died and is taken over
//! (`XAUTOCLAIM`), which counts as a failed attempt. A failure puts the job
//! back at the end of the queue; the third is final: the job is parked in
//! `failed` with its error. Results are keyed by job, so a job delivered
//! twice is scanned at most twice and recorded once.

use crate::job::{Delivery, FIELD_JOB, FIELD_SPEC, JobSpec};
use crate::record::{Outcome, Parked};
use crate::server;
use crate::{FleetError, Server};
use redis::streams::{StreamAutoClaimReply, StreamReadReply};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The stream of jobs.
pub const STREAM: &str = "imgscan:fleet:queue";
/// The one consumer group.
pub const GROUP: &str = "imgscan-workers";
const SEQ: &str = "imgscan:fleet:seq";
pub(crate) const JOBS: &str = "imgscan:fleet:jobs";
pub(crate) const DONE: &str = "imgscan:fleet:done";
pub(crate) const FAILED: &str = "imgscan:fleet:failed";
const ATTEMPTS: &str = "imgscan:fleet:attempts";
const REPORT_PREFIX: &str = "imgscan:fleet:report:";
const SINCE: &str = "imgscan:fleet:since";
const LAST: &str = "imgscan:fleet:last";
/// Failed attempts after which a job is parked.
pub const MAX_ATTEMPTS: u64 = 3;
/// Longest wait for a connection to the queue.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for one reply (longer than any `BLOCK`).
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Where full reports go.
#[derive(Debug, Clone)]
pub enum ReportStore {
    /// In Redis, each kept for this long.
    Redis(Duration),
    /// One file per job in this directory.
    Dir(PathBuf),
}

/// Counts of the queue, for `fleet status`.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// Jobs waiting for a worker.
    pub queued: u64,
    /// Jobs a worker holds.
    pub running: u64,
    /// Jobs with a result.
    pub done: u64,
    /// Jobs parked as failed.
    pub failed: u64,
    /// Jobs submitted.
    pub submitted: u64,
    /// Results per minute, from the first submission to the last result
    /// (to now while jobs remain).
    pub per_minute: Option<f64>,
}

/// A connection to the fleet's queue.
pub struct Queue {
    server: Server,
    conn: redis::Connection,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Queue {
    /// Connects to `server` and makes sure the stream and group exist.
    pub fn open(server: &Server) -> Result<Queue, FleetError> {
        let conn = server.connect(CONNECT_TIMEOUT, IO_TIMEOUT)?;
        let mut queue = Queue {
            server: server.clone(),
            conn,
        };
        let created = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(STREAM)
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query::<()>(&mut queue.conn);
        match created {
            Err(e) if e.code() != Some("BUSYGROUP") => Err(queue.server.error(&e)),
            _ => Ok(queue),
        }
    }

    /// The server, redacted when shown.
    pub fn server(&self) -> &Server {
        &self.server
    }

    fn query<T: redis::FromRedisValue>(&mut self, cmd: &redis::Cmd) -> Result<T, FleetError> {
        cmd.query(&mut self.conn).map_err(|e| self.server.error(&e))
    }

    fn exec(&mut self, pipe: &redis::Pipeline) -> Result<(), FleetError> {
        pipe.query::<()>(&mut self.conn)
            .map_err(|e| self.server.error(&e))
    }

    /// Queues one job per spec; returns their ids, in order.
    pub fn submit(&mut self, specs: &[JobSpec]) -> Result<Vec<String>, FleetError> {
        let mut ids = Vec::with_capacity(specs.len());
        for spec in specs {
            let id: u64 = self.query(redis::cmd("INCR").arg(SEQ))?;
            let job = id.to_string();
            let text = spec.to_json();
            let mut pipe = redis::pipe();
            pipe.atomic()
                .cmd("HSET")
                .arg(JOBS)
                .arg(&job)
                .arg(&text)
                .ignore()
                .cmd("XADD")
                .arg(STREAM)
                .arg("*")
                .arg(FIELD_JOB)
                .arg(&job)
                .arg(FIELD_SPEC)
                .arg(&text)
                .ignore()
                .cmd("SET")
                .arg(SINCE)
                .arg(now_ms())
                .arg("NX")
                .ignore();
            self.exec(&pipe)?;
            ids.push(job);
        }
        Ok(ids)
    }

    /// The next job for `consumer`: first one a dead worker left idle for
    /// `claim_after`, else a new one, waiting up to `block` for it. A job
    /// taken over for the [`MAX_ATTEMPTS`]th time is parked instead.
    pub fn next(
        &mut self,
        consumer: &str,
        claim_after: Duration,
        block: Duration,
    ) -> Result<Option<Delivery>, FleetError> {
        let mut cursor = "0-0".to_string();
        loop {
            let reply: StreamAutoClaimReply = self.query(
                redis::cmd("XAUTOCLAIM")
                    .arg(STREAM)
                    .arg(GROUP)
                    .arg(consumer)
                    .arg(claim_after.as_millis() as u64)
                    .arg(&cursor)
                    .arg("COUNT")
                    .arg(1),
            )?;
            if let Some(entry) = reply.claimed.first() {
                let delivery = Delivery::from_entry(&entry.id, &entry.map, true);
                let attempts = self.count_attempt(&delivery.job)?;
                if attempts < MAX_ATTEMPTS {
                    return Ok(Some(delivery));
                }
                self.park(
                    &delivery,
                    &format!(
                        "the workers holding it stopped answering {attempts} times (killed, or out of memory?)"
                    ),
                    attempts,
                )?;
                continue;
            }
            if reply.next_stream_id == "0-0" {
                break;
            }
            cursor = reply.next_stream_id;
        }
        let reply: Option<StreamReadReply> = self.query(
            redis::cmd("XREADGROUP")
                .arg("GROUP")
                .arg(GROUP)
                .arg(consumer)
                .arg("COUNT")
                .arg(1)
                .arg("BLOCK")
                .arg(block.as_millis().max(1) as u64)
                .arg("STREAMS")
                .arg(STREAM)
                .arg(">"),
        )?;
        Ok(reply
            .and_then(|r| r.keys.into_iter().next())
            .and_then(|k| k.ids.into_iter().next())
            .map(|entry| Delivery::from_entry(&entry.id, &entry.map, false)))
    }

    /// Whether nothing is queued and nothing is pending.
    pub fn is_empty(&mut self) -> Result<bool, FleetError> {
        let len: u64 = self.query(redis::cmd("XLEN").arg(STREAM))?;
        Ok(len == 0)
    }

    /// Whether `job` already has a result, or was parked.
    pub fn is_settled(&mut self, job: &str) -> Result<bool, FleetError> {
        let (done, failed): (bool, bool) = redis::pipe()
            .cmd("HEXISTS")
            .arg(DONE)
            .arg(job)
            .cmd("HEXISTS")
            .arg(FAILED)
            .arg(job)
            .query(&mut self.conn)
            .map_err(|e| self.server.error(&e))?;
        Ok(done || failed)
    }

    /// Settles an entry whose job already has its result (a duplicate
    /// delivery).
    pub fn drop_duplicate(&mut self, delivery: &Delivery) -> Result<(), FleetError> {
        let mut pipe = redis::pipe();
        settle(pipe.atomic(), &delivery.entry);
        self.exec(&pipe)
    }

    /// Renews `consumer`'s claim on `entry`, so no one takes it over while
    /// it scans; false when it is no longer `consumer`'s.
    pub fn heartbeat(&mut self, consumer: &str, entry: &str) -> Result<bool, FleetError> {
        let pending: Vec<redis::Value> = self.query(
            redis::cmd("XPENDING")
                .arg(STREAM)
                .arg(GROUP)
                .arg(entry)
                .arg(entry)
                .arg(1)
                .arg(consumer),
        )?;
        if pending.is_empty() {
            return Ok(false);
        }
        let _: Vec<String> = self.query(
            redis::cmd("XCLAIM")
                .arg(STREAM)
                .arg(GROUP)
                .arg(consumer)
                .arg(0)
                .arg(entry)
                .arg("JUSTID"),
        )?;
        Ok(true)
    }

    /// Records the job's result and settles its entry, at once. The first
    /// result of a job stays (a duplicate delivery changes nothing).
    pub fn complete(
        &mut self,
        delivery: &Delivery,
        outcome: &Outcome,
        report: &str,
        store: &ReportStore,
    ) -> Result<(), FleetError> {
        if let ReportStore::Dir(dir) = store {
            write_report(dir, &delivery.job, report)?;
        }
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("HSETNX")
            .arg(DONE)
            .arg(&delivery.job)
            .arg(serde_json::to_string(outcome).expect("an outcome serializes"))
            .ignore()
            .cmd("HDEL")
            .arg(FAILED)
            .arg(&delivery.job)
            .ignore()
            .cmd("HDEL")
            .arg(ATTEMPTS)
            .arg(&delivery.job)
            .ignore()
            .cmd("SET")
            .arg(LAST)
            .arg(now_ms())
            .ignore();
        if let ReportStore::Redis(ttl) = store {
            pipe.cmd("SET")
                .arg(format!("{REPORT_PREFIX}{}", delivery.job))
                .arg(report)
                .arg("EX")
                .arg(ttl.as_secs().max(1))
                .arg("NX")
                .ignore();
        }
        settle(&mut pipe, &delivery.entry);
        self.exec(&pipe)
    }

    /// Counts one more attempt at `job`; returns how many there were.
    fn count_attempt(&mut self, job: &str) -> Result<u64, FleetError> {
        self.query(redis::cmd("HINCRBY").arg(ATTEMPTS).arg(job).arg(1))
    }

    /// Counts a failed attempt: the job goes back to the end of the queue,
    /// or, at the [`MAX_ATTEMPTS`]th, is parked with `error`. Returns
    /// whether it was parked.
    pub fn fail(&mut self, delivery: &Delivery, error: &str) -> Result<bool, FleetError> {
        let attempts = self.count_attempt(&delivery.job)?;
        if attempts >= MAX_ATTEMPTS {
            self.park(delivery, error, attempts)?;
            return Ok(true);
        }
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("XADD")
            .arg(STREAM)
            .arg("*")
            .arg(FIELD_JOB)
            .arg(&delivery.job)
            .arg(FIELD_SPEC)
            .arg(&delivery.raw_spec)
            .ignore();
        settle(&mut pipe, &delivery.entry);
        self.exec(&pipe)?;
        Ok(false)
    }

    /// Parks the job as failed with `error`, for good (a job that cannot
    /// succeed: a malformed spec, options the worker refuses).
    pub fn park(
        &mut self,
        delivery: &Delivery,
        error: &str,
        attempts: u64,
    ) -> Result<(), FleetError> {
        let parked = Parked {
            target: delivery.target(),
            error: error.to_string(),
            attempts,
        };
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("HSET")
            .arg(FAILED)
            .arg(&delivery.job)
            .arg(serde_json::to_string(&parked).expect("a record serializes"))
            .ignore()
            .cmd("HDEL")
            .arg(ATTEMPTS)
            .arg(&delivery.job)
            .ignore();
        settle(&mut pipe, &delivery.entry);
        self.exec(&pipe)
    }

    /// Removes the queue and every record of the run (jobs, results,
    /// reports kept in Redis), to start the next run afresh; returns how
    /// many keys went. The layer cache stays.
    pub fn clear(&mut self) -> Result<u64, FleetError> {
        let conn = &mut self.conn;
        server::keys(conn, "imgscan:fleet:*")
            .and_then(|keys| server::unlink(conn, &keys))
            .map_err(|e| self.server.error(&e))
    }

    /// The queue's counts.
    pub fn status(&mut self) -> Result<Status, FleetError> {
        let (len, submitted, done, failed, since, last): (
            u64,
            u64,
            u64,
            u64,
            Option<u64>,
            Option<u64>,
        ) = redis::pipe()
            .cmd("XLEN")
            .arg(STREAM)
            .cmd("HLEN")
            .arg(JOBS)
            .cmd("HLEN")
            .arg(DONE)
            .cmd("HLEN")
            .arg(FAILED)
            .cmd("GET")
            .arg(SINCE)
            .cmd("GET")
            .arg(LAST)
            .query(&mut self.conn)
            .map_err(|e| self.server.error(&e))?;
        let running = self.pending()?.len() as u64;
        let queued = len.saturating_sub(running);
        let end = if queued + running > 0 {
            Some(now_ms())
        } else {
            last
        };
        let per_minute = since
            .zip(end)
            .filter(|(since, end)| end > since && done > 0)
            .map(|(since, end)| done as f64 * 60_000.0 / (end - since) as f64);
        Ok(Status {
            queued,
            running,
            done,
            failed,
            submitted,
            per_minute,
        })
    }

    /// The entries pending (held by a worker): entry id and the job it carries.
    pub(crate) fn pending(&mut self) -> Result<Vec<(String, Option<String>)>, FleetError> {
        let pending: Vec<(String, String, u64, u64)> = self.query(
            redis::cmd("XPENDING")
                .arg(STREAM)
                .arg(GROUP)
                .arg("-")
                .arg("+")
                .arg(10_000),
        )?;
        let mut found = Vec::with_capacity(pending.len());
        for (entry, _, _, _) in pending {
            let range: Vec<(String, HashMap<String, redis::Value>)> =
                self.query(redis::cmd("XRANGE").arg(STREAM).arg(&entry).arg(&entry))?;
            let job = range
                .first()
                .map(|(id, fields)| Delivery::from_entry(id, fields, false).job);
            found.push((entry, job));
        }
        Ok(found)
    }

    /// Every record under `hash` (`jobs`, `done`, `failed`).
    pub(crate) fn all(&mut self, hash: &str) -> Result<HashMap<String, String>, FleetError> {
        self.query(redis::cmd("HGETALL").arg(hash))
    }
}

/// Adds to `pipe` what settles a stream entry: acknowledged, and deleted.
fn settle(pipe: &mut redis::Pipeline, entry: &str) {
    pipe.cmd("XACK")
        .arg(STREAM)
        .arg(GROUP)
        .arg(entry)
        .ignore()
        .cmd("XDEL")
        .arg(STREAM)
        .arg(entry)
        .ignore();
}

/// The file a job's report is written to under `dir`: the job's id, kept
/// to letters, digits and `-` (an id comes from the queue, not from us).
pub fn report_path(dir: &Path, job: &str) -> PathBuf {
    let safe: String = job
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(64)
        .collect();
    dir.join(format!("job-{safe}.json"))
}

/// Writes the report whole under a temporary name, then renames it.
fn write_report(dir: &Path, job: &str, report: &str) -> Result<(), FleetError> {
    let path = report_path(dir, job);
    let failed = |source| FleetError::Results {
        job: job.to_string(),
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(failed)?;
    let tmp = dir.join(format!(".tmp-{}-{}", std::process::id(), now_ms()));
    std::fs::write(&tmp, report)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            failed(e)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_files_stay_in_their_directory() {
        let dir = Path::new("/results");
        assert_eq!(report_path(dir, "17"), Path::new("/results/job-17.json"));
        assert_eq!(
            report_path(dir, "../../etc/passwd"),
            Path::new("/results/job-etcpasswd.json")
        );
    }
}
