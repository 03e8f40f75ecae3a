//! Images pulled from a registry over the OCI Distribution API (with
//! `oci-client`). The manifest the reference names stands in for a layout's
//! `index.json`; manifests and indexes are fetched by digest; layer blobs
//! stream from the HTTP response straight into the layer pass, so a pulled
//! layer is decompressed once and never written to disk. Every manifest,
//! config and layer is checked against its digest like any other source's.

use super::blobs::{BlobStore, MAX_METADATA_BYTES, OpenBlob};
use super::credentials::Credentials;
use crate::digest::Digest;
use crate::error::ScanError;
use futures_util::StreamExt;
use oci_client::client::{
    Certificate, CertificateEncoding, ClientConfig, ClientProtocol, SizedStream,
};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use std::collections::HashMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::runtime::{Handle, Runtime};

/// The manifest media types asked for, indexes first.
const ACCEPTED: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// How long a connection or a silent read may take before the pull fails.
const NETWORK_TIMEOUT: Duration = Duration::from_secs(60);

/// How to reach registries.
#[derive(Debug, Clone, Default)]
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
}

/// Largest CA file read.
const MAX_CA_BYTES: u64 = 1 << 20;

/// A registry repository read as a blob store.
pub struct RegistryStore {
    runtime: Runtime,
    client: Client,
    auth: RegistryAuth,
    reference: Reference,
    origin: PathBuf,
    /// The synthesized `index.json`: one descriptor, the reference's manifest.
    index: Vec<u8>,
    /// Manifests fetched so far, by digest.
    manifests: Mutex<HashMap<String, Vec<u8>>>,
}

impl RegistryStore {
    /// Resolves `reference` (`registry/repo:tag`, `repo@sha256:…`; Docker
    /// Hub when no registry is named) and fetches its manifest.
    pub fn connect(reference: &str, options: &RegistryOptions) -> Result<Self, ScanError> {
        let parsed: Reference = reference
            .parse()
            .map_err(|e| ScanError::malformed(reference, format!("not an image reference: {e}")))?;
        let registry = parsed.resolve_registry().to_string();
        let failed = |reason: String| ScanError::Registry {
            reference: reference.to_string(),
            reason,
        };
        let mut insecure = options.insecure.clone();
        if is_loopback(&registry) && options.ca_files.is_empty() {
            insecure.push(registry.clone());
        }
        let extra_root_certificates = options
            .ca_files
            .iter()
            .map(|path| read_ca(path).map_err(&failed))
            .collect::<Result<Vec<_>, _>>()?;
        let client = Client::new(ClientConfig {
            protocol: ClientProtocol::HttpsExcept(insecure),
            extra_root_certificates,
            connect_timeout: Some(NETWORK_TIMEOUT),
            read_timeout: Some(NETWORK_TIMEOUT),
            ..Default::default()
        });
        let auth = match &options.credentials {
            Some(given) => given.to_auth(),
            None => Credentials::from_docker_config(&registry)
                .map_err(&failed)?
                .map_or(RegistryAuth::Anonymous, |c| c.to_auth()),
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| failed(format!("cannot start the network runtime: {e}")))?;
        let mut store = RegistryStore {
            runtime,
            client,
            auth,
            origin: PathBuf::from(parsed.whole()),
            reference: parsed,
            index: Vec::new(),
            manifests: Mutex::new(HashMap::new()),
        };
        let (bytes, digest) = store.fetch_manifest(&store.reference).map_err(failed)?;
        store.index = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "manifests": [{
                "mediaType": media_type_of(&bytes),
                "digest": digest,
                "size": bytes.len(),
            }],
        }))
        .expect("a JSON value serialises");
        Ok(store)
    }

    /// Fetches the manifest or index `reference` names (by tag or digest),
    /// refuses it past the metadata size limit, and keeps it by digest.
    fn fetch_manifest(&self, reference: &Reference) -> Result<(Vec<u8>, String), String> {
        let (bytes, digest) = self
            .runtime
            .block_on(
                self.client
                    .pull_manifest_raw(reference, &self.auth, ACCEPTED),
            )
            .map_err(|e| describe(&e))?;
        if bytes.len() as u64 > MAX_METADATA_BYTES {
            return Err(format!(
                "manifest `{digest}` is {} bytes, larger than the {MAX_METADATA_BYTES}-byte limit for metadata",
                bytes.len()
            ));
        }
        self.manifests
            .lock()
            .unwrap()
            .insert(digest.clone(), bytes.clone());
        Ok((bytes, digest))
    }

    fn registry_error(&self, reason: impl ToString) -> ScanError {
        ScanError::Registry {
            reference: self.reference.whole(),
            reason: reason.to_string(),
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
        let stream = self
            .runtime
            .block_on(
                self.client
                    .pull_blob_stream(&self.reference, digest.as_str()),
            )
            .map_err(|e| self.registry_error(format!("blob `{digest}`: {}", describe(&e))))?;
        let size = stream.content_length.ok_or_else(|| {
            self.registry_error(format!("blob `{digest}`: the registry sent no length"))
        })?;
        let reader = StreamReader {
            handle: self.runtime.handle().clone(),
            stream,
            chunk: bytes::Bytes::new(),
            started: Instant::now(),
            received: 0,
        };
        Ok(Some((Box::new(reader), size)))
    }

    fn origin(&self) -> &Path {
        &self.origin
    }

    fn read_manifest(&self, digest: &Digest) -> Result<Option<Vec<u8>>, ScanError> {
        if let Some(bytes) = self.manifests.lock().unwrap().get(digest.as_str()) {
            return Ok(Some(bytes.clone()));
        }
        let by_digest = self.reference.clone_with_digest(digest.to_string());
        let (bytes, _) = self
            .fetch_manifest(&by_digest)
            .map_err(|e| self.registry_error(format!("manifest `{digest}`: {e}")))?;
        Ok(Some(bytes))
    }
}

/// A CA file as a PEM certificate, bounded in size.
fn read_ca(path: &Path) -> Result<Certificate, String> {
    let data = imgscan_sbom::input::read_user_file(path, "CA file", MAX_CA_BYTES)
        .map_err(|e| e.to_string())?;
    if !data.starts_with(b"-----BEGIN CERTIFICATE-----") {
        return Err(format!(
            "CA file `{}` is not a PEM certificate",
            path.display()
        ));
    }
    Ok(Certificate {
        encoding: CertificateEncoding::Pem,
        data,
    })
}

/// A blob's HTTP body as a blocking reader: each read waits for the next
/// chunk on the network runtime. A registry that trickles (each read
/// within the timeout, the whole far slower than any real link) is cut
/// off once [`SLOW_AFTER`] has passed below [`MIN_RATE`].
struct StreamReader {
    handle: Handle,
    stream: SizedStream,
    chunk: bytes::Bytes,
    started: Instant,
    received: u64,
}

/// Bytes per second a blob must average once [`SLOW_AFTER`] has passed.
const MIN_RATE: u64 = 16 << 10;
const SLOW_AFTER: Duration = Duration::from_secs(120);

impl Read for StreamReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            let elapsed = self.started.elapsed();
            if elapsed > SLOW_AFTER && self.received / elapsed.as_secs().max(1) < MIN_RATE {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "the registry sent {} bytes in {} s, under {} KiB/s",
                        self.received,
                        elapsed.as_secs(),
                        MIN_RATE >> 10
                    ),
                ));
            }
            match self.handle.block_on(self.stream.next()) {
                Some(chunk) => {
                    self.chunk = chunk?;
                    self.received += self.chunk.len() as u64;
                }
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

/// An error with its causes, which reqwest keeps out of its own message
/// (`error sending request` says nothing of a refused connection).
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
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
