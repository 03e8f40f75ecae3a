//! The progress bar shown on stderr while layers are read, when stderr is
//! a terminal; silent otherwise, so logs and pipes stay clean.

use crate::terminal::stderr_is_terminal;
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
