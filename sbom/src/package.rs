//! The package model every cataloger produces and every later stage reads:
//! name, version, ecosystem (the purl type), source package, licenses, the
//! database or lockfile it came from and the layer that brought it.

use crate::digest::ShippedFile;
use crate::tree::LayerNumber;
use serde::Serialize;

/// The package ecosystem, named by its purl type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    /// Debian packages (dpkg).
    Deb,
    /// Alpine packages (apk).
    Apk,
    /// RPM packages.
    Rpm,
    /// npm packages.
    Npm,
    /// Python distributions (PyPI); purl type `pypi`.
    #[serde(rename = "pypi")]
    PyPI,
}

impl Ecosystem {
    /// Every ecosystem.
    pub const ALL: [Ecosystem; 5] = [
        Ecosystem::Deb,
        Ecosystem::Apk,
        Ecosystem::Rpm,
        Ecosystem::Npm,
        Ecosystem::PyPI,
    ];

    /// The purl type.
    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::Deb => "deb",
            Ecosystem::Apk => "apk",
            Ecosystem::Rpm => "rpm",
            Ecosystem::Npm => "npm",
            Ecosystem::PyPI => "pypi",
        }
    }

    /// Whether this is the OS's own package manager (dpkg, apk, rpm): its
    /// packages own files (the unowned-file and integrity checks ask them)
    /// and a language package whose metadata one of them owns is the OS
    /// package's, not the language registry's.
    pub fn is_os(self) -> bool {
        match self {
            Ecosystem::Deb | Ecosystem::Apk | Ecosystem::Rpm => true,
            Ecosystem::Npm | Ecosystem::PyPI => false,
        }
    }
}

/// The source package a binary package was built from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SourcePackage {
    /// Source package name (dpkg `Source:`, apk origin, rpm SOURCERPM name).
    pub name: String,
    /// Its version, when it differs from or is known apart from the binary's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// How an npm package is depended on, as the lockfile marks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Needed only to develop the project.
    Dev,
    /// Optional dependency.
    Optional,
    /// Optional and dev-only.
    DevOptional,
    /// Peer dependency.
    Peer,
}

/// One installed or locked package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Package {
    /// Package name (npm: with its `@scope/`).
    pub name: String,
    /// Version as the package manager writes it (rpm: `[E:]V-R`).
    pub version: String,
    /// Ecosystem.
    pub ecosystem: Ecosystem,
    /// Package URL.
    pub purl: String,
    /// Source package, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SourcePackage>,
    /// The layer that introduced it: the first layer whose own copy of the
    /// database lists this name and version.
    pub layer: LayerNumber,
    /// The database or lockfile it came from (absolute, escaped).
    pub location: String,
    /// Declared licenses.
    pub licenses: Vec<String>,
    /// Architecture, if the database records one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// npm dependency scope, when not a plain production dependency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    /// Purls of the packages this one depends on, where the source says.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<String>,
    /// Files the package manager says the package owns (root-relative).
    #[serde(skip)]
    pub files: Vec<Vec<u8>>,
    /// The files whose bytes the package manager can verify, with the
    /// digests they shipped with (see [`ShippedFile`]).
    #[serde(skip)]
    pub shipped: Vec<ShippedFile>,
    /// For a language package whose metadata file an OS package owns (a
    /// Debian `python3-requests` installs `requests-….dist-info`): that OS
    /// package's purl. Such a package is listed but not matched against its
    /// language registry's advisories: the OS feed covers the OS package.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owned_by: Option<String>,
}

impl Package {
    /// A package with the given identity; the rest empty, layer 0.
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        ecosystem: Ecosystem,
        purl: String,
        location: String,
    ) -> Self {
        Package {
            name: name.into(),
            version: version.into(),
            ecosystem,
            purl,
            source: None,
            layer: 0,
            location,
            licenses: Vec::new(),
            arch: None,
            scope: None,
            dependencies: Vec::new(),
            files: Vec::new(),
            shipped: Vec::new(),
            owned_by: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_schema_names_every_ecosystem() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema/report-v1.json");
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let named: Vec<&str> = schema["properties"]["packages"]["items"]["properties"]["ecosystem"]
            ["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("no package ecosystem enum in {path}"))
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let ours: Vec<&str> = Ecosystem::ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(named, ours);
    }
}
