//! PyPI versions: PEP 440 (https://peps.python.org/pep-0440/), the order
//! OSV uses for the `PyPI` ecosystem and what pip and the `packaging`
//! library (`packaging.version.Version`) answer.
//!
//! Parsing follows the PEP's own grammar (its appendix B gives it as one
//! regular expression, used here as written there): surrounding whitespace
//! is dropped (Python's `str.isspace`), case is ignored (ASCII only: a
//! non-ASCII letter never spells `alpha` or `post`), and the alternative
//! spellings normalise as the PEP says — an optional `v` prefix; `-`, `_`
//! or `.` (or nothing) before a pre, post or dev part and before its
//! number; `alpha`/`beta`/`c`/`pre`/`preview` as `a`/`b`/`rc`/`rc`/`rc`;
//! `rev`/`r` as `post`; `1.0-1` as `1.0.post1`; a pre, post or dev part
//! without a number as number 0; `-` and `_` in a local version as `.`;
//! numbers as integers of any size (leading zeros dropped). Anything else
//! is a [`VersionError`] — what `packaging` raises as `InvalidVersion`
//! (legacy versions such as `2004d` or `1.0-foo`). A refused version is
//! in no OSV range; it still matches itself in an advisory's `versions`
//! list literally.
//!
//! Order: epoch; the release, with trailing zeros ignored (`1.0 == 1.0.0`);
//! then a dev release of the final (`1.0.dev1`) before any pre-release,
//! pre-releases (`a` < `b` < `rc`, then by number) before the final;
//! post-releases after it; a dev part before the same version without
//! one; and last the local version: none below any, then segment by
//! segment, a number above a word, numbers by value, words by ASCII
//! (lower-cased), a shorter list that is a prefix below.

use std::cmp::Ordering;
use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

use super::{VersionError, VersionScheme, cmp_digit_runs};

const SCHEME: &str = "pep440";

/// PEP 440 appendix B's `VERSION_PATTERN`, anchored; matched case-
/// insensitively after surrounding whitespace is trimmed.
static PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^
        v?
        (?:
            (?:(?P<epoch>[0-9]+)!)?
            (?P<release>[0-9]+(?:\.[0-9]+)*)
            (?P<pre>
                [-_\.]?
                (?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)
                [-_\.]?
                (?P<pre_n>[0-9]+)?
            )?
            (?P<post>
                (?:-(?P<post_n1>[0-9]+))
                |
                (?:
                    [-_\.]?
                    (?P<post_l>post|rev|r)
                    [-_\.]?
                    (?P<post_n2>[0-9]+)?
                )
            )?
            (?P<dev>
                [-_\.]?
                (?P<dev_l>dev)
                [-_\.]?
                (?P<dev_n>[0-9]+)?
            )?
        )
        (?:\+(?P<local>[a-z0-9]+(?:[-_\.][a-z0-9]+)*))?
        $",
    )
    .expect("the PEP 440 pattern compiles")
});

/// The PyPI scheme: PEP 440 as `packaging.version.Version` parses and
/// orders it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pep440;

impl VersionScheme for Pep440 {
    fn name(&self) -> &'static str {
        SCHEME
    }

    fn validate(&self, version: &str) -> Result<(), VersionError> {
        Pep440Version::parse(version).map(|_| ())
    }

    fn compare(&self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        Ok(Pep440Version::parse(a)?.cmp(&Pep440Version::parse(b)?))
    }
}

/// A pre-release phase, in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// `a` (alpha).
    Alpha,
    /// `b` (beta).
    Beta,
    /// `rc` (release candidate; also spelled `c`, `pre`, `preview`).
    Candidate,
}

/// One segment of a local version: numbers sort above words.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Local {
    Word(String),
    Number(String),
}

impl Ord for Local {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Local::Number(a), Local::Number(b)) => cmp_digit_runs(a.as_bytes(), b.as_bytes()),
            (Local::Number(_), Local::Word(_)) => Ordering::Greater,
            (Local::Word(_), Local::Number(_)) => Ordering::Less,
            (Local::Word(a), Local::Word(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Local {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A number of any size, by its digits without leading zeros.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Number(String);

impl Number {
    fn new(digits: &str) -> Self {
        let trimmed = digits.trim_start_matches('0');
        Number(if trimmed.is_empty() { "0" } else { trimmed }.to_string())
    }

    fn zero() -> Self {
        Number("0".into())
    }

    fn is_zero(&self) -> bool {
        self.0 == "0"
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_digit_runs(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A version PEP 440 accepts, normalised.
#[derive(Debug, Clone)]
pub struct Pep440Version {
    epoch: Number,
    release: Vec<Number>,
    pre: Option<(Phase, Number)>,
    post: Option<Number>,
    dev: Option<Number>,
    local: Option<Vec<Local>>,
}

/// Python's `str.isspace`: Unicode White_Space plus the four ASCII
/// information separators.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

impl Pep440Version {
    /// Parses `s` as `packaging.version.Version(s)` does.
    pub fn parse(s: &str) -> Result<Self, VersionError> {
        let invalid = || VersionError::new(SCHEME, s, "not a PEP 440 version");
        let trimmed = s.trim_matches(is_python_space);
        if !trimmed.is_ascii() {
            return Err(invalid());
        }
        let caps = PATTERN.captures(trimmed).ok_or_else(invalid)?;
        let number = |name: &str| caps.name(name).map(|m| Number::new(m.as_str()));
        let lower = |name: &str| caps.name(name).map(|m| m.as_str().to_ascii_lowercase());
        let epoch = number("epoch").unwrap_or_else(Number::zero);
        let release = caps["release"].split('.').map(Number::new).collect();
        let pre = lower("pre_l").map(|letter| {
            let phase = match letter.as_str() {
                "a" | "alpha" => Phase::Alpha,
                "b" | "beta" => Phase::Beta,
                _ => Phase::Candidate,
            };
            (phase, number("pre_n").unwrap_or_else(Number::zero))
        });
        let post = caps.name("post").map(|_| {
            number("post_n1")
                .or_else(|| number("post_n2"))
                .unwrap_or_else(Number::zero)
        });
        let dev = caps
            .name("dev")
            .map(|_| number("dev_n").unwrap_or_else(Number::zero));
        let local = lower("local").map(|local| {
            local
                .split(['-', '_', '.'])
                .map(|part| match part.bytes().all(|b| b.is_ascii_digit()) {
                    true => Local::Number(Number::new(part).0),
                    false => Local::Word(part.to_string()),
                })
                .collect()
        });
        Ok(Self {
            epoch,
            release,
            pre,
            post,
            dev,
            local,
        })
    }

    /// The release segment without its trailing zeros.
    fn significant_release(&self) -> &[Number] {
        let len = self
            .release
            .iter()
            .rposition(|n| !n.is_zero())
            .map_or(0, |at| at + 1);
        &self.release[..len]
    }

    /// The PEP's sort key, part by part (see the module comment).
    fn key_cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| self.significant_release().cmp(other.significant_release()))
            .then_with(|| self.pre_key().cmp(&other.pre_key()))
            .then_with(|| self.post.cmp(&other.post))
            .then_with(|| dev_key(&self.dev).cmp(&dev_key(&other.dev)))
            .then_with(|| self.local.cmp(&other.local))
    }

    /// Pre-release key: a dev release of the final sorts below every
    /// pre-release; no pre-release sorts above all.
    fn pre_key(&self) -> (u8, Option<&(Phase, Number)>) {
        match (&self.pre, &self.post, &self.dev) {
            (None, None, Some(_)) => (0, None),
            (Some(pre), _, _) => (1, Some(pre)),
            (None, _, _) => (2, None),
        }
    }
}

/// Dev key: no dev part sorts above every dev release.
fn dev_key(dev: &Option<Number>) -> (bool, Option<&Number>) {
    (dev.is_none(), dev.as_ref())
}

impl PartialEq for Pep440Version {
    fn eq(&self, other: &Self) -> bool {
        self.key_cmp(other) == Ordering::Equal
    }
}

impl Eq for Pep440Version {}

impl Ord for Pep440Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key_cmp(other)
    }
}

impl PartialOrd for Pep440Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The normalised form, as `str(packaging.version.Version(s))` writes it.
impl fmt::Display for Pep440Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.epoch.is_zero() {
            write!(f, "{}!", self.epoch.0)?;
        }
        let release: Vec<&str> = self.release.iter().map(|n| n.0.as_str()).collect();
        f.write_str(&release.join("."))?;
        if let Some((phase, n)) = &self.pre {
            let letter = match phase {
                Phase::Alpha => "a",
                Phase::Beta => "b",
                Phase::Candidate => "rc",
            };
            write!(f, "{letter}{}", n.0)?;
        }
        if let Some(n) = &self.post {
            write!(f, ".post{}", n.0)?;
        }
        if let Some(n) = &self.dev {
            write!(f, ".dev{}", n.0)?;
        }
        if let Some(local) = &self.local {
            let parts: Vec<&str> = local
                .iter()
                .map(|p| match p {
                    Local::Word(w) | Local::Number(w) => w.as_str(),
                })
                .collect();
            write!(f, "+{}", parts.join("."))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        Pep440.compare(a, b).unwrap()
    }

    fn norm(s: &str) -> String {
        Pep440Version::parse(s).unwrap().to_string()
    }

    #[test]
    fn the_peps_own_order() {
        // PEP 440, "Summary of permitted suffixes and relative ordering".
        let chain = [
            "1.dev0",
            "1.0.dev456",
            "1.0a1",
            "1.0a2.dev456",
            "1.0a12.dev456",
            "1.0a12",
            "1.0b1.dev456",
            "1.0b2",
            "1.0b2.post345.dev456",
            "1.0b2.post345",
            "1.0rc1.dev456",
            "1.0rc1",
            "1.0",
            "1.0+abc.5",
            "1.0+abc.7",
            "1.0+5",
            "1.0.post456.dev34",
            "1.0.post456",
            "1.0.15",
            "1.1.dev1",
            "1!0.1",
        ];
        for w in chain.windows(2) {
            assert_eq!(cmp(w[0], w[1]), Ordering::Less, "{} < {}", w[0], w[1]);
        }
        assert_eq!(cmp("1.0", "1.0.0.0"), Ordering::Equal);
        assert_eq!(cmp("1.0+a", "1.0+a.0"), Ordering::Less);
        assert_eq!(cmp("0!1.0", "1.0"), Ordering::Equal);
    }

    #[test]
    fn alternative_spellings_normalise() {
        for (given, want) in [
            ("v1.0", "1.0"),
            ("V1.0", "1.0"),
            (" 1.0\u{3000}", "1.0"),
            ("01.002", "1.2"),
            ("1.0ALPHA1", "1.0a1"),
            ("1.0-beta.2", "1.0b2"),
            ("1.0c1", "1.0rc1"),
            ("1.0preview_3", "1.0rc3"),
            ("1.0a", "1.0a0"),
            ("1.0a-", "1.0a0"),
            ("1.0a-1", "1.0a1"),
            ("1.0-1", "1.0.post1"),
            ("1.0_rev", "1.0.post0"),
            ("1.0-r2", "1.0.post2"),
            ("1.0.dev", "1.0.dev0"),
            ("1.0-dev.7", "1.0.dev7"),
            ("1.0+Ubuntu-1_2", "1.0+ubuntu.1.2"),
            ("1.0+007", "1.0+7"),
            ("00!1", "1"),
            ("2!1.0", "2!1.0"),
        ] {
            assert_eq!(norm(given), want, "{given:?}");
        }
    }

    #[test]
    fn invalid_versions_are_errors() {
        for bad in [
            "",
            " ",
            "1.0-",
            "2004d",
            "1.0-foo",
            "1.0+",
            "1.0+a..b",
            "1..0",
            ".1",
            "1.0.",
            "vv1.0",
            "1!",
            "1.0ſ",
            "1.0\u{212a}",
            "1.0a1a2",
            "1.0.post1.post2",
            "1.0 a1",
        ] {
            let err = Pep440Version::parse(bad).unwrap_err();
            assert_eq!(err.reason, "not a PEP 440 version", "{bad:?}");
        }
        assert!(Pep440.compare("1.0", "2004d").is_err());
    }

    #[test]
    fn huge_numbers_compare_without_overflow() {
        let big = format!("1.{}", "9".repeat(400));
        let bigger = format!("1.1{}", "0".repeat(400));
        assert_eq!(cmp(&big, &bigger), Ordering::Less);
        assert_eq!(cmp(&format!("{}!1", "0".repeat(50)), "1"), Ordering::Equal);
    }
}
