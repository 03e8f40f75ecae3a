//! End-to-end tests of the `imgscan` binary: every target form, the
//! hostile-input corpus, interoperability with archives written by real
//! tools, and the command line's contract (exit codes, output, streams).

mod checks;
mod cli;
mod forms;
mod hostile;
mod interop;
mod malware;
mod sbom;
mod support;
