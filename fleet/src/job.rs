//! One scan job as it travels on the stream: the job's id (the key of its
//! result, so a second delivery finds the first one's), and its spec — the
//! target and the scan options, as JSON. This crate keeps the options
//! opaque; the worker decides whether it can apply them.

use serde::{Deserialize, Serialize};

/// The stream field holding the job's id.
pub const FIELD_JOB: &str = "job";
/// The stream field holding the job's spec.
pub const FIELD_SPEC: &str = "spec";

/// What to scan, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// The TARGET, as `imgscan scan` takes it.
    pub target: String,
    /// The scan options for this job (flag names with `_`, as the worker
    /// reads them).
    #[serde(default)]
    pub options: serde_json::Map<String, serde_json::Value>,
}

/// Why a queue entry does not hold a job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadJob {
    /// The entry lacks a field every job has.
    #[error("malformed job: no `{0}` field")]
    MissingField(&'static str),
    /// The spec is not the JSON of a [`JobSpec`] (the parser's message).
    #[error("malformed job spec: {0}")]
    Json(String),
    /// The spec names no target.
    #[error("malformed job spec: the target is empty")]
    EmptyTarget,
}

impl JobSpec {
    /// The spec in `text`, or why it is not one.
    pub fn parse(text: &str) -> Result<JobSpec, BadJob> {
        let spec: JobSpec = serde_json::from_str(text).map_err(|e| BadJob::Json(e.to_string()))?;
        if spec.target.trim().is_empty() {
            return Err(BadJob::EmptyTarget);
        }
        Ok(spec)
    }

    /// The spec as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a spec serializes")
    }
}

/// A job handed to one worker.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The stream entry that carried it.
    pub entry: String,
    /// The job's id (the entry's id when the entry named none).
    pub job: String,
    /// The spec as it came, to queue it again unchanged.
    pub raw_spec: String,
    /// The spec, or why the entry does not hold one.
    pub spec: Result<JobSpec, BadJob>,
    /// Whether it was taken over from a worker that stopped answering.
    pub reclaimed: bool,
}

impl Delivery {
    /// The delivery of stream entry `entry` with `fields`.
    pub fn from_entry(
        entry: &str,
        fields: &std::collections::HashMap<String, redis::Value>,
        reclaimed: bool,
    ) -> Delivery {
        let text = |name: &str| -> Option<String> {
            fields
                .get(name)
                .and_then(|v| redis::from_redis_value_ref::<String>(v).ok())
        };
        let job = text(FIELD_JOB).filter(|j| !j.is_empty());
        let raw_spec = text(FIELD_SPEC).unwrap_or_default();
        let spec = match (&job, text(FIELD_SPEC)) {
            (None, _) => Err(BadJob::MissingField(FIELD_JOB)),
            (_, None) => Err(BadJob::MissingField(FIELD_SPEC)),
            (Some(_), Some(spec)) => JobSpec::parse(&spec),
        };
        Delivery {
            entry: entry.to_string(),
            job: job.unwrap_or_else(|| entry.to_string()),
            raw_spec,
            spec,
            reclaimed,
        }
    }

    /// The target, as far as the entry says one.
    pub fn target(&self) -> String {
        match &self.spec {
            Ok(spec) => spec.target.clone(),
            Err(_) => serde_json::from_str::<serde_json::Value>(&self.raw_spec)
                .ok()
                .and_then(|v| v.get("target").and_then(|t| t.as_str()).map(str::to_string))
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_or_say_why() {
        let spec = JobSpec::parse(r#"{"target":"app.tar","options":{"fail_on":"HIGH"}}"#).unwrap();
        assert_eq!(spec.target, "app.tar");
        assert_eq!(JobSpec::parse(&spec.to_json()).unwrap(), spec);
        for bad in [
            "{",
            r#"{"target":""}"#,
            r#"{"target":"x","extra":1}"#,
            r#"{"options":{}}"#,
        ] {
            assert!(
                JobSpec::parse(bad)
                    .unwrap_err()
                    .to_string()
                    .starts_with("malformed job spec"),
                "{bad}"
            );
        }
        assert_eq!(
            JobSpec::parse(r#"{"target":" "}"#),
            Err(BadJob::EmptyTarget)
        );
    }
}
