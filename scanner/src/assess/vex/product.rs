//! What a VEX statement's product covers: a package by purl (with or
//! without version; qualifiers such as `arch` and `distro` are not
//! compared), or the image by its digest (`sha256:…`, an image reference
//! `name@sha256:…` or a `pkg:oci/…@sha256%3A…` purl), optionally narrowed
//! to subcomponents (purls) inside it.

/// A product of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    id: String,
    subcomponents: Vec<String>,
}

impl Product {
    /// The product `id` with `subcomponents` (purls; empty for all of it).
    pub fn new(id: &str, subcomponents: Vec<String>) -> Product {
        Product {
            id: id.to_string(),
            subcomponents,
        }
    }

    /// Whether the product covers the package `purl` of the image whose
    /// manifest digest is `image_digest`.
    pub fn covers(&self, purl: &str, image_digest: Option<&str>) -> bool {
        let this_image = image_digest.is_some_and(|d| names_image(&self.id, d));
        if self.subcomponents.is_empty() {
            return this_image || purl_matches(&self.id, purl);
        }
        // This image, or a package (not another image), narrowed to the
        // packages inside it that the statement is about.
        let package = self.id.starts_with("pkg:") && !self.id.starts_with("pkg:oci/");
        (this_image || package) && self.subcomponents.iter().any(|s| purl_matches(s, purl))
    }
}

/// Whether the product id `id` names the image with manifest digest `digest`.
fn names_image(id: &str, digest: &str) -> bool {
    let decoded = percent_decode(id);
    decoded == digest || decoded.ends_with(&format!("@{digest}")) || {
        // `pkg:oci/name@sha256:…?repository_url=…`
        decoded.starts_with("pkg:oci/") && purl_parts(&decoded).1.as_deref() == Some(digest)
    }
}

/// Whether the purl `pattern` (version optional) matches the purl `purl`.
pub(crate) fn purl_matches(pattern: &str, purl: &str) -> bool {
    let (pattern_base, pattern_version) = purl_parts(&percent_decode(pattern));
    let (base, version) = purl_parts(&percent_decode(purl));
    pattern_base.eq_ignore_ascii_case(&base) && pattern_version.is_none_or(|v| Some(v) == version)
}

/// A purl split into `pkg:type/namespace/name` and its version, without
/// qualifiers or subpath.
fn purl_parts(purl: &str) -> (String, Option<String>) {
    let purl = purl.split(['?', '#']).next().unwrap_or(purl);
    let name_start = purl.rfind('/').map_or(0, |i| i + 1);
    match purl[name_start..].find('@') {
        Some(at) => (
            purl[..name_start + at].to_string(),
            Some(purl[name_start + at + 1..].to_string()),
        ),
        None => (purl.to_string(), None),
    }
}

/// `%XX` escapes decoded (invalid ones kept as they are).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SSH: &str =
        "pkg:deb/debian/openssh-server@1%3A9.2p1-2%2Bdeb12u2?arch=amd64&distro=debian-12";
    const DIGEST: &str = "sha256:aaaa";

    #[test]
    fn packages_with_or_without_version_and_qualifiers() {
        let product = |id: &str| Product::new(id, Vec::new());
        assert!(product("pkg:deb/debian/openssh-server").covers(SSH, None));
        assert!(product("pkg:deb/debian/openssh-server@1:9.2p1-2+deb12u2").covers(SSH, None));
        assert!(!product("pkg:deb/debian/openssh-server@1:9.2p1-2+deb12u3").covers(SSH, None));
        assert!(!product("pkg:deb/debian/openssh-client").covers(SSH, None));
        assert!(
            !product("pkg:deb/debian/openssh").covers(SSH, None),
            "no prefix match"
        );
        assert!(product("pkg:npm/%40scope/name@1.0.0").covers("pkg:npm/@scope/name@1.0.0", None));
    }

    #[test]
    fn the_image_by_digest_and_its_subcomponents() {
        for id in [
            DIGEST,
            "registry.example/app@sha256:aaaa",
            "pkg:oci/app@sha256%3Aaaaa?repository_url=r/app",
        ] {
            assert!(
                Product::new(id, Vec::new()).covers(SSH, Some(DIGEST)),
                "{id}"
            );
            assert!(
                !Product::new(id, Vec::new()).covers(SSH, Some("sha256:bbbb")),
                "{id}"
            );
            assert!(!Product::new(id, Vec::new()).covers(SSH, None), "{id}");
        }
        let narrowed = Product::new(DIGEST, vec!["pkg:deb/debian/openssh-server".into()]);
        assert!(narrowed.covers(SSH, Some(DIGEST)));
        assert!(!narrowed.covers("pkg:deb/debian/curl@8", Some(DIGEST)));
    }
}
