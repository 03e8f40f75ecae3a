//! yarn's `yarn.lock`: the classic v1 text format, read by a small
//! line parser here (it is neither YAML nor JSON, and two indentation levels
//! deep), and Berry's (yarn 2+) YAML with its `__metadata` block.
//!
//! Each entry is keyed by the descriptors (`name@range`) it satisfies, so a
//! dependency `name range` resolves by looking up `name@range`. Neither
//! format marks dev dependencies, so no package gets [`Scope::Dev`]; a
//! package is [`Scope::Optional`] when every edge to it the lockfile shows
//! is optional (v1 `optionalDependencies`, Berry `dependenciesMeta`) or when
//! Berry restricts it to a platform (`conditions`). v1 does not record the
//! project's own dependencies, so a direct optional dependency of the
//! project is not known to be optional there.

use super::{
    Collected, Text, cut, inside_installed_package, npm_purl, parse_yaml, plausible,
    split_at_version, utf8,
};
use crate::catalog::{CatalogError, CatalogInput, Cataloger};
use crate::package::{Package, Scope};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// The yarn.lock cataloger (v1 and Berry).
pub struct YarnLockCataloger;

impl Cataloger for YarnLockCataloger {
    fn name(&self) -> &'static str {
        "yarn-lock"
    }

    fn max_bytes(&self) -> u64 {
        super::MAX_LOCKFILE_BYTES
    }

    fn globs(&self) -> &'static [&'static str] {
        &["**/yarn.lock"]
    }

    fn catalog(&self, input: &CatalogInput<'_>) -> Result<Vec<Package>, CatalogError> {
        if inside_installed_package(input.path) {
            return Ok(Vec::new());
        }
        parse(utf8(input.content)?)
    }
}

/// Parses either format, told apart by Berry's `__metadata` key.
fn parse(text: &str) -> Result<Vec<Package>, CatalogError> {
    if text.lines().any(|line| line.trim_end() == "__metadata:") {
        parse_berry(text)
    } else {
        parse_v1(text)
    }
}

/// One locked package of either format.
#[derive(Default)]
struct Locked {
    /// Real name and version; `None` for the project and its workspaces.
    package: Option<(String, String)>,
    /// `(descriptor, optional)` of each dependency.
    dependencies: Vec<(String, bool)>,
    /// Restricted to some platforms.
    conditional: bool,
}

/// Resolves descriptors to packages and collects them.
fn collect(entries: &[Locked], by_descriptor: &HashMap<String, usize>) -> Vec<Package> {
    let mut required = HashSet::new();
    let mut optional = HashSet::new();
    for entry in entries {
        for (descriptor, is_optional) in &entry.dependencies {
            if let Some(&target) = by_descriptor.get(descriptor) {
                if *is_optional {
                    optional.insert(target)
                } else {
                    required.insert(target)
                };
            }
        }
    }
    let mut collected = Collected::default();
    for (index, entry) in entries.iter().enumerate() {
        let Some((name, version)) = &entry.package else {
            continue;
        };
        let scope = (entry.conditional
            || (optional.contains(&index) && !required.contains(&index)))
        .then_some(Scope::Optional);
        let dependencies = entry
            .dependencies
            .iter()
            .filter_map(|(descriptor, _)| by_descriptor.get(descriptor))
            .filter_map(|&target| entries[target].package.as_ref())
            .map(|(name, version)| npm_purl(name, version))
            .collect();
        collected.add(name, version, scope, Vec::new(), dependencies);
    }
    collected.finish()
}

/// The real package name a descriptor or resolution names: `foo@npm:bar@^1`
/// is an alias of `bar`.
fn real_name(descriptor: &str) -> Option<&str> {
    let (name, range) = split_at_version(descriptor)?;
    match range.strip_prefix("npm:").and_then(split_at_version) {
        Some((aliased, _)) => Some(aliased),
        None => Some(name),
    }
}

// ---- v1 ----------------------------------------------------------------

/// Which block of an entry the parser is in.
#[derive(PartialEq)]
enum Block {
    Fields,
    Dependencies { optional: bool },
    Ignored,
}

fn parse_v1(text: &str) -> Result<Vec<Package>, CatalogError> {
    let mut entries: Vec<Locked> = Vec::new();
    let mut by_descriptor = HashMap::new();
    let mut names: Vec<String> = Vec::new();
    let mut block = Block::Fields;
    let fail = |line: usize, reason: &'static str| CatalogError::Line { line, reason };
    for (number, line) in text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
    {
        let body = line.trim_start_matches(' ');
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        if body.starts_with('\t') {
            return Err(fail(number, "tab in indentation"));
        }
        match line.len() - body.len() {
            0 => {
                finish_v1(&entries, &names, number)?;
                let header = body
                    .strip_suffix(':')
                    .ok_or_else(|| fail(number, "expected `descriptor, …:`"))?;
                let descriptors = header_descriptors(header).map_err(|why| fail(number, why))?;
                let name = descriptors
                    .first()
                    .and_then(|d| real_name(d))
                    .ok_or_else(|| fail(number, "descriptor without `@range`"))?
                    .to_string();
                for descriptor in descriptors {
                    by_descriptor.insert(descriptor, entries.len());
                }
                names.push(name);
                entries.push(Locked::default());
                block = Block::Fields;
            }
            2 => {
                let entry = entries
                    .last_mut()
                    .ok_or_else(|| fail(number, "field outside an entry"))?;
                if let Some(block_name) = body.strip_suffix(':').filter(|b| !b.contains(' ')) {
                    block = match block_name {
                        "dependencies" => Block::Dependencies { optional: false },
                        "optionalDependencies" => Block::Dependencies { optional: true },
                        _ => Block::Ignored,
                    };
                    continue;
                }
                block = Block::Fields;
                let (key, rest) = token(body).map_err(|why| fail(number, why))?;
                if key == "version" {
                    let (version, _) = token(rest.trim_start()).map_err(|why| fail(number, why))?;
                    let name = names.last().cloned().unwrap_or_default();
                    entry.package = Some((name, version));
                }
            }
            4 => {
                let entry = entries
                    .last_mut()
                    .ok_or_else(|| fail(number, "dependency outside an entry"))?;
                match block {
                    Block::Dependencies { optional } => {
                        let (name, rest) = token(body).map_err(|why| fail(number, why))?;
                        let (range, _) =
                            token(rest.trim_start()).map_err(|why| fail(number, why))?;
                        entry
                            .dependencies
                            .push((format!("{name}@{range}"), optional));
                    }
                    Block::Ignored => {}
                    Block::Fields => return Err(fail(number, "unexpected indentation")),
                }
            }
            _ => return Err(fail(number, "unexpected indentation")),
        }
    }
    finish_v1(&entries, &names, text.lines().count() + 1)?;
    Ok(collect(&entries, &by_descriptor))
}

/// Checks the entry just ended: it needs a plausible version.
fn finish_v1(entries: &[Locked], names: &[String], line: usize) -> Result<(), CatalogError> {
    let (Some(entry), Some(name)) = (entries.last(), names.last()) else {
        return Ok(());
    };
    match &entry.package {
        Some((_, version)) if plausible(name, version) => Ok(()),
        Some(_) => Err(CatalogError::ImplausibleEntryBefore {
            name: name.clone(),
            line,
        }),
        None => Err(CatalogError::NoVersion {
            name: name.clone(),
            line,
        }),
    }
}

/// Splits an entry header into its descriptors: `a@^1, "a@^1.1"`.
fn header_descriptors(header: &str) -> Result<Vec<String>, &'static str> {
    let mut descriptors = Vec::new();
    let mut rest = header;
    loop {
        let (descriptor, after) = token(rest)?;
        descriptors.push(descriptor);
        match after.strip_prefix(',') {
            Some(more) => rest = more.trim_start(),
            None if after.trim().is_empty() => return Ok(descriptors),
            None => return Err("expected `,` between descriptors"),
        }
    }
}

/// Reads one bare or double-quoted token; returns it and what follows.
fn token(text: &str) -> Result<(String, &str), &'static str> {
    if text.starts_with('"') {
        let mut escaped = false;
        for (i, ch) in text.char_indices().skip(1) {
            match ch {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    let value =
                        serde_json::from_str(&text[..=i]).map_err(|_| "invalid quoted string")?;
                    return Ok((value, &text[i + 1..]));
                }
                _ => escaped = false,
            }
        }
        Err("unterminated quoted string")
    } else {
        let end = text.find([' ', ',']).unwrap_or(text.len());
        if end == 0 {
            return Err("expected a value");
        }
        Ok((text[..end].to_string(), &text[end..]))
    }
}

// ---- Berry ---------------------------------------------------------------

/// One Berry entry; `__metadata` reads as one with no `resolution`.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct BerryEntry {
    version: Option<Text>,
    resolution: Option<String>,
    dependencies: BTreeMap<String, Text>,
    dependencies_meta: BTreeMap<String, DependencyMeta>,
    conditions: Option<Text>,
    link_type: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DependencyMeta {
    optional: bool,
}

fn parse_berry(text: &str) -> Result<Vec<Package>, CatalogError> {
    let lock: BTreeMap<String, BerryEntry> = parse_yaml(text)?;
    let mut entries = Vec::new();
    let mut by_descriptor = HashMap::new();
    for (key, entry) in lock {
        if key == "__metadata" {
            continue;
        }
        let resolution = entry
            .resolution
            .ok_or_else(|| CatalogError::NoResolution(cut(&key).to_string()))?;
        let name = real_name(&resolution)
            .ok_or_else(|| CatalogError::ResolutionNamesNoPackage(cut(&resolution).to_string()))?;
        let version = entry.version.map(|v| v.0).unwrap_or_default();
        // Workspaces, portals and links are the project's own code.
        let own = entry.link_type.as_deref() == Some("soft")
            || split_at_version(&resolution).is_some_and(|(_, r)| r.starts_with("workspace:"));
        let package = match own {
            true => None,
            false if plausible(name, &version) => Some((name.to_string(), version)),
            false => {
                return Err(CatalogError::ImplausibleEntry(cut(&key).to_string()));
            }
        };
        let dependencies = entry
            .dependencies
            .into_iter()
            .map(|(dep, range)| {
                let optional = entry
                    .dependencies_meta
                    .get(&dep)
                    .is_some_and(|m| m.optional);
                (format!("{dep}@{}", range.0), optional)
            })
            .collect();
        for descriptor in key.split(", ") {
            by_descriptor.insert(descriptor.to_string(), entries.len());
        }
        entries.push(Locked {
            package,
            dependencies,
            conditional: entry.conditions.is_some(),
        });
    }
    Ok(collect(&entries, &by_descriptor))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::npm::testdata;

    fn find<'a>(packages: &'a [Package], name: &str, version: &str) -> &'a Package {
        packages
            .iter()
            .find(|p| p.name == name && p.version == version)
            .unwrap_or_else(|| panic!("{name}@{version} missing"))
    }

    fn npm_set() -> Vec<(String, String)> {
        let lock = testdata::read("app/npm-v3/package-lock.json");
        let mut packages: Vec<(String, String)> = serde_json::from_str::<serde_json::Value>(&lock)
            .unwrap()["packages"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(path, entry)| !path.is_empty() && entry.get("peer").is_none())
            .map(|(path, entry)| {
                (
                    path.rsplit("node_modules/").next().unwrap().to_string(),
                    entry["version"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        packages.sort();
        packages.dedup();
        packages
    }

    #[test]
    fn v1_matches_npm_and_resolves_the_graph() {
        let packages = parse(&testdata::read("app/yarn-v1/yarn.lock")).unwrap();
        let got: Vec<(String, String)> = packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect();
        assert_eq!(
            got,
            npm_set(),
            "yarn v1 locks what npm locks (no auto-installed peers)"
        );
        let express = find(&packages, "express", "4.18.2");
        assert!(
            express
                .dependencies
                .contains(&"pkg:npm/send@0.18.0".to_string())
        );
        assert!(
            find(&packages, "send", "0.18.0")
                .dependencies
                .contains(&"pkg:npm/ms@2.1.3".to_string())
        );
        assert_eq!(
            find(&packages, "@types/node", "20.11.0").dependencies,
            ["pkg:npm/undici-types@5.26.5"]
        );
        assert!(packages.iter().all(|p| p.scope.is_none()));
    }

    #[test]
    fn berry_matches_npm_and_marks_platform_packages() {
        let packages = parse(&testdata::read("app/yarn-berry/yarn.lock")).unwrap();
        assert!(!packages.iter().any(|p| p.name == "fixture-app"));
        let express = find(&packages, "express", "4.18.2");
        assert!(
            express
                .dependencies
                .contains(&"pkg:npm/send@0.18.0".to_string())
        );
        assert!(
            find(&packages, "send", "0.18.0")
                .dependencies
                .contains(&"pkg:npm/ms@2.1.3".to_string())
        );
        assert_eq!(
            find(&packages, "fsevents", "2.3.3").scope,
            Some(Scope::Optional)
        );
        // Berry adds node-gyp (and its tree) for packages with native
        // builds; everything npm locks is there too, once.
        let got: HashSet<(String, String)> = packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect();
        assert_eq!(got.len(), packages.len());
        for expected in npm_set() {
            assert!(got.contains(&expected), "{expected:?}");
        }
    }

    #[test]
    fn quoting_aliases_and_optional_edges() {
        let text = r#"# yarn lockfile v1


"@scope/a@^1.0.0", "@scope/a@^1.1":
  version "1.2.0"
  dependencies:
    b "npm:real-b@2"
  optionalDependencies:
    c "^3 || ^4"

"b@npm:real-b@2":
  version "2.0.1"

"c@^3 || ^4":
  version "4.0.0"
"#;
        let packages = parse(text).unwrap();
        let got: Vec<(&str, &str, Option<Scope>)> = packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.scope))
            .collect();
        assert_eq!(
            got,
            [
                ("@scope/a", "1.2.0", None),
                ("c", "4.0.0", Some(Scope::Optional)),
                ("real-b", "2.0.1", None)
            ]
        );
        assert_eq!(
            packages[0].dependencies,
            ["pkg:npm/c@4.0.0", "pkg:npm/real-b@2.0.1"]
        );
        assert_eq!(packages[0].purl, "pkg:npm/%40scope/a@1.2.0");
    }

    #[test]
    fn malformed_and_hostile_files_are_errors() {
        assert!(parse("a@1:\n  resolved \"x\"\n").is_err(), "no version");
        assert!(parse("a@1\n  version \"1\"\n").is_err(), "no colon");
        assert!(
            parse("  version \"1\"\n").is_err(),
            "field outside an entry"
        );
        assert!(
            parse("a@1:\n  version \"1\n").is_err(),
            "unterminated string"
        );
        assert!(
            parse("a@1:\n      version \"1\"\n").is_err(),
            "deep indentation"
        );
        assert!(parse("a@1:\n\tversion \"1\"\n").is_err(), "tab");
        assert!(
            parse(&format!("a@1:\n  version \"{}\"\n", "1".repeat(300))).is_err(),
            "long version"
        );
        assert_eq!(parse("# yarn lockfile v1\n\n").unwrap(), vec![]);
        let deep = format!(
            "__metadata:\n  version: 8\n{}",
            (0..1000)
                .map(|i| format!("{}a:\n", " ".repeat(i)))
                .collect::<String>()
        );
        assert!(parse(&deep).is_err());
        let flow = format!("__metadata:\n  version: 8\nx: {}", "[".repeat(100_000));
        assert!(parse(&flow).is_err());
        assert!(
            parse("__metadata:\n  version: 8\n\"a@npm:1\":\n  version: 1.0.0\n").is_err(),
            "no resolution"
        );
        let odd = "__metadata:\n  version: 8\n\"x@npm:1\":\n  version: 1.0.0\n  resolution: \"xé@npm:a@1\"\n";
        assert_eq!(parse(odd).unwrap()[0].name, "a");
    }
}
