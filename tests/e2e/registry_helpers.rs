//! Docker credential helpers against the real registry behind htpasswd
//! auth: `credsStore` and `credHelpers` (the registry's own helper first)
//! run `docker-credential-NAME get` with the host on stdin; a helper that
//! has nothing means anonymous; a failing, missing or silent helper is
//! exit 2 naming it; a secret never appears in a message or a report.

use crate::registry::{json_of, run_clean, unique_image};
use crate::registry_server::{USER, auth_registry};
use crate::support::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A secret a helper hands out that the registry does not accept.
const WRONG_SECRET: &str = "wrong-secret-7731";

/// A directory of helper scripts for `host`: `good` answers with the
/// registry's user, `wrong` with a wrong secret, `nothing` has no
/// credentials, `broken` fails, `silent` never answers.
fn helpers(host: &str) -> PathBuf {
    let dir = fresh("helpers");
    std::fs::create_dir_all(&dir).unwrap();
    let answer = |user: &str, secret: &str| {
        format!(
            "read -r server\n[ \"$1\" = get ] || exit 3\n\
             if [ \"$server\" = '{host}' ]; then\n\
               printf '{{\"ServerURL\":\"%s\",\"Username\":\"{user}\",\"Secret\":\"{secret}\"}}\\n' \"$server\"\n\
             else echo 'credentials not found in native keychain'; exit 1; fi\n"
        )
    };
    let scripts = [
        ("good", answer(USER.0, USER.1)),
        ("wrong", answer(USER.0, WRONG_SECRET)),
        (
            "nothing",
            "cat >/dev/null; echo 'credentials not found in native keychain'; exit 1\n".into(),
        ),
        (
            "broken",
            "cat >/dev/null; echo 'keychain is locked' >&2; exit 4\n".into(),
        ),
        ("silent", "exec sleep 30\n".into()),
    ];
    for (name, body) in scripts {
        let path = dir.join(format!("docker-credential-imgscan-{name}"));
        std::fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

/// Runs `inspect -f json` of `target` with `config` as the Docker config
/// and `helpers` first on PATH.
fn with_config(target: &str, config: serde_json::Value, helpers: &Path, extra: &[&str]) -> Run {
    let docker_config = fresh("docker-config-helpers");
    std::fs::create_dir_all(&docker_config).unwrap();
    std::fs::write(docker_config.join("config.json"), config.to_string()).unwrap();
    let path = format!(
        "{}:{}",
        helpers.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut args = vec!["inspect", "-f", "json", target];
    args.extend(extra);
    run_clean(&args, |cmd| {
        cmd.env("DOCKER_CONFIG", &docker_config).env("PATH", path);
    })
}

#[test]
fn credential_helpers_from_creds_store_and_cred_helpers() {
    let Some(registry) = auth_registry() else {
        return;
    };
    let (pushed, _) = unique_image(registry, "helped");
    let helpers = helpers(&registry.host);
    let host = registry.host.as_str();
    let store = with_config(
        &pushed,
        serde_json::json!({ "credsStore": "imgscan-good" }),
        &helpers,
        &[],
    );
    let report = json_of(&store);
    assert_eq!(report["target"]["kind"], "registry");
    assert!(!store.stdout.contains(USER.1) && !store.stderr.contains(USER.1));

    let own_first = with_config(
        &pushed,
        serde_json::json!({ "credsStore": "imgscan-broken", "credHelpers": { host: "imgscan-good" } }),
        &helpers,
        &[],
    );
    assert_eq!(
        own_first.code, 0,
        "the registry's own helper: {}",
        own_first.stderr
    );

    let nothing = with_config(
        &pushed,
        serde_json::json!({ "credsStore": "imgscan-nothing" }),
        &helpers,
        &[],
    );
    assert_eq!(nothing.code, 2);
    assert!(
        nothing.stderr.contains("Not authorized") && !nothing.stderr.contains("credential helper"),
        "no credentials is an anonymous pull, refused: {}",
        nothing.stderr
    );
}

#[test]
fn failing_helpers_are_named_and_secrets_never_shown() {
    let Some(registry) = auth_registry() else {
        return;
    };
    let (pushed, _) = unique_image(registry, "helper-errors");
    let helpers = helpers(&registry.host);
    let fails = |store: &str, extra: &[&str]| {
        let done = with_config(
            &pushed,
            serde_json::json!({ "credsStore": store }),
            &helpers,
            extra,
        );
        assert_eq!(done.code, 2, "{store}: {}", done.stdout);
        assert!(!done.stderr.contains(WRONG_SECRET), "{}", done.stderr);
        done.stderr
    };
    let broken = fails("imgscan-broken", &[]);
    assert!(
        broken.contains("docker-credential-imgscan-broken")
            && broken.contains("keychain is locked"),
        "{broken}"
    );
    let missing = fails("imgscan-not-installed", &[]);
    assert!(
        missing.contains("docker-credential-imgscan-not-installed")
            && missing.contains("not found on PATH"),
        "{missing}"
    );
    let wrong = fails("imgscan-wrong", &[]);
    assert!(wrong.contains("Not authorized"), "{wrong}");
    let started = Instant::now();
    let silent = fails("imgscan-silent", &["--registry-timeout", "1"]);
    assert!(
        silent.contains("docker-credential-imgscan-silent")
            && silent.contains("no answer within 1 s"),
        "{silent}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the helper was not waited for"
    );
}
