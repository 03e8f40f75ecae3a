//! Where an image's blobs are read from: a directory (OCI layout) or a tar
//! file read in place (oci-archive, docker-archive), by the blob's path
//! inside the layout (`blobs/sha256/<hex>`, `<id>/layer.tar`).
//!
//! Names are normalised and refused when they escape; in a directory no
//! component may be a symlink, so a hostile layout cannot point a blob at
//! a file of the host.

use crate::digest::Digest;
use crate::error::ScanError;
use crate::layer::entry_name::normalize;
use crate::layer::tar_stream::walk_entries;
use imgscan_sbom::FileKind;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// A blob opened for reading, with its stored size.
pub type OpenBlob<'a> = (Box<dyn Read + Send + 'a>, u64);

/// Most bytes a manifest, index or config may have.
pub const MAX_METADATA_BYTES: u64 = 16 << 20;

/// Read access to the blobs of an image, by path inside the layout.
pub trait BlobStore: Sync {
    /// Opens the blob at `name`, or `None` when there is no such blob.
    fn open(&self, name: &str) -> Result<Option<OpenBlob<'_>>, ScanError>;

    /// The file the store reads, for messages.
    fn origin(&self) -> &Path;

    /// What identifies the blob's bytes on this host without reading them,
    /// when the store reads them from a local file: that file's device,
    /// inode, size and modification and change times (a write changes the
    /// change time, which only root can set back), and where in it the
    /// blob is. `None` when there is no such file or no such blob.
    fn identity(&self, _name: &str) -> Option<String> {
        None
    }

    /// Reads the manifest or index with `digest` whole. A layout keeps
    /// manifests among its blobs; a registry serves them apart.
    fn read_manifest(&self, digest: &Digest) -> Result<Option<Vec<u8>>, ScanError> {
        self.read_small(&digest.blob_path())
    }

    /// Reads a small blob (manifest, index, config) whole.
    fn read_small(&self, name: &str) -> Result<Option<Vec<u8>>, ScanError> {
        let Some((reader, size)) = self.open(name)? else {
            return Ok(None);
        };
        if size > MAX_METADATA_BYTES {
            return Err(ScanError::malformed(
                name,
                format!(
                    "{size} bytes, larger than the {MAX_METADATA_BYTES}-byte limit for metadata"
                ),
            ));
        }
        let mut bytes = Vec::with_capacity(size as usize);
        reader
            .take(MAX_METADATA_BYTES)
            .read_to_end(&mut bytes)
            .map_err(|e| ScanError::malformed(name, e))?;
        Ok(Some(bytes))
    }
}

/// Blobs in a directory: an OCI image layout.
pub struct DirStore {
    root: PathBuf,
}

impl DirStore {
    /// A store over the layout directory `root`.
    pub fn new(root: &Path) -> Self {
        DirStore {
            root: root.to_path_buf(),
        }
    }
}

impl BlobStore for DirStore {
    fn open(&self, name: &str) -> Result<Option<OpenBlob<'_>>, ScanError> {
        let rel = normalize(name.as_bytes(), 4096)
            .map_err(|bad| ScanError::malformed(name, bad.reason()))?;
        let mut host = self.root.clone();
        let parts: Vec<&[u8]> = rel.split(|&b| b == b'/').collect();
        for (i, part) in parts.iter().enumerate() {
            host.push(std::ffi::OsStr::from_bytes(part));
            match std::fs::symlink_metadata(&host) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(ScanError::malformed(
                        name,
                        "is a symlink; blobs must be stored in the layout",
                    ));
                }
                Ok(meta) if i + 1 < parts.len() && !meta.is_dir() => return Ok(None),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(ScanError::io(host, e)),
            }
        }
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&host)
            .map_err(|e| ScanError::io(&host, e))?;
        let meta = file.metadata().map_err(|e| ScanError::io(&host, e))?;
        if !meta.is_file() {
            return Err(ScanError::malformed(name, "is not a regular file"));
        }
        Ok(Some((Box::new(file), meta.len())))
    }

    fn origin(&self) -> &Path {
        &self.root
    }

    fn identity(&self, name: &str) -> Option<String> {
        // Opening checks the path as a read would (no symlinks, a file).
        drop(self.open(name).ok()??);
        let rel = normalize(name.as_bytes(), 4096).ok()?;
        let host = self.root.join(std::ffi::OsStr::from_bytes(&rel));
        file_identity(&host).map(|id| format!("{id} whole"))
    }
}

/// Device, inode, size, mtime and ctime (nanoseconds) of the file at `path`.
fn file_identity(path: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::symlink_metadata(path).ok()?;
    m.is_file().then(|| {
        format!(
            "{}:{}:{}:{}.{}:{}.{}",
            m.dev(),
            m.ino(),
            m.size(),
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec()
        )
    })
}

/// Blobs inside an uncompressed tar file, read in place by offset.
pub struct TarStore {
    path: PathBuf,
    members: HashMap<Vec<u8>, (u64, u64)>,
}

impl TarStore {
    /// Indexes the members of the tar file at `path` (headers only; content
    /// is skipped by seeking).
    pub fn index(path: &Path, max_name: usize) -> Result<Self, ScanError> {
        let file = File::open(path).map_err(|e| ScanError::io(path, e))?;
        let mut archive = tar::Archive::new(file);
        let mut members = HashMap::new();
        let entries = archive
            .entries_with_seek()
            .map_err(|e| ScanError::io(path, e))?;
        walk_entries(entries, max_name, |item, _| {
            if item.kind == Ok(FileKind::File)
                && let Ok(name) = normalize(&item.name, max_name)
            {
                members.insert(name, (item.data_offset, item.size));
            }
            Ok(())
        })
        .map_err(|e| {
            ScanError::malformed(
                path.display().to_string(),
                format!("not a readable tar archive: {e}"),
            )
        })?;
        let len = std::fs::metadata(path)
            .map_err(|e| ScanError::io(path, e))?
            .len();
        if members
            .values()
            .any(|&(offset, size)| offset.saturating_add(size) > len)
        {
            return Err(ScanError::malformed(
                path.display().to_string(),
                "truncated: a member ends past the end of the file",
            ));
        }
        Ok(TarStore {
            path: path.to_path_buf(),
            members,
        })
    }

    /// Whether the archive holds a member called `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.members.contains_key(name.as_bytes())
    }
}

impl BlobStore for TarStore {
    fn open(&self, name: &str) -> Result<Option<OpenBlob<'_>>, ScanError> {
        let Ok(key) = normalize(name.as_bytes(), 4096) else {
            return Ok(None);
        };
        let Some(&(offset, size)) = self.members.get(&key) else {
            return Ok(None);
        };
        let mut file = File::open(&self.path).map_err(|e| ScanError::io(&self.path, e))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| ScanError::io(&self.path, e))?;
        Ok(Some((Box::new(file.take(size)), size)))
    }

    fn origin(&self) -> &Path {
        &self.path
    }

    fn identity(&self, name: &str) -> Option<String> {
        let key = normalize(name.as_bytes(), 4096).ok()?;
        let &(offset, size) = self.members.get(&key)?;
        file_identity(&self.path).map(|id| format!("{id} at {offset}+{size}"))
    }
}

/// Blobs held in memory: the small files of a compressed archive read in
/// one sequential pass.
pub struct MemoryStore {
    path: PathBuf,
    files: HashMap<String, Vec<u8>>,
}

impl MemoryStore {
    /// A store over `files`, read from the archive at `path`.
    pub fn new(path: &Path, files: HashMap<String, Vec<u8>>) -> Self {
        MemoryStore {
            path: path.to_path_buf(),
            files,
        }
    }
}

impl BlobStore for MemoryStore {
    fn open(&self, name: &str) -> Result<Option<OpenBlob<'_>>, ScanError> {
        let Ok(key) = normalize(name.as_bytes(), 4096) else {
            return Ok(None);
        };
        let key = String::from_utf8_lossy(&key);
        Ok(self.files.get(key.as_ref()).map(|bytes| {
            (
                Box::new(&bytes[..]) as Box<dyn Read + Send>,
                bytes.len() as u64,
            )
        }))
    }

    fn origin(&self) -> &Path {
        &self.path
    }
}
