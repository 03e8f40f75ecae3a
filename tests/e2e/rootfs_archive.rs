//! Tars of a root filesystem (`docker export`, a cloud's or LXC's rootfs
//! tarball), made by GNU tar: plain, gzip, zstd and PAX, each read in one
//! pass exactly like the directory it was made from; an image archive
//! whose metadata is not its first member is still read as an image.

use crate::support::*;
use imgscan_fixtures::{ArchiveCompression, DockerLayout, write_docker_archive};
use serde_json::Value;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The demo's first two layers copied into one directory: an OS, dpkg
/// packages, and the miner with its cron and systemd starters.
fn system_tree() -> PathBuf {
    let root = fresh("rootfs-tree");
    std::fs::create_dir_all(&root).unwrap();
    let layers = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/images/demo/layers");
    for layer in ["0", "1"] {
        sh(Command::new("cp")
            .arg("-a")
            .arg(layers.join(layer).join("."))
            .arg(&root));
    }
    root
}

/// `tar -C tree [options] -cf NAME .`, as `docker export` lays it out
/// (members named `./…`).
fn tar_of(tree: &Path, name: &str, options: &[&str]) -> PathBuf {
    let out = fresh(name);
    sh(Command::new("tar")
        .arg("-C")
        .arg(tree)
        .args(options)
        .arg("-cf")
        .arg(&out)
        .arg("."));
    out
}

/// The scan report of `target`, whose miner fails the gate.
fn scan_failing(target: &Path) -> Value {
    let (report, done) = scan_json(target);
    assert_eq!(done.code, 1, "the miner fails the gate: {}", done.stderr);
    report
}

#[test]
fn a_rootfs_tarball_reads_like_its_directory() {
    if !have_tool("zstd") {
        return;
    }
    let tree = system_tree();
    let expected_rows = file_rows(&inspect(&tree, &[]));
    let directory = scan_failing(&tree);
    assert!(!directory["malware"].as_array().unwrap().is_empty());
    assert!(!directory["packages"].as_array().unwrap().is_empty());
    for (name, options, compression) in [
        ("plain.tar", &[][..], "none"),
        ("rootfs.tar.gz", &["-z"][..], "gzip"),
        ("rootfs.tar.zst", &["--zstd"][..], "zstd"),
        ("pax.tar.gz", &["--format=pax", "-z"][..], "gzip"),
    ] {
        let archive = tar_of(&tree, name, options);
        let report = inspect(&archive, &[]);
        assert_eq!(report["target"]["kind"], "rootfs-archive", "{name}");
        assert_eq!(file_rows(&report), expected_rows, "{name}");
        let layers = report["layers"].as_array().unwrap();
        assert_eq!(layers.len(), 1, "{name}");
        assert_eq!(layers[0]["compression"], compression, "{name}");
        let stored = std::fs::read(&archive).unwrap();
        assert_eq!(layers[0]["compressed_size"], stored.len() as u64, "{name}");
        assert!(
            layers[0]["diff_id"]
                .as_str()
                .unwrap()
                .starts_with("sha256:")
        );
        let scanned = scan_failing(&archive);
        for part in ["packages", "malware", "findings", "incidents"] {
            assert_eq!(scanned[part], directory[part], "{name}: {part}");
        }
        assert_eq!(scanned["target"]["os"], directory["target"]["os"], "{name}");
    }
}

#[test]
fn an_image_archive_is_an_image_wherever_its_metadata_sits() {
    // A plain `docker save` tar, unpacked and packed again with an
    // unremarkable member first: read as the docker-archive it is.
    let saved = fresh("saved.tar");
    write_docker_archive(
        &saved,
        &demo(),
        DockerLayout::Legacy,
        ArchiveCompression::None,
    )
    .unwrap();
    let unpacked = fresh("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    sh(Command::new("tar")
        .arg("-C")
        .arg(&unpacked)
        .arg("-xf")
        .arg(&saved));
    std::fs::write(unpacked.join("NOTES"), "packed by hand\n").unwrap();
    let members: Vec<String> = std::fs::read_dir(&unpacked)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "NOTES")
        .collect();
    for (name, options) in [("repacked.tar.gz", &["-z"][..]), ("repacked.tar", &[][..])] {
        let archive = fresh(name);
        sh(Command::new("tar")
            .arg("-C")
            .arg(&unpacked)
            .args(options)
            .arg("-cf")
            .arg(&archive)
            .arg("NOTES")
            .args(&members));
        let report = inspect(&archive, &[]);
        assert_eq!(report["target"]["kind"], "docker-archive", "{name}");
        assert_eq!(report["layers"].as_array().unwrap().len(), 3, "{name}");
        // Forced, the same tar is a root filesystem of blobs.
        let forced = inspect(format!("rootfs-archive:{}", archive.display()), &[]);
        assert_eq!(forced["target"]["kind"], "rootfs-archive", "{name}");
        assert_eq!(forced["layers"].as_array().unwrap().len(), 1, "{name}");
        assert!(live(&forced, "/manifest.json").is_some(), "{name}");
    }
}

#[test]
fn a_broken_rootfs_tarball_is_a_clear_error() {
    let tree = system_tree();
    let whole = std::fs::read(tar_of(&tree, "whole.tar.gz", &["-z"])).unwrap();
    let cut = fresh("cut.tar.gz");
    std::fs::write(&cut, &whole[..whole.len() / 2]).unwrap();
    let err = fails(&[OsStr::new("inspect"), cut.as_os_str()]);
    assert!(err.contains("cut.tar.gz"), "{err}");
    assert!(err.contains("truncated gzip stream"), "{err}");
}
