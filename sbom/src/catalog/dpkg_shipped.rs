//! What dpkg can verify of a package's files, as `debsums` does: each line
//! of `info/NAME[:ARCH].md5sums` (distroless: `status.d/NAME.md5sums`), an
//! MD5 and a path, minus the package's conffiles (the status stanza's
//! `Conffiles:` field and `info/NAME[:ARCH].conffiles`: the administrator
//! may edit those), minus files the package no longer owns (a file another
//! package took over stays in the old one's `md5sums` but leaves its
//! `.list`). Each path is placed where dpkg put the file: a file another
//! package (or the administrator) diverted is at the divert-to path
//! (`var/lib/dpkg/diversions`), and links among its parents are resolved
//! in the image's own tree (merged `/usr`).

use super::CatalogInput;
use crate::digest::{DigestAlgorithm, ShippedDigest, ShippedFile, database_path};
use crate::tree::locate;
use std::collections::{HashMap, HashSet};

/// Where the diversions file is.
pub(super) const DIVERSIONS: &str = "var/lib/dpkg/diversions";

/// dpkg's diversions: a path, where files of other packages than the
/// diverting one go instead, and that package (`None`: a local diversion,
/// which applies to every package).
#[derive(Debug, Default)]
pub(super) struct Diversions {
    by_path: HashMap<Vec<u8>, (Vec<u8>, Option<String>)>,
}

impl Diversions {
    /// Reads `var/lib/dpkg/diversions` (lines in threes: from, to,
    /// package or `:`); a missing or short file diverts nothing more.
    pub(super) fn read(input: &CatalogInput<'_>) -> Self {
        let mut by_path = HashMap::new();
        if let Some(content) = input.tree.content(DIVERSIONS.as_bytes()) {
            let lines: Vec<&[u8]> = content.split(|&b| b == b'\n').collect();
            for triple in lines.chunks_exact(3) {
                let (Some(from), Some(to)) = (database_path(triple[0]), database_path(triple[1]))
                else {
                    continue;
                };
                let by = (triple[2] != b":").then(|| String::from_utf8_lossy(triple[2]).into());
                by_path.insert(from.to_vec(), (to.to_vec(), by));
            }
        }
        Diversions { by_path }
    }

    /// Where `package`'s copy of `path` is.
    fn place<'a>(&'a self, path: &'a [u8], package: &str) -> &'a [u8] {
        match self.by_path.get(path) {
            Some((to, by)) if by.as_deref() != Some(package) => to,
            _ => path,
        }
    }
}

/// The `md5sums` lines of one file: each digest with its path as written.
pub(super) fn md5sums(content: &[u8]) -> impl Iterator<Item = (ShippedDigest, &[u8])> {
    content.split(|&b| b == b'\n').filter_map(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let at = line.iter().position(|&b| b == b' ')?;
        let digest = ShippedDigest::from_hex(DigestAlgorithm::Md5, &line[..at])?;
        let path = line[at..].trim_ascii_start();
        Some((digest, path))
    })
}

/// The paths of a conffiles list: the first word of each line (a
/// `Conffiles:` field adds a digest and maybe `obsolete`), root-relative.
fn conffiles(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(|&b| b == b'\n').filter_map(|line| {
        let word = line.trim_ascii().split(|&b| b == b' ').next()?;
        database_path(word)
    })
}

/// The files of package `name` dpkg can verify. `stems` are the candidate
/// database names of its files without extension (`info/NAME:ARCH`,
/// `info/NAME`, or distroless `status.d/NAME`); `owned` the files
/// its `.list` holds (resolved), or `None` where there is no `.list`
/// (distroless, whose `md5sums` is the list); `field` the stanza's
/// `Conffiles:` value.
pub(super) fn shipped_files(
    input: &CatalogInput<'_>,
    name: &str,
    stems: &[String],
    owned: Option<&HashSet<&[u8]>>,
    field: Option<&str>,
    diversions: &Diversions,
) -> Vec<ShippedFile> {
    let Some(sums) = stems
        .iter()
        .find_map(|stem| input.tree.content(format!("{stem}.md5sums").as_bytes()))
    else {
        return Vec::new();
    };
    let mut config: HashSet<&[u8]> = field
        .map(|f| conffiles(f.as_bytes()).collect())
        .unwrap_or_default();
    if let Some(listed) = stems
        .iter()
        .find_map(|stem| input.tree.content(format!("{stem}.conffiles").as_bytes()))
    {
        config.extend(conffiles(listed));
    }
    let mut files = Vec::new();
    for (digest, raw) in md5sums(sums) {
        let Some(path) = database_path(raw) else {
            continue;
        };
        if config.contains(path) {
            continue;
        }
        if let Some(owned) = owned {
            let resolved = input.tree.resolve(path);
            if !owned.contains(resolved.as_deref().unwrap_or(path)) {
                continue;
            }
        }
        files.push(ShippedFile {
            path: locate(input.tree, diversions.place(path, name)),
            digest,
        });
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_tree::MapTree;

    fn input(tree: &MapTree) -> CatalogInput<'_> {
        CatalogInput {
            path: b"var/lib/dpkg/status",
            content: b"",
            os: None,
            tree,
        }
    }

    #[test]
    fn md5sums_lines_are_digest_and_path() {
        let parsed: Vec<(String, &[u8])> = md5sums(
            b"623e332d8ae2db8a2d050dcce9510b47  bin/dash\n\
              short  usr/x\n\
              33bbdf9b5abcff27bb89603648467d95  usr/share/doc/with space\r\n\
              no-separator\n\n",
        )
        .map(|(d, p)| (hex::encode(&d.value), p))
        .collect();
        assert_eq!(
            parsed,
            [
                ("623e332d8ae2db8a2d050dcce9510b47".into(), &b"bin/dash"[..]),
                (
                    "33bbdf9b5abcff27bb89603648467d95".into(),
                    &b"usr/share/doc/with space"[..]
                ),
            ]
        );
    }

    const SUM: &str = "d41d8cd98f00b204e9800998ecf8427e";

    #[test]
    fn conffiles_and_files_no_longer_owned_are_left_out() {
        let mut sums = format!(
            "{SUM}  bin/tool\n{SUM}  etc/tool.conf\n{SUM}  etc/other.conf\n{SUM}  usr/share/taken-over\n{SUM}  ../../etc/shadow\n{SUM}  usr/bin/"
        )
        .into_bytes();
        sums.extend_from_slice(b"\xff\n");
        let tree = MapTree::new(&[
            ("var/lib/dpkg/info/tool:amd64.md5sums", ""),
            ("var/lib/dpkg/info/tool:amd64.conffiles", "/etc/tool.conf\n"),
        ])
        .file("var/lib/dpkg/info/tool:amd64.md5sums", &sums)
        .file("usr/bin/tool", b"")
        .link("bin", "usr/bin");
        let owned: HashSet<&[u8]> = [
            &b"usr/bin/tool"[..],
            b"etc/tool.conf",
            b"etc/other.conf",
            b"usr/bin/\xff",
        ]
        .into();
        let stems = [
            "var/lib/dpkg/info/tool:amd64".to_string(),
            "var/lib/dpkg/info/tool".to_string(),
        ];
        let field = "\n/etc/other.conf 0123 obsolete";
        let files = shipped_files(
            &input(&tree),
            "tool",
            &stems,
            Some(&owned),
            Some(field),
            &Diversions::default(),
        );
        let paths: Vec<&[u8]> = files.iter().map(|f| f.path.as_slice()).collect();
        assert_eq!(paths, [&b"usr/bin/tool"[..], b"usr/bin/\xff"]);
        // Distroless: no `.list`, every line counts.
        let files = shipped_files(
            &input(&tree),
            "tool",
            &stems,
            None,
            None,
            &Diversions::default(),
        );
        assert_eq!(files.len(), 4, "all but the conffile and the escaping path");
    }

    #[test]
    fn files_diverted_by_another_package_are_at_the_divert_to_path() {
        let tree = MapTree::new(&[
            (
                DIVERSIONS,
                "/usr/bin/ps\n/usr/bin/ps.real\nprocps-wrapper\n/usr/bin/own\n/usr/bin/own.distrib\nprocps\n/usr/bin/local\n/usr/bin/local.orig\n:\n/dangling\n",
            ),
            (
                "var/lib/dpkg/info/procps.md5sums",
                &format!("{SUM}  usr/bin/ps\n{SUM}  usr/bin/own\n{SUM}  usr/bin/local\n"),
            ),
        ]);
        let diversions = Diversions::read(&input(&tree));
        let files = shipped_files(
            &input(&tree),
            "procps",
            &["var/lib/dpkg/info/procps".to_string()],
            None,
            None,
            &diversions,
        );
        let paths: Vec<&[u8]> = files.iter().map(|f| f.path.as_slice()).collect();
        assert_eq!(
            paths,
            [
                &b"usr/bin/ps.real"[..],
                b"usr/bin/own",
                b"usr/bin/local.orig"
            ]
        );
    }
}
