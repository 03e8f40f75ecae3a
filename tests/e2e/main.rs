//! End-to-end tests of the `imgscan` binary: every target form, the
//! hostile-input corpus, interoperability with archives written by real
//! tools, the advisory database, and the command line's contract (exit
//! codes, output, streams), images pulled from a real registry (also through
//! injected faults, and with credential helpers), VM disk images, and
//! fleets of workers on a real Redis.

mod advisories;
mod amplification;
mod cache;
mod checks;
mod cli;
mod demo;
mod disk;
mod evasion;
mod fault_proxy;
mod fleet;
mod forms;
mod gate;
mod hostile;
mod hostile_io;
mod http_server;
mod interop;
mod iocs;
mod malware;
mod redis_server;
mod registry;
mod registry_faults;
mod registry_helpers;
mod registry_server;
mod reports;
mod rootfs_archive;
mod sarif;
mod sbom;
mod support;
mod vex;
