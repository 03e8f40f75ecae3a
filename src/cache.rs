//! `imgscan cache status|prune|clear`: the layer-result cache directory,
//! or with `--cache URL` the shared one on Redis.

use crate::cli::CacheCommand;
use crate::scan_args::{CacheArgs, Format, SharedCacheArgs};
use imgscan_scanner::report::table::human_bytes;
use std::process::ExitCode;

/// Runs one `cache` subcommand.
pub fn run(command: CacheCommand) -> anyhow::Result<ExitCode> {
    let shared = match &command {
        CacheCommand::Status { shared, .. }
        | CacheCommand::Prune { shared, .. }
        | CacheCommand::Clear { shared, .. } => shared,
    };
    if shared.url.is_some() {
        return on_redis(&command, shared);
    }
    let store = |args: &CacheArgs| {
        args.store()?.ok_or_else(|| {
            anyhow::anyhow!("no cache directory (set HOME, XDG_CACHE_HOME or IMGSCAN_CACHE_DIR, or give --cache-dir)")
        })
    };
    match command {
        CacheCommand::Status { cache, format, .. } => {
            let store = store(&cache)?;
            let usage = store.usage();
            match format {
                Format::Json => println!(
                    "{}",
                    serde_json::json!({
                        "dir": store.dir(),
                        "results": usage.entries - usage.seen,
                        "blobs_seen": usage.seen,
                        "bytes": usage.bytes,
                        "max_bytes": store.max_bytes(),
                    })
                ),
                Format::Table => println!(
                    "layer cache {}: {} results, {} blob files seen, {} of {}",
                    store.dir().display(),
                    usage.entries - usage.seen,
                    usage.seen,
                    human_bytes(usage.bytes),
                    human_bytes(store.max_bytes()),
                ),
            }
        }
        CacheCommand::Prune { cache, .. } => {
            let store = store(&cache)?;
            let removed = store.prune_to(store.max_bytes());
            println!(
                "removed {} results ({})",
                removed.entries,
                human_bytes(removed.bytes)
            );
        }
        CacheCommand::Clear { cache, .. } => {
            let removed = store(&cache)?.clear();
            println!(
                "removed {} results ({})",
                removed.entries,
                human_bytes(removed.bytes)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `cache status|prune|clear --cache URL`: the shared cache on Redis.
fn on_redis(command: &CacheCommand, shared: &SharedCacheArgs) -> anyhow::Result<ExitCode> {
    let store = shared.store()?.expect("a --cache URL was given");
    let ttl = &shared.cache_ttl;
    match command {
        CacheCommand::Status { format, .. } => {
            let (results, bytes) = store.usage()?;
            match format {
                Format::Json => println!(
                    "{}",
                    serde_json::json!({
                        "redis": store.server().to_string(),
                        "results": results,
                        "bytes": bytes,
                        "ttl_secs": store.ttl().as_secs(),
                    })
                ),
                Format::Table => println!(
                    "layer cache {}: {results} results, {} (each kept {ttl} after its last use)",
                    store.server(),
                    human_bytes(bytes),
                ),
            }
        }
        CacheCommand::Prune { .. } => println!(
            "nothing to prune: Redis drops each result {ttl} after its last use (--cache-ttl)"
        ),
        CacheCommand::Clear { .. } => println!("removed {} results", store.clear()?),
    }
    Ok(ExitCode::SUCCESS)
}
