//! Images that try to show the scanner another tree than the one a runtime
//! unpacks: files written through a symlinked directory (in the same layer
//! and from a lower one), a directory replaced by a link, whiteouts of an
//! empty, `.` or `..` name, children of an opaque marker. Each must land
//! where `umoci` (the oracle here) puts it, or be named as invalid.

use crate::support::*;
use imgscan_fixtures::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

const CRON_LINE: &str = "* * * * * root /tmp/.x/kworker\n";
const PRELOAD: &str = "/usr/lib/libprocesshider.so\n";

fn scan_json(target: &Path) -> Value {
    scan_with::<&str>(target, &[]).0
}

fn finding_paths(report: &Value, id: &str) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == id)
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect()
}

fn live_paths(report: &Value) -> BTreeSet<String> {
    file_rows(report)
        .into_iter()
        .filter(|r| r.4.is_none())
        .map(|r| format!("{} {}", r.0, r.2))
        .collect()
}

/// A base layer with an OS and a real `/etc`.
fn base() -> LayerTar {
    let mut base = LayerTar::new();
    base.dir("etc");
    base.file("etc/os-release", "ID=debian\nVERSION_ID=12\n");
    base.dir("tmp");
    base
}

/// The persistence a miner plants, written through `dir`.
fn plant(layer: &mut LayerTar, dir: &str) {
    layer.file(format!("{dir}/ld.so.preload"), PRELOAD);
    layer.file(format!("{dir}/cron.d/m"), CRON_LINE);
}

fn assert_found_in_etc(target: &Path, layer: u64) {
    let report = &scan_json(target);
    assert_eq!(
        finding_paths(report, "preload.ld-so-preload"),
        ["/etc/ld.so.preload"],
        "{:#}",
        report["findings"]
    );
    assert_eq!(
        finding_paths(report, "cron.runs-from-tmp"),
        ["/etc/cron.d/m"],
        "{:#}",
        report["findings"]
    );
    let files = inspect(target, &[]);
    let preload = live(&files, "/etc/ld.so.preload").expect("placed in /etc");
    assert_eq!(preload["layer"], layer);
    assert!(live(&files, "/etc/cron.d/m").is_some());
    assert!(live(&files, "/e/ld.so.preload").is_none());
}

#[test]
fn writes_through_a_symlinked_directory_of_the_same_layer_land_in_its_target() {
    let mut layer = base();
    layer.symlink("e", "etc");
    plant(&mut layer, "e");
    let image = Image::new(vec![layer.finish()]);
    let target = oci_dir(&image, LayerCompression::Gzip);
    assert_found_in_etc(&target, 0);
    let report = inspect(&target, &[]);
    assert_eq!(live(&report, "/e").unwrap()["type"], "symlink");
}

#[test]
fn writes_through_a_symlinked_directory_of_a_lower_layer_land_in_its_target() {
    for link in ["etc", "/etc", "../../etc", "d/../etc"] {
        let mut lower = base();
        lower.dir("d");
        lower.symlink("e", link);
        let mut upper = LayerTar::new();
        plant(&mut upper, "e");
        let image = Image::new(vec![lower.finish(), upper.finish()]);
        assert_found_in_etc(&oci_dir(&image, LayerCompression::Gzip), 1);
    }
    // A chain of links over two layers, the last made in the upper one.
    let mut lower = base();
    lower.symlink("a", "b");
    let mut upper = LayerTar::new();
    upper.symlink("b", "etc/cron.d");
    upper.file("a/m", CRON_LINE);
    let image = Image::new(vec![lower.finish(), upper.finish()]);
    let report = scan_json(&oci_dir(&image, LayerCompression::Gzip));
    assert_eq!(
        finding_paths(&report, "cron.runs-from-tmp"),
        ["/etc/cron.d/m"]
    );
}

#[test]
fn a_directory_replaced_by_a_link_loses_its_children() {
    // In one layer: `x/` with a child, then `x` a link; the child is gone.
    let mut layer = base();
    layer.dir("x");
    layer.file("x/old", "gone");
    layer.symlink("x", "etc");
    layer.file("x/cron.d/m", CRON_LINE);
    let image = Image::new(vec![layer.finish()]);
    let report = inspect(oci_dir(&image, LayerCompression::Gzip), &[]);
    let paths = live_paths(&report);
    assert!(!paths.iter().any(|p| p.starts_with("/x/")), "{paths:?}");
    assert!(paths.contains("/etc/cron.d/m file"), "{paths:?}");
}

#[test]
fn links_that_loop_above_an_entry_are_named_not_followed() {
    let mut lower = base();
    lower.symlink("l1", "l2");
    lower.symlink("l2", "l1");
    let mut upper = LayerTar::new();
    upper.file("l1/f", "x");
    let image = Image::new(vec![lower.finish(), upper.finish()]);
    let report = inspect(oci_dir(&image, LayerCompression::Gzip), &[]);
    assert_eq!(report["summary"]["skipped"]["invalid"], 1);
    let unknowns = report["unknowns"].to_string();
    assert!(unknowns.contains("/l1/f"), "{unknowns}");
    assert!(unknowns.contains("loop"), "{unknowns}");
}

#[test]
fn whiteouts_of_empty_dot_and_dotdot_names_are_invalid_not_deletions() {
    for name in [".wh.", "etc/.wh.", "etc/.wh..", "etc/.wh..."] {
        let lower = base();
        let mut upper = LayerTar::new();
        upper.file(name, "");
        let image = Image::new(vec![lower.finish(), upper.finish()]);
        let report = inspect(oci_dir(&image, LayerCompression::Gzip), &[]);
        assert!(
            live(&report, "/etc/os-release").is_some(),
            "{name} deleted the tree"
        );
        assert_eq!(report["target"]["os"]["id"], "debian", "{name}");
        assert_eq!(report["summary"]["skipped"]["invalid"], 1, "{name}");
        let unknowns = report["unknowns"].to_string();
        assert!(unknowns.contains("whiteout"), "{name}: {unknowns}");
    }
}

#[test]
fn an_opaque_marker_is_only_a_marker() {
    let mut lower = base();
    lower.file("etc/old", "hidden by the marker");
    let mut upper = LayerTar::new();
    upper.dir("etc/.wh..wh..opq");
    upper.file("etc/.wh..wh..opq/cron.d/m", CRON_LINE);
    upper.file("etc/.wh.gone/child", "x");
    let image = Image::new(vec![lower.finish(), upper.finish()]);
    let report = inspect(oci_dir(&image, LayerCompression::Gzip), &[]);
    let paths = live_paths(&report);
    assert!(!paths.iter().any(|p| p.contains(".wh.")), "{paths:?}");
    assert!(!paths.contains("/etc/old file"), "the marker still hides");
    assert_eq!(report["summary"]["skipped"]["invalid"], 2);
}

#[test]
fn a_rootfs_file_named_like_a_whiteout_is_an_ordinary_file() {
    let root = fresh("rootfs");
    std::fs::create_dir_all(root.join("etc/cron.d")).unwrap();
    std::fs::write(root.join("etc/os-release"), "ID=debian\n").unwrap();
    std::fs::write(root.join("etc/.wh.passwd"), "x").unwrap();
    std::fs::write(root.join("etc/cron.d/.wh..wh..opq"), CRON_LINE).unwrap();
    let report = inspect(&root, &[]);
    assert!(live(&report, "/etc/.wh.passwd").is_some());
    assert!(live(&report, "/etc/cron.d/.wh..wh..opq").is_some());
    assert_eq!(report["summary"]["skipped"]["invalid"], 0);
}

/// The tree `umoci unpack` makes of `image`, read as a rootfs, against the
/// image read by imgscan: the same live paths and types.
fn assert_reads_like_umoci(image: &Image) {
    let layout = oci_dir(image, LayerCompression::Gzip);
    let bundle = fresh("bundle");
    sh(Command::new("umoci")
        .args(["unpack", "--rootless", "--image"])
        .arg(format!("{}:latest", layout.display()))
        .arg(&bundle));
    let unpacked = live_paths(&inspect(bundle.join("rootfs"), &[]));
    let ours = live_paths(&inspect(&layout, &[]));
    // umoci adds nothing but the tree; the root directory is not a row.
    assert_eq!(ours, unpacked);
}

#[test]
fn placement_agrees_with_umoci() {
    if !have_tool("umoci") {
        return;
    }
    let mut same = base();
    same.symlink("e", "etc");
    plant(&mut same, "e");
    assert_reads_like_umoci(&Image::new(vec![same.finish()]));

    let mut lower = base();
    lower.dir("usr");
    lower.dir("usr/lib");
    lower.symlink("lib", "usr/lib");
    lower.symlink("e", "/etc");
    let mut upper = LayerTar::new();
    plant(&mut upper, "e");
    upper.file("lib/libhide.so", "x");
    upper.symlink("b", "etc/cron.d");
    upper.file("b/n", CRON_LINE);
    assert_reads_like_umoci(&Image::new(vec![lower.finish(), upper.finish()]));
}
