//! A UPX-packed executable unpacked in memory: an ELF file's
//! `l_info`/`p_info` located and its block headers walked into the
//! original's layout, or a PE file's pack header and stream; NRV2B/D/E and
//! LZMA decoded, x86 call-trick filters undone, all within a 16 MiB budget.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = imgscan_signatures::unpack_upx(data, 16 << 20);
});
