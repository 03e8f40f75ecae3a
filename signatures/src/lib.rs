//! imgscan's signatures: YARA-X rules for embedded miners and droppers
//! (built-in `rules/*.yar` and the user's own), and the checks that find how
//! a miner stays in an image
//! (cron, systemd, startup files, `ld.so.preload`, unowned executables) and
//! how it got in (accounts, SSH, Redis, npm install scripts).
//!
//! Rules see every file's bytes and, within limits, the bytes inside the
//! compressed files and archives among them and inside UPX-packed
//! executables ([`nested`]).
//!
//! Each check family is one file under `checks/` implementing [`Check`];
//! checks declare up front the paths they read, so the single layer pass
//! captures them, and run over the final tree through
//! [`imgscan_sbom::FileTreeView`]. Findings carry stable dotted ids.
#![forbid(unsafe_code)]

pub mod check;
pub mod checks;
mod command;
pub mod incident;
pub mod ioc;
mod ioc_extract;
pub mod malware;
pub mod monero;
pub mod nested;
pub mod pool;
pub mod rules;

pub use check::{Check, CheckContext, CheckInfo, check_globs, run_checks};
pub use checks::{MODIFIED_FILE, all_checks};
pub use incident::Incident;
pub use ioc::{Ioc, IocKind, IocPlace};
pub use malware::{Malware, RuleHit, RuleScanError, RuleScanner};
pub use nested::{InnerPath, NestedError, NestedLimits, Step, unpack_upx};
pub use pool::{DigestTicket, FileVerdict, ScanPool, ScanProblem, ScanSettings, with_scan_pool};
pub use rules::{
    RuleInfo, RuleSet, RuleSource, RulesError, builtin_sources, compile, compile_cached,
    read_sources,
};
