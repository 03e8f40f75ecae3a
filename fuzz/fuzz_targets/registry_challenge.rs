//! A registry's `WWW-Authenticate` header parsed into a challenge.
#![no_main]

use imgscan_scanner::source::registry_auth::Challenge;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = std::str::from_utf8(data) {
        let _ = Challenge::parse(header);
    }
});
