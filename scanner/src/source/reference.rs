//! Image references as Docker names them: `registry[:port]/repository`
//! with a `:tag`, an `@sha256:…` digest or both. A name with no registry
//! is on Docker Hub (`alpine:3.19` is `docker.io/library/alpine:3.19`,
//! `user/app` is `docker.io/user/app:latest`); the first component is a
//! registry when it has a `.` or a `:` or is `localhost`. Parsing is
//! `oci-client`'s (the distribution reference grammar); this module names
//! what the rest of the source reads from it.

use oci_client::{ParseError, Reference};

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageReference(Reference);

impl ImageReference {
    /// Parses `text`, filling in Docker Hub, `library/` and `latest` as
    /// Docker does. The error is the grammar's own.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        text.parse::<Reference>().map(ImageReference)
    }

    /// The full name: `docker.io/library/alpine:3.19`.
    pub fn whole(&self) -> String {
        self.0.whole()
    }

    /// The registry as named: `docker.io`, `localhost:5000`.
    pub fn registry(&self) -> &str {
        self.0.registry()
    }

    /// The host the registry's API is served from (Docker Hub's is
    /// `index.docker.io`).
    pub fn api_host(&self) -> &str {
        self.0.resolve_registry()
    }

    /// The repository: `library/alpine`.
    pub fn repository(&self) -> &str {
        self.0.repository()
    }

    /// What the manifest is fetched by: the digest when there is one, else
    /// the tag.
    pub fn manifest_reference(&self) -> &str {
        self.0
            .digest()
            .or(self.0.tag())
            .expect("a parsed reference has a tag or a digest")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(text: &str) -> (String, String, String, String) {
        let r = ImageReference::parse(text).unwrap();
        (
            r.whole(),
            r.api_host().to_string(),
            r.repository().to_string(),
            r.manifest_reference().to_string(),
        )
    }

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn docker_hub_short_names() {
        assert_eq!(
            parts("alpine:3.19"),
            (
                "docker.io/library/alpine:3.19".into(),
                "index.docker.io".into(),
                "library/alpine".into(),
                "3.19".into()
            )
        );
        assert_eq!(parts("alpine").0, "docker.io/library/alpine:latest");
        assert_eq!(
            parts("user/app"),
            (
                "docker.io/user/app:latest".into(),
                "index.docker.io".into(),
                "user/app".into(),
                "latest".into()
            )
        );
        assert_eq!(
            parts("docker.io/alpine:3.19").0,
            "docker.io/library/alpine:3.19"
        );
        assert_eq!(
            parts("index.docker.io/library/alpine:3.19").0,
            "docker.io/library/alpine:3.19"
        );
    }

    #[test]
    fn registries_with_a_port_a_dot_or_localhost() {
        assert_eq!(
            parts("localhost:5000/x"),
            (
                "localhost:5000/x:latest".into(),
                "localhost:5000".into(),
                "x".into(),
                "latest".into()
            )
        );
        assert_eq!(parts("localhost/x:1").1, "localhost");
        assert_eq!(
            parts("registry.local:5000/team/app:1.4").2,
            "team/app",
            "a registry with a port and a nested repository"
        );
        assert_eq!(parts("ghcr.io/org/tool:v2").1, "ghcr.io");
    }

    #[test]
    fn digests_name_the_manifest() {
        let (whole, host, repo, by) = parts(&format!("alpine@{DIGEST}"));
        assert_eq!(whole, format!("docker.io/library/alpine@{DIGEST}"));
        assert_eq!(
            (host.as_str(), repo.as_str()),
            ("index.docker.io", "library/alpine")
        );
        assert_eq!(by, DIGEST);
        assert_eq!(
            parts(&format!("127.0.0.1:5000/app:1@{DIGEST}")).3,
            DIGEST,
            "with a tag and a digest, the digest decides"
        );
    }

    #[test]
    fn malformed_references_are_refused() {
        for bad in [
            "Not A Reference",
            "a//b",
            "app@sha256:short",
            "app@md5:00",
            "",
        ] {
            assert!(ImageReference::parse(bad).is_err(), "{bad}");
        }
    }
}
