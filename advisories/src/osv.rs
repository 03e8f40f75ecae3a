//! The OSV record as imgscan reads it (https://ossf.github.io/osv-schema/):
//! the fields matching, merging and rating need, nothing else. `details`,
//! `references` and `credits` are left unread; unknown fields are ignored,
//! but an unknown range type or an event that is not exactly one of
//! `introduced`/`fixed`/`last_affected`/`limit` makes the record malformed.

use serde::{Deserialize, Serialize};

/// One OSV record.
#[derive(Debug, Clone, Deserialize)]
pub struct Record {
    /// The record's id (`DSA-5724-1`, `GHSA-…`, `MAL-2025-46969`).
    pub id: String,
    /// When it last changed (RFC 3339).
    #[serde(default)]
    pub modified: String,
    /// When it was published (RFC 3339).
    #[serde(default)]
    pub published: String,
    /// Set when the record was withdrawn: it then affects nothing.
    #[serde(default)]
    pub withdrawn: Option<String>,
    /// Ids of the same vulnerability in other databases.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Ids of upstream vulnerabilities this record covers.
    #[serde(default)]
    pub upstream: Vec<String>,
    /// Ids of related but different vulnerabilities.
    #[serde(default)]
    pub related: Vec<String>,
    /// One-line summary.
    #[serde(default)]
    pub summary: String,
    /// Scores of the whole record.
    #[serde(default)]
    pub severity: Vec<SeverityScore>,
    /// The affected packages.
    #[serde(default)]
    pub affected: Vec<Affected>,
    /// The database's own fields; only `severity` is read.
    #[serde(default)]
    pub database_specific: Option<Specific>,
}

/// A `severity[]` entry: a scoring method and its score.
#[derive(Debug, Clone, Deserialize)]
pub struct SeverityScore {
    /// `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `Ubuntu`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// The vector (CVSS) or label (`Ubuntu`).
    pub score: String,
}

/// The `ecosystem_specific`/`database_specific` objects: only a `severity`
/// label is read, whatever else they hold.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Specific {
    /// A severity label such as `HIGH`, `Moderate` or `important`; any
    /// other JSON type is kept but never read as a label.
    #[serde(default)]
    pub severity: Option<serde_json::Value>,
}

impl Specific {
    /// The severity label, when it is a string.
    pub fn severity_label(&self) -> Option<&str> {
        self.severity.as_ref().and_then(serde_json::Value::as_str)
    }
}

/// One `affected[]` entry.
#[derive(Debug, Clone, Deserialize)]
pub struct Affected {
    /// The package.
    pub package: PackageRef,
    /// Scores for this package only.
    #[serde(default)]
    pub severity: Vec<SeverityScore>,
    /// Affected version ranges.
    #[serde(default)]
    pub ranges: Vec<Range>,
    /// Affected versions, listed one by one.
    #[serde(default)]
    pub versions: Vec<String>,
    /// Ecosystem-defined fields; only `severity` is read.
    #[serde(default)]
    pub ecosystem_specific: Option<Specific>,
    /// Database-defined fields; only `severity` is read.
    #[serde(default)]
    pub database_specific: Option<Specific>,
}

/// `affected[].package`.
#[derive(Debug, Clone, Deserialize)]
pub struct PackageRef {
    /// OSV ecosystem (`Debian:12`, `npm`, …).
    pub ecosystem: String,
    /// Package name in that ecosystem.
    pub name: String,
    /// Package URL without a version, if given.
    #[serde(default)]
    pub purl: Option<String>,
}

/// The ordering a range's events are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RangeType {
    /// The ecosystem's own version order.
    Ecosystem,
    /// SemVer 2.0 precedence.
    Semver,
    /// Git commits: not matched by imgscan (packages carry no commits).
    Git,
}

/// `affected[].ranges[]`.
#[derive(Debug, Clone, Deserialize)]
pub struct Range {
    /// How the events' versions are ordered.
    #[serde(rename = "type")]
    pub kind: RangeType,
    /// The events, in any order.
    pub events: Vec<Event>,
}

/// One range event. Serialized the OSV way (`{"fixed": "1.2"}`), which is
/// also how the database stores ranges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// Affected from this version on; `"0"` means from the beginning.
    Introduced(String),
    /// Not affected from this version on.
    Fixed(String),
    /// Affected up to and including this version.
    LastAffected(String),
    /// Nothing at or above this version is in the range; `"*"` is no limit.
    Limit(String),
}

impl Event {
    /// The event's version string.
    pub fn version(&self) -> &str {
        match self {
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
        }
    }

    /// Whether the version is a placeholder no comparator may see:
    /// `introduced: "0"` or `limit: "*"`.
    pub fn is_sentinel(&self) -> bool {
        matches!(self, Event::Introduced(v) if v == "0")
            || matches!(self, Event::Limit(v) if v == "*")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_record_and_ignores_unknown_fields() {
        let json = r#"{"id":"X-1","details":"long","references":[],"affected":[{"package":{"ecosystem":"npm","name":"a"},
            "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.0"}]}],
            "database_specific":{"severity":"HIGH","other":[1,2]}}],"database_specific":{"severity":3}}"#;
        let record: Record = serde_json::from_str(json).unwrap();
        assert_eq!(record.id, "X-1");
        let affected = &record.affected[0];
        assert_eq!(affected.ranges[0].kind, RangeType::Semver);
        assert_eq!(
            affected.ranges[0].events,
            [Event::Introduced("0".into()), Event::Fixed("1.0.0".into())]
        );
        let specific = affected.database_specific.as_ref().unwrap();
        assert_eq!(specific.severity_label(), Some("HIGH"));
        assert_eq!(record.database_specific.unwrap().severity_label(), None);
    }

    #[test]
    fn refuses_unknown_range_types_and_odd_events() {
        let range = |body: &str| {
            let json = format!(
                r#"{{"id":"X","affected":[{{"package":{{"ecosystem":"npm","name":"a"}},"ranges":[{body}]}}]}}"#
            );
            serde_json::from_str::<Record>(&json).map(|_| ())
        };
        assert!(range(r#"{"type":"SEMVER","events":[{"introduced":"0"}]}"#).is_ok());
        assert!(range(r#"{"type":"BOGUS","events":[{"introduced":"0"}]}"#).is_err());
        assert!(range(r#"{"type":"SEMVER","events":[{"introduced":"0","fixed":"1"}]}"#).is_err());
        assert!(range(r#"{"type":"SEMVER","events":[{"removed":"1"}]}"#).is_err());
        assert!(range(r#"{"type":"SEMVER"}"#).is_err());
    }

    #[test]
    fn sentinels() {
        assert!(Event::Introduced("0".into()).is_sentinel());
        assert!(Event::Limit("*".into()).is_sentinel());
        assert!(!Event::Fixed("0".into()).is_sentinel());
        assert!(!Event::Introduced("0.0".into()).is_sentinel());
    }
}
