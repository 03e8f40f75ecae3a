//! Docker: a daemon that listens on TCP without `--tlsverify` gives anyone
//! who reaches the port root on the host — the door most container miners
//! come in through. Read from `/etc/docker/daemon.json` (`hosts`,
//! `tlsverify`) and from the unit, its drop-ins and the distro defaults
//! files that carry `dockerd -H tcp://…` (`/etc/default/docker`,
//! `/etc/sysconfig/docker`).

use super::{info, logical_lines};
use crate::check::{Check, CheckContext, CheckInfo};
use imgscan_sbom::{Finding, Severity};

/// The Docker daemon check.
pub struct Docker;

const TCP: CheckInfo = info(
    "docker.tcp-without-tls",
    Severity::Critical,
    "the Docker daemon listens on TCP without TLS client verification (CRITICAL on every interface, MEDIUM on loopback)",
);

const REMEDY: &str = "listen on the unix socket only, or add --tlsverify with tlscacert/tlscert/tlskey; never expose 2375";

/// The unit files and drop-ins that start dockerd.
fn is_daemon_unit(path: &[u8]) -> bool {
    let Ok(path) = std::str::from_utf8(path) else {
        return false;
    };
    let dirs = [
        "etc/systemd/system/",
        "usr/lib/systemd/system/",
        "lib/systemd/system/",
        "run/systemd/system/",
    ];
    dirs.iter().any(|d| {
        path.strip_prefix(d).is_some_and(|rest| {
            rest == "docker.service"
                || rest
                    .strip_prefix("docker.service.d/")
                    .is_some_and(|f| f.ends_with(".conf"))
        })
    }) || matches!(path, "etc/default/docker" | "etc/sysconfig/docker")
}

impl Check for Docker {
    fn info(&self) -> &'static [CheckInfo] {
        std::slice::from_ref(&TCP)
    }

    fn globs(&self) -> &'static [&'static str] {
        &[
            "etc/docker/daemon.json",
            "etc/systemd/system/docker.service",
            "etc/systemd/system/docker.service.d/*.conf",
            "usr/lib/systemd/system/docker.service",
            "usr/lib/systemd/system/docker.service.d/*.conf",
            "lib/systemd/system/docker.service",
            "lib/systemd/system/docker.service.d/*.conf",
            "run/systemd/system/docker.service.d/*.conf",
            "etc/default/docker",
            "etc/sysconfig/docker",
        ]
    }

    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        let path = b"etc/docker/daemon.json".as_slice();
        if let Some(text) = ctx.text(path)
            && let Ok(config) = serde_json::from_str::<serde_json::Value>(&text)
        {
            let verified = config["tlsverify"].as_bool() == Some(true);
            let hosts = config["hosts"].as_array().cloned().unwrap_or_default();
            for host in hosts.iter().filter_map(|h| h.as_str()) {
                if !verified && host.starts_with("tcp://") {
                    out.push(finding(ctx, (path, None), host, "daemon.json `hosts`"));
                }
            }
        }
        for path in ctx.paths_where(is_daemon_unit) {
            let Some(text) = ctx.text(&path) else {
                continue;
            };
            for (line, command) in logical_lines(&text) {
                if command.contains("--tlsverify") {
                    continue;
                }
                for host in tcp_hosts(&command) {
                    out.push(finding(ctx, (&path, Some(line)), &host, "dockerd `-H`"));
                }
            }
        }
        out
    }
}

/// The `tcp://` addresses given to `-H`/`--host` on a command line.
fn tcp_hosts(command: &str) -> Vec<String> {
    let words: Vec<&str> = command
        .split(|c: char| c.is_whitespace() || c == '"' || c == '\'')
        .filter(|w| !w.is_empty())
        .collect();
    let mut hosts = Vec::new();
    for (i, word) in words.iter().enumerate() {
        let value = match *word {
            "-H" | "--host" => words.get(i + 1).copied(),
            w => w
                .strip_prefix("-H=")
                .or_else(|| w.strip_prefix("--host="))
                .or_else(|| w.strip_prefix("-H")),
        };
        if let Some(v) = value.filter(|v| v.starts_with("tcp://")) {
            hosts.push(v.to_string());
        }
    }
    hosts
}

fn finding(ctx: &CheckContext<'_>, at: (&[u8], Option<usize>), host: &str, how: &str) -> Finding {
    let address = host.trim_start_matches("tcp://");
    let loopback = address.starts_with("127.")
        || address.starts_with("localhost")
        || address.starts_with("[::1]");
    let severity = if loopback {
        Severity::Medium
    } else {
        Severity::Critical
    };
    ctx.finding(
        &TCP,
        severity,
        at,
        format!("the Docker daemon listens on `{host}` without TLS client verification"),
        format!("{how}: {host}; no tlsverify"),
        REMEDY,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgscan_sbom::test_tree::MapTree;

    fn found(files: &[(&str, &str)]) -> Vec<(Severity, Option<u32>)> {
        let tree = MapTree::new(files);
        Docker
            .run(&CheckContext::new(&tree, &[]))
            .into_iter()
            .map(|f| (f.severity, f.line))
            .collect()
    }

    #[test]
    fn daemon_json_hosts() {
        let open = r#"{"hosts": ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2375"]}"#;
        assert_eq!(
            found(&[("etc/docker/daemon.json", open)]),
            [(Severity::Critical, None)]
        );
        let verified = r#"{"hosts": ["tcp://0.0.0.0:2376"], "tlsverify": true, "tlscacert": "/etc/docker/ca.pem"}"#;
        assert!(found(&[("etc/docker/daemon.json", verified)]).is_empty());
        let socket = r#"{"hosts": ["unix:///var/run/docker.sock"], "log-driver": "json-file"}"#;
        assert!(found(&[("etc/docker/daemon.json", socket)]).is_empty());
        let local = r#"{"hosts": ["tcp://127.0.0.1:2375"]}"#;
        assert_eq!(
            found(&[("etc/docker/daemon.json", local)]),
            [(Severity::Medium, None)]
        );
    }

    #[test]
    fn unit_drop_ins_and_defaults() {
        let drop_in = "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H fd:// -H tcp://0.0.0.0:2375 --containerd=/run/containerd/containerd.sock\n";
        assert_eq!(
            found(&[("etc/systemd/system/docker.service.d/override.conf", drop_in)]),
            [(Severity::Critical, Some(3))]
        );
        let debian = "[Service]\nExecStart=/usr/sbin/dockerd -H fd:// $DOCKER_OPTS\n";
        assert!(found(&[("lib/systemd/system/docker.service", debian)]).is_empty());
        assert_eq!(
            found(&[(
                "etc/default/docker",
                "DOCKER_OPTS=\"--host=tcp://0.0.0.0:2375\"\n"
            )]),
            [(Severity::Critical, Some(1))]
        );
        let tls =
            "ExecStart=/usr/bin/dockerd --tlsverify --tlscacert=/ca.pem -H=tcp://0.0.0.0:2376\n";
        assert!(found(&[("etc/systemd/system/docker.service", tls)]).is_empty());
    }
}
