//! One entry found by walking a filesystem (a rootfs directory, an ext
//! volume of a disk) added to a layer: a link's target is read, a regular
//! file's content opened and streamed, nothing else is opened; what cannot
//! be read is an unknown and the walk goes on.

use crate::layer::{LayerBuilder, RawEntry};
use imgscan_sbom::FileKind;
use std::io::{self, Read};

/// Adds `entry` (its `link` still unset) to `builder`, calling `read_link`
/// for a symlink and `open` for a regular file only. Returns whether it is
/// a directory to descend.
pub fn add_walked<R: Read>(
    builder: &mut LayerBuilder<'_>,
    entry: RawEntry<'_>,
    read_link: impl FnOnce() -> io::Result<Vec<u8>>,
    open: impl FnOnce() -> io::Result<R>,
) -> bool {
    let link = if entry.kind == FileKind::Symlink {
        match read_link() {
            Ok(target) => Some(target),
            Err(err) => {
                builder.unreadable(entry.name, format!("cannot read link: {err}"));
                return false;
            }
        }
    } else {
        None
    };
    let raw = RawEntry {
        link: link.as_deref(),
        ..entry
    };
    if entry.kind != FileKind::File {
        // Only regular files carry content, so adding cannot fail here.
        let _ = builder.add(raw, None);
        return entry.kind == FileKind::Dir;
    }
    let result = open().and_then(|mut file| builder.add(raw, Some(&mut file)));
    if let Err(err) = result {
        builder.unreadable(entry.name, format!("cannot read: {err}"));
    }
    false
}
