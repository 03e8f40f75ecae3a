//! Turning the TARGET string a user typed into a kind of target and a path,
//! exactly as DESIGN.md's resolution order says: a scheme prefix, else an
//! existing path whose bytes decide, else `PATH:TAG` into a layout or
//! archive, else a registry reference.

use crate::error::ScanError;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The kind of a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// A root filesystem directory.
    Rootfs,
    /// An OCI image layout directory.
    OciDir,
    /// A tar of an OCI image layout.
    OciArchive,
    /// A `docker save` tar.
    DockerArchive,
    /// A tar whose kind its members decide (`manifest.json` or `oci-layout`,
    /// else a root filesystem).
    Archive,
    /// A tar of a root filesystem (`docker export`, a cloud's or LXC's
    /// rootfs tarball), plain or compressed: one layer.
    RootfsArchive,
    /// A VM disk image.
    Disk,
    /// A registry reference.
    Registry,
}

impl TargetKind {
    /// Stable name used in reports and scheme prefixes.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Rootfs => "dir",
            TargetKind::OciDir => "oci-dir",
            TargetKind::OciArchive => "oci-archive",
            TargetKind::DockerArchive => "docker-archive",
            TargetKind::Archive => "archive",
            TargetKind::RootfsArchive => "rootfs-archive",
            TargetKind::Disk => "disk",
            TargetKind::Registry => "registry",
        }
    }
}

/// A resolved target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The string the user gave.
    pub input: String,
    /// Its kind.
    pub kind: TargetKind,
    /// The path on disk (empty for a registry reference).
    pub path: PathBuf,
    /// The tag after `PATH:`, matched against ref names or repo tags.
    pub selector: Option<String>,
}

const SCHEMES: &[(&str, TargetKind)] = &[
    ("dir:", TargetKind::Rootfs),
    ("oci-dir:", TargetKind::OciDir),
    ("oci-archive:", TargetKind::OciArchive),
    ("docker-archive:", TargetKind::DockerArchive),
    ("rootfs-archive:", TargetKind::RootfsArchive),
    ("disk:", TargetKind::Disk),
    ("registry:", TargetKind::Registry),
];

/// Resolves the TARGET string.
pub fn resolve_target(input: &str) -> Result<Target, ScanError> {
    let target = |kind, path: &str, selector: Option<&str>| Target {
        input: input.to_string(),
        kind,
        path: PathBuf::from(path),
        selector: selector.map(str::to_string),
    };
    for &(scheme, kind) in SCHEMES {
        let Some(rest) = input.strip_prefix(scheme) else {
            continue;
        };
        if kind == TargetKind::Registry {
            return Ok(target(kind, "", None).with_selector(rest));
        }
        if Path::new(rest).exists() {
            file_or_dir(Path::new(rest))?;
            return Ok(target(kind, rest, None));
        }
        return match split_existing(rest, |_| true) {
            Some((path, tag)) => Ok(target(kind, path, Some(tag))),
            None => Err(ScanError::TargetNotFound(rest.to_string())),
        };
    }
    if Path::new(input).exists() {
        return Ok(target(sniff(Path::new(input))?, input, None));
    }
    if let Some((path, tag)) = split_existing(input, is_layout_or_archive) {
        return Ok(target(sniff(Path::new(path))?, path, Some(tag)));
    }
    if looks_like_path(input) {
        return Err(ScanError::TargetNotFound(input.to_string()));
    }
    Ok(target(TargetKind::Registry, "", None).with_selector(input))
}

impl Target {
    fn with_selector(mut self, reference: &str) -> Self {
        self.selector = Some(reference.to_string());
        self
    }
}

/// The longest prefix before a `:` that exists and passes `accept`, and the rest.
fn split_existing(input: &str, accept: impl Fn(&Path) -> bool) -> Option<(&str, &str)> {
    input
        .char_indices()
        .rev()
        .filter(|&(_, c)| c == ':')
        .find_map(|(at, _)| {
            let (path, tag) = (&input[..at], &input[at + 1..]);
            (!path.is_empty() && Path::new(path).exists() && accept(Path::new(path)))
                .then_some((path, tag))
        })
}

fn is_layout_or_archive(path: &Path) -> bool {
    if path.is_dir() {
        return path.join("oci-layout").is_file();
    }
    matches!(sniff(path), Ok(TargetKind::Archive))
}

fn looks_like_path(input: &str) -> bool {
    input.starts_with('/')
        || input.starts_with('.')
        || input.starts_with('~')
        || !input.contains(['/', ':'])
}

/// Whether an existing target path is a directory (`true`) or a regular
/// file (`false`); anything else (a FIFO would block the first read, a
/// device never ends) is refused.
fn file_or_dir(path: &Path) -> Result<bool, ScanError> {
    let meta = std::fs::metadata(path).map_err(|e| ScanError::io(path, e))?;
    if !meta.is_dir() && !meta.is_file() {
        return Err(ScanError::malformed(
            path.display().to_string(),
            "neither a directory nor a regular file",
        ));
    }
    Ok(meta.is_dir())
}

/// Decides the kind of an existing path from its bytes.
pub fn sniff(path: &Path) -> Result<TargetKind, ScanError> {
    if file_or_dir(path)? {
        return Ok(if path.join("oci-layout").is_file() {
            TargetKind::OciDir
        } else {
            TargetKind::Rootfs
        });
    }
    let mut head = vec![0u8; 4096];
    let mut file = File::open(path).map_err(|e| ScanError::io(path, e))?;
    let mut filled = 0;
    while filled < head.len() {
        match file
            .read(&mut head[filled..])
            .map_err(|e| ScanError::io(path, e))?
        {
            0 => break,
            n => filled += n,
        }
    }
    head.truncate(filled);
    kind_of_bytes(&head).ok_or_else(|| {
        ScanError::malformed(
            path.display().to_string(),
            "not a recognised image (tar archive, OCI layout, rootfs directory or disk image)",
        )
    })
}

/// Recognises a file from its first bytes.
fn kind_of_bytes(head: &[u8]) -> Option<TargetKind> {
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    if crate::source::disk::image::is_ova(head) {
        return Some(TargetKind::Disk);
    }
    if at(257, b"ustar")
        || head.starts_with(&[0x1f, 0x8b])
        || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
    {
        return Some(TargetKind::Archive);
    }
    let disk = at(0, b"QFI\xfb")
        || at(0, b"KDMV")
        || at(0, b"# Disk DescriptorFile")
        || at(0, b"vhdxfile")
        || at(0, b"conectix")
        || at(512, b"EFI PART")
        || at(510, &[0x55, 0xaa])
        || at(1080, &[0x53, 0xef])
        || at(0, b"XFSB");
    disk.then_some(TargetKind::Disk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_force_the_kind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_str().unwrap();
        let t = resolve_target(&format!("oci-dir:{path}")).unwrap();
        assert_eq!((t.kind, t.selector), (TargetKind::OciDir, None));
        let t = resolve_target(&format!("oci-dir:{path}:v1")).unwrap();
        assert_eq!(
            (t.kind, t.selector.as_deref()),
            (TargetKind::OciDir, Some("v1"))
        );
        assert_eq!(
            resolve_target("registry:example.org/app:1").unwrap().kind,
            TargetKind::Registry
        );
    }

    #[test]
    fn existing_paths_are_sniffed() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            resolve_target(dir.path().to_str().unwrap()).unwrap().kind,
            TargetKind::Rootfs
        );
        std::fs::write(dir.path().join("oci-layout"), "{}").unwrap();
        let t = resolve_target(&format!("{}:latest", dir.path().display())).unwrap();
        assert_eq!(
            (t.kind, t.selector.as_deref()),
            (TargetKind::OciDir, Some("latest"))
        );
        let qcow = dir.path().join("d.qcow2");
        std::fs::write(&qcow, b"QFI\xfb\0\0\0\x03").unwrap();
        assert_eq!(
            resolve_target(qcow.to_str().unwrap()).unwrap().kind,
            TargetKind::Disk
        );
    }

    #[test]
    fn a_fifo_is_refused_even_with_a_scheme() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        for scheme in ["", "disk:", "oci-archive:", "docker-archive:"] {
            let err = resolve_target(&format!("{scheme}{}", fifo.display())).unwrap_err();
            assert!(
                err.to_string()
                    .contains("neither a directory nor a regular file"),
                "{scheme}: {err}"
            );
        }
    }

    #[test]
    fn missing_paths_and_references() {
        assert!(matches!(
            resolve_target("./nope"),
            Err(ScanError::TargetNotFound(_))
        ));
        assert!(matches!(
            resolve_target("nope"),
            Err(ScanError::TargetNotFound(_))
        ));
        assert_eq!(
            resolve_target("registry.local:5000/app:1.4").unwrap().kind,
            TargetKind::Registry
        );
        assert_eq!(
            resolve_target("alpine:3.19").unwrap().kind,
            TargetKind::Registry
        );
    }
}
