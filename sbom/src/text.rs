//! Text from the image on a terminal. A package name, a path, an OS name or
//! a rule's evidence is attacker-chosen: printed raw, an ESC or OSC sequence
//! retitles or repaints the user's terminal, a CR or newline forges report
//! lines. Every such string goes through [`terminal_safe`] before a human
//! sees it; JSON and SARIF escape by their own rules.

use std::borrow::Cow;
use std::fmt::Write;

/// `text` with every control character written as a visible escape: C0
/// controls and DEL as `\xNN` (`\n`, `\r`, `\t` by their short names), C1
/// controls and the bidirectional overrides (which reorder what a line
/// appears to say) as `\u{NN}`. Text without any is borrowed unchanged.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for ch in text.chars() {
        match ch {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_ascii_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(ch: char) -> bool {
    ch.is_control() // C0, DEL and C1
        || matches!(ch, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_become_visible() {
        assert!(matches!(terminal_safe("plain café"), Cow::Borrowed(_)));
        assert_eq!(
            terminal_safe("a\x1b]0;pwned\x07b\r\n\t\x7f"),
            "a\\x1b]0;pwned\\x07b\\r\\n\\t\\x7f"
        );
        assert_eq!(terminal_safe("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(terminal_safe("x\u{202e}gpj.exe"), "x\\u{202e}gpj.exe");
        assert_eq!(terminal_safe("\0"), "\\x00");
    }
}
