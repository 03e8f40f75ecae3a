//! From an image's metadata to the list of layers to read: the OCI index
//! and manifest, or a docker-archive's `manifest.json`, the image config,
//! and the choice of one image by tag or platform. Every manifest and
//! config is checked against its digest before it is believed.

use super::blobs::BlobStore;
use super::platform::Platform;
use crate::digest::Digest;
use crate::error::ScanError;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};

const MEDIA_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const MEDIA_DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Most names of one image kept (a hostile `manifest.json` may list
/// thousands of RepoTags; the report and the baseline check need a few).
const MAX_NAMES: usize = 16;
/// The full image name containerd (and `nerdctl save`, BuildKit) annotate.
const CONTAINERD_NAME: &str = "io.containerd.image.name";
const MAX_INDEX_DEPTH: usize = 4;
/// Most images an index (with its nested indexes) may list.
const MAX_IMAGES: usize = 4096;

/// The format an image was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// OCI image layout (directory or archive).
    Oci,
    /// `docker save` archive (`manifest.json`).
    Docker,
}

/// One layer to read.
#[derive(Debug, Clone)]
pub struct PlannedLayer {
    /// Path of the blob inside the layout.
    pub blob: String,
    /// Digest of the stored blob, when the metadata gives it.
    pub digest: Option<Digest>,
    /// Digest of the uncompressed tar, from the config.
    pub diff_id: Option<Digest>,
    /// Media type the manifest claims.
    pub media_type: Option<String>,
    /// Stored size the manifest claims.
    pub size: Option<u64>,
    /// The history line that made this layer.
    pub created_by: Option<String>,
}

/// The chosen image: what to read and what the metadata says about it.
#[derive(Debug, Clone)]
pub struct ImagePlan {
    /// Where the metadata came from.
    pub format: ImageFormat,
    /// Digest of the image manifest (OCI), or of the config (docker-archive).
    pub digest: Option<Digest>,
    /// Platform from the config.
    pub platform: Option<Platform>,
    /// Creation time from the config.
    pub created: Option<String>,
    /// The names the image goes by in its archive or layout: a docker
    /// archive's `RepoTags`, an OCI index's `org.opencontainers.image.ref.name`
    /// and `io.containerd.image.name` annotations.
    pub names: Vec<String>,
    /// The layers, bottom first.
    pub layers: Vec<PlannedLayer>,
}

#[derive(Deserialize)]
struct Descriptor {
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    digest: String,
    #[serde(default)]
    size: Option<i64>,
    #[serde(default)]
    platform: Option<DescriptorPlatform>,
    #[serde(default)]
    annotations: HashMap<String, String>,
}

#[derive(Deserialize)]
struct DescriptorPlatform {
    os: String,
    architecture: String,
    #[serde(default)]
    variant: Option<String>,
}

#[derive(Deserialize)]
struct Index {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct Manifest {
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    config: Descriptor,
    #[serde(default)]
    layers: Vec<Descriptor>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
}

#[derive(Deserialize, Default)]
struct Config {
    #[serde(default)]
    os: Option<String>,
    #[serde(default)]
    architecture: Option<String>,
    #[serde(default)]
    variant: Option<String>,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    history: Vec<History>,
    #[serde(default)]
    rootfs: Option<RootFs>,
}

#[derive(Deserialize)]
struct History {
    #[serde(default)]
    created_by: Option<String>,
    #[serde(default)]
    empty_layer: bool,
}

#[derive(Deserialize)]
struct RootFs {
    #[serde(default)]
    diff_ids: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    #[serde(default)]
    layers: Vec<String>,
}

fn parse_json<T: for<'de> Deserialize<'de>>(name: &str, bytes: &[u8]) -> Result<T, ScanError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ScanError::malformed(name, format!("malformed JSON: {e}")))
}

fn parse_digest(name: &str, text: &str) -> Result<Digest, ScanError> {
    Digest::parse(text).map_err(|reason| ScanError::malformed(name, reason))
}

/// What a descriptor read whole points at.
#[derive(Clone, Copy)]
enum Role {
    /// An image manifest or an index.
    Manifest,
    /// An image config.
    Config,
}

/// Reads a blob named by a descriptor and checks its digest and size.
fn read_verified(
    store: &dyn BlobStore,
    referrer: &str,
    desc: &Descriptor,
    role: Role,
) -> Result<(Digest, Vec<u8>), ScanError> {
    let digest = parse_digest(referrer, &desc.digest)?;
    let bytes = match role {
        Role::Manifest => store.read_manifest(&digest)?,
        Role::Config => store.read_small(&digest.blob_path())?,
    };
    let bytes = bytes.ok_or_else(|| ScanError::MissingBlob {
        blob: digest.to_string(),
        referrer: referrer.to_string(),
    })?;
    check_digest(&digest.to_string(), &digest, &bytes)?;
    if let Some(size) = desc.size
        && size != bytes.len() as i64
    {
        return Err(ScanError::malformed(
            digest.to_string(),
            format!("size is {} bytes, `{referrer}` says {size}", bytes.len()),
        ));
    }
    Ok((digest, bytes))
}

fn check_digest(blob: &str, expected: &Digest, bytes: &[u8]) -> Result<(), ScanError> {
    let actual = Digest::of(bytes);
    if &actual != expected {
        return Err(ScanError::DigestMismatch {
            blob: blob.to_string(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        });
    }
    Ok(())
}

/// An image manifest found in an index, with what the index says of it.
struct Candidate {
    descriptor: Descriptor,
    ref_name: Option<String>,
    /// Every name the index gives it (ref name, containerd's full name).
    names: Vec<String>,
    platform: Option<Platform>,
    referrer: String,
}

/// Plans the reading of an OCI image layout: `index.json`, nested indexes,
/// the chosen manifest and its config.
pub fn plan_oci(
    store: &dyn BlobStore,
    target: &str,
    selector: Option<&str>,
    platform: Option<&Platform>,
) -> Result<ImagePlan, ScanError> {
    let bytes = store.read_small("index.json")?.ok_or_else(|| {
        ScanError::malformed(
            store.origin().display().to_string(),
            "OCI layout without `index.json`",
        )
    })?;
    let index: Index = parse_json("index.json", &bytes)?;
    let mut candidates = Vec::new();
    collect_manifests(
        store,
        index.manifests,
        "index.json",
        None,
        0,
        &mut HashSet::new(),
        &mut candidates,
    )?;
    if let Some(selector) = selector {
        let names: Vec<String> = candidates
            .iter()
            .filter_map(|c| c.ref_name.clone())
            .collect();
        candidates.retain(|c| c.ref_name.as_deref() == Some(selector));
        if candidates.is_empty() {
            return Err(ScanError::NoMatch {
                target: target.into(),
                wanted: format!("tag `{selector}`"),
                choices: choice_list(names),
            });
        }
    }
    // When the index gives every image's platform, choose before reading:
    // a registry index of many platforms costs two requests, not two per
    // platform.
    if candidates.len() > 1 && candidates.iter().all(|c| c.platform.is_some()) {
        let chosen = choose(candidates, |c| c.platform.clone(), target, platform)?;
        candidates = vec![chosen];
    }
    let mut loaded = Vec::new();
    for candidate in candidates {
        let (digest, bytes) = read_verified(
            store,
            &candidate.referrer,
            &candidate.descriptor,
            Role::Manifest,
        )?;
        let manifest: Manifest = parse_json(digest.as_str(), &bytes)?;
        if manifest.manifests.is_some()
            || matches!(
                manifest.media_type.as_deref(),
                Some(MEDIA_OCI_INDEX | MEDIA_DOCKER_LIST)
            )
        {
            return Err(ScanError::malformed(
                digest.to_string(),
                "an index where an image manifest was expected",
            ));
        }
        let (_, config_bytes) =
            read_verified(store, digest.as_str(), &manifest.config, Role::Config)?;
        let config: Config = parse_json(&manifest.config.digest, &config_bytes)?;
        let platform = candidate.platform.or_else(|| config_platform(&config));
        loaded.push((digest, manifest, config, platform, candidate.names));
    }
    let chosen = choose(loaded, |(_, _, _, p, _)| p.clone(), target, platform)?;
    let (digest, manifest, config, platform, names) = chosen;
    let diff_ids = diff_ids(&config, digest.as_str())?;
    let history = layer_history(&config);
    let mut layers = Vec::new();
    for (i, desc) in manifest.layers.into_iter().enumerate() {
        let layer_digest = parse_digest(digest.as_str(), &desc.digest)?;
        layers.push(PlannedLayer {
            blob: layer_digest.blob_path(),
            digest: Some(layer_digest),
            diff_id: diff_ids.get(i).cloned(),
            media_type: desc.media_type,
            size: desc.size.and_then(|s| u64::try_from(s).ok()),
            created_by: history.get(i).cloned().flatten(),
        });
    }
    if !diff_ids.is_empty() && diff_ids.len() != layers.len() {
        return Err(ScanError::malformed(
            digest.to_string(),
            format!(
                "{} layers but the config lists {} diff_ids",
                layers.len(),
                diff_ids.len()
            ),
        ));
    }
    Ok(ImagePlan {
        format: ImageFormat::Oci,
        digest: Some(digest),
        platform,
        created: config.created,
        names,
        layers,
    })
}

fn collect_manifests(
    store: &dyn BlobStore,
    descriptors: Vec<Descriptor>,
    referrer: &str,
    inherited_name: Option<&str>,
    depth: usize,
    seen: &mut HashSet<String>,
    out: &mut Vec<Candidate>,
) -> Result<(), ScanError> {
    if depth > MAX_INDEX_DEPTH {
        return Err(ScanError::malformed(referrer, "indexes nested too deep"));
    }
    for desc in descriptors {
        if desc
            .annotations
            .get("vnd.docker.reference.type")
            .map(String::as_str)
            == Some("attestation-manifest")
        {
            continue;
        }
        let ref_name = desc
            .annotations
            .get(REF_NAME)
            .cloned()
            .or_else(|| inherited_name.map(str::to_string));
        if out.len() >= MAX_IMAGES {
            return Err(ScanError::malformed(
                referrer,
                format!("lists more than {MAX_IMAGES} images"),
            ));
        }
        if matches!(
            desc.media_type.as_deref(),
            Some(MEDIA_OCI_INDEX | MEDIA_DOCKER_LIST)
        ) {
            if !seen.insert(desc.digest.clone()) {
                continue;
            }
            let (digest, bytes) = read_verified(store, referrer, &desc, Role::Manifest)?;
            let nested: Index = parse_json(digest.as_str(), &bytes)?;
            collect_manifests(
                store,
                nested.manifests,
                digest.as_str(),
                ref_name.as_deref(),
                depth + 1,
                seen,
                out,
            )?;
            continue;
        }
        let platform = desc.platform.as_ref().map(|p| Platform {
            os: p.os.clone(),
            architecture: p.architecture.clone(),
            variant: p.variant.clone(),
        });
        let names = ref_name
            .iter()
            .chain(desc.annotations.get(CONTAINERD_NAME))
            .cloned()
            .collect();
        out.push(Candidate {
            descriptor: desc,
            ref_name,
            names,
            platform,
            referrer: referrer.to_string(),
        });
    }
    Ok(())
}

fn config_platform(config: &Config) -> Option<Platform> {
    Some(Platform {
        os: config.os.clone()?,
        architecture: config.architecture.clone()?,
        variant: config.variant.clone(),
    })
}

fn diff_ids(config: &Config, referrer: &str) -> Result<Vec<Digest>, ScanError> {
    config
        .rootfs
        .as_ref()
        .map(|r| {
            r.diff_ids
                .iter()
                .map(|d| parse_digest(referrer, d))
                .collect()
        })
        .unwrap_or(Ok(Vec::new()))
}

/// The `created_by` of each layer: history entries marked `empty_layer`
/// made no layer and are skipped.
fn layer_history(config: &Config) -> Vec<Option<String>> {
    config
        .history
        .iter()
        .filter(|h| !h.empty_layer)
        .map(|h| h.created_by.clone())
        .collect()
}

fn choice_list(items: impl IntoIterator<Item = String>) -> String {
    let list: Vec<String> = items.into_iter().collect();
    if list.is_empty() {
        "none".to_string()
    } else {
        list.join(", ")
    }
}

/// Picks one image: the only one, else the one matching the wanted
/// platform (default: the host's); anything else is an error listing the
/// choices.
fn choose<T>(
    mut items: Vec<T>,
    platform_of: impl Fn(&T) -> Option<Platform>,
    target: &str,
    wanted: Option<&Platform>,
) -> Result<T, ScanError> {
    let choices = || choice_list(items_platforms(&items, &platform_of));
    if items.is_empty() {
        return Err(ScanError::malformed(target, "holds no image"));
    }
    if let Some(wanted) = wanted {
        let found = items
            .iter()
            .position(|i| platform_of(i).is_some_and(|p| wanted.matches(&p)));
        return match found {
            Some(at) => Ok(items.swap_remove(at)),
            None => Err(ScanError::NoMatch {
                target: target.into(),
                wanted: format!("platform `{wanted}`"),
                choices: choices(),
            }),
        };
    }
    if items.len() == 1 {
        return Ok(items.remove(0));
    }
    let host = Platform::host();
    let matching: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, i)| platform_of(i).is_some_and(|p| host.matches(&p)))
        .map(|(n, _)| n)
        .collect();
    if matching.len() == 1 {
        return Ok(items.swap_remove(matching[0]));
    }
    Err(ScanError::Ambiguous {
        target: target.into(),
        choices: choices(),
    })
}

fn items_platforms<T>(items: &[T], platform_of: &impl Fn(&T) -> Option<Platform>) -> Vec<String> {
    items
        .iter()
        .map(|i| {
            platform_of(i)
                .map(|p| p.to_string())
                .unwrap_or_else(|| "unknown platform".into())
        })
        .collect()
}

/// Plans the reading of a `docker save` archive from its `manifest.json`.
pub fn plan_docker(
    store: &dyn BlobStore,
    target: &str,
    selector: Option<&str>,
    platform: Option<&Platform>,
) -> Result<ImagePlan, ScanError> {
    let bytes = store.read_small("manifest.json")?.ok_or_else(|| {
        ScanError::malformed(
            store.origin().display().to_string(),
            "docker archive without `manifest.json`",
        )
    })?;
    let mut entries: Vec<DockerEntry> = parse_json("manifest.json", &bytes)?;
    if let Some(selector) = selector {
        let tags: Vec<String> = entries
            .iter()
            .flat_map(|e| e.repo_tags.clone().unwrap_or_default())
            .collect();
        entries.retain(|e| {
            e.repo_tags
                .as_ref()
                .is_some_and(|t| t.iter().any(|t| t == selector))
        });
        if entries.is_empty() {
            return Err(ScanError::NoMatch {
                target: target.into(),
                wanted: format!("tag `{selector}`"),
                choices: choice_list(tags),
            });
        }
    }
    let mut loaded = Vec::new();
    for entry in entries {
        let config_bytes =
            store
                .read_small(&entry.config)?
                .ok_or_else(|| ScanError::MissingBlob {
                    blob: entry.config.clone(),
                    referrer: "manifest.json".into(),
                })?;
        let config_digest = Digest::of(&config_bytes);
        if let Some(expected) = digest_in_name(&entry.config) {
            check_digest(&entry.config, &expected, &config_bytes)?;
        }
        let config: Config = parse_json(&entry.config, &config_bytes)?;
        let platform = config_platform(&config);
        loaded.push((entry, config, config_digest, platform));
    }
    let (entry, config, config_digest, platform) =
        choose(loaded, |(_, _, _, p)| p.clone(), target, platform)?;
    let diff_ids = diff_ids(&config, &entry.config)?;
    if diff_ids.len() != entry.layers.len() {
        return Err(ScanError::malformed(
            &entry.config,
            format!(
                "lists {} diff_ids for {} layers in `manifest.json`",
                diff_ids.len(),
                entry.layers.len()
            ),
        ));
    }
    let history = layer_history(&config);
    let layers = entry
        .layers
        .iter()
        .enumerate()
        .map(|(i, path)| PlannedLayer {
            blob: path.clone(),
            digest: digest_in_name(path),
            diff_id: diff_ids.get(i).cloned(),
            media_type: None,
            size: None,
            created_by: history.get(i).cloned().flatten(),
        })
        .collect();
    Ok(ImagePlan {
        format: ImageFormat::Docker,
        digest: Some(config_digest),
        platform,
        created: config.created,
        names: entry
            .repo_tags
            .iter()
            .flatten()
            .take(MAX_NAMES)
            .cloned()
            .collect(),
        layers,
    })
}

/// The digest a docker-archive member name carries: `blobs/sha256/<hex>`
/// or `<hex>.json`.
fn digest_in_name(name: &str) -> Option<Digest> {
    let base = name.rsplit('/').next()?;
    let hex = base.strip_suffix(".json").unwrap_or(base);
    let in_blobs = name.trim_start_matches("./").starts_with("blobs/sha256/");
    if in_blobs || base.ends_with(".json") {
        Digest::parse(&format!("sha256:{hex}")).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_in_docker_names() {
        let hex = "a".repeat(64);
        assert!(digest_in_name(&format!("blobs/sha256/{hex}")).is_some());
        assert!(digest_in_name(&format!("{hex}.json")).is_some());
        assert!(digest_in_name(&format!("{hex}/layer.tar")).is_none());
    }

    #[test]
    fn choose_by_platform_or_fail_listing_choices() {
        let items = vec![
            Platform::parse("linux/amd64").unwrap(),
            Platform::parse("linux/arm64").unwrap(),
        ];
        let arm = Platform::parse("linux/arm64").unwrap();
        assert_eq!(
            choose(items.clone(), |p| Some(p.clone()), "t", Some(&arm)).unwrap(),
            arm
        );
        let s390 = Platform::parse("linux/s390x").unwrap();
        let err = choose(items.clone(), |p| Some(p.clone()), "t", Some(&s390))
            .unwrap_err()
            .to_string();
        assert!(err.contains("linux/amd64, linux/arm64"), "{err}");
        let others = vec![
            Platform::parse("linux/ppc64le").unwrap(),
            Platform::parse("linux/riscv64").unwrap(),
        ];
        assert!(matches!(
            choose(others, |p| Some(p.clone()), "t", None),
            Err(ScanError::Ambiguous { .. })
        ));
    }
}
