//! Catalogers: one per ecosystem, each declaring up front the paths it
//! reads (globs over root-relative paths, captured during the single layer
//! pass) and turning those files' bytes into [`Package`]s.
//!
//! Adding an ecosystem is one new module here and one line in [`all`].

pub mod apk;
mod deb822;
pub mod dpkg;
pub mod npm;
pub mod rpm;

use crate::os::OsRelease;
use crate::package::Package;
use crate::tree::FileTreeView;

/// What a cataloger is given for one file.
pub struct CatalogInput<'a> {
    /// Root-relative path of the file.
    pub path: &'a [u8],
    /// Its bytes.
    pub content: &'a [u8],
    /// The image's OS, for purl namespaces and `distro` qualifiers.
    pub os: Option<&'a OsRelease>,
    /// The final tree, for auxiliary files a database points at.
    pub tree: &'a dyn FileTreeView,
}

/// Why a file could not be cataloged; it becomes an unknown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CatalogError(pub String);

/// What a cataloger made of one file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Catalogued {
    /// The packages.
    pub packages: Vec<Package>,
    /// Records that are not packages, each with why (lower-case).
    pub passed_over: Vec<String>,
}

/// The default [`Cataloger::max_bytes`]: 256 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 256 << 20;

/// Turns package databases or lockfiles of one ecosystem into packages.
pub trait Cataloger: Send + Sync {
    /// Stable name (`dpkg`, `apk`, `rpm`, `npm-lock`, ...).
    fn name(&self) -> &'static str;

    /// Globs of the root-relative paths this cataloger reads; `*` stays in
    /// one directory, `**` crosses them.
    fn globs(&self) -> &'static [&'static str];

    /// Auxiliary globs: files captured so that [`Cataloger::catalog`] can
    /// read them through [`CatalogInput::tree`], but not catalogued on
    /// their own (dpkg's `info/*.list`).
    fn aux_globs(&self) -> &'static [&'static str] {
        &[]
    }

    /// The largest file this cataloger parses, in bytes: a larger one is
    /// an unknown, not a parse whose memory grows without bound. The
    /// default suits line-oriented databases; formats parsed into a tree
    /// (JSON, YAML) set their own from the largest real files.
    fn max_bytes(&self) -> u64 {
        DEFAULT_MAX_BYTES
    }

    /// Parses one file into packages. The caller sets each package's
    /// `location` and `layer`; the cataloger sets everything else.
    fn catalog(&self, input: &CatalogInput<'_>) -> Result<Vec<Package>, CatalogError>;

    /// Like [`Cataloger::catalog`], also naming the records passed over (a
    /// record without a name or version): each becomes an unknown, and the
    /// file's other packages are kept. A cataloger that cannot pass over
    /// one record fails the whole file instead.
    fn catalog_records(&self, input: &CatalogInput<'_>) -> Result<Catalogued, CatalogError> {
        Ok(Catalogued {
            packages: self.catalog(input)?,
            passed_over: Vec::new(),
        })
    }
}

/// Every built-in cataloger.
pub fn all() -> Vec<Box<dyn Cataloger>> {
    vec![
        Box::new(dpkg::DpkgCataloger),
        Box::new(apk::ApkCataloger),
        Box::new(rpm::RpmCataloger),
        Box::new(npm::NpmLockCataloger),
        Box::new(npm::YarnLockCataloger),
        Box::new(npm::PnpmLockCataloger),
        Box::new(npm::NodeModulesCataloger),
    ]
}
