//! The fleet report built from the records workers leave
//! ([`crate::record`]): per target
//! its status, the gate's exit, malware and counts by severity, and the
//! layer cache's hits and misses summed over the run.

use crate::FleetError;
use crate::job::JobSpec;
use crate::queue::{DONE, FAILED, JOBS, Queue};
use crate::record::{Counts, Outcome, Parked};
use imgscan_scanner::cache::CacheStats;
use serde::Serialize;
use std::collections::HashMap;

/// `schema` of the fleet report.
pub const SCHEMA: &str = "imgscan.fleet/v1";

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    /// Waiting for a worker.
    Queued,
    /// Held by a worker.
    Running,
    /// Scanned; its result is recorded.
    Done,
    /// Parked after failing.
    Failed,
}

/// One target of the fleet report.
#[derive(Debug, Clone, Serialize)]
pub struct TargetRow {
    /// The job's id.
    pub id: String,
    /// The target.
    pub target: String,
    /// Where the job stands.
    pub status: JobStatus,
    /// The gate's exit status: that of the scan when done, 2 when failed,
    /// none before.
    pub exit: Option<u8>,
    /// Malware matches, when done.
    pub malware: Option<u64>,
    /// Vulnerabilities by severity, when done and checked.
    pub vulnerabilities: Option<Counts>,
    /// Findings by severity, when done and checked.
    pub findings: Option<Counts>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The fleet report.
#[derive(Debug, Clone, Serialize)]
pub struct FleetReport {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// Every job submitted (and any other the queue carried), in order.
    pub targets: Vec<TargetRow>,
    /// The layer cache's hits and misses over every scan done.
    pub cache: CacheStats,
}

impl FleetReport {
    /// The report of everything `queue` holds.
    pub fn read(queue: &mut Queue) -> Result<FleetReport, FleetError> {
        let jobs = queue.all(JOBS)?;
        let done = queue.all(DONE)?;
        let failed = queue.all(FAILED)?;
        let running: HashMap<String, ()> = queue
            .pending()?
            .into_iter()
            .filter_map(|(_, job)| job.map(|j| (j, ())))
            .collect();
        let server = queue.server().to_string();
        let bad = |hash: &str, id: &str, e: serde_json::Error| FleetError::Record {
            server: server.clone(),
            key: format!("{hash}[{id}]"),
            reason: e.to_string(),
        };
        let mut ids: Vec<&String> = jobs
            .keys()
            .chain(done.keys())
            .chain(failed.keys())
            .collect();
        ids.sort_by_key(|id| (id.parse::<u64>().unwrap_or(u64::MAX), id.to_string()));
        ids.dedup();
        let mut report = FleetReport {
            schema: SCHEMA,
            targets: Vec::with_capacity(ids.len()),
            cache: CacheStats::default(),
        };
        for id in ids {
            let row = if let Some(text) = done.get(id) {
                let outcome: Outcome = serde_json::from_str(text).map_err(|e| bad(DONE, id, e))?;
                if let Some(cache) = outcome.cache {
                    report.cache.hits += cache.hits;
                    report.cache.misses += cache.misses;
                }
                TargetRow {
                    id: id.clone(),
                    target: outcome.target,
                    status: JobStatus::Done,
                    exit: Some(outcome.exit),
                    malware: Some(outcome.malware),
                    vulnerabilities: outcome.vulnerabilities,
                    findings: outcome.findings,
                    error: None,
                }
            } else if let Some(text) = failed.get(id) {
                let parked: Parked = serde_json::from_str(text).map_err(|e| bad(FAILED, id, e))?;
                TargetRow {
                    exit: Some(2),
                    error: Some(parked.error),
                    ..waiting(id, parked.target, JobStatus::Failed)
                }
            } else {
                let spec = JobSpec::parse(&jobs[id]).map_err(|reason| FleetError::Record {
                    server: server.clone(),
                    key: format!("{JOBS}[{id}]"),
                    reason: reason.to_string(),
                })?;
                let status = if running.contains_key(id) {
                    JobStatus::Running
                } else {
                    JobStatus::Queued
                };
                waiting(id, spec.target, status)
            };
            report.targets.push(row);
        }
        Ok(report)
    }

    /// The report as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a fleet report serializes") + "\n"
    }
}

/// A row with no result.
fn waiting(id: &str, target: String, status: JobStatus) -> TargetRow {
    TargetRow {
        id: id.to_string(),
        target,
        status,
        exit: None,
        malware: None,
        vulnerabilities: None,
        findings: None,
        error: None,
    }
}
