//! npm versions: SemVer 2.0.0 precedence over the versions node-semver
//! (the `semver` package npm itself uses) accepts in its default, strict
//! mode — the ordering OSV uses for npm, and what `semver.compare` answers.
//!
//! Accepted, as node-semver accepts: at most 256 UTF-16 code units before
//! trimming; surrounding whitespace as JavaScript's `trim` defines it; one
//! optional leading `v`; then a SemVer 2.0.0 version (checked with the
//! `semver` crate) whose major, minor and patch are at most 2^53 - 1.
//! Loose forms (`=1.2.3`, `1.2`, `01.2.3`, `1.2.3beta`) are refused, as
//! `semver.compare` refuses them: npm's registry only publishes versions
//! that pass the strict parser (after `semver.clean`).
//!
//! Precedence: major, minor, patch; a version without pre-release is
//! greater; pre-release identifiers one by one, numeric below alphanumeric,
//! numeric by value, alphanumeric by ASCII; a shorter list that is a prefix
//! is smaller. Build metadata is ignored. One node-semver quirk is kept so
//! that we agree with it everywhere: numeric pre-release identifiers are
//! compared as JavaScript numbers (doubles), so two of them above 2^53 that
//! round to the same double are equal.

use std::cmp::Ordering;

use super::{VersionError, VersionScheme};

const SCHEME: &str = "semver";

/// node-semver's `MAX_LENGTH`.
const MAX_LENGTH: usize = 256;
/// JavaScript's `Number.MAX_SAFE_INTEGER`, node-semver's bound on
/// major, minor and patch.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// The npm scheme: SemVer 2.0.0 as node-semver parses and orders it.
#[derive(Debug, Clone, Copy, Default)]
pub struct NpmSemver;

impl VersionScheme for NpmSemver {
    fn name(&self) -> &'static str {
        SCHEME
    }

    fn validate(&self, version: &str) -> Result<(), VersionError> {
        NpmVersion::parse(version).map(|_| ())
    }

    fn compare(&self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        Ok(NpmVersion::parse(a)?.compare(&NpmVersion::parse(b)?))
    }
}

/// A version node-semver accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpmVersion(semver::Version);

impl NpmVersion {
    /// Parses `s` as node-semver's `new SemVer(s)` does.
    pub fn parse(s: &str) -> Result<Self, VersionError> {
        let err = |reason| VersionError::new(SCHEME, s, reason);
        if s.encode_utf16().count() > MAX_LENGTH {
            return Err(err("version is longer than 256 characters"));
        }
        let trimmed = s.trim_matches(is_js_whitespace);
        let bare = trimmed.strip_prefix('v').unwrap_or(trimmed);
        let version = semver::Version::parse(bare).map_err(|_| err("not a semver version"))?;
        if version.major > MAX_SAFE_INTEGER
            || version.minor > MAX_SAFE_INTEGER
            || version.patch > MAX_SAFE_INTEGER
        {
            return Err(err("version component above 2^53 - 1"));
        }
        Ok(Self(version))
    }

    /// The parsed version (build metadata included).
    pub fn as_semver(&self) -> &semver::Version {
        &self.0
    }

    /// Orders by SemVer precedence as node-semver's `compare` does.
    pub fn compare(&self, other: &Self) -> Ordering {
        let (a, b) = (&self.0, &other.0);
        (a.major, a.minor, a.patch)
            .cmp(&(b.major, b.minor, b.patch))
            .then_with(|| match (a.pre.is_empty(), b.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(a.pre.as_str(), b.pre.as_str()),
            })
    }
}

fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let mut a = a.split('.');
    let mut b = b.split('.');
    loop {
        match (a.next(), b.next()) {
            (None, None) => return Ordering::Equal,
            (Some(_), None) => return Ordering::Greater,
            (None, Some(_)) => return Ordering::Less,
            (Some(x), Some(y)) => match compare_identifiers(x, y) {
                Ordering::Equal => {}
                ord => return ord,
            },
        }
    }
}

/// node-semver's `compareIdentifiers`: numeric identifiers compare as
/// JavaScript numbers and sort below alphanumeric ones.
fn compare_identifiers(a: &str, b: &str) -> Ordering {
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    match (numeric(a), numeric(b)) {
        (true, true) => {
            // A digit string always parses (to infinity when huge), rounded
            // to the nearest double as JavaScript's `+s` does.
            let (x, y) = (a.parse::<f64>(), b.parse::<f64>());
            match (x, y) {
                (Ok(x), Ok(y)) => x.total_cmp(&y),
                _ => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
            }
        }
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.cmp(b),
    }
}

/// JavaScript's `String.prototype.trim` set: WhiteSpace and LineTerminator.
fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\u{9}' | '\u{a}' | '\u{b}' | '\u{c}' | '\u{d}' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        NpmSemver.compare(a, b).unwrap()
    }

    #[test]
    fn precedence() {
        let chain = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.10.0",
        ];
        for w in chain.windows(2) {
            assert_eq!(cmp(w[0], w[1]), Ordering::Less, "{} < {}", w[0], w[1]);
        }
        assert_eq!(cmp("1.0.0+build.1", "1.0.0+build.2"), Ordering::Equal);
        assert_eq!(cmp("v1.2.3", " 1.2.3\u{feff}"), Ordering::Equal);
    }

    #[test]
    fn node_number_quirk() {
        assert_eq!(
            cmp("1.0.0-9007199254740993", "1.0.0-9007199254740992"),
            Ordering::Equal
        );
        assert_eq!(
            cmp("1.0.0-9007199254740994", "1.0.0-9007199254740992"),
            Ordering::Greater
        );
    }

    #[test]
    fn refused() {
        for v in [
            "",
            "1.2",
            "=1.2.3",
            "01.2.3",
            "1.2.3-01",
            "1.2.3-",
            "1.2.3+",
            "V1.2.3",
            "vv1.2.3",
            "9007199254740992.0.0",
            "1.2.3\u{85}",
        ] {
            assert!(NpmVersion::parse(v).is_err(), "{v:?}");
        }
        assert!(NpmVersion::parse("9007199254740991.0.0").is_ok());
        let long = format!("1.0.0-{}", "a".repeat(250));
        assert!(NpmVersion::parse(&long).is_ok());
        let long = format!("1.0.0-{}", "a".repeat(251));
        assert!(NpmVersion::parse(&long).is_err());
    }
}
