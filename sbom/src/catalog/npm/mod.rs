//! npm: the lockfiles of npm, yarn and pnpm, and the installed
//! `node_modules` tree.
//!
//! Each lockfile format has its own cataloger ([`NpmLockCataloger`],
//! [`YarnLockCataloger`], [`PnpmLockCataloger`]); what is actually installed
//! comes from [`NodeModulesCataloger`]. The `npm.lock-drift` check (in
//! `imgscan-signatures`) compares the two per project directory.
//!
//! Decisions shared by every cataloger here:
//! - The project itself (npm's `""` entry, yarn's and pnpm's workspaces and
//!   importers) is not a package: it is first-party code, and its name is
//!   not a published package's.
//! - A lockfile inside an installed package (`node_modules/x/yarn.lock`,
//!   shipped in the tarball) describes that package's development setup,
//!   not what is installed: it is skipped. npm's hidden lockfile
//!   `node_modules/.package-lock.json` and pnpm's `node_modules/.pnpm/lock.yaml`
//!   are kept: they record the installed tree.
//! - One package per name and version per file: copies at several paths
//!   merge, with the union of their dependencies and the scope of the copy
//!   most needed at run time (production, peer, optional, dev-optional, dev).
//! - Names longer than npm's 214 bytes or versions longer than semver's 256
//!   are refused, so output stays proportional to input.

mod node_modules;
mod package_lock;
mod pnpm;
mod yarn;

pub use node_modules::NodeModulesCataloger;
pub use package_lock::NpmLockCataloger;
pub use pnpm::PnpmLockCataloger;
pub use yarn::YarnLockCataloger;

use super::CatalogError;
use crate::package::{Ecosystem, Package, Scope};
use crate::purl::purl;
use std::collections::BTreeMap;

/// The largest lockfile parsed (`package-lock.json`, `yarn.lock`,
/// `pnpm-lock.yaml`): real ones reach 20–30 MiB; parsing one holds several
/// times its size.
const MAX_LOCKFILE_BYTES: u64 = 64 << 20;

/// The largest installed `package.json` parsed.
const MAX_PACKAGE_JSON_BYTES: u64 = 16 << 20;

/// npm's limit on a package name's length.
const MAX_NAME_LEN: usize = 214;
/// node-semver's limit on a version's length.
const MAX_VERSION_LEN: usize = 256;

/// The purl of npm package `name` (with its `@scope/`) at `version`.
pub(crate) fn npm_purl(name: &str, version: &str) -> String {
    match name.strip_prefix('@').and_then(|rest| rest.split_once('/')) {
        Some((scope, bare)) => purl("npm", Some(&format!("@{scope}")), bare, version, &[]),
        None => purl("npm", None, name, version, &[]),
    }
}

/// Whether `name` and `version` are within npm's limits and non-empty.
fn plausible(name: &str, version: &str) -> bool {
    !name.trim().is_empty()
        && name.len() <= MAX_NAME_LEN
        && !version.trim().is_empty()
        && version.len() <= MAX_VERSION_LEN
}

/// Splits `name@range` (or `@scope/name@range`) at the `@` that ends the name.
fn split_at_version(spec: &str) -> Option<(&str, &str)> {
    let at = spec.get(1..)?.find('@')? + 1;
    Some((&spec[..at], &spec[at + 1..]))
}

/// The content as UTF-8, or why not.
fn utf8(content: &[u8]) -> Result<&str, CatalogError> {
    Ok(std::str::from_utf8(content)?)
}

/// Parses JSON; serde_json refuses nesting deeper than 128 levels, so a
/// hostile file cannot exhaust the stack.
fn parse_json<'a, T: serde::Deserialize<'a>>(content: &'a [u8]) -> Result<T, CatalogError> {
    serde_json::from_slice(content).map_err(|e| CatalogError::Json(e.to_string()))
}

/// Parses YAML with `serde-saphyr` under a budget: nesting at most 64
/// levels (lockfiles use 5), and events and nodes proportional to the input
/// so that aliases cannot expand it.
fn parse_yaml<'a, T: serde::Deserialize<'a>>(text: &'a str) -> Result<T, CatalogError> {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = 64;
    budget.max_nodes = budget.max_nodes.max(text.len());
    budget.max_events = budget.max_events.max(2 * text.len());
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    serde_saphyr::from_str_with_options(text, options)
        .map_err(|e| CatalogError::Yaml(first_line(&e.to_string()).to_string()))
}

/// `text` cut to 80 bytes, for error messages.
fn cut(text: &str) -> &str {
    let mut end = text.len().min(80);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The first line of `message`.
fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or_default()
}

/// Whether the lockfile at root-relative `path` lies inside an installed
/// package, apart from the hidden lockfiles npm and pnpm keep at the top
/// of `node_modules`.
fn inside_installed_package(path: &[u8]) -> bool {
    let components: Vec<&[u8]> = path.split(|&b| b == b'/').collect();
    let Some((file, dirs)) = components.split_last() else {
        return false;
    };
    let outside = match dirs {
        [rest @ .., b"node_modules"] if *file == b".package-lock.json" => rest,
        [rest @ .., b"node_modules", b".pnpm"] if *file == b"lock.yaml" => rest,
        _ => dirs,
    };
    outside.contains(&&b"node_modules"[..])
}

/// How much a scope says a package is needed at run time; lower is more.
fn scope_rank(scope: Option<Scope>) -> u8 {
    match scope {
        None => 0,
        Some(Scope::Peer) => 1,
        Some(Scope::Optional) => 2,
        Some(Scope::DevOptional) => 3,
        Some(Scope::Dev) => 4,
    }
}

/// Packages of one file, one per name and version.
#[derive(Default)]
struct Collected {
    packages: BTreeMap<(String, String), Package>,
}

impl Collected {
    /// Adds `name@version`, merging with an earlier copy.
    fn add(
        &mut self,
        name: &str,
        version: &str,
        scope: Option<Scope>,
        licenses: Vec<String>,
        dependencies: Vec<String>,
    ) {
        let key = (name.to_string(), version.to_string());
        let package = self.packages.entry(key).or_insert_with(|| {
            let mut package = Package::new(
                name,
                version,
                Ecosystem::Npm,
                npm_purl(name, version),
                String::new(),
            );
            package.scope = scope;
            package
        });
        if scope_rank(scope) < scope_rank(package.scope) {
            package.scope = scope;
        }
        for license in licenses {
            if !package.licenses.contains(&license) {
                package.licenses.push(license);
            }
        }
        package.dependencies.extend(dependencies);
    }

    /// The packages, sorted by name and version, dependencies sorted and
    /// without repeats.
    fn finish(self) -> Vec<Package> {
        self.packages
            .into_values()
            .map(|mut package| {
                package.dependencies.sort();
                package.dependencies.dedup();
                package
            })
            .collect()
    }
}

/// A JSON string borrowed from the file when it has no escapes: a big
/// lockfile's names, versions and paths are then not copied while it is
/// parsed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
struct Str<'a>(std::borrow::Cow<'a, str>);

impl std::ops::Deref for Str<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Str<'_> {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for Str<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visitor<'a> {
            type Value = Str<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Str<'a>, E> {
                Ok(Str(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Str<'a>, E> {
                Ok(Str(std::borrow::Cow::Owned(v.to_string())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Str<'a>, E> {
                Ok(Str(std::borrow::Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(Visitor(std::marker::PhantomData))
    }
}

/// The keys of a JSON object (`dependencies`, `requires`), its values
/// skipped: no map is built for a list of names.
#[derive(Debug, Default)]
struct Keys<'a>(Vec<Str<'a>>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Keys<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visitor<'a> {
            type Value = Keys<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Keys<'a>, M::Error> {
                let mut keys = Vec::new();
                while let Some(key) = map.next_key::<Str<'a>>()? {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    keys.push(key);
                }
                Ok(Keys(keys))
            }
        }
        deserializer.deserialize_map(Visitor(std::marker::PhantomData))
    }
}

/// A YAML scalar read as text whatever its plain type: pnpm writes
/// `lockfileVersion: 5.4` as a number, yarn `version: 8`.
struct Text(String);

impl<'de> serde::Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Text;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a scalar")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// A package.json or lockfile `license` (or legacy `licenses`) value:
/// an SPDX expression, `{ "type": … }`, or a list of either.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum License {
    Text(String),
    Object {
        #[serde(rename = "type")]
        kind: String,
    },
    List(Vec<LicenseItem>),
    Other(serde::de::IgnoredAny),
}

/// One element of a legacy `licenses` list.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum LicenseItem {
    Text(String),
    Object {
        #[serde(rename = "type")]
        kind: String,
    },
    Other(serde::de::IgnoredAny),
}

impl License {
    fn into_vec(self) -> Vec<String> {
        match self {
            License::Text(text) | License::Object { kind: text } => vec![text],
            License::List(items) => items
                .into_iter()
                .filter_map(|item| match item {
                    LicenseItem::Text(text) | LicenseItem::Object { kind: text } => Some(text),
                    LicenseItem::Other(_) => None,
                })
                .collect(),
            License::Other(_) => Vec::new(),
        }
    }
}

/// Licenses from optional `license` and `licenses` fields, empty ones dropped.
fn licenses(license: Option<License>, legacy: Option<License>) -> Vec<String> {
    let mut out: Vec<String> = license
        .into_iter()
        .chain(legacy)
        .flat_map(License::into_vec)
        .filter(|l| !l.trim().is_empty())
        .collect();
    out.dedup();
    out
}

/// Reading the fixtures in `testdata/`.
#[cfg(test)]
mod testdata {
    use std::path::{Path, PathBuf};

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/catalog/npm/testdata")
    }

    /// The fixture at `relative` (to `testdata/`), as text.
    pub fn read(relative: &str) -> String {
        std::fs::read_to_string(root().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
    }

    /// Every file under `testdata/<dir>`, relative to `testdata/`, sorted.
    pub fn files(dir: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut pending = vec![root().join(dir)];
        while let Some(at) = pending.pop() {
            for entry in std::fs::read_dir(&at).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    out.push(
                        path.strip_prefix(root())
                            .unwrap()
                            .to_string_lossy()
                            .into_owned(),
                    );
                }
            }
        }
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls_carry_the_scope_as_namespace() {
        assert_eq!(
            npm_purl("@babel/core", "7.24.0"),
            "pkg:npm/%40babel/core@7.24.0"
        );
        assert_eq!(npm_purl("express", "4.18.2"), "pkg:npm/express@4.18.2");
    }

    #[test]
    fn names_split_from_ranges() {
        assert_eq!(
            split_at_version("@types/node@^20"),
            Some(("@types/node", "^20"))
        );
        assert_eq!(split_at_version("ms@2.0.0"), Some(("ms", "2.0.0")));
        assert_eq!(split_at_version("ms"), None);
    }

    #[test]
    fn lockfiles_inside_packages_are_recognised() {
        assert!(!inside_installed_package(b"app/package-lock.json"));
        assert!(!inside_installed_package(b"package-lock.json"));
        assert!(!inside_installed_package(
            b"app/node_modules/.package-lock.json"
        ));
        assert!(!inside_installed_package(
            b"app/node_modules/.pnpm/lock.yaml"
        ));
        assert!(inside_installed_package(b"app/node_modules/x/yarn.lock"));
        assert!(inside_installed_package(
            b"app/node_modules/x/node_modules/.package-lock.json"
        ));
        assert!(inside_installed_package(
            b"node_modules/x/npm-shrinkwrap.json"
        ));
    }

    #[test]
    fn deep_yaml_is_an_error_not_a_crash() {
        for open in ["[", "{a: ", "- "] {
            assert!(
                parse_yaml::<serde::de::IgnoredAny>(&open.repeat(100_000)).is_err(),
                "{open}"
            );
        }
        let block: String = (0..1000)
            .map(|i| format!("{}a:\n", " ".repeat(i)))
            .collect();
        assert!(parse_yaml::<serde::de::IgnoredAny>(&block).is_err());
    }

    #[test]
    fn yaml_aliases_cannot_multiply() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..30 {
            let prev = i - 1;
            text.push_str(&format!("a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
        }
        assert!(parse_yaml::<serde::de::IgnoredAny>(&text).is_err());
    }

    #[test]
    fn deep_json_is_an_error_not_a_crash() {
        let deep = "[".repeat(100_000);
        assert!(parse_json::<serde::de::IgnoredAny>(deep.as_bytes()).is_err());
    }
}
