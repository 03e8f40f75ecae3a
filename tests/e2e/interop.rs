//! The reader on archives it did not write: the demo fixture converted by
//! Debian's `skopeo` (docker-archive, oci-archive, zstd layers) and built
//! layer by layer by `umoci` (whose whiteouts and layer tars are its own)
//! reads to the same final tree as imgscan's own packing.

use crate::support::*;
use imgscan_fixtures::*;
use std::path::Path;
use std::process::Command;

/// Live paths of the final tree with type and size (layers may differ).
fn final_tree(report: &serde_json::Value) -> Vec<(String, String, u64)> {
    file_rows(report)
        .into_iter()
        .filter(|r| r.4.is_none())
        .map(|r| (r.0, r.2, r.3))
        .collect()
}

#[test]
fn skopeo_archives_read_like_ours() {
    if !have_tool("skopeo") {
        return;
    }
    let image = demo();
    let ours = fresh("ours");
    write_oci_layout(
        &ours,
        &[Variant {
            image: &image,
            platform_in_index: true,
            ref_name: Some("1.0".into()),
        }],
        LayerCompression::Gzip,
    )
    .unwrap();
    let expected = inspect(&ours, &[]);
    let source = format!("oci:{}:1.0", ours.display());
    let docker = fresh("skopeo-docker.tar");
    let oci_archive = fresh("skopeo-oci.tar");
    let zstd_dir = fresh("skopeo-zstd");
    let policy = fresh("policy.json");
    std::fs::write(
        &policy,
        r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
    )
    .unwrap();
    let copy = |dest: String, extra: &[&str]| {
        sh(Command::new("skopeo")
            .arg("--policy")
            .arg(&policy)
            .args(["copy", "-q"])
            .args(extra)
            .arg(&source)
            .arg(dest));
    };
    copy(format!("docker-archive:{}:demo:1.0", docker.display()), &[]);
    copy(format!("oci-archive:{}:1.0", oci_archive.display()), &[]);
    copy(
        format!("oci:{}:1.0", zstd_dir.display()),
        &["--dest-compress-format", "zstd", "--dest-compress"],
    );
    for (path, kind) in [
        (&docker, "docker-archive"),
        (&oci_archive, "oci-archive"),
        (&zstd_dir, "oci-dir"),
    ] {
        let report = inspect(path, &[]);
        assert_eq!(report["target"]["kind"], kind);
        assert_eq!(
            final_tree(&report),
            final_tree(&expected),
            "{kind} from skopeo"
        );
        assert_eq!(report["target"]["os"]["id"], "debian");
        assert_eq!(report["layers"].as_array().unwrap().len(), 3);
    }
    let zstd = inspect(&zstd_dir, &[]);
    assert!(
        zstd["layers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["compression"] == "zstd")
    );
}

fn copy_tree(from: &Path, to: &Path) {
    sh(Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(to));
}

/// Applies a fixture layer onto an unpacked rootfs the way a runtime
/// would, so umoci can compute the layer (and its whiteouts) itself.
fn apply_layer(layer: &Path, rootfs: &Path) {
    copy_tree(layer, rootfs);
    let find = Command::new("find")
        .arg(rootfs)
        .arg("-name")
        .arg(".wh.*")
        .output()
        .unwrap();
    for marker in String::from_utf8_lossy(&find.stdout).lines() {
        let marker = Path::new(marker);
        let name = marker.file_name().unwrap().to_string_lossy().into_owned();
        let parent = marker.parent().unwrap();
        if name == ".wh..wh..opq" {
            for entry in std::fs::read_dir(parent).unwrap() {
                let path = entry.unwrap().path();
                let layer_copy = layer.join(path.strip_prefix(rootfs).unwrap());
                if !layer_copy.exists() {
                    sh(Command::new("rm").arg("-rf").arg(&path));
                }
            }
        } else {
            sh(Command::new("rm").arg("-rf").arg(parent.join(&name[4..])));
        }
        std::fs::remove_file(marker).unwrap();
    }
}

#[test]
fn umoci_built_image_reads_like_ours() {
    if !have_tool("umoci") {
        return;
    }
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/images/demo");
    let layout = fresh("umoci");
    sh(Command::new("umoci")
        .args(["init", "--layout"])
        .arg(&layout));
    let image = format!("{}:demo", layout.display());
    sh(Command::new("umoci").args(["new", "--image", &image]));
    for i in 0..3 {
        let bundle = fresh("bundle");
        sh(Command::new("umoci")
            .args(["unpack", "--rootless", "--image", &image])
            .arg(&bundle));
        apply_layer(&fixture.join(format!("layers/{i}")), &bundle.join("rootfs"));
        sh(Command::new("umoci")
            .args(["repack", "--image", &image])
            .arg(&bundle));
    }
    let report = inspect(&image, &[]);
    assert_eq!(report["target"]["kind"], "oci-dir");
    assert_eq!(report["target"]["os"]["id"], "debian");
    let ours = inspect(oci_dir(&demo(), LayerCompression::Gzip), &[]);
    // umoci cannot hold the fixture's hard link; compare everything else.
    let without_hardlink = |tree: Vec<(String, String, u64)>| {
        tree.into_iter()
            .filter(|r| !r.0.ends_with("app-hardlink"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        without_hardlink(final_tree(&report)),
        without_hardlink(final_tree(&ours))
    );
    let deleted: Vec<String> = file_rows(&report)
        .into_iter()
        .filter(|r| r.4.is_some())
        .map(|r| r.0)
        .collect();
    assert!(
        deleted.contains(&"/tmp/payload.sh".to_string()),
        "umoci's whiteout applies: {deleted:?}"
    );
}
