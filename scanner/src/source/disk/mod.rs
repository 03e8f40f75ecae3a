//! VM disk images (raw, qcow2, VHD, VHDX, VMDK, or the disks of an OVA)
//! read as one layer: the partitions of every disk are found (GPT, MBR, or
//! a bare filesystem), the ext2/3/4 or XFS volume that holds the OS
//! (`/etc/os-release`) is walked as the root, and the other such volumes
//! are walked where the root's `/etc/fstab` mounts them (by `UUID=`,
//! `LABEL=`, `PARTUUID=` or their `/dev/disk/by-*` links). A volume that is
//! not read (another filesystem, LVM, encryption, contents not recognised,
//! or an ext volume fstab does not mount) is listed in `unknowns[]` with
//! what it holds; a blank one is not. When no volume holds an OS and one
//! was left unread, the scan is refused rather than passed half-blind.

pub mod block_map;
pub mod device;
mod error;
pub mod ext;
pub mod image;
mod inflated;
pub mod inode_tree;
pub mod lvm;
pub mod ova;
pub mod partitions;
pub mod qcow2;
pub mod vhd;
pub mod vhdx;
pub mod vmdk;
pub mod xfs;
mod xfs_log;

pub use error::DiskError;

use crate::layer::LayerBuilder;
use device::{BoxedDevice, Device, SharedVolume};
use ext::ExtFs;
use lvm::{LogicalVolume, PhysicalVolume, PlacedVolume};
use partitions::{Contents, LVM_PV, Partition, contents, partitions};
use std::path::Path;
use xfs::XfsFs;

/// Handles opened on a filesystem's volume: one for the thread listing
/// it and one for each reader thread.
fn handles() -> usize {
    1 + inode_tree::reader_threads()
}

/// Most ext volumes opened on one disk (each holds its own reader).
const MAX_EXT_VOLUMES: usize = 16;

/// Most bytes of `/etc/fstab` read.
const MAX_FSTAB: u64 = 1 << 20;

/// A volume of the image: a partition of one of its disks, or a logical
/// volume of an LVM group.
struct Volume {
    /// How the report names it: `partition 2`, `disk 1 partition 2`,
    /// `logical volume vg/root`.
    name: String,
    /// Its bytes.
    len: u64,
    /// What fstab's `PARTUUID=` names it by.
    part_uuid: Option<String>,
    /// Device paths fstab may name it by (`/dev/mapper/vg-root`).
    devices: Vec<String>,
    /// A whole disk without a partition table: unrecognised contents there
    /// are not worth naming (a partition's are).
    whole_disk: bool,
}

impl Volume {
    fn partition(partition: &Partition, disk: usize, disks: usize) -> Self {
        let on = format!("disk {}", disk + 1);
        let name = match (partition.number, disks > 1) {
            (0, true) => on,
            (0, false) => "the disk".to_string(),
            (n, true) => format!("{on} partition {n}"),
            (n, false) => format!("partition {n}"),
        };
        Volume {
            name,
            len: partition.len,
            part_uuid: partition.part_uuid.clone(),
            devices: Vec::new(),
            whole_disk: partition.number == 0,
        }
    }

    fn logical(name: &str, len: u64) -> Self {
        Volume {
            name: format!("logical volume {name}"),
            len,
            part_uuid: None,
            devices: lvm::device_names(name),
            whole_disk: false,
        }
    }
}

/// A filesystem the disk reader walks.
enum Filesystem {
    Ext(ExtFs),
    Xfs(XfsFs),
}

impl Filesystem {
    fn name(&self) -> &'static str {
        match self {
            Filesystem::Ext(_) => "ext",
            Filesystem::Xfs(_) => "XFS",
        }
    }

    fn uuid(&self) -> String {
        match self {
            Filesystem::Ext(fs) => fs.uuid(),
            Filesystem::Xfs(fs) => fs.uuid(),
        }
    }

    fn label(&self) -> String {
        match self {
            Filesystem::Ext(fs) => fs.label(),
            Filesystem::Xfs(fs) => fs.label(),
        }
    }

    fn has(&self, path: &str) -> bool {
        match self {
            Filesystem::Ext(fs) => inode_tree::has(fs, path),
            Filesystem::Xfs(fs) => inode_tree::has(fs, path),
        }
    }

    fn read_small(&self, path: &str, limit: u64) -> Option<Vec<u8>> {
        match self {
            Filesystem::Ext(fs) => inode_tree::read_small(fs, path, limit),
            Filesystem::Xfs(fs) => inode_tree::read_small(fs, path, limit),
        }
    }

    /// Walks the filesystem into `builder` below `mount`.
    fn walk(&self, mount: &[u8], builder: &mut LayerBuilder<'_>) -> Result<(), DiskError> {
        match self {
            Filesystem::Ext(fs) => inode_tree::walk(fs, mount, builder),
            Filesystem::Xfs(fs) => {
                if let Some(warning) = fs.log_warning() {
                    builder.unread(0, mount, warning);
                }
                inode_tree::walk(fs, mount, builder)
            }
        }
    }
}

/// An LVM physical volume found on a partition.
struct FoundPv {
    disk: usize,
    start: u64,
    len: u64,
    pv: PhysicalVolume,
    volume: Volume,
}

/// What the volumes of an image are being sorted into.
#[derive(Default)]
struct Survey {
    ext: Vec<(Volume, Filesystem)>,
    unloadable: Vec<String>,
    unread: Vec<String>,
}

impl Survey {
    /// Files `device` (the bytes of `volume`, from `start`) by what it
    /// holds; `reopen` gives another handle on the same bytes (a
    /// filesystem gets one for each thread that reads it). Returns the
    /// volume back when it is an LVM physical volume.
    fn sort(
        &mut self,
        builder: &mut LayerBuilder<'_>,
        volume: Volume,
        device: &mut dyn Device,
        start: u64,
        mut reopen: impl FnMut() -> Result<BoxedDevice, DiskError>,
    ) -> Result<Option<Volume>, DiskError> {
        let held = contents(device, start).map_err(|e| DiskError::Volume {
            volume: volume.name.clone(),
            cause: Box::new(e.into()),
        })?;
        let what = match held {
            Contents::Ext | Contents::Xfs if self.ext.len() >= MAX_EXT_VOLUMES => {
                format!("filesystem past the first {MAX_EXT_VOLUMES}, not read")
            }
            Contents::Ext | Contents::Xfs => {
                // The handles share the image's caches where it can.
                let first = reopen()?;
                let mut more = Vec::new();
                for _ in 1..handles() {
                    more.push(match first.another_handle() {
                        Some(handle) => handle?,
                        None => reopen()?,
                    });
                }
                let mut shared = SharedVolume::new(first, start, volume.len);
                for handle in more {
                    shared.add_handle(handle);
                }
                let loaded = if held == Contents::Ext {
                    ExtFs::load(shared).map(Filesystem::Ext)
                } else {
                    XfsFs::load(shared).map(Filesystem::Xfs)
                };
                match loaded {
                    Ok(fs) => {
                        self.ext.push((volume, fs));
                        return Ok(None);
                    }
                    Err(e) => {
                        let reason = format!("{} filesystem that does not load ({e})", held.name());
                        self.unloadable.push(format!("{}: {reason}", volume.name));
                        reason
                    }
                }
            }
            Contents::Other(LVM_PV) => return Ok(Some(volume)),
            Contents::Other(kind) => format!("{kind}, not read"),
            Contents::Unknown if !volume.whole_disk => {
                "contents not recognised, not read".to_string()
            }
            Contents::Unknown | Contents::Blank => return Ok(None),
        };
        self.unread(builder, &volume, &what);
        Ok(None)
    }

    fn unread(&mut self, builder: &mut LayerBuilder<'_>, volume: &Volume, what: &str) {
        not_read(builder, volume, what);
        self.unread.push(format!("{} ({what})", volume.name));
    }
}

/// Indexes the disk image at `path` into `builder` as one layer. Errors
/// are about the image as a whole (unreadable, unsupported format, no
/// readable filesystem; no OS root found while a volume was left unread,
/// unless `allow_incomplete`); trouble inside a volume is an unknown.
pub fn index_disk(
    path: &Path,
    builder: &mut LayerBuilder<'_>,
    allow_incomplete: bool,
) -> Result<(), DiskError> {
    builder.walk_volume();
    let disks = image::disk_count(path)?;
    let mut survey = Survey::default();
    let mut pvs = Vec::new();
    for disk in 0..disks {
        let mut device = image::open(path, disk)?;
        let found = partitions(device.as_mut()).map_err(|cause| DiskError::PartitionTable {
            disk: (disks > 1).then_some(disk + 1),
            cause,
        })?;
        for partition in found {
            let volume = Volume::partition(&partition, disk, disks);
            let reopen = || image::open(path, disk);
            let start = partition.start;
            if let Some(volume) = survey.sort(builder, volume, device.as_mut(), start, reopen)? {
                match lvm::read_physical_volume(device.as_mut(), start) {
                    Ok(pv) => pvs.push(FoundPv {
                        disk,
                        start,
                        len: partition.len,
                        pv,
                        volume,
                    }),
                    Err(e) => survey.unread(builder, &volume, &format!("LVM physical volume: {e}")),
                }
            }
        }
    }
    read_volume_groups(path, &pvs, &mut survey, builder);
    let Survey {
        ext: mut ext_volumes,
        unloadable,
        unread,
    } = survey;
    let with_os = ext_volumes
        .iter()
        .position(|(_, fs)| fs.has("/etc/os-release") || fs.has("/usr/lib/os-release"));
    if with_os.is_none() && !unread.is_empty() && !allow_incomplete {
        return Err(DiskError::NoOsRoot { unread });
    }
    let root_at = match with_os.or_else(|| (!ext_volumes.is_empty()).then_some(0)) {
        Some(at) => at,
        None if unloadable.is_empty() => return Err(DiskError::NoFilesystem),
        None => return Err(DiskError::Unloadable(unloadable)),
    };
    let (root_volume, root) = ext_volumes.remove(root_at);
    root.walk(b"", builder).map_err(|cause| DiskError::Volume {
        volume: root_volume.name,
        cause: Box::new(cause),
    })?;
    let mounts = root
        .read_small("/etc/fstab", MAX_FSTAB)
        .map(|bytes| fstab_mounts(&String::from_utf8_lossy(&bytes)))
        .unwrap_or_default();
    for (volume, fs) in ext_volumes {
        let mount = mounts.iter().find_map(|(spec, dir)| {
            let matches = match spec {
                Spec::Uuid(uuid) => uuid.eq_ignore_ascii_case(&fs.uuid()),
                Spec::Label(label) => *label == fs.label(),
                Spec::PartUuid(id) => volume
                    .part_uuid
                    .as_ref()
                    .is_some_and(|p| p.eq_ignore_ascii_case(id)),
                Spec::Device(path) => volume.devices.contains(path),
            };
            matches.then_some(dir)
        });
        match mount {
            Some(dir) => {
                if let Err(e) = fs.walk(dir.trim_start_matches('/').as_bytes(), builder) {
                    not_read(builder, &volume, &format!("mounted at {dir}: {e}"));
                }
            }
            None => not_read(
                builder,
                &volume,
                &format!(
                    "{} filesystem (UUID {}) that /etc/fstab does not mount, not read",
                    fs.name(),
                    fs.uuid()
                ),
            ),
        }
    }
    Ok(())
}

/// The logical volumes of every LVM group whose physical volumes were
/// found, each sorted like a partition; a group's newest metadata (highest
/// `seqno`) wins over older copies on its other volumes.
fn read_volume_groups(
    path: &Path,
    pvs: &[FoundPv],
    survey: &mut Survey,
    builder: &mut LayerBuilder<'_>,
) {
    let mut groups: Vec<(String, u64, &str)> = Vec::new();
    for found in pvs {
        let Some(text) = &found.pv.metadata else {
            survey.unread(
                builder,
                &found.volume,
                "LVM physical volume without metadata, not read",
            );
            continue;
        };
        let (group, seqno) = lvm::group_of(text);
        match groups.iter_mut().find(|(g, _, _)| *g == group) {
            Some(known) if known.1 >= seqno => {}
            Some(known) => *known = (group, seqno, text),
            None => groups.push((group, seqno, text)),
        }
    }
    for (group, _, text) in groups {
        let mut open = |uuid: &str| {
            let found = pvs.iter().find(|f| f.pv.uuid == uuid)?;
            Some(PlacedVolume {
                uuid: uuid.to_string(),
                disk: image::open(path, found.disk).ok()?,
                start: found.start,
                len: found.len,
            })
        };
        let lvs = match lvm::logical_volumes(text, &mut open) {
            Ok(lvs) => lvs,
            Err(e) => {
                let volume = Volume::logical(&format!("{group}/*"), 0);
                survey.unread(builder, &volume, &format!("LVM metadata: {e}"));
                continue;
            }
        };
        for lv in lvs {
            match lv {
                LogicalVolume::Mapped { name, mut device } => {
                    let volume = Volume::logical(&name, device.size());
                    // The metadata parsed once and parses the same again.
                    let reopen = || {
                        lvm::logical_volumes(text, &mut open)
                            .ok()
                            .into_iter()
                            .flatten()
                            .find_map(|lv| match lv {
                                LogicalVolume::Mapped { name: n, device } if n == name => {
                                    Some(device)
                                }
                                _ => None,
                            })
                            .ok_or_else(|| DiskError::LogicalVolumeGone(name.clone()))
                    };
                    let _ = survey
                        .sort(builder, volume, device.as_mut(), 0, reopen)
                        .map_err(|e| not_read(builder, &Volume::logical(&name, 0), &e.to_string()));
                }
                LogicalVolume::Unread { name, reason } => {
                    survey.unread(builder, &Volume::logical(&name, 0), &reason);
                }
            }
        }
    }
}

fn not_read(builder: &mut LayerBuilder<'_>, volume: &Volume, what: &str) {
    builder.unsupported(
        b"",
        &format!("{} ({} bytes): {what}", volume.name, volume.len),
    );
}

/// How fstab names a volume.
#[derive(Debug, PartialEq, Eq)]
enum Spec {
    Uuid(String),
    Label(String),
    PartUuid(String),
    /// A logical volume's device path (`/dev/mapper/vg-root`, `/dev/vg/root`).
    Device(String),
}

/// The `(volume, mount point)` pairs of an fstab that name volumes by
/// UUID or label and mount them below `/` (not `/`, not swap).
fn fstab_mounts(fstab: &str) -> Vec<(Spec, String)> {
    fstab
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let spec = fields.next().filter(|s| !s.starts_with('#'))?;
            let dir = fields.next()?;
            if !dir.starts_with('/') || dir == "/" || dir.split('/').any(|c| c == "..") {
                return None;
            }
            let named = |prefixes: [&str; 2]| {
                prefixes
                    .iter()
                    .find_map(|p| spec.strip_prefix(p))
                    .map(|v| v.trim_matches('"').to_string())
            };
            let spec = if let Some(uuid) = named(["UUID=", "/dev/disk/by-uuid/"]) {
                Spec::Uuid(uuid)
            } else if let Some(label) = named(["LABEL=", "/dev/disk/by-label/"]) {
                Spec::Label(label)
            } else if let Some(id) = named(["PARTUUID=", "/dev/disk/by-partuuid/"]) {
                Spec::PartUuid(id)
            } else if spec.starts_with("/dev/mapper/")
                || spec
                    .strip_prefix("/dev/")
                    .is_some_and(|rest| rest.matches('/').count() == 1)
            {
                Spec::Device(spec.to_string())
            } else {
                return None;
            };
            Some((spec, dir.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fstab_volumes_below_the_root() {
        let fstab = "# comment\nUUID=abc-1 / ext4 defaults 0 1\nUUID=\"DEF-2\" /boot ext4 defaults 0 2\nLABEL=data /srv/data ext4 defaults 0 2\n/dev/sda3 /var ext4 defaults 0 2\nUUID=x none swap sw 0 0\nUUID=y /../../etc ext4 defaults 0 0\nPARTUUID=0a0b0c0d-03 /srv/a ext4 defaults 0 2\n/dev/disk/by-uuid/u1 /srv/b ext4 defaults 0 2\n/dev/disk/by-label/l1 /srv/c ext4 defaults 0 2\n";
        assert_eq!(
            fstab_mounts(fstab),
            [
                (Spec::Uuid("DEF-2".into()), "/boot".to_string()),
                (Spec::Label("data".into()), "/srv/data".to_string()),
                (Spec::PartUuid("0a0b0c0d-03".into()), "/srv/a".to_string()),
                (Spec::Uuid("u1".into()), "/srv/b".to_string()),
                (Spec::Label("l1".into()), "/srv/c".to_string()),
            ]
        );
    }
}
