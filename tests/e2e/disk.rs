//! VM disk images made by the real tools: `mke2fs -d` fills an ext4
//! filesystem from a directory, `sfdisk` partitions a disk (GPT and MBR),
//! `qemu-img` converts it to qcow2 (plain, deflate- and zstd-compressed).
//! A disk reads like the directory it was made from; fstab mounts the
//! other volumes; what is not read is named; broken and unsupported
//! images are clear errors.

use crate::support::*;
use imgscan_fixtures::xorshift;
use serde_json::Value;
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
    let image = fresh(name);
    sh(Command::new("mke2fs")
        .args(["-q", "-F", "-t", "ext4"])
        .args(extra)
        .arg("-d")
        .arg(source)
        .arg(&image)
        .arg(size));
    image
}

fn qcow2(raw: &Path, name: &str, options: &[&str]) -> PathBuf {
    let out = fresh(name);
    sh(Command::new("qemu-img")
        .args(["convert", "-O", "qcow2"])
        .args(options)
        .arg(raw)
        .arg(&out));
    out
}

fn files(target: &Path) -> Vec<(String, u64, String, u64, Option<u64>)> {
    file_rows(&inspect(target, &[]))
        .into_iter()
        .filter(|row| !row.0.contains("lost+found"))
        .collect()
}

fn scan_json(target: &Path) -> (Value, Run) {
    let db = empty_advisory_db();
    let done = run(&[
        OsStr::new("scan"),
        OsStr::new("-f"),
        OsStr::new("json"),
        OsStr::new("--db"),
        db.as_os_str(),
        target.as_os_str(),
    ]);
    let report: Value =
        serde_json::from_str(&done.stdout).unwrap_or_else(|e| panic!("{e}: {}", done.stderr));
    validate(&report);
    (report, done)
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
    for image in [
        raw.clone(),
        qcow2(&raw, "plain.qcow2", &[]),
        qcow2(&raw, "deflate.qcow2", &["-c"]),
        qcow2(&raw, "zstd.qcow2", &["-c", "-o", "compression_type=zstd"]),
    ] {
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
    let disk = fresh(name);
    std::fs::write(&disk, vec![0u8; 26 << 20]).unwrap();
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
    let layout = format!(
        "label: {label}\n{label_id}start=2048, size=8192, type={linux}\nstart=10240, size=32768, type={linux}\nstart=43008, size=4096, type={linux}{spare_id}\nstart=47104, size=2048, type={swap_type}\n"
    );
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
    for (image, sector) in [
        (&boot, 2048u64),
        (&root, 10240),
        (&spare, 43008),
        (&swap, 47104),
    ] {
        let bytes = std::fs::read(image).unwrap();
        let file = std::fs::OpenOptions::new().write(true).open(&disk).unwrap();
        std::os::unix::fs::FileExt::write_all_at(&file, &bytes, sector * 512).unwrap();
    }
    disk
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

    let vmdk = fresh("disk.vmdk");
    sh(Command::new("qemu-img")
        .args(["convert", "-O", "vmdk"])
        .arg(&raw)
        .arg(&vmdk));
    let err = fails(&[vmdk.as_os_str()]);
    assert!(
        err.contains("VMDK") && err.contains("qemu-img convert"),
        "{err}"
    );

    let mut no_fs = vec![0u8; 1 << 20];
    no_fs[510] = 0x55;
    no_fs[511] = 0xaa;
    let empty = fresh("empty-mbr.img");
    std::fs::write(&empty, &no_fs).unwrap();
    let forced = format!("disk:{}", empty.display());
    let err = fails(&[OsStr::new(&forced)]);
    assert!(err.contains("no ext2/3/4 filesystem"), "{err}");

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

#[test]
fn a_huge_unindexed_directory_costs_bounded_work() {
    if !disk_tools() {
        return;
    }
    let tree = fresh("huge-dir-tree");
    std::fs::create_dir_all(tree.join("d")).unwrap();
    for i in 0..8000 {
        std::fs::write(tree.join(format!("d/f{i:05}")), "x").unwrap();
    }
    let image = ext4_image(&tree, "huge-dir.img", "32M", &["-N", "9000"]);
    let report = inspect(&image, &[]);
    assert_eq!(
        report["summary"]["totals"]["paths"],
        8001 + 1,
        "every name is listed"
    );
    let unknowns = report["unknowns"].to_string();
    assert!(unknowns.contains("lookup budget"), "{unknowns}");
    let unread = report["summary"]["skipped"]["unreadable"].as_u64().unwrap();
    assert!(unread > 0 && unread < 8000, "{unread}");
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
        (raw, 1024),
    ];
    let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
    let mutated = fresh("mutated.img");
    for (seed, from) in &seeds {
        let original = std::fs::read(seed).unwrap();
        for round in 0..40 {
            let mut bytes = original.clone();
            // Metadata lives near the start: most flips go there.
            let span = if round % 4 == 0 {
                bytes.len()
            } else {
                64 << 10
            };
            for _ in 0..1 + next() % 16 {
                let at = from + (next() as usize) % (span - from);
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
