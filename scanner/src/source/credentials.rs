//! Registry credentials: given explicitly, or found through the Docker
//! client's config (`$DOCKER_CONFIG/config.json`, else
//! `~/.docker/config.json`), the file `docker login`, `skopeo login` and
//! `podman login --compat-auth-file` write: the registry's credential
//! helper (`credHelpers`), else the default one (`credsStore`), else the
//! registry's `auths` entry (`auth`, `username`/`password`, or an
//! `identitytoken`). User name `<token>` marks an identity token (an OAuth2
//! refresh token), as in the Docker protocol.

use super::cred_helper;
use base64::Engine;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Why credentials could not be found.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// The Docker config exists but cannot be read or used.
    #[error("Docker config `{}`: {reason}", path.display())]
    Config {
        /// The config file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A credential helper failed (never with the secret in its reason).
    #[error(transparent)]
    Helper(#[from] cred_helper::HelperError),
}

/// The user name Docker uses for an identity token.
const IDENTITY_TOKEN_USER: &str = "<token>";

/// A user name and a password (or token) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password or access token.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .finish()
    }
}

#[derive(Deserialize)]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(rename = "credsStore", default)]
    creds_store: Option<String>,
    #[serde(rename = "credHelpers", default)]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

impl Credentials {
    /// Whether the password is an identity token (user name `<token>`).
    pub fn is_identity_token(&self) -> bool {
        self.username == IDENTITY_TOKEN_USER
    }

    /// The credentials the Docker config gives for `registry`
    /// (`host[:port]`, Docker Hub as `docker.io` or `index.docker.io`), if
    /// any, running a credential helper (at most `timeout`) when the config
    /// names one. A config that exists but cannot be read or parsed is an
    /// error: a silent anonymous pull would hide it.
    pub fn from_docker_config(
        registry: &str,
        timeout: Duration,
    ) -> Result<Option<Credentials>, CredentialError> {
        let Some(path) = docker_config_path() else {
            return Ok(None);
        };
        if !path.exists() {
            return Ok(None);
        }
        let bad = |reason: String| CredentialError::Config {
            path: path.clone(),
            reason,
        };
        let text = imgscan_sbom::input::read_user_text(
            &path,
            "Docker config",
            imgscan_sbom::input::MAX_USER_FILE_BYTES,
        )
        .map_err(|e| bad(e.to_string()))?;
        let config: DockerConfig =
            serde_json::from_str(&text).map_err(|e| bad(format!("malformed JSON: {e}")))?;
        if let Some(helper) = config.helper_for(registry)
            && let Some(found) = cred_helper::get(helper, &server_address(registry), timeout)?
        {
            return Ok(Some(Credentials {
                username: found.username,
                password: found.secret,
            }));
        }
        let Some(entry) = find_entry(&config.auths, registry) else {
            return Ok(None);
        };
        entry
            .credentials()
            .map_err(|reason| bad(format!("`{registry}`: {reason}")))
    }
}

impl DockerConfig {
    /// The credential helper for `registry`: its own, else the default.
    fn helper_for(&self, registry: &str) -> Option<&str> {
        find_entry(&self.cred_helpers, registry)
            .or(self.creds_store.as_ref())
            .map(String::as_str)
            .filter(|name| !name.is_empty())
    }
}

/// The server address a credential helper knows a registry by: Docker Hub
/// by its legacy index URL, as `docker login` stores it.
fn server_address(registry: &str) -> String {
    if is_docker_hub(registry) {
        "https://index.docker.io/v1/".to_string()
    } else {
        registry.to_string()
    }
}

fn is_docker_hub(host: &str) -> bool {
    matches!(
        host,
        "docker.io" | "index.docker.io" | "registry-1.docker.io"
    )
}

impl AuthEntry {
    fn credentials(&self) -> Result<Option<Credentials>, String> {
        if let Some(token) = self.identitytoken.as_ref().filter(|t| !t.is_empty()) {
            return Ok(Some(Credentials {
                username: IDENTITY_TOKEN_USER.to_string(),
                password: token.clone(),
            }));
        }
        if let (Some(username), Some(password)) = (&self.username, &self.password) {
            return Ok(Some(Credentials {
                username: username.clone(),
                password: password.clone(),
            }));
        }
        let Some(encoded) = self.auth.as_deref().filter(|a| !a.is_empty()) else {
            return Ok(None);
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| "`auth` is not base64".to_string())?;
        let decoded = String::from_utf8(decoded).map_err(|_| "`auth` is not UTF-8".to_string())?;
        let (username, password) = decoded
            .split_once(':')
            .ok_or_else(|| "`auth` is not `user:password`".to_string())?;
        Ok(Some(Credentials {
            username: username.to_string(),
            password: password.to_string(),
        }))
    }
}

fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    let home = std::env::var_os("HOME")?;
    Some(PathBuf::from(home).join(".docker/config.json"))
}

/// The entry for `registry` in `auths` or `credHelpers`: keys may be bare
/// (`host:port`) or URLs (`https://host/v1/`); Docker Hub is filed under
/// its legacy index URL.
fn find_entry<'a, T>(entries: &'a BTreeMap<String, T>, registry: &str) -> Option<&'a T> {
    let hub = is_docker_hub(registry);
    entries.iter().find_map(|(key, entry)| {
        let host = key
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default();
        let same = host == registry || (hub && is_docker_hub(host));
        same.then_some(entry)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auths(json: &str) -> BTreeMap<String, AuthEntry> {
        serde_json::from_str::<DockerConfig>(json).unwrap().auths
    }

    #[test]
    fn entries_by_host_url_or_hub_alias() {
        let all = auths(
            r#"{"auths": {
                "127.0.0.1:5000": {"auth": "YWxpY2U6czNjcmV0"},
                "https://index.docker.io/v1/": {"username": "bob", "password": "pw"},
                "https://ghcr.io": {"identitytoken": "refresh-token"}
            }}"#,
        );
        let creds = |registry: &str| {
            find_entry(&all, registry)
                .and_then(|e| e.credentials().unwrap())
                .map(|c| (c.username, c.password))
        };
        assert_eq!(
            creds("127.0.0.1:5000"),
            Some(("alice".into(), "s3cret".into()))
        );
        assert_eq!(creds("docker.io"), Some(("bob".into(), "pw".into())));
        assert_eq!(
            creds("ghcr.io"),
            Some(("<token>".into(), "refresh-token".into())),
            "an identity token"
        );
        assert_eq!(creds("quay.io"), None);
    }

    #[test]
    fn bad_auth_fields_are_errors() {
        let all = auths(r#"{"auths": {"r": {"auth": "!!!"}, "s": {"auth": "bm9jb2xvbg=="}}}"#);
        assert!(find_entry(&all, "r").unwrap().credentials().is_err());
        assert!(find_entry(&all, "s").unwrap().credentials().is_err());
    }

    #[test]
    fn helpers_by_registry_then_the_default_store() {
        let config: DockerConfig = serde_json::from_str(
            r#"{"credsStore": "desktop", "credHelpers": {"gcr.io": "gcloud", "https://index.docker.io/v1/": "hub"}}"#,
        )
        .unwrap();
        assert_eq!(config.helper_for("gcr.io"), Some("gcloud"));
        assert_eq!(config.helper_for("index.docker.io"), Some("hub"));
        assert_eq!(config.helper_for("quay.io"), Some("desktop"));
        assert_eq!(
            server_address("index.docker.io"),
            "https://index.docker.io/v1/"
        );
        assert_eq!(server_address("127.0.0.1:5000"), "127.0.0.1:5000");
    }

    #[test]
    fn passwords_stay_out_of_debug_output() {
        let c = Credentials {
            username: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
