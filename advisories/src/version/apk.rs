//! Alpine versions, ordered and validated as apk-tools 2.x (the
//! `apk version -t` / `apk version -c` of Alpine up to 3.22) does.
//!
//! The grammar is Gentoo's: `digit{.digit}...{letter}{_suffix{#}}...{-r#}`,
//! read as a stream of typed tokens. Two versions are compared token by
//! token while both tokens have the same type and value; then
//!   * the smaller token value is the smaller version (a `.` component
//!     starting with `0` is worth minus its count of leading zeros, so
//!     `1.01 < 1.1` and `1.001 < 1.01`; suffixes are worth `_alpha` -4,
//!     `_beta` -3, `_pre` -2, `_rc` -1, `_cvs` 0, `_svn` 1, `_git` 2,
//!     `_hg` 3, `_p` 4; letters their byte);
//!   * when one version stops first, the longer one is greater unless what
//!     it has left is a pre-release suffix (or an invalid one);
//!   * otherwise the later token type (digit < letter < suffix < suffix
//!     number < revision < end) is the *smaller* version.
//!
//! Numbers are read into a 64-bit integer as apk-tools reads them: a run of
//! more than 18 digits wraps around in apk-tools, and wraps here the same
//! way, so `compare` agrees with apk even there.
//!
//! Validity is apk-tools' `apk_version_validate` — the token stream must
//! reach its end without an invalid token — plus one rule of ours: the
//! empty string is not a version. apk-tools still orders invalid versions
//! (token by token, up to the first invalid token); [`compare_unchecked`]
//! gives that answer, [`Apk::compare`] refuses them.

use std::cmp::Ordering;

use super::{VersionError, VersionScheme};

const SCHEME: &str = "apk";

/// The apk scheme (Alpine).
#[derive(Debug, Clone, Copy, Default)]
pub struct Apk;

impl VersionScheme for Apk {
    fn name(&self) -> &'static str {
        SCHEME
    }

    fn validate(&self, version: &str) -> Result<(), VersionError> {
        ApkVersion::parse(version).map(|_| ())
    }

    fn compare(&self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        Ok(ApkVersion::parse(a)?.compare(&ApkVersion::parse(b)?))
    }
}

/// A version apk-tools considers valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApkVersion(String);

impl ApkVersion {
    /// Checks `s` as `apk_version_validate` does (and refuses the empty
    /// string and NUL bytes).
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
        let mut cursor = Cursor::new(s);
        let mut ty = Tok::Digit;
        while ty != Tok::End && ty != Tok::Invalid {
            cursor.get_token(&mut ty);
        }
        if ty == Tok::Invalid {
            return Err(VersionError::new(SCHEME, s, "not a valid apk version"));
        }
        Ok(Self(s.to_owned()))
    }

    /// The version as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Orders `self` against `other` as apk-tools does.
    pub fn compare(&self, other: &Self) -> Ordering {
        compare_unchecked(&self.0, &other.0)
    }
}

/// Orders any two strings exactly as apk-tools 2.x `apk_version_compare`
/// does, valid versions or not.
pub fn compare_unchecked(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (Cursor::new(a), Cursor::new(b));
    let (mut at, mut bt) = (Tok::Digit, Tok::Digit);
    let (mut av, mut bv) = (0, 0);
    while at == bt && at != Tok::End && at != Tok::Invalid && av == bv {
        av = a.get_token(&mut at);
        bv = b.get_token(&mut bt);
    }
    if av != bv {
        return av.cmp(&bv);
    }
    if at == bt {
        return Ordering::Equal;
    }
    // Same so far and one goes on: it is greater, unless it goes on with a
    // pre-release (or unknown) suffix.
    if at == Tok::Suffix && a.get_token(&mut at.clone()) < 0 {
        return Ordering::Less;
    }
    if bt == Tok::Suffix && b.get_token(&mut bt.clone()) < 0 {
        return Ordering::Greater;
    }
    bt.cmp(&at)
}

/// Token types, in apk-tools' order (which the comparison relies on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tok {
    Invalid,
    DigitOrZero,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    RevisionNo,
    End,
}

const PRE_SUFFIXES: [&[u8]; 4] = [b"alpha", b"beta", b"pre", b"rc"];
const POST_SUFFIXES: [&[u8]; 5] = [b"cvs", b"svn", b"git", b"hg", b"p"];

/// What is left of a version string while tokenizing it.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn new(s: &'a str) -> Self {
        Self { rest: s.as_bytes() }
    }

    fn advance(&mut self, n: usize) {
        self.rest = self.rest.get(n..).unwrap_or_default();
    }

    /// Decides the type of the next token from the separator ahead,
    /// consuming the separator.
    fn next_token(&mut self, ty: &mut Tok) {
        let first = self.rest.first().copied();
        let mut n = match first {
            None | Some(0) => Tok::End,
            Some(c) if matches!(*ty, Tok::Digit | Tok::DigitOrZero) && c.is_ascii_lowercase() => {
                Tok::Letter
            }
            Some(c) if *ty == Tok::Letter && c.is_ascii_digit() => Tok::Digit,
            Some(c) if *ty == Tok::Suffix && c.is_ascii_digit() => Tok::SuffixNo,
            Some(c) => {
                let n = match c {
                    b'.' => Tok::DigitOrZero,
                    b'_' => Tok::Suffix,
                    b'-' if self.rest.get(1) == Some(&b'r') => {
                        self.advance(1);
                        Tok::RevisionNo
                    }
                    _ => Tok::Invalid,
                };
                self.advance(1);
                n
            }
        };
        let allowed_back = matches!(
            (n, *ty),
            (Tok::DigitOrZero, Tok::Digit)
                | (Tok::Suffix, Tok::SuffixNo)
                | (Tok::Digit, Tok::Letter)
        );
        if n < *ty && !allowed_back {
            n = Tok::Invalid;
        }
        *ty = n;
    }

    /// Reads the token of type `ty` and decides the next type.
    fn get_token(&mut self, ty: &mut Tok) -> i64 {
        if self.rest.is_empty() {
            *ty = Tok::End;
            return 0;
        }
        let rest = self.rest;
        let mut next = None;
        let (value, len): (i64, usize) = match *ty {
            Tok::DigitOrZero if rest[0] == b'0' => {
                // All zeros but the last are skipped, worth minus their
                // count; the last starts a plain digit token.
                let extra = rest.iter().take_while(|&&c| c == b'0').count() - 1;
                next = Some(Tok::Digit);
                (-i64::try_from(extra).unwrap_or(i64::MAX), extra)
            }
            Tok::DigitOrZero | Tok::Digit | Tok::SuffixNo | Tok::RevisionNo => {
                let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
                let value = rest[..digits].iter().fold(0i64, |v, &c| {
                    v.wrapping_mul(10).wrapping_add(i64::from(c - b'0'))
                });
                (value, digits)
            }
            Tok::Letter => (i64::from(rest[0]), 1),
            Tok::Suffix => {
                let pre = PRE_SUFFIXES.iter().position(|s| rest.starts_with(s));
                let post = POST_SUFFIXES.iter().position(|s| rest.starts_with(s));
                match (pre, post) {
                    (Some(k), _) => (k as i64 - PRE_SUFFIXES.len() as i64, PRE_SUFFIXES[k].len()),
                    (None, Some(k)) => (k as i64, POST_SUFFIXES[k].len()),
                    (None, None) => {
                        *ty = Tok::Invalid;
                        return -1;
                    }
                }
            }
            Tok::Invalid | Tok::End => {
                *ty = Tok::Invalid;
                return -1;
            }
        };
        self.advance(len);
        if self.rest.is_empty() {
            *ty = Tok::End;
        } else if let Some(next) = next {
            *ty = next;
        } else {
            self.next_token(ty);
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        Apk.compare(a, b).unwrap()
    }

    #[test]
    fn suffixes() {
        assert_eq!(cmp("1.0_alpha1", "1.0_beta"), Ordering::Less);
        assert_eq!(cmp("1.0_rc1", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0_p1", "1.0"), Ordering::Greater);
        assert_eq!(cmp("1.0_git20240101", "1.0_p1"), Ordering::Less);
        assert_eq!(cmp("0.1.0_alpha_pre2", "0.1.0_alpha"), Ordering::Less);
    }

    #[test]
    fn revisions_letters_and_zeros() {
        assert_eq!(cmp("1.0-r1", "1.0-r0"), Ordering::Greater);
        assert_eq!(cmp("453", "453-r1"), Ordering::Less);
        assert_eq!(cmp("1.0a", "1.0"), Ordering::Greater);
        assert_eq!(cmp("1.0a", "1.0.1"), Ordering::Less);
        assert_eq!(cmp("1.01", "1.1"), Ordering::Less);
        assert_eq!(cmp("8.2.0", "8.2.001"), Ordering::Greater);
    }

    #[test]
    fn wide_numbers() {
        assert_eq!(
            cmp("1.0.0_pre20191002222144-r0", "1.0.0_pre20210530193627-r0"),
            Ordering::Less
        );
    }

    #[test]
    fn validity() {
        for v in [
            "1.2",
            "0.1_pre2",
            "0.1_p1_pre2",
            "1.0.4-r3",
            "2.3.0b-r1",
            "1_git20240101",
        ] {
            assert!(ApkVersion::parse(v).is_ok(), "{v}");
        }
        for v in ["", "1.0bc", "0.1_foobar", "1-0-0", "0.1-r2_pre1", "\0"] {
            assert!(ApkVersion::parse(v).is_err(), "{v:?}");
        }
        assert_eq!(compare_unchecked("1.0", "1.0bc"), Ordering::Less);
    }
}
