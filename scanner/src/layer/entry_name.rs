//! Normalisation of entry names as a layer stores them: `./a//b/` becomes
//! `a/b`; a name that is absolute or climbs out with `..` escapes the tree
//! and is never used as a path.

/// A name that does not stay inside the image tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadName {
    /// Starts with `/`.
    Absolute,
    /// Contains a `..` component.
    ParentDir,
    /// Contains a NUL byte.
    Nul,
    /// Longer than the configured limit.
    TooLong,
}

impl BadName {
    /// Why the name was refused, for an unknown's reason.
    pub fn reason(self) -> &'static str {
        match self {
            BadName::Absolute => "absolute entry name escapes the image tree; skipped",
            BadName::ParentDir => "entry name with `..` escapes the image tree; skipped",
            BadName::Nul => "entry name contains a NUL byte; skipped",
            BadName::TooLong => "entry name longer than the limit; skipped",
        }
    }
}

/// Normalises a layer entry name to a root-relative path (`""` is the root).
pub fn normalize(name: &[u8], max_len: usize) -> Result<Vec<u8>, BadName> {
    if name.len() > max_len {
        return Err(BadName::TooLong);
    }
    if name.contains(&0) {
        return Err(BadName::Nul);
    }
    if name.first() == Some(&b'/') {
        return Err(BadName::Absolute);
    }
    let mut out = Vec::with_capacity(name.len());
    for part in name.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => return Err(BadName::ParentDir),
            _ => {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(part);
            }
        }
    }
    Ok(out)
}

/// Splits a root-relative path into its parent and its last component.
pub fn split_parent(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&[], path),
    }
}

/// Joins a root-relative parent and a component.
pub fn join(parent: &[u8], name: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parent.len() + 1 + name.len());
    out.extend_from_slice(parent);
    if !parent.is_empty() {
        out.push(b'/');
    }
    out.extend_from_slice(name);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised() {
        assert_eq!(normalize(b"./etc//passwd", 100).unwrap(), b"etc/passwd");
        assert_eq!(normalize(b"usr/bin/", 100).unwrap(), b"usr/bin");
        assert_eq!(normalize(b"./", 100).unwrap(), b"");
        assert_eq!(normalize(b"a/\xff/b", 100).unwrap(), b"a/\xff/b");
    }

    #[test]
    fn escaping_names_are_refused() {
        assert_eq!(normalize(b"../etc/passwd", 100), Err(BadName::ParentDir));
        assert_eq!(normalize(b"a/../../b", 100), Err(BadName::ParentDir));
        assert_eq!(normalize(b"/etc/passwd", 100), Err(BadName::Absolute));
        assert_eq!(normalize(b"a\0b", 100), Err(BadName::Nul));
        assert_eq!(normalize(&[b'a'; 101], 100), Err(BadName::TooLong));
    }

    #[test]
    fn parent_split_and_join() {
        assert_eq!(split_parent(b"a/b/c"), (&b"a/b"[..], &b"c"[..]));
        assert_eq!(split_parent(b"c"), (&b""[..], &b"c"[..]));
        assert_eq!(join(b"", b"x"), b"x");
        assert_eq!(join(b"a", b"x"), b"a/x");
    }
}
