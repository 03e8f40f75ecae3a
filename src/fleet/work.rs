//! `imgscan fleet work`: take a job, scan it here with the same library
//! calls `imgscan scan` makes, record the result, and again. While a scan
//! runs, a second connection renews the worker's claim on the job, so no
//! other worker takes over a job that is merely slow. A job whose spec or
//! options cannot be used is parked at once; a scan that fails goes back
//! to the queue (parked at the third failure). Losing Redis ends the
//! worker (exit 2): whatever it held stays pending, for another to take.

use super::args::{JobOptions, WorkArgs};
use crate::duration::parse_duration;
use crate::output::note;
use crate::redis::server as redis_server;
use crate::scan_args::TargetArgs;
use crate::{Job, error_line, gate, scan_report};
use imgscan_fleet::job::Delivery;
use imgscan_fleet::queue::ReportStore;
use imgscan_fleet::{FleetError, JobSpec, Outcome, Queue, Server};
use imgscan_scanner::Report;
use imgscan_scanner::cache::{CacheStore, LayerCache};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Longest wait for a new job before looking for abandoned ones again.
const POLL: Duration = Duration::from_millis(500);

/// Runs the worker until stopped, or until the queue is empty with
/// `--exit-when-empty`.
pub fn run(args: &WorkArgs) -> anyhow::Result<ExitCode> {
    let server = redis_server(&args.redis.redis)?;
    let mut queue = Queue::open(&server)?;
    let store = args.cache.store()?;
    let base = Job::load(&args.data)?;
    let name = args.name.clone().unwrap_or_else(default_name);
    let claim_after = Duration::from_secs(args.claim_after.max(1));
    let results = match &args.results_dir {
        Some(dir) => ReportStore::Dir(dir.clone()),
        None => ReportStore::Redis(parse_duration(&args.results_ttl)?),
    };
    let mut warned = false;
    loop {
        let Some(delivery) = queue.next(&name, claim_after, POLL.min(claim_after))? else {
            if args.exit_when_empty && queue.is_empty()? {
                return Ok(ExitCode::SUCCESS);
            }
            continue;
        };
        let job = &delivery.job;
        if delivery.reclaimed {
            note(&format!(
                "imgscan: fleet: job {job} taken over from a worker that stopped answering"
            ));
        }
        if queue.is_settled(job)? {
            queue.drop_duplicate(&delivery)?;
            note(&format!(
                "imgscan: fleet: job {job} was already done; dropped a second delivery"
            ));
            continue;
        }
        let usable = delivery
            .spec
            .clone()
            .map_err(anyhow::Error::msg)
            .and_then(|spec| {
                let options = JobOptions::from_spec(&spec.options)?;
                Ok((spec, options))
            });
        let (spec, options) = match usable {
            Ok(usable) => usable,
            Err(why) => {
                queue.park(&delivery, &why.to_string(), 1)?;
                note(&format!(
                    "imgscan: fleet: job {job} parked as failed: {why}"
                ));
                continue;
            }
        };
        let beat = Heartbeat::start(&server, &name, &delivery, claim_after / 3);
        let scanned = scan(&spec, &options, args, &base, store.as_ref(), &name);
        beat.stop();
        match scanned {
            Ok((outcome, report)) => {
                queue.complete(&delivery, &outcome, &report, &results)?;
                note(&format!(
                    "imgscan: fleet: job {job} done: {} (exit {})",
                    spec.target, outcome.exit
                ));
            }
            Err(error) => {
                let why = error_line(&error);
                let parked = queue.fail(&delivery, &why)?;
                let fate = if parked {
                    "parked as failed"
                } else {
                    "queued again"
                };
                note(&format!("imgscan: fleet: job {job} failed ({fate}): {why}"));
            }
        }
        if let Some(trouble) = store.as_ref().and_then(|s| s.trouble()).filter(|_| !warned) {
            note(&format!(
                "imgscan: warning: the layer cache is unavailable ({trouble}): scanning without it"
            ));
            warned = true;
        }
    }
}

/// Scans one job as `imgscan scan` would; its outcome and full JSON report.
fn scan(
    spec: &JobSpec,
    options: &JobOptions,
    args: &WorkArgs,
    base: &Job,
    store: Option<&Arc<dyn CacheStore>>,
    worker: &str,
) -> anyhow::Result<(Outcome, String)> {
    let target = TargetArgs {
        target: spec.target.clone(),
        output: None,
        image: options.image.clone(),
        registry: args.registry.clone(),
        quiet: true,
        cache: args.cache.clone(),
    };
    let job = base.clone().with_policy(&options.policy);
    let cache = store.cloned().map(LayerCache::open);
    let (report, _) = scan_report(&target, &job, cache)?;
    let (exit, _) = gate::decide(&report, job.fail_on);
    Ok((outcome(&report, exit, worker), report.to_json()))
}

/// The summary of `report` that the fleet report is made of.
fn outcome(report: &Report, exit: u8, worker: &str) -> Outcome {
    // A kind not checked has no counts.
    let counts = |kind: &str| {
        report.summary.counts.get(kind).map(|by| {
            by.iter()
                .map(|(severity, n)| {
                    let name = serde_json::to_value(severity)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default();
                    (name, *n as u64)
                })
                .collect()
        })
    };
    Outcome {
        target: report.target.input.clone(),
        exit,
        malware: report.malware.as_ref().map_or(0, |m| m.len() as u64),
        vulnerabilities: counts("vulnerabilities"),
        findings: counts("findings"),
        cache: report.summary.cache,
        worker: worker.to_string(),
    }
}

/// `HOST-PID`: unique among the workers of a fleet.
fn default_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let host = if host.is_empty() {
        "worker".into()
    } else {
        host
    };
    format!("{host}-{}", std::process::id())
}

/// The thread that renews the worker's claim on the job it scans.
struct Heartbeat {
    stop: mpsc::Sender<()>,
    thread: thread::JoinHandle<Result<(), FleetError>>,
}

impl Heartbeat {
    fn start(server: &Server, name: &str, delivery: &Delivery, every: Duration) -> Heartbeat {
        let (stop, stopped) = mpsc::channel::<()>();
        let (server, name, entry) = (server.clone(), name.to_string(), delivery.entry.clone());
        let thread = thread::spawn(move || {
            let mut queue = Queue::open(&server)?;
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                if !queue.heartbeat(&name, &entry)? {
                    break;
                }
            }
            Ok(())
        });
        Heartbeat { stop, thread }
    }

    /// Stops renewing. Trouble it had with Redis shows when the result is
    /// recorded, on the worker's own connection.
    fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}
