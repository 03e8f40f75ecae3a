//! Package URLs (https://github.com/package-url/purl-spec), built with the
//! `packageurl` crate so escaping follows the spec.

use packageurl::PackageUrl;

/// Builds a purl; qualifiers with empty values are left out. A name or
/// namespace the spec cannot hold falls back to a plainly joined form.
pub fn purl(
    ty: &str,
    namespace: Option<&str>,
    name: &str,
    version: &str,
    qualifiers: &[(&str, &str)],
) -> String {
    build(ty, namespace, name, version, qualifiers).unwrap_or_else(|| match namespace {
        Some(ns) => format!("pkg:{ty}/{ns}/{name}@{version}"),
        None => format!("pkg:{ty}/{name}@{version}"),
    })
}

fn build(
    ty: &str,
    namespace: Option<&str>,
    name: &str,
    version: &str,
    qualifiers: &[(&str, &str)],
) -> Option<String> {
    let mut url = PackageUrl::new(ty, name).ok()?;
    if let Some(namespace) = namespace.filter(|n| !n.is_empty()) {
        url.with_namespace(namespace).ok()?;
    }
    if !version.is_empty() {
        url.with_version(version).ok()?;
    }
    for (key, value) in qualifiers.iter().filter(|(_, v)| !v.is_empty()) {
        url.add_qualifier(*key, *value).ok()?;
    }
    Some(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls_escape_and_qualify() {
        assert_eq!(
            purl(
                "deb",
                Some("debian"),
                "libssl3",
                "3.0.11-1~deb12u2",
                &[("arch", "amd64"), ("distro", "debian-12")]
            ),
            "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12"
        );
        assert_eq!(
            purl("npm", Some("@babel"), "core", "7.24.0", &[]),
            "pkg:npm/%40babel/core@7.24.0"
        );
        assert_eq!(
            purl(
                "rpm",
                Some("redhat"),
                "openssl",
                "1:3.0.7-27.el9",
                &[("epoch", "")]
            ),
            "pkg:rpm/redhat/openssl@1:3.0.7-27.el9"
        );
    }
}
