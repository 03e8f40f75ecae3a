//! The glob set a cataloger's (or check's) globs make, matched the way the
//! layer pass's capture spec matches them (a `*` never crosses a `/`), so
//! a test can say which paths a cataloger is handed. Public behind the
//! `test-support` feature so other crates' tests share it.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// The set of `globs`; panics on a malformed one (a test's mistake).
pub fn glob_set(globs: &[&str]) -> GlobSet {
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        let glob = GlobBuilder::new(glob)
            .literal_separator(true)
            .build()
            .unwrap_or_else(|e| panic!("glob `{glob}`: {e}"));
        builder.add(glob);
    }
    builder.build().expect("a glob set builds")
}
