//! What the terminal wants: colour only on a TTY and never with `NO_COLOR`
//! set (https://no-color.org), progress only on a TTY.

use std::io::IsTerminal;

/// Whether the table on stdout may use colour.
pub fn stdout_wants_color() -> bool {
    std::io::stdout().is_terminal() && !no_color()
}

/// Whether progress may be drawn on stderr.
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}
