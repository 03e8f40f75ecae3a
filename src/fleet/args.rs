//! The flags of `imgscan fleet submit|work|status|report`, and the scan
//! options a job carries ([`JobOptions`]: the policy and how the image is
//! read — nothing that names a file or a credential of the submitter).

use crate::scan_args::{DataArgs, Format, ImageArgs, LayerCacheArgs, PolicyArgs, RegistryArgs};
use clap::{Args, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::PathBuf;

/// `imgscan fleet ...`
#[derive(Subcommand, Debug)]
pub enum FleetCommand {
    /// Queue one scan job per TARGET (and per line of --from-file), with
    /// the scan options given, which apply to all.
    Submit(SubmitArgs),
    /// Take jobs from the queue and scan them, here, until stopped (or,
    /// with --exit-when-empty, until nothing is queued or pending). Run
    /// any number, on any number of machines.
    Work(WorkArgs),
    /// How many jobs are queued, running, done and failed, and the throughput.
    Status {
        #[command(flatten)]
        redis: RedisArgs,
        /// Output format.
        #[arg(short, long, value_enum, default_value = "table")]
        format: Format,
    },
    /// The fleet's report: per target its status, the gate's exit,
    /// malware and counts by severity; the layer cache's hits and misses
    /// over the run. Exits 0 when every target is done and passed, 1 when
    /// one failed the gate, 2 when one could not be scanned or is not done.
    Report {
        #[command(flatten)]
        redis: RedisArgs,
        /// Output format.
        #[arg(short, long, value_enum, default_value = "table")]
        format: FleetFormat,
    },
    /// Remove the queue and every record of the run (jobs, results, reports
    /// kept in Redis), for the next run; the layer cache stays. Stop the
    /// workers first: one still running loses its queue and exits 2.
    Clear {
        #[command(flatten)]
        redis: RedisArgs,
    },
}

/// Output formats of `fleet report`.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum FleetFormat {
    /// Human-readable text.
    Table,
    /// The imgscan.fleet/v1 JSON document.
    Json,
    /// Markdown, for a merge request or a wiki page.
    Markdown,
}

/// The fleet's Redis.
#[derive(Args, Debug, Clone)]
pub struct RedisArgs {
    /// The fleet's Redis: `redis://[:PASSWORD@]HOST[:PORT][/DB]`, or
    /// `rediss://` for TLS; the password may come from IMGSCAN_REDIS_PASSWORD.
    /// The database number keeps runs apart.
    #[arg(
        long,
        value_name = "URL",
        env = "IMGSCAN_REDIS",
        hide_env_values = true
    )]
    pub redis: String,
}

/// Flags of `fleet submit`.
#[derive(Args, Debug)]
pub struct SubmitArgs {
    #[command(flatten)]
    pub redis: RedisArgs,
    /// What to scan, as `imgscan scan` takes it (a path must exist where
    /// the workers run).
    pub targets: Vec<String>,
    /// Read targets from FILE too, one per line (`-`: standard input);
    /// blank lines and lines starting with `#` are skipped.
    #[arg(long, value_name = "FILE")]
    pub from_file: Option<PathBuf>,
    #[command(flatten)]
    pub options: JobOptions,
}

/// The scan options of a job.
#[derive(Args, Debug, Clone, Serialize, Deserialize)]
pub struct JobOptions {
    #[command(flatten)]
    #[serde(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub image: ImageArgs,
    /// Whatever else a job's options held (refused).
    #[arg(skip)]
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

impl JobOptions {
    /// The options of a job's spec, checked as the worker applies them.
    pub fn from_spec(options: &Map<String, Value>) -> anyhow::Result<JobOptions> {
        let parsed: JobOptions = serde_json::from_value(Value::Object(options.clone()))
            .map_err(|e| anyhow::anyhow!("bad options: {e}"))?;
        if !parsed.unknown.is_empty() {
            let names: Vec<String> = parsed.unknown.keys().map(|k| format!("`{k}`")).collect();
            anyhow::bail!("bad options: unknown option {}", names.join(", "));
        }
        parsed.check()?;
        Ok(parsed)
    }

    /// Fails, saying why, on options no scan can take.
    pub fn check(&self) -> anyhow::Result<()> {
        let bad = |e: anyhow::Error| anyhow::anyhow!("bad options: {e}");
        self.image.limits().map_err(bad)?;
        self.image.platform().map_err(bad)?;
        Ok(())
    }

    /// The options as a job's spec holds them.
    pub fn to_spec(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }
}

/// Flags of `fleet work`.
#[derive(Args, Debug)]
pub struct WorkArgs {
    #[command(flatten)]
    pub redis: RedisArgs,
    #[command(flatten)]
    pub cache: LayerCacheArgs,
    /// Exit once no job is queued and none is pending: a job a dead worker
    /// holds is waited for and taken over first.
    #[arg(long)]
    pub exit_when_empty: bool,
    /// Take over a job whose worker has not renewed its claim for this many
    /// seconds (a running worker renews it every third of that).
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub claim_after: u64,
    /// Write each job's full JSON report to DIR/job-ID.json instead of
    /// keeping it in Redis.
    #[arg(long, value_name = "DIR")]
    pub results_dir: Option<PathBuf>,
    /// How long a full report stays in Redis (e.g. 7d, 12h).
    #[arg(long, value_name = "DURATION", default_value = "7d")]
    pub results_ttl: String,
    /// This worker's name in the consumer group; default: HOST-PID.
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub data: DataArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> Map<String, Value> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn options_round_trip_and_refuse_what_they_do_not_know() {
        let options = JobOptions::from_spec(&spec(
            r#"{"fail_on":"HIGH","skip_check":["ssh.permit-root-login"],"max_file_size":"1MiB"}"#,
        ))
        .unwrap();
        assert!(options.policy.fail_on.is_some());
        assert_eq!(options.policy.scan_timeout, 10);
        let again = JobOptions::from_spec(&options.to_spec()).unwrap();
        assert_eq!(again.to_spec(), options.to_spec());
        for (bad, says) in [
            (r#"{"fail_on":"SEVERE"}"#, "unknown variant"),
            (r#"{"max_file_size":"lots"}"#, "not a size"),
            (r#"{"db":"/etc/shadow"}"#, "unknown option `db`"),
            (r#"{"platform":"nope"}"#, "bad options"),
            (r#"{"scan_timeout":"soon"}"#, "bad options"),
        ] {
            let err = JobOptions::from_spec(&spec(bad)).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
