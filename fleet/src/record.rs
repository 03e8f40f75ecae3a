//! The records a worker leaves in Redis: an [`Outcome`] for a scan done, a
//! [`Parked`] job for one given up.

use imgscan_scanner::cache::CacheStats;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Counts by severity (`CRITICAL`, `HIGH`, `MEDIUM`, `LOW`, `UNKNOWN`).
pub type Counts = BTreeMap<String, u64>;

/// What a finished scan left: the summary of its report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The target scanned.
    pub target: String,
    /// The gate's exit status (0 passed, 1 failed, 2 could not pass).
    pub exit: u8,
    /// Malware matches.
    pub malware: u64,
    /// Vulnerabilities by severity (`None`: not checked).
    pub vulnerabilities: Option<Counts>,
    /// Findings by severity (`None`: not checked).
    pub findings: Option<Counts>,
    /// Layers from the cache and read, when a cache was used.
    pub cache: Option<CacheStats>,
    /// The worker that scanned it.
    pub worker: String,
}

/// A job given up: why, after how many attempts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Parked {
    /// The target, as far as the job said one.
    pub target: String,
    /// The last error.
    pub error: String,
    /// Failed attempts.
    pub attempts: u64,
}
