//! Matching packages against the advisory database, with OSV's semantics:
//! which ecosystem and name to look up ([`target`]), whether the version
//! is affected ([`range`]), and one result per (package, vulnerability)
//! ([`merge`]). Withdrawn records never reach the database.

use std::collections::HashMap;
use std::rc::Rc;

use imgscan_sbom::{OsRelease, Package, Severity};
use rusqlite::Statement;
use serde::Serialize;

use crate::db::{Database, DbError};
use crate::osv::Event;
use crate::severity::{Cvss, severity_from_name};

mod merge;
mod range;
mod target;

/// What kind of advisory matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VulnerabilityKind {
    /// A vulnerability.
    Vulnerability,
    /// A malicious package release (an OSV `MAL-` record): always CRITICAL.
    Malicious,
}

/// One vulnerability of one package, the package found at `P`: a match
/// of [`Database::matches`] names it by its index ([`PackageIndex`]); the
/// report's `vulnerabilities[]` entry is this type too, with the layers
/// and files the scanner found the package in, so the fields are declared
/// here once.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Vulnerability<P = PackageIndex> {
    /// Primary id (see `merge` for how it is chosen).
    pub id: String,
    /// Vulnerability or malicious package.
    pub kind: VulnerabilityKind,
    /// Every other id of the same vulnerability, sorted.
    pub aliases: Vec<String>,
    /// The package's purl.
    pub purl: String,
    /// The package's name.
    pub name: String,
    /// The package's version as installed (Debian and Alpine are matched
    /// on the source package's version).
    pub version: String,
    /// Versions that fix it, above the installed one, in version order;
    /// empty when no fix is known.
    pub fixed: Vec<String>,
    /// Severity: from the best CVSS vector, else the feed's label.
    pub severity: Severity,
    /// The CVSS vector the severity comes from, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cvss: Option<Cvss>,
    /// Where the package was found; its fields are written in line, before
    /// `summary`.
    #[serde(flatten)]
    pub at: P,
    /// One-line summary.
    pub summary: String,
}

impl<P> Vulnerability<P> {
    /// The same vulnerability, its package found at `at` instead.
    pub fn found_at<Q>(self, at: Q) -> Vulnerability<Q> {
        let Vulnerability {
            id,
            kind,
            aliases,
            purl,
            name,
            version,
            fixed,
            severity,
            cvss,
            at: _,
            summary,
        } = self;
        Vulnerability {
            id,
            kind,
            aliases,
            purl,
            name,
            version,
            fixed,
            severity,
            cvss,
            at,
            summary,
        }
    }
}

/// Which package a match is about: its index in the slice given to
/// [`Database::matches`]. Not part of any report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PackageIndex {
    /// The index.
    #[serde(skip)]
    pub package: usize,
}

/// One stored affected entry, read back for matching.
pub(crate) struct Candidate {
    pub record_id: String,
    pub ranges: Vec<Vec<Event>>,
    pub versions: Vec<String>,
    pub severity: Severity,
    pub cvss: Option<Cvss>,
    pub summary: String,
    pub aliases: Vec<String>,
    pub upstream: Vec<String>,
}

const LOOKUP: &str = "SELECT a.record_id, a.ranges, a.versions, a.severity,
        a.cvss_version, a.cvss_vector, a.cvss_score, r.summary, r.aliases, r.upstream
    FROM affected a JOIN records r ON r.id = a.record_id
    WHERE a.eco_key = ?1 AND a.name = ?2";

impl Database {
    /// The vulnerabilities of `packages` on `os`: one per (advisory,
    /// package index), sorted by package index, then id. OS packages
    /// (deb, apk, rpm) need the OS to pick their ecosystem; without it
    /// only npm packages are matched.
    pub fn matches(
        &self,
        packages: &[Package],
        os: Option<&OsRelease>,
    ) -> Result<Vec<Vulnerability>, DbError> {
        let mut stmt = self
            .conn
            .prepare_cached(LOOKUP)
            .map_err(DbError::sqlite(&self.path))?;
        let mut cache = HashMap::<(String, String), Vec<Rc<Candidate>>>::new();
        let mut found = Vec::new();
        for (index, package) in packages.iter().enumerate() {
            let Some(target) = target::target(package, os) else {
                continue;
            };
            let mut hits = Vec::new();
            for key in &target.keys {
                let lookup = (key.clone(), target.name.to_string());
                if !cache.contains_key(&lookup) {
                    let candidates = self.candidates(&mut stmt, key, &target.name)?;
                    cache.insert(lookup.clone(), candidates);
                }
                for candidate in cache.get(&lookup).into_iter().flatten() {
                    let entry = range::Entry {
                        ranges: &candidate.ranges,
                        versions: &candidate.versions,
                    };
                    if let Some(fixed) = range::affected(target.scheme, target.version, &entry) {
                        hits.push(merge::Hit {
                            candidate: Rc::clone(candidate),
                            fixed,
                        });
                    }
                }
            }
            found.extend(merge::group(index, package, &hits, target.scheme));
        }
        found.sort_by(|a, b| (a.at.package, &a.id).cmp(&(b.at.package, &b.id)));
        Ok(found)
    }

    fn candidates(
        &self,
        stmt: &mut Statement<'_>,
        key: &str,
        name: &str,
    ) -> Result<Vec<Rc<Candidate>>, DbError> {
        let rows = stmt
            .query_map([key, name], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<f64>>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, String>(8)?,
                    r.get::<_, String>(9)?,
                ))
            })
            .map_err(DbError::sqlite(&self.path))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, ranges, versions, severity, cv, vector, score, summary, aliases, upstream) =
                row.map_err(DbError::sqlite(&self.path))?;
            let corrupt = |what: &str, e: serde_json::Error| DbError::Corrupt {
                path: self.path.clone(),
                reason: format!("`{what}` of `{id}`: {e}"),
            };
            let cvss = match (cv, vector, score) {
                (Some(version), Some(vector), Some(score)) => Some(Cvss {
                    version,
                    vector,
                    score,
                }),
                _ => None,
            };
            out.push(Rc::new(Candidate {
                ranges: serde_json::from_str(&ranges).map_err(|e| corrupt("ranges", e))?,
                versions: serde_json::from_str(&versions).map_err(|e| corrupt("versions", e))?,
                aliases: serde_json::from_str(&aliases).map_err(|e| corrupt("aliases", e))?,
                upstream: serde_json::from_str(&upstream).map_err(|e| corrupt("upstream", e))?,
                severity: severity_from_name(&severity),
                cvss,
                summary,
                record_id: id,
            }));
        }
        Ok(out)
    }
}
