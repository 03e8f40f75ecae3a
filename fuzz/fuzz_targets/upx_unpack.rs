//! A UPX-packed executable unpacked in memory: `l_info`/`p_info` located,
//! block headers walked, NRV2B/D/E and LZMA blocks decoded into the
//! original's layout, x86 call-trick filters undone, all within a 16 MiB
//! budget.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = imgscan_signatures::unpack_upx(data, 16 << 20);
});
