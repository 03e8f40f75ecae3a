//! Why a disk image could not be read. Trouble inside one volume is an
//! unknown, not an error; these stop the scan, and each says which part of
//! the image (its file, a container's structures, a disk of an OVA, the
//! partition table, a volume) is at fault.

use super::device::Format;
use super::partitions::Contents;
use std::io;

/// Why a disk image, or a disk or filesystem in it, could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    /// The image file could not be opened.
    #[error("cannot open: {0}")]
    Open(#[source] io::Error),
    /// The image file's size could not be read.
    #[error("cannot stat: {0}")]
    Stat(#[source] io::Error),
    /// A read of the image failed.
    #[error("{0}")]
    Read(#[from] io::Error),
    /// A container (qcow2, VHD, VHDX, VMDK, OVA) whose structures do not
    /// hold together, or that uses a feature that is not read (a backing
    /// or parent file, encryption, an unapplied log).
    #[error("{reason}")]
    Image {
        /// The container format.
        format: Format,
        /// What is wrong, naming the format and the structure.
        reason: String,
    },
    /// A qcow2 image, VMDK descriptor or OVA found inside another image.
    #[error("a qcow2 image, VMDK descriptor or OVA inside another image is not read")]
    Nested,
    /// A disk of an OVA that could not be opened.
    #[error("`{member}` in the OVA: {cause}")]
    OvaDisk {
        /// The disk's member name in the OVA.
        member: String,
        /// Why it could not be opened.
        #[source]
        cause: Box<DiskError>,
    },
    /// The partition table of a disk could not be read.
    #[error("partition table{}: {cause}", of_disk(*.disk))]
    PartitionTable {
        /// The 1-based disk number, when the image holds several.
        disk: Option<usize>,
        /// The read error.
        #[source]
        cause: io::Error,
    },
    /// A filesystem (ext, XFS) whose metadata does not hold together.
    #[error("{reason}")]
    Filesystem {
        /// [`Contents::Ext`] or [`Contents::Xfs`].
        kind: Contents,
        /// What is wrong.
        reason: String,
    },
    /// A volume that could not be examined or walked.
    #[error("{volume}: {cause}")]
    Volume {
        /// The volume as the report names it (`partition 2`, `logical
        /// volume vg/root`).
        volume: String,
        /// What went wrong.
        #[source]
        cause: Box<DiskError>,
    },
    /// A logical volume that could not be opened a second time.
    #[error("logical volume {0} is gone")]
    LogicalVolumeGone(
        /// The volume's name.
        String,
    ),
    /// No volume holds an OS, and some were left unread.
    #[error(
        "no OS root found, and not read: {}; the scan would miss the system (--allow-incomplete accepts it)",
        .unread.join("; ")
    )]
    NoOsRoot {
        /// The volumes not read, each with why.
        unread: Vec<String>,
    },
    /// No ext or XFS filesystem on any disk.
    #[error("no ext2/3/4 or XFS filesystem found on the disk")]
    NoFilesystem,
    /// Filesystems were found but none loaded.
    #[error("{}", .0.join("; "))]
    Unloadable(
        /// Each volume with why its filesystem did not load.
        Vec<String>,
    ),
}

fn of_disk(disk: Option<usize>) -> String {
    disk.map(|d| format!(" of disk {d}")).unwrap_or_default()
}

impl Format {
    /// An [`DiskError::Image`] of this format.
    pub(crate) fn error(self, reason: impl Into<String>) -> DiskError {
        DiskError::Image {
            format: self,
            reason: reason.into(),
        }
    }
}

impl Contents {
    /// A [`DiskError::Filesystem`] of this kind.
    pub(crate) fn error(self, reason: impl Into<String>) -> DiskError {
        DiskError::Filesystem {
            kind: self,
            reason: reason.into(),
        }
    }
}
