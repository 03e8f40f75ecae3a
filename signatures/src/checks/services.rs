//! Services a server should not run: telnet, the r-services (rsh, rlogin,
//! rexec) and tftp send everything — passwords included — in clear text or
//! need none, and vsftpd with anonymous upload lets anyone drop a file.
//! A service counts when it is enabled: an active line in
//! `/etc/inetd.conf`, an `/etc/xinetd.d/` file not `disable = yes`, a
//! systemd `*.wants/` link, or a SysV `rc?.d/S*` link.

use super::info;
use crate::check::{Check, CheckContext, CheckInfo};
use imgscan_sbom::{Finding, Severity};

/// The services check.
pub struct Services;

const TELNET: CheckInfo = info(
    "service.telnet",
    Severity::High,
    "a telnet server is enabled (clear-text logins)",
);
const RSH: CheckInfo = info(
    "service.rsh",
    Severity::High,
    "rsh, rlogin or rexec is enabled (host-based trust, clear-text logins)",
);
const TFTP: CheckInfo = info(
    "service.tftp",
    Severity::Medium,
    "a TFTP server is enabled (no authentication at all)",
);
const VSFTPD: CheckInfo = info(
    "vsftpd.anonymous-upload",
    Severity::High,
    "vsftpd lets anonymous users upload files",
);
const INFO: &[CheckInfo] = &[TELNET, RSH, TFTP, VSFTPD];

/// The check of a service name or daemon path, if it is one of these.
fn classify(name: &str) -> Option<&'static CheckInfo> {
    let base = name.rsplit('/').next().unwrap_or(name);
    let base = base
        .trim_end_matches(".service")
        .trim_end_matches(".socket")
        .trim_end_matches('@');
    let base = base.strip_prefix("in.").unwrap_or(base);
    // SysV links: S01telnetd → telnetd.
    let base = base
        .strip_prefix('S')
        .map(|rest| rest.trim_start_matches(|c: char| c.is_ascii_digit()))
        .filter(|rest| rest.len() < base.len() - 1)
        .unwrap_or(base);
    match base {
        "telnet" | "telnetd" | "telnet-server" | "inetutils-telnetd" => Some(&TELNET),
        "shell" | "login" | "exec" | "rsh" | "rshd" | "rlogin" | "rlogind" | "rexec" | "rexecd" => {
            Some(&RSH)
        }
        "tftp" | "tftpd" | "tftpd-hpa" | "atftpd" | "tftp-server" => Some(&TFTP),
        _ => None,
    }
}

impl Check for Services {
    fn info(&self) -> &'static [CheckInfo] {
        INFO
    }

    fn globs(&self) -> &'static [&'static str] {
        &[
            "etc/inetd.conf",
            "etc/xinetd.d/*",
            "etc/vsftpd.conf",
            "etc/vsftpd/vsftpd.conf",
        ]
    }

    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        inetd(ctx, &mut out);
        xinetd(ctx, &mut out);
        let links = ctx.paths_where(|p| {
            let Ok(p) = std::str::from_utf8(p) else {
                return false;
            };
            let name = p.rsplit('/').next().unwrap_or(p);
            let wants = p.starts_with("etc/systemd/system/")
                && p.rsplit('/').nth(1).is_some_and(|d| d.ends_with(".wants"));
            let rc = p.starts_with("etc/rc") && p.contains(".d/S") && !p.starts_with("etc/rcS");
            (wants || rc) && classify(name).is_some()
        });
        for path in links {
            let name = String::from_utf8_lossy(path.rsplit(|&b| b == b'/').next().unwrap_or(&path))
                .into_owned();
            let Some(check) = classify(&name) else {
                continue;
            };
            out.push(ctx.finding(
                check,
                check.severity,
                (&path, None),
                format!("`{name}` is enabled at boot"),
                format!("enable link {name}"),
                "remove the package, or disable the service (`systemctl disable`, `update-rc.d … remove`); use SSH/SFTP instead",
            ));
        }
        vsftpd(ctx, &mut out);
        out
    }
}

fn inetd(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) {
    let path = b"etc/inetd.conf".as_slice();
    let Some(text) = ctx.text(path) else { return };
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        // service socket proto wait user server [args]: the service name
        // decides, else the daemon it runs.
        let check = fields
            .first()
            .and_then(|s| classify(s))
            .or_else(|| fields.get(5).and_then(|s| classify(s)))
            .or_else(|| fields.get(6).and_then(|s| classify(s)));
        if let Some(check) = check {
            out.push(ctx.finding(
                check,
                check.severity,
                (path, Some(index + 1)),
                format!("inetd runs `{}`", fields[0]),
                line.chars().take(200).collect(),
                "comment the line out in /etc/inetd.conf, or remove the package; use SSH/SFTP instead",
            ));
        }
    }
}

fn xinetd(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) {
    for path in ctx.paths_where(|p| p.starts_with(b"etc/xinetd.d/")) {
        let Some(text) = ctx.text(&path) else {
            continue;
        };
        let mut service = None;
        let mut server = None;
        let mut disabled = false;
        for line in text.lines().map(str::trim) {
            if let Some(name) = line.strip_prefix("service") {
                service = Some(name.trim().to_string());
            } else if let Some((key, value)) = line.split_once('=') {
                match key.trim() {
                    "disable" => disabled = value.trim() == "yes",
                    "server" => server = Some(value.trim().to_string()),
                    _ => {}
                }
            }
        }
        let Some(name) = service else { continue };
        let check = classify(&name).or_else(|| server.as_deref().and_then(classify));
        if let (Some(check), false) = (check, disabled) {
            out.push(ctx.finding(
                check,
                check.severity,
                (&path, None),
                format!("xinetd runs `{name}`"),
                format!("service {name}; disable is not yes"),
                "set `disable = yes` or remove the package; use SSH/SFTP instead",
            ));
        }
    }
}

fn vsftpd(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) {
    for path in [b"etc/vsftpd.conf".as_slice(), b"etc/vsftpd/vsftpd.conf"] {
        let Some(text) = ctx.text(path) else { continue };
        // vsftpd's defaults: anonymous_enable YES, write_enable and
        // anon_upload_enable NO.
        let (mut anonymous, mut write, mut upload, mut line) = (true, false, false, None);
        for (index, raw) in text.lines().enumerate() {
            let Some((key, value)) = raw.trim().split_once('=') else {
                continue;
            };
            let yes = value.trim().eq_ignore_ascii_case("yes");
            match key.trim() {
                "anonymous_enable" => anonymous = yes,
                "write_enable" => write = yes,
                "anon_upload_enable" | "anon_mkdir_write_enable" => {
                    upload |= yes;
                    if yes {
                        line = Some(index + 1);
                    }
                }
                _ => {}
            }
        }
        if anonymous && write && upload {
            out.push(ctx.finding(
                &VSFTPD,
                VSFTPD.severity,
                (path, line),
                "vsftpd accepts uploads from anonymous users".into(),
                "anonymous_enable, write_enable and anon_upload_enable are on".into(),
                "set `anonymous_enable=NO` (or `anon_upload_enable=NO`)",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgscan_sbom::test_tree::MapTree;

    fn ids(tree: MapTree) -> Vec<&'static str> {
        let mut ids: Vec<_> = Services
            .run(&CheckContext::new(&tree, &[]))
            .into_iter()
            .map(|f| f.id)
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn inetd_and_xinetd() {
        let inetd = "#telnet stream tcp nowait root /usr/sbin/tcpd /usr/sbin/in.telnetd\ntelnet stream tcp nowait root /usr/sbin/tcpd /usr/sbin/in.telnetd\nshell stream tcp nowait root /usr/sbin/tcpd /usr/sbin/in.rshd\ndiscard stream tcp nowait root internal\n";
        assert_eq!(
            ids(MapTree::new(&[("etc/inetd.conf", inetd)])),
            ["service.rsh", "service.telnet"]
        );
        let off = "service tftp\n{\n\tsocket_type = dgram\n\tserver = /usr/sbin/in.tftpd\n\tdisable = yes\n}\n";
        assert!(ids(MapTree::new(&[("etc/xinetd.d/tftp", off)])).is_empty());
        let on = off.replace("disable = yes", "disable = no");
        assert_eq!(
            ids(MapTree::new(&[("etc/xinetd.d/tftp", &on)])),
            ["service.tftp"]
        );
    }

    #[test]
    fn enable_links() {
        let tree = MapTree::new(&[("usr/lib/systemd/system/telnet.socket", "[Socket]\n")])
            .link(
                "etc/systemd/system/sockets.target.wants/telnet.socket",
                "/usr/lib/systemd/system/telnet.socket",
            )
            .link("etc/rc2.d/S01tftpd-hpa", "../init.d/tftpd-hpa")
            .link("etc/rc2.d/S01ssh", "../init.d/ssh")
            .link("etc/rc0.d/K01tftpd-hpa", "../init.d/tftpd-hpa");
        assert_eq!(ids(tree), ["service.telnet", "service.tftp"]);
    }

    #[test]
    fn vsftpd_anonymous_upload() {
        let debian = "listen=NO\nanonymous_enable=NO\nlocal_enable=YES\n#write_enable=YES\n#anon_upload_enable=YES\n";
        assert!(ids(MapTree::new(&[("etc/vsftpd.conf", debian)])).is_empty());
        let open = "anonymous_enable=YES\nwrite_enable=YES\nanon_upload_enable=YES\n";
        assert_eq!(
            ids(MapTree::new(&[("etc/vsftpd/vsftpd.conf", open)])),
            ["vsftpd.anonymous-upload"]
        );
        let defaults = "write_enable=YES\nanon_upload_enable=YES\n";
        assert_eq!(
            ids(MapTree::new(&[("etc/vsftpd.conf", defaults)])),
            ["vsftpd.anonymous-upload"],
            "anonymous login is vsftpd's default"
        );
    }
}
