//! Which files' bytes the layer pass keeps for later readers. Catalogers,
//! OS detection and checks declare the paths they need up front (globs
//! over root-relative paths, each with the largest file its reader takes);
//! the pass keeps exactly those and no others.

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// A compiled set of root-relative path globs (`etc/os-release`,
/// `**/package-lock.json`, `var/lib/dpkg/status.d/*`).
#[derive(Debug, Clone)]
pub struct CaptureSpec {
    set: GlobSet,
    /// The largest file each pattern's reader takes, by pattern index.
    limits: Vec<u64>,
}

impl CaptureSpec {
    /// Compiles `patterns`; `*` does not cross `/`, `**` does.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self, globset::Error> {
        let unbounded: Vec<(&str, u64)> = patterns.iter().map(|p| (p.as_ref(), u64::MAX)).collect();
        Self::with_limits(&unbounded)
    }

    /// Compiles `(pattern, largest file its reader takes)` pairs.
    pub fn with_limits<S: AsRef<str>>(patterns: &[(S, u64)]) -> Result<Self, globset::Error> {
        let mut builder = GlobSetBuilder::new();
        for (pattern, _) in patterns {
            let glob: Glob = GlobBuilder::new(pattern.as_ref())
                .literal_separator(true)
                .backslash_escape(true)
                .build()?;
            builder.add(glob);
        }
        Ok(CaptureSpec {
            set: builder.build()?,
            limits: patterns.iter().map(|(_, limit)| *limit).collect(),
        })
    }

    /// Whether the file at root-relative `path` is wanted.
    pub fn wants(&self, path: &[u8]) -> bool {
        self.set.is_match(Path::new(OsStr::from_bytes(path)))
    }

    /// The largest file at `path` any reader that wants it takes; `None`
    /// when none wants it.
    pub fn limit(&self, path: &[u8]) -> Option<u64> {
        self.set
            .matches(Path::new(OsStr::from_bytes(path)))
            .into_iter()
            .map(|i| self.limits[i])
            .max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_root_relative_paths() {
        let spec = CaptureSpec::new(&[
            "etc/os-release",
            "**/package-lock.json",
            "var/lib/dpkg/status.d/*",
        ])
        .unwrap();
        assert!(spec.wants(b"etc/os-release"));
        assert!(!spec.wants(b"x/etc/os-release"));
        assert!(spec.wants(b"package-lock.json"));
        assert!(spec.wants(b"app/node_modules/a/package-lock.json"));
        assert!(spec.wants(b"var/lib/dpkg/status.d/base"));
        assert!(!spec.wants(b"var/lib/dpkg/status.d/a/b"));
        assert!(!spec.wants(b"etc/\xffos-release"));
    }

    #[test]
    fn the_largest_limit_of_the_matching_patterns_holds() {
        let spec =
            CaptureSpec::with_limits(&[("**/package-lock.json", 64), ("app/*", 10)]).unwrap();
        assert_eq!(spec.limit(b"app/package-lock.json"), Some(64));
        assert_eq!(spec.limit(b"app/x"), Some(10));
        assert_eq!(spec.limit(b"etc/x"), None);
    }
}
