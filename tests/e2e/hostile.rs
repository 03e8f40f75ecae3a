//! The hostile-input corpus: every case ends in a correct result or one
//! clear line naming the file and layer, never a panic, hang, unbounded
//! memory, or a read outside the target.

use crate::support::*;
use imgscan_fixtures::*;
use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn single_layer(build: impl FnOnce(&mut LayerTar)) -> Image {
    let mut layer = LayerTar::new();
    build(&mut layer);
    Image::new(vec![layer.finish()])
}

fn unknown_reasons(report: &serde_json::Value) -> Vec<String> {
    report["unknowns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            format!(
                "{} {}",
                u["path"].as_str().unwrap(),
                u["reason"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn escaping_names_and_links_never_leave_the_tree() {
    let image = single_layer(|l| {
        l.file("etc/os-release", "ID=inside\n");
        l.file("../../../../tmp/imgscan-escape", "evil");
        l.file("/etc/absolute", "evil");
        l.file("a/../../up", "evil");
        l.symlink("escape-abs", "/etc/shadow");
        l.symlink("escape-rel", "../../../../../etc/passwd");
        l.hardlink("hard-out", "../../etc/passwd");
        l.hardlink("hard-abs", "/etc/passwd");
    });
    let report = inspect(oci_dir(&image, LayerCompression::Gzip), &[]);
    let paths: Vec<String> = file_rows(&report).into_iter().map(|r| r.0).collect();
    assert_eq!(
        paths,
        ["/escape-abs", "/escape-rel", "/etc", "/etc/os-release"],
        "only entries inside the tree"
    );
    assert_eq!(report["summary"]["skipped"]["escaping"], 5);
    let reasons = unknown_reasons(&report);
    assert_eq!(reasons.len(), 5, "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("`..`")), "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.contains("absolute")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("hard link")),
        "{reasons:?}"
    );
    assert!(
        !Path::new("/tmp/imgscan-escape").exists(),
        "nothing is written outside"
    );
    assert_eq!(report["target"]["os"]["id"], "inside");
}

#[test]
fn symlink_loops_and_long_chains_end() {
    let image = single_layer(|l| {
        l.symlink("etc/os-release", "loop-a");
        l.symlink("etc/loop-a", "/etc/loop-b");
        l.symlink("etc/loop-b", "loop-a");
        for i in 0..60 {
            l.symlink(format!("chain/{i}"), format!("{}", i + 1));
        }
        l.file("chain/60", "end");
        l.symlink("usr/lib/os-release", "../../chain/0");
    });
    let report = inspect(oci_dir(&image, LayerCompression::Gzip), &[]);
    assert!(
        report["target"].get("os").is_none(),
        "a loop and a 60-link chain resolve to nothing"
    );
    assert!(live(&report, "/chain/59").is_some());
}

#[test]
fn decompression_bomb_stops_at_the_limit() {
    let zeros = vec![0u8; 64 << 20];
    let image = single_layer(|l| {
        l.file("etc/os-release", "ID=bomb\n");
        l.file("zeros", &zeros);
        l.file("after", "never reached");
    });
    let dir = oci_dir(&image, LayerCompression::Gzip);
    let report = inspect(&dir, &["--max-layer-size", "8MiB"]);
    assert_eq!(report["summary"]["skipped"]["over_expansion_limit"], 1);
    assert!(
        unknown_reasons(&report)
            .iter()
            .any(|r| r.contains("expands past the limit of 8388608 bytes")),
        "{:?}",
        unknown_reasons(&report)
    );
    assert!(!report["summary"]["warnings"].as_array().unwrap().is_empty());
    assert!(live(&report, "/after").is_none());
    assert_eq!(
        report["target"]["os"]["id"], "bomb",
        "what came before the limit is kept"
    );
    assert!(report["layers"][0]["size"].as_u64().unwrap() <= 8 << 20);
    // The same archive read whole is fine with the default limits.
    let report = inspect(&dir, &[]);
    assert!(live(&report, "/after").is_some());
}

fn truncate_half(_: usize, mut stored: Vec<u8>) -> Vec<u8> {
    stored.truncate(stored.len() / 2);
    stored
}

fn big_layer_image() -> Image {
    let noise: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    single_layer(|l| {
        l.file("noise", &noise);
        l.file("tail", "x");
    })
}

#[test]
fn truncated_gzip_zstd_and_tar_streams_are_errors() {
    for (how, word) in [
        (LayerCompression::Gzip, "gzip"),
        (LayerCompression::Zstd, "zstd"),
        (LayerCompression::None, "tar"),
    ] {
        let mut image = big_layer_image();
        image.tamper = Some(truncate_half);
        let dir = oci_dir(&image, how);
        let err = fails(&[OsStr::new("inspect"), dir.as_os_str()]);
        assert!(
            err.contains("layer 0") && err.contains("blobs/sha256/"),
            "names layer and blob: {err}"
        );
        assert!(
            err.contains(word) || err.contains("digest mismatch"),
            "{how:?}: {err}"
        );
    }
}

fn flip_byte(_: usize, mut stored: Vec<u8>) -> Vec<u8> {
    let at = stored.len() - 40;
    stored[at] ^= 0xff;
    stored
}

#[test]
fn blob_digest_mismatch_is_an_error() {
    let dir = oci_dir(&big_layer_image(), LayerCompression::None);
    let report = inspect(&dir, &[]);
    let digest = report["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    let blob = dir.join("blobs/sha256").join(&digest);
    let mut bytes = std::fs::read(&blob).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 1;
    std::fs::write(&blob, bytes).unwrap();
    let err = fails(&[OsStr::new("inspect"), dir.as_os_str()]);
    assert!(
        err.contains("digest mismatch") && err.contains("layer 0") && err.contains(&digest),
        "{err}"
    );

    // A layer whose descriptor matches but whose uncompressed tar does not
    // hash to the config's diff_id.
    let mut image = big_layer_image();
    image.tamper = Some(flip_byte);
    let dir = oci_dir(&image, LayerCompression::None);
    let err = fails(&[OsStr::new("inspect"), dir.as_os_str()]);
    assert!(
        err.contains("uncompressed") && err.contains("digest mismatch"),
        "{err}"
    );
}

#[test]
fn missing_blobs_and_malformed_json_are_errors() {
    let dir = oci_dir(&demo(), LayerCompression::Gzip);
    let report = inspect(&dir, &[]);
    let digest = report["layers"][1]["digest"].as_str().unwrap().to_string();
    std::fs::remove_file(
        dir.join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:")),
    )
    .unwrap();
    let err = fails(&[OsStr::new("inspect"), dir.as_os_str()]);
    assert!(
        err.contains(&format!(
            "blob `blobs/sha256/{}` named by",
            digest.trim_start_matches("sha256:")
        )) && err.contains("is missing"),
        "{err}"
    );

    let dir = oci_dir(&demo(), LayerCompression::Gzip);
    std::fs::write(dir.join("index.json"), "{\"manifests\": [").unwrap();
    let err = fails(&[OsStr::new("inspect"), dir.as_os_str()]);
    assert!(err.contains("`index.json`: malformed JSON"), "{err}");

    let dir = oci_dir(&demo(), LayerCompression::Gzip);
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let manifest = index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    std::fs::write(dir.join("blobs/sha256").join(&manifest), "not json").unwrap();
    let err = fails(&[OsStr::new("inspect"), dir.as_os_str()]);
    assert!(
        err.contains("digest mismatch") && err.contains(&manifest),
        "a manifest is verified before it is parsed: {err}"
    );

    let archive = fresh("bad-manifest.tar");
    write_tar(&archive, &[("manifest.json", b"[{\"Config\": 7}]")]);
    let err = fails(&[OsStr::new("inspect"), archive.as_os_str()]);
    assert!(err.contains("`manifest.json`: malformed JSON"), "{err}");

    let archive = fresh("missing-config.tar");
    write_tar(
        &archive,
        &[(
            "manifest.json",
            b"[{\"Config\": \"cfg.json\", \"Layers\": []}]",
        )],
    );
    let err = fails(&[OsStr::new("inspect"), archive.as_os_str()]);
    assert!(
        err.contains("blob `cfg.json` named by `manifest.json` is missing"),
        "{err}"
    );
}

fn write_tar(path: &Path, members: &[(&str, &[u8])]) {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, *data).unwrap();
    }
    std::fs::write(path, b.into_inner().unwrap()).unwrap();
}

#[test]
fn truncated_archive_is_an_error() {
    let archive = fresh("cut.tar");
    write_docker_archive(
        &archive,
        &big_layer_image(),
        DockerLayout::Legacy,
        ArchiveCompression::None,
    )
    .unwrap();
    let bytes = std::fs::read(&archive).unwrap();
    std::fs::write(&archive, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let err = fails(&[OsStr::new("inspect"), archive.as_os_str()]);
    assert!(err.contains("cut.tar"), "{err}");

    let archive = fresh("cut.tar.gz");
    write_docker_archive(
        &archive,
        &big_layer_image(),
        DockerLayout::Legacy,
        ArchiveCompression::Gzip,
    )
    .unwrap();
    let bytes = std::fs::read(&archive).unwrap();
    std::fs::write(&archive, &bytes[..bytes.len() / 2]).unwrap();
    let err = fails(&[OsStr::new("inspect"), archive.as_os_str()]);
    assert!(err.contains("cut.tar.gz"), "{err}");
}

#[test]
fn special_files_in_a_rootfs_are_never_opened() {
    let root = fresh("specials");
    std::fs::create_dir_all(root.join("dev")).unwrap();
    std::fs::write(root.join("etc-file"), "ok").unwrap();
    let fifo = root.join("dev/fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let _listener = std::os::unix::net::UnixListener::bind(root.join("dev/socket")).unwrap();
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    if is_root {
        for (name, kind) in [("null", "c"), ("sda", "b")] {
            let ok = std::process::Command::new("mknod")
                .arg(root.join("dev").join(name))
                .args([kind, "1", "3"])
                .status()
                .unwrap()
                .success();
            assert!(ok, "mknod as root");
        }
    }
    // Nothing writes to the FIFO: opening it for reading would hang the scan.
    let report = inspect(&root, &[]);
    let types: Vec<(String, String)> = file_rows(&report).into_iter().map(|r| (r.0, r.2)).collect();
    assert!(
        types.contains(&("/dev/fifo".into(), "fifo".into())),
        "{types:?}"
    );
    assert!(
        types.contains(&("/dev/socket".into(), "socket".into())),
        "{types:?}"
    );
    let expected_special = if is_root {
        assert!(
            types.contains(&("/dev/null".into(), "char-device".into())),
            "{types:?}"
        );
        assert!(
            types.contains(&("/dev/sda".into(), "block-device".into())),
            "{types:?}"
        );
        4
    } else {
        2
    };
    assert_eq!(report["summary"]["skipped"]["special"], expected_special);
}

#[test]
fn unreadable_files_are_reported_and_the_scan_goes_on() {
    use std::os::unix::fs::PermissionsExt;
    let root = fresh("unreadable");
    std::fs::create_dir_all(root.join("etc/secret-dir")).unwrap();
    std::fs::write(root.join("etc/os-release"), "ID=readable\n").unwrap();
    std::fs::write(root.join("etc/shadow"), "root:*:1::::::\n").unwrap();
    std::fs::write(root.join("etc/secret-dir/key"), "k").unwrap();
    std::fs::set_permissions(
        root.join("etc/shadow"),
        std::fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    std::fs::set_permissions(
        root.join("etc/secret-dir"),
        std::fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    for dir in [root.parent().unwrap(), root.as_path()] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut p = root.parent().unwrap().to_path_buf();
    while let Some(parent) = p.parent() {
        if parent == Path::new("/") {
            break;
        }
        let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755));
        p = parent.to_path_buf();
    }
    // Root reads everything, so as root the scan runs as nobody.
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    let run = run_with(&["inspect", "-f", "json", root.to_str().unwrap()], |cmd| {
        if is_root {
            let program = cmd.get_program().to_owned();
            let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
            let mut wrapped = std::process::Command::new("setpriv");
            wrapped
                .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(program)
                .args(args);
            *cmd = wrapped;
        }
    });
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    validate(&report);
    let reasons = unknown_reasons(&report);
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("/etc/shadow cannot read")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("/etc/secret-dir cannot list directory")),
        "{reasons:?}"
    );
    assert_eq!(report["summary"]["skipped"]["unreadable"], 2);
    assert_eq!(report["target"]["os"]["id"], "readable");
}

#[test]
fn huge_and_deep_directories() {
    let image = single_layer(|l| {
        for i in 0..100_000 {
            l.file(format!("wide/f{i:06}"), "");
        }
        let deep: String = (0..200).map(|i| format!("d{i}/")).collect();
        l.file(format!("{deep}bottom"), "deep");
    });
    let report = inspect(oci_dir(&image, LayerCompression::Gzip), &[]);
    assert_eq!(report["summary"]["totals"]["files"], 100_001);
    let deep_path: String = (0..200).map(|i| format!("/d{i}")).collect::<String>() + "/bottom";
    assert!(live(&report, &deep_path).is_some());

    let root = fresh("deep-rootfs");
    let mut dir = root.clone();
    for i in 0..200 {
        dir.push(format!("d{i}"));
    }
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bottom"), "deep").unwrap();
    let report = inspect(&root, &[]);
    assert!(live(&report, &deep_path).is_some());
}

#[test]
fn entry_limit_bounds_a_layer() {
    let image = single_layer(|l| {
        for i in 0..1000 {
            l.file(format!("f{i:04}"), "");
        }
    });
    let report = inspect(
        oci_dir(&image, LayerCompression::Gzip),
        &["--max-entries", "100"],
    );
    assert_eq!(report["summary"]["totals"]["files"], 100);
    assert_eq!(report["summary"]["skipped"]["over_entry_limit"], 900);
}

#[test]
fn non_utf8_names_are_kept_byte_exact_and_printed_escaped() {
    let image = single_layer(|l| {
        l.file(b"tmp/\xff\xfe-miner", "x");
        l.file("tmp/back\\slash", "y");
        l.symlink("tmp/link", b"\xff\xfe-miner");
    });
    let report = inspect(oci_dir(&image, LayerCompression::Gzip), &[]);
    assert!(
        live(&report, "/tmp/\\xff\\xfe-miner").is_some(),
        "{:?}",
        file_rows(&report)
    );
    assert!(live(&report, "/tmp/back\\\\slash").is_some());
    assert_eq!(
        live(&report, "/tmp/link").unwrap()["link"],
        "\\xff\\xfe-miner"
    );

    let root = fresh("bytes-rootfs");
    std::fs::create_dir_all(&root).unwrap();
    let name = OsStr::from_bytes(b"caf\xe9");
    std::fs::File::create(root.join(name))
        .unwrap()
        .write_all(b"z")
        .unwrap();
    let report = inspect(&root, &[]);
    assert!(live(&report, "/caf\\xe9").is_some());
    let table = run(&[
        OsStr::new("inspect"),
        OsStr::new("--files"),
        root.as_os_str(),
    ]);
    assert!(table.stdout.contains("/caf\\xe9"), "{}", table.stdout);
}

#[test]
fn outer_archive_bomb_stops() {
    // A gzip'd docker archive whose one member expands far past its budget.
    let zeros = vec![0u8; 32 << 20];
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_size(zeros.len() as u64);
    h.set_mode(0o644);
    b.append_data(&mut h, "blob", &zeros[..]).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&b.into_inner().unwrap()).unwrap();
    let archive = fresh("bomb.tar.gz");
    std::fs::write(&archive, enc.finish().unwrap()).unwrap();
    let err = fails(&[
        OsStr::new("inspect"),
        archive.as_os_str(),
        OsStr::new("--max-layer-size"),
        OsStr::new("4MiB"),
    ]);
    assert!(err.contains("expands past the limit"), "{err}");
}
