//! File digests for package integrity: the algorithms package databases
//! record for the files they ship (dpkg `md5sums`: MD5; rpm: the header's
//! `FILEDIGESTALGO`, SHA-256 on anything recent, MD5 on old ones; apk `Z:`:
//! SHA-1), the digests the layer pass computes of a file's bytes as they
//! stream by ([`Digester`]), and the digest a package says a file shipped
//! with ([`ShippedDigest`]).
//!
//! The pass computes digests only of files a package manager could have
//! installed ([`may_be_packaged`]), so an application's own tree costs
//! nothing.

use base64::Engine;
use md5::Md5;
use sha1::Sha1;
use sha2::Sha256;

/// A digest algorithm a package database records for its files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DigestAlgorithm {
    /// MD5 (dpkg; rpm before SHA-256 file digests).
    Md5,
    /// SHA-1 (apk's `Z:Q1…`).
    Sha1,
    /// SHA-256 (rpm 4.6+ file digests, apk's `Z:Q2…`).
    Sha256,
}

impl DigestAlgorithm {
    /// Every algorithm the pass can compute.
    pub const ALL: [DigestAlgorithm; 3] = [
        DigestAlgorithm::Md5,
        DigestAlgorithm::Sha1,
        DigestAlgorithm::Sha256,
    ];

    /// Lower-case name, as the findings print it.
    pub fn as_str(self) -> &'static str {
        match self {
            DigestAlgorithm::Md5 => "md5",
            DigestAlgorithm::Sha1 => "sha1",
            DigestAlgorithm::Sha256 => "sha256",
        }
    }

    /// Length of a digest in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            DigestAlgorithm::Md5 => 16,
            DigestAlgorithm::Sha1 => 20,
            DigestAlgorithm::Sha256 => 32,
        }
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// A set of [`DigestAlgorithm`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Algorithms(u8);

impl Algorithms {
    /// No algorithm: nothing is hashed.
    pub const NONE: Algorithms = Algorithms(0);
    /// Every algorithm of [`DigestAlgorithm::ALL`].
    pub const ALL: Algorithms = Algorithms(0b111);

    /// The set with `algorithm` added.
    pub fn with(self, algorithm: DigestAlgorithm) -> Self {
        Algorithms(self.0 | algorithm.bit())
    }

    /// Whether `algorithm` is in the set.
    pub fn contains(self, algorithm: DigestAlgorithm) -> bool {
        self.0 & algorithm.bit() != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The set as one byte (for cache keys and the cache codec).
    pub fn bits(self) -> u8 {
        self.0
    }

    /// The set from [`Algorithms::bits`]; `None` for bits no algorithm has.
    pub fn from_bits(bits: u8) -> Option<Self> {
        (bits & !Self::ALL.0 == 0).then_some(Algorithms(bits))
    }
}

/// The digests computed of one file's bytes, one per algorithm asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileDigests {
    md5: Option<[u8; 16]>,
    sha1: Option<[u8; 20]>,
    sha256: Option<[u8; 32]>,
}

impl FileDigests {
    /// The digests of `bytes` under `algorithms`.
    pub fn of(bytes: &[u8], algorithms: Algorithms) -> Self {
        let mut digester = Digester::new(algorithms);
        digester.update(bytes);
        digester.finish()
    }

    /// The digest under `algorithm`, if it was computed.
    pub fn get(&self, algorithm: DigestAlgorithm) -> Option<&[u8]> {
        match algorithm {
            DigestAlgorithm::Md5 => self.md5.as_ref().map(|d| &d[..]),
            DigestAlgorithm::Sha1 => self.sha1.as_ref().map(|d| &d[..]),
            DigestAlgorithm::Sha256 => self.sha256.as_ref().map(|d| &d[..]),
        }
    }

    /// Sets the digest under `algorithm`; `false` (and nothing set) when
    /// `value` is not of that algorithm's length.
    pub fn set(&mut self, algorithm: DigestAlgorithm, value: &[u8]) -> bool {
        match algorithm {
            DigestAlgorithm::Md5 => value.try_into().map(|d| self.md5 = Some(d)).is_ok(),
            DigestAlgorithm::Sha1 => value.try_into().map(|d| self.sha1 = Some(d)).is_ok(),
            DigestAlgorithm::Sha256 => value.try_into().map(|d| self.sha256 = Some(d)).is_ok(),
        }
    }

    /// Every digest computed, by algorithm.
    pub fn iter(&self) -> impl Iterator<Item = (DigestAlgorithm, &[u8])> {
        DigestAlgorithm::ALL
            .into_iter()
            .filter_map(|a| self.get(a).map(|d| (a, d)))
    }
}

/// Computes [`FileDigests`] of bytes fed in pieces, each piece once
/// through every algorithm asked for.
pub struct Digester {
    md5: Option<Md5>,
    sha1: Option<Sha1>,
    sha256: Option<Sha256>,
}

impl Digester {
    /// A digester for `algorithms`.
    pub fn new(algorithms: Algorithms) -> Self {
        use md5::Digest as _;
        use sha2::Digest as _;
        let wanted = |a| algorithms.contains(a);
        Digester {
            md5: wanted(DigestAlgorithm::Md5).then(Md5::new),
            sha1: wanted(DigestAlgorithm::Sha1).then(Sha1::new),
            sha256: wanted(DigestAlgorithm::Sha256).then(Sha256::new),
        }
    }

    /// Feeds the next bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        use md5::Digest as _;
        use sha2::Digest as _;
        if let Some(h) = &mut self.md5 {
            h.update(bytes);
        }
        if let Some(h) = &mut self.sha1 {
            h.update(bytes);
        }
        if let Some(h) = &mut self.sha256 {
            h.update(bytes);
        }
    }

    /// The digests of everything fed.
    pub fn finish(self) -> FileDigests {
        use md5::Digest as _;
        use sha2::Digest as _;
        FileDigests {
            md5: self.md5.map(|h| h.finalize().into()),
            sha1: self.sha1.map(|h| h.finalize().into()),
            sha256: self.sha256.map(|h| h.finalize().into()),
        }
    }
}

/// Bytes written are fed to the digester (for `io::copy`).
impl std::io::Write for Digester {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Top-level directories package managers install into (the FHS places
/// dpkg, rpm and apk packages use); a file elsewhere (`/app`, `/home`,
/// `/srv`, `/tmp`) is never hashed.
const PACKAGED_ROOTS: &[&[u8]] = &[
    b"bin", b"boot", b"etc", b"lib", b"lib32", b"lib64", b"libx32", b"opt", b"sbin", b"usr", b"var",
];

/// Places below those roots that hold no packaged files: the local
/// administrator's tree (package managers never write `/usr/local`), logs,
/// caches and scratch space (where a sparse `lastlog` would cost a read),
/// and the package managers' own databases and index downloads (apt's
/// lists alone are tens of megabytes on a Debian tree).
const UNPACKAGED: &[&[u8]] = &[
    b"usr/local/",
    b"var/log/",
    b"var/cache/",
    b"var/tmp/",
    b"var/lib/apt/lists/",
    b"var/lib/dpkg/",
    b"var/lib/rpm/",
    b"usr/lib/sysimage/rpm/",
    b"var/lib/dnf/",
    b"var/lib/yum/",
    b"lib/apk/db/",
];

/// Whether a package manager could have installed the file at the
/// root-relative `path`: whether the pass hashes it.
pub fn may_be_packaged(path: &[u8]) -> bool {
    let top = path.split(|&b| b == b'/').next().unwrap_or_default();
    PACKAGED_ROOTS.contains(&top)
        && top.len() < path.len()
        && !UNPACKAGED.iter().any(|p| path.starts_with(p))
}

/// A path as a package database writes it (`usr/bin/ps`, `/usr/bin/ps`,
/// `./usr/bin/ps`) made root-relative; `None` when it is empty or has a
/// `.` or `..` component (a database does not write those; a hostile one
/// would, to point outside the tree).
pub fn database_path(raw: &[u8]) -> Option<&[u8]> {
    let mut path = raw;
    loop {
        let trimmed = path
            .strip_prefix(b"/")
            .or_else(|| path.strip_prefix(b"./"))
            .unwrap_or(path);
        if trimmed.len() == path.len() {
            break;
        }
        path = trimmed;
    }
    let fine = !path.is_empty()
        && path
            .split(|&b| b == b'/')
            .all(|c| !matches!(c, b"" | b"." | b".."));
    fine.then_some(path)
}

/// The digest a package database says one of its files shipped with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShippedDigest {
    /// Its algorithm.
    pub algorithm: DigestAlgorithm,
    /// Its bytes (of the algorithm's length).
    pub value: Box<[u8]>,
}

impl ShippedDigest {
    /// A digest written in hex (dpkg `md5sums`, rpm `FILEDIGESTS`); `None`
    /// when it is not hex of the algorithm's length.
    pub fn from_hex(algorithm: DigestAlgorithm, text: &[u8]) -> Option<Self> {
        let value = hex::decode(text).ok()?;
        (value.len() == algorithm.digest_len()).then(|| ShippedDigest {
            algorithm,
            value: value.into(),
        })
    }

    /// A digest written in base64 (apk `Z:Q1…`); `None` when it is not
    /// base64 of the algorithm's length.
    pub fn from_base64(algorithm: DigestAlgorithm, text: &[u8]) -> Option<Self> {
        let value = base64::engine::general_purpose::STANDARD
            .decode(text)
            .ok()?;
        (value.len() == algorithm.digest_len()).then(|| ShippedDigest {
            algorithm,
            value: value.into(),
        })
    }

    /// Whether `digests` holds this algorithm's digest and it is this one;
    /// `None` when that digest was not computed.
    pub fn matches(&self, digests: &FileDigests) -> Option<bool> {
        digests
            .get(self.algorithm)
            .map(|actual| actual == &*self.value)
    }
}

/// A file a package shipped, with the digest it shipped with: a file the
/// package manager can tell was changed after install. Conffiles and files
/// the package marks as changing (rpm `%config`, `%ghost`) are not among them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShippedFile {
    /// Root-relative path where the file is, resolved through the image's
    /// links and the package manager's diversions.
    pub path: Vec<u8>,
    /// The digest it shipped with.
    pub digest: ShippedDigest,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_of_known_bytes() {
        let digests = FileDigests::of(b"abc", Algorithms::ALL);
        assert_eq!(
            hex::encode(digests.get(DigestAlgorithm::Md5).unwrap()),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            hex::encode(digests.get(DigestAlgorithm::Sha1).unwrap()),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex::encode(digests.get(DigestAlgorithm::Sha256).unwrap()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut pieces = Digester::new(Algorithms::NONE.with(DigestAlgorithm::Md5));
        pieces.update(b"a");
        pieces.update(b"bc");
        let md5_only = pieces.finish();
        assert_eq!(
            md5_only.get(DigestAlgorithm::Md5),
            digests.get(DigestAlgorithm::Md5)
        );
        assert_eq!(md5_only.iter().count(), 1);
    }

    #[test]
    fn algorithm_sets_round_trip_their_bits() {
        let set = Algorithms::NONE.with(DigestAlgorithm::Sha256);
        assert!(set.contains(DigestAlgorithm::Sha256) && !set.contains(DigestAlgorithm::Md5));
        assert_eq!(Algorithms::from_bits(set.bits()), Some(set));
        assert_eq!(Algorithms::from_bits(0x80), None);
        assert!(Algorithms::NONE.is_empty());
    }

    #[test]
    fn shipped_digests_check_their_length() {
        let of = |bytes: &[u8]| FileDigests::of(bytes, Algorithms::ALL);
        let md5 =
            ShippedDigest::from_hex(DigestAlgorithm::Md5, b"900150983cd24fb0d6963f7d28e17f72")
                .unwrap();
        let sha1 =
            ShippedDigest::from_base64(DigestAlgorithm::Sha1, b"qZk+NkcGgWq6PiVxeFDCbJzQ2J0=")
                .unwrap();
        for shipped in [&md5, &sha1] {
            assert_eq!(shipped.matches(&of(b"abc")), Some(true));
            assert_eq!(shipped.matches(&of(b"abd")), Some(false));
            assert_eq!(shipped.matches(&FileDigests::default()), None);
        }
        assert!(ShippedDigest::from_hex(DigestAlgorithm::Sha256, b"9001").is_none());
        assert!(ShippedDigest::from_hex(DigestAlgorithm::Md5, b"zz").is_none());
        assert!(ShippedDigest::from_base64(DigestAlgorithm::Sha1, b"qZk+").is_none());
        let mut digests = FileDigests::default();
        assert!(!digests.set(DigestAlgorithm::Sha1, &[0; 3]));
        assert!(digests.set(DigestAlgorithm::Sha1, &[0; 20]));
    }

    #[test]
    fn database_paths_stay_inside_the_tree() {
        assert_eq!(database_path(b"/usr/bin/ps"), Some(&b"usr/bin/ps"[..]));
        assert_eq!(database_path(b"./usr/bin/ps"), Some(&b"usr/bin/ps"[..]));
        assert_eq!(database_path(b"usr/bin/\xff"), Some(&b"usr/bin/\xff"[..]));
        for bad in [
            &b""[..],
            b"/",
            b"../etc/shadow",
            b"usr/../../x",
            b"usr//x",
            b"usr/./x",
        ] {
            assert_eq!(database_path(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn only_files_under_packaged_roots_are_hashed() {
        for path in [
            &b"usr/bin/ps"[..],
            b"etc/passwd",
            b"lib64/ld.so",
            b"opt/x/y",
            b"var/lib/ucf/cache/x",
        ] {
            assert!(may_be_packaged(path), "{path:?}");
        }
        for path in [
            &b"app/server.js"[..],
            b"home/u/.bashrc",
            b"usr",
            b"usrx/a",
            b"srv/x",
            b"usr/local/bin/x",
            b"var/log/lastlog",
            b"var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages",
            b"var/lib/dpkg/info/ps.md5sums",
            b"var/lib/rpm/rpmdb.sqlite",
        ] {
            assert!(!may_be_packaged(path), "{path:?}");
        }
    }
}
