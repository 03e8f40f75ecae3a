//! Catalogers: one per ecosystem, each declaring up front the paths it
//! reads (globs over root-relative paths, captured during the single layer
//! pass) and turning those files' bytes into [`Package`]s.
//!
//! Adding an ecosystem is one new module here and one line in [`all`].

pub mod apk;
mod deb822;
pub mod dpkg;
mod dpkg_shipped;
pub mod npm;
pub mod python;
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

/// Why a file could not be cataloged; it becomes an unknown, the path and
/// layer added by the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// The file is not UTF-8 text.
    #[error("not UTF-8: {0}")]
    NotUtf8(#[from] std::str::Utf8Error),
    /// Not JSON, or JSON of another shape (serde_json's message).
    #[error("invalid JSON: {0}")]
    Json(String),
    /// Not YAML, or YAML of another shape (the parser's first line).
    #[error("invalid YAML: {0}")]
    Yaml(String),
    /// A line that a line-oriented format (dpkg status, apk installed db,
    /// yarn v1 lockfile) does not allow.
    #[error("line {line}: {reason}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What the line should have been.
        reason: &'static str,
    },
    /// A package-lock with none of the keys that make one.
    #[error("no `lockfileVersion`, `packages` or `dependencies`: not an npm lockfile")]
    NotNpmLockfile,
    /// A `pnpm-lock.yaml` without `lockfileVersion`.
    #[error("no `lockfileVersion`: not a pnpm lockfile")]
    NotPnpmLockfile,
    /// A pnpm `lockfileVersion` that is not a number.
    #[error("unknown `lockfileVersion` `{0}`")]
    UnknownLockfileVersion(String),
    /// A lockfile entry (its key or path, shortened) whose name or version
    /// cannot be a package's.
    #[error("entry `{0}` has an implausible name or version")]
    ImplausibleEntry(String),
    /// A yarn v1 entry whose version is implausible, by the line it ends before.
    #[error("entry `{name}` ending before line {line} has an implausible name or version")]
    ImplausibleEntryBefore {
        /// The entry's package name.
        name: String,
        /// 1-based line the entry ends before.
        line: usize,
    },
    /// A yarn v1 entry without `version`.
    #[error("entry `{name}` ending before line {line} has no `version`")]
    NoVersion {
        /// The entry's package name.
        name: String,
        /// 1-based line the entry ends before.
        line: usize,
    },
    /// A package-lock v1 dependency whose name or version is implausible.
    #[error("dependency `{0}` has an implausible name or version")]
    ImplausibleDependency(String),
    /// A `node_modules` `package.json` whose name or version is implausible.
    #[error("`package.json` of `{0}` has an implausible name or version")]
    ImplausibleManifest(String),
    /// A package-lock path nested deeper than the cataloger follows.
    #[error("entry `{entry}` nests deeper than {limit} levels")]
    TooDeep {
        /// The entry's path, shortened.
        entry: String,
        /// Most `node_modules/` levels followed.
        limit: usize,
    },
    /// A package-lock path that is not `…node_modules/NAME`.
    #[error("entry `{0}` is not an install path")]
    NotInstallPath(String),
    /// A yarn berry entry without `resolution`.
    #[error("entry `{0}` has no `resolution`")]
    NoResolution(String),
    /// A yarn berry `resolution` from which no package name follows.
    #[error("resolution `{0}` names no package")]
    ResolutionNamesNoPackage(String),
    /// A file at an rpm database's path with none of its backends' magic.
    #[error("not an rpm database: no sqlite, Berkeley DB or ndb magic")]
    NotRpmDatabase,
    /// An rpm sqlite database that cannot be read.
    #[error("sqlite: {0}")]
    RpmSqlite(String),
    /// An rpm Berkeley DB hash database whose pages do not hold together.
    #[error("berkeley db: {0}")]
    RpmBerkeleyDb(String),
    /// An rpm ndb database whose slots or blobs do not hold together.
    #[error("ndb: {0}")]
    RpmNdb(String),
    /// An rpm header blob whose index or data does not hold together.
    #[error("{0}")]
    RpmHeader(String),
    /// An rpm header without a tag every package has.
    #[error("no `{0}`")]
    RpmMissingTag(&'static str),
    /// A metadata file (Python core metadata) without a field every
    /// package has.
    #[error("no `{0}` field")]
    NoField(&'static str),
    /// A distribution name that PEP 508 does not allow (shortened).
    #[error("`{0}` is not a valid distribution name")]
    InvalidName(String),
    /// An empty, overlong or control-character version (shortened).
    #[error("`{0}` is not a plausible version")]
    ImplausibleVersion(String),
    /// One header of an rpm database, by its number, that is not a package.
    #[error("header `{number}`: {cause}")]
    RpmPackage {
        /// The header's number in the database.
        number: u32,
        /// What is wrong with it.
        cause: Box<CatalogError>,
    },
}

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
        Box::new(python::PythonCataloger),
    ]
}
