//! Version schemes: how each ecosystem spells and orders its versions.
//!
//! One file per scheme, each a faithful re-implementation of the package
//! manager's own comparison (dpkg, rpm, apk-tools 2.x, node-semver, PEP 440
//! as Python's `packaging` implements it), checked
//! pair by pair against the real tools (see `testdata/generate-vectors.sh`
//! and `tests/versions.rs`). [`crate::feeds::scheme_for_ecosystem`] maps an OSV ecosystem
//! string to its scheme.
//!
//! Every scheme takes arbitrary strings: a version the tool would reject is
//! a [`VersionError`], never a panic, and digit runs of any length compare
//! numerically without overflow unless the tool itself overflows.

use std::cmp::Ordering;

pub mod apk;
pub mod dpkg;
pub mod pep440;
pub mod rpm;
pub mod semver;

pub use apk::{Apk, ApkVersion};
pub use dpkg::{Dpkg, DpkgVersion, DpkgWarning};
pub use pep440::{Pep440, Pep440Version};
pub use rpm::{Rpm, RpmVersion};
pub use semver::{NpmSemver, NpmVersion};

/// A version string the scheme's own tool would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {scheme} version `{version}`: {reason}")]
pub struct VersionError {
    /// The scheme's name, as [`VersionScheme::name`] gives it.
    pub scheme: &'static str,
    /// The version as given.
    pub version: String,
    /// Why it was refused, in the tool's own terms (lower-case).
    pub reason: &'static str,
}

impl VersionError {
    pub(crate) fn new(scheme: &'static str, version: &str, reason: &'static str) -> Self {
        Self {
            scheme,
            version: version.to_owned(),
            reason,
        }
    }
}

/// Parse and compare versions of one ecosystem.
///
/// Implementations are stateless and shared: get one from
/// [`crate::feeds::scheme_for_ecosystem`] or use the statics ([`DPKG`], [`RPM`], [`APK`],
/// [`NPM_SEMVER`], [`PEP440`]).
pub trait VersionScheme: Send + Sync {
    /// Short stable name: `dpkg`, `rpm`, `apk`, `semver` or `pep440`.
    fn name(&self) -> &'static str;

    /// Whether the scheme's tool accepts `version`; the error says why not.
    fn validate(&self, version: &str) -> Result<(), VersionError>;

    /// Orders `a` against `b` as the ecosystem's tool does; an error when
    /// the tool would refuse either of them.
    fn compare(&self, a: &str, b: &str) -> Result<Ordering, VersionError>;
}

/// dpkg's ordering (Debian, Ubuntu).
pub static DPKG: Dpkg = Dpkg;
/// rpm's ordering (Red Hat, AlmaLinux, Rocky Linux).
pub static RPM: Rpm = Rpm;
/// apk-tools 2.x ordering (Alpine).
pub static APK: Apk = Apk;
/// SemVer 2.0.0 precedence as node-semver parses it (npm).
pub static NPM_SEMVER: NpmSemver = NpmSemver;
/// PEP 440 as Python's `packaging` orders it (PyPI).
pub static PEP440: Pep440 = Pep440;

/// Orders two runs of ASCII digits by numeric value, of any length.
pub(crate) fn cmp_digit_runs(a: &[u8], b: &[u8]) -> Ordering {
    let a = strip_leading_zeros(a);
    let b = strip_leading_zeros(b);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn strip_leading_zeros(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&c| c != b'0').unwrap_or(s.len());
    &s[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_runs_compare_without_overflow() {
        let big = "9".repeat(100);
        let bigger = format!("1{}", "0".repeat(100));
        assert_eq!(
            cmp_digit_runs(big.as_bytes(), bigger.as_bytes()),
            Ordering::Less
        );
        assert_eq!(cmp_digit_runs(b"0007", b"7"), Ordering::Equal);
        assert_eq!(cmp_digit_runs(b"", b"0"), Ordering::Equal);
        assert_eq!(cmp_digit_runs(b"10", b"9"), Ordering::Greater);
    }

    #[test]
    fn errors_name_the_version() {
        let err = DPKG.compare("1:", "1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid dpkg version `1:`: nothing after colon in version number"
        );
    }
}
