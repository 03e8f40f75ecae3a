//! Python: installed distributions, from the core metadata file each
//! installer leaves beside the code (https://packaging.python.org/en/latest/specifications/core-metadata/):
//! `NAME-VERSION.dist-info/METADATA` (pip, uv, Debian's wheels),
//! `NAME.egg-info/PKG-INFO` (setuptools' `develop` and legacy installs)
//! and an `.egg-info` that is itself that file (distutils, and Debian's
//! older python3 packages), in any `site-packages` or `dist-packages`
//! directory: the system's (`usr/lib/python3*/`, `usr/local/lib/python3.*/`,
//! Debian's `usr/lib/python3/dist-packages`), virtualenvs
//! (`opt/venv/lib/python3.11/site-packages`) and user installs
//! (`root/.local/lib/…`).
//!
//! Decisions:
//! - The file is RFC 822 headers as Python's `email` parser reads them:
//!   `Field: value`, a line starting with a space or tab continues the one
//!   before (so a whitespace-only line inside `Description:` is not the
//!   end), field names are case-insensitive and the first copy of a field
//!   wins. The headers end at the first empty line or at the first line that
//!   is neither a field nor a continuation; the body (the long description)
//!   is never read, and the header block is at most [`MAX_HEADER_BYTES`].
//! - `Name` and `Version` are required; the name must be a valid
//!   distribution name (PEP 508), the version is kept as written (it may be
//!   a legacy one PEP 440 refuses: such a package is listed, and no advisory
//!   range matches it). Anything else is a [`CatalogError`].
//! - The purl names the package by its PEP 503 normal form
//!   ([`normalize_name`]); `name` keeps the spelling of the metadata.
//! - Licenses: `License-Expression` (core metadata 2.4), else a one-line
//!   `License` (older files often hold a whole licence text there, which is
//!   not a licence name), else the `License ::` trove classifiers.
//! - A distribution whose metadata file an OS package owns (Debian's
//!   `python3-requests`) is marked with that package by the inventory
//!   (`owned_by`), which keeps it out of PyPI matching.

use super::{CatalogError, CatalogInput, Cataloger};
use crate::package::{Ecosystem, Package};
use crate::purl::purl;

/// The largest metadata file captured: the long description after the
/// headers can be a whole README and changelog.
const MAX_METADATA_BYTES: u64 = 16 << 20;

/// The most header bytes read before the first empty line.
pub const MAX_HEADER_BYTES: usize = 1 << 20;

/// Longest name or version taken (PyPI's own names stay far below).
const MAX_FIELD_LEN: usize = 256;

/// The installed Python distributions cataloger.
pub struct PythonCataloger;

impl Cataloger for PythonCataloger {
    fn name(&self) -> &'static str {
        "python"
    }

    fn globs(&self) -> &'static [&'static str] {
        &[
            "**/site-packages/*.dist-info/METADATA",
            "**/site-packages/*.egg-info/PKG-INFO",
            "**/site-packages/*.egg-info",
            "**/dist-packages/*.dist-info/METADATA",
            "**/dist-packages/*.egg-info/PKG-INFO",
            "**/dist-packages/*.egg-info",
        ]
    }

    fn max_bytes(&self) -> u64 {
        MAX_METADATA_BYTES
    }

    fn catalog(&self, input: &CatalogInput<'_>) -> Result<Vec<Package>, CatalogError> {
        let fields = headers(input.content)?;
        let name = fields
            .get("name")
            .ok_or(CatalogError::NoField("Name"))?
            .trim();
        let version = fields
            .get("version")
            .ok_or(CatalogError::NoField("Version"))?
            .trim();
        if !valid_name(name) {
            return Err(CatalogError::InvalidName(cut(name).to_string()));
        }
        if version.is_empty() || version.len() > MAX_FIELD_LEN || version.contains(char::is_control)
        {
            return Err(CatalogError::ImplausibleVersion(cut(version).to_string()));
        }
        let purl = purl("pypi", None, &normalize_name(name), version, &[]);
        let mut package = Package::new(name, version, Ecosystem::PyPI, purl, String::new());
        package.licenses = licenses(&fields);
        Ok(vec![package])
    }
}

/// PEP 503's normal form of a distribution name: lower case, each run of
/// `-`, `_` and `.` one `-`. PyPI, pip and OSV's PyPI records agree on
/// a name in this form.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.extend(c.to_lowercase());
            in_run = false;
        }
    }
    out
}

/// PEP 508's name: ASCII letters and digits, with `.`, `_`, `-` inside.
fn valid_name(name: &str) -> bool {
    let alnum = |c: u8| c.is_ascii_alphanumeric();
    let bytes = name.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(&first), Some(&last)) => {
            bytes.len() <= MAX_FIELD_LEN
                && alnum(first)
                && alnum(last)
                && bytes
                    .iter()
                    .all(|&c| alnum(c) || matches!(c, b'.' | b'_' | b'-'))
        }
        _ => false,
    }
}

/// Header fields by lower-cased name, the first copy of each, values with
/// continuation lines joined by `\n`.
struct Fields(Vec<(String, String)>);

impl Fields {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The header block of a metadata file, as Python's `email` parser splits
/// it (see the module comment).
fn headers(content: &[u8]) -> Result<Fields, CatalogError> {
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut read = 0usize;
    for (index, raw) in content.split(|&b| b == b'\n').enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.is_empty() {
            break;
        }
        read += raw.len() + 1;
        if read > MAX_HEADER_BYTES {
            return Err(CatalogError::Line {
                line: index + 1,
                reason: "headers longer than 1 MiB before the first empty line",
            });
        }
        let line = std::str::from_utf8(raw)?;
        if line.starts_with([' ', '\t']) {
            match fields.last_mut() {
                Some((_, value)) => {
                    value.push('\n');
                    value.push_str(line.trim());
                    continue;
                }
                // A continuation with nothing to continue: the email
                // parser ends the headers here.
                None => break,
            }
        }
        let Some((name, value)) = line.split_once(':') else {
            break;
        };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
            break;
        }
        fields.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }
    Ok(Fields(fields))
}

/// The declared licenses (see the module comment for the order).
fn licenses(fields: &Fields) -> Vec<String> {
    if let Some(expression) = fields.get("license-expression").map(str::trim)
        && !expression.is_empty()
    {
        return vec![expression.to_string()];
    }
    if let Some(license) = fields.get("license").map(str::trim)
        && !license.is_empty()
        && !license.contains('\n')
        && license.len() <= 128
        && !license.eq_ignore_ascii_case("UNKNOWN")
    {
        return vec![license.to_string()];
    }
    let mut out: Vec<String> = fields
        .all("classifier")
        .filter_map(|c| c.strip_prefix("License ::"))
        .filter_map(|c| c.rsplit("::").next())
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty() && c != "OSI Approved")
        .collect();
    out.dedup();
    out
}

/// `text` cut to 80 bytes, for error messages.
fn cut(text: &str) -> &str {
    let mut end = text.len().min(80);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_tree::MapTree;

    fn catalog(path: &str, content: &[u8]) -> Result<Vec<Package>, CatalogError> {
        let tree = MapTree::new(&[]);
        PythonCataloger.catalog(&CatalogInput {
            path: path.as_bytes(),
            content,
            os: None,
            tree: &tree,
        })
    }

    fn one(path: &str, content: &[u8]) -> Package {
        let mut packages = catalog(path, content).unwrap();
        assert_eq!(packages.len(), 1);
        packages.remove(0)
    }

    /// A metadata file and the name, version, purl and licenses in it.
    type Sample = (
        &'static [u8],
        &'static str,
        &'static str,
        &'static str,
        &'static [&'static str],
    );

    #[test]
    fn real_metadata_files() {
        let cases: [Sample; 5] = [
            (
                include_bytes!("testdata/requests-2.31.0.METADATA"),
                "requests",
                "2.31.0",
                "pkg:pypi/requests@2.31.0",
                &["Apache 2.0"],
            ),
            (
                include_bytes!("testdata/attrs-25.3.0.METADATA"),
                "attrs",
                "25.3.0",
                "pkg:pypi/attrs@25.3.0",
                &["MIT"],
            ),
            (
                include_bytes!("testdata/zope.interface-6.4.METADATA"),
                "zope.interface",
                "6.4",
                "pkg:pypi/zope-interface@6.4",
                &["ZPL 2.1"],
            ),
            (
                include_bytes!("testdata/packaging-25.0.METADATA"),
                "packaging",
                "25.0",
                "pkg:pypi/packaging@25.0",
                &["Apache Software License", "BSD License"],
            ),
            (
                include_bytes!("testdata/six-1.16.0.PKG-INFO"),
                "six",
                "1.16.0",
                "pkg:pypi/six@1.16.0",
                &["MIT"],
            ),
        ];
        for (content, name, version, purl, licenses) in cases {
            let p = one(
                "opt/venv/lib/python3.11/site-packages/x.dist-info/METADATA",
                content,
            );
            assert_eq!(
                (p.name.as_str(), p.version.as_str(), p.purl.as_str()),
                (name, version, purl)
            );
            assert_eq!(p.ecosystem, Ecosystem::PyPI);
            assert_eq!(p.licenses, licenses, "{name}");
        }
    }

    #[test]
    fn headers_as_the_email_parser_reads_them() {
        // CRLF, case-insensitive names, first copy wins, a continuation
        // over a whitespace-only line, then the body is not read.
        let text = b"metadata-version: 2.1\r\nNAME: Foo_Bar\r\nVersion: 1.0\r\nName: other\r\nDescription: a\r\n        \r\n   b\r\n\r\nName: body\r\nVersion: 9\r\n";
        let p = one("usr/lib/python3/dist-packages/Foo_Bar.egg-info", text);
        assert_eq!((p.name.as_str(), p.version.as_str()), ("Foo_Bar", "1.0"));
        assert_eq!(p.purl, "pkg:pypi/foo-bar@1.0");
        // The headers end at the first line that is not a field.
        let err = catalog("x", b"Name: a\nnot a header\nVersion: 1\n").unwrap_err();
        assert_eq!(err, CatalogError::NoField("Version"));
        // A long licence text in `License` is not a licence name.
        let p = one(
            "x",
            b"Name: a\nVersion: 1\nLicense: Copyright (c) x\n  Permission is granted\n",
        );
        assert!(p.licenses.is_empty(), "{:?}", p.licenses);
    }

    #[test]
    fn pep_503_normal_names() {
        for (name, want) in [
            ("Django", "django"),
            ("zope.interface", "zope-interface"),
            ("typing_extensions", "typing-extensions"),
            ("A-_.-b", "a-b"),
            ("ruamel.yaml.clib", "ruamel-yaml-clib"),
        ] {
            assert_eq!(normalize_name(name), want);
        }
    }

    #[test]
    fn hostile_metadata_is_an_error_not_a_panic() {
        for bad in [
            &b""[..],
            b"\n\nName: a\nVersion: 1\n",
            b"Version: 1\n",
            b"Name: a\n",
            b"Name: -a\nVersion: 1\n",
            b"Name: a b\nVersion: 1\n",
            b"Name: \xff\nVersion: 1\n",
            b"Name: a\nVersion: \n",
            b"Name: a\nVersion: 1\x1b[2J\n",
            b" Name: a\nVersion: 1\n",
        ] {
            assert!(
                catalog("x", bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let long = format!("Name: a\nVersion: 1\nSummary: {}\n", "x".repeat(2 << 20));
        assert!(matches!(
            catalog("x", long.as_bytes()),
            Err(CatalogError::Line { line: 3, .. })
        ));
        let long_version = format!("Name: a\nVersion: {}\n", "1".repeat(300));
        assert!(catalog("x", long_version.as_bytes()).is_err());
        // A legacy version PEP 440 refuses is still a package.
        assert_eq!(
            one("x", b"Name: a\nVersion: 1.0-foo bar\n").version,
            "1.0-foo bar"
        );
    }

    #[test]
    fn globs_catch_every_install_layout() {
        let set = crate::test_globs::glob_set(PythonCataloger.globs());
        for wanted in [
            "usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA",
            "usr/lib/python3.11/site-packages/six-1.16.0.dist-info/METADATA",
            "usr/local/lib/python3.12/dist-packages/a-1.dist-info/METADATA",
            "opt/venv/lib/python3.11/site-packages/requests-2.30.0.dist-info/METADATA",
            "root/.local/lib/python3.11/site-packages/x.egg-info/PKG-INFO",
            "usr/lib/python3/dist-packages/python_apt-2.6.0.egg-info",
            "site-packages/x-1.dist-info/METADATA",
        ] {
            assert!(set.is_match(wanted), "{wanted}");
        }
        for unwanted in [
            "usr/lib/python3/dist-packages/pip/_vendor/x-1.dist-info/METADATA",
            "usr/lib/python3/dist-packages/requests/METADATA",
            "usr/share/doc/x.dist-info/METADATA",
            "usr/lib/python3/dist-packages/x.dist-info/RECORD",
        ] {
            assert!(!set.is_match(unwanted), "{unwanted}");
        }
    }
}
