//! An installed Python distribution's core metadata catalogued.
#![no_main]

use imgscan_fuzz::catalog;
use imgscan_sbom::catalog::python::PythonCataloger;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    catalog::run(
        &PythonCataloger,
        "usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA",
        data,
    );
});
