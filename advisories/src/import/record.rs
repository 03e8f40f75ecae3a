//! One OSV JSON document turned into the rows the database stores, or the
//! reason it is passed over. Pure and thread-safe: the import runs it on
//! many records at once.
//!
//! Kept: affected entries of ecosystems imgscan has a version scheme for,
//! their ECOSYSTEM and SEMVER ranges (GIT ranges are dropped: packages
//! carry no commits) and `versions` lists. Malformed: invalid JSON, a
//! missing id/ecosystem/name, an unknown range type, an event that is not
//! exactly one of the four kinds, a version the ecosystem's scheme refuses.

use imgscan_sbom::Severity;

use crate::db::schema::{ecosystem_family, ecosystem_key};
use crate::feeds::{Feed, feed};
use crate::osv::{Affected, Event, RangeType, Record};
use crate::severity::{Cvss, best_cvss, severity_from_label};

/// A record ready to be written.
#[derive(Debug)]
pub(crate) struct StoredRecord {
    pub id: String,
    pub modified: String,
    pub published: String,
    pub summary: String,
    pub aliases: String,
    pub upstream: String,
    pub related: String,
    pub affected: Vec<StoredAffected>,
}

/// One affected package entry ready to be written.
#[derive(Debug)]
pub(crate) struct StoredAffected {
    pub family: String,
    pub ecosystem: String,
    pub eco_key: String,
    pub name: String,
    /// JSON `[[event, …], …]`: one array per ECOSYSTEM/SEMVER range.
    pub ranges: String,
    /// JSON array of versions.
    pub versions: String,
    pub severity: Severity,
    pub cvss: Option<Cvss>,
}

/// What became of one document.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Stored.
    Stored(StoredRecord),
    /// Withdrawn: not stored, and an earlier copy is removed.
    Withdrawn(String),
    /// No affected package in an ecosystem imgscan matches.
    Ignored,
    /// Passed over with a warning.
    Malformed {
        /// The record's id when it could be read, else the file name.
        what: String,
        /// Why.
        reason: String,
        /// Its ecosystem family, when it could be read.
        family: Option<String>,
    },
}

/// Reads one OSV document; `name` is its file or archive entry name.
pub(crate) fn prepare(name: &str, bytes: &[u8]) -> Outcome {
    let mut record: Record = match serde_json::from_slice(bytes) {
        Ok(record) => record,
        Err(e) => return malformed_json(name, bytes, e.to_string()),
    };
    if record.id.trim().is_empty() {
        record.id = unnumbered_malware_id(name).unwrap_or_default();
    }
    if record.id.trim().is_empty() {
        return Outcome::Malformed {
            what: name.to_string(),
            reason: "empty `id`".into(),
            family: record
                .affected
                .first()
                .map(|a| ecosystem_family(&a.package.ecosystem).to_string()),
        };
    }
    if record.withdrawn.is_some() {
        return Outcome::Withdrawn(record.id);
    }
    let mut affected = Vec::new();
    for entry in &record.affected {
        let Some(feed) = feed(&entry.package.ecosystem) else {
            continue;
        };
        match store_affected(&record, entry, feed) {
            Ok(Some(stored)) => affected.push(stored),
            Ok(None) => {}
            Err(reason) => {
                return Outcome::Malformed {
                    what: record.id.clone(),
                    reason: reason.to_string(),
                    family: Some(ecosystem_family(&entry.package.ecosystem).to_string()),
                };
            }
        }
    }
    if affected.is_empty() {
        return Outcome::Ignored;
    }
    let json = |ids: &[String]| serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
    Outcome::Stored(StoredRecord {
        aliases: json(&record.aliases),
        upstream: json(&record.upstream),
        related: json(&record.related),
        id: record.id,
        modified: record.modified,
        published: record.published,
        summary: record.summary,
        affected,
    })
}

/// ossf/malicious-packages files reports it has not numbered yet as
/// `MAL-0000-<source>-<hash>.json` with an empty `id`: the file stem stands
/// in for the id, so the malicious package is still caught.
fn unnumbered_malware_id(name: &str) -> Option<String> {
    let file = name.rsplit(['/', '\\']).next()?;
    let stem = file.strip_suffix(".json")?;
    stem.starts_with("MAL-0000-").then(|| stem.to_string())
}

/// A document serde could not read as a record: say which, naming its id
/// and family when the JSON itself is sound.
fn malformed_json(name: &str, bytes: &[u8], reason: String) -> Outcome {
    let value: Option<serde_json::Value> = serde_json::from_slice(bytes).ok();
    let id = value
        .as_ref()
        .and_then(|v| v.get("id")?.as_str())
        .filter(|id| !id.is_empty());
    let family = value.as_ref().and_then(|v| {
        let eco = v
            .get("affected")?
            .get(0)?
            .get("package")?
            .get("ecosystem")?;
        Some(ecosystem_family(eco.as_str()?).to_string())
    });
    Outcome::Malformed {
        what: id.map_or_else(|| name.to_string(), |id| format!("{id} ({name})")),
        reason,
        family,
    }
}

/// Why an affected entry cannot be stored; the record becomes a warning.
#[derive(Debug, thiserror::Error)]
enum AffectedError {
    /// A package without a name.
    #[error("`{ecosystem}` package with an empty name")]
    EmptyName {
        /// The package's ecosystem.
        ecosystem: String,
    },
    /// A version its ecosystem's scheme cannot read.
    #[error("`{ecosystem}` package `{name}`: {source}")]
    Version {
        /// The package's ecosystem.
        ecosystem: String,
        /// The package.
        name: String,
        /// What the scheme says.
        source: crate::VersionError,
    },
    /// Ranges or versions that do not encode (not expected of parsed JSON).
    #[error("{0}")]
    Encode(#[from] serde_json::Error),
}

/// The stored form of one affected entry; `None` when it has nothing a
/// package version can match (only GIT ranges, no versions).
fn store_affected(
    record: &Record,
    entry: &Affected,
    feed: &Feed,
) -> Result<Option<StoredAffected>, AffectedError> {
    let scheme = feed.scheme;
    let package = &entry.package;
    if package.name.is_empty() {
        return Err(AffectedError::EmptyName {
            ecosystem: package.ecosystem.clone(),
        });
    }
    let invalid = |source: crate::VersionError| AffectedError::Version {
        ecosystem: package.ecosystem.clone(),
        name: package.name.clone(),
        source,
    };
    let mut ranges: Vec<&[Event]> = Vec::new();
    for range in &entry.ranges {
        if range.kind == RangeType::Git {
            continue;
        }
        for event in range.events.iter().filter(|e| !e.is_sentinel()) {
            scheme.validate(event.version()).map_err(invalid)?;
        }
        ranges.push(&range.events);
    }
    for version in &entry.versions {
        scheme.validate(version).map_err(invalid)?;
    }
    if ranges.is_empty() && entry.versions.is_empty() {
        return Ok(None);
    }
    let cvss = best_cvss(entry.severity.iter().chain(&record.severity));
    let label = [
        entry.ecosystem_specific.as_ref(),
        entry.database_specific.as_ref(),
        record.database_specific.as_ref(),
    ]
    .into_iter()
    .flatten()
    .filter_map(|s| s.severity_label())
    .chain(
        entry
            .severity
            .iter()
            .chain(&record.severity)
            .filter(|s| s.kind == "Ubuntu")
            .map(|s| s.score.as_str()),
    )
    .find_map(severity_from_label);
    let severity = cvss
        .as_ref()
        .map(Cvss::severity)
        .or(label)
        .unwrap_or(Severity::Unknown);
    Ok(Some(StoredAffected {
        family: ecosystem_family(&package.ecosystem).to_string(),
        ecosystem: package.ecosystem.clone(),
        eco_key: ecosystem_key(&package.ecosystem).to_string(),
        name: (feed.name_key)(&package.name).into_owned(),
        ranges: serde_json::to_string(&ranges)?,
        versions: serde_json::to_string(&entry.versions)?,
        severity,
        cvss,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(json: &str) -> StoredRecord {
        match prepare("t.json", json.as_bytes()) {
            Outcome::Stored(r) => r,
            other => panic!("not stored: {other:?}"),
        }
    }

    fn reason(json: &str) -> String {
        match prepare("t.json", json.as_bytes()) {
            Outcome::Malformed { what, reason, .. } => format!("{what}: {reason}"),
            other => panic!("not malformed: {other:?}"),
        }
    }

    #[test]
    fn keeps_known_ecosystems_and_drops_git_ranges() {
        let r = stored(
            r#"{"id":"GHSA-1","aliases":["CVE-1"],"affected":[
              {"package":{"ecosystem":"npm","name":"a"},"ranges":[
                 {"type":"GIT","repo":"x","events":[{"introduced":"abc"}]},
                 {"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.3"}]}]},
              {"package":{"ecosystem":"RubyGems","name":"a"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]},
              {"package":{"ecosystem":"npm","name":"git-only"},"ranges":[{"type":"GIT","repo":"x","events":[{"introduced":"abc"}]}]}]}"#,
        );
        assert_eq!(r.aliases, r#"["CVE-1"]"#);
        assert_eq!(r.affected.len(), 1);
        let a = &r.affected[0];
        assert_eq!((a.family.as_str(), a.name.as_str()), ("npm", "a"));
        assert_eq!(a.ranges, r#"[[{"introduced":"0"},{"fixed":"1.2.3"}]]"#);
        assert_eq!(a.versions, "[]");
    }

    #[test]
    fn withdrawn_and_foreign_records() {
        let withdrawn = r#"{"id":"W-1","withdrawn":"2020-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"a"},"versions":["1.0.0"]}]}"#;
        assert!(
            matches!(prepare("w.json", withdrawn.as_bytes()), Outcome::Withdrawn(id) if id == "W-1")
        );
        let gems = r#"{"id":"G-1","affected":[{"package":{"ecosystem":"RubyGems","name":"a"},"versions":["1.0"]}]}"#;
        assert!(matches!(
            prepare("g.json", gems.as_bytes()),
            Outcome::Ignored
        ));
        // PyPI names are stored in PEP 503 form, as packages are looked up.
        let pypi = r#"{"id":"P-1","affected":[{"package":{"ecosystem":"PyPI","name":"Flask_SQLAlchemy"},"versions":["1.0"]}]}"#;
        assert_eq!(stored(pypi).affected[0].name, "flask-sqlalchemy");
    }

    #[test]
    fn malformed_records_say_why() {
        assert!(reason("{not json").starts_with("t.json: "));
        assert!(reason(r#"{"affected":[]}"#).contains("missing field `id`"));
        assert!(reason(r#"{"id":" "}"#).contains("empty `id`"));
        let unnumbered = r#"{"id":"","affected":[{"package":{"ecosystem":"npm","name":"a"},"versions":["1.0.0"]}]}"#;
        match prepare("osv/MAL-0000-ghsa-malware-13f6.json", unnumbered.as_bytes()) {
            Outcome::Stored(r) => assert_eq!(r.id, "MAL-0000-ghsa-malware-13f6"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            prepare("x/GHSA-1.json", unnumbered.as_bytes()),
            Outcome::Malformed { .. }
        ));
        let bad_type = reason(
            r#"{"id":"X-2","affected":[{"package":{"ecosystem":"npm","name":"a"},"ranges":[{"type":"WEIRD","events":[]}]}]}"#,
        );
        assert!(bad_type.starts_with("X-2 (t.json): "), "{bad_type}");
        assert!(bad_type.contains("WEIRD"), "{bad_type}");
        let bad_version = reason(
            r#"{"id":"X-3","affected":[{"package":{"ecosystem":"Debian:12","name":"a"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1:"}]}]}]}"#,
        );
        assert_eq!(
            bad_version,
            "X-3: `Debian:12` package `a`: invalid dpkg version `1:`: nothing after colon in version number"
        );
        let bad_listed = reason(
            r#"{"id":"X-4","affected":[{"package":{"ecosystem":"npm","name":"a"},"versions":["not-a-version"]}]}"#,
        );
        assert!(bad_listed.contains("not-a-version"), "{bad_listed}");
        assert!(
            reason(r#"{"id":"X-5","affected":[{"package":{"ecosystem":"npm"}}]}"#).contains("name")
        );
    }

    #[test]
    fn malformed_records_keep_their_family() {
        let json = r#"{"id":"X-6","affected":[{"package":{"ecosystem":"Alpine:v3.19","name":"a"},"ranges":[{"type":"ECOSYSTEM","events":[{"fixed":"1","introduced":"0"}]}]}]}"#;
        match prepare("x.json", json.as_bytes()) {
            Outcome::Malformed { family, .. } => assert_eq!(family.as_deref(), Some("Alpine")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn severity_sources_in_order() {
        let sev = |json: &str| {
            let a = &stored(json).affected[0];
            (a.severity, a.cvss.as_ref().map(|c| c.version.clone()))
        };
        let pkg = r#""package":{"ecosystem":"npm","name":"a"},"versions":["1.0.0"]"#;
        assert_eq!(
            sev(&format!(
                r#"{{"id":"S","severity":[{{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}],"database_specific":{{"severity":"LOW"}},"affected":[{{{pkg}}}]}}"#
            )),
            (Severity::Critical, Some("3.1".into()))
        );
        assert_eq!(
            sev(&format!(
                r#"{{"id":"S","database_specific":{{"severity":"MODERATE"}},"affected":[{{{pkg},"ecosystem_specific":{{"severity":"HIGH"}}}}]}}"#
            )),
            (Severity::High, None)
        );
        assert_eq!(
            sev(&format!(
                r#"{{"id":"S","database_specific":{{"severity":"MODERATE"}},"affected":[{{{pkg}}}]}}"#
            )),
            (Severity::Medium, None)
        );
        assert_eq!(
            sev(&format!(
                r#"{{"id":"S","severity":[{{"type":"Ubuntu","score":"negligible"}}],"affected":[{{{pkg}}}]}}"#
            )),
            (Severity::Low, None)
        );
        assert_eq!(
            sev(&format!(r#"{{"id":"S","affected":[{{{pkg}}}]}}"#)),
            (Severity::Unknown, None)
        );
    }
}
