//! Registry targets against a real registry (Debian's `docker-registry` on
//! 127.0.0.1, filled by `skopeo`): a pulled image reads exactly like its
//! layout, by tag and by digest; a multi-platform index is narrowed by
//! `--platform`; basic auth from flags, environment or the Docker config;
//! TLS with a private CA given by `--registry-ca`;
//! an unknown tag, a closed port, wrong credentials and a tampered blob
//! are clear errors.

use crate::registry_server::{Registry, USER, auth_registry, make_ca, open_registry, tls_registry};
use crate::support::*;
use base64::Engine;
use imgscan_fixtures::*;
use serde_json::Value;
use sha2::Digest;
use std::path::Path;

/// Runs imgscan with an empty Docker config, so the host's logins never
/// leak into a test, plus `adjust`.
pub(crate) fn run_clean(args: &[&str], adjust: impl FnOnce(&mut std::process::Command)) -> Run {
    let docker_config = fresh("docker-config-empty");
    std::fs::create_dir_all(&docker_config).unwrap();
    run_with(args, |cmd| {
        cmd.env("DOCKER_CONFIG", &docker_config)
            .env_remove("IMGSCAN_REGISTRY_USERNAME")
            .env_remove("IMGSCAN_REGISTRY_PASSWORD");
        adjust(cmd);
    })
}

pub(crate) fn json_of(done: &Run) -> Value {
    json_exiting(done, 0)
}

/// The JSON report of a scan that exited `code`.
pub(crate) fn json_exiting(done: &Run, code: i32) -> Value {
    assert_eq!(done.code, code, "{}", done.stderr);
    let report: Value = serde_json::from_str(&done.stdout).unwrap();
    validate(&report);
    report
}

/// A one-layer image with a file only it holds, pushed as `repo:1`.
pub(crate) fn unique_image(registry: &Registry, repo: &str) -> (String, std::path::PathBuf) {
    let mut layer = LayerTar::new();
    layer.file("etc/os-release", "ID=debian\nVERSION_ID=12\n");
    layer.file("srv/which", repo);
    let dir = oci_dir(&Image::new(vec![layer.finish()]), LayerCompression::Gzip);
    let pushed = registry.push(
        &format!("oci:{}", dir.display()),
        &format!("{repo}:1"),
        false,
    );
    (pushed, dir)
}

#[test]
fn a_pulled_image_reads_like_its_layout() {
    let Some(registry) = open_registry() else {
        return;
    };
    let layout = oci_dir(&demo(), LayerCompression::Gzip);
    let pushed = registry.push(&format!("oci:{}", layout.display()), "demo/app:1.0", false);
    let db = empty_advisory_db();
    // The demo's miner fails the gate, pulled or not.
    let scan = |target: &str| {
        json_exiting(
            &run_clean(
                &["scan", "-f", "json", "--db", db.to_str().unwrap(), target],
                |_| {},
            ),
            1,
        )
    };
    let local = scan(layout.to_str().unwrap());
    let pulled = scan(&pushed);
    assert_eq!(pulled["target"]["kind"], "registry");
    assert_eq!(
        pulled["target"]["digest"], local["target"]["digest"],
        "skopeo pushes the manifest unchanged: same digest"
    );
    for key in ["packages", "vulnerabilities", "malware", "findings"] {
        assert_eq!(pulled[key], local[key], "{key}");
    }
    let layers = |r: &Value| -> Vec<(Value, Value, Value)> {
        r["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["digest"].clone(),
                    l["diff_id"].clone(),
                    l["entries"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(layers(&pulled), layers(&local));
    assert_eq!(pulled["packages"].as_array().unwrap().len(), 9);

    // The final tree, path by path, and the same image by digest and with
    // the scheme prefix.
    let files = |target: &str| {
        let done = run_clean(&["inspect", "--files", "-f", "json", target], |_| {});
        file_rows(&json_of(&done))
    };
    let expected = files(layout.to_str().unwrap());
    assert_eq!(files(&pushed), expected);
    let digest = local["target"]["digest"].as_str().unwrap();
    let by_digest = format!("{}/demo/app@{digest}", registry.host);
    assert_eq!(files(&by_digest), expected);
    assert_eq!(files(&format!("registry:{pushed}")), expected);
}

#[test]
fn a_multi_platform_index_is_narrowed_by_platform() {
    let Some(registry) = open_registry() else {
        return;
    };
    let dir = two_arch_layout("registry-multi");
    nest_index(&dir);
    let pushed = registry.push(&format!("oci:{}", dir.display()), "multi:2", true);
    let inspect_with = |extra: &[&str]| {
        let mut args = vec!["inspect", "-f", "json", &pushed];
        args.extend(extra);
        json_of(&run_clean(&args, |_| {}))
    };
    let arm_report = inspect_with(&["--platform", "linux/arm64"]);
    assert_eq!(arch_of(&arm_report), "linux/arm64");
    let host = host_platform();
    assert_eq!(arch_of(&inspect_with(&[])), host);
    let done = run_clean(&["inspect", &pushed, "--platform", "linux/s390x"], |_| {});
    assert_eq!(done.code, 2);
    assert!(
        done.stderr.contains("linux/amd64, linux/arm64"),
        "{}",
        done.stderr
    );
}

/// Moves the layout's manifests into one nested image index, as a
/// multi-platform image is stored (skopeo copies one top-level entry).
fn nest_index(dir: &Path) {
    let top: Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let nested = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": top["manifests"],
    })
    .to_string();
    let hex = hex::encode(sha2::Sha256::digest(nested.as_bytes()));
    std::fs::write(dir.join("blobs/sha256").join(&hex), &nested).unwrap();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": format!("sha256:{hex}"),
            "size": nested.len(),
        }],
    });
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
}

#[test]
fn registry_errors_name_the_reference() {
    let Some(registry) = open_registry() else {
        return;
    };
    let (pushed, _) = unique_image(registry, "errors");
    let missing_tag = pushed.replace(":1", ":nope");
    let done = run_clean(&["inspect", &missing_tag], |_| {});
    assert_eq!(done.code, 2);
    assert!(
        done.stderr.contains(&missing_tag) && done.stderr.contains("manifest unknown"),
        "{}",
        done.stderr
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let done = run_clean(&["inspect", &format!("127.0.0.1:{port}/app:1")], |_| {});
    assert_eq!(done.code, 2);
    assert!(
        done.stderr.contains(&format!("127.0.0.1:{port}/app:1"))
            && done.stderr.to_lowercase().contains("connection refused")
            && !done.stderr.contains("gave up"),
        "{}",
        done.stderr
    );
    let done = run_clean(&["inspect", "registry:Not A Reference"], |_| {});
    assert_eq!(done.code, 2);
    assert!(
        done.stderr.contains("not an image reference"),
        "{}",
        done.stderr
    );
}

#[test]
fn a_tampered_layer_blob_is_refused() {
    let Some(registry) = open_registry() else {
        return;
    };
    let (pushed, dir) = unique_image(registry, "tampered");
    let layer = inspect(&dir, &[])["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let blob = registry.blob_file(&layer);
    let mut bytes = std::fs::read(&blob).unwrap();
    let last = bytes.len() - 9;
    bytes[last] ^= 0xff;
    std::fs::write(&blob, bytes).unwrap();
    let done = run_clean(&["inspect", &pushed], |_| {});
    assert_eq!(done.code, 2, "{}", done.stdout);
    assert!(
        done.stderr.contains("layer 0")
            && done.stderr.contains(layer.trim_start_matches("sha256:")),
        "names the layer and its blob: {}",
        done.stderr
    );
}

#[test]
fn credentials_from_flags_environment_or_docker_config() {
    let Some(registry) = auth_registry() else {
        return;
    };
    let (pushed, _) = unique_image(registry, "private");
    let anonymous = run_clean(&["inspect", &pushed], |_| {});
    assert_eq!(anonymous.code, 2);
    assert!(
        anonymous.stderr.contains(&pushed) && anonymous.stderr.contains("Not authorized"),
        "{}",
        anonymous.stderr
    );
    let with_password = |password: &str| {
        let args = [
            "inspect",
            "-f",
            "json",
            &pushed,
            "--registry-username",
            USER.0,
            "--registry-password",
            password,
        ];
        run_clean(&args, |_| {})
    };
    let wrong = with_password("not-the-password-42");
    assert_eq!(wrong.code, 2, "{}", wrong.stdout);
    assert!(
        !wrong.stderr.contains("not-the-password-42"),
        "no password in messages: {}",
        wrong.stderr
    );
    assert_eq!(
        json_of(&with_password(USER.1))["target"]["kind"],
        "registry"
    );
    let env = run_clean(&["inspect", &pushed], |cmd| {
        cmd.env("IMGSCAN_REGISTRY_USERNAME", USER.0)
            .env("IMGSCAN_REGISTRY_PASSWORD", USER.1);
    });
    assert_eq!(env.code, 0, "{}", env.stderr);

    let docker_config = fresh("docker-config-login");
    std::fs::create_dir_all(&docker_config).unwrap();
    write_docker_login(&docker_config, &registry.host);
    let from_config = run_clean(&["inspect", &pushed], |cmd| {
        cmd.env("DOCKER_CONFIG", &docker_config);
    });
    assert_eq!(from_config.code, 0, "{}", from_config.stderr);
}

/// Writes `config.json` as `docker login` does: base64 `user:password`.
fn write_docker_login(dir: &Path, host: &str) {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", USER.0, USER.1));
    let config = serde_json::json!({ "auths": { host: { "auth": token } } });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
}

#[test]
fn a_private_ca_is_trusted_only_when_given() {
    let Some(registry) = tls_registry() else {
        return;
    };
    let (pushed, _) = unique_image(registry, "tls");
    let ca = registry.ca.as_ref().unwrap();
    let trusted = run_clean(
        &[
            "inspect",
            "-f",
            "json",
            &pushed,
            "--registry-ca",
            ca.to_str().unwrap(),
        ],
        |_| {},
    );
    assert_eq!(json_of(&trusted)["target"]["kind"], "registry");

    // Without the CA a loopback registry is spoken to in plain HTTP, which
    // this one refuses; with another CA its certificate is not trusted.
    let plain = run_clean(&["inspect", &pushed], |_| {});
    assert_eq!(plain.code, 2, "{}", plain.stdout);
    let other_dir = fresh("other-ca");
    std::fs::create_dir_all(&other_dir).unwrap();
    let other = make_ca(&other_dir, "other", false);
    let untrusted = run_clean(
        &["inspect", &pushed, "--registry-ca", other.to_str().unwrap()],
        |_| {},
    );
    assert_eq!(untrusted.code, 2, "{}", untrusted.stdout);
    assert!(
        untrusted.stderr.to_lowercase().contains("certificate")
            && !untrusted.stderr.contains("gave up"),
        "a TLS failure is an answer, not retried: {}",
        untrusted.stderr
    );
    let not_pem = fresh("not-a-ca.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let bad = run_clean(
        &[
            "inspect",
            &pushed,
            "--registry-ca",
            not_pem.to_str().unwrap(),
        ],
        |_| {},
    );
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("not a PEM certificate"),
        "{}",
        bad.stderr
    );
}
