//! `imgscan cache status|prune|clear`: the layer-result cache directory.

use crate::cli::{CacheArgs, CacheCommand, Format};
use std::process::ExitCode;

/// Runs one `cache` subcommand.
pub fn run(command: CacheCommand) -> anyhow::Result<ExitCode> {
    let store = |args: &CacheArgs| {
        args.store()?.ok_or_else(|| {
            anyhow::anyhow!("no cache directory (set HOME, XDG_CACHE_HOME or IMGSCAN_CACHE_DIR, or give --cache-dir)")
        })
    };
    match command {
        CacheCommand::Status { cache, format } => {
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
                    imgscan_scanner::report::table::human_bytes(usage.bytes),
                    imgscan_scanner::report::table::human_bytes(store.max_bytes()),
                ),
            }
        }
        CacheCommand::Prune { cache } => {
            let store = store(&cache)?;
            let removed = store.prune_to(store.max_bytes());
            println!(
                "removed {} results ({})",
                removed.entries,
                imgscan_scanner::report::table::human_bytes(removed.bytes)
            );
        }
        CacheCommand::Clear { cache } => {
            let removed = store(&cache)?.clear();
            println!(
                "removed {} results ({})",
                removed.entries,
                imgscan_scanner::report::table::human_bytes(removed.bytes)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
