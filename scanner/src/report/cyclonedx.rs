//! The CycloneDX 1.6 JSON rendering of a report: the target as
//! `metadata.component` (a `container` for images, a `file` for a rootfs
//! directory, archive or disk, since the operating system inside is listed
//! on its own), the detected OS as an `operating-system` component, one
//! `library` component per package with imgscan's provenance as
//! `imgscan:*` properties, and the dependency graph. A scan's report adds
//! its vulnerabilities (`vulnerabilities[]`, each `affects` the bom-refs of
//! the package copies it was found in, rated by severity and CVSS).
//!
//! License classification, package order and dependency resolution are
//! shared with the SPDX renderer ([`super::spdx`]) so both SBOMs say the
//! same thing.

use super::spdx::{
    DeclaredLicense, and_operand, dependency_edges, is_container, layer_digest, package_licenses,
    scope_name, sha256_hex, sorted_packages,
};
use super::{Report, advisory_url};
use crate::clock::rfc3339;
use imgscan_advisories::VulnerabilityKind;
use imgscan_sbom::{Package, Severity};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

/// Renders `report` as a CycloneDX 1.6 JSON BOM made at `now`.
///
/// Apart from `serialNumber` (a random v4 UUID) and `metadata.timestamp`,
/// the output depends only on the report: two renders of the same report
/// are byte-identical once those two fields are removed.
pub fn render_cyclonedx(report: &Report, now: SystemTime) -> String {
    let packages = sorted_packages(report);
    let refs = bom_refs(&packages);

    let mut components = Vec::with_capacity(packages.len() + 1);
    if let Some(os) = &report.target.os {
        components.push(Component {
            kind: "operating-system",
            bom_ref: OS_REF.to_string(),
            name: &os.id,
            version: os.version_id.as_deref(),
            description: os.name.as_deref(),
            ..Component::EMPTY
        });
    }
    for (package, bom_ref) in packages.iter().zip(&refs) {
        components.push(Component {
            kind: "library",
            bom_ref: bom_ref.clone(),
            name: &package.name,
            version: Some(package.version.as_str()).filter(|v| !v.is_empty()),
            licenses: licenses(package),
            purl: Some(&package.purl),
            properties: properties(report, package),
            ..Component::EMPTY
        });
    }
    let dependencies = dependency_edges(&packages)
        .into_iter()
        .enumerate()
        .filter(|(_, targets)| !targets.is_empty())
        .map(|(from, targets)| Dependency {
            reference: refs[from].clone(),
            depends_on: targets.into_iter().map(|to| refs[to].clone()).collect(),
        })
        .collect();

    let bom = Bom {
        bom_format: "CycloneDX",
        spec_version: "1.6",
        serial_number: format!("urn:uuid:{}", uuid::Uuid::new_v4()),
        version: 1,
        metadata: Metadata {
            timestamp: rfc3339(now),
            tools: Tools {
                components: vec![Tool {
                    kind: "application",
                    name: "imgscan",
                    version: env!("CARGO_PKG_VERSION"),
                }],
            },
            component: target_component(report),
        },
        components,
        dependencies,
        vulnerabilities: vulnerabilities(report, &packages, &refs),
    };
    let mut text =
        serde_json::to_string_pretty(&bom).expect("the CycloneDX model always serialises");
    text.push('\n');
    text
}

/// The report's vulnerabilities, each affecting the bom-refs of every copy
/// of its package (empty when vulnerabilities were not checked).
fn vulnerabilities<'a>(
    report: &'a Report,
    packages: &[&Package],
    refs: &[String],
) -> Vec<Vulnerability<'a>> {
    let osv = |id: &str| Source {
        name: "OSV",
        url: advisory_url(id),
    };
    // Every copy of a package, by purl: each vulnerability affects them all.
    let mut refs_by_purl: HashMap<&str, Vec<&str>> = HashMap::new();
    for (package, bom_ref) in packages.iter().zip(refs) {
        refs_by_purl
            .entry(package.purl.as_str())
            .or_default()
            .push(bom_ref);
    }
    report
        .vulnerabilities
        .iter()
        .flatten()
        .map(|v| {
            let cvss = v.cvss.as_ref();
            let recommendation = if v.kind == VulnerabilityKind::Malicious {
                format!("Remove {}: the package is malicious.", v.name)
            } else if v.fixed.is_empty() {
                "No fixed version is known.".to_string()
            } else {
                format!("Upgrade {} to {}.", v.name, v.fixed.join(" or "))
            };
            Vulnerability {
                bom_ref: format!("imgscan:vulnerability:{}:{}", v.id, v.purl),
                id: &v.id,
                source: osv(&v.id),
                references: v
                    .aliases
                    .iter()
                    .map(|alias| Reference {
                        id: alias.clone(),
                        source: osv(alias),
                    })
                    .collect(),
                ratings: vec![Rating {
                    source: osv(&v.id),
                    score: cvss.map(|c| c.score),
                    severity: match v.severity {
                        Severity::Critical => "critical",
                        Severity::High => "high",
                        Severity::Medium => "medium",
                        Severity::Low => "low",
                        Severity::Unknown => "unknown",
                    },
                    method: cvss.and_then(|c| match c.version.as_str() {
                        "2.0" => Some("CVSSv2"),
                        "3.0" => Some("CVSSv3"),
                        "3.1" => Some("CVSSv31"),
                        "4.0" => Some("CVSSv4"),
                        _ => None,
                    }),
                    vector: cvss.map(|c| c.vector.as_str()),
                }],
                description: Some(v.summary.as_str()).filter(|s| !s.is_empty()),
                recommendation,
                affects: refs_by_purl
                    .get(v.purl.as_str())
                    .into_iter()
                    .flatten()
                    .map(|r| Affects {
                        reference: r.to_string(),
                    })
                    .collect(),
            }
        })
        .collect()
}

const TARGET_REF: &str = "imgscan:target";
const OS_REF: &str = "imgscan:os";

/// Each package's `bom-ref`: its purl, or, when the same purl was found at
/// more than one location, `PURL|LOCATION` for every copy, so that no copy's
/// ref depends on which other copies exist. A last `|N` keeps refs unique
/// should two entries share purl and location.
fn bom_refs(packages: &[&Package]) -> Vec<String> {
    let mut count: HashMap<&str, usize> = HashMap::new();
    for package in packages {
        *count.entry(package.purl.as_str()).or_default() += 1;
    }
    let mut taken = HashSet::new();
    packages
        .iter()
        .map(|package| {
            let base = if count[package.purl.as_str()] > 1 {
                format!("{}|{}", package.purl, package.location)
            } else {
                package.purl.clone()
            };
            let mut bom_ref = base.clone();
            let mut n = 2;
            while !taken.insert(bom_ref.clone()) {
                bom_ref = format!("{base}|{n}");
                n += 1;
            }
            bom_ref
        })
        .collect()
}

fn target_component(report: &Report) -> Component<'_> {
    let target = &report.target;
    let mut properties = vec![Property::new("imgscan:kind", target.kind.clone())];
    if let Some(platform) = &target.platform {
        properties.push(Property::new("imgscan:platform", platform.clone()));
    }
    if let Some(created) = &target.created {
        properties.push(Property::new("imgscan:created", created.clone()));
    }
    Component {
        kind: if is_container(&target.kind) {
            "container"
        } else {
            "file"
        },
        bom_ref: TARGET_REF.to_string(),
        name: &target.input,
        version: target.digest.as_deref(),
        hashes: target
            .digest
            .as_deref()
            .and_then(sha256_hex)
            .map(|hex| Hash {
                alg: "SHA-256",
                content: hex.to_ascii_lowercase(),
            })
            .into_iter()
            .collect(),
        properties,
        ..Component::EMPTY
    }
}

/// The package's declared licenses in CycloneDX's either-or form: a list
/// of `license` objects (an SPDX `id` when the text is exactly one listed
/// id, else its `name`), or, when a declared text is a compound expression
/// and every text is a valid expression, one `expression` joining them
/// with AND. A list cannot hold an expression, and an expression cannot
/// hold free text, so a mix of both falls back to names.
fn licenses(package: &Package) -> Vec<LicenseChoice> {
    let declared = package_licenses(package);
    let any_expression = declared
        .iter()
        .any(|l| matches!(l, DeclaredLicense::Expression(_)));
    let any_text = declared
        .iter()
        .any(|l| matches!(l, DeclaredLicense::Text(_)));
    if any_expression && !any_text {
        let several = declared.len() > 1;
        let parts: Vec<String> = declared
            .into_iter()
            .map(|l| match l {
                DeclaredLicense::Expression(e) if several => and_operand(e),
                DeclaredLicense::Id(e)
                | DeclaredLicense::Expression(e)
                | DeclaredLicense::Text(e) => e,
            })
            .collect();
        return vec![LicenseChoice::Expression {
            expression: parts.join(" AND "),
            acknowledgement: DECLARED,
        }];
    }
    declared
        .into_iter()
        .map(|l| {
            let (id, name) = match l {
                DeclaredLicense::Id(id) => (Some(id), None),
                DeclaredLicense::Expression(text) | DeclaredLicense::Text(text) => {
                    (None, Some(text))
                }
            };
            LicenseChoice::License {
                license: License {
                    id,
                    name,
                    acknowledgement: DECLARED,
                },
            }
        })
        .collect()
}

const DECLARED: &str = "declared";

fn properties(report: &Report, package: &Package) -> Vec<Property> {
    let mut properties = vec![Property::new("imgscan:layer", package.layer.to_string())];
    if let Some(digest) = layer_digest(report, package.layer) {
        properties.push(Property::new("imgscan:layer-digest", digest.to_string()));
    }
    properties.push(Property::new("imgscan:location", package.location.clone()));
    if let Some(source) = &package.source {
        properties.push(Property::new("imgscan:source-name", source.name.clone()));
        if let Some(version) = &source.version {
            properties.push(Property::new("imgscan:source-version", version.clone()));
        }
    }
    if let Some(scope) = package.scope {
        properties.push(Property::new(
            "imgscan:scope",
            scope_name(scope).to_string(),
        ));
    }
    if let Some(arch) = &package.arch {
        properties.push(Property::new("imgscan:arch", arch.clone()));
    }
    properties
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Bom<'a> {
    bom_format: &'static str,
    spec_version: &'static str,
    serial_number: String,
    version: u32,
    metadata: Metadata<'a>,
    components: Vec<Component<'a>>,
    dependencies: Vec<Dependency>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    vulnerabilities: Vec<Vulnerability<'a>>,
}

#[derive(Serialize)]
struct Vulnerability<'a> {
    #[serde(rename = "bom-ref")]
    bom_ref: String,
    id: &'a str,
    source: Source,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    references: Vec<Reference>,
    ratings: Vec<Rating<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    recommendation: String,
    affects: Vec<Affects>,
}

#[derive(Serialize)]
struct Source {
    name: &'static str,
    url: String,
}

#[derive(Serialize)]
struct Reference {
    id: String,
    source: Source,
}

#[derive(Serialize)]
struct Rating<'a> {
    source: Source,
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<f64>,
    severity: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vector: Option<&'a str>,
}

#[derive(Serialize)]
struct Affects {
    #[serde(rename = "ref")]
    reference: String,
}

#[derive(Serialize)]
struct Metadata<'a> {
    timestamp: String,
    tools: Tools,
    component: Component<'a>,
}

#[derive(Serialize)]
struct Tools {
    components: Vec<Tool>,
}

#[derive(Serialize)]
struct Tool {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Component<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "bom-ref")]
    bom_ref: String,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<Hash>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    licenses: Vec<LicenseChoice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property>,
}

impl Component<'_> {
    /// A component with only the required fields, all empty.
    const EMPTY: Component<'static> = Component {
        kind: "",
        bom_ref: String::new(),
        name: "",
        version: None,
        description: None,
        hashes: Vec::new(),
        licenses: Vec::new(),
        purl: None,
        properties: Vec::new(),
    };
}

#[derive(Serialize)]
struct Hash {
    alg: &'static str,
    content: String,
}

#[derive(Serialize)]
#[serde(untagged)]
enum LicenseChoice {
    License {
        license: License,
    },
    Expression {
        expression: String,
        acknowledgement: &'static str,
    },
}

#[derive(Serialize)]
struct License {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    acknowledgement: &'static str,
}

#[derive(Serialize)]
struct Property {
    name: &'static str,
    value: String,
}

impl Property {
    fn new(name: &'static str, value: String) -> Property {
        Property { name, value }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Dependency {
    #[serde(rename = "ref")]
    reference: String,
    depends_on: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::spdx::tests::{sample_packages, sample_report};
    use serde_json::Value;
    use std::time::{Duration, UNIX_EPOCH};

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_709_164_800)
    }

    fn render(report: &Report) -> Value {
        serde_json::from_str(&render_cyclonedx(report, now())).expect("CycloneDX output is JSON")
    }

    fn components<'a>(bom: &'a Value, name: &str) -> Vec<&'a Value> {
        bom["components"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["name"] == name)
            .collect()
    }

    fn property<'a>(component: &'a Value, name: &str) -> Option<&'a str> {
        component["properties"]
            .as_array()?
            .iter()
            .find(|p| p["name"] == name)
            .and_then(|p| p["value"].as_str())
    }

    #[test]
    fn renders_bom_header_and_target() {
        let bom = render(&sample_report(Some(sample_packages())));
        assert_eq!(bom["bomFormat"], "CycloneDX");
        assert_eq!(bom["specVersion"], "1.6");
        assert_eq!(bom["version"], 1);
        let serial = bom["serialNumber"].as_str().unwrap();
        let uuid = serial.strip_prefix("urn:uuid:").unwrap();
        assert_eq!(uuid::Uuid::parse_str(uuid).unwrap().get_version_num(), 4);
        let metadata = &bom["metadata"];
        assert_eq!(metadata["timestamp"], "2024-02-29T00:00:00Z");
        let tool = &metadata["tools"]["components"][0];
        assert_eq!(tool["type"], "application");
        assert_eq!(tool["name"], "imgscan");
        assert_eq!(tool["version"], env!("CARGO_PKG_VERSION"));
        let target = &metadata["component"];
        assert_eq!(target["type"], "container");
        assert_eq!(target["bom-ref"], TARGET_REF);
        assert_eq!(target["hashes"][0]["alg"], "SHA-256");
        assert_eq!(target["hashes"][0]["content"], "b".repeat(64));
        assert_eq!(property(target, "imgscan:platform"), Some("linux/amd64"));
        let os = &bom["components"][0];
        assert_eq!(os["type"], "operating-system");
        assert_eq!(
            (&os["name"], &os["version"]),
            (&"debian".into(), &"12".into())
        );
    }

    #[test]
    fn renders_packages_as_components() {
        let bom = render(&sample_report(Some(sample_packages())));
        let all = bom["components"].as_array().unwrap();
        assert_eq!(all.len(), 1 + 8);
        let names: Vec<&str> = all[1..]
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "base-files",
                "libc6",
                "bash",
                "java-17-openjdk",
                "@babel/core",
                "debug",
                "debug",
                "ms"
            ],
            "ecosystem, name, version, location"
        );
        let refs: HashSet<&str> = all.iter().map(|c| c["bom-ref"].as_str().unwrap()).collect();
        assert_eq!(refs.len(), all.len(), "unique bom-refs");

        let babel = components(&bom, "@babel/core")[0];
        assert_eq!(babel["type"], "library");
        assert_eq!(babel["bom-ref"], "pkg:npm/%40babel/core@7.24.0");
        assert_eq!(babel["purl"], "pkg:npm/%40babel/core@7.24.0");
        assert_eq!(babel["version"], "7.24.0");
        assert_eq!(
            babel["licenses"],
            serde_json::json!([{ "license": { "id": "MIT", "acknowledgement": "declared" } }])
        );
        assert_eq!(property(babel, "imgscan:layer"), Some("1"));
        assert_eq!(
            property(babel, "imgscan:location"),
            Some("/app/package-lock.json")
        );

        let debug = components(&bom, "debug");
        assert_eq!(
            debug[0]["bom-ref"],
            "pkg:npm/debug@4.3.4|/app/package-lock.json"
        );
        assert_eq!(
            debug[1]["bom-ref"],
            "pkg:npm/debug@4.3.4|/srv/other/package-lock.json"
        );
        assert_eq!(property(debug[0], "imgscan:scope"), Some("dev"));
        assert_eq!(property(debug[1], "imgscan:scope"), None);

        let libc = components(&bom, "libc6")[0];
        assert_eq!(
            libc["licenses"],
            serde_json::json!([
                { "license": { "name": "GPL-2+", "acknowledgement": "declared" } },
                { "license": { "id": "LGPL-2.1-or-later", "acknowledgement": "declared" } },
            ]),
            "duplicates dropped, texts that are not SPDX ids kept as names"
        );
        assert_eq!(property(libc, "imgscan:source-name"), Some("glibc"));
        assert_eq!(property(libc, "imgscan:source-version"), None);
        assert_eq!(property(libc, "imgscan:arch"), Some("amd64"));
        assert_eq!(
            property(libc, "imgscan:layer-digest"),
            Some(format!("sha256:{}", "a".repeat(64)).as_str())
        );
        let ms = components(&bom, "ms")[0];
        assert_eq!(
            ms["licenses"],
            serde_json::json!([{ "expression": "MIT OR Apache-2.0", "acknowledgement": "declared" }])
        );
        let java = components(&bom, "java-17-openjdk")[0];
        assert_eq!(
            java["licenses"][0]["expression"],
            "Apache-2.0 AND (GPL-2.0-only WITH Classpath-exception-2.0) AND LicenseRef-Fedora-Public-Domain"
        );
        assert!(components(&bom, "base-files")[0].get("licenses").is_none());
    }

    #[test]
    fn licenses_mixing_expressions_and_text_fall_back_to_names() {
        let mut report = sample_report(Some(sample_packages()));
        let packages = report.packages.as_mut().unwrap();
        packages[0].licenses = vec!["MIT OR Apache-2.0".into(), "BSD".into()];
        let bom = render(&report);
        assert_eq!(
            components(&bom, "ms")[0]["licenses"],
            serde_json::json!([
                { "license": { "name": "MIT OR Apache-2.0", "acknowledgement": "declared" } },
                { "license": { "name": "BSD", "acknowledgement": "declared" } },
            ])
        );
    }

    #[test]
    fn renders_dependencies_between_existing_components() {
        let bom = render(&sample_report(Some(sample_packages())));
        assert_eq!(
            bom["dependencies"],
            serde_json::json!([
                { "ref": "pkg:npm/%40babel/core@7.24.0", "dependsOn": ["pkg:npm/debug@4.3.4|/app/package-lock.json"] },
                { "ref": "pkg:npm/debug@4.3.4|/app/package-lock.json", "dependsOn": ["pkg:npm/ms@2.1.2"] },
            ]),
            "dangling, repeated and self references dropped"
        );
    }

    #[test]
    fn renders_a_rootfs_without_packages_or_os() {
        let mut report = sample_report(None);
        report.target.os = None;
        report.target.kind = "dir".into();
        report.target.digest = None;
        let bom = render(&report);
        let target = &bom["metadata"]["component"];
        assert_eq!(target["type"], "file");
        assert!(target.get("hashes").is_none() && target.get("version").is_none());
        assert_eq!(bom["components"], serde_json::json!([]));
        assert_eq!(bom["dependencies"], serde_json::json!([]));
    }

    #[test]
    fn cyclonedx_render_is_deterministic() {
        let mut report = sample_report(Some(sample_packages()));
        let strip = |text: String| {
            let mut bom: Value = serde_json::from_str(&text).unwrap();
            bom["serialNumber"] = Value::Null;
            bom["metadata"]["timestamp"] = Value::Null;
            bom
        };
        let first = render_cyclonedx(&report, now());
        let second = render_cyclonedx(&report, now() + Duration::from_secs(60));
        assert_ne!(first, second);
        // Input order does not matter either.
        report.packages.as_mut().unwrap().reverse();
        let third = render_cyclonedx(&report, now());
        let first = strip(first);
        assert_eq!(first, strip(second));
        assert_eq!(first, strip(third));
    }
}
