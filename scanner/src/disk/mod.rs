//! VM disk images (raw, qcow2, VHD, VHDX, VMDK, or the disks of an OVA)
//! read as one layer: the partitions of every disk are found (GPT, MBR, or
//! a bare filesystem), the ext2/3/4 volume that holds the OS
//! (`/etc/os-release`) is walked as the root, and the other ext volumes
//! are walked where the root's `/etc/fstab` mounts them (by `UUID=`,
//! `LABEL=`, `PARTUUID=` or their `/dev/disk/by-*` links). A volume that is
//! not read (another filesystem, LVM, encryption, contents not recognised,
//! or an ext volume fstab does not mount) is listed in `unknowns[]` with
//! what it holds; a blank one is not. When no volume holds an OS and one
//! was left unread, the scan is refused rather than passed half-blind.

pub mod device;
pub mod ext;
pub mod ova;
pub mod partitions;
pub mod qcow2;
pub mod vhd;
pub mod vhdx;
pub mod vmdk;

use crate::layer::LayerBuilder;
use ext::ExtFs;
use partitions::{Contents, Partition, contents, partitions};
use std::path::Path;

/// Steps of name lookups a disk may cost (see [`ExtFs::walk`]): a few
/// seconds of work; a real system needs a fraction of it.
const LOOKUP_BUDGET: u64 = 30_000_000;

/// Most ext volumes opened on one disk (each holds its own reader).
const MAX_EXT_VOLUMES: usize = 16;

/// Most bytes of `/etc/fstab` read.
const MAX_FSTAB: u64 = 1 << 20;

/// A volume of one of the image's disks.
struct Volume {
    /// Which disk of the image (an OVA may hold several), and how many.
    disk: usize,
    disks: usize,
    partition: Partition,
}

impl Volume {
    /// How the report names it: `partition 2`, `disk 1 partition 2`.
    fn name(&self) -> String {
        let disk = format!("disk {}", self.disk + 1);
        match (self.partition.number, self.disks > 1) {
            (0, true) => disk,
            (0, false) => "the disk".to_string(),
            (n, true) => format!("{disk} partition {n}"),
            (n, false) => format!("partition {n}"),
        }
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
) -> Result<(), String> {
    builder.walk_volume();
    let disks = device::disk_count(path)?;
    let mut ext_volumes = Vec::new();
    let mut unloadable = Vec::new();
    let mut unread = Vec::new();
    for disk in 0..disks {
        let mut device = device::open(path, disk)?;
        let found = partitions(device.as_mut()).map_err(|e| {
            let on = if disks > 1 {
                format!(" of disk {}", disk + 1)
            } else {
                String::new()
            };
            format!("partition table{on}: {e}")
        })?;
        for partition in found {
            let volume = Volume {
                disk,
                disks,
                partition,
            };
            let start = volume.partition.start;
            let held =
                contents(device.as_mut(), start).map_err(|e| format!("{}: {e}", volume.name()))?;
            let what = match held {
                Contents::Ext if ext_volumes.len() >= MAX_EXT_VOLUMES => {
                    format!("ext filesystem past the first {MAX_EXT_VOLUMES}, not read")
                }
                Contents::Ext => {
                    let len = volume.partition.len;
                    match ExtFs::load(device::open(path, disk)?, start, len) {
                        Ok(fs) => {
                            ext_volumes.push((volume, fs));
                            continue;
                        }
                        Err(e) => {
                            let reason = format!("ext filesystem that does not load ({e})");
                            unloadable.push(format!("{}: {reason}", volume.name()));
                            reason
                        }
                    }
                }
                Contents::Other(kind) => format!("{kind}, not read"),
                Contents::Unknown if volume.partition.number > 0 => {
                    "contents not recognised, not read".to_string()
                }
                Contents::Unknown | Contents::Blank => continue,
            };
            not_read(builder, &volume, &what);
            unread.push(format!("{} ({what})", volume.name()));
        }
    }
    let with_os = ext_volumes
        .iter()
        .position(|(_, fs)| fs.has("/etc/os-release") || fs.has("/usr/lib/os-release"));
    if with_os.is_none() && !unread.is_empty() && !allow_incomplete {
        return Err(format!(
            "no OS root found, and not read: {}; the scan would miss the system (--allow-incomplete accepts it)",
            unread.join("; ")
        ));
    }
    let root_at = with_os
        .or_else(|| (!ext_volumes.is_empty()).then_some(0))
        .ok_or_else(|| {
            if unloadable.is_empty() {
                "no ext2/3/4 filesystem found on the disk".to_string()
            } else {
                unloadable.join("; ")
            }
        })?;
    let (root_volume, root) = ext_volumes.remove(root_at);
    let mut budget = LOOKUP_BUDGET;
    root.walk(b"", &mut budget, builder)
        .map_err(|e| format!("{}: {e}", root_volume.name()))?;
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
                    .partition
                    .part_uuid
                    .as_ref()
                    .is_some_and(|p| p.eq_ignore_ascii_case(id)),
            };
            matches.then_some(dir)
        });
        match mount {
            Some(dir) => {
                if let Err(e) =
                    fs.walk(dir.trim_start_matches('/').as_bytes(), &mut budget, builder)
                {
                    not_read(builder, &volume, &format!("mounted at {dir}: {e}"));
                }
            }
            None => not_read(
                builder,
                &volume,
                &format!(
                    "ext filesystem (UUID {}) that /etc/fstab does not mount, not read",
                    fs.uuid()
                ),
            ),
        }
    }
    Ok(())
}

fn not_read(builder: &mut LayerBuilder<'_>, volume: &Volume, what: &str) {
    builder.unsupported(
        b"",
        &format!("{} ({} bytes): {what}", volume.name(), volume.partition.len),
    );
}

/// How fstab names a volume.
#[derive(Debug, PartialEq, Eq)]
enum Spec {
    Uuid(String),
    Label(String),
    PartUuid(String),
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
