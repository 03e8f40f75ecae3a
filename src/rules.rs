//! `imgscan rules list`: every built-in check with its id, severity and
//! description, as the README documents them.

use imgscan_signatures::all_checks;
use std::fmt::Write;

/// The listing, one line per finding id.
pub fn list() -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{:<30} {:<9} DESCRIPTION", "ID", "SEVERITY");
    for check in all_checks() {
        for info in check.info() {
            let severity = format!("{:?}", info.severity).to_uppercase();
            let _ = writeln!(out, "{:<30} {:<9} {}", info.id, severity, info.description);
        }
    }
    out
}
