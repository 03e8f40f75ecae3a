//! Images whose metadata multiplies the work: one layer listed many times,
//! many small decompression bombs. A repeated blob is read once and applied
//! again as the same content; all the layers of an image share one
//! expansion budget (`--max-image-size`).

use crate::support::*;
use imgscan_fixtures::*;
use serde_json::Value;
use std::path::PathBuf;

/// A layer holding `name` with `size` zero bytes (a gzip bomb in small).
fn zeros(name: &str, size: usize) -> Vec<u8> {
    let mut layer = LayerTar::new();
    layer.file(name, vec![0u8; size]);
    layer.finish()
}

fn docker_gzip(image: &Image) -> PathBuf {
    let archive = fresh("repeat.tar.gz");
    write_docker_archive(&archive, image, DockerLayout::Oci, ArchiveCompression::Gzip).unwrap();
    archive
}

fn expansion_unknowns(report: &Value) -> Vec<String> {
    report["unknowns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["reason"].as_str().unwrap().to_string())
        .filter(|r| r.contains("expands past"))
        .collect()
}

#[test]
fn a_layer_listed_a_hundred_times_is_read_once() {
    let mut layers = vec![zeros("opt/blob", 8 << 20)];
    let mut top = LayerTar::new();
    top.file("etc/os-release", "ID=debian\nVERSION_ID=12\n");
    layers.extend(std::iter::repeat_n(layers[0].clone(), 99));
    layers.push(top.finish());
    let image = Image::new(layers);
    // 100 copies of 8 MiB would be 800 MiB: over 64 MiB unless read once.
    for target in [oci_dir(&image, LayerCompression::Gzip), docker_gzip(&image)] {
        let report = inspect(&target, &["--max-image-size", "64MiB"]);
        assert_eq!(report["layers"].as_array().unwrap().len(), 101);
        assert_eq!(
            expansion_unknowns(&report),
            Vec::<String>::new(),
            "{target:?}"
        );
        assert_eq!(report["summary"]["skipped"]["over_expansion_limit"], 0);
        let blob = live(&report, "/opt/blob").expect("the layer's file");
        assert_eq!(blob["layer"], 99, "the last copy put it there");
        assert_eq!(report["target"]["os"]["id"], "debian");
    }
}

#[test]
fn a_repeated_layer_brings_back_what_a_layer_between_deleted() {
    let mut a = LayerTar::new();
    a.file("etc/cron.d/m", "* * * * * root /tmp/x\n");
    let a = a.finish();
    let mut b = LayerTar::new();
    b.file("etc/cron.d/.wh.m", "");
    let image = Image::new(vec![a.clone(), b.finish(), a]);
    let report = inspect(oci_dir(&image, LayerCompression::Gzip), &[]);
    assert_eq!(live(&report, "/etc/cron.d/m").unwrap()["layer"], 2);
}

#[test]
fn many_small_bombs_share_one_image_budget() {
    let layers: Vec<Vec<u8>> = (0..12)
        .map(|i| zeros(&format!("bomb{i}"), 32 << 20))
        .collect();
    let image = Image::new(layers);
    let report = inspect(
        oci_dir(&image, LayerCompression::Gzip),
        &["--max-image-size", "128MiB"],
    );
    let reasons = expansion_unknowns(&report);
    assert!(!reasons.is_empty(), "{:#}", report["unknowns"]);
    assert!(
        reasons
            .iter()
            .all(|r| r.contains("image expands past the limit of 134217728 bytes")),
        "{reasons:?}"
    );
    let files = file_rows(&report)
        .into_iter()
        .filter(|r| r.0.starts_with("/bomb"))
        .count();
    assert!(files <= 4, "{files} bombs of 32 MiB read under 128 MiB");
}
