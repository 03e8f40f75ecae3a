//! Reports read back, and a scan compared with an earlier one of the same
//! image (`scan --baseline OLD.json`): each vulnerability, malware match
//! and finding becomes `new` or `unchanged` by its [`fingerprint`], what the
//! baseline had and this scan has not is listed as `fixed`, and the gate
//! counts only what is new.
//!
//! A report file is untrusted input: it is read only when it is a regular
//! file, at most [`MAX_REPORT_BYTES`], and must be `imgscan.report/v1`.
//! Its items are fingerprinted again from their fields, so a v1 report
//! written before fingerprints existed is a baseline too.
//!
//! "Another image" is decided on what identifies an image across rebuilds,
//! never on digests (a rebuild changes every digest): the repository of a
//! registry target (`registry.local/app`, without tag or digest), the
//! platform, and the OS id (`debian`, `alpine`). A file or directory target
//! is named by its path, which weekly builds often change, so local paths
//! are not compared.

use super::fingerprint;
use super::{Report, Status, Tracked};
use crate::model::TargetInfo;
use imgscan_sbom::Severity;
use imgscan_sbom::input::open_if_regular;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest report file read back (a scan report of a big image is a
/// few MiB; `inspect --files` of a huge one is the most there is).
pub const MAX_REPORT_BYTES: u64 = 256 << 20;

/// Why bytes are not a report this build reads, in a few words.
#[derive(Debug, thiserror::Error)]
pub enum ReportDocError {
    /// Not JSON at all.
    #[error("not valid JSON ({0})")]
    NotJson(#[source] serde_json::Error),
    /// A report of another version of the schema.
    #[error(
        "it is an `{0}` report and this imgscan reads `{schema}` (scan that image again with this version)",
        schema = super::SCHEMA
    )]
    OtherVersion(
        /// The schema it names.
        String,
    ),
    /// JSON of another schema.
    #[error("its schema is `{0}`, not `{schema}`", schema = super::SCHEMA)]
    OtherSchema(
        /// The schema it names.
        String,
    ),
    /// A SARIF log.
    #[error("it is a SARIF log; use `-f json` reports")]
    Sarif,
    /// JSON without a `schema` field.
    #[error("it has no `schema` field (`{schema}`)", schema = super::SCHEMA)]
    NoSchema,
    /// The right schema, but fields of the wrong shape.
    #[error("it does not match `{schema}`: {0}", schema = super::SCHEMA)]
    Shape(#[source] serde_json::Error),
}

/// Why a report file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ReportFileError {
    /// The file cannot be opened or read.
    #[error("cannot read report `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A directory, FIFO, device…
    #[error("report `{path}` is not a regular file")]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// Over [`MAX_REPORT_BYTES`].
    #[error("report `{path}` is larger than {limit} bytes")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The cap.
        limit: u64,
    },
    /// Not JSON, or not a report of the version this build reads.
    #[error("`{path}` is not a usable imgscan report: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        reason: ReportDocError,
    },
    /// A report of another image.
    #[error("baseline `{path}` is a report of another image: {reason}")]
    OtherImage {
        /// The file.
        path: PathBuf,
        /// What differs.
        reason: String,
    },
}

/// A report read back: the fields comparisons need, every item with its
/// fingerprint (computed again from its fields).
#[derive(Debug, Clone, Deserialize)]
pub struct ReportDoc {
    /// `imgscan.report/v1`.
    pub schema: String,
    /// What was scanned.
    pub target: DocTarget,
    /// Its layers.
    #[serde(default)]
    pub layers: Vec<DocLayer>,
    /// Packages, when they were listed.
    #[serde(default)]
    pub packages: Option<Vec<DocPackage>>,
    /// Vulnerabilities, when they were checked.
    #[serde(default)]
    pub vulnerabilities: Option<Vec<DocVulnerability>>,
    /// Malware matches, when rules ran.
    #[serde(default)]
    pub malware: Option<Vec<DocMalware>>,
    /// Findings, when checks ran.
    #[serde(default)]
    pub findings: Option<Vec<DocFinding>>,
}

/// `target` of a report read back.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DocTarget {
    /// The TARGET as given.
    pub input: String,
    /// Its kind.
    pub kind: String,
    /// Manifest or config digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// `os/arch[/variant]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The names the image went by in its archive or layout.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// The OS found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<DocOs>,
}

/// `target.os` of a report read back.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DocOs {
    /// `os-release` ID.
    pub id: String,
    /// `os-release` VERSION_ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
}

/// One layer of a report read back.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DocLayer {
    /// 0-based index.
    pub index: usize,
    /// Blob digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Uncompressed digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff_id: Option<String>,
    /// Uncompressed size.
    #[serde(default)]
    pub size: u64,
    /// The history line that made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

/// One package of a report read back.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DocPackage {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// purl type.
    pub ecosystem: String,
    /// The database or lockfile it was listed in.
    pub location: String,
}

/// One vulnerability of a report read back.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DocVulnerability {
    /// Advisory id.
    pub id: String,
    /// `vulnerability` or `malicious`.
    pub kind: String,
    /// The package.
    pub purl: String,
    /// Package name.
    pub name: String,
    /// Installed version.
    pub version: String,
    /// Fixing versions.
    #[serde(default)]
    pub fixed: Vec<String>,
    /// Severity.
    pub severity: Severity,
    /// One line about it.
    #[serde(default)]
    pub summary: String,
    /// Its layer in that report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<usize>,
    /// Recomputed from the fields.
    #[serde(default)]
    pub fingerprint: String,
}

/// One malware match of a report read back.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DocMalware {
    /// Rule name.
    pub rule: String,
    /// Severity.
    pub severity: Severity,
    /// Path in the image.
    pub path: String,
    /// SHA-256 of the matched bytes.
    pub sha256: String,
    /// Its layer in that report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<usize>,
    /// Recomputed from the fields.
    #[serde(default)]
    pub fingerprint: String,
}

/// One finding of a report read back.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DocFinding {
    /// Check id.
    pub id: String,
    /// Severity.
    pub severity: Severity,
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Path in the image.
    pub path: String,
    /// What was seen.
    #[serde(default)]
    pub evidence: String,
    /// Its layer in that report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<usize>,
    /// Recomputed from the fields.
    #[serde(default)]
    pub fingerprint: String,
}

impl ReportDoc {
    /// Reads the report file `path`: a regular file of at most
    /// [`MAX_REPORT_BYTES`] holding an `imgscan.report/v1` report.
    pub fn read(path: &Path) -> Result<ReportDoc, ReportFileError> {
        let io = |source| ReportFileError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = open_if_regular(path)
            .map_err(io)?
            .ok_or_else(|| ReportFileError::NotAFile {
                path: path.to_path_buf(),
            })?;
        let meta = file.metadata().map_err(io)?;
        if meta.len() > MAX_REPORT_BYTES {
            return Err(ReportFileError::TooLarge {
                path: path.to_path_buf(),
                limit: MAX_REPORT_BYTES,
            });
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.take(MAX_REPORT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > MAX_REPORT_BYTES {
            return Err(ReportFileError::TooLarge {
                path: path.to_path_buf(),
                limit: MAX_REPORT_BYTES,
            });
        }
        ReportDoc::parse(&bytes).map_err(|reason| ReportFileError::Invalid {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Whether it is a report of `scan` (vulnerabilities, malware or
    /// findings checked), not of `inspect` or `sbom`.
    pub fn is_scan(&self) -> bool {
        self.vulnerabilities.is_some() || self.malware.is_some() || self.findings.is_some()
    }

    /// Parses report bytes; the error says what is wrong, in a few words.
    pub fn parse(bytes: &[u8]) -> Result<ReportDoc, ReportDocError> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(ReportDocError::NotJson)?;
        Self::from_value(value)
    }

    /// A report in memory, as it would be read back from its JSON.
    pub fn of(report: &Report) -> ReportDoc {
        let value = serde_json::to_value(report).expect("the report model always serialises");
        Self::from_value(value).expect("a report reads back")
    }

    fn from_value(value: serde_json::Value) -> Result<ReportDoc, ReportDocError> {
        match value.get("schema").and_then(|s| s.as_str()) {
            Some(super::SCHEMA) => {}
            Some(other) if other.starts_with("imgscan.report/") => {
                return Err(ReportDocError::OtherVersion(other.to_string()));
            }
            Some(other) => return Err(ReportDocError::OtherSchema(other.to_string())),
            None if value.get("runs").is_some() => return Err(ReportDocError::Sarif),
            None => return Err(ReportDocError::NoSchema),
        }
        let mut doc: ReportDoc = serde_json::from_value(value).map_err(ReportDocError::Shape)?;
        for v in doc.vulnerabilities.iter_mut().flatten() {
            v.fingerprint = fingerprint::of_vulnerability(&v.purl, &v.name, &v.id);
        }
        for m in doc.malware.iter_mut().flatten() {
            m.fingerprint = fingerprint::of_malware(&m.rule, &m.path, &m.sha256);
        }
        for f in doc.findings.iter_mut().flatten() {
            f.fingerprint = fingerprint::of_finding(&f.id, &f.path, &f.evidence);
        }
        Ok(doc)
    }
}

/// Whether `path` is a regular file whose first non-blank byte is `{`:
/// JSON, which no image form is (tar, gzip, zstd, qcow2, GPT all start
/// otherwise).
pub fn looks_like_report(path: &Path) -> bool {
    let Ok(Some(file)) = open_if_regular(path) else {
        return false;
    };
    let mut head = Vec::with_capacity(64);
    if file.take(64).read_to_end(&mut head).is_err() {
        return false;
    }
    head.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'{')
}

/// `summary.baseline`: the comparison with the baseline in numbers.
#[derive(Debug, Clone, Serialize)]
pub struct BaselineSummary {
    /// The baseline's target as it was given to that scan.
    pub target: String,
    /// The baseline image's digest, when it had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Items not in the baseline (the gate counts these).
    pub new: usize,
    /// Items in the baseline too.
    pub unchanged: usize,
    /// Baseline items this scan no longer has (`fixed[]`).
    pub fixed: usize,
}

/// What `fixed[]` lists: a baseline item this scan no longer has.
#[derive(Debug, Clone, Serialize)]
pub struct FixedItem {
    /// `vulnerability`, `malware` or `finding`.
    pub kind: &'static str,
    /// Its fingerprint.
    pub fingerprint: String,
    /// The advisory id, rule name or check id.
    pub id: String,
    /// Its severity in the baseline.
    pub severity: Severity,
    /// The package (vulnerabilities).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The version the baseline had (vulnerabilities).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The path (malware, findings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// The table's lines about the baseline (empty without one): the counts,
/// and each fixed item.
pub fn render_table(report: &Report) -> String {
    use std::fmt::Write as _;
    let (Some(summary), Some(fixed)) = (&report.summary.baseline, &report.fixed) else {
        return String::new();
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Baseline {}: {} new, {} unchanged, {} fixed (the gate counts only new ones)",
        plain(&summary.target),
        summary.new,
        summary.unchanged,
        summary.fixed
    );
    for f in fixed {
        let what = match (&f.name, &f.version, &f.path) {
            (Some(name), Some(version), _) => format!("{name} {version}"),
            (_, _, Some(path)) => path.clone(),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  fixed {:<13} {:<8} {:<30} {}",
            f.kind,
            f.severity.to_string(),
            plain(&f.id),
            plain(&what)
        );
    }
    out
}

/// `text` for a terminal: control characters written `\xNN`.
pub fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Refuses a baseline of another image than `target`: a different
/// registry repository, platform or OS (see the module comment).
pub fn check_same_image(
    path: &Path,
    base: &DocTarget,
    target: &TargetInfo,
) -> Result<(), ReportFileError> {
    let other = |reason: String| {
        Err(ReportFileError::OtherImage {
            path: path.to_path_buf(),
            reason,
        })
    };
    if base.kind == "registry" && target.kind == "registry" {
        let (was, is) = (repository(&base.input), repository(&target.input));
        if was != is {
            return other(format!("repository `{was}`, this scan `{is}`"));
        }
    }
    // Archives and layouts name their image (RepoTags, ref names): two
    // names of one repository are one image across rebuilds.
    let (was, is) = (repositories(&base.names), repositories(&target.names));
    if !was.is_empty() && !is.is_empty() && was.is_disjoint(&is) {
        let list = |set: &BTreeSet<&str>| set.iter().copied().collect::<Vec<_>>().join("`, `");
        return other(format!("image `{}`, this scan `{}`", list(&was), list(&is)));
    }
    if let (Some(was), Some(is)) = (&base.platform, &target.platform)
        && was != is
    {
        return other(format!("platform `{was}`, this scan `{is}`"));
    }
    if let (Some(was), Some(is)) = (&base.os, &target.os)
        && was.id != is.id
    {
        return other(format!("OS `{}`, this scan `{}`", was.id, is.id));
    }
    Ok(())
}

/// The repositories of image names; a bare tag (an OCI ref name such as
/// `1.0`, which names no repository) is left out.
fn repositories(names: &[String]) -> BTreeSet<&str> {
    names
        .iter()
        .filter(|n| n.contains(':') || n.contains('/') || n.contains('@'))
        .map(|n| repository(n))
        .collect()
}

/// The repository of a registry reference: no scheme, tag or digest.
pub fn repository(reference: &str) -> &str {
    let reference = reference.strip_prefix("registry:").unwrap_or(reference);
    let reference = reference.split('@').next().unwrap_or(reference);
    let name_start = reference.rfind('/').map_or(0, |i| i + 1);
    match reference[name_start..].rfind(':') {
        Some(colon) => &reference[..name_start + colon],
        None => reference,
    }
}

impl Report {
    /// Compares this report with `base`, a report of the same image:
    /// marks each item `new` or `unchanged`, lists what `base` had and this
    /// report has not in `fixed[]` (leaving out `withheld`, fingerprints of
    /// items this scan found but did not report: ignored or filtered), and
    /// fills `summary.baseline`. A section the baseline did not check makes
    /// every item of it new, with a warning; a section this scan did not
    /// check fixes nothing.
    pub fn apply_baseline(&mut self, base: &ReportDoc, withheld: &BTreeSet<String>) {
        let mut tally = Tally::default();
        let vulns = tally.mark(
            "vulnerabilities",
            self.vulnerabilities.as_mut(),
            base.vulnerabilities
                .as_ref()
                .map(|v| v.iter().map(|v| v.fingerprint.as_str()).collect()),
        );
        let malware = tally.mark(
            "malware",
            self.malware.as_mut(),
            base.malware
                .as_ref()
                .map(|v| v.iter().map(|v| v.fingerprint.as_str()).collect()),
        );
        let findings = tally.mark(
            "findings",
            self.findings.as_mut(),
            base.findings
                .as_ref()
                .map(|v| v.iter().map(|v| v.fingerprint.as_str()).collect()),
        );
        let gone = |fp: &str, now: &BTreeSet<String>| !now.contains(fp) && !withheld.contains(fp);
        let mut fixed = Vec::new();
        if let (Some(now), Some(was)) = (&vulns, &base.vulnerabilities) {
            for v in was.iter().filter(|v| gone(&v.fingerprint, now)) {
                fixed.push(FixedItem {
                    kind: "vulnerability",
                    fingerprint: v.fingerprint.clone(),
                    id: v.id.clone(),
                    severity: v.severity,
                    name: Some(v.name.clone()),
                    version: Some(v.version.clone()),
                    path: None,
                });
            }
        }
        if let (Some(now), Some(was)) = (&malware, &base.malware) {
            for m in was.iter().filter(|m| gone(&m.fingerprint, now)) {
                fixed.push(FixedItem {
                    kind: "malware",
                    fingerprint: m.fingerprint.clone(),
                    id: m.rule.clone(),
                    severity: m.severity,
                    name: None,
                    version: None,
                    path: Some(m.path.clone()),
                });
            }
        }
        if let (Some(now), Some(was)) = (&findings, &base.findings) {
            for f in was.iter().filter(|f| gone(&f.fingerprint, now)) {
                fixed.push(FixedItem {
                    kind: "finding",
                    fingerprint: f.fingerprint.clone(),
                    id: f.id.clone(),
                    severity: f.severity,
                    name: None,
                    version: None,
                    path: Some(f.path.clone()),
                });
            }
        }
        let mut seen = BTreeSet::new();
        fixed.retain(|f| seen.insert(f.fingerprint.clone()));
        fixed.sort_by(|a, b| {
            (a.severity, a.kind, &a.id, &a.name, &a.path)
                .cmp(&(b.severity, b.kind, &b.id, &b.name, &b.path))
        });
        self.summary.warnings.extend(tally.warnings);
        self.summary.baseline = Some(BaselineSummary {
            target: base.target.input.clone(),
            digest: base.target.digest.clone(),
            new: tally.new,
            unchanged: tally.unchanged,
            fixed: fixed.len(),
        });
        self.fixed = Some(fixed);
    }
}

/// Counts and warnings while items are marked.
#[derive(Default)]
struct Tally {
    new: usize,
    unchanged: usize,
    warnings: Vec<String>,
}

impl Tally {
    /// Marks `items` against the fingerprints the baseline `had` (`None`:
    /// the baseline did not check the section); returns the fingerprints
    /// of `items`, or `None` when this scan did not check the section.
    fn mark<T>(
        &mut self,
        section: &str,
        items: Option<&mut Vec<Tracked<T>>>,
        had: Option<BTreeSet<&str>>,
    ) -> Option<BTreeSet<String>> {
        let items = items?;
        if had.is_none() {
            self.warnings.push(format!(
                "the baseline did not check {section}: every one found is new"
            ));
        }
        let mut now = BTreeSet::new();
        for item in items.iter_mut() {
            let was = had
                .as_ref()
                .is_some_and(|h| h.contains(item.fingerprint.as_str()));
            if was {
                self.unchanged += 1;
                item.status = Some(Status::Unchanged);
            } else {
                self.new += 1;
                item.status = Some(Status::New);
            }
            now.insert(item.fingerprint.clone());
        }
        Some(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_drop_tags_and_digests() {
        assert_eq!(
            repository("registry.local:5000/app:1.4"),
            "registry.local:5000/app"
        );
        assert_eq!(
            repository("registry:registry.local:5000/app"),
            "registry.local:5000/app"
        );
        assert_eq!(repository("app@sha256:abcd"), "app");
        assert_eq!(
            repository("ghcr.io/o/app:2026-11-24@sha256:ab"),
            "ghcr.io/o/app"
        );
    }

    #[test]
    fn names_compare_by_repository_and_bare_tags_name_none() {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let found = names(&["app:1", "docker.io/library/app:1", "1.0", "latest"]);
        assert_eq!(
            repositories(&found).into_iter().collect::<Vec<_>>(),
            ["app", "docker.io/library/app"]
        );
        assert!(repositories(&names(&["1.0"])).is_empty());
    }

    #[test]
    fn other_schemas_and_garbage_are_refused_with_a_reason() {
        let why = |text: &str| ReportDoc::parse(text.as_bytes()).unwrap_err().to_string();
        assert!(why("{\"schema\":\"imgscan.report/v0\"}").contains("imgscan.report/v0"));
        assert!(why("{\"version\":\"2.1.0\",\"runs\":[]}").contains("SARIF"));
        assert!(why("{\"schema\":\"imgscan.report/v1\"").contains("not valid JSON"));
        assert!(why("{\"schema\":\"imgscan.report/v1\",\"layers\":[]}").contains("target"));
        assert!(why("[]").contains("no `schema`"));
        assert!(matches!(
            ReportDoc::parse(b"{\"schema\":\"other/v1\"}"),
            Err(ReportDocError::OtherSchema(schema)) if schema == "other/v1"
        ));
    }
}
