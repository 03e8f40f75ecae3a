//! `imgscan diff OLD NEW`: what changed between two reports (of one image
//! across a rebuild, or of any two images). Packages added, removed and
//! changed version; vulnerabilities new and fixed, malware matches and
//! findings new and gone (by [`fingerprint`](super::fingerprint)); layers
//! shared and changed (by diff_id). Rendered as a table, as JSON
//! (`imgscan.diff/v1`, `schema/diff-v1.json`) or as Markdown for a
//! merge-request comment.

use super::baseline::{
    DocFinding, DocLayer, DocMalware, DocPackage, DocTarget, DocVulnerability, ReportDoc, plain,
};
use imgscan_sbom::Severity;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// The diff schema identifier.
pub const DIFF_SCHEMA: &str = "imgscan.diff/v1";

/// Everything that changed from `old` to `new`.
#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    /// Always [`DIFF_SCHEMA`].
    pub schema: &'static str,
    /// The older side's target.
    pub old: DocTarget,
    /// The newer side's target.
    pub new: DocTarget,
    /// Layers shared and changed.
    pub layers: LayerChanges,
    /// Packages added, removed, changed (absent when a side has none listed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packages: Option<PackageChanges>,
    /// Vulnerabilities new and fixed (absent when a side did not check them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vulnerabilities: Option<Changes<DocVulnerability>>,
    /// Malware matches new and gone (absent when a side ran no rules).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub malware: Option<Changes<DocMalware>>,
    /// Findings new and gone (absent when a side ran no checks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub findings: Option<Changes<DocFinding>>,
    /// Sections one side did not check, so not compared.
    pub not_compared: Vec<&'static str>,
}

/// Layers by diff_id (else blob digest): the new side's layers the old had,
/// the new side's the old had not, and the old side's the new has not.
#[derive(Debug, Clone, Serialize)]
pub struct LayerChanges {
    /// In both (listed with the new side's index).
    pub shared: Vec<DocLayer>,
    /// Only in the new side.
    pub added: Vec<DocLayer>,
    /// Only in the old side.
    pub removed: Vec<DocLayer>,
}

/// Packages keyed by (ecosystem, name, location).
#[derive(Debug, Clone, Serialize)]
pub struct PackageChanges {
    /// Only in the new side.
    pub added: Vec<DocPackage>,
    /// Only in the old side.
    pub removed: Vec<DocPackage>,
    /// In both, with other versions.
    pub changed: Vec<PackageChange>,
}

/// A package whose versions changed at one location.
#[derive(Debug, Clone, Serialize)]
pub struct PackageChange {
    /// Name.
    pub name: String,
    /// purl type.
    pub ecosystem: String,
    /// The database or lockfile.
    pub location: String,
    /// Versions only the old side had there.
    pub from: Vec<String>,
    /// Versions only the new side has there.
    pub to: Vec<String>,
}

/// Items by fingerprint: what only the new side has, and what only the old
/// side had (`fixed` for vulnerabilities, `gone` otherwise).
#[derive(Debug, Clone, Serialize)]
pub struct Changes<T> {
    /// Only in the new side.
    pub new: Vec<T>,
    /// Only in the old side.
    #[serde(rename = "gone")]
    pub gone: Vec<T>,
}

impl Diff {
    /// The changes from `old` to `new`.
    pub fn new(old: &ReportDoc, new: &ReportDoc) -> Diff {
        let mut not_compared = Vec::new();
        let mut both = |section: &'static str, old: bool, new: bool| {
            if !(old && new) {
                not_compared.push(section);
            }
            old && new
        };
        let packages =
            both("packages", old.packages.is_some(), new.packages.is_some()).then(|| {
                package_changes(
                    old.packages.as_deref().unwrap_or_default(),
                    new.packages.as_deref().unwrap_or_default(),
                )
            });
        let vulnerabilities = both(
            "vulnerabilities",
            old.vulnerabilities.is_some(),
            new.vulnerabilities.is_some(),
        )
        .then(|| {
            changes(
                old.vulnerabilities.as_deref().unwrap_or_default(),
                new.vulnerabilities.as_deref().unwrap_or_default(),
                |v| &v.fingerprint,
            )
        });
        let malware = both("malware", old.malware.is_some(), new.malware.is_some()).then(|| {
            changes(
                old.malware.as_deref().unwrap_or_default(),
                new.malware.as_deref().unwrap_or_default(),
                |m| &m.fingerprint,
            )
        });
        let findings =
            both("findings", old.findings.is_some(), new.findings.is_some()).then(|| {
                changes(
                    old.findings.as_deref().unwrap_or_default(),
                    new.findings.as_deref().unwrap_or_default(),
                    |f| &f.fingerprint,
                )
            });
        Diff {
            schema: DIFF_SCHEMA,
            old: old.target.clone(),
            new: new.target.clone(),
            layers: layer_changes(&old.layers, &new.layers),
            packages,
            vulnerabilities,
            malware,
            findings,
            not_compared,
        }
    }

    /// Whether nothing changed that a diff lists (layers aside).
    pub fn is_empty(&self) -> bool {
        self.packages
            .as_ref()
            .is_none_or(|p| p.added.is_empty() && p.removed.is_empty() && p.changed.is_empty())
            && self.vulnerabilities.as_ref().is_none_or(Changes::is_empty)
            && self.malware.as_ref().is_none_or(Changes::is_empty)
            && self.findings.as_ref().is_none_or(Changes::is_empty)
    }

    /// The diff as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        let mut value = serde_json::to_value(self).expect("the diff model always serialises");
        // Vulnerabilities that disappeared are fixed; malware and findings gone.
        if let Some(v) = value
            .get_mut("vulnerabilities")
            .and_then(|v| v.as_object_mut())
            && let Some(gone) = v.remove("gone")
        {
            v.insert("fixed".into(), gone);
        }
        let mut text = serde_json::to_string_pretty(&value).expect("a JSON value serialises");
        text.push('\n');
        text
    }

    /// The diff as plain text.
    pub fn to_table(&self) -> String {
        self.render(false)
    }

    /// The diff as Markdown, for a merge-request comment.
    pub fn to_markdown(&self) -> String {
        self.render(true)
    }

    fn render(&self, markdown: bool) -> String {
        let mut out = String::new();
        // Everything below comes from the images: in Markdown, names go in
        // code spans and other text is escaped, so an image cannot inject
        // links, HTML or mentions into a merge-request comment.
        let code = |s: &str| {
            if markdown {
                format!("`{}`", plain(s).replace('`', "'"))
            } else {
                plain(s)
            }
        };
        let txt = |s: &str| {
            if markdown {
                markdown_escape(&plain(s))
            } else {
                plain(s)
            }
        };
        let heading = |out: &mut String, text: String| {
            if markdown {
                let _ = writeln!(out, "\n### {text}\n");
            } else {
                let _ = writeln!(out, "\n{text}");
            }
        };
        let line = |out: &mut String, text: String| {
            if markdown {
                let _ = writeln!(out, "- {}", text.replace('\n', " "));
            } else {
                let _ = writeln!(out, "  {text}");
            }
        };
        if markdown {
            let _ = writeln!(
                out,
                "## imgscan diff: {} → {}",
                code(&self.old.input),
                code(&self.new.input)
            );
        } else {
            let _ = writeln!(
                out,
                "imgscan diff: {} -> {}",
                self.old.input, self.new.input
            );
        }
        let mut summary = vec![format!(
            "layers: {} shared, {} added, {} removed",
            self.layers.shared.len(),
            self.layers.added.len(),
            self.layers.removed.len()
        )];
        if let Some(p) = &self.packages {
            summary.push(format!(
                "packages: {} added, {} removed, {} changed",
                p.added.len(),
                p.removed.len(),
                p.changed.len()
            ));
        }
        if let Some(v) = &self.vulnerabilities {
            summary.push(format!(
                "vulnerabilities: {} new, {} fixed",
                v.new.len(),
                v.gone.len()
            ));
        }
        if let Some(m) = &self.malware {
            summary.push(format!(
                "malware: {} new, {} gone",
                m.new.len(),
                m.gone.len()
            ));
        }
        if let Some(f) = &self.findings {
            summary.push(format!(
                "findings: {} new, {} gone",
                f.new.len(),
                f.gone.len()
            ));
        }
        if !self.not_compared.is_empty() {
            summary.push(format!(
                "not compared (a side did not check them): {}",
                self.not_compared.join(", ")
            ));
        }
        for s in summary {
            line(&mut out, s);
        }
        if let Some(v) = &self.vulnerabilities {
            let text = |v: &DocVulnerability| vuln_line(v, &code, &txt);
            section(
                &mut out,
                "New vulnerabilities",
                &v.new,
                text,
                &heading,
                &line,
            );
            section(
                &mut out,
                "Fixed vulnerabilities",
                &v.gone,
                text,
                &heading,
                &line,
            );
        }
        if let Some(m) = &self.malware {
            let text = |m: &DocMalware| {
                format!(
                    "{} {} at {} (sha256 {})",
                    severity(m.severity),
                    code(&m.rule),
                    code(&m.path),
                    txt(m.sha256.get(..12).unwrap_or(&m.sha256))
                )
            };
            section(&mut out, "New malware", &m.new, text, &heading, &line);
            section(&mut out, "Malware gone", &m.gone, text, &heading, &line);
        }
        if let Some(f) = &self.findings {
            let text = |f: &DocFinding| {
                format!(
                    "{} {} at {}: {}",
                    severity(f.severity),
                    code(&f.id),
                    code(&f.path),
                    txt(&f.title)
                )
            };
            section(&mut out, "New findings", &f.new, text, &heading, &line);
            section(&mut out, "Findings gone", &f.gone, text, &heading, &line);
        }
        if let Some(p) = &self.packages {
            let pkg = |p: &DocPackage| {
                format!(
                    "{} {} ({}, {})",
                    code(&p.name),
                    txt(&p.version),
                    txt(&p.ecosystem),
                    code(&p.location)
                )
            };
            section(&mut out, "Packages added", &p.added, pkg, &heading, &line);
            section(
                &mut out,
                "Packages removed",
                &p.removed,
                pkg,
                &heading,
                &line,
            );
            section(
                &mut out,
                "Packages changed",
                &p.changed,
                |c| {
                    format!(
                        "{} {} → {} ({}, {})",
                        code(&c.name),
                        txt(&c.from.join(", ")),
                        txt(&c.to.join(", ")),
                        txt(&c.ecosystem),
                        code(&c.location)
                    )
                },
                &heading,
                &line,
            );
        }
        let layer = |l: &DocLayer| {
            let id = l
                .diff_id
                .as_deref()
                .or(l.digest.as_deref())
                .unwrap_or("(no digest)");
            let by = l
                .created_by
                .as_deref()
                .map(|c| format!(": {}", txt(&c.chars().take(80).collect::<String>())))
                .unwrap_or_default();
            let short: String = id.chars().take(19).collect();
            format!("{} {}{by}", l.index, code(&short))
        };
        section(
            &mut out,
            "Layers added",
            &self.layers.added,
            layer,
            &heading,
            &line,
        );
        section(
            &mut out,
            "Layers removed",
            &self.layers.removed,
            layer,
            &heading,
            &line,
        );
        out
    }
}

impl<T> Changes<T> {
    fn is_empty(&self) -> bool {
        self.new.is_empty() && self.gone.is_empty()
    }
}

fn section<T>(
    out: &mut String,
    title: &str,
    items: &[T],
    text: impl Fn(&T) -> String,
    heading: &dyn Fn(&mut String, String),
    line: &dyn Fn(&mut String, String),
) {
    if items.is_empty() {
        return;
    }
    heading(out, format!("{title} ({})", items.len()));
    for item in items {
        line(out, text(item));
    }
}

fn vuln_line(
    v: &DocVulnerability,
    code: &dyn Fn(&str) -> String,
    txt: &dyn Fn(&str) -> String,
) -> String {
    let fix = if v.kind == "malicious" {
        "malicious: remove it".to_string()
    } else if v.fixed.is_empty() {
        "no fix".to_string()
    } else {
        format!("fixed in {}", v.fixed.join(", "))
    };
    format!(
        "{} {} in {} {} ({}){}",
        severity(v.severity),
        code(&v.id),
        code(&v.name),
        txt(&v.version),
        txt(&fix),
        if v.summary.is_empty() {
            String::new()
        } else {
            format!(": {}", txt(v.summary.lines().next().unwrap_or_default()))
        }
    )
}

/// Markdown text with every character that could start markup escaped.
pub fn markdown_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\`*_{}[]()<>#+-.!|@~&:".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn severity(s: Severity) -> String {
    format!("{s:?}").to_uppercase()
}

/// Items of `new` whose fingerprint `old` lacks, and the other way round;
/// one per fingerprint, in report order.
fn changes<T: Clone>(old: &[T], new: &[T], fp: fn(&T) -> &String) -> Changes<T> {
    let only = |these: &[T], those: &[T]| {
        let had: BTreeSet<&String> = those.iter().map(fp).collect();
        let mut seen = BTreeSet::new();
        these
            .iter()
            .filter(|i| !had.contains(fp(i)) && seen.insert(fp(i).clone()))
            .cloned()
            .collect()
    };
    Changes {
        new: only(new, old),
        gone: only(old, new),
    }
}

fn package_changes(old: &[DocPackage], new: &[DocPackage]) -> PackageChanges {
    type Key = (String, String, String);
    let group = |packages: &[DocPackage]| {
        let mut by: BTreeMap<Key, BTreeMap<String, DocPackage>> = BTreeMap::new();
        for p in packages {
            by.entry((p.ecosystem.clone(), p.name.clone(), p.location.clone()))
                .or_default()
                .insert(p.version.clone(), p.clone());
        }
        by
    };
    let (was, is) = (group(old), group(new));
    let mut changes = PackageChanges {
        added: Vec::new(),
        removed: Vec::new(),
        changed: Vec::new(),
    };
    for (key, now) in &is {
        match was.get(key) {
            None => changes.added.extend(now.values().cloned()),
            Some(before) => {
                let from: Vec<String> = before
                    .keys()
                    .filter(|v| !now.contains_key(*v))
                    .cloned()
                    .collect();
                let to: Vec<String> = now
                    .keys()
                    .filter(|v| !before.contains_key(*v))
                    .cloned()
                    .collect();
                if !from.is_empty() || !to.is_empty() {
                    changes.changed.push(PackageChange {
                        name: key.1.clone(),
                        ecosystem: key.0.clone(),
                        location: key.2.clone(),
                        from,
                        to,
                    });
                }
            }
        }
    }
    for (key, before) in &was {
        if !is.contains_key(key) {
            changes.removed.extend(before.values().cloned());
        }
    }
    changes
}

fn layer_changes(old: &[DocLayer], new: &[DocLayer]) -> LayerChanges {
    let id = |l: &DocLayer| l.diff_id.clone().or_else(|| l.digest.clone());
    let had: BTreeSet<String> = old.iter().filter_map(id).collect();
    let has: BTreeSet<String> = new.iter().filter_map(id).collect();
    let (shared, added) = new
        .iter()
        .cloned()
        .partition(|l| id(l).is_some_and(|d| had.contains(&d)));
    let removed = old
        .iter()
        .filter(|l| id(l).is_none_or(|d| !has.contains(&d)))
        .cloned()
        .collect();
    LayerChanges {
        shared,
        added,
        removed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> ReportDoc {
        ReportDoc::parse(text.as_bytes()).unwrap()
    }

    const OLD: &str = r#"{"schema":"imgscan.report/v1","target":{"input":"a.tar","kind":"docker-archive"},
      "layers":[{"index":0,"diff_id":"sha256:aa","size":1,"entries":1},{"index":1,"diff_id":"sha256:bb","size":1,"entries":1}],
      "packages":[{"name":"openssl","version":"1","ecosystem":"deb","purl":"pkg:deb/debian/openssl@1","layer":0,"location":"/var/lib/dpkg/status","licenses":[]},
                  {"name":"gone","version":"1","ecosystem":"deb","purl":"pkg:deb/debian/gone@1","layer":0,"location":"/var/lib/dpkg/status","licenses":[]}],
      "vulnerabilities":[{"id":"CVE-1","kind":"vulnerability","purl":"pkg:deb/debian/openssl@1","name":"openssl","version":"1","severity":"HIGH"},
                         {"id":"CVE-2","kind":"vulnerability","purl":"pkg:deb/debian/openssl@1","name":"openssl","version":"1","severity":"LOW"}],
      "malware":[],
      "unknowns":[],"summary":{}}"#;
    const NEW: &str = r#"{"schema":"imgscan.report/v1","target":{"input":"b.tar","kind":"docker-archive"},
      "layers":[{"index":0,"diff_id":"sha256:aa","size":1,"entries":1},{"index":1,"diff_id":"sha256:cc","size":1,"entries":1}],
      "packages":[{"name":"openssl","version":"2","ecosystem":"deb","purl":"pkg:deb/debian/openssl@2","layer":0,"location":"/var/lib/dpkg/status","licenses":[]},
                  {"name":"curl","version":"8","ecosystem":"deb","purl":"pkg:deb/debian/curl@8","layer":1,"location":"/var/lib/dpkg/status","licenses":[]}],
      "vulnerabilities":[{"id":"CVE-1","kind":"vulnerability","purl":"pkg:deb/debian/openssl@2","name":"openssl","version":"2","severity":"HIGH"},
                         {"id":"CVE-3","kind":"vulnerability","purl":"pkg:deb/debian/curl@8","name":"curl","version":"8","severity":"CRITICAL"}],
      "malware":[{"rule":"xmrig_miner","severity":"CRITICAL","path":"/x","sha256":"00"}],
      "unknowns":[],"summary":{}}"#;

    #[test]
    fn packages_vulnerabilities_malware_and_layers() {
        let diff = Diff::new(&doc(OLD), &doc(NEW));
        let p = diff.packages.as_ref().unwrap();
        assert_eq!(
            p.added.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["curl"]
        );
        assert_eq!(
            p.removed
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>(),
            ["gone"]
        );
        assert_eq!(p.changed.len(), 1);
        assert_eq!(
            (p.changed[0].from.clone(), p.changed[0].to.clone()),
            (vec!["1".to_string()], vec!["2".to_string()])
        );
        let v = diff.vulnerabilities.as_ref().unwrap();
        assert_eq!(
            v.new.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(),
            ["CVE-3"]
        );
        assert_eq!(
            v.gone.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(),
            ["CVE-2"]
        );
        assert_eq!(diff.malware.as_ref().unwrap().new.len(), 1);
        assert!(diff.findings.is_none());
        assert_eq!(diff.not_compared, ["findings"]);
        assert_eq!(diff.layers.shared.len(), 1);
        assert_eq!(diff.layers.added.len(), 1);
        assert_eq!(diff.layers.removed.len(), 1);
        let json: serde_json::Value = serde_json::from_str(&diff.to_json()).unwrap();
        assert_eq!(json["vulnerabilities"]["fixed"][0]["id"], "CVE-2");
        assert!(json["vulnerabilities"].get("gone").is_none());
        assert_eq!(json["malware"]["gone"], serde_json::json!([]));
        let md = diff.to_markdown();
        assert!(md.contains("### New vulnerabilities (1)"), "{md}");
        assert!(md.contains("`openssl` 1 → 2"), "{md}");
        assert_eq!(
            markdown_escape("<img src=x> @all [a](b)"),
            "\\<img src=x\\> \\@all \\[a\\]\\(b\\)"
        );
        assert!(diff.to_table().contains("vulnerabilities: 1 new, 1 fixed"));
        assert!(!diff.is_empty());
        assert!(Diff::new(&doc(NEW), &doc(NEW)).is_empty());
    }
}
