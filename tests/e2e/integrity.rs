//! Package integrity (`package.modified-file`) against the package
//! managers' own verifiers: `debsums` on a copy of the real Debian tree
//! with changes planted (as a rootfs directory and as a two-layer OCI
//! image whose top layer makes them), and `rpm -V` on an rpm tree
//! installed from packages built here.
//!
//! The mapping to `debsums -s -a`: it reports every changed file,
//! conffiles included (`-a`); imgscan leaves conffiles out (an
//! administrator edits them), so imgscan's set is `debsums -s -a`'s minus
//! `debsums -s -e`'s (conffiles only). Missing files are `debsums`'
//! "missing file", not "changed file", and are not this finding either.
//! For `rpm -V`: a `5` in the digest column is a changed file; lines
//! marked `c` (`%config`) are left out.

use crate::support::{debian_rootfs, fresh, have_tool, oci_dir, scan_json, sh};
use imgscan_fixtures::{Image, LayerCompression, LayerTar};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const ID: &str = "package.modified-file";

/// `(path, severity, layer)` of every `package.modified-file` finding of a
/// full scan of `target`.
fn modified(target: &Path) -> BTreeSet<(String, String, u64)> {
    let (report, _) = scan_json(target);
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == ID)
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
                f["layer"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn paths(found: &BTreeSet<(String, String, u64)>) -> BTreeSet<String> {
    found.iter().map(|(p, _, _)| p.clone()).collect()
}

/// The files `debsums -s ARGS --root ROOT` calls changed, as absolute
/// paths inside the tree with the tree's links among the parents resolved
/// (debsums prints the path its `md5sums` names: `/bin/ps` is `/usr/bin/ps`).
fn debsums_changed(root: &Path, args: &[&str]) -> BTreeSet<String> {
    let out = Command::new("debsums")
        .arg("-s")
        .args(args)
        .arg("--root")
        .arg(root)
        .output()
        .unwrap();
    let prefix = format!("debsums: changed file {}", root.display());
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|line| line.strip_prefix(&prefix))
        .map(|rest| {
            let path = rest.rsplit_once(" (from ").map_or(rest, |(p, _)| p);
            let host = root.join(path.trim_start_matches('/'));
            let parent = host.parent().unwrap().canonicalize().unwrap();
            let inside = parent.strip_prefix(root.canonicalize().unwrap()).unwrap();
            format!("/{}", inside.join(host.file_name().unwrap()).display())
        })
        .collect()
}

/// The planted changes, each as (path, new bytes; `None`: deleted).
fn changes(root: &Path) -> Vec<(&'static str, Option<Vec<u8>>)> {
    let read = |p: &str| std::fs::read(root.join(p)).unwrap();
    let mut library = read("usr/lib/x86_64-linux-gnu/libcap-ng.so.0.0.0");
    library[100] ^= 0x55;
    let mut pam = read("etc/pam.d/sshd");
    pam.extend_from_slice(b"# edited by the administrator\n");
    let mut readme = read("usr/share/doc/cron/README");
    readme.extend_from_slice(b"edited\n");
    let crontab = read("usr/bin/crontab")[..1000].to_vec();
    vec![
        // A system tool replaced (HIGH: an executable).
        (
            "usr/bin/ps",
            Some(b"\x7fELF\x02\x01\x01 ps that hides a miner".to_vec()),
        ),
        // A library patched in place, same size (HIGH).
        ("usr/lib/x86_64-linux-gnu/libcap-ng.so.0.0.0", Some(library)),
        // A conffile edited: debsums -a says changed, imgscan does not.
        ("etc/pam.d/sshd", Some(pam)),
        // A document edited (MEDIUM).
        ("usr/share/doc/cron/README", Some(readme)),
        // A file truncated (HIGH: an executable).
        ("usr/bin/crontab", Some(crontab)),
        // A file deleted: debsums' "missing file", not this finding.
        ("usr/share/doc/cron/THANKS", None),
    ]
}

#[test]
fn same_changed_files_as_debsums_on_a_real_debian_tree() {
    let Some(pristine) = debian_rootfs() else {
        return;
    };
    if !have_tool("debsums") {
        return;
    }
    assert_eq!(
        modified(&pristine),
        BTreeSet::new(),
        "an untouched install has no modified package file (diversions, multi-arch copies)"
    );
    let root = fresh("debian");
    sh(Command::new("cp").arg("-a").arg(&pristine).arg(&root));
    let planted = changes(&root);
    for (path, bytes) in &planted {
        match bytes {
            Some(bytes) => std::fs::write(root.join(path), bytes).unwrap(),
            None => std::fs::remove_file(root.join(path)).unwrap(),
        }
    }
    let all = debsums_changed(&root, &["-a"]);
    let conffiles = debsums_changed(&root, &["-e"]);
    assert!(conffiles.contains("/etc/pam.d/sshd"), "{conffiles:?}");
    let expected: BTreeSet<String> = all.difference(&conffiles).cloned().collect();
    assert_eq!(
        expected.len(),
        4,
        "debsums sees the planted changes: {all:?}"
    );

    let as_dir = modified(&root);
    assert_eq!(paths(&as_dir), expected, "rootfs directory");
    let severities: BTreeSet<(&str, &str)> = as_dir
        .iter()
        .map(|(p, s, _)| (p.as_str(), s.as_str()))
        .collect();
    assert!(severities.contains(&("/usr/bin/ps", "HIGH")));
    assert!(severities.contains(&("/usr/lib/x86_64-linux-gnu/libcap-ng.so.0.0.0", "HIGH")));
    assert!(severities.contains(&("/usr/share/doc/cron/README", "MEDIUM")));

    // The same changes as an image: the pristine tree as layer 0, the
    // changes (and a whiteout for the deleted file) as layer 1.
    let base = Command::new("tar")
        .args(["--sort=name", "--numeric-owner", "-C"])
        .arg(&pristine)
        .args(["-cf", "-", "."])
        .output()
        .unwrap();
    assert!(base.status.success());
    let mut top = LayerTar::new();
    for (path, bytes) in &planted {
        match bytes {
            Some(bytes) => {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(pristine.join(path))
                    .unwrap()
                    .permissions()
                    .mode();
                top.file_mode(path, bytes, mode & 0o7777)
            }
            None => {
                let (dir, name) = path.rsplit_once('/').unwrap();
                top.file(format!("{dir}/.wh.{name}"), b"")
            }
        };
    }
    let image = Image::new(vec![base.stdout, top.finish()]);
    let layout = oci_dir(&image, LayerCompression::None);
    let as_image = modified(&layout);
    assert_eq!(paths(&as_image), expected, "OCI image");
    assert!(
        as_image.iter().all(|(_, _, layer)| *layer == 1),
        "each change is the top layer's: {as_image:?}"
    );
}

/// A package with a file of each kind `rpm -V` treats differently.
const SPEC: &str = r#"Name: imgscan-verify
Version: 1.0
Release: 1
Summary: imgscan package-integrity fixture
License: MIT
%description
Files of each kind rpm -V treats differently.
%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/usr/lib64 %{buildroot}/usr/share/doc/imgscan-verify %{buildroot}/etc %{buildroot}/var/log
printf '#!/bin/sh\necho tool\n' > %{buildroot}/usr/bin/imgscan-tool
printf 'library bytes, long enough to truncate\n' > %{buildroot}/usr/lib64/libimgscan.so.1
printf 'docs\n' > %{buildroot}/usr/share/doc/imgscan-verify/README
printf 'unchanged docs\n' > %{buildroot}/usr/share/doc/imgscan-verify/NEWS
printf 'setting=1\n' > %{buildroot}/etc/imgscan-verify.conf
%files
%attr(0755,root,root) /usr/bin/imgscan-tool
/usr/lib64/libimgscan.so.1
/usr/share/doc/imgscan-verify/README
/usr/share/doc/imgscan-verify/NEWS
%config(noreplace) /etc/imgscan-verify.conf
%ghost /var/log/imgscan-verify.log
"#;

/// The files `rpm -V -a --root ROOT` says changed in digest (`5`),
/// `%config` files (`c`) left out.
fn rpm_changed(root: &Path) -> BTreeSet<String> {
    let out = Command::new("rpm")
        .arg("--root")
        .arg(root)
        .args([
            "--dbpath",
            "/var/lib/rpm",
            "--define",
            "_db_backend sqlite",
            "-V",
            "-a",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let (flags, rest) = line.split_at_checked(9)?;
            let (attr, path) = rest.trim_start_matches(' ').split_at_checked(1)?;
            let path = if attr == "/" {
                rest.trim()
            } else if attr == "c" {
                return None;
            } else {
                path.trim()
            };
            (flags.as_bytes()[2] == b'5').then(|| path.to_string())
        })
        .collect()
}

#[test]
fn same_changed_files_as_rpm_verify_on_an_rpm_tree() {
    if !have_tool("rpmbuild") || !have_tool("rpm") {
        return;
    }
    let work = fresh("rpm");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("verify.spec"), SPEC).unwrap();
    sh(Command::new("rpmbuild")
        .arg("--quiet")
        .arg("--define")
        .arg(format!("_topdir {}", work.join("build").display()))
        .arg("-bb")
        .arg(work.join("verify.spec")));
    let rpms: Vec<PathBuf> = std::fs::read_dir(work.join("build/RPMS"))
        .unwrap()
        .flat_map(|arch| std::fs::read_dir(arch.unwrap().path()).unwrap())
        .map(|f| f.unwrap().path())
        .collect();
    let root = work.join("root");
    std::fs::create_dir_all(&root).unwrap();
    let rpm = |args: &[&str]| {
        let mut cmd = Command::new("rpm");
        cmd.arg("--root")
            .arg(&root)
            .args(["--dbpath", "/var/lib/rpm", "--define", "_db_backend sqlite"])
            .args(args);
        cmd
    };
    sh(&mut rpm(&["--initdb"]));
    sh(rpm(&[
        "-i",
        "--nodeps",
        "--noscripts",
        "--nosignature",
        "--ignorearch",
    ])
    .args(&rpms));
    assert!(rpm_changed(&root).is_empty(), "freshly installed");
    assert_eq!(modified(&root), BTreeSet::new(), "freshly installed");

    std::fs::write(root.join("usr/bin/imgscan-tool"), "#!/bin/sh\nminer &\n").unwrap();
    std::fs::write(root.join("usr/share/doc/imgscan-verify/README"), "edited\n").unwrap();
    std::fs::write(root.join("etc/imgscan-verify.conf"), "setting=2\n").unwrap();
    std::fs::create_dir_all(root.join("var/log")).unwrap();
    std::fs::write(root.join("var/log/imgscan-verify.log"), "ghosts change\n").unwrap();
    let library = std::fs::read(root.join("usr/lib64/libimgscan.so.1")).unwrap();
    std::fs::write(root.join("usr/lib64/libimgscan.so.1"), &library[..10]).unwrap();

    let expected = rpm_changed(&root);
    assert_eq!(
        expected,
        [
            "/usr/bin/imgscan-tool",
            "/usr/lib64/libimgscan.so.1",
            "/usr/share/doc/imgscan-verify/README"
        ]
        .map(String::from)
        .into(),
        "rpm -V sees the planted changes"
    );
    let found = modified(&root);
    assert_eq!(paths(&found), expected);
    let severities: Vec<&str> = found.iter().map(|(_, s, _)| s.as_str()).collect();
    assert_eq!(severities, ["HIGH", "HIGH", "MEDIUM"]);
}

/// An Alpine tree's files as its apk database records them: `Q1` and the
/// base64 SHA-1 (what apk 2 writes), or `Q2` and the base64 SHA-256.
fn apk_checksum(bytes: &[u8], sha256: bool) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    if sha256 {
        use sha2::Digest as _;
        format!("Q2{}", b64.encode(sha2::Sha256::digest(bytes)))
    } else {
        use sha1::Digest as _;
        format!("Q1{}", b64.encode(sha1::Sha1::digest(bytes)))
    }
}

/// The pristine Alpine files: (path, bytes, mode, apk package).
const ALPINE_FILES: &[(&str, &[u8], u32, &str)] = &[
    (
        "bin/busybox",
        b"\x7fELF\x02\x01\x01 busybox",
        0o755,
        "busybox",
    ),
    (
        "lib/libcrypto.so.3",
        b"\x7fELF\x02\x01\x01 libcrypto",
        0o755,
        "libcrypto3",
    ),
    (
        "usr/share/doc/busybox/README",
        b"busybox docs\n",
        0o644,
        "busybox",
    ),
    (
        "usr/share/doc/busybox/NEWS",
        b"unchanged\n",
        0o644,
        "busybox",
    ),
    (
        "etc/motd",
        b"Welcome to Alpine!\n",
        0o644,
        "alpine-baselayout",
    ),
];

/// `lib/apk/db/installed` for [`ALPINE_FILES`], libcrypto's checksum in
/// SHA-256.
fn apk_installed_db() -> String {
    let mut db = String::new();
    for (package, version) in [
        ("alpine-baselayout", "3.4.3-r2"),
        ("busybox", "1.36.1-r15"),
        ("libcrypto3", "3.1.4-r5"),
    ] {
        db.push_str(&format!("C:Q1\nP:{package}\nV:{version}\nA:x86_64\n"));
        let mut dir = "";
        for (path, bytes, _, owner) in ALPINE_FILES.iter().filter(|f| f.3 == package) {
            let (parent, name) = path.rsplit_once('/').unwrap();
            if parent != dir {
                db.push_str(&format!("F:{parent}\n"));
                dir = parent;
            }
            let sha256 = *owner == "libcrypto3";
            db.push_str(&format!("R:{name}\nZ:{}\n", apk_checksum(bytes, sha256)));
        }
        db.push('\n');
    }
    db
}

/// The changes planted in the Alpine tree: the two executables and a
/// document changed (found), and a file under `/etc` changed (not found:
/// apk records no conffiles, so what it installs under `/etc` is taken as
/// configuration an administrator may edit).
const ALPINE_CHANGES: &[(&str, &[u8])] = &[
    (
        "bin/busybox",
        b"\x7fELF\x02\x01\x01 busybox that hides a miner",
    ),
    (
        "lib/libcrypto.so.3",
        b"\x7fELF\x02\x01\x01 libcrypto patched!",
    ),
    ("usr/share/doc/busybox/README", b"busybox docs, edited\n"),
    ("etc/motd", b"Welcome, miner.\n"),
];

#[test]
fn apk_checksums_find_the_changed_files_of_an_alpine_tree() {
    let db = apk_installed_db();
    let write_tree = |root: &Path, changed: bool| {
        for (path, bytes, mode, _) in ALPINE_FILES {
            let bytes = match ALPINE_CHANGES.iter().find(|c| c.0 == *path) {
                Some((_, new)) if changed => *new,
                _ => *bytes,
            };
            let host = root.join(path);
            std::fs::create_dir_all(host.parent().unwrap()).unwrap();
            std::fs::write(&host, bytes).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&host, std::fs::Permissions::from_mode(*mode)).unwrap();
        }
        std::fs::create_dir_all(root.join("lib/apk/db")).unwrap();
        std::fs::write(root.join("lib/apk/db/installed"), &db).unwrap();
        std::fs::write(root.join("etc/alpine-release"), "3.19.1\n").unwrap();
        std::fs::write(
            root.join("etc/os-release"),
            "ID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n",
        )
        .unwrap();
    };
    let pristine = fresh("alpine");
    write_tree(&pristine, false);
    assert_eq!(modified(&pristine), BTreeSet::new(), "untouched");

    let expected: BTreeSet<(String, String, u64)> = [
        ("/bin/busybox", "HIGH"),
        ("/lib/libcrypto.so.3", "HIGH"),
        ("/usr/share/doc/busybox/README", "MEDIUM"),
    ]
    .iter()
    .map(|(p, s)| (p.to_string(), s.to_string(), 0))
    .collect();
    let changed = fresh("alpine");
    write_tree(&changed, true);
    assert_eq!(modified(&changed), expected, "rootfs directory");

    // As an image: the pristine tree, then a layer that changes the files.
    let mut base = LayerTar::new();
    let mut top = LayerTar::new();
    for (path, bytes, mode, _) in ALPINE_FILES {
        base.file_mode(path, bytes, *mode);
    }
    for (path, bytes) in ALPINE_CHANGES {
        let mode = ALPINE_FILES.iter().find(|f| f.0 == *path).unwrap().2;
        top.file_mode(path, bytes, mode);
    }
    base.file("lib/apk/db/installed", db.as_bytes());
    base.file("etc/alpine-release", b"3.19.1\n");
    base.file(
        "etc/os-release",
        b"ID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n",
    );
    let image = Image::new(vec![base.finish(), top.finish()]);
    let in_top_layer: BTreeSet<(String, String, u64)> = expected
        .iter()
        .map(|(p, s, _)| (p.clone(), s.clone(), 1))
        .collect();
    for compression in [LayerCompression::None, LayerCompression::Gzip] {
        let layout = oci_dir(&image, compression);
        assert_eq!(modified(&layout), in_top_layer, "{compression:?} image");
    }
}
