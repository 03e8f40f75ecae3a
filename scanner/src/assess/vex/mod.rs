//! VEX: statements a team (or a supplier) made about whether a
//! vulnerability affects a product. `scan --vex FILE` reads OpenVEX 0.2
//! ([`openvex`]) and CycloneDX VEX ([`cyclonedx`]) documents; a
//! `not_affected` or `fixed` statement suppresses the matching
//! vulnerability (by its id or any alias) for the matching product — a
//! package purl, with or without version, or the image by digest — and the
//! report keeps the statement's status and justification. `affected` and
//! `under_investigation` leave it reported. Where several statements match,
//! the last one read wins (files in the order given, statements in
//! document order), so a later `affected` overrides an earlier
//! `not_affected`. [`openvex::from_ignore_list`] writes the ignore file's
//! decisions as OpenVEX, so they travel with the image.

pub mod cyclonedx;
pub mod openvex;
mod product;

use imgscan_sbom::input::{MAX_USER_FILE_BYTES, read_user_text};
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;

pub use product::Product;

/// What a statement says of the vulnerability in the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VexStatus {
    /// The product is not affected: suppressed.
    NotAffected,
    /// The product contains a fix: suppressed.
    Fixed,
    /// The product is affected: reported.
    Affected,
    /// Not known yet: reported.
    UnderInvestigation,
}

impl VexStatus {
    /// Whether a statement with this status suppresses the vulnerability.
    pub fn suppresses(self) -> bool {
        matches!(self, VexStatus::NotAffected | VexStatus::Fixed)
    }
}

/// One statement: a vulnerability, the products it speaks of, a status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The vulnerability's id and aliases.
    pub ids: Vec<String>,
    /// The products (each possibly narrowed to subcomponents).
    pub products: Vec<Product>,
    /// The status.
    pub status: VexStatus,
    /// Why not affected (OpenVEX justification, CycloneDX analysis
    /// justification), when given.
    pub justification: Option<String>,
    /// Free text: impact statement, action statement or detail.
    pub statement: Option<String>,
    /// The file it came from.
    pub source: String,
}

/// A statement applied to a reported vulnerability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// The vulnerability id as reported.
    pub id: String,
    /// The package it was reported for.
    pub purl: String,
    /// The statement's status (`not_affected` or `fixed`).
    pub status: VexStatus,
    /// The statement's justification, when it gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// The statement's impact statement or detail, when it gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
    /// The VEX file.
    pub source: String,
}

/// Why a VEX file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum VexError {
    /// The file could not be read.
    #[error(transparent)]
    Read(#[from] imgscan_sbom::input::InputError),
    /// The file is not JSON, or not a VEX document.
    #[error("VEX file `{path}`: {cause}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        #[source]
        cause: VexDocError,
    },
}

/// What is wrong with a VEX document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VexDocError {
    /// Not JSON (serde_json's message).
    #[error("not JSON: {0}")]
    NotJson(String),
    /// JSON of neither format.
    #[error(
        "neither OpenVEX (an `@context` of https://openvex.dev/ns/…) nor CycloneDX (`bomFormat`)"
    )]
    UnknownFormat,
    /// An OpenVEX document without `statements`.
    #[error("an OpenVEX document needs a `statements` array")]
    NoStatements,
    /// One OpenVEX statement, by its 1-based position.
    #[error("statement {at}: {cause}")]
    Statement {
        /// 1-based position in `statements`.
        at: usize,
        /// What is wrong with it.
        cause: Box<VexDocError>,
    },
    /// An OpenVEX statement without `vulnerability`.
    #[error("no `vulnerability`")]
    NoVulnerability,
    /// An OpenVEX `vulnerability` object without `name`.
    #[error("`vulnerability` needs a `name`")]
    UnnamedVulnerability,
    /// An OpenVEX `status` the spec does not define.
    #[error("unknown status `{0}`")]
    UnknownStatus(String),
    /// An OpenVEX statement without `status`.
    #[error("no `status`")]
    NoStatus,
    /// A justification the format does not define.
    #[error("unknown justification `{0}`")]
    UnknownJustification(String),
    /// An OpenVEX `not_affected` without a reason.
    #[error("`not_affected` needs a `justification` or an `impact_statement`")]
    Unjustified,
    /// An OpenVEX statement that names no product.
    #[error("names no product")]
    NoProduct,
    /// A CycloneDX vulnerability, by its 1-based position.
    #[error("vulnerability {at}: {cause}")]
    Vulnerability {
        /// 1-based position in `vulnerabilities`.
        at: usize,
        /// What is wrong with it.
        cause: Box<VexDocError>,
    },
    /// A CycloneDX document none of whose vulnerabilities has `analysis`.
    #[error("a CycloneDX document with no vulnerability analysis: nothing to apply")]
    NoAnalysis,
    /// A CycloneDX vulnerability without `id`.
    #[error("no `id`")]
    NoId,
    /// A CycloneDX `analysis` without `state`.
    #[error("`analysis` has no `state`")]
    NoState,
    /// A CycloneDX analysis state the spec does not define.
    #[error("unknown analysis state `{0}`")]
    UnknownState(String),
    /// A CycloneDX vulnerability whose `affects` name no purl.
    #[error(
        "`{0}` affects nothing this document names by purl (each `affects[].ref` must be a component's bom-ref with a purl, or a purl)"
    )]
    AffectsNothing(String),
}

/// Every statement of every VEX file given, in order, indexed by the
/// vulnerability ids they name (a scan asks once per vulnerability found,
/// so a large VEX document costs only its statements about that one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VexSet {
    statements: Vec<Statement>,
    by_id: HashMap<String, Vec<usize>>,
}

impl VexSet {
    /// Reads the VEX files at `paths` (OpenVEX or CycloneDX, by content).
    pub fn load(paths: &[impl AsRef<Path>]) -> Result<VexSet, VexError> {
        let mut statements = Vec::new();
        for path in paths {
            let path = path.as_ref();
            let text = read_user_text(path, "VEX file", MAX_USER_FILE_BYTES)?;
            statements.extend(parse(&text, &path.display().to_string())?);
        }
        Ok(VexSet::from_statements(statements))
    }

    /// A set of `statements`, in the order they apply.
    pub fn from_statements(statements: Vec<Statement>) -> VexSet {
        let mut by_id: HashMap<String, Vec<usize>> = HashMap::new();
        for (at, statement) in statements.iter().enumerate() {
            for id in &statement.ids {
                let list = by_id.entry(id.clone()).or_default();
                if list.last() != Some(&at) {
                    list.push(at);
                }
            }
        }
        VexSet { statements, by_id }
    }

    /// Whether no statement was read.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// The statement that decides whether the vulnerability known as `ids`
    /// in the package `purl` of the image `image_digest` is reported: the
    /// last that matches, when it suppresses.
    pub fn suppression(
        &self,
        ids: &[&str],
        purl: &str,
        image_digest: Option<&str>,
    ) -> Option<Applied> {
        let mut candidates: Vec<usize> = ids
            .iter()
            .filter_map(|id| self.by_id.get(*id))
            .flatten()
            .copied()
            .collect();
        candidates.sort_unstable();
        let last = candidates
            .into_iter()
            .rev()
            .map(|at| &self.statements[at])
            .find(|s| s.products.iter().any(|p| p.covers(purl, image_digest)))?;
        last.status.suppresses().then(|| Applied {
            id: ids.first().map(|s| s.to_string()).unwrap_or_default(),
            purl: purl.to_string(),
            status: last.status,
            justification: last.justification.clone(),
            statement: last.statement.clone(),
            source: last.source.clone(),
        })
    }
}

/// The statements of one document, whichever format it is in.
pub fn parse(text: &str, origin: &str) -> Result<Vec<Statement>, VexError> {
    let invalid = |cause: VexDocError| VexError::Invalid {
        path: origin.to_string(),
        cause,
    };
    let doc: serde_json::Value =
        serde_json::from_str(text).map_err(|e| invalid(VexDocError::NotJson(e.to_string())))?;
    let context = doc.get("@context").and_then(|c| c.as_str()).unwrap_or("");
    if context.starts_with("https://openvex.dev/ns") {
        openvex::statements(&doc, origin).map_err(invalid)
    } else if doc.get("bomFormat").and_then(|f| f.as_str()) == Some("CycloneDX") {
        cyclonedx::statements(&doc, origin).map_err(invalid)
    } else {
        Err(invalid(VexDocError::UnknownFormat))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement(id: &str, product: &str, status: VexStatus) -> Statement {
        Statement {
            ids: vec![id.into()],
            products: vec![Product::new(product, Vec::new())],
            status,
            justification: None,
            statement: None,
            source: "t.json".into(),
        }
    }

    #[test]
    fn the_last_matching_statement_decides() {
        let purl = "pkg:npm/lodash@4.17.20";
        let mut statements = vec![statement("CVE-1", "pkg:npm/lodash", VexStatus::NotAffected)];
        let set = VexSet::from_statements(statements.clone());
        assert!(set.suppression(&["GHSA-1", "CVE-1"], purl, None).is_some());
        assert!(set.suppression(&["CVE-2"], purl, None).is_none());
        statements.push(statement(
            "CVE-1",
            "pkg:npm/lodash@4.17.20",
            VexStatus::Affected,
        ));
        let set = VexSet::from_statements(statements.clone());
        assert!(
            set.suppression(&["CVE-1"], purl, None).is_none(),
            "a later `affected` overrides"
        );
        statements.push(statement(
            "CVE-1",
            "pkg:npm/lodash@4.17.19",
            VexStatus::Fixed,
        ));
        let set = VexSet::from_statements(statements.clone());
        assert!(
            set.suppression(&["CVE-1"], purl, None).is_none(),
            "another version is another product"
        );
        // A statement about an alias counts like one about the id, and the
        // later of the two decides whichever name each uses.
        statements.push(statement("GHSA-1", "pkg:npm/lodash", VexStatus::Fixed));
        let set = VexSet::from_statements(statements);
        let applied = set.suppression(&["CVE-1", "GHSA-1"], purl, None).unwrap();
        assert_eq!(applied.status, VexStatus::Fixed);
    }

    #[test]
    fn documents_that_are_not_vex_are_errors() {
        for text in [
            "",
            "[]",
            "{\"statements\": []}",
            "{\"@context\": \"https://example.com\"}",
        ] {
            let err = parse(text, "x.json").unwrap_err().to_string();
            assert!(err.contains("`x.json`"), "{err}");
        }
    }
}
