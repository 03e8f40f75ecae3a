//! Reading a registry's answers: which failures are worth another attempt
//! (408, 429, 5xx; connections that reset or time out, but not a refused
//! connection or a TLS failure), the wait a `Retry-After` asks for, a
//! registry's own error messages, bodies read within a bound, and the
//! typed error every registry request fails with.

use bytes::Bytes;
use imgscan_sbom::retry::parse_retry_after;
use reqwest::header::RETRY_AFTER;
use reqwest::{Response, StatusCode};
use std::time::{Duration, SystemTime};

/// Why a registry request failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry answered with an error status not worth retrying.
    #[error("{what}: HTTP {status}{detail}")]
    Status {
        /// What was asked for.
        what: String,
        /// The status code.
        status: u16,
        /// The registry's own error messages, if it sent any.
        detail: String,
    },
    /// The registry wants credentials it was not given, or refused them.
    #[error("{what}: Not authorized (HTTP {status}){detail}")]
    Unauthorized {
        /// What was asked for.
        what: String,
        /// 401 or 403.
        status: u16,
        /// The registry's own error messages, if it sent any.
        detail: String,
    },
    /// Every attempt failed; the last reason.
    #[error("{what}: gave up after {attempts} attempt{}: {reason}", if *.attempts == 1 { "" } else { "s" })]
    GaveUp {
        /// What was asked for.
        what: String,
        /// How many requests were made.
        attempts: u32,
        /// Why the last one failed.
        reason: String,
    },
    /// A network failure that is not retried (connection refused, TLS).
    #[error("{what}: {reason}")]
    Network {
        /// What was asked for.
        what: String,
        /// The error with its causes.
        reason: String,
    },
    /// An answer that breaks the protocol (no length, too large, a wrong
    /// digest, a range that was not asked for, a token service's nonsense).
    #[error("{what}: {reason}")]
    Protocol {
        /// What was asked for.
        what: String,
        /// What is wrong with the answer.
        reason: String,
    },
}

/// Whether a status is worth another attempt: 408, 429 and 5xx.
pub(crate) fn is_transient(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
}

/// Whether a request that got no answer is worth another attempt: not
/// when the connection was refused or TLS failed (an answer of sorts),
/// nor when the request could not be built.
pub(crate) fn retryable(error: &reqwest::Error) -> bool {
    if error.is_builder() || error.is_redirect() {
        return false;
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        // An io::Error's `source()` skips the error it wraps: look inside.
        let mut io = cause.downcast_ref::<std::io::Error>();
        while let Some(e) = io {
            if matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::InvalidData
            ) {
                return false;
            }
            io = e.get_ref().and_then(|inner| inner.downcast_ref());
        }
        source = cause.source();
    }
    true
}

pub(crate) fn retry_after(response: &Response) -> Option<Duration> {
    let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, SystemTime::now())
}

/// The response when it is a success, else the error it is.
pub(crate) async fn success(what: &str, response: Response) -> Result<Response, RegistryError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    if matches!(status.as_u16(), 401 | 403) {
        return Err(refused(what, response).await);
    }
    Err(RegistryError::Status {
        what: what.to_string(),
        status: status.as_u16(),
        detail: error_detail(response).await,
    })
}

pub(crate) async fn refused(what: &str, response: Response) -> RegistryError {
    RegistryError::Unauthorized {
        what: what.to_string(),
        status: response.status().as_u16(),
        detail: error_detail(response).await,
    }
}

/// `: CODE: message; …` from an OCI error body, or nothing.
async fn error_detail(response: Response) -> String {
    #[derive(serde::Deserialize)]
    struct Envelope {
        errors: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    let Ok(Some(body)) = read_bounded(response, 64 << 10).await else {
        return String::new();
    };
    let Ok(envelope) = serde_json::from_slice::<Envelope>(&body) else {
        return String::new();
    };
    let messages: Vec<String> = envelope
        .errors
        .iter()
        .map(|e| format!("{}: {}", e.code, e.message))
        .collect();
    if messages.is_empty() {
        String::new()
    } else {
        format!(": {}", messages.join("; "))
    }
}

/// The whole body, or `None` past `limit` bytes.
pub(crate) async fn read_bounded(
    mut response: Response,
    limit: u64,
) -> Result<Option<Bytes>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
        if (body.len() + chunk.len()) as u64 > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body.into()))
}

pub(crate) fn too_large(what: &str, limit: u64) -> RegistryError {
    RegistryError::Protocol {
        what: what.to_string(),
        reason: format!("larger than the {limit}-byte limit for metadata"),
    }
}

/// The first byte of a `Content-Range: bytes FIRST-LAST/TOTAL`.
pub(crate) fn range_start(value: &str) -> Option<u64> {
    value
        .trim()
        .strip_prefix("bytes ")?
        .split('-')
        .next()?
        .trim()
        .parse()
        .ok()
}

/// An error with its causes, which reqwest keeps out of its own message
/// (`error sending request` says nothing of a refused connection).
pub(crate) fn describe(error: &dyn std::error::Error) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_starts() {
        assert_eq!(range_start("bytes 100-199/200"), Some(100));
        assert_eq!(range_start("bytes 0-0/*"), Some(0));
        assert_eq!(range_start("items 1-2/3"), None);
    }

    #[test]
    fn transient_statuses() {
        for code in [408, 429, 500, 502, 503, 504] {
            assert!(is_transient(StatusCode::from_u16(code).unwrap()), "{code}");
        }
        for code in [200, 206, 400, 401, 403, 404] {
            assert!(!is_transient(StatusCode::from_u16(code).unwrap()), "{code}");
        }
    }
}
