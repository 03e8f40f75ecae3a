//! Where scanned bytes sit inside an image file: the steps taken into
//! compressed files and archives, and how such a place is written in the
//! report.
//!
//! Each `!` marks one step inside: `/opt/tools.tar.gz!/bin/xmrig` is the
//! member `bin/xmrig` of the gzip-compressed tar `/opt/tools.tar.gz`, and
//! `/etc/pool.json.gz!` is the decompressed content of a lone compressed
//! file, and `/usr/bin/kworker!upx` the program inside the UPX-packed
//! executable `/usr/bin/kworker`. A compressed stream and the archive it
//! holds are one step, so the number of `!` in a path is its nesting depth. A `!` that is part of a
//! name is written `\x21`, as are control characters, so each literal `!`
//! is a step; a member name's leading `/` and `./` are dropped.

use imgscan_sbom::escape_bytes;

/// One step inside.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// The decompressed content of a gzip, xz or zstd stream.
    Decompressed,
    /// A member of a tar or zip archive, by its stored name.
    Member(Box<[u8]>),
    /// The program inside a UPX-packed executable.
    Unpacked,
}

/// The steps from an image file to the bytes scanned; none for the file's
/// own bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InnerPath {
    steps: Vec<Step>,
}

impl InnerPath {
    /// The file's own bytes.
    pub fn root() -> Self {
        InnerPath::default()
    }

    /// The steps, for storing.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The place [`steps`](Self::steps) describes.
    pub fn from_steps(steps: impl IntoIterator<Item = Step>) -> Self {
        InnerPath {
            steps: steps.into_iter().collect(),
        }
    }

    /// Whether this is the file's own bytes.
    pub fn is_root(&self) -> bool {
        self.steps.is_empty()
    }

    /// This place with one more step.
    pub(crate) fn child(&self, step: Step) -> Self {
        let mut steps = self.steps.clone();
        steps.push(step);
        InnerPath { steps }
    }

    /// How many `!` the written path holds: every step, except a member
    /// read straight out of a decompressed stream.
    pub(crate) fn depth(&self) -> usize {
        let mut depth = 0;
        let mut after_decompression = false;
        for step in &self.steps {
            if !(after_decompression && matches!(step, Step::Member(_))) {
                depth += 1;
            }
            after_decompression = *step == Step::Decompressed;
        }
        depth
    }

    /// The report's path of these bytes inside the image file at `outer`
    /// (root-relative).
    pub fn display(&self, outer: &[u8]) -> String {
        if self.is_root() {
            return imgscan_sbom::display_path(outer);
        }
        let mut out = String::from("/");
        out.push_str(&escape_name(outer));
        let mut after_decompression = false;
        for step in &self.steps {
            match step {
                Step::Decompressed => out.push('!'),
                Step::Unpacked => out.push_str("!upx"),
                Step::Member(name) => {
                    if !after_decompression {
                        out.push('!');
                    }
                    out.push('/');
                    out.push_str(&escape_name(trim_member(name)));
                }
            }
            after_decompression = *step == Step::Decompressed;
        }
        out
    }
}

/// A member name without its leading `/` and `./` (labels, never paths to
/// write to).
fn trim_member(mut name: &[u8]) -> &[u8] {
    loop {
        if let Some(rest) = name.strip_prefix(b"/") {
            name = rest;
        } else if let Some(rest) = name.strip_prefix(b"./") {
            name = rest;
        } else {
            return name;
        }
    }
}

/// [`escape_bytes`], with `!` and control characters as `\xNN` too.
fn escape_name(name: &[u8]) -> String {
    let escaped = escape_bytes(name);
    let mut out = String::with_capacity(escaped.len());
    for ch in escaped.chars() {
        if ch == '!' || ch.is_control() {
            for byte in ch.to_string().bytes() {
                out.push_str(&format!("\\x{byte:02x}"));
            }
        } else {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &[u8]) -> Step {
        Step::Member(name.into())
    }

    #[test]
    fn compressed_archives_are_one_step() {
        let tgz = InnerPath::root()
            .child(Step::Decompressed)
            .child(member(b"./bin/xmrig"));
        assert_eq!(
            tgz.display(b"opt/tools.tar.gz"),
            "/opt/tools.tar.gz!/bin/xmrig"
        );
        assert_eq!(tgz.depth(), 1);
        let jar = tgz.child(member(b"META-INF/x"));
        assert_eq!(
            jar.display(b"opt/tools.tar.gz"),
            "/opt/tools.tar.gz!/bin/xmrig!/META-INF/x"
        );
        assert_eq!(jar.depth(), 2);
        let lone = InnerPath::root().child(Step::Decompressed);
        assert_eq!(lone.display(b"etc/pool.json.gz"), "/etc/pool.json.gz!");
        let twice = lone.child(Step::Decompressed);
        assert_eq!(twice.display(b"x.gz.gz"), "/x.gz.gz!!");
        assert_eq!(twice.depth(), 2);
        assert_eq!(InnerPath::root().display(b"a!b"), "/a!b");
    }

    #[test]
    fn unpacked_programs_are_one_step() {
        let packed = InnerPath::root().child(Step::Unpacked);
        assert_eq!(packed.display(b"usr/bin/kworker"), "/usr/bin/kworker!upx");
        assert_eq!(packed.depth(), 1);
        let inside = InnerPath::root()
            .child(Step::Decompressed)
            .child(member(b"bin/kworker"))
            .child(Step::Unpacked);
        assert_eq!(inside.display(b"opt/t.tgz"), "/opt/t.tgz!/bin/kworker!upx");
        assert_eq!(inside.depth(), 2);
        assert_eq!(InnerPath::from_steps(inside.steps().to_vec()), inside);
    }

    #[test]
    fn hostile_names_are_escaped_labels() {
        let at = InnerPath::root().child(member(b"../../etc/cron.d/\xffx\n!y"));
        assert_eq!(
            at.display(b"srv/a!.zip"),
            "/srv/a\\x21.zip!/../../etc/cron.d/\\xffx\\x0a\\x21y"
        );
        let absolute = InnerPath::root().child(member(b"//etc/passwd"));
        assert_eq!(absolute.display(b"a.tar"), "/a.tar!/etc/passwd");
    }
}
