//! CycloneDX VEX (a BOM whose `vulnerabilities[]` carry an `analysis`):
//! `not_affected` and `false_positive` suppress like OpenVEX's
//! `not_affected`, `resolved` (and `resolved_with_pedigree`) like `fixed`;
//! `exploitable` and `in_triage` leave the vulnerability reported. Each
//! `affects[].ref` is a `bom-ref` of a component of the same document
//! (directly or as a BOM-Link `urn:cdx:…#ref`), resolved to its purl, or a
//! purl itself. A vulnerability without `analysis` states nothing.

use super::{Product, Statement, VexDocError, VexStatus};
use serde_json::Value;
use std::collections::HashMap;

/// The justifications CycloneDX defines for an analysis.
const JUSTIFICATIONS: &[&str] = &[
    "code_not_present",
    "code_not_reachable",
    "requires_configuration",
    "requires_dependency",
    "requires_environment",
    "protected_by_compiler",
    "protected_at_runtime",
    "protected_at_perimeter",
    "protected_by_mitigating_control",
];

/// The statements of the CycloneDX document `doc` read from `origin`.
pub fn statements(doc: &Value, origin: &str) -> Result<Vec<Statement>, VexDocError> {
    let mut purls = HashMap::new();
    if let Some(component) = doc.pointer("/metadata/component") {
        collect_purls(component, &mut purls, 0);
    }
    for component in doc
        .get("components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        collect_purls(component, &mut purls, 0);
    }
    let mut found = Vec::new();
    let vulnerabilities = doc.get("vulnerabilities").and_then(Value::as_array);
    for (at, v) in vulnerabilities.into_iter().flatten().enumerate() {
        if let Some(statement) =
            statement(v, &purls, origin).map_err(|cause| VexDocError::Vulnerability {
                at: at + 1,
                cause: Box::new(cause),
            })?
        {
            found.push(statement);
        }
    }
    if found.is_empty() {
        return Err(VexDocError::NoAnalysis);
    }
    Ok(found)
}

/// Components' `bom-ref` → purl, nested components included (to a sane depth).
fn collect_purls(component: &Value, purls: &mut HashMap<String, String>, depth: usize) {
    if depth > 32 {
        return;
    }
    if let (Some(r), Some(purl)) = (
        component.get("bom-ref").and_then(Value::as_str),
        component.get("purl").and_then(Value::as_str),
    ) {
        purls.insert(r.to_string(), purl.to_string());
    }
    for child in component
        .get("components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        collect_purls(child, purls, depth + 1);
    }
}

fn statement(
    v: &Value,
    purls: &HashMap<String, String>,
    origin: &str,
) -> Result<Option<Statement>, VexDocError> {
    let Some(analysis) = v.get("analysis") else {
        return Ok(None);
    };
    let id = v
        .get("id")
        .and_then(Value::as_str)
        .ok_or(VexDocError::NoId)?;
    let state = analysis
        .get("state")
        .and_then(Value::as_str)
        .ok_or(VexDocError::NoState)?;
    let status = match state {
        "not_affected" | "false_positive" => VexStatus::NotAffected,
        "resolved" | "resolved_with_pedigree" => VexStatus::Fixed,
        "exploitable" => VexStatus::Affected,
        "in_triage" => VexStatus::UnderInvestigation,
        other => return Err(VexDocError::UnknownState(other.to_string())),
    };
    let justification = analysis.get("justification").and_then(Value::as_str);
    if let Some(j) = justification.filter(|j| !JUSTIFICATIONS.contains(j)) {
        return Err(VexDocError::UnknownJustification(j.to_string()));
    }
    let aliases = v
        .get("references")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("id").and_then(Value::as_str));
    let products: Vec<Product> = v
        .get("affects")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| a.get("ref").and_then(Value::as_str))
        .filter_map(|r| {
            let local = r.rsplit_once('#').map_or(r, |(_, fragment)| fragment);
            purls
                .get(r)
                .or_else(|| purls.get(local))
                .cloned()
                .or_else(|| r.starts_with("pkg:").then(|| r.to_string()))
        })
        .map(|purl| Product::new(&purl, Vec::new()))
        .collect();
    if products.is_empty() {
        return Err(VexDocError::AffectsNothing(id.to_string()));
    }
    Ok(Some(Statement {
        ids: std::iter::once(id)
            .chain(aliases)
            .map(str::to_string)
            .collect(),
        products,
        status,
        justification: justification.map(str::to_string),
        statement: analysis
            .get("detail")
            .and_then(Value::as_str)
            .map(str::to_string),
        source: origin.to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use crate::assess::vex::{VexStatus, parse};

    #[test]
    fn analyses_resolve_bom_refs_to_purls() {
        let doc = r#"{
          "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
          "components": [ { "type": "library", "bom-ref": "lodash-ref", "name": "lodash",
                            "purl": "pkg:npm/lodash@4.17.20" } ],
          "vulnerabilities": [
            { "id": "CVE-2021-23337", "references": [ { "id": "GHSA-35jh-r3h4-6jhm", "source": { "name": "GitHub" } } ],
              "analysis": { "state": "not_affected", "justification": "code_not_reachable", "detail": "no templates" },
              "affects": [ { "ref": "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#lodash-ref" } ] },
            { "id": "CVE-2", "analysis": { "state": "resolved" }, "affects": [ { "ref": "pkg:npm/debug@4.4.2" } ] },
            { "id": "CVE-3", "affects": [ { "ref": "lodash-ref" } ] }
          ]
        }"#;
        let found = parse(doc, "cdx.json").unwrap();
        assert_eq!(found.len(), 2, "no analysis, no statement");
        assert_eq!(found[0].ids, ["CVE-2021-23337", "GHSA-35jh-r3h4-6jhm"]);
        assert!(found[0].products[0].covers("pkg:npm/lodash@4.17.20", None));
        assert_eq!(found[0].statement.as_deref(), Some("no templates"));
        assert_eq!(found[1].status, VexStatus::Fixed);
    }

    #[test]
    fn unknown_states_and_dangling_refs_are_errors() {
        for (v, expected) in [
            (
                r#"{"id":"CVE-1","analysis":{"state":"meh"},"affects":[{"ref":"pkg:npm/a"}]}"#,
                "unknown analysis state",
            ),
            (
                r#"{"id":"CVE-1","analysis":{"state":"resolved"},"affects":[{"ref":"nowhere"}]}"#,
                "affects nothing",
            ),
        ] {
            let doc = format!(
                r#"{{"bomFormat":"CycloneDX","specVersion":"1.6","vulnerabilities":[{v}]}}"#
            );
            let err = parse(&doc, "cdx.json").unwrap_err().to_string();
            assert!(err.contains(expected) && err.contains("cdx.json"), "{err}");
        }
    }
}
