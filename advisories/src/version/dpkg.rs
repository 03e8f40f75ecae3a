//! dpkg versions (`[epoch:]upstream[-revision]`), parsed and ordered as
//! `dpkg --compare-versions` (dpkg 1.21/1.22) does.
//!
//! Parsing follows dpkg's `parseversion`: leading and trailing blanks are
//! trimmed; the epoch is what C's `strtol` reads before the first `:` and
//! must lie in `0..=i32::MAX`; the revision is what follows the last `-`.
//! dpkg's hard errors (empty string, embedded blanks, bad or too big epoch,
//! nothing after the colon, empty upstream or revision) are
//! [`VersionError`]s. dpkg's *warnings* — upstream not starting with a
//! digit, a character outside `[A-Za-z0-9.+~:-]` in the upstream or outside
//! `[A-Za-z0-9.+~]` in the revision — do not stop `dpkg --compare-versions`,
//! so they do not stop us either: the version compares exactly as dpkg
//! compares it, and [`DpkgVersion::warning`] reports the first one. A NUL
//! byte, which no dpkg argument can carry, is refused.
//!
//! Ordering: epochs numerically, then upstream and revision with dpkg's
//! `verrevcmp`: alternating non-digit and digit runs; in non-digit runs `~`
//! sorts before everything, even the end, then the end, then letters, then
//! everything else (bytes of 0x80 and above by their value, between letters
//! and ASCII punctuation, as dpkg's signed `char` on x86-64 gives); digit
//! runs compare numerically, of any length. A missing revision equals `0`.

use std::cmp::Ordering;

use super::{VersionError, VersionScheme, cmp_digit_runs};

const SCHEME: &str = "dpkg";

/// The dpkg scheme (Debian, Ubuntu).
#[derive(Debug, Clone, Copy, Default)]
pub struct Dpkg;

impl VersionScheme for Dpkg {
    fn name(&self) -> &'static str {
        SCHEME
    }

    fn validate(&self, version: &str) -> Result<(), VersionError> {
        DpkgVersion::parse(version).map(|_| ())
    }

    fn compare(&self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        Ok(DpkgVersion::parse(a)?.compare(&DpkgVersion::parse(b)?))
    }
}

/// A syntax problem dpkg warns about but still compares through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DpkgWarning {
    /// The upstream part starts with something other than a digit.
    #[error("version number does not start with digit")]
    NoLeadingDigit,
    /// The upstream part has a character outside `[A-Za-z0-9.+~:-]`.
    #[error("invalid character in version number")]
    InvalidVersionChar,
    /// The revision has a character outside `[A-Za-z0-9.+~]`.
    #[error("invalid character in revision number")]
    InvalidRevisionChar,
}

/// A parsed dpkg version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpkgVersion {
    epoch: u32,
    upstream: String,
    revision: String,
    warning: Option<DpkgWarning>,
}

impl DpkgVersion {
    /// Parses `s` as `dpkg --compare-versions` would.
    pub fn parse(s: &str) -> Result<Self, VersionError> {
        let err = |reason| VersionError::new(SCHEME, s, reason);
        if s.contains('\0') {
            return Err(err("version string contains a nul byte"));
        }
        let blank = |c: char| c == ' ' || c == '\t';
        let trimmed = s.trim_start_matches(blank);
        if trimmed.is_empty() {
            return Err(err("version string is empty"));
        }
        let end = trimmed.find(blank).unwrap_or(trimmed.len());
        if !trimmed[end..].trim_start_matches(blank).is_empty() {
            return Err(err("version string has embedded spaces"));
        }
        let body = &trimmed[..end];

        let (epoch, rest) = match body.find(':') {
            Some(colon) => {
                let epoch = strtol_epoch(body, colon).map_err(err)?;
                let rest = &body[colon + 1..];
                if rest.is_empty() {
                    return Err(err("nothing after colon in version number"));
                }
                (epoch, rest)
            }
            None => (0, body),
        };
        let (upstream, revision) = match rest.rfind('-') {
            Some(hyphen) => {
                let revision = &rest[hyphen + 1..];
                if revision.is_empty() {
                    return Err(err("revision number is empty"));
                }
                (&rest[..hyphen], revision)
            }
            None => (rest, ""),
        };
        if upstream.is_empty() {
            return Err(err("version number is empty"));
        }
        Ok(Self {
            epoch,
            upstream: upstream.to_owned(),
            revision: revision.to_owned(),
            warning: warning(upstream, revision),
        })
    }

    /// The epoch (0 when absent).
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The upstream version.
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// The Debian revision (empty when absent).
    pub fn revision(&self) -> &str {
        &self.revision
    }

    /// The first syntax warning dpkg would print for this version, if any.
    pub fn warning(&self) -> Option<DpkgWarning> {
        self.warning
    }

    /// Orders `self` against `other` as dpkg does.
    pub fn compare(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(self.upstream.as_bytes(), other.upstream.as_bytes()))
            .then_with(|| verrevcmp(self.revision.as_bytes(), other.revision.as_bytes()))
    }
}

/// The epoch as C's `strtol(body, &end, 10)` reads it, with dpkg's checks:
/// the number must end exactly at the colon and lie in `0..=i32::MAX`.
fn strtol_epoch(body: &str, colon: usize) -> Result<u32, &'static str> {
    let bytes = body.as_bytes();
    let mut i = 0;
    // C's isspace: the blanks were trimmed, but \n \v \f \r may remain.
    while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let negative = bytes.get(i) == Some(&b'-');
    if matches!(bytes.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    let digits_start = i;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    if i == digits_start {
        return Err("epoch in version is empty");
    }
    if i != colon {
        return Err("epoch in version is not number");
    }
    let digits = &body[digits_start..i];
    let nonzero = digits.bytes().any(|c| c != b'0');
    if negative && nonzero {
        return Err("epoch in version is negative");
    }
    // Anything too long for an i32 (or for strtol's long) is "too big".
    let significant = digits.trim_start_matches('0');
    if significant.len() > 10 {
        return Err("epoch in version is too big");
    }
    let value: u64 = significant.parse().unwrap_or(0);
    u32::try_from(value)
        .ok()
        .filter(|&v| v <= i32::MAX as u32)
        .ok_or("epoch in version is too big")
}

fn warning(upstream: &str, revision: &str) -> Option<DpkgWarning> {
    let mut up = upstream.bytes();
    if !up.next().is_some_and(|c| c.is_ascii_digit()) {
        return Some(DpkgWarning::NoLeadingDigit);
    }
    if up.any(|c| !c.is_ascii_alphanumeric() && !b".-+~:".contains(&c)) {
        return Some(DpkgWarning::InvalidVersionChar);
    }
    if revision
        .bytes()
        .any(|c| !c.is_ascii_alphanumeric() && !b".+~".contains(&c))
    {
        return Some(DpkgWarning::InvalidRevisionChar);
    }
    None
}

/// The weight of one byte in a non-digit run; `None` is the end.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        // dpkg computes `c + 256` on a signed char: bytes >= 0x80 land on
        // their unsigned value, below ASCII punctuation.
        Some(c) if c >= 0x80 => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp` over one upstream or revision part.
fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    let non_digit = |s: &[u8], k: usize| s.get(k).is_some_and(|c| !c.is_ascii_digit());
    while i < a.len() || j < b.len() {
        while non_digit(a, i) || non_digit(b, j) {
            let (ac, bc) = (order(a.get(i).copied()), order(b.get(j).copied()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        let a_end = a[i..]
            .iter()
            .position(|c| !c.is_ascii_digit())
            .map_or(a.len(), |p| i + p);
        let b_end = b[j..]
            .iter()
            .position(|c| !c.is_ascii_digit())
            .map_or(b.len(), |p| j + p);
        let ord = cmp_digit_runs(&a[i..a_end], &b[j..b_end]);
        if ord != Ordering::Equal {
            return ord;
        }
        i = a_end;
        j = b_end;
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        Dpkg.compare(a, b).unwrap()
    }

    #[test]
    fn tilde_sorts_before_the_end() {
        assert_eq!(cmp("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0~~", "1.0~"), Ordering::Less);
        assert_eq!(cmp("1.0~rc1-1", "1.0-1"), Ordering::Less);
    }

    #[test]
    fn letters_sort_before_punctuation() {
        assert_eq!(cmp("1.0a", "1.0+"), Ordering::Less);
        assert_eq!(cmp("1.0a", "1.0"), Ordering::Greater);
        assert_eq!(cmp("1.0Z", "1.0a"), Ordering::Less);
    }

    #[test]
    fn epoch_and_missing_revision() {
        assert_eq!(cmp("1:0.1", "9.9"), Ordering::Greater);
        assert_eq!(cmp("1.0", "1.0-0"), Ordering::Equal);
        assert_eq!(cmp("0:1.0", "1.0"), Ordering::Equal);
        assert_eq!(cmp("+1:1.0", "1:1.0"), Ordering::Equal);
        assert_eq!(cmp("-0:1.0", "1.0"), Ordering::Equal);
    }

    #[test]
    fn long_digit_runs() {
        let a = format!("1.{}", "9".repeat(60));
        let b = format!("1.1{}", "0".repeat(60));
        assert_eq!(cmp(&a, &b), Ordering::Less);
        assert_eq!(cmp("1.0000000000000000000001", "1.1"), Ordering::Equal);
    }

    #[test]
    fn hard_errors() {
        for (v, reason) in [
            ("", "version string is empty"),
            ("  ", "version string is empty"),
            ("1 2", "version string has embedded spaces"),
            (":1", "epoch in version is empty"),
            ("a:1", "epoch in version is empty"),
            ("1a:1", "epoch in version is not number"),
            ("-1:1", "epoch in version is negative"),
            ("2147483648:1", "epoch in version is too big"),
            ("1:", "nothing after colon in version number"),
            ("1-", "revision number is empty"),
            ("-1", "version number is empty"),
            ("1\0", "version string contains a nul byte"),
        ] {
            assert_eq!(DpkgVersion::parse(v).unwrap_err().reason, reason, "{v:?}");
        }
        assert_eq!(
            DpkgVersion::parse("2147483647:1").unwrap().epoch(),
            2147483647
        );
    }

    #[test]
    fn warnings_still_compare() {
        let v = DpkgVersion::parse(" a1.0-1 ").unwrap();
        assert_eq!(v.warning(), Some(DpkgWarning::NoLeadingDigit));
        assert_eq!((v.upstream(), v.revision()), ("a1.0", "1"));
        let v = DpkgVersion::parse("1.0_1-1").unwrap();
        assert_eq!(v.warning(), Some(DpkgWarning::InvalidVersionChar));
        let v = DpkgVersion::parse("1.0-1_2").unwrap();
        assert_eq!(v.warning(), Some(DpkgWarning::InvalidRevisionChar));
        assert_eq!(DpkgVersion::parse("1:1.0-1").unwrap().warning(), None);
    }
}
