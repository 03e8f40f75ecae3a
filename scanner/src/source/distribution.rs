//! Requests to one repository of a registry over the OCI Distribution API:
//! manifests and blobs by reference, each request authenticated as the
//! registry asks (see [`super::registry_auth`]) and retried — with
//! exponential backoff and jitter, honouring `Retry-After` — on what
//! [`super::registry_answers`] says is worth another attempt.

use super::credentials::Credentials;
pub use super::registry_answers::RegistryError;
use super::registry_answers::{
    describe, is_transient, range_start, read_bounded, refused, retry_after, retryable, success,
    too_large,
};
use super::registry_auth::{Challenge, TokenAnswer, basic};
use crate::digest::Digest;
use imgscan_sbom::retry::{Backoff, RetryPolicy};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_RANGE, RANGE, WWW_AUTHENTICATE};
use reqwest::{RequestBuilder, Response, StatusCode};
use std::sync::Mutex;
use std::time::Duration;

/// The manifest media types asked for, indexes first.
pub(crate) const ACCEPTED: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// One repository of one registry, with the authorization obtained so far.
pub(crate) struct Session {
    client: reqwest::Client,
    /// `scheme://host[:port]/v2/REPOSITORY`.
    base: String,
    repository: String,
    credentials: Option<Credentials>,
    /// The `Authorization` value that worked last (Basic or a bearer token).
    authorization: Mutex<Option<String>>,
    policy: RetryPolicy,
}

impl Session {
    /// A session with `repository` at `registry` (`host[:port]`).
    pub(crate) fn new(
        client: reqwest::Client,
        scheme: &str,
        registry: &str,
        repository: &str,
        credentials: Option<Credentials>,
        policy: RetryPolicy,
    ) -> Self {
        Session {
            client,
            base: format!("{scheme}://{registry}/v2/{repository}"),
            repository: repository.to_string(),
            credentials,
            authorization: Mutex::new(None),
            policy,
        }
    }

    /// The retry policy of this session's requests.
    pub(crate) fn policy(&self) -> RetryPolicy {
        self.policy
    }

    /// Fetches the manifest or index `reference` (a tag or a digest) names,
    /// whole and at most `limit` bytes, with the digest of its bytes
    /// (checked against `reference` when that is a digest).
    pub(crate) async fn manifest(
        &self,
        reference: &str,
        limit: u64,
    ) -> Result<(Vec<u8>, Digest), RegistryError> {
        let what = format!("manifest `{reference}`");
        let url = format!("{}/manifests/{reference}", self.base);
        let accept = ACCEPTED.join(", ");
        let mut attempts = Backoff::new(self.policy);
        loop {
            let response = self
                .send(&what, &mut attempts, || {
                    self.client.get(&url).header(ACCEPT, &accept)
                })
                .await?;
            let response = success(&what, response).await?;
            if response.content_length().is_some_and(|n| n > limit) {
                return Err(too_large(&what, limit));
            }
            match read_bounded(response, limit).await {
                Ok(Some(bytes)) => {
                    let digest = Digest::of(&bytes);
                    if reference.contains(':') && reference != digest.as_str() {
                        return Err(RegistryError::Protocol {
                            what,
                            reason: format!("the registry sent bytes with digest `{digest}`"),
                        });
                    }
                    return Ok((bytes.to_vec(), digest));
                }
                Ok(None) => return Err(too_large(&what, limit)),
                Err(reason) => {
                    let reason = format!("the body broke off: {reason}");
                    self.wait(&what, &mut attempts, None, reason).await?;
                }
            }
        }
    }

    /// Starts the body of blob `digest` at byte `offset`: with a `Range`
    /// request past 0. Returns the response and where its body starts (0
    /// when the registry ignored the range and sends the whole blob).
    /// Failed attempts count in `attempts`, which a reader resuming the
    /// blob goes on counting in.
    pub(crate) async fn blob(
        &self,
        digest: &str,
        offset: u64,
        attempts: &mut Backoff,
    ) -> Result<(Response, u64), RegistryError> {
        let what = format!("blob `{digest}`");
        let url = format!("{}/blobs/{digest}", self.base);
        let range = format!("bytes={offset}-");
        let response = self
            .send(&what, attempts, || {
                let request = self.client.get(&url);
                if offset > 0 {
                    request.header(RANGE, &range)
                } else {
                    request
                }
            })
            .await?;
        if offset > 0 && response.status() == StatusCode::PARTIAL_CONTENT {
            let start = response
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(range_start);
            return match start {
                Some(start) if start == offset => Ok((response, start)),
                _ => Err(RegistryError::Protocol {
                    what,
                    reason: format!(
                        "asked for bytes from {offset}, the registry sent another range"
                    ),
                }),
            };
        }
        Ok((success(&what, response).await?, 0))
    }

    /// Sends the request `build` makes until it is answered with something
    /// other than a retryable failure (each one counted in `attempts`),
    /// authenticating on a 401 as its challenge asks (once per call: a
    /// second 401 is the answer).
    async fn send(
        &self,
        what: &str,
        attempts: &mut Backoff,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, RegistryError> {
        let mut authenticated = false;
        loop {
            let mut request = build();
            let authorization = self.authorization.lock().unwrap().clone();
            if let Some(value) = &authorization {
                request = request.header(AUTHORIZATION, value);
            }
            let response = match request.send().await {
                Ok(response) => response,
                Err(e) if retryable(&e) => {
                    self.wait(what, attempts, None, describe(&e)).await?;
                    continue;
                }
                Err(e) => {
                    return Err(RegistryError::Network {
                        what: what.to_string(),
                        reason: describe(&e),
                    });
                }
            };
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && !authenticated {
                authenticated = true;
                let challenge = response
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(Challenge::parse);
                let Some(challenge) = challenge else {
                    return Err(refused(what, response).await);
                };
                let fresh = self.authorize(what, &challenge).await?;
                *self.authorization.lock().unwrap() = Some(fresh);
                continue;
            }
            if is_transient(status) {
                let after = retry_after(&response);
                let reason = format!("HTTP {}", status.as_u16());
                self.wait(what, attempts, after, reason).await?;
                continue;
            }
            return Ok(response);
        }
    }

    /// The `Authorization` value that answers `challenge`.
    async fn authorize(&self, what: &str, challenge: &Challenge) -> Result<String, RegistryError> {
        let Challenge::Bearer {
            realm,
            service,
            scope,
        } = challenge
        else {
            return match &self.credentials {
                Some(c) if !c.is_identity_token() => Ok(basic(c)),
                Some(_) => Err(RegistryError::Protocol {
                    what: what.to_string(),
                    reason: "an identity token needs a registry with a token service".into(),
                }),
                None => Err(RegistryError::Unauthorized {
                    what: what.to_string(),
                    status: 401,
                    detail: ": no credentials for this registry".into(),
                }),
            };
        };
        let scope = scope
            .clone()
            .unwrap_or_else(|| format!("repository:{}:pull", self.repository));
        let token_what = format!("{what}: token from `{realm}`");
        let response = self
            .send_unauthenticated(&token_what, || {
                let mut query = vec![("scope", scope.as_str())];
                if let Some(service) = service {
                    query.push(("service", service.as_str()));
                }
                match &self.credentials {
                    Some(c) if c.is_identity_token() => {
                        query.extend([
                            ("grant_type", "refresh_token"),
                            ("refresh_token", c.password.as_str()),
                            ("client_id", "imgscan"),
                        ]);
                        self.client.post(realm).form(&query)
                    }
                    Some(c) => self
                        .client
                        .get(realm)
                        .query(&query)
                        .header(AUTHORIZATION, basic(c)),
                    None => self.client.get(realm).query(&query),
                }
            })
            .await?;
        if matches!(response.status().as_u16(), 401 | 403) {
            return Err(refused(&token_what, response).await);
        }
        let response = success(&token_what, response).await?;
        let bad = |reason: &str| RegistryError::Protocol {
            what: token_what.clone(),
            reason: reason.to_string(),
        };
        let body = read_bounded(response, 1 << 20)
            .await
            .map_err(|e| bad(&format!("the answer broke off: {e}")))?
            .ok_or_else(|| bad("the answer is larger than 1 MiB"))?;
        let token = serde_json::from_slice::<TokenAnswer>(&body)
            .ok()
            .and_then(TokenAnswer::into_token)
            .ok_or_else(|| bad("the answer holds no token"))?;
        Ok(format!("Bearer {token}"))
    }

    /// [`Session::send`] for the token service: retried, never authorized
    /// with the registry's own `Authorization`.
    async fn send_unauthenticated(
        &self,
        what: &str,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, RegistryError> {
        let mut attempts = Backoff::new(self.policy);
        loop {
            match build().send().await {
                Ok(response) if is_transient(response.status()) => {
                    let after = retry_after(&response);
                    let reason = format!("HTTP {}", response.status().as_u16());
                    self.wait(what, &mut attempts, after, reason).await?;
                }
                Ok(response) => return Ok(response),
                Err(e) if retryable(&e) => {
                    self.wait(what, &mut attempts, None, describe(&e)).await?;
                }
                Err(e) => {
                    return Err(RegistryError::Network {
                        what: what.to_string(),
                        reason: describe(&e),
                    });
                }
            }
        }
    }

    /// Waits before the next attempt, or gives up with `reason`.
    async fn wait(
        &self,
        what: &str,
        attempts: &mut Backoff,
        retry_after: Option<Duration>,
        reason: String,
    ) -> Result<(), RegistryError> {
        match attempts.next_wait(retry_after) {
            Some(wait) => {
                tokio::time::sleep(wait).await;
                Ok(())
            }
            None => Err(RegistryError::GaveUp {
                what: what.to_string(),
                attempts: attempts.failures(),
                reason,
            }),
        }
    }
}
