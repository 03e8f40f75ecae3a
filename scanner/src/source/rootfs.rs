//! Reads a rootfs directory (an exported server snapshot) as one layer.
//!
//! The walk never follows a symlink: links are recorded with their target
//! and resolved later inside the image tree, as a chroot would. Regular
//! files are opened with `O_NOFOLLOW | O_NONBLOCK` and checked again after
//! opening, so a file swapped for a link or a FIFO mid-scan is neither
//! followed nor blocks. FIFOs, sockets and devices are never opened.
//! The walk is iterative, so nesting depth costs heap, not stack.

use crate::layer::walked::add_walked;
use crate::layer::{LayerBuilder, RawEntry};
use imgscan_sbom::FileKind;
use std::fs::{self, File, Metadata, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Indexes the directory `root` into `builder` as one layer. Only an
/// unreadable root is an error; anything below it that cannot be read is
/// an unknown and the walk goes on.
pub fn index_rootfs(root: &Path, builder: &mut LayerBuilder<'_>) -> io::Result<()> {
    fs::read_dir(root)?;
    builder.walk_volume();
    let mut pending: Vec<(PathBuf, Vec<u8>)> = vec![(root.to_path_buf(), Vec::new())];
    while let Some((dir, rel)) = pending.pop() {
        let mut children = match read_children(&dir) {
            Ok(children) => children,
            Err(err) => {
                builder.unreadable(&rel, format!("cannot list directory: {err}"));
                continue;
            }
        };
        children.sort();
        let mut subdirs = Vec::new();
        for name in children {
            let host = dir.join(std::ffi::OsStr::from_bytes(&name));
            let mut child = rel.clone();
            if !child.is_empty() {
                child.push(b'/');
            }
            child.extend_from_slice(&name);
            match fs::symlink_metadata(&host) {
                Ok(meta) => {
                    if visit(&host, &child, &meta, builder) {
                        subdirs.push((host, child));
                    }
                }
                Err(err) => builder.unreadable(&child, format!("cannot stat: {err}")),
            }
        }
        pending.extend(subdirs.into_iter().rev());
    }
    Ok(())
}

fn read_children(dir: &Path) -> io::Result<Vec<Vec<u8>>> {
    fs::read_dir(dir)?
        .map(|entry| entry.map(|e| e.file_name().as_bytes().to_vec()))
        .collect()
}

/// Adds one path to the index; returns whether it is a directory to descend.
fn visit(host: &Path, rel: &[u8], meta: &Metadata, builder: &mut LayerBuilder<'_>) -> bool {
    let file_type = meta.file_type();
    let kind = if file_type.is_dir() {
        FileKind::Dir
    } else if file_type.is_symlink() {
        FileKind::Symlink
    } else if file_type.is_file() {
        FileKind::File
    } else if file_type.is_fifo() {
        FileKind::Fifo
    } else if file_type.is_socket() {
        FileKind::Socket
    } else if file_type.is_char_device() {
        FileKind::CharDevice
    } else {
        FileKind::BlockDevice
    };
    let entry = RawEntry {
        name: rel,
        kind,
        size: meta.len(),
        mode: meta.mode(),
        uid: meta.uid().into(),
        gid: meta.gid().into(),
        link: None,
    };
    add_walked(
        builder,
        entry,
        || fs::read_link(host).map(|t| t.as_os_str().as_bytes().to_vec()),
        || open_regular(host, meta),
    )
}

/// Opens a regular file without following a link or blocking on a FIFO,
/// and checks it is still the file that was listed.
fn open_regular(host: &Path, listed: &Metadata) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(host)?;
    let opened = file.metadata()?;
    if !opened.is_file() || opened.ino() != listed.ino() || opened.dev() != listed.dev() {
        return Err(io::Error::other("file changed while it was being scanned"));
    }
    if opened.len() != listed.len() {
        return Err(io::Error::other(
            "file size changed while it was being scanned",
        ));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::PassOptions;
    use crate::layer::capture::CaptureSpec;
    use crate::limits::Limits;
    use std::os::unix::fs::symlink;

    #[test]
    fn walk_records_links_and_specials_without_following() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("etc")).unwrap();
        fs::write(root.join("etc/os-release"), "ID=test\n").unwrap();
        symlink("/etc/shadow", root.join("etc/escape")).unwrap();
        symlink("/", root.join("hostroot")).unwrap();
        let fifo = root.join("pipe");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let opts = PassOptions::new(Limits::default(), CaptureSpec::new(&["etc/*"]).unwrap());
        let mut builder = LayerBuilder::new(0, &opts);
        index_rootfs(root, &mut builder).unwrap();
        let index = builder.finish();
        let mut paths: Vec<_> = index
            .entries
            .iter()
            .map(|e| String::from_utf8_lossy(&e.path).into_owned())
            .collect();
        paths.sort();
        assert_eq!(
            paths,
            ["etc", "etc/escape", "etc/os-release", "hostroot", "pipe"]
        );
        let find = |p: &[u8]| index.entries.iter().find(|e| &*e.path == p).unwrap();
        assert_eq!(
            find(b"etc/escape").meta.link.as_deref(),
            Some(&b"/etc/shadow"[..])
        );
        assert_eq!(find(b"pipe").meta.kind, FileKind::Fifo);
        assert_eq!(index.skipped.special, 1);
        assert!(!index.captured.contains_key(&b"etc/escape"[..]));
        assert_eq!(&*index.captured[&b"etc/os-release"[..]], b"ID=test\n");
    }
}
