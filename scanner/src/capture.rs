//! Which files' bytes the layer pass keeps for later readers. Catalogers,
//! OS detection and checks declare the paths they need up front (globs
//! over root-relative paths); the pass keeps exactly those and no others.

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// A compiled set of root-relative path globs (`etc/os-release`,
/// `**/package-lock.json`, `var/lib/dpkg/status.d/*`).
#[derive(Debug, Clone)]
pub struct CaptureSpec {
    set: GlobSet,
}

impl CaptureSpec {
    /// Compiles `patterns`; `*` does not cross `/`, `**` does.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self, globset::Error> {
        let mut builder = GlobSetBuilder::new();
        for pattern in patterns {
            let glob: Glob = GlobBuilder::new(pattern.as_ref())
                .literal_separator(true)
                .backslash_escape(true)
                .build()?;
            builder.add(glob);
        }
        Ok(CaptureSpec {
            set: builder.build()?,
        })
    }

    /// Whether the file at root-relative `path` is wanted.
    pub fn wants(&self, path: &[u8]) -> bool {
        self.set.is_match(Path::new(OsStr::from_bytes(path)))
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
}
