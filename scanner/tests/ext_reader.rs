//! The ext reader against e2fsprogs: every file of a tree, packed by
//! `mke2fs -d` in each layout it makes, reads back byte for byte; and a
//! journal left with unapplied transactions reads as `e2fsck` replays it.

use imgscan_fixtures::{ext, requires};
use imgscan_scanner::source::disk::device::{Raw, SharedVolume};
use imgscan_scanner::source::disk::ext::ExtFs;
use imgscan_scanner::source::disk::inode_tree;
use std::path::{Path, PathBuf};

fn tools() -> bool {
    ["mke2fs", "debugfs", "e2fsck"]
        .iter()
        .all(|tool| requires::have_tool(tool))
}

fn load(image: &Path) -> ExtFs {
    let file = std::fs::File::open(image).unwrap();
    let len = file.metadata().unwrap().len();
    ExtFs::load(SharedVolume::new(Box::new(Raw::new(file, 0, len)), 0, len)).unwrap()
}

/// The regular files below `root`, as paths from it.
fn regular_files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            regular_files(root, &entry.path(), out);
        } else if kind.is_file() {
            out.push(entry.path().strip_prefix(root).unwrap().to_path_buf());
        }
    }
}

/// A tree with files in every size class: inline-sized, one block, a run
/// of extents, and past double indirection on 1 KiB blocks; a directory
/// of many entries, and links.
fn tree(scratch: &Path) -> PathBuf {
    let root = scratch.join("tree");
    std::fs::create_dir_all(root.join("etc/cron.d")).unwrap();
    std::fs::create_dir_all(root.join("srv/many")).unwrap();
    std::fs::write(root.join("etc/os-release"), "ID=debian\n").unwrap();
    std::fs::write(root.join("etc/cron.d/job"), "0 4 * * * root true\n").unwrap();
    std::fs::write(root.join("etc/motd"), "welcome ".repeat(700)).unwrap();
    let mut next = imgscan_fixtures::xorshift(0x9e37_79b9_7f4a_7c15);
    let big: Vec<u8> = (0..(3 << 20) + 17).map(|_| next() as u8).collect();
    std::fs::write(root.join("srv/big.bin"), big).unwrap();
    for i in 0..600 {
        std::fs::write(root.join(format!("srv/many/entry-{i:04}")), i.to_string()).unwrap();
    }
    std::fs::write(root.join("srv/empty"), "").unwrap();
    std::os::unix::fs::symlink("../etc/motd", root.join("srv/motd-link")).unwrap();
    std::os::unix::fs::symlink("x".repeat(200), root.join("srv/long-link")).unwrap();
    std::os::unix::fs::symlink("/etc/cron.d/../motd", root.join("srv/absolute-link")).unwrap();
    std::os::unix::fs::symlink("loop", root.join("srv/loop")).unwrap();
    root
}

#[test]
fn every_layout_reads_back_byte_for_byte() {
    if !tools() {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let root = tree(scratch.path());
    let mut paths = Vec::new();
    regular_files(&root, &root, &mut paths);
    for (i, (kind, size, extra)) in ext::LAYOUTS.into_iter().enumerate() {
        let image = scratch.path().join(format!("layout-{i}.img"));
        ext::make(&root, &image, size, kind, extra);
        let fs = load(&image);
        for path in &paths {
            let name = format!("/{}", path.display());
            let want = std::fs::read(root.join(path)).unwrap();
            let got = inode_tree::read_small(&fs, &name, 64 << 20);
            assert!(got.as_ref() == Some(&want), "{kind} {extra:?}: {name}");
        }
        // Links are followed inside the volume, relative or absolute; a
        // link to itself ends.
        for link in [
            "/srv/motd-link",
            "/srv/absolute-link",
            "/srv/../srv/./motd-link",
        ] {
            assert_eq!(
                inode_tree::read_small(&fs, link, 1 << 20).as_deref(),
                Some("welcome ".repeat(700).as_bytes()),
                "{kind} {extra:?} {link}"
            );
        }
        assert!(!inode_tree::has(&fs, "/srv/loop"));
        assert!(
            inode_tree::has(&fs, "/srv/many/entry-0599")
                && !inode_tree::has(&fs, "/srv/many/entry-0600")
        );
    }
}

#[test]
fn a_journal_left_unapplied_reads_as_e2fsck_replays_it() {
    if !tools() {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let root = tree(scratch.path());
    let image = scratch.path().join("journal.img");
    ext::make(&root, &image, "16M", "ext4", &["-b", "4096"]);
    // One block that starts with the journal's magic (stored escaped),
    // one rewritten cron job, and one write a later transaction revokes.
    let mut motd = 0xC03B_3998u32.to_be_bytes().to_vec();
    motd.resize(4096, b'z');
    let mut cron = b"* * * * * root curl".to_vec();
    cron.resize(4096, 0);
    let mut revoked = b"never".to_vec();
    revoked.resize(4096, b'!');
    let blocks = [
        (ext::first_block(&image, "/etc/motd"), motd),
        (ext::first_block(&image, "/etc/cron.d/job"), cron),
        (ext::first_block(&image, "/srv/big.bin"), revoked),
    ];
    let revoke = blocks[2].0;
    ext::journal_unapplied(&image, &blocks, revoke, &scratch.path().join("blocks"));
    let replayed = ext::replayed_by_e2fsck(&image, &scratch.path().join("replayed.img"));
    let fs = load(&image);
    for path in ["/etc/motd", "/etc/cron.d/job", "/srv/big.bin"] {
        let got = inode_tree::read_small(&fs, path, 64 << 20).unwrap();
        assert_eq!(got, ext::cat(&replayed, path), "{path}");
    }
    let motd = inode_tree::read_small(&fs, "/etc/motd", 1 << 20).unwrap();
    assert_eq!(&motd[..5], b"\xC0\x3B\x39\x98z", "the replay is seen");
}
