//! npm lock drift: what is installed in an image's `node_modules` against
//! what the project's lockfiles name — a package installed at a version no
//! lockfile names (how a poisoned package hides) or a locked production
//! package that is missing. The comparison itself lives with the npm
//! catalogers; this check puts it in the report.

use super::info;
use crate::check::{Check, CheckContext, CheckInfo};
use imgscan_sbom::catalog::npm::{LOCK_DRIFT_ID, lock_drift};
use imgscan_sbom::{Finding, Severity};

/// The npm lock-drift check.
pub struct NpmDrift;

const DRIFT: CheckInfo = info(
    LOCK_DRIFT_ID,
    Severity::High,
    "installed npm packages differ from the lockfile: a version no lockfile names (HIGH) or a locked package missing (MEDIUM)",
);

impl Check for NpmDrift {
    fn info(&self) -> &'static [CheckInfo] {
        std::slice::from_ref(&DRIFT)
    }

    fn globs(&self) -> &'static [&'static str] {
        &[]
    }

    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        lock_drift(ctx.packages)
    }
}
