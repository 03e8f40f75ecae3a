//! Walking a tar archive inside an image file, from memory or from a
//! decompressed stream. The `tar` crate applies GNU long names and PAX
//! records; their size is bounded by the bytes at hand (a slice, or a stream
//! paid from the file's budget). Sparse members are not expanded, and a
//! member cut short is an error, not a short file.

use super::{Content, Stop, Visit};
use std::io::{self, Read};
use tar::EntryType;

/// Calls `visit` for every member of the tar archive `reader` holds.
pub(super) fn walk(reader: &mut dyn Read, visit: &mut Visit<'_>) -> Result<(), Stop> {
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().map_err(broken)?;
    for entry in entries {
        let mut entry = entry.map_err(broken)?;
        let name = entry.path_bytes().into_owned();
        let size = entry.size();
        match entry.header().entry_type() {
            EntryType::Regular | EntryType::Continuous => {
                let mut exact = Exact {
                    inner: &mut entry,
                    remaining: size,
                };
                visit(&name, Content::File(&mut exact))?;
            }
            EntryType::GNUSparse => {
                visit(&name, Content::Unreadable("sparse tar member".to_string()))?
            }
            _ => visit(&name, Content::Other)?,
        }
    }
    Ok(())
}

fn broken(err: io::Error) -> Stop {
    Stop::Broken(err.to_string())
}

/// A member's content, which must run to its declared size.
struct Exact<R> {
    inner: R,
    remaining: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.remaining > 0 && !buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("member content ends {} bytes short", self.remaining),
            ));
        }
        self.remaining = self.remaining.saturating_sub(n as u64);
        Ok(n)
    }
}
