//! Files the user names on the command line — the ignore file, rule files,
//! a registry CA, advisory sources — read the one safe way: only a regular
//! file (a FIFO would block the read for ever, `/dev/zero` never ends),
//! never more than a size cap, and any failure one error naming the file.
//!
//! The image is never read through here: this is the host side.

use std::fs::{File, Metadata, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The cap for a configuration file the user names (ignore file, one rule
/// file, a CA certificate): far above any real one, far below memory.
pub const MAX_USER_FILE_BYTES: u64 = 8 << 20;

/// Why a file the user named was not read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {what} `{}`: {reason}", path.display())]
pub struct InputError {
    /// What the file is for (`ignore file`, `rules file`, …).
    pub what: &'static str,
    /// The path as given.
    pub path: PathBuf,
    /// Why (lower-case): the I/O error, or the kind or size refused.
    pub reason: String,
}

impl InputError {
    fn new(what: &'static str, path: &Path, reason: impl ToString) -> Self {
        InputError {
            what,
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }
}

/// The metadata of `path` (symlinks followed) when it is a regular file,
/// or a directory if `dir_ok`; anything else is refused by name.
pub fn check_user_path(
    path: &Path,
    what: &'static str,
    dir_ok: bool,
) -> Result<Metadata, InputError> {
    let meta = std::fs::metadata(path).map_err(|e| InputError::new(what, path, e))?;
    if meta.is_file() || (dir_ok && meta.is_dir()) {
        return Ok(meta);
    }
    let wanted = if dir_ok {
        "neither a regular file nor a directory"
    } else {
        "not a regular file"
    };
    Err(InputError::new(
        what,
        path,
        format!("{wanted} (a {})", kind_name(&meta)),
    ))
}

/// Reads the regular file at `path`, refusing it when it holds more than
/// `cap` bytes (checked on the bytes read, not only on its size).
pub fn read_user_file(path: &Path, what: &'static str, cap: u64) -> Result<Vec<u8>, InputError> {
    let file = open_user_file(path, what)?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let too_large = || InputError::new(what, path, format!("larger than the limit of {cap} bytes"));
    if size > cap {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| InputError::new(what, path, e))?;
    if bytes.len() as u64 > cap {
        return Err(too_large());
    }
    Ok(bytes)
}

/// [`read_user_file`] as UTF-8 text.
pub fn read_user_text(path: &Path, what: &'static str, cap: u64) -> Result<String, InputError> {
    String::from_utf8(read_user_file(path, what, cap)?)
        .map_err(|_| InputError::new(what, path, "not UTF-8 text"))
}

/// Opens `path` for reading if it is a regular file (`None` if it is
/// anything else). Never blocks: a FIFO is refused by its metadata before
/// it is opened, and opened non-blocking in case it was swapped in since;
/// the opened file's own metadata decides.
pub fn open_if_regular(path: &Path) -> std::io::Result<Option<File>> {
    if !std::fs::metadata(path)?.is_file() {
        return Ok(None);
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    Ok(file.metadata()?.is_file().then_some(file))
}

/// Opens the regular file at `path` for reading. The open does not block
/// (a FIFO swapped in after the check would otherwise wait for a writer),
/// and the opened file itself is checked again.
pub fn open_user_file(path: &Path, what: &'static str) -> Result<File, InputError> {
    check_user_path(path, what, false)?;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| InputError::new(what, path, e))?;
    let meta = file
        .metadata()
        .map_err(|e| InputError::new(what, path, e))?;
    if !meta.is_file() {
        return Err(InputError::new(
            what,
            path,
            format!("not a regular file (a {})", kind_name(&meta)),
        ));
    }
    Ok(file)
}

fn kind_name(meta: &Metadata) -> &'static str {
    let kind = meta.file_type();
    if kind.is_dir() {
        "directory"
    } else if kind.is_fifo() {
        "FIFO"
    } else if kind.is_char_device() {
        "character device"
    } else if kind.is_block_device() {
        "block device"
    } else if kind.is_socket() {
        "socket"
    } else {
        "special file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_under_the_cap_only() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("small");
        std::fs::write(&small, b"0123456789").unwrap();
        assert_eq!(
            read_user_file(&small, "test file", 10).unwrap(),
            b"0123456789"
        );
        let err = read_user_file(&small, "test file", 9).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot read test file `{}`: larger than the limit of 9 bytes",
                small.display()
            )
        );
        let err = read_user_file(Path::new("/dev/zero"), "ignore file", 10).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot read ignore file `/dev/zero`: not a regular file (a character device)"
        );
        let err = read_user_file(dir.path(), "rules file", 10).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("not a regular file (a directory)")
        );
        assert!(check_user_path(dir.path(), "source", true).is_ok());
        let fifo = dir.path().join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let err = read_user_file(&fifo, "ignore file", 10).unwrap_err();
        assert!(err.to_string().ends_with("(a FIFO)"), "{err}");
        let err = check_user_path(&fifo, "source", true).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("neither a regular file nor a directory (a FIFO)"),
            "{err}"
        );
        let missing = read_user_file(&dir.path().join("none"), "ignore file", 10).unwrap_err();
        assert!(missing.to_string().contains("No such file"), "{missing}");
    }
}
