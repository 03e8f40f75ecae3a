//! An image file scanned with the built-in rules and looked inside: gzip,
//! xz and zstd streams decompressed, zip (jar, war) and tar members
//! walked, down to the default depth and within its expansion budget.
#![no_main]

use imgscan_signatures::{NestedLimits, RuleSet, ScanSettings, builtin_sources, compile};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use std::time::Duration;

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| compile(&builtin_sources()).expect("built-in rules").0)
}

fuzz_target!(|data: &[u8]| {
    let settings = ScanSettings {
        timeout: Duration::from_secs(10),
        nested: NestedLimits::default(),
    };
    imgscan_signatures::with_scan_pool(rules(), settings, 1, |pool| {
        pool.submit(Box::from(&b"usr/lib/app.jar"[..]), data.to_vec());
    });
});
