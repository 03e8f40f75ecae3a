//! Which digests the layer pass computes of a file, for package integrity
//! (`package.modified-file`). The package databases that say which files
//! are owned, and in which algorithm, come late in a layer's stream
//! (`var/` sorts after `usr/`) or in another layer read at the same time,
//! so the pass cannot know ahead; it narrows what it can without them:
//!
//! - only files under the places package managers install into
//!   ([`may_be_packaged`]): an application's own tree is never hashed;
//! - once the layer itself has shown which package manager it belongs to
//!   (`etc/dpkg`, `etc/debian_version`, `etc/apk`, `etc/redhat-release`,
//!   ... — under `etc/`, which a base layer's sorted stream reaches before
//!   `usr/`), only that manager's algorithms: MD5 for dpkg, SHA-1 and
//!   SHA-256 for apk (2 and 3), SHA-256 for rpm; until then, all three.
//!
//! The choice depends on the layer's own bytes only, so a cached layer
//! result is the same whatever image it is read in. A file whose digest
//! in the needed algorithm was not computed is not judged (never a false
//! alarm; at worst a modification in an image that mixes package managers
//! goes unseen).

use imgscan_sbom::digest::may_be_packaged;
use imgscan_sbom::{Algorithms, DigestAlgorithm};

/// Paths (and what is below them) that show a layer's package manager.
const MARKERS: &[(&[u8], DigestAlgorithm)] = &[
    (b"etc/dpkg", DigestAlgorithm::Md5),
    (b"etc/debian_version", DigestAlgorithm::Md5),
    (b"var/lib/dpkg", DigestAlgorithm::Md5),
    // apk 2 records SHA-1 (`Q1`), apk 3 may record SHA-256 (`Q2`).
    (b"etc/apk", DigestAlgorithm::Sha1),
    (b"etc/apk", DigestAlgorithm::Sha256),
    (b"etc/alpine-release", DigestAlgorithm::Sha1),
    (b"etc/alpine-release", DigestAlgorithm::Sha256),
    (b"lib/apk", DigestAlgorithm::Sha1),
    (b"lib/apk", DigestAlgorithm::Sha256),
    (b"etc/rpm", DigestAlgorithm::Sha256),
    (b"etc/redhat-release", DigestAlgorithm::Sha256),
    (b"etc/SuSE-release", DigestAlgorithm::Sha256),
    (b"var/lib/rpm", DigestAlgorithm::Sha256),
    (b"usr/lib/sysimage/rpm", DigestAlgorithm::Sha256),
];

/// What one layer's pass has learned of its package managers.
#[derive(Debug, Clone, Copy, Default)]
pub struct DigestPlan {
    /// The algorithms of the package managers seen so far; empty: none yet.
    seen: Algorithms,
}

impl DigestPlan {
    /// Notes the entry at root-relative `path` (any kind).
    pub fn see(&mut self, path: &[u8]) {
        for (marker, algorithm) in MARKERS {
            if path.starts_with(marker)
                && (path.len() == marker.len() || path[marker.len()] == b'/')
            {
                self.seen = self.seen.with(*algorithm);
            }
        }
    }

    /// The algorithms to compute of the regular file at `path`.
    pub fn for_file(&self, path: &[u8]) -> Algorithms {
        if !may_be_packaged(path) {
            Algorithms::NONE
        } else if self.seen.is_empty() {
            Algorithms::ALL
        } else {
            self.seen
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layer_that_shows_its_package_manager_hashes_its_algorithm_only() {
        let mut plan = DigestPlan::default();
        assert_eq!(plan.for_file(b"usr/bin/ps"), Algorithms::ALL);
        assert_eq!(plan.for_file(b"app/server.js"), Algorithms::NONE);
        plan.see(b"etc/dpkgx");
        assert_eq!(
            plan.for_file(b"usr/bin/ps"),
            Algorithms::ALL,
            "not a marker"
        );
        plan.see(b"etc/dpkg/dpkg.cfg");
        let md5 = Algorithms::NONE.with(DigestAlgorithm::Md5);
        assert_eq!(plan.for_file(b"usr/bin/ps"), md5);
        plan.see(b"var/lib/rpm");
        assert_eq!(
            plan.for_file(b"usr/bin/ps"),
            md5.with(DigestAlgorithm::Sha256),
            "two package managers: both algorithms"
        );
        let mut alpine = DigestPlan::default();
        alpine.see(b"lib/apk/db/installed");
        assert_eq!(
            alpine.for_file(b"bin/busybox"),
            Algorithms::NONE
                .with(DigestAlgorithm::Sha1)
                .with(DigestAlgorithm::Sha256),
            "apk 2 and 3"
        );
    }
}
