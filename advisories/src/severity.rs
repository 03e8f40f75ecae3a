//! How bad an advisory is: the best CVSS vector it carries (scored with
//! RustSec's `cvss` crate, which scores v2, v3.0, v3.1 and v4.0), else a
//! severity label the feed writes (`database_specific.severity`,
//! `ecosystem_specific.severity`, an `Ubuntu` priority), else UNKNOWN.

use std::cmp::Ordering;
use std::str::FromStr;

use imgscan_sbom::Severity;
use serde::Serialize;

use crate::osv::SeverityScore;

const V3_BASE: &[&str] = &["AV", "AC", "PR", "UI", "S", "C", "I", "A"];
const V4_BASE: &[&str] = &[
    "AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA",
];

/// A scored CVSS vector.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cvss {
    /// CVSS version: `2.0`, `3.0`, `3.1` or `4.0`.
    pub version: String,
    /// The vector as the advisory writes it.
    pub vector: String,
    /// Base score, 0.0 to 10.0.
    pub score: f64,
}

impl Cvss {
    /// Scores a vector; `None` when the `cvss` crate cannot parse it or a
    /// base metric is missing (the crate would score the gap as 0).
    pub fn parse(vector: &str) -> Option<Cvss> {
        let parsed = cvss::Cvss::from_str(vector.trim()).ok()?;
        let (version, base): (_, &[&str]) = match parsed {
            cvss::Cvss::CvssV20(_) => ("2.0", &["AV", "AC", "Au", "C", "I", "A"]),
            cvss::Cvss::CvssV30(_) => ("3.0", V3_BASE),
            cvss::Cvss::CvssV31(_) => ("3.1", V3_BASE),
            cvss::Cvss::CvssV40(_) => ("4.0", V4_BASE),
            _ => return None,
        };
        let present: Vec<&str> = vector
            .trim()
            .split('/')
            .filter_map(|part| part.split_once(':').map(|(k, _)| k))
            .collect();
        if !base.iter().all(|m| present.contains(m)) {
            return None;
        }
        let score = parsed.score();
        if !score.is_finite() {
            return None;
        }
        Some(Cvss {
            version: version.to_string(),
            vector: vector.trim().to_string(),
            score: (score * 10.0).round() / 10.0,
        })
    }

    /// The qualitative rating of the score (v3/v4 scale; 0.0 is LOW).
    pub fn severity(&self) -> Severity {
        match self.score {
            s if s >= 9.0 => Severity::Critical,
            s if s >= 7.0 => Severity::High,
            s if s >= 4.0 => Severity::Medium,
            _ => Severity::Low,
        }
    }

    /// Orders by CVSS version, then score: the greater is preferred.
    pub fn preference(&self, other: &Cvss) -> Ordering {
        self.version
            .cmp(&other.version)
            .then(self.score.total_cmp(&other.score))
    }
}

/// The preferred vector among `scores`: the highest CVSS version, then the
/// highest score. Entries that are not CVSS or do not parse are passed over.
pub fn best_cvss<'a>(scores: impl IntoIterator<Item = &'a SeverityScore>) -> Option<Cvss> {
    scores
        .into_iter()
        .filter(|s| s.kind.starts_with("CVSS_"))
        .filter_map(|s| Cvss::parse(&s.score))
        .max_by(|a, b| a.preference(b))
}

/// Maps a feed's severity label (any case) to a severity: GHSA's
/// `CRITICAL/HIGH/MODERATE/LOW`, Red Hat's `Critical/Important/Moderate/Low`,
/// Ubuntu's priorities (`negligible` is LOW). Anything else is `None`.
pub fn severity_from_label(label: &str) -> Option<Severity> {
    match label.trim().to_ascii_lowercase().as_str() {
        "critical" => Some(Severity::Critical),
        "high" | "important" => Some(Severity::High),
        "medium" | "moderate" => Some(Severity::Medium),
        "low" | "negligible" | "minor" => Some(Severity::Low),
        _ => None,
    }
}

/// The upper-case name a severity is stored and reported as.
pub fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "CRITICAL",
        Severity::High => "HIGH",
        Severity::Medium => "MEDIUM",
        Severity::Low => "LOW",
        Severity::Unknown => "UNKNOWN",
    }
}

/// Reads back a name written by [`severity_name`]; anything else is UNKNOWN.
pub fn severity_from_name(name: &str) -> Severity {
    match name {
        "CRITICAL" => Severity::Critical,
        "HIGH" => Severity::High,
        "MEDIUM" => Severity::Medium,
        "LOW" => Severity::Low,
        _ => Severity::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(kind: &str, score: &str) -> SeverityScore {
        SeverityScore {
            kind: kind.into(),
            score: score.into(),
        }
    }

    #[test]
    fn scores_v3_and_v4_vectors() {
        let v3 = Cvss::parse("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H").unwrap();
        assert_eq!((v3.version.as_str(), v3.score), ("3.1", 8.1));
        assert_eq!(v3.severity(), Severity::High);
        let v4 =
            Cvss::parse("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N").unwrap();
        assert_eq!((v4.version.as_str(), v4.score), ("4.0", 8.7));
        let v2 = Cvss::parse("AV:N/AC:L/Au:N/C:P/I:P/A:P").unwrap();
        assert_eq!((v2.version.as_str(), v2.score), ("2.0", 7.5));
        assert_eq!(Cvss::parse("CVSS:3.1/AV:N"), None);
        assert_eq!(Cvss::parse("not a vector"), None);
        assert_eq!(Cvss::parse(""), None);
    }

    #[test]
    fn highest_version_wins_then_score() {
        let scores = [
            score("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"),
            score(
                "CVSS_V4",
                "CVSS:4.0/AV:L/AC:H/AT:P/PR:L/UI:P/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N",
            ),
            score("Ubuntu", "high"),
            score("CVSS_V2", "AV:N/AC:L/Au:N/C:C/I:C/A:C"),
        ];
        let best = best_cvss(&scores).unwrap();
        assert_eq!(best.version, "4.0");
        assert_eq!(best.severity(), Severity::Low);
        let v3s = [
            score("CVSS_V3", "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"),
            score("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"),
        ];
        assert_eq!(best_cvss(&v3s).unwrap().score, 10.0);
        assert_eq!(best_cvss(&[score("CVSS_V3", "garbage")]), None);
    }

    #[test]
    fn labels() {
        assert_eq!(severity_from_label("MODERATE"), Some(Severity::Medium));
        assert_eq!(severity_from_label("Important"), Some(Severity::High));
        assert_eq!(severity_from_label("negligible"), Some(Severity::Low));
        assert_eq!(severity_from_label("critical"), Some(Severity::Critical));
        assert_eq!(severity_from_label("not yet assigned"), None);
        for s in [
            Severity::Critical,
            Severity::High,
            Severity::Medium,
            Severity::Low,
            Severity::Unknown,
        ] {
            assert_eq!(severity_from_name(severity_name(s)), s);
        }
    }
}
