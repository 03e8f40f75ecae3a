//! Looking inside compressed files and archives found in an image: after a
//! file's own bytes are scanned, a gzip, xz or zstd stream is decompressed,
//! a zip (jar, war, apk) or tar archive is walked, in memory and streaming,
//! and a UPX-packed executable is unpacked (`upx/`); every file inside
//! is scanned with the same rules, down to a depth limit. The format comes
//! from the magic bytes, never the name.
//!
//! Everything one image file expands to, at every depth, is paid from one
//! budget ([`NestedLimits::budget`]): bounded by bytes and by the ratio to
//! the file's size, so neither a gzip bomb nor a zip of overlapping members
//! can take unbounded memory or time. A limit reached, a broken stream or an
//! unreadable member ends that part of the walk with a [`NestedError`] for
//! the report; what was read is still scanned, and the walk goes on
//! elsewhere. Member names are labels only: nothing is ever written out.

mod budget;
#[cfg(test)]
mod build;
mod format;
mod location;
mod tar;
mod unpack;
mod upx;
mod zip;

pub use location::{InnerPath, Step};
pub(crate) use unpack::scan_file;

use std::io::Read;

/// One archive member, as a walker hands it over.
enum Content<'m> {
    /// A regular file: its bytes.
    File(&'m mut dyn Read),
    /// A directory, link or device: nothing to scan.
    Other,
    /// A file that cannot be read, with why.
    Unreadable(String),
}

/// Why a walk ended early.
#[derive(Debug)]
enum Stop {
    /// The file's budget is spent (already recorded): stop everything.
    Spent,
    /// The archive's member limit was reached (already recorded).
    Full,
    /// The stream or archive is broken: why (not yet recorded).
    Broken(String),
}

/// What a walker calls for each member: its stored name and content.
type Visit<'v> = dyn FnMut(&[u8], Content<'_>) -> Result<(), Stop> + 'v;

/// The original of `data` when it is a UPX-packed ELF executable (the
/// memory image of a PE one), unpacked in memory within `limit` bytes, as
/// the walk does it (public for the fuzz target): an error when it is not
/// packed or not wholly restored.
pub fn unpack_upx(data: &[u8], limit: u64) -> Result<Vec<u8>, NestedError> {
    let budget = budget::ExpansionBudget::new(limit);
    let unpacked = upx::unpack(data, &budget).map_err(|f| f.into_error(limit))?;
    match unpacked.problem {
        Some(failure) => Err(failure.into_error(limit)),
        None => Ok(unpacked.bytes),
    }
}

/// Bounds on looking inside one image file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NestedLimits {
    /// Most steps inside (the `!` of a path); 0 turns nested scanning off.
    pub max_depth: usize,
    /// Most bytes one image file's compressed content and archive members
    /// may expand to, all depths together.
    pub max_bytes: u64,
    /// Most expanded bytes per byte of the image file, once past
    /// [`NestedLimits::ratio_floor_bytes`].
    pub max_ratio: u64,
    /// Expansion below this many bytes is never judged by ratio.
    pub ratio_floor_bytes: u64,
    /// Most members read from one archive.
    pub max_members: u64,
}

impl Default for NestedLimits {
    fn default() -> Self {
        NestedLimits {
            max_depth: 3,
            max_bytes: 512 << 20,
            max_ratio: 100,
            ratio_floor_bytes: 16 << 20,
            max_members: 100_000,
        }
    }
}

impl NestedLimits {
    /// No looking inside.
    pub fn off() -> Self {
        NestedLimits {
            max_depth: 0,
            ..NestedLimits::default()
        }
    }

    /// Most bytes an image file of `size` bytes may expand to.
    pub fn budget(&self, size: u64) -> u64 {
        size.saturating_mul(self.max_ratio)
            .max(self.ratio_floor_bytes)
            .min(self.max_bytes)
    }
}

/// Why content inside an image file was not (wholly) scanned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NestedError {
    /// A container deeper than the depth limit.
    #[error(
        "a {format} nested deeper than the limit of {limit}; not opened (raise --max-archive-depth)"
    )]
    TooDeep {
        /// The container's format.
        format: &'static str,
        /// The depth limit.
        limit: usize,
    },
    /// The file's expansion budget ran out here.
    #[error(
        "expands past the limit of {limit} bytes for one file's compressed content (a decompression bomb, or raise --max-file-size / --max-archive-ratio); scanned what was read, the rest was not"
    )]
    Expansion {
        /// The budget in bytes.
        limit: u64,
    },
    /// An archive with more members than the limit.
    #[error(
        "{format} holds more than {limit} members; the rest were not scanned (raise --max-archive-members)"
    )]
    TooManyMembers {
        /// The archive's format.
        format: &'static str,
        /// The member limit.
        limit: u64,
    },
    /// A truncated or corrupt stream or archive.
    #[error("broken {format}: {reason}; scanned what was read")]
    Broken {
        /// The container's format.
        format: &'static str,
        /// What is wrong, as the decoder says.
        reason: String,
    },
    /// A member that cannot be read (encrypted, an unsupported method).
    #[error("{reason}; not read")]
    Unreadable {
        /// Why.
        reason: String,
    },
    /// Problems in one image file past those listed.
    #[error(
        "{count} more places inside not wholly looked into (only the first {listed} are listed)"
    )]
    Unlisted {
        /// How many were not listed.
        count: u64,
        /// How many were.
        listed: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_is_ratio_bounded_between_floor_and_cap() {
        let limits = NestedLimits {
            max_bytes: 1000,
            max_ratio: 10,
            ratio_floor_bytes: 100,
            ..NestedLimits::default()
        };
        assert_eq!(limits.budget(1), 100);
        assert_eq!(limits.budget(50), 500);
        assert_eq!(limits.budget(u64::MAX), 1000);
    }
}
