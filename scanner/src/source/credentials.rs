//! Registry credentials: given explicitly, or read from the Docker client's
//! config (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`), the
//! file `docker login`, `skopeo login` and `podman login --compat-auth-file`
//! write. Credential helpers (`credsStore`, `credHelpers`) are programs of
//! their own and are not run; an `identitytoken` (an OAuth refresh token
//! for a token exchange this client does not make) is not used.

use base64::Engine;
use oci_client::secrets::RegistryAuth;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

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
}

#[derive(Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

impl Credentials {
    pub(crate) fn to_auth(&self) -> RegistryAuth {
        RegistryAuth::Basic(self.username.clone(), self.password.clone())
    }

    /// The credentials the Docker config holds for `registry`
    /// (`host[:port]`), if any. A config that exists but cannot be read or
    /// parsed is an error: a silent anonymous pull would hide it.
    pub fn from_docker_config(registry: &str) -> Result<Option<Credentials>, String> {
        let Some(path) = docker_config_path() else {
            return Ok(None);
        };
        if !path.exists() {
            return Ok(None);
        }
        let text = imgscan_sbom::input::read_user_text(
            &path,
            "Docker config",
            imgscan_sbom::input::MAX_USER_FILE_BYTES,
        )
        .map_err(|e| e.to_string())?;
        let config: DockerConfig = serde_json::from_str(&text)
            .map_err(|e| format!("`{}`: malformed JSON: {e}", path.display()))?;
        let Some(entry) = find_entry(&config.auths, registry) else {
            return Ok(None);
        };
        entry
            .credentials()
            .map_err(|reason| format!("`{}`: `{registry}`: {reason}", path.display()))
    }
}

impl AuthEntry {
    fn credentials(&self) -> Result<Option<Credentials>, String> {
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

/// The entry for `registry`: keys may be bare (`host:port`) or URLs
/// (`https://host/v1/`); Docker Hub is filed under its legacy index URL.
fn find_entry<'a>(auths: &'a BTreeMap<String, AuthEntry>, registry: &str) -> Option<&'a AuthEntry> {
    let hub = matches!(
        registry,
        "docker.io" | "index.docker.io" | "registry-1.docker.io"
    );
    auths.iter().find_map(|(key, entry)| {
        let host = key
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default();
        let same = host == registry
            || (hub
                && matches!(
                    host,
                    "docker.io" | "index.docker.io" | "registry-1.docker.io"
                ));
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
        assert_eq!(creds("ghcr.io"), None, "a refresh token is not a password");
        assert_eq!(creds("quay.io"), None);
    }

    #[test]
    fn bad_auth_fields_are_errors() {
        let all = auths(r#"{"auths": {"r": {"auth": "!!!"}, "s": {"auth": "bm9jb2xvbg=="}}}"#);
        assert!(find_entry(&all, "r").unwrap().credentials().is_err());
        assert!(find_entry(&all, "s").unwrap().credentials().is_err());
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
