//! rpm versions (`[epoch:]version[-release]`), ordered as rpm 4.18's
//! `rpm.vercmp` (rpmverParse + rpmverCmp) and `rpmvercmp` do.
//!
//! Splitting: the epoch is a run of ASCII digits at the start followed by
//! `:` (an empty run before `:` is epoch 0; anything else before a `:` is
//! part of the version); the release is what follows the last `-`. Only the
//! empty string is refused, as rpm refuses it.
//!
//! Ordering: epochs (missing = 0), then versions with `rpmvercmp`, then
//! releases with `rpmvercmp` when both have one; when only one has a
//! release, it is the greater (rpm 4.18 `rpm.vercmp("1.0", "1.0-1")` is -1,
//! even for a release of `~`).
//!
//! `rpmvercmp`: identical strings are equal; otherwise both strings are
//! walked in segments. Bytes other than ASCII letters, digits, `~` and `^`
//! only separate. `~` sorts before everything, even the end; `^` sorts
//! after the end but before any other segment. A digit segment beats a
//! letter segment; digit segments compare numerically (any length), letter
//! segments bytewise. When all segments tie, the string with something
//! left over wins (separators alone make no difference when both end).

use std::cmp::Ordering;

use super::{VersionError, VersionScheme, cmp_digit_runs};

const SCHEME: &str = "rpm";

/// The rpm scheme (Red Hat, AlmaLinux, Rocky Linux).
#[derive(Debug, Clone, Copy, Default)]
pub struct Rpm;

impl VersionScheme for Rpm {
    fn name(&self) -> &'static str {
        SCHEME
    }

    fn validate(&self, version: &str) -> Result<(), VersionError> {
        RpmVersion::parse(version).map(|_| ())
    }

    fn compare(&self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        Ok(RpmVersion::parse(a)?.compare(&RpmVersion::parse(b)?))
    }
}

/// A parsed rpm `[epoch:]version[-release]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpmVersion {
    epoch: Option<String>,
    version: String,
    release: Option<String>,
}

impl RpmVersion {
    /// Splits `s` into epoch, version and release as rpm does.
    pub fn parse(s: &str) -> Result<Self, VersionError> {
        if s.is_empty() {
            return Err(VersionError::new(SCHEME, s, "version string is empty"));
        }
        if s.contains('\0') {
            return Err(VersionError::new(
                SCHEME,
                s,
                "version string contains a nul byte",
            ));
        }
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        let (epoch, rest) = if s.as_bytes().get(digits) == Some(&b':') {
            // rpm reads an empty epoch (`:1.0`) as 0.
            let epoch = if digits == 0 { "0" } else { &s[..digits] };
            (Some(epoch.to_owned()), &s[digits + 1..])
        } else {
            (None, s)
        };
        let (version, release) = match rest.rfind('-') {
            Some(h) => (&rest[..h], Some(rest[h + 1..].to_owned())),
            None => (rest, None),
        };
        Ok(Self {
            epoch,
            version: version.to_owned(),
            release,
        })
    }

    /// The epoch's digits as written (`0` for an empty one), `None` when absent.
    pub fn epoch(&self) -> Option<&str> {
        self.epoch.as_deref()
    }

    /// The version part.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The release, `None` when absent.
    pub fn release(&self) -> Option<&str> {
        self.release.as_deref()
    }

    /// Orders `self` against `other` as rpm's `rpm.vercmp` does.
    pub fn compare(&self, other: &Self) -> Ordering {
        let epoch = |v: &Self| v.epoch.as_deref().unwrap_or("0").to_owned();
        rpmvercmp(&epoch(self), &epoch(other))
            .then_with(|| rpmvercmp(&self.version, &other.version))
            .then_with(|| match (&self.release, &other.release) {
                (Some(a), Some(b)) => rpmvercmp(a, b),
                (Some(_), None) => Ordering::Greater,
                (None, Some(_)) => Ordering::Less,
                (None, None) => Ordering::Equal,
            })
    }
}

/// rpm's `rpmvercmp` on two version (or release) strings.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let separator = |c: &u8| !c.is_ascii_alphanumeric() && *c != b'~' && *c != b'^';
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        i += a[i..].iter().take_while(|c| separator(c)).count();
        j += b[j..].iter().take_while(|c| separator(c)).count();
        let (x, y) = (a.get(i).copied(), b.get(j).copied());

        if x == Some(b'~') || y == Some(b'~') {
            if x != Some(b'~') {
                return Ordering::Greater;
            }
            if y != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if x == Some(b'^') || y == Some(b'^') {
            match (x, y) {
                (None, _) => return Ordering::Less,
                (_, None) => return Ordering::Greater,
                (Some(x), _) if x != b'^' => return Ordering::Greater,
                (_, Some(y)) if y != b'^' => return Ordering::Less,
                _ => {}
            }
            i += 1;
            j += 1;
            continue;
        }
        let (Some(x), Some(_)) = (x, y) else { break };

        let numeric = x.is_ascii_digit();
        let class = |c: &u8| {
            if numeric {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let a_end = i + a[i..].iter().take_while(|c| class(c)).count();
        let b_end = j + b[j..].iter().take_while(|c| class(c)).count();
        // Segments of different kinds: the digit segment is newer.
        if b_end == j {
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let ord = if numeric {
            cmp_digit_runs(&a[i..a_end], &b[j..b_end])
        } else {
            a[i..a_end].cmp(&b[j..b_end])
        };
        if ord != Ordering::Equal {
            return ord;
        }
        i = a_end;
        j = b_end;
    }
    match (i >= a.len(), j >= b.len()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, _) => Ordering::Greater,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        Rpm.compare(a, b).unwrap()
    }

    #[test]
    fn tilde_and_caret() {
        assert_eq!(rpmvercmp("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(rpmvercmp("1.0^git1", "1.0"), Ordering::Greater);
        assert_eq!(rpmvercmp("1.0^git1", "1.01"), Ordering::Less);
        assert_eq!(rpmvercmp("1.0^git1", "1.0~rc1"), Ordering::Greater);
    }

    #[test]
    fn separators_and_leading_zeros() {
        assert_eq!(rpmvercmp("2_0", "2.0"), Ordering::Equal);
        assert_eq!(rpmvercmp("10.0001", "10.1"), Ordering::Equal);
        assert_eq!(rpmvercmp("1.0a", "1.0"), Ordering::Greater);
        assert_eq!(rpmvercmp("xyz.4", "8"), Ordering::Less);
        let long = format!("1.{}", "9".repeat(50));
        assert_eq!(rpmvercmp(&long, "1.2"), Ordering::Greater);
    }

    #[test]
    fn evr() {
        assert_eq!(cmp("1:1.0-1", "2.0-1"), Ordering::Greater);
        assert_eq!(cmp("0:1.0-1", "1.0-1"), Ordering::Equal);
        assert_eq!(cmp(":1.0", "0:1.0"), Ordering::Equal);
        assert_eq!(cmp("1.0", "1.0-1"), Ordering::Less);
        assert_eq!(cmp("1.0-~", "1.0"), Ordering::Greater);
        assert_eq!(cmp("a:1", "1"), Ordering::Less);
        let v = RpmVersion::parse("2:8.7p1-38.el9_4.1").unwrap();
        assert_eq!(
            (v.epoch(), v.version(), v.release()),
            (Some("2"), "8.7p1", Some("38.el9_4.1"))
        );
        assert!(RpmVersion::parse("").is_err());
    }
}
