//! Configurable bounds that keep a hostile image from taking unbounded time,
//! memory or disk: how far a layer may expand, how large a file may be read
//! into memory, how many entries a layer may hold, how long a name may be,
//! and how far the rule scan looks inside compressed files and archives.

use imgscan_signatures::NestedLimits;

/// Bounds applied while reading a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most uncompressed bytes one layer may expand to.
    pub max_layer_bytes: u64,
    /// Most uncompressed bytes all the layers of an image may expand to
    /// together.
    pub max_image_bytes: u64,
    /// Most uncompressed bytes per compressed byte, once a layer has
    /// expanded past [`Limits::ratio_floor_bytes`].
    pub max_expansion_ratio: u64,
    /// Expansion below this many bytes is never judged by ratio.
    pub ratio_floor_bytes: u64,
    /// Largest file whose content is read into memory for a cataloger or a
    /// rule; larger files are indexed but not read.
    pub max_file_bytes: u64,
    /// Most bytes of files kept for catalogers, OS detection and checks
    /// over the whole image (each file also within its reader's limit).
    pub max_captured_bytes: u64,
    /// Most entries one layer may hold.
    pub max_entries: u64,
    /// Longest entry or link name, in bytes.
    pub max_name_bytes: usize,
    /// Most steps the rule scan takes inside compressed files and archives
    /// (the `!` of a path); 0 turns looking inside off.
    pub max_archive_depth: usize,
    /// Most bytes one file's compressed content and archive members may
    /// expand to per byte of the file, past the first 16 MiB; all of it is
    /// bounded by [`Limits::max_file_bytes`] too.
    pub max_archive_ratio: u64,
    /// Most members read from one archive inside the image.
    pub max_archive_members: u64,
}

impl Default for Limits {
    fn default() -> Self {
        let nested = NestedLimits::default();
        Limits {
            max_layer_bytes: 32 << 30,
            max_image_bytes: 64 << 30,
            max_expansion_ratio: 200,
            ratio_floor_bytes: 256 << 20,
            max_file_bytes: 512 << 20,
            max_captured_bytes: 2 << 30,
            max_entries: 4_000_000,
            max_name_bytes: 64 << 10,
            max_archive_depth: nested.max_depth,
            max_archive_ratio: nested.max_ratio,
            max_archive_members: nested.max_members,
        }
    }
}

impl Limits {
    /// Most uncompressed bytes a layer of `compressed` bytes may expand to.
    pub fn layer_budget(&self, compressed: u64) -> u64 {
        let by_ratio = compressed
            .saturating_mul(self.max_expansion_ratio)
            .max(self.ratio_floor_bytes);
        by_ratio.min(self.max_layer_bytes)
    }

    /// Most uncompressed bytes all the layers of an image, `compressed`
    /// bytes as stored, may expand to together: the ratio applies to the
    /// whole image, and its floor once per image, not once per layer.
    pub fn image_budget(&self, compressed: u64) -> u64 {
        let by_ratio = compressed
            .saturating_mul(self.max_expansion_ratio)
            .max(self.ratio_floor_bytes.saturating_mul(4));
        by_ratio.min(self.max_image_bytes)
    }

    /// How far the rule scan looks inside compressed files and archives.
    pub fn nested(&self) -> NestedLimits {
        NestedLimits {
            max_depth: self.max_archive_depth,
            max_bytes: self.max_file_bytes,
            max_ratio: self.max_archive_ratio,
            max_members: self.max_archive_members,
            ..NestedLimits::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_is_ratio_bounded_above_the_floor() {
        let limits = Limits {
            max_layer_bytes: 1 << 40,
            max_expansion_ratio: 10,
            ratio_floor_bytes: 100,
            ..Limits::default()
        };
        assert_eq!(limits.layer_budget(1), 100);
        assert_eq!(limits.layer_budget(1000), 10_000);
        assert_eq!(limits.layer_budget(u64::MAX), 1 << 40);
        assert_eq!(limits.image_budget(1), 400);
        assert_eq!(limits.image_budget(1000), 10_000);
        assert_eq!(limits.image_budget(u64::MAX), 64 << 30);
    }
}
