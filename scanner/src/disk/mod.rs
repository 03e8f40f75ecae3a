//! VM disk images (raw or qcow2) read as one layer: the partitions are
//! found (GPT, MBR, or a bare filesystem), the ext2/3/4 volume that holds
//! the OS (`/etc/os-release`) is walked as the root, and the other ext
//! volumes are walked where the root's `/etc/fstab` mounts them (by
//! `UUID=`, `LABEL=`, `PARTUUID=` or their `/dev/disk/by-*` links). A
//! volume that is not read (another filesystem, LVM, encryption, contents
//! not recognised, or an ext volume fstab does not mount) is listed in
//! `unknowns[]` with what it holds; a blank one is not.

pub mod device;
pub mod ext;
pub mod partitions;
pub mod qcow2;

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

/// Indexes the disk image at `path` into `builder` as one layer. Errors
/// are about the disk as a whole (unreadable, unsupported format, no
/// readable filesystem); trouble inside a volume is an unknown.
pub fn index_disk(path: &Path, builder: &mut LayerBuilder<'_>) -> Result<(), String> {
    builder.walk_volume();
    let mut disk = device::open(path)?;
    let volumes = partitions(disk.as_mut()).map_err(|e| format!("partition table: {e}"))?;
    let mut ext_volumes = Vec::new();
    let mut unloadable = Vec::new();
    for volume in volumes {
        let held =
            contents(disk.as_mut(), volume.start).map_err(|e| format!("{}: {e}", name(&volume)))?;
        match held {
            Contents::Ext if ext_volumes.len() >= MAX_EXT_VOLUMES => not_read(
                builder,
                &volume,
                &format!("ext filesystem past the first {MAX_EXT_VOLUMES}, not read"),
            ),
            Contents::Ext => match ExtFs::load(device::open(path)?, volume.start, volume.len) {
                Ok(fs) => ext_volumes.push((volume, fs)),
                Err(e) => {
                    let reason = format!("ext filesystem that does not load ({e})");
                    not_read(builder, &volume, &reason);
                    unloadable.push(format!("{}: {reason}", name(&volume)));
                }
            },
            Contents::Other(kind) => not_read(builder, &volume, &format!("{kind}, not read")),
            Contents::Unknown if volume.number > 0 => {
                not_read(builder, &volume, "contents not recognised, not read")
            }
            Contents::Unknown | Contents::Blank => {}
        }
    }
    let root_at = ext_volumes
        .iter()
        .position(|(_, fs)| fs.has("/etc/os-release") || fs.has("/usr/lib/os-release"))
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
        .map_err(|e| format!("{}: {e}", name(&root_volume)))?;
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

fn name(volume: &Partition) -> String {
    if volume.number == 0 {
        "the disk".to_string()
    } else {
        format!("partition {}", volume.number)
    }
}

fn not_read(builder: &mut LayerBuilder<'_>, volume: &Partition, what: &str) {
    builder.unsupported(
        b"",
        &format!("{} ({} bytes): {what}", name(volume), volume.len),
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
