//! Where results go, and the one way they are written. Standard output that
//! is closed or full is an error (exit 2), never a report silently lost;
//! `-o FILE` may not name a file the command reads; and every line for a
//! human passes through [`terminal_safe`], since much of what imgscan says
//! quotes the image.

use imgscan_sbom::terminal_safe;
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Writes `text` to standard output and flushes it; a write that fails
/// (a full disk, a closed descriptor) is an error. A pipe closed by its
/// reader (`imgscan … | head`) is the reader's choice, not a failure.
pub fn print(text: &str) -> anyhow::Result<()> {
    require_stdout()?;
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            anyhow::bail!("cannot write to standard output: {e}")
        }
        _ => Ok(()),
    }
}

/// Writes `text` to the `-o` file when there is one, else to standard
/// output (as [`print`]).
pub fn emit(file: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match file {
        Some(path) => std::fs::write(path, text)
            .map_err(|e| anyhow::anyhow!("cannot write `{}`: {e}", path.display())),
        None => print(text),
    }
}

/// Fails when standard output was closed (`>&-`). The Rust runtime puts
/// `/dev/null`, opened read-write, on a standard descriptor it finds closed
/// at start, so every write would vanish and the run would look fine; a
/// shell's `> /dev/null` opens it write-only, and is left alone.
pub fn require_stdout() -> anyhow::Result<()> {
    let closed = || anyhow::anyhow!("cannot write to standard output: it is closed");
    let fd = std::io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|_| closed())?;
    let is_null = std::fs::File::from(fd)
        .metadata()
        .ok()
        .zip(std::fs::metadata("/dev/null").ok())
        .is_some_and(|(out, null)| out.file_type().is_char_device() && out.rdev() == null.rdev());
    if is_null && opened_read_write(1) {
        return Err(closed());
    }
    Ok(())
}

/// Whether descriptor `fd` was opened read-write (Linux `/proc`; false
/// where it cannot be told).
fn opened_read_write(fd: u32) -> bool {
    const O_ACCMODE: u32 = 0o3;
    const O_RDWR: u32 = 0o2;
    std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}"))
        .ok()
        .and_then(|info| {
            let flags = info.lines().find_map(|l| l.strip_prefix("flags:"))?;
            u32::from_str_radix(flags.trim(), 8).ok()
        })
        .is_some_and(|flags| flags & O_ACCMODE == O_RDWR)
}

/// Writes one diagnostic line to standard error, escaped; a standard error
/// that cannot be written is ignored (there is nowhere left to say so).
pub fn note(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{}", terminal_safe(line));
}

/// Like [`note`], for text of several lines that imgscan did not take from
/// the image (YARA-X's diagnostics on the user's rules): each line escaped.
pub fn note_block(text: &str) {
    let escaped: Vec<_> = text.lines().map(terminal_safe).collect();
    let _ = writeln!(std::io::stderr().lock(), "{}", escaped.join("\n"));
}

/// Refuses an `-o` path that is one of `inputs` (compared by device and
/// inode, so `./x`, symlinks and hard links are caught) or lies inside one
/// that is a directory. Inputs that do not exist are passed over.
pub fn refuse_overwriting_inputs(
    output: &Path,
    inputs: &[(&'static str, PathBuf)],
) -> anyhow::Result<()> {
    let existing = std::fs::metadata(output).ok();
    // Where the output would be created: its directory, resolved.
    let resolved = match output.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => std::fs::canonicalize(parent).ok(),
        None => std::env::current_dir().ok(),
    }
    .map(|dir| match output.file_name() {
        Some(name) => dir.join(name),
        None => dir,
    });
    for (what, input) in inputs {
        let Ok(meta) = std::fs::metadata(input) else {
            continue;
        };
        let same = existing
            .as_ref()
            .is_some_and(|out| out.dev() == meta.dev() && out.ino() == meta.ino());
        let inside = meta.is_dir()
            && std::fs::canonicalize(input)
                .ok()
                .zip(resolved.as_ref())
                .is_some_and(|(dir, out)| out.starts_with(dir));
        if same || inside {
            anyhow::bail!(
                "refusing to write the report to `{}`: it is {} {what} `{}`",
                output.display(),
                if same { "the" } else { "inside the" },
                input.display()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_that_are_inputs_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db.sqlite");
        std::fs::write(&db, b"x").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&db, &link).unwrap();
        let hard = dir.path().join("hard");
        std::fs::hard_link(&db, &hard).unwrap();
        let rootfs = dir.path().join("rootfs");
        std::fs::create_dir_all(rootfs.join("etc")).unwrap();
        let inputs = [
            ("database", db.clone()),
            ("target", rootfs.clone()),
            ("ignore file", dir.path().join("absent")),
        ];
        for output in [
            db.clone(),
            link,
            hard,
            dir.path().join("rootfs/./../db.sqlite"),
            rootfs.join("report.json"),
            rootfs.join("etc/new"),
        ] {
            let err = refuse_overwriting_inputs(&output, &inputs).unwrap_err();
            assert!(err.to_string().starts_with("refusing"), "{output:?}: {err}");
        }
        for output in [dir.path().join("report.json"), dir.path().join("rootfs2")] {
            refuse_overwriting_inputs(&output, &inputs).unwrap();
        }
    }
}
