//! Which operating system an image holds, from the files distributions use
//! to say so: `etc/os-release` (or `usr/lib/os-release`), then the older
//! `etc/alpine-release`, `etc/redhat-release` and `etc/debian_version`.
//! The result names the distro in purls and picks the advisory ecosystem.

use crate::tree::FileTreeView;
use serde::Serialize;

/// The files OS detection reads, root-relative; a scan must capture them.
pub const OS_FILES: &[&str] = &[
    "etc/os-release",
    "usr/lib/os-release",
    "etc/alpine-release",
    "etc/redhat-release",
    "etc/debian_version",
];

/// The distribution an image is built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OsRelease {
    /// Lower-case distro id (`debian`, `alpine`, `rhel`, `rocky`, ...).
    pub id: String,
    /// Version as the distro writes it (`12`, `3.19.1`, `9.3`), if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// Human-readable name (`PRETTY_NAME`, else `NAME`), if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Detects the OS of the tree, or `None` when no known file says it.
pub fn detect_os(tree: &dyn FileTreeView) -> Option<OsRelease> {
    let text = |path: &str| tree.content(path.as_bytes()).map(String::from_utf8_lossy);
    if let Some(os) = text("etc/os-release").and_then(|t| parse_os_release(&t)) {
        return Some(os);
    }
    if let Some(os) = text("usr/lib/os-release").and_then(|t| parse_os_release(&t)) {
        return Some(os);
    }
    if let Some(t) = text("etc/alpine-release") {
        let version = t.trim();
        return Some(OsRelease {
            id: "alpine".into(),
            version_id: (!version.is_empty()).then(|| version.to_string()),
            name: Some("Alpine Linux".into()),
        });
    }
    if let Some(os) = text("etc/redhat-release").and_then(|t| parse_redhat_release(&t)) {
        return Some(os);
    }
    text("etc/debian_version").map(|t| parse_debian_version(&t))
}

/// Parses the `KEY=value` lines of an os-release file (values may be
/// single- or double-quoted, with backslash escapes in double quotes).
pub fn parse_os_release(text: &str) -> Option<OsRelease> {
    let mut id = None;
    let mut version_id = None;
    let mut name = None;
    let mut pretty = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        let value = unquote(raw.trim());
        if value.is_empty() {
            continue;
        }
        match key.trim() {
            "ID" => id = Some(value.to_ascii_lowercase()),
            "VERSION_ID" => version_id = Some(value),
            "NAME" => name = Some(value),
            "PRETTY_NAME" => pretty = Some(value),
            _ => {}
        }
    }
    Some(OsRelease {
        id: id?,
        version_id,
        name: pretty.or(name),
    })
}

fn unquote(raw: &str) -> String {
    let bytes = raw.as_bytes();
    if raw.len() >= 2 && bytes[0] == b'\'' && bytes[raw.len() - 1] == b'\'' {
        return raw[1..raw.len() - 1].to_string();
    }
    if raw.len() >= 2 && bytes[0] == b'"' && bytes[raw.len() - 1] == b'"' {
        let mut out = String::new();
        let mut chars = raw[1..raw.len() - 1].chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            } else {
                out.push(c);
            }
        }
        return out;
    }
    raw.to_string()
}

/// Parses `etc/redhat-release`, e.g. `Rocky Linux release 8.9 (Green Obsidian)`.
fn parse_redhat_release(text: &str) -> Option<OsRelease> {
    let line = text.lines().next()?.trim();
    let (product, rest) = line.split_once(" release ")?;
    let version = rest.split_whitespace().next().map(str::to_string);
    let lower = product.to_ascii_lowercase();
    let id = if lower.starts_with("red hat") {
        "rhel"
    } else if lower.starts_with("centos") {
        "centos"
    } else if lower.starts_with("rocky") {
        "rocky"
    } else if lower.starts_with("almalinux") {
        "almalinux"
    } else if lower.starts_with("fedora") {
        "fedora"
    } else {
        return Some(OsRelease {
            id: lower.replace(' ', "-"),
            version_id: version,
            name: Some(line.into()),
        });
    };
    Some(OsRelease {
        id: id.into(),
        version_id: version,
        name: Some(line.into()),
    })
}

/// Parses `etc/debian_version`: `12.5` means Debian 12; a codename such as
/// `bookworm/sid` gives no version.
fn parse_debian_version(text: &str) -> OsRelease {
    let major = text.trim().split('.').next().unwrap_or("");
    let version_id =
        (!major.is_empty() && major.bytes().all(|b| b.is_ascii_digit())).then(|| major.to_string());
    OsRelease {
        id: "debian".into(),
        version_id,
        name: Some("Debian GNU/Linux".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_tree::MapTree as Files;

    #[test]
    fn os_release_with_quotes_and_comments() {
        let text = "# comment\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\nPRETTY_NAME='Debian GNU/Linux 12 (bookworm)'\n";
        let os = parse_os_release(text).unwrap();
        assert_eq!(os.id, "debian");
        assert_eq!(os.version_id.as_deref(), Some("12"));
        assert_eq!(os.name.as_deref(), Some("Debian GNU/Linux 12 (bookworm)"));
    }

    #[test]
    fn os_release_without_id_is_not_an_os() {
        assert_eq!(parse_os_release("NAME=x\n"), None);
    }

    #[test]
    fn fallback_files_in_order() {
        let tree = Files::new(&[("etc/alpine-release", "3.19.1\n")]);
        assert_eq!(
            detect_os(&tree).unwrap().version_id.as_deref(),
            Some("3.19.1")
        );
        let tree = Files::new(&[(
            "etc/redhat-release",
            "Rocky Linux release 8.9 (Green Obsidian)\n",
        )]);
        let os = detect_os(&tree).unwrap();
        assert_eq!(
            (os.id.as_str(), os.version_id.as_deref()),
            ("rocky", Some("8.9"))
        );
        let tree = Files::new(&[("etc/debian_version", "12.5\n")]);
        assert_eq!(detect_os(&tree).unwrap().version_id.as_deref(), Some("12"));
        let tree = Files::new(&[("etc/debian_version", "bookworm/sid\n")]);
        assert_eq!(detect_os(&tree).unwrap().version_id, None);
        let tree = Files::new(&[
            ("usr/lib/os-release", "ID=ubuntu\nVERSION_ID=22.04\n"),
            ("etc/debian_version", "bookworm/sid\n"),
        ]);
        assert_eq!(detect_os(&tree).unwrap().id, "ubuntu");
    }
}
