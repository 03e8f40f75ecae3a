//! Images pulled from a registry over the OCI Distribution API. The
//! manifest the reference names stands in for a layout's `index.json`;
//! manifests and indexes are fetched by digest; layer blobs stream from
//! the HTTP response straight into the layer pass, so a pulled layer is
//! decompressed once and never written to disk. Every manifest, config and
//! layer is checked against its digest like any other source's. Requests
//! are retried and blobs resumed as [`super::distribution`] and
//! [`super::blob_reader`] say.

use super::blob_reader::BlobReader;
use super::blobs::{BlobStore, MAX_METADATA_BYTES, OpenBlob};
use super::credentials::Credentials;
use super::distribution::{ACCEPTED, RegistryError, Session};
use super::reference::ImageReference;
use crate::digest::Digest;
use crate::error::ScanError;
use imgscan_sbom::retry::{Backoff, RetryPolicy};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;
use tokio::runtime::Runtime;

/// How long a connection, a silent read or a credential helper may take
/// before it counts as failed, unless the options say otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// How to reach registries.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Registries (`host[:port]`) reached over plain HTTP. Loopback
    /// registries (`localhost`, `127.0.0.0/8`, `[::1]`) always are, as the
    /// Docker daemon treats them.
    pub insecure: Vec<String>,
    /// Credentials given explicitly; else the Docker config's are used.
    pub credentials: Option<Credentials>,
    /// PEM files of certificate authorities trusted besides the bundled
    /// web roots (a private registry's CA). Given any, a loopback registry
    /// is reached over HTTPS too.
    pub ca_files: Vec<PathBuf>,
    /// How often and how long requests are retried.
    pub retry: RetryPolicy,
    /// Longest a connection may take to open, a read may wait for data,
    /// or a credential helper for its answer; a blob's connection must also
    /// average 16 KiB/s once twice this has passed.
    pub timeout: Duration,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            insecure: Vec::new(),
            credentials: None,
            ca_files: Vec::new(),
            retry: RetryPolicy::default(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Largest CA file read.
const MAX_CA_BYTES: u64 = 1 << 20;

/// A registry repository read as a blob store.
pub struct RegistryStore {
    runtime: Runtime,
    session: Session,
    reference: ImageReference,
    origin: PathBuf,
    slow_after: Duration,
    /// The synthesized `index.json`: one descriptor, the reference's manifest.
    index: Vec<u8>,
    /// Manifests fetched so far, by digest.
    manifests: Mutex<HashMap<String, Vec<u8>>>,
}

impl RegistryStore {
    /// Resolves `reference` (`registry/repo:tag`, `repo@sha256:…`; Docker
    /// Hub when no registry is named) and fetches its manifest.
    pub fn connect(reference: &str, options: &RegistryOptions) -> Result<Self, ScanError> {
        let parsed = ImageReference::parse(reference)
            .map_err(|e| ScanError::malformed(reference, format!("not an image reference: {e}")))?;
        let failed = |reason: String| ScanError::Registry {
            reference: reference.to_string(),
            reason,
        };
        let registry = parsed.api_host().to_string();
        let plain = options.insecure.contains(&registry)
            || (is_loopback(&registry) && options.ca_files.is_empty());
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("imgscan/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(options.timeout)
            .read_timeout(options.timeout);
        for path in &options.ca_files {
            builder = builder.add_root_certificate(read_ca(path).map_err(&failed)?);
        }
        let credentials = match &options.credentials {
            Some(given) => Some(given.clone()),
            None => Credentials::from_docker_config(&registry, options.timeout)
                .map_err(|e| failed(e.to_string()))?,
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| failed(format!("cannot start the network runtime: {e}")))?;
        let client = {
            let _inside = runtime.enter();
            builder
                .build()
                .map_err(|e| failed(format!("cannot set up the HTTP client: {e}")))?
        };
        let session = Session::new(
            client,
            if plain { "http" } else { "https" },
            &registry,
            parsed.repository(),
            credentials,
            options.retry,
        );
        let mut store = RegistryStore {
            runtime,
            session,
            origin: PathBuf::from(parsed.whole()),
            reference: parsed,
            slow_after: options.timeout.saturating_mul(2),
            index: Vec::new(),
            manifests: Mutex::new(HashMap::new()),
        };
        let by = store.reference.manifest_reference().to_string();
        let (bytes, digest) = store
            .fetch_manifest(&by)
            .map_err(|e| failed(e.to_string()))?;
        store.index = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "manifests": [{
                "mediaType": media_type_of(&bytes),
                "digest": digest.as_str(),
                "size": bytes.len(),
            }],
        }))
        .expect("a JSON value serialises");
        Ok(store)
    }

    /// Fetches the manifest or index `by` names (a tag or digest), refuses
    /// it past the metadata size limit, and keeps it by digest.
    fn fetch_manifest(&self, by: &str) -> Result<(Vec<u8>, Digest), RegistryError> {
        let (bytes, digest) = self
            .runtime
            .block_on(self.session.manifest(by, MAX_METADATA_BYTES))?;
        self.manifests
            .lock()
            .unwrap()
            .insert(digest.to_string(), bytes.clone());
        Ok((bytes, digest))
    }

    fn registry_error(&self, error: RegistryError) -> ScanError {
        ScanError::Registry {
            reference: self.reference.whole(),
            reason: error.to_string(),
        }
    }
}

impl BlobStore for RegistryStore {
    fn open(&self, name: &str) -> Result<Option<OpenBlob<'_>>, ScanError> {
        if name == "index.json" {
            return Ok(Some((Box::new(&self.index[..]), self.index.len() as u64)));
        }
        let Some(hex) = name.strip_prefix("blobs/sha256/") else {
            return Ok(None);
        };
        let digest = format!("sha256:{hex}");
        let mut attempts = Backoff::new(self.session.policy());
        let (response, _) = self
            .runtime
            .block_on(self.session.blob(&digest, 0, &mut attempts))
            .map_err(|e| self.registry_error(e))?;
        let size = response.content_length().ok_or_else(|| {
            self.registry_error(RegistryError::Protocol {
                what: format!("blob `{digest}`"),
                reason: "the registry sent no length".into(),
            })
        })?;
        let reader = BlobReader::new(
            self.runtime.handle().clone(),
            &self.session,
            (digest, size),
            response,
            attempts,
            self.slow_after,
        );
        Ok(Some((Box::new(reader), size)))
    }

    fn origin(&self) -> &Path {
        &self.origin
    }

    fn read_manifest(&self, digest: &Digest) -> Result<Option<Vec<u8>>, ScanError> {
        if let Some(bytes) = self.manifests.lock().unwrap().get(digest.as_str()) {
            return Ok(Some(bytes.clone()));
        }
        let (bytes, _) = self
            .fetch_manifest(digest.as_str())
            .map_err(|e| self.registry_error(e))?;
        Ok(Some(bytes))
    }
}

/// A CA file as a PEM certificate, bounded in size.
fn read_ca(path: &Path) -> Result<reqwest::Certificate, String> {
    let data = imgscan_sbom::input::read_user_file(path, "CA file", MAX_CA_BYTES)
        .map_err(|e| e.to_string())?;
    if !data.starts_with(b"-----BEGIN CERTIFICATE-----") {
        return Err(format!(
            "CA file `{}` is not a PEM certificate",
            path.display()
        ));
    }
    reqwest::Certificate::from_pem(&data).map_err(|e| format!("CA file `{}`: {e}", path.display()))
}

/// The media type a manifest body declares, else what its shape says.
fn media_type_of(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Shape {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
        manifests: Option<serde_json::Value>,
    }
    match serde_json::from_slice::<Shape>(body) {
        Ok(Shape {
            media_type: Some(declared),
            ..
        }) => declared,
        Ok(Shape {
            manifests: Some(_), ..
        }) => ACCEPTED[0].to_string(),
        _ => ACCEPTED[2].to_string(),
    }
}

/// Whether a registry (`host[:port]`) is on this machine.
fn is_loopback(registry: &str) -> bool {
    let host = match registry.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => registry.split(':').next().unwrap_or(registry),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_registries() {
        assert!(is_loopback("localhost:5000"));
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(is_loopback("127.8.0.1"));
        assert!(is_loopback("[::1]:5000"));
        assert!(!is_loopback("registry.example.org:5000"));
        assert!(!is_loopback("10.0.0.1:5000"));
    }

    #[test]
    fn media_types_from_bodies() {
        assert_eq!(
            media_type_of(
                br#"{"mediaType":"application/vnd.docker.distribution.manifest.v2+json"}"#
            ),
            "application/vnd.docker.distribution.manifest.v2+json"
        );
        assert_eq!(media_type_of(br#"{"manifests":[]}"#), ACCEPTED[0]);
        assert_eq!(media_type_of(br#"{"layers":[]}"#), ACCEPTED[2]);
        assert_eq!(media_type_of(b"not json"), ACCEPTED[2]);
    }
}
