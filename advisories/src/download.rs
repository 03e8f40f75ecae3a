//! Downloading one advisory archive over HTTP(S): a conditional request
//! (ETag / If-Modified-Since, remembered beside the file), retries with
//! exponential backoff and jitter on what is worth retrying (connection
//! errors, a body cut short, 408, 429 and 5xx, honouring `Retry-After`;
//! the waits are [`imgscan_sbom::retry`]'s), a size cap, and a
//! file that appears whole or not at all (written to `NAME.part`, renamed
//! when complete).

use imgscan_sbom::retry::{Backoff, RetryPolicy, parse_retry_after};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why a download failed.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// The HTTP client could not be set up.
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
    /// The server answered with a status that is not worth retrying.
    #[error("{url}: HTTP {status}")]
    Status {
        /// What was asked for.
        url: String,
        /// The status code.
        status: u16,
    },
    /// Every attempt failed; the last reason.
    #[error("{url}: gave up after {attempts} attempts: {reason}")]
    GaveUp {
        /// What was asked for.
        url: String,
        /// How many requests were made.
        attempts: u32,
        /// Why the last one failed.
        reason: String,
    },
    /// The body is larger than the configured cap.
    #[error("{url}: larger than the {limit}-byte limit")]
    TooLarge {
        /// What was asked for.
        url: String,
        /// The cap.
        limit: u64,
    },
    /// A local file could not be written.
    #[error("`{}`: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        cause: std::io::Error,
    },
}

/// What a download did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetched {
    /// A new copy was written, of this many bytes.
    Downloaded(u64),
    /// The server said the copy on disk is current (HTTP 304).
    NotModified,
}

/// Receives progress; the CLI draws it as a bar on a terminal.
pub trait DownloadProgress {
    /// A body of `total` bytes (when the server says) starts arriving.
    fn begin(&self, _url: &str, _total: Option<u64>) {}
    /// `bytes` more arrived.
    fn advance(&self, _bytes: u64) {}
    /// Attempt `attempt` failed for `reason`; the next starts after `wait`.
    fn retrying(&self, _url: &str, _attempt: u32, _reason: &str, _wait: Duration) {}
}

/// Progress that goes nowhere.
pub struct Silent;

impl DownloadProgress for Silent {}

/// How downloads behave.
#[derive(Debug, Clone)]
pub struct DownloadPolicy {
    /// Requests made at most per file.
    pub attempts: u32,
    /// Wait before the first retry; doubled for each next one (with
    /// jitter: each wait between half and all of it).
    pub backoff: Duration,
    /// Longest wait between attempts (also caps `Retry-After`).
    pub max_wait: Duration,
    /// Longest time spent retrying one file, from its first failure.
    pub max_retry_time: Duration,
    /// Longest a connection may take to open.
    pub connect_timeout: Duration,
    /// Longest one request may take, body included.
    pub request_timeout: Duration,
    /// Largest body accepted.
    pub max_bytes: u64,
}

impl Default for DownloadPolicy {
    fn default() -> Self {
        DownloadPolicy {
            attempts: 5,
            backoff: Duration::from_secs(1),
            max_wait: Duration::from_secs(60),
            max_retry_time: Duration::from_secs(30 * 60),
            connect_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30 * 60),
            max_bytes: 4 << 30,
        }
    }
}

impl DownloadPolicy {
    /// The waits between attempts this policy asks for.
    fn retry(&self) -> RetryPolicy {
        RetryPolicy {
            attempts: self.attempts,
            first_wait: self.backoff,
            max_wait: self.max_wait,
            max_total: self.max_retry_time,
        }
    }
}

/// The validators of a downloaded copy, kept in `FILE.validators.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Validators {
    etag: Option<String>,
    last_modified: Option<String>,
}

/// Downloads files under one [`DownloadPolicy`].
pub struct Downloader {
    client: reqwest::blocking::Client,
    policy: DownloadPolicy,
}

/// One failed attempt: whether to try again, and after how long at least.
struct Failure {
    reason: String,
    retry: bool,
    retry_after: Option<Duration>,
    fatal: Option<DownloadError>,
}

impl Failure {
    fn transient(reason: impl Into<String>) -> Self {
        Failure {
            reason: reason.into(),
            retry: true,
            retry_after: None,
            fatal: None,
        }
    }

    fn fatal(error: DownloadError) -> Self {
        Failure {
            reason: error.to_string(),
            retry: false,
            retry_after: None,
            fatal: Some(error),
        }
    }
}

impl Downloader {
    /// A downloader with `policy`.
    pub fn new(policy: DownloadPolicy) -> Result<Self, DownloadError> {
        let client = reqwest::blocking::Client::builder()
            .user_agent(concat!("imgscan/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(policy.connect_timeout)
            .timeout(policy.request_timeout)
            .build()
            .map_err(|e| DownloadError::Client(e.to_string()))?;
        Ok(Downloader { client, policy })
    }

    /// Downloads `url` to `dest`, unless the copy already there is current.
    pub fn fetch(
        &self,
        url: &str,
        dest: &Path,
        progress: &dyn DownloadProgress,
    ) -> Result<Fetched, DownloadError> {
        let validators_path = sibling(dest, ".validators.json");
        let validators: Validators = if dest.is_file() {
            std::fs::read(&validators_path)
                .ok()
                .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                .unwrap_or_default()
        } else {
            Validators::default()
        };
        let mut backoff = Backoff::new(self.policy.retry());
        loop {
            let failure = match self.attempt(url, dest, &validators, progress) {
                Ok((fetched, fresh)) => {
                    if let Some(fresh) = fresh {
                        let text = serde_json::to_vec(&fresh).unwrap_or_default();
                        write_file(&validators_path, &text)?;
                    }
                    return Ok(fetched);
                }
                Err(failure) => failure,
            };
            if let Some(error) = failure.fatal {
                return Err(error);
            }
            let wait = if failure.retry {
                backoff.next_wait(failure.retry_after)
            } else {
                None
            };
            let Some(wait) = wait else {
                return Err(DownloadError::GaveUp {
                    url: url.to_string(),
                    attempts: backoff.failures() + u32::from(!failure.retry),
                    reason: failure.reason,
                });
            };
            progress.retrying(url, backoff.failures(), &failure.reason, wait);
            std::thread::sleep(wait);
        }
    }

    /// One request. On success, what was fetched and the validators to
    /// remember (none after a 304).
    fn attempt(
        &self,
        url: &str,
        dest: &Path,
        validators: &Validators,
        progress: &dyn DownloadProgress,
    ) -> Result<(Fetched, Option<Validators>), Failure> {
        let mut request = self.client.get(url);
        if let Some(etag) = &validators.etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        if let Some(date) = &validators.last_modified {
            request = request.header(reqwest::header::IF_MODIFIED_SINCE, date);
        }
        let mut response = request
            .send()
            .map_err(|e| Failure::transient(error_chain(&e)))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok((Fetched::NotModified, None));
        }
        if !status.is_success() {
            let retry = status == reqwest::StatusCode::TOO_MANY_REQUESTS
                || status == reqwest::StatusCode::REQUEST_TIMEOUT
                || status.is_server_error();
            if !retry {
                return Err(Failure::fatal(DownloadError::Status {
                    url: url.to_string(),
                    status: status.as_u16(),
                }));
            }
            return Err(Failure {
                reason: format!("HTTP {}", status.as_u16()),
                retry: true,
                retry_after: retry_after(response.headers()),
                fatal: None,
            });
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        let fresh = Validators {
            etag: header(reqwest::header::ETAG),
            last_modified: header(reqwest::header::LAST_MODIFIED),
        };
        let total = response.content_length();
        let too_large = || {
            Failure::fatal(DownloadError::TooLarge {
                url: url.to_string(),
                limit: self.policy.max_bytes,
            })
        };
        if total.is_some_and(|n| n > self.policy.max_bytes) {
            return Err(too_large());
        }
        progress.begin(url, total);
        let part = sibling(dest, ".part");
        let io = |path: &Path, cause| {
            Failure::fatal(DownloadError::Io {
                path: path.to_path_buf(),
                cause,
            })
        };
        let mut file = std::fs::File::create(&part).map_err(|e| io(&part, e))?;
        let mut written = 0u64;
        let mut buffer = vec![0u8; 256 * 1024];
        loop {
            let n = match response.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    drop(file);
                    let _ = std::fs::remove_file(&part);
                    return Err(Failure::transient(format!(
                        "the body broke off after {written} bytes: {e}"
                    )));
                }
            };
            written += n as u64;
            if written > self.policy.max_bytes {
                drop(file);
                let _ = std::fs::remove_file(&part);
                return Err(too_large());
            }
            file.write_all(&buffer[..n]).map_err(|e| io(&part, e))?;
            progress.advance(n as u64);
        }
        if let Some(total) = total
            && written != total
        {
            let _ = std::fs::remove_file(&part);
            return Err(Failure::transient(format!(
                "the body broke off after {written} of {total} bytes"
            )));
        }
        file.sync_all().map_err(|e| io(&part, e))?;
        std::fs::rename(&part, dest).map_err(|e| io(dest, e))?;
        Ok((Fetched::Downloaded(written), Some(fresh)))
    }
}

/// `dest` with `suffix` appended to its file name.
fn sibling(dest: &Path, suffix: &str) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    dest.with_file_name(name)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), DownloadError> {
    std::fs::write(path, bytes).map_err(|cause| DownloadError::Io {
        path: path.to_path_buf(),
        cause,
    })
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, std::time::SystemTime::now())
}

/// An error with its causes, which reqwest keeps in `source()`.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
