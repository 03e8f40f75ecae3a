//! OpenVEX (https://github.com/openvex/spec, v0.2.0; the string forms of
//! v0.0.x are accepted too): reading statements, and writing the ignore
//! file's vulnerability entries as an OpenVEX document.

use super::{Product, Statement, VexDocError, VexStatus};
use crate::assess::ignore::{Date, IgnoreList};
use crate::clock::rfc3339;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::time::SystemTime;

/// The OpenVEX context this module writes.
pub const CONTEXT: &str = "https://openvex.dev/ns/v0.2.0";

/// The justifications OpenVEX defines for `not_affected`.
const JUSTIFICATIONS: &[&str] = &[
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
];

/// The statements of the OpenVEX document `doc` read from `origin`.
pub fn statements(doc: &Value, origin: &str) -> Result<Vec<Statement>, VexDocError> {
    let list = doc
        .get("statements")
        .and_then(Value::as_array)
        .ok_or(VexDocError::NoStatements)?;
    list.iter()
        .enumerate()
        .map(|(at, s)| {
            statement(s, origin).map_err(|cause| VexDocError::Statement {
                at: at + 1,
                cause: Box::new(cause),
            })
        })
        .collect()
}

fn statement(s: &Value, origin: &str) -> Result<Statement, VexDocError> {
    let text = |key: &str| s.get(key).and_then(Value::as_str).map(str::to_string);
    let ids = match s.get("vulnerability") {
        Some(Value::String(name)) => vec![name.clone()],
        Some(Value::Object(v)) => {
            let name = v
                .get("name")
                .and_then(Value::as_str)
                .ok_or(VexDocError::UnnamedVulnerability)?;
            let aliases = v.get("aliases").and_then(Value::as_array);
            std::iter::once(name.to_string())
                .chain(
                    aliases
                        .into_iter()
                        .flatten()
                        .filter_map(|a| a.as_str().map(str::to_string)),
                )
                .collect()
        }
        _ => return Err(VexDocError::NoVulnerability),
    };
    let status = match text("status").as_deref() {
        Some("not_affected") => VexStatus::NotAffected,
        Some("fixed") => VexStatus::Fixed,
        Some("affected") => VexStatus::Affected,
        Some("under_investigation") => VexStatus::UnderInvestigation,
        Some(other) => return Err(VexDocError::UnknownStatus(other.to_string())),
        None => return Err(VexDocError::NoStatus),
    };
    let justification = text("justification");
    if let Some(j) = justification
        .as_deref()
        .filter(|j| !JUSTIFICATIONS.contains(j))
    {
        return Err(VexDocError::UnknownJustification(j.to_string()));
    }
    let impact = text("impact_statement");
    if status == VexStatus::NotAffected && justification.is_none() && impact.is_none() {
        return Err(VexDocError::Unjustified);
    }
    let products: Vec<Product> = s
        .get("products")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let subcomponents = p
                .get("subcomponents")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(product_id)
                .collect();
            product_id(p).map(|id| Product::new(&id, subcomponents))
        })
        .collect();
    if products.is_empty() {
        return Err(VexDocError::NoProduct);
    }
    Ok(Statement {
        ids,
        products,
        status,
        justification,
        statement: impact
            .or_else(|| text("action_statement"))
            .or_else(|| text("status_notes")),
        source: origin.to_string(),
    })
}

/// A product's id: a string, its `@id`, or its `identifiers.purl`.
fn product_id(p: &Value) -> Option<String> {
    match p {
        Value::String(id) => Some(id.clone()),
        _ => p
            .get("@id")
            .and_then(Value::as_str)
            .or_else(|| p.pointer("/identifiers/purl").and_then(Value::as_str))
            .map(str::to_string),
    }
}

/// Whether an ignore-file id names a vulnerability (`CVE-…`, `GHSA-…`,
/// `DEBIAN-CVE-…`, `RHSA-2024:1234`) rather than a rule or check (which
/// are lower case).
fn is_vulnerability_id(id: &str) -> bool {
    let prefix = id.split('-').next().unwrap_or("");
    id.contains('-')
        && !prefix.is_empty()
        && prefix
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && prefix.starts_with(|c: char| c.is_ascii_uppercase())
}

/// Ignore-file entries without a package, and no product to put them on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{} name no package: give the image with --product (its digest or purl)",
    .ids.join(", ")
)]
pub struct UnplacedEntries {
    /// The entries' ids.
    pub ids: Vec<String>,
}

/// An OpenVEX document and what of the ignore file it left out.
#[derive(Debug, Clone)]
pub struct Written {
    /// The document.
    pub text: String,
    /// Entries not written, each with why.
    pub left_out: Vec<String>,
}

/// The ignore file's vulnerability entries still in force on `today` as
/// `not_affected` statements (the reason as impact statement, the expiry in
/// the status notes): for `package` entries that purl, for the others each
/// of `products` (the image, by digest or purl). `author` and the time
/// `now` go in the document.
pub fn from_ignore_list(
    ignore: &IgnoreList,
    products: &[String],
    author: &str,
    now: SystemTime,
    today: Date,
) -> Result<Written, UnplacedEntries> {
    let mut statements = Vec::new();
    let mut left_out = Vec::new();
    let mut unplaced = Vec::new();
    for entry in ignore.entries() {
        if !is_vulnerability_id(&entry.id) {
            left_out.push(format!(
                "`{}`: not a vulnerability id (a rule or check)",
                entry.id
            ));
            continue;
        }
        if !entry.in_force(today) {
            left_out.push(format!("`{}`: expired on {}", entry.id, entry.expires));
            continue;
        }
        let ids: Vec<Value> = match &entry.package {
            Some(purl) => vec![json!({ "@id": purl })],
            None => products.iter().map(|p| json!({ "@id": p })).collect(),
        };
        if ids.is_empty() {
            unplaced.push(entry.id.clone());
            continue;
        }
        statements.push(json!({
            "vulnerability": { "name": entry.id },
            "products": ids,
            "status": "not_affected",
            "impact_statement": entry.reason,
            "status_notes": format!("from the imgscan ignore file; in force until {}", entry.expires),
        }));
    }
    if !unplaced.is_empty() {
        return Err(UnplacedEntries { ids: unplaced });
    }
    let statements = Value::Array(statements);
    let id = hex::encode(&Sha256::digest(statements.to_string().as_bytes())[..16]);
    let doc = json!({
        "@context": CONTEXT,
        "@id": format!("urn:imgscan:vex:{id}"),
        "author": author,
        "timestamp": rfc3339(now),
        "version": 1,
        "tooling": format!("imgscan {}", env!("CARGO_PKG_VERSION")),
        "statements": statements,
    });
    let mut text = serde_json::to_string_pretty(&doc).expect("JSON values serialise");
    text.push('\n');
    Ok(Written { text, left_out })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::vex::parse;

    const DOC: &str = r#"{
      "@context": "https://openvex.dev/ns/v0.2.0",
      "@id": "https://example.com/vex-1",
      "author": "Security Team",
      "timestamp": "2026-11-01T00:00:00Z",
      "version": 1,
      "statements": [
        { "vulnerability": { "name": "CVE-2024-6387", "aliases": ["DEBIAN-CVE-2024-6387"] },
          "products": [ { "@id": "sha256:aaaa", "subcomponents": [ { "@id": "pkg:deb/debian/openssh-server" } ] } ],
          "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path" },
        { "vulnerability": "CVE-2016-2781", "products": ["pkg:deb/debian/coreutils"],
          "status": "under_investigation" }
      ]
    }"#;

    #[test]
    fn statements_with_aliases_subcomponents_and_old_string_forms() {
        let found = parse(DOC, "vex.json").unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].ids, ["CVE-2024-6387", "DEBIAN-CVE-2024-6387"]);
        assert_eq!(found[0].status, VexStatus::NotAffected);
        assert_eq!(
            found[0].justification.as_deref(),
            Some("vulnerable_code_not_in_execute_path")
        );
        assert!(
            found[0].products[0].covers("pkg:deb/debian/openssh-server@1", Some("sha256:aaaa"))
        );
        assert_eq!(found[1].status, VexStatus::UnderInvestigation);
    }

    #[test]
    fn invalid_statements_are_errors_that_say_which() {
        for (statement, expected) in [
            (
                r#"{"vulnerability":{"name":"CVE-1"},"products":["pkg:npm/a"],"status":"not_affected"}"#,
                "needs a `justification`",
            ),
            (
                r#"{"vulnerability":{"name":"CVE-1"},"products":["pkg:npm/a"],"status":"maybe"}"#,
                "unknown status",
            ),
            (
                r#"{"vulnerability":{"name":"CVE-1"},"products":[],"status":"fixed"}"#,
                "names no product",
            ),
            (
                r#"{"products":["pkg:npm/a"],"status":"fixed"}"#,
                "no `vulnerability`",
            ),
            (
                r#"{"vulnerability":"CVE-1","products":["pkg:npm/a"],"status":"not_affected","justification":"trust_me"}"#,
                "unknown justification",
            ),
        ] {
            let doc = format!(r#"{{"@context":"{CONTEXT}","statements":[{statement}]}}"#);
            let err = parse(&doc, "bad.json").unwrap_err().to_string();
            assert!(
                err.contains("statement 1") && err.contains(expected),
                "{err}"
            );
        }
        let doc = format!(
            r#"{{"@context":"{CONTEXT}","statements":[{{"products":["pkg:npm/a"],"status":"fixed"}}]}}"#
        );
        match parse(&doc, "bad.json").unwrap_err() {
            crate::assess::vex::VexError::Invalid {
                cause: VexDocError::Statement { at: 1, cause },
                ..
            } => assert_eq!(*cause, VexDocError::NoVulnerability),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_ignore_file_travels_as_openvex() {
        let ignore = IgnoreList::parse(
            r#"
[[ignore]]
id = "CVE-2024-6387"
reason = "sshd is not started in this image"
expires = 2030-01-01
[[ignore]]
id = "GHSA-35jh-r3h4-6jhm"
package = "pkg:npm/lodash@4.17.20"
reason = "template() is never called"
expires = 2030-01-01
[[ignore]]
id = "ssh.host-keys"
reason = "regenerated at boot"
expires = 2030-01-01
[[ignore]]
id = "CVE-2020-1"
reason = "old"
expires = 2020-01-01
"#,
            "ignore.toml",
        )
        .unwrap();
        let today = (2026, 12, 1);
        let now = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_796_083_200);
        let unplaced = from_ignore_list(&ignore, &[], "me", now, today);
        assert!(unplaced.unwrap_err().to_string().contains("CVE-2024-6387"));
        let written = from_ignore_list(&ignore, &["sha256:aaaa".into()], "me", now, today).unwrap();
        assert_eq!(written.left_out.len(), 2, "{:?}", written.left_out);
        assert!(
            written
                .text
                .contains("\"timestamp\": \"2026-12-01T00:00:00Z\""),
            "{}",
            written.text
        );
        let read = parse(&written.text, "out.json").unwrap();
        assert_eq!(read.len(), 2);
        assert!(read.iter().all(|s| s.status == VexStatus::NotAffected));
        assert!(read[0].products[0].covers("pkg:deb/debian/openssh-server@1", Some("sha256:aaaa")));
        assert!(read[1].products[0].covers("pkg:npm/lodash@4.17.20", None));
        assert_eq!(
            read[1].statement.as_deref(),
            Some("template() is never called")
        );
    }
}
