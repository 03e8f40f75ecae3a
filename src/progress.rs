//! The progress bars shown on stderr while layers are read and while the
//! advisory database downloads, when stderr is a terminal; silent
//! otherwise, so logs and pipes stay clean.

use crate::terminal::stderr_is_terminal;
use imgscan_advisories::download::DownloadProgress;
use imgscan_scanner::Progress;
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::atomic::{AtomicU64, Ordering};

/// Layer-by-layer progress.
pub struct LayerProgress {
    bar: ProgressBar,
    bytes: AtomicU64,
}

impl LayerProgress {
    /// A bar on stderr, or a hidden one when quiet or not on a terminal.
    pub fn new(quiet: bool) -> Self {
        let bar = if quiet || !stderr_is_terminal() {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(0)
        };
        let style =
            ProgressStyle::with_template("{spinner} reading layers {pos}/{len} ({msg}) {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        LayerProgress {
            bar,
            bytes: AtomicU64::new(0),
        }
    }

    /// Clears the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for LayerProgress {
    fn start(&self, layers: usize) {
        self.bar.set_length(layers as u64);
        self.bar.set_message("0 B");
    }

    fn layer_done(&self, bytes: u64) {
        let total = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.bar.inc(1);
        self.bar
            .set_message(imgscan_scanner::report::table::human_bytes(total));
    }
}

/// Download progress for `db update`: bytes of the current archive, and
/// a line on stderr for each retry (shown even without a terminal: a
/// retry is worth knowing about in a CI log).
pub struct DownloadBar {
    bar: ProgressBar,
}

impl DownloadBar {
    /// A bar on stderr, or a hidden one when quiet or not on a terminal.
    pub fn new(quiet: bool) -> Self {
        let bar = if quiet || !stderr_is_terminal() {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(0)
        };
        let style = ProgressStyle::with_template(
            "{spinner} {msg} {bytes}/{total_bytes} ({bytes_per_sec}) {elapsed}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        DownloadBar { bar }
    }

    /// Clears the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl DownloadProgress for DownloadBar {
    fn begin(&self, url: &str, total: Option<u64>) {
        self.bar.set_position(0);
        self.bar.set_length(total.unwrap_or(0));
        self.bar.set_message(url.to_string());
    }

    fn advance(&self, bytes: u64) {
        self.bar.inc(bytes);
    }

    fn retrying(&self, url: &str, attempt: u32, reason: &str, wait: std::time::Duration) {
        self.bar.suspend(|| {
            crate::output::note(&format!(
                "imgscan: {url}: attempt {attempt} failed ({reason}); retrying in {:.1}s",
                wait.as_secs_f64()
            ));
        });
    }
}
