//! The SPDX 2.3 JSON rendering of a report, and the pieces both SBOM
//! renderers (this one and [`super::cyclonedx`]) share: the one decision of
//! whether a declared license is a valid SPDX license expression, the
//! package order, the dependency graph resolved to packages, and UTC
//! RFC 3339 timestamps.
//!
//! The document describes the target as one package (`SPDXRef-Image`) that
//! CONTAINS the operating system, when one was detected, and every package
//! found; DEPENDS_ON edges come from the packages' own dependency lists.
//! Declared licenses that are not valid SPDX expressions are kept, verbatim,
//! as `LicenseRef-` entries in `hasExtractedLicensingInfos`, so nothing a
//! package database said is lost and the document still validates.

use super::Report;
use crate::clock::rfc3339;
use ::spdx::expression::ExprNode;
use ::spdx::{AdditionItem, Expression, LicenseItem};
use imgscan_sbom::{Package, Scope};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::SystemTime;

/// Renders `report` as an SPDX 2.3 JSON document created at `now`.
///
/// Apart from `creationInfo.created` and the random part of
/// `documentNamespace`, the output depends only on the report: two renders
/// of the same report are byte-identical once those two fields are removed.
pub fn render_spdx(report: &Report, now: SystemTime) -> String {
    let packages = sorted_packages(report);
    let licenses = LicenseRefs::collect(&packages);
    let mut ids = HashSet::new();
    let package_ids: Vec<String> = packages
        .iter()
        .map(|p| unique(package_spdx_id(p), &mut ids))
        .collect();

    let mut spdx_packages = vec![image_package(report)];
    let mut relationships = vec![Relationship::new("SPDXRef-DOCUMENT", "DESCRIBES", IMAGE_ID)];
    if let Some(os) = &report.target.os {
        spdx_packages.push(SpdxPackage {
            name: &os.id,
            spdx_id: OS_ID.to_string(),
            version_info: os.version_id.as_deref(),
            primary_package_purpose: Some("OPERATING-SYSTEM"),
            license_declared: NOASSERTION.to_string(),
            description: os.name.as_deref(),
            ..SpdxPackage::EMPTY
        });
        relationships.push(Relationship::new(IMAGE_ID, "CONTAINS", OS_ID));
    }
    for (package, id) in packages.iter().zip(&package_ids) {
        spdx_packages.push(SpdxPackage {
            name: &package.name,
            spdx_id: id.clone(),
            version_info: Some(package.version.as_str()).filter(|v| !v.is_empty()),
            primary_package_purpose: Some("LIBRARY"),
            license_declared: licenses.declared(package),
            source_info: Some(source_info(report, package)),
            comment: package_comment(package),
            external_refs: vec![ExternalRef {
                reference_category: "PACKAGE-MANAGER",
                reference_type: "purl",
                reference_locator: &package.purl,
            }],
            ..SpdxPackage::EMPTY
        });
        relationships.push(Relationship::new(IMAGE_ID, "CONTAINS", id));
    }
    for (from, targets) in dependency_edges(&packages).iter().enumerate() {
        for &to in targets {
            relationships.push(Relationship::new(
                &package_ids[from],
                "DEPENDS_ON",
                &package_ids[to],
            ));
        }
    }

    let document = Document {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: "SPDXRef-DOCUMENT",
        name: &report.target.input,
        document_namespace: format!(
            "https://imgscan.invalid/spdx/{}-{}",
            slug(&report.target.input),
            uuid::Uuid::new_v4()
        ),
        creation_info: CreationInfo {
            created: rfc3339(now),
            creators: vec![format!("Tool: imgscan-{}", env!("CARGO_PKG_VERSION"))],
        },
        packages: spdx_packages,
        relationships,
        has_extracted_licensing_infos: licenses.extracted(),
    };
    let mut text =
        serde_json::to_string_pretty(&document).expect("the SPDX model always serialises");
    text.push('\n');
    text
}

const IMAGE_ID: &str = "SPDXRef-Image";
const OS_ID: &str = "SPDXRef-OperatingSystem";
const NOASSERTION: &str = "NOASSERTION";

/// What a declared license string is, in SPDX terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DeclaredLicense {
    /// One license id on the SPDX list: not deprecated, no `+`, no exception.
    Id(String),
    /// Any other valid SPDX 2.3 expression (compound, `+`, `WITH`,
    /// `LicenseRef-`), with its operators upper-cased.
    Expression(String),
    /// Not a valid SPDX expression (`GPL-2+`, `BSD`, `public-domain`): the
    /// declared text, trimmed.
    Text(String),
}

/// Classifies a declared license string.
///
/// The `spdx` crate decides, in strict mode: it carries the whole SPDX
/// license list (both SBOM validators reject an id that is not on it, and a
/// hand-kept subset would wrongly demote real ids to free text) and parses
/// the full expression grammar. Strict mode also refuses deprecated ids
/// (`GPL-2.0`), lower-case ids and imprecise names: those are kept as
/// text rather than guessed at, since a license is a legal statement.
/// `NOASSERTION`/`NONE` are not licenses, and `DocumentRef-` and
/// `AdditionRef-` terms need document parts (or SPDX 3) that these
/// renderers do not write, so all of those count as text too.
///
/// A validator whose copy of the list is older than the crate's (the
/// crate has SPDX list 3.29, cyclonedx-python-lib 11.12 has 3.28) rejects
/// the ids added in between; they are rare, recent additions, and
/// `cargo update` and a validator upgrade move both lists forward.
pub(crate) fn classify_license(declared: &str) -> DeclaredLicense {
    let text = declared.trim();
    let Ok(expression) = Expression::parse(text) else {
        return DeclaredLicense::Text(text.to_string());
    };
    let mut single = None;
    let mut nodes = 0;
    for node in expression.iter() {
        nodes += 1;
        let ExprNode::Req(term) = node else { continue };
        match &term.req.license {
            LicenseItem::Spdx { id, .. } if matches!(id.name, "NOASSERTION" | "NONE") => {
                return DeclaredLicense::Text(text.to_string());
            }
            LicenseItem::Spdx {
                id,
                or_later: false,
            } if term.req.addition.is_none() => single = Some(id.name),
            LicenseItem::Other(reference) if reference.doc_ref.is_some() => {
                return DeclaredLicense::Text(text.to_string());
            }
            _ => {}
        }
        if let Some(AdditionItem::Other(_)) = term.req.addition {
            return DeclaredLicense::Text(text.to_string());
        }
    }
    match single {
        Some(id) if nodes == 1 => DeclaredLicense::Id(id.to_string()),
        _ => DeclaredLicense::Expression(upper_case_operators(text)),
    }
}

/// `expression` ready to be one operand of AND: parenthesised when it is
/// compound (it has spaces: an operator or `WITH`).
pub(crate) fn and_operand(expression: String) -> String {
    if expression.contains(char::is_whitespace) {
        format!("({expression})")
    } else {
        expression
    }
}

/// The distinct, non-empty declared licenses of `package`, classified, in
/// the order the package declares them.
pub(crate) fn package_licenses(package: &Package) -> Vec<DeclaredLicense> {
    let mut seen = HashSet::new();
    package
        .licenses
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty() && seen.insert(*l))
        .map(classify_license)
        .collect()
}

/// The `LicenseRef-` terms inside a valid expression, without the prefix.
fn license_refs_in(expression: &str) -> Vec<String> {
    Expression::parse(expression)
        .map(|e| {
            e.requirements()
                .filter_map(|r| match &r.req.license {
                    LicenseItem::Other(reference) => Some(reference.lic_ref.clone()),
                    LicenseItem::Spdx { .. } => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// SPDX operators are case-insensitive to the parser but written in upper
/// case by the specification; consumers with stricter parsers expect that.
fn upper_case_operators(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if matches!(word.to_ascii_uppercase().as_str(), "AND" | "OR" | "WITH") {
            out.push_str(&word.to_ascii_uppercase());
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_whitespace() || c == '(' || c == ')' {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// The report's packages in the order both SBOMs list them: ecosystem,
/// name, version, location, layer.
pub(crate) fn sorted_packages(report: &Report) -> Vec<&Package> {
    let mut packages: Vec<&Package> = report.packages.iter().flatten().collect();
    packages.sort_by(|a, b| {
        (
            a.ecosystem,
            &a.name,
            &a.version,
            &a.location,
            a.layer,
            &a.purl,
        )
            .cmp(&(
                b.ecosystem,
                &b.name,
                &b.version,
                &b.location,
                b.layer,
                &b.purl,
            ))
    });
    packages
}

/// For each package, the sorted indices of the packages it depends on.
///
/// A dependency purl found at several locations resolves to the copy at the
/// depender's own location (a lockfile's dependencies live in that
/// lockfile), else to the first in package order. Purls that name no
/// package in the report, and self-references, are dropped.
pub(crate) fn dependency_edges(packages: &[&Package]) -> Vec<Vec<usize>> {
    let mut by_purl: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, package) in packages.iter().enumerate() {
        by_purl
            .entry(package.purl.as_str())
            .or_default()
            .push(index);
    }
    packages
        .iter()
        .enumerate()
        .map(|(index, package)| {
            let targets: BTreeSet<usize> = package
                .dependencies
                .iter()
                .filter_map(|purl| {
                    let candidates = by_purl.get(purl.as_str())?;
                    candidates
                        .iter()
                        .copied()
                        .find(|&c| packages[c].location == package.location)
                        .or_else(|| candidates.first().copied())
                })
                .filter(|&target| target != index)
                .collect();
            targets.into_iter().collect()
        })
        .collect()
}

/// The name of an npm dependency scope as the report writes it.
pub(crate) fn scope_name(scope: Scope) -> &'static str {
    match scope {
        Scope::Dev => "dev",
        Scope::Optional => "optional",
        Scope::DevOptional => "dev-optional",
        Scope::Peer => "peer",
    }
}

/// The digest of the layer with index `layer`, when the report knows it.
pub(crate) fn layer_digest(report: &Report, layer: usize) -> Option<&str> {
    report
        .layers
        .iter()
        .find(|l| l.index == layer)
        .and_then(|l| l.digest.as_deref())
}

/// The hex part of a `sha256:` digest, when it is a well-formed one.
pub(crate) fn sha256_hex(digest: &str) -> Option<&str> {
    digest
        .strip_prefix("sha256:")
        .filter(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether the target is a container image (as opposed to a rootfs
/// directory, a plain archive of one, or a disk image).
pub(crate) fn is_container(kind: &str) -> bool {
    matches!(
        kind,
        "oci-dir" | "oci-archive" | "docker-archive" | "registry"
    )
}

/// Returns `candidate`, or `candidate` with the first free `-N` suffix when
/// it is already in `taken`; records the result.
fn unique(candidate: String, taken: &mut HashSet<String>) -> String {
    let mut id = candidate.clone();
    let mut n = 2;
    while !taken.insert(id.clone()) {
        id = format!("{candidate}-{n}");
        n += 1;
    }
    id
}

/// `text` with every character SPDX ids do not allow (`[A-Za-z0-9.-]`)
/// replaced by `-`.
fn id_chars(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// A package's SPDX id: readable ecosystem and name, plus a short hash of
/// its purl and location, so that the id depends on the package alone and
/// not on which other packages the image holds.
fn package_spdx_id(package: &Package) -> String {
    let mut hasher = Sha256::new();
    hasher.update(package.purl.as_bytes());
    hasher.update([0]);
    hasher.update(package.location.as_bytes());
    let hash = hex::encode(&hasher.finalize()[..4]);
    format!(
        "SPDXRef-Package-{}-{}-{hash}",
        package.ecosystem.as_str(),
        id_chars(&package.name)
    )
}

/// A short, URI-safe form of the target for the document namespace.
fn slug(input: &str) -> String {
    let slug: String = input
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    let slug = slug.trim_matches('-');
    if slug.is_empty() {
        "target".to_string()
    } else {
        slug.to_string()
    }
}

fn image_package(report: &Report) -> SpdxPackage<'_> {
    let target = &report.target;
    let mut comment = format!("imgscan target kind: {}", target.kind);
    if let Some(platform) = &target.platform {
        comment.push_str(&format!("; platform: {platform}"));
    }
    if let Some(created) = &target.created {
        comment.push_str(&format!("; created: {created}"));
    }
    SpdxPackage {
        name: &target.input,
        spdx_id: IMAGE_ID.to_string(),
        version_info: target.digest.as_deref(),
        primary_package_purpose: Some(if is_container(&target.kind) {
            "CONTAINER"
        } else {
            "FILE"
        }),
        checksums: target
            .digest
            .as_deref()
            .and_then(sha256_hex)
            .map(|hex| Checksum {
                algorithm: "SHA256",
                checksum_value: hex.to_ascii_lowercase(),
            })
            .into_iter()
            .collect(),
        license_declared: NOASSERTION.to_string(),
        comment: Some(comment),
        ..SpdxPackage::EMPTY
    }
}

fn source_info(report: &Report, package: &Package) -> String {
    match layer_digest(report, package.layer) {
        Some(digest) => format!(
            "listed in {} in layer {} ({digest})",
            package.location, package.layer
        ),
        None => format!("listed in {} in layer {}", package.location, package.layer),
    }
}

fn package_comment(package: &Package) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(source) = &package.source {
        match &source.version {
            Some(version) => parts.push(format!("source package: {} {version}", source.name)),
            None => parts.push(format!("source package: {}", source.name)),
        }
    }
    if let Some(arch) = &package.arch {
        parts.push(format!("arch: {arch}"));
    }
    if let Some(scope) = package.scope {
        parts.push(format!("scope: {}", scope_name(scope)));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// The `LicenseRef-` ids of one document: one per distinct declared text
/// that is not a valid expression, plus those that valid expressions name
/// themselves, each of which must be defined in the document.
struct LicenseRefs {
    /// Declared text → the `LicenseRef-` id standing for it.
    for_text: BTreeMap<String, String>,
    /// `LicenseRef-` ids named inside valid declared expressions.
    named: BTreeSet<String>,
}

impl LicenseRefs {
    fn collect(packages: &[&Package]) -> LicenseRefs {
        let mut texts = BTreeSet::new();
        let mut named = BTreeSet::new();
        for package in packages {
            for license in package_licenses(package) {
                match license {
                    DeclaredLicense::Text(text) => {
                        texts.insert(text);
                    }
                    DeclaredLicense::Expression(expression) => {
                        named.extend(
                            license_refs_in(&expression)
                                .into_iter()
                                .map(|r| format!("LicenseRef-{r}")),
                        );
                    }
                    DeclaredLicense::Id(_) => {}
                }
            }
        }
        let mut taken: HashSet<String> = named.iter().cloned().collect();
        let for_text = texts
            .into_iter()
            .map(|text| {
                let id = unique(format!("LicenseRef-{}", id_chars(&text)), &mut taken);
                (text, id)
            })
            .collect();
        LicenseRefs { for_text, named }
    }

    /// The package's `licenseDeclared`: its declared licenses joined with
    /// AND, text ones by their `LicenseRef-`; `NOASSERTION` when it has none.
    fn declared(&self, package: &Package) -> String {
        let licenses = package_licenses(package);
        let several = licenses.len() > 1;
        let parts: Vec<String> = licenses
            .into_iter()
            .map(|license| match license {
                DeclaredLicense::Id(id) => id,
                DeclaredLicense::Expression(e) if several => and_operand(e),
                DeclaredLicense::Expression(e) => e,
                DeclaredLicense::Text(text) => self.for_text[&text].clone(),
            })
            .collect();
        if parts.is_empty() {
            NOASSERTION.to_string()
        } else {
            parts.join(" AND ")
        }
    }

    fn extracted(&self) -> Vec<ExtractedLicense> {
        let from_text = self.for_text.iter().map(|(text, id)| ExtractedLicense {
            license_id: id.clone(),
            extracted_text: text.clone(),
            name: text.clone(),
            comment: "the license as a package database declares it; not a valid SPDX license expression",
        });
        let named = self.named.iter().map(|id| ExtractedLicense {
            license_id: id.clone(),
            extracted_text: format!(
                "a package database declares `{id}`; the image does not say more"
            ),
            name: id.clone(),
            comment: "a license reference a package declares itself",
        });
        let mut all: Vec<ExtractedLicense> = from_text.chain(named).collect();
        all.sort_by(|a, b| a.license_id.cmp(&b.license_id));
        all
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    spdx_version: &'static str,
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: &'a str,
    document_namespace: String,
    creation_info: CreationInfo,
    packages: Vec<SpdxPackage<'a>>,
    relationships: Vec<Relationship>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    has_extracted_licensing_infos: Vec<ExtractedLicense>,
}

#[derive(Serialize)]
struct CreationInfo {
    created: String,
    creators: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpdxPackage<'a> {
    name: &'a str,
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_info: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_package_purpose: Option<&'static str>,
    download_location: &'static str,
    files_analyzed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checksums: Vec<Checksum>,
    license_concluded: &'static str,
    license_declared: String,
    copyright_text: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_info: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef<'a>>,
}

impl SpdxPackage<'_> {
    /// The fields every package of this document has the same: nothing is
    /// downloaded, analysed or concluded, only declared.
    const EMPTY: SpdxPackage<'static> = SpdxPackage {
        name: "",
        spdx_id: String::new(),
        version_info: None,
        primary_package_purpose: None,
        download_location: NOASSERTION,
        files_analyzed: false,
        checksums: Vec::new(),
        license_concluded: NOASSERTION,
        license_declared: String::new(),
        copyright_text: NOASSERTION,
        source_info: None,
        description: None,
        comment: None,
        external_refs: Vec::new(),
    };
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Checksum {
    algorithm: &'static str,
    checksum_value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef<'a> {
    reference_category: &'static str,
    reference_type: &'static str,
    reference_locator: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    spdx_element_id: String,
    relationship_type: &'static str,
    related_spdx_element: String,
}

impl Relationship {
    fn new(from: &str, kind: &'static str, to: &str) -> Relationship {
        Relationship {
            spdx_element_id: from.to_string(),
            relationship_type: kind,
            related_spdx_element: to.to_string(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExtractedLicense {
    license_id: String,
    extracted_text: String,
    name: String,
    comment: &'static str,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::layer::Skipped;
    use crate::model::{LayerInfo, TargetInfo};
    use crate::report::{SCHEMA, Summary, Totals};
    use imgscan_sbom::{Ecosystem, OsRelease, SourcePackage};
    use serde_json::Value;
    use std::time::{Duration, UNIX_EPOCH};

    fn package(
        ecosystem: Ecosystem,
        name: &str,
        version: &str,
        purl: &str,
        location: &str,
        layer: usize,
        licenses: &[&str],
    ) -> Package {
        let mut package = Package::new(
            name,
            version,
            ecosystem,
            purl.to_string(),
            location.to_string(),
        );
        package.layer = layer;
        package.licenses = licenses.iter().map(|l| l.to_string()).collect();
        package
    }

    /// A two-layer image with deb, npm and rpm packages covering the cases
    /// the renderers must get right: scoped npm names, no license, a
    /// compound expression, lower-case operators, texts that are not SPDX,
    /// one purl at two locations, and dependencies that dangle.
    pub(crate) fn sample_report(packages: Option<Vec<Package>>) -> Report {
        let digest = |c: char| format!("sha256:{}", c.to_string().repeat(64));
        let layer = |index: usize, c: char| LayerInfo {
            index,
            digest: Some(digest(c)),
            diff_id: None,
            media_type: None,
            compression: Some("gzip".into()),
            compressed_size: Some(100),
            size: 1000,
            entries: 10,
            deleted: 0,
            created_by: None,
        };
        Report {
            schema: SCHEMA,
            target: TargetInfo {
                input: "oci-archive:fixtures/app image.tar".into(),
                kind: "oci-archive".into(),
                digest: Some(digest('b')),
                platform: Some("linux/amd64".into()),
                names: Vec::new(),
                created: Some("2024-05-01T10:00:00.123456789Z".into()),
                os: Some(OsRelease {
                    id: "debian".into(),
                    version_id: Some("12".into()),
                    name: Some("Debian GNU/Linux 12 (bookworm)".into()),
                }),
            },
            layers: vec![layer(0, 'a'), layer(1, 'c')],
            packages,
            removed_packages: None,
            vulnerabilities: None,
            malware: None,
            findings: None,
            fixed: None,
            incidents: None,
            iocs: None,
            vex: Vec::new(),
            unknowns: Vec::new(),
            files: None,
            summary: Summary {
                totals: Totals {
                    layers: 2,
                    paths: 20,
                    files: 10,
                    file_bytes: 2000,
                    layer_bytes: 2000,
                    deleted: 0,
                },
                counts: Default::default(),
                suppressed: 0,
                skipped: Skipped::default(),
                not_checked: Vec::new(),
                warnings: Vec::new(),
                baseline: None,
                cache: None,
                duration_ms: 5,
            },
        }
    }

    pub(crate) fn sample_packages() -> Vec<Package> {
        let status = "/var/lib/dpkg/status";
        let app = "/app/package-lock.json";
        let other = "/srv/other/package-lock.json";
        let mut libc = package(
            Ecosystem::Deb,
            "libc6",
            "2.36-9+deb12u4",
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12",
            status,
            0,
            &["GPL-2+", "LGPL-2.1-or-later", "GPL-2+"],
        );
        libc.arch = Some("amd64".into());
        libc.source = Some(SourcePackage {
            name: "glibc".into(),
            version: None,
        });
        let base = package(
            Ecosystem::Deb,
            "base-files",
            "12.4+deb12u5",
            "pkg:deb/debian/base-files@12.4%2Bdeb12u5?arch=amd64&distro=debian-12",
            status,
            0,
            &[],
        );
        let mut babel = package(
            Ecosystem::Npm,
            "@babel/core",
            "7.24.0",
            "pkg:npm/%40babel/core@7.24.0",
            app,
            1,
            &["MIT"],
        );
        babel.dependencies = vec![
            "pkg:npm/debug@4.3.4".into(),
            "pkg:npm/left-pad@1.3.0".into(),
            "pkg:npm/%40babel/core@7.24.0".into(),
            "pkg:npm/debug@4.3.4".into(),
        ];
        let mut debug = package(
            Ecosystem::Npm,
            "debug",
            "4.3.4",
            "pkg:npm/debug@4.3.4",
            app,
            1,
            &["MIT"],
        );
        debug.scope = Some(Scope::Dev);
        debug.dependencies = vec!["pkg:npm/ms@2.1.2".into()];
        let debug_elsewhere = package(
            Ecosystem::Npm,
            "debug",
            "4.3.4",
            "pkg:npm/debug@4.3.4",
            other,
            1,
            &["MIT"],
        );
        let ms = package(
            Ecosystem::Npm,
            "ms",
            "2.1.2",
            "pkg:npm/ms@2.1.2",
            app,
            1,
            &["MIT or Apache-2.0"],
        );
        let mut bash = package(
            Ecosystem::Rpm,
            "bash",
            "5.1.8-6.el9",
            "pkg:rpm/rocky/bash@5.1.8-6.el9?arch=x86_64",
            "/var/lib/rpm/rpmdb.sqlite",
            1,
            &["GPLv3+"],
        );
        bash.arch = Some("x86_64".into());
        bash.source = Some(SourcePackage {
            name: "bash".into(),
            version: Some("5.1.8-6.el9".into()),
        });
        let java = package(
            Ecosystem::Rpm,
            "java-17-openjdk",
            "17.0.10.0.7-2.el9",
            "pkg:rpm/rocky/java-17-openjdk@17.0.10.0.7-2.el9?arch=x86_64",
            "/var/lib/rpm/rpmdb.sqlite",
            1,
            &[
                "Apache-2.0",
                "GPL-2.0-only WITH Classpath-exception-2.0",
                "LicenseRef-Fedora-Public-Domain",
            ],
        );
        // Deliberately out of order: the renderers sort.
        vec![ms, bash, debug_elsewhere, babel, libc, java, debug, base]
    }

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_709_164_800)
    }

    fn render(report: &Report) -> Value {
        serde_json::from_str(&render_spdx(report, now())).expect("SPDX output is JSON")
    }

    fn by_name<'a>(document: &'a Value, name: &str) -> Vec<&'a Value> {
        document["packages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["name"] == name)
            .collect()
    }

    #[test]
    fn classifies_declared_licenses() {
        use DeclaredLicense::{Expression as E, Id, Text};
        let cases = [
            ("MIT", Id("MIT".into())),
            (" GPL-2.0-or-later ", Id("GPL-2.0-or-later".into())),
            ("(MIT)", Id("MIT".into())),
            ("MIT OR Apache-2.0", E("MIT OR Apache-2.0".into())),
            (
                "MIT or (Apache-2.0 and BSD-3-Clause)",
                E("MIT OR (Apache-2.0 AND BSD-3-Clause)".into()),
            ),
            (
                "GPL-2.0-only WITH Classpath-exception-2.0",
                E("GPL-2.0-only WITH Classpath-exception-2.0".into()),
            ),
            ("Apache-2.0+", E("Apache-2.0+".into())),
            (
                "LicenseRef-Fedora-Public-Domain",
                E("LicenseRef-Fedora-Public-Domain".into()),
            ),
            ("GPL-2+", Text("GPL-2+".into())),
            ("GPLv3+", Text("GPLv3+".into())),
            ("GPL-2.0", Text("GPL-2.0".into())),
            ("mit", Text("mit".into())),
            ("public-domain", Text("public-domain".into())),
            ("MIT/X11", Text("MIT/X11".into())),
            ("NOASSERTION", Text("NOASSERTION".into())),
            (
                "DocumentRef-x:LicenseRef-y",
                Text("DocumentRef-x:LicenseRef-y".into()),
            ),
            ("MIT AND", Text("MIT AND".into())),
        ];
        for (declared, expected) in cases {
            assert_eq!(classify_license(declared), expected, "{declared:?}");
        }
    }

    #[test]
    fn resolves_dependencies_within_the_report() {
        let report = sample_report(Some(sample_packages()));
        let packages = sorted_packages(&report);
        let edges = dependency_edges(&packages);
        let name_at = |i: usize| (packages[i].name.as_str(), packages[i].location.as_str());
        let babel = packages
            .iter()
            .position(|p| p.name == "@babel/core")
            .unwrap();
        let targets: Vec<_> = edges[babel].iter().map(|&i| name_at(i)).collect();
        // The copy in the same lockfile; no dangling purl, no self-edge, no repeat.
        assert_eq!(targets, [("debug", "/app/package-lock.json")]);
        let total: usize = edges.iter().map(Vec::len).sum();
        assert_eq!(total, 2, "babel → debug, debug → ms");
    }

    #[test]
    fn renders_spdx_document() {
        let report = sample_report(Some(sample_packages()));
        let doc = render(&report);
        assert_eq!(doc["spdxVersion"], "SPDX-2.3");
        assert_eq!(doc["dataLicense"], "CC0-1.0");
        assert_eq!(doc["SPDXID"], "SPDXRef-DOCUMENT");
        assert_eq!(doc["name"], "oci-archive:fixtures/app image.tar");
        let namespace = doc["documentNamespace"].as_str().unwrap();
        assert!(
            namespace
                .starts_with("https://imgscan.invalid/spdx/oci-archive-fixtures-app-image.tar-"),
            "{namespace}"
        );
        assert!(!namespace.contains('#'));
        assert_eq!(doc["creationInfo"]["created"], "2024-02-29T00:00:00Z");
        assert_eq!(
            doc["creationInfo"]["creators"][0],
            format!("Tool: imgscan-{}", env!("CARGO_PKG_VERSION"))
        );

        let packages = doc["packages"].as_array().unwrap();
        assert_eq!(packages.len(), 2 + 8, "image, OS and every package");
        let ids: Vec<&str> = packages
            .iter()
            .map(|p| p["SPDXID"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids.iter().collect::<HashSet<_>>().len(),
            ids.len(),
            "unique ids: {ids:?}"
        );
        for id in &ids {
            let rest = id.strip_prefix("SPDXRef-").unwrap();
            assert!(
                rest.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
                "{id}"
            );
        }
        let image = &packages[0];
        assert_eq!(image["SPDXID"], IMAGE_ID);
        assert_eq!(image["primaryPackagePurpose"], "CONTAINER");
        assert_eq!(image["checksums"][0]["checksumValue"], "b".repeat(64));
        assert_eq!(packages[1]["primaryPackagePurpose"], "OPERATING-SYSTEM");
        assert_eq!(packages[1]["versionInfo"], "12");

        let babel = by_name(&doc, "@babel/core")[0];
        assert!(
            babel["SPDXID"]
                .as_str()
                .unwrap()
                .starts_with("SPDXRef-Package-npm--babel-core-")
        );
        assert_eq!(babel["licenseDeclared"], "MIT");
        assert_eq!(
            babel["externalRefs"][0]["referenceLocator"],
            "pkg:npm/%40babel/core@7.24.0"
        );
        assert_eq!(babel["externalRefs"][0]["referenceType"], "purl");
        assert_eq!(babel["downloadLocation"], "NOASSERTION");
        assert_eq!(babel["filesAnalyzed"], false);
        assert_eq!(
            babel["sourceInfo"],
            format!(
                "listed in /app/package-lock.json in layer 1 (sha256:{})",
                "c".repeat(64)
            )
        );
        assert_eq!(
            by_name(&doc, "base-files")[0]["licenseDeclared"],
            "NOASSERTION"
        );
        assert_eq!(
            by_name(&doc, "ms")[0]["licenseDeclared"],
            "MIT OR Apache-2.0"
        );
        assert_eq!(
            by_name(&doc, "libc6")[0]["licenseDeclared"],
            "LicenseRef-GPL-2- AND LGPL-2.1-or-later"
        );
        assert_eq!(
            by_name(&doc, "libc6")[0]["comment"],
            "source package: glibc; arch: amd64"
        );
        assert_eq!(
            by_name(&doc, "bash")[0]["licenseDeclared"],
            "LicenseRef-GPLv3-"
        );
        assert_eq!(
            by_name(&doc, "java-17-openjdk")[0]["licenseDeclared"],
            "Apache-2.0 AND (GPL-2.0-only WITH Classpath-exception-2.0) AND LicenseRef-Fedora-Public-Domain"
        );
        assert_eq!(by_name(&doc, "debug").len(), 2);

        let extracted: Vec<(&str, &str)> = doc["hasExtractedLicensingInfos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["licenseId"].as_str().unwrap(),
                    e["name"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            extracted,
            [
                (
                    "LicenseRef-Fedora-Public-Domain",
                    "LicenseRef-Fedora-Public-Domain"
                ),
                ("LicenseRef-GPL-2-", "GPL-2+"),
                ("LicenseRef-GPLv3-", "GPLv3+"),
            ]
        );

        let relationships = doc["relationships"].as_array().unwrap();
        let of = |kind: &str| {
            relationships
                .iter()
                .filter(|r| r["relationshipType"] == kind)
                .collect::<Vec<_>>()
        };
        assert_eq!(of("DESCRIBES").len(), 1);
        assert_eq!(of("DESCRIBES")[0]["relatedSpdxElement"], IMAGE_ID);
        assert_eq!(of("CONTAINS").len(), 9);
        let depends = of("DEPENDS_ON");
        assert_eq!(depends.len(), 2);
        assert_eq!(depends[0]["spdxElementId"], babel["SPDXID"]);
        for r in relationships {
            for end in ["spdxElementId", "relatedSpdxElement"] {
                let id = r[end].as_str().unwrap();
                assert!(
                    id == "SPDXRef-DOCUMENT" || ids.contains(&id),
                    "dangling {id}"
                );
            }
        }
    }

    #[test]
    fn spdx_ids_depend_on_the_package_alone() {
        let full = render(&sample_report(Some(sample_packages())));
        let fewer: Vec<Package> = sample_packages()
            .into_iter()
            .filter(|p| p.name != "ms")
            .collect();
        let partial = render(&sample_report(Some(fewer)));
        assert_eq!(
            by_name(&full, "bash")[0]["SPDXID"],
            by_name(&partial, "bash")[0]["SPDXID"]
        );
    }

    #[test]
    fn spdx_render_is_deterministic() {
        let report = sample_report(Some(sample_packages()));
        let strip = |mut doc: Value| {
            let namespace = doc["documentNamespace"].as_str().unwrap();
            doc["documentNamespace"] = namespace[..namespace.len() - 36].into();
            doc["creationInfo"]["created"] = Value::Null;
            doc
        };
        let first = render_spdx(&report, now());
        let second = render_spdx(&report, now() + Duration::from_secs(3600));
        assert_ne!(first, second);
        let (first, second): (Value, Value) = (
            serde_json::from_str(&first).unwrap(),
            serde_json::from_str(&second).unwrap(),
        );
        assert_eq!(strip(first), strip(second));
    }

    #[test]
    fn renders_a_target_without_packages_or_os() {
        let mut report = sample_report(None);
        report.target.os = None;
        report.target.kind = "dir".into();
        report.target.digest = None;
        let doc = render(&report);
        assert_eq!(doc["packages"].as_array().unwrap().len(), 1);
        assert_eq!(doc["packages"][0]["primaryPackagePurpose"], "FILE");
        assert!(doc["packages"][0].get("checksums").is_none());
        assert!(doc.get("hasExtractedLicensingInfos").is_none());
        assert_eq!(doc["relationships"].as_array().unwrap().len(), 1);
    }
}
