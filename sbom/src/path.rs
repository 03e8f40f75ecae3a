//! Paths inside an image: stored as the exact bytes of the entry name,
//! relative to the image root (`usr/bin/x`), and printed absolute
//! (`/usr/bin/x`) with every byte that is not UTF-8 written as `\xNN` and a
//! literal backslash as `\\`, so that the printed form is unambiguous and
//! reversible.

/// Escapes `bytes` for display: valid UTF-8 is kept, `\` becomes `\\`, and
/// every other byte becomes `\xNN`.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for ch in chunk.valid().chars() {
            if ch == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(ch);
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out
}

/// Formats a root-relative image path as the absolute, escaped path users see.
pub fn display_path(relative: &[u8]) -> String {
    let mut out = String::from("/");
    out.push_str(&escape_bytes(relative));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_is_kept_and_other_bytes_are_escaped() {
        assert_eq!(display_path(b"usr/bin/caf\xc3\xa9"), "/usr/bin/café");
        assert_eq!(display_path(b"tmp/\xff\xfeminer"), "/tmp/\\xff\\xfeminer");
        assert_eq!(display_path(b"a\\b"), "/a\\\\b");
        assert_eq!(display_path(b""), "/");
    }

    #[test]
    fn escaping_is_unambiguous() {
        // A literal `\xff` in a valid name must not print like the byte 0xff.
        assert_ne!(escape_bytes(b"\\xff"), escape_bytes(b"\xff"));
    }
}
