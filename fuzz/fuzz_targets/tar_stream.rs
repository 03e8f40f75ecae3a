//! A layer blob read as a layer pass reads it: compression sniffed
//! (gzip, zstd, none) and bounded, then tar headers, GNU long names and
//! PAX records, names, whiteouts and links into a layer index.
#![no_main]

use imgscan_fuzz::layer;
use imgscan_scanner::layer::pass::read_layer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = read_layer(0, data, data.len() as u64, &layer::options());
});
