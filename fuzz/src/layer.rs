//! A layer pass for the targets that index entries (tar streams, disk
//! walks): the real [`PassOptions`] with the default limits, capturing
//! every file, except that the bytes kept over a pass are bounded lower
//! than the default so a run stays well inside libFuzzer's RSS limit.

use imgscan_scanner::Limits;
use imgscan_scanner::layer::capture::CaptureSpec;
use imgscan_scanner::layer::{LayerBuilder, LayerIndex, PassOptions, run_pass};

/// Most bytes of files a fuzzed pass keeps.
const MAX_CAPTURED: u64 = 64 << 20;

/// Fresh options for one pass (their shared budgets start full, so one
/// input reads the same whatever ran before it).
pub fn options() -> PassOptions {
    let limits = Limits {
        max_captured_bytes: MAX_CAPTURED,
        ..Limits::default()
    };
    let capture = CaptureSpec::new(&["**"]).expect("a valid glob");
    PassOptions::new(limits, capture)
}

/// Runs `fill` on a builder of layer 0 and returns its result with the
/// finished index.
pub fn pass<T>(fill: impl FnOnce(&mut LayerBuilder<'_>) -> T) -> (T, LayerIndex) {
    run_pass(0, &options(), fill)
}
