//! How a registry asks to be authenticated (`WWW-Authenticate`), and the
//! answer: HTTP Basic with the user's credentials, or a bearer token from
//! the registry's token service (Docker Hub, GHCR, Quay, …) — fetched with
//! the credentials as Basic auth, or, for an identity token (a refresh
//! token, user name `<token>`), with the OAuth2 refresh-token grant.

use super::credentials::Credentials;
use base64::Engine;

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// `Basic realm="…"`.
    Basic,
    /// `Bearer realm="…",service="…",scope="…"`.
    Bearer {
        /// The token service's URL.
        realm: String,
        /// The `service` to ask a token for.
        service: Option<String>,
        /// The scope the registry says the request needs.
        scope: Option<String>,
    },
}

impl Challenge {
    /// Parses the header's value; `None` for an unknown scheme or a Bearer
    /// challenge without a realm.
    pub fn parse(header: &str) -> Option<Challenge> {
        let header = header.trim();
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            return Some(Challenge::Basic);
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let params = parse_params(rest);
        let get = |key: &str| {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.clone())
        };
        Some(Challenge::Bearer {
            realm: get("realm")?,
            service: get("service"),
            scope: get("scope"),
        })
    }
}

/// `key=value` and `key="quoted \"value\""` pairs, comma-separated.
fn parse_params(text: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ',' || c.is_whitespace()).is_some() {}
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=')).collect();
        if chars.next().is_none() {
            return params;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => value.extend(chars.next()),
                    c => value.push(c),
                }
            }
        } else {
            value = std::iter::from_fn(|| chars.next_if(|c| *c != ',')).collect();
        }
        params.push((key.trim().to_string(), value.trim().to_string()));
    }
}

/// The `Authorization` value for HTTP Basic.
pub(crate) fn basic(credentials: &Credentials) -> String {
    let pair = format!("{}:{}", credentials.username, credentials.password);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// A token service's answer: `token` (Docker) or `access_token` (OAuth2).
#[derive(serde::Deserialize)]
pub(crate) struct TokenAnswer {
    token: Option<String>,
    access_token: Option<String>,
}

impl TokenAnswer {
    /// The bearer token, if the answer holds one.
    pub(crate) fn into_token(self) -> Option<String> {
        self.token
            .or(self.access_token)
            .filter(|token| !token.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenges_as_docker_hub_and_ghcr_send_them() {
        assert_eq!(
            Challenge::parse(
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/alpine:pull".into()),
            })
        );
        assert_eq!(
            Challenge::parse(r#"bearer realm=https://ghcr.io/token, service="gh\"cr""#),
            Some(Challenge::Bearer {
                realm: "https://ghcr.io/token".into(),
                service: Some("gh\"cr".into()),
                scope: None,
            })
        );
        assert_eq!(
            Challenge::parse(r#"Basic realm="imgscan-test""#),
            Some(Challenge::Basic)
        );
        assert_eq!(Challenge::parse(r#"Bearer service="x""#), None, "no realm");
        assert_eq!(Challenge::parse("Negotiate"), None);
    }

    #[test]
    fn token_answers_in_either_field() {
        let answer = |json: &str| {
            serde_json::from_str::<TokenAnswer>(json)
                .unwrap()
                .into_token()
        };
        assert_eq!(answer(r#"{"token":"a"}"#).as_deref(), Some("a"));
        assert_eq!(answer(r#"{"access_token":"b"}"#).as_deref(), Some("b"));
        assert_eq!(answer(r#"{"token":""}"#), None);
    }
}
