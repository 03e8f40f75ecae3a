//! The walk inside one image file: scan its bytes, and when they are a
//! compressed stream or an archive, scan what is inside, depth first, each
//! member's bytes held only while it and what it holds are scanned.

use super::budget::ExpansionBudget;
use super::format::{Codec, Format};
use super::location::{InnerPath, Step};
use super::upx::{self, Failure};
use super::{Content, NestedError, NestedLimits, Stop, tar, zip};
use crate::malware::RuleScanner;
use crate::pool::{FileVerdict, ScanProblem};
use sha2::{Digest, Sha256};
use std::io::Read;

/// Most problems listed for one image file; the rest are summed up in one
/// more, so a hostile archive cannot flood the report.
const MAX_NOTES: usize = 32;

/// Scans `data`, the bytes of the image file at `path`, and whatever it
/// holds within `limits`; returns the verdicts that matched or failed, the
/// file's own first.
pub(crate) fn scan_file(
    scanner: &mut RuleScanner<'_>,
    limits: NestedLimits,
    path: &[u8],
    data: &[u8],
) -> Vec<FileVerdict> {
    let budget = ExpansionBudget::new(limits.budget(data.len() as u64));
    let mut unpacker = Unpacker {
        scanner,
        limits,
        budget: &budget,
        path,
        verdicts: Vec::new(),
        notes: 0,
        unlisted: 0,
    };
    let root = InnerPath::root();
    unpacker.scan(&root, data);
    if limits.max_depth > 0 {
        // A spent budget is already recorded where it ran out.
        let _ = unpacker.open(data, &root);
    }
    if unpacker.unlisted > 0 {
        let unlisted = NestedError::Unlisted {
            count: unpacker.unlisted,
            listed: MAX_NOTES,
        };
        unpacker.verdicts.push(FileVerdict {
            path: path.into(),
            inner: root,
            result: Err(ScanProblem::NotUnpacked(unlisted)),
            sha256: None,
        });
    }
    unpacker.verdicts
}

struct Unpacker<'u, 'r> {
    scanner: &'u mut RuleScanner<'r>,
    limits: NestedLimits,
    budget: &'u ExpansionBudget,
    path: &'u [u8],
    verdicts: Vec<FileVerdict>,
    /// Problems listed so far.
    notes: usize,
    /// Problems past [`MAX_NOTES`].
    unlisted: u64,
}

impl Unpacker<'_, '_> {
    /// Scans the bytes at `at`, keeping the verdict when a rule matched or
    /// the scan failed.
    fn scan(&mut self, at: &InnerPath, data: &[u8]) {
        let result = self.scanner.scan(data).map_err(ScanProblem::ScanFailed);
        if result.as_ref().is_ok_and(Vec::is_empty) {
            return;
        }
        let sha256 = result.is_ok().then(|| hex::encode(Sha256::digest(data)));
        self.verdicts.push(FileVerdict {
            path: self.path.into(),
            inner: at.clone(),
            result,
            sha256,
        });
    }

    /// Records why something at `at` was not (wholly) scanned.
    fn note(&mut self, at: &InnerPath, problem: NestedError) {
        if self.notes == MAX_NOTES {
            self.unlisted += 1;
            return;
        }
        self.notes += 1;
        self.verdicts.push(FileVerdict {
            path: self.path.into(),
            inner: at.clone(),
            result: Err(ScanProblem::NotUnpacked(problem)),
            sha256: None,
        });
    }

    /// Looks inside `data`, the bytes at `at`, when their magic names a
    /// compressed stream or an archive.
    fn open(&mut self, data: &[u8], at: &InnerPath) -> Result<(), Stop> {
        let Some(format) = Format::sniff(data) else {
            return Ok(());
        };
        let inside = match format {
            Format::Compressed(_) => at.child(Step::Decompressed),
            Format::Zip | Format::Tar => at.child(Step::Member(Box::default())),
            Format::Upx => at.child(Step::Unpacked),
        };
        if inside.depth() > self.limits.max_depth {
            self.note(
                at,
                NestedError::TooDeep {
                    format: format.name(),
                    limit: self.limits.max_depth,
                },
            );
            return Ok(());
        }
        let walked = match format {
            Format::Zip => self.zip(data, at),
            Format::Tar => self.tar(&mut &data[..], at),
            Format::Compressed(codec) => self.decompress(codec, data, at),
            Format::Upx => self.unpack_upx(data, at),
        };
        self.settle(walked, format, at)
    }

    /// Scans and opens the program inside the UPX-packed executable at
    /// `at`: what was restored is scanned even when the rest was not.
    fn unpack_upx(&mut self, data: &[u8], at: &InnerPath) -> Result<(), Stop> {
        let inside = at.child(Step::Unpacked);
        let (unpacked, problem) = match upx::unpack(data, self.budget) {
            Ok(unpacked) => (Some(unpacked.bytes), unpacked.problem),
            Err(failure) => (None, Some(failure)),
        };
        if let Some(bytes) = &unpacked {
            self.scan(&inside, bytes);
        }
        match problem {
            None => self.open(unpacked.as_deref().unwrap_or_default(), &inside),
            Some(Failure::Broken(reason)) => Err(Stop::Broken(reason)),
            Some(failure @ Failure::Unsupported(_)) => {
                self.note(&inside, failure.into_error(self.budget.limit()));
                Ok(())
            }
            Some(Failure::Spent) => {
                self.note(
                    &inside,
                    NestedError::Expansion {
                        limit: self.budget.limit(),
                    },
                );
                Err(Stop::Spent)
            }
        }
    }

    /// Scans the decompressed content of `data`; a tar inside is walked
    /// as it streams, anything else is read whole, scanned and opened.
    fn decompress(&mut self, codec: Codec, data: &[u8], at: &InnerPath) -> Result<(), Stop> {
        let decoder = codec
            .decoder(data)
            .map_err(|e| Stop::Broken(e.to_string()))?;
        let budget = self.budget;
        let mut stream = budget.meter(decoder);
        let inside = at.child(Step::Decompressed);
        let mut head = Vec::with_capacity(Format::HEAD);
        let peeked = (&mut stream)
            .take(Format::HEAD as u64)
            .read_to_end(&mut head);
        let mut rest = head.as_slice().chain(stream);
        if peeked.is_ok() && Format::sniff(&head) == Some(Format::Tar) {
            self.tar(&mut rest, &inside)
        } else {
            self.content(&inside, &mut rest)
        }
    }

    /// Walks a tar archive, the bytes at `at`.
    fn tar(&mut self, reader: &mut dyn Read, at: &InnerPath) -> Result<(), Stop> {
        let mut members = 0;
        tar::walk(reader, &mut |name, content| {
            self.member(Format::Tar, at, &mut members, name, content)
        })
    }

    /// Walks a zip archive, the bytes at `at`.
    fn zip(&mut self, data: &[u8], at: &InnerPath) -> Result<(), Stop> {
        let mut members = 0;
        let budget = self.budget;
        zip::walk(data, budget, &mut |name, content| {
            self.member(Format::Zip, at, &mut members, name, content)
        })
    }

    /// One member of the archive at `at`, the `count`th.
    fn member(
        &mut self,
        format: Format,
        at: &InnerPath,
        count: &mut u64,
        name: &[u8],
        content: Content<'_>,
    ) -> Result<(), Stop> {
        *count += 1;
        if *count > self.limits.max_members {
            self.note(
                at,
                NestedError::TooManyMembers {
                    format: format.name(),
                    limit: self.limits.max_members,
                },
            );
            return Err(Stop::Full);
        }
        let inner = at.child(Step::Member(name.into()));
        match content {
            Content::Other => Ok(()),
            Content::Unreadable(reason) => {
                self.note(&inner, NestedError::Unreadable { reason });
                Ok(())
            }
            Content::File(reader) => self.content(&inner, reader).map_err(|stop| match stop {
                Stop::Broken(reason) => {
                    Stop::Broken(format!("`{}`: {reason}", inner.display(self.path)))
                }
                other => other,
            }),
        }
    }

    /// Reads, scans and opens the bytes at `at`; on a read error, what was
    /// read is still scanned.
    fn content(&mut self, at: &InnerPath, reader: &mut dyn Read) -> Result<(), Stop> {
        let mut bytes = Vec::new();
        let read = reader.read_to_end(&mut bytes);
        self.scan(at, &bytes);
        match read {
            Ok(_) => self.open(&bytes, at),
            Err(_) if self.budget.is_spent() => {
                self.note(
                    at,
                    NestedError::Expansion {
                        limit: self.budget.limit(),
                    },
                );
                Err(Stop::Spent)
            }
            Err(err) => Err(Stop::Broken(err.to_string())),
        }
    }

    /// Ends the walk of the `format` container at `at`: a broken one is
    /// recorded and the walk goes on elsewhere; a spent budget stops it.
    fn settle(
        &mut self,
        walked: Result<(), Stop>,
        format: Format,
        at: &InnerPath,
    ) -> Result<(), Stop> {
        match walked {
            Ok(()) | Err(Stop::Full) => Ok(()),
            Err(Stop::Spent) => Err(Stop::Spent),
            Err(Stop::Broken(_)) if self.budget.is_spent() => {
                self.note(
                    at,
                    NestedError::Expansion {
                        limit: self.budget.limit(),
                    },
                );
                Err(Stop::Spent)
            }
            Err(Stop::Broken(reason)) => {
                self.note(
                    at,
                    NestedError::Broken {
                        format: format.name(),
                        reason,
                    },
                );
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::build::*;
    use super::*;
    use crate::rules::{RuleSet, RuleSource, compile};
    use std::time::Duration;

    fn rules() -> RuleSet {
        let source = RuleSource {
            origin: "t".into(),
            text: "rule needle { meta: severity = \"HIGH\" strings: $a = \"NEEDLE-7f3a\" condition: $a }\n\
                   rule greeting { meta: severity = \"HIGH\" strings: $a = \"hello from an unpacked program\" condition: $a }"
                .into(),
        };
        compile(&[source]).unwrap().0
    }

    /// Every verdict of scanning `data` as `opt/f`: its path, and the rule
    /// that matched or why something was not scanned.
    fn walk(data: &[u8], limits: NestedLimits) -> Vec<(String, String)> {
        let rules = rules();
        let mut scanner = RuleScanner::new(&rules, Duration::from_secs(5));
        scan_file(&mut scanner, limits, b"opt/f", data)
            .into_iter()
            .map(|v| {
                let outcome = match &v.result {
                    Ok(hits) => {
                        assert_eq!(v.sha256.as_ref().map(String::len), Some(64));
                        hits.iter().map(|h| h.rule.clone()).collect()
                    }
                    Err(problem) => problem.to_string(),
                };
                (v.display_path(), outcome)
            })
            .collect()
    }

    fn found(path: &str) -> (String, String) {
        (path.to_string(), "needle".to_string())
    }

    const NEEDLE: &[u8] = b"# pool settings\nconfig: NEEDLE-7f3a\n";

    /// The verdicts on what is inside: small compressed streams keep
    /// literals as they are, so the file itself may match too.
    fn inside(data: &[u8], limits: NestedLimits) -> Vec<(String, String)> {
        let mut walked = walk(data, limits);
        walked.retain(|(path, _)| path.contains('!'));
        walked
    }

    /// Found by the `nested_archive` fuzz target: an xz stream whose first
    /// read fails (a corrupt LZMA2 chunk) was read again after the peek at
    /// its head, and lzma-rust2's reader, read past its error, looped
    /// forever. Now the stream ends at its error, in well under a second.
    #[test]
    fn an_xz_stream_is_not_read_past_its_first_error() {
        const CORRUPT_XZ: &[u8] = b"\xfd7zXZ\x00\x00\x04\xe6\xd6\xb4F\x02\x00!\x01\x16\x00\x00\x00t/\xe5\xa3\x01\x00&sttarum+t\
          cp://pool.sXZ\x00\x00\x04\xe6\xd6\xb4F\x02\x00!\x01\x16\x00\x00\x00t/\xe5\xa3\x01\x00&stta\
          rum+tcp://pool.supupportxmr.com:3333\x0a\x00\x00\xdbg/\xd6z\xae2q\x00\x01?'|*R\xb6\x1f\xdd\
          \xf3}r.com:3Z";
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = done.send(walk(CORRUPT_XZ, NestedLimits::default()));
        });
        let verdicts = finished
            .recv_timeout(Duration::from_secs(30))
            .expect("the walk ends");
        assert!(
            verdicts
                .iter()
                .any(|(_, why)| why.starts_with("broken xz stream")),
            "{verdicts:?}"
        );
    }

    #[test]
    fn every_format_is_looked_into() {
        let limits = NestedLimits::default();
        assert_eq!(inside(&gzip(NEEDLE), limits), [found("/opt/f!")]);
        assert_eq!(inside(&xz(NEEDLE), limits), [found("/opt/f!")]);
        assert_eq!(inside(&zstd(NEEDLE), limits), [found("/opt/f!")]);
        assert_eq!(
            inside(
                &zip(&[(b"BOOT-INF/a.txt", b"hay"), (b"conf/pool.json", NEEDLE)]),
                limits
            ),
            [found("/opt/f!/conf/pool.json")]
        );
        let tarball = tar(&[("bin/tool", b"hay"), ("etc/pool.conf", NEEDLE)]);
        assert_eq!(
            walk(&tarball, limits),
            [found("/opt/f"), found("/opt/f!/etc/pool.conf")],
            "a plain tar matches as a whole and by member"
        );
        assert_eq!(
            inside(&gzip(&tarball), limits),
            [found("/opt/f!/etc/pool.conf")]
        );
        assert_eq!(
            inside(&xz(&tarball), limits),
            [found("/opt/f!/etc/pool.conf")]
        );
        assert_eq!(
            inside(&zstd(&tarball), limits),
            [found("/opt/f!/etc/pool.conf")]
        );
    }

    /// Packed by Debian's upx-ucl from `upx/testdata/hello.c`, whose
    /// greeting the `greeting` rule looks for.
    const PACKED: &[u8] = include_bytes!("upx/testdata/hello.nrv2e");

    #[test]
    fn upx_packed_programs_are_unpacked_where_they_are() {
        let limits = NestedLimits::default();
        let greeting = |path: &str| (path.to_string(), "greeting".to_string());
        assert!(
            walk(PACKED, limits).contains(&greeting("/opt/f!upx")),
            "{:?}",
            walk(PACKED, limits)
        );
        let tarball = gzip(&tar(&[("usr/bin/kworker", PACKED)]));
        assert!(inside(&tarball, limits).contains(&greeting("/opt/f!/usr/bin/kworker!upx")));
        assert!(
            inside(
                &tarball,
                NestedLimits {
                    max_depth: 1,
                    ..limits
                }
            )
            .iter()
            .any(|(path, why)| path == "/opt/f!/usr/bin/kworker"
                && why.contains("UPX-packed executable nested deeper"))
        );
    }

    #[test]
    fn broken_packed_programs_are_named() {
        let limits = NestedLimits::default();
        // The first block's size past the file's.
        let p_info = u32::from_le_bytes(PACKED[PACKED.len() - 4..].try_into().unwrap()) as usize;
        let mut bad = PACKED.to_vec();
        bad[p_info + 12..p_info + 16].copy_from_slice(&0xffff_0000u32.to_le_bytes());
        let walked = walk(&bad, limits);
        assert!(
            walked.iter().any(|(path, why)| path == "/opt/f"
                && why.starts_with("broken UPX-packed executable: the first block")),
            "{walked:?}"
        );
        // An original larger than the budget.
        let small = NestedLimits {
            ratio_floor_bytes: 1000,
            max_ratio: 1,
            ..limits
        };
        let walked = walk(PACKED, small);
        assert!(
            walked
                .iter()
                .any(|(path, why)| path == "/opt/f!upx"
                    && why.starts_with("expands past the limit of")),
            "{walked:?}"
        );
        // Cut short: the segments are scanned, the missing rest is named.
        let cut = &PACKED[..PACKED.len() - 200];
        let walked = walk(cut, limits);
        assert!(walked.contains(&("/opt/f!upx".to_string(), "greeting".to_string())));
        assert!(
            walked.iter().any(|(path, why)| path == "/opt/f"
                && why.starts_with("broken UPX-packed executable: the blocks of the last")),
            "{walked:?}"
        );
    }

    #[test]
    fn nothing_is_opened_when_off_and_plain_files_cost_nothing() {
        assert_eq!(inside(&gzip(NEEDLE), NestedLimits::off()), []);
        assert_eq!(
            walk(b"plain text NEEDLE-7f3a", NestedLimits::default()),
            [found("/opt/f")]
        );
    }

    /// A zip inside a tar.gz inside a gzip: three steps in.
    fn russian_doll() -> Vec<u8> {
        let jar = zip(&[(b"META-INF/MANIFEST.MF", b"hay"), (b"x/miner.cfg", NEEDLE)]);
        gzip(&gzip(&tar(&[("lib/app.jar", &jar)])))
    }

    #[test]
    fn nesting_is_followed_and_shown() {
        assert_eq!(
            inside(&russian_doll(), NestedLimits::default()),
            [found("/opt/f!!/lib/app.jar!/x/miner.cfg")]
        );
    }

    #[test]
    fn depth_limit_stops_and_says_where() {
        let limits = NestedLimits {
            max_depth: 2,
            ..NestedLimits::default()
        };
        assert_eq!(
            inside(&russian_doll(), limits),
            [(
                "/opt/f!!/lib/app.jar".to_string(),
                "a zip archive nested deeper than the limit of 2; not opened (raise --max-archive-depth)".to_string()
            )]
        );
    }

    #[test]
    fn bombs_stop_at_the_budget() {
        let limits = NestedLimits {
            ratio_floor_bytes: 1 << 20,
            max_ratio: 10,
            ..NestedLimits::default()
        };
        let mut zeros = vec![0u8; 16 << 20];
        zeros.extend_from_slice(NEEDLE);
        let expansion = "expands past the limit of ";
        let bomb = walk(&gzip(&zeros), limits);
        assert_eq!(bomb.len(), 1, "{bomb:?}");
        assert_eq!(bomb[0].0, "/opt/f!");
        assert!(bomb[0].1.starts_with(expansion), "{bomb:?}");

        // Later members of a zip bomb are not read; earlier ones are.
        let zip_bomb = zip(&[
            (b"early.cfg", NEEDLE),
            (b"zeros-1.bin", &zeros),
            (b"zeros-2.bin", &zeros),
            (b"late.cfg", NEEDLE),
        ]);
        let walked = inside(&zip_bomb, limits);
        assert_eq!(walked.len(), 2, "{walked:?}");
        assert_eq!(walked[0], found("/opt/f!/early.cfg"));
        assert_eq!(walked[1].0, "/opt/f!/zeros-1.bin");
        assert!(walked[1].1.starts_with(expansion), "{walked:?}");
    }

    #[test]
    fn problems_past_the_first_few_are_summed_up() {
        let limits = NestedLimits {
            max_depth: 1,
            ..NestedLimits::default()
        };
        let names: Vec<String> = (0..40).map(|i| format!("logs/{i:02}.gz")).collect();
        let member = gzip(b"hay");
        let members: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &member[..])).collect();
        let walked = walk(&gzip(&tar(&members)), limits);
        assert_eq!(walked.len(), MAX_NOTES + 1);
        assert_eq!(walked[0].0, "/opt/f!/logs/00.gz");
        assert!(walked[0].1.contains("nested deeper than the limit of 1"));
        assert_eq!(
            walked[MAX_NOTES],
            (
                "/opt/f".to_string(),
                "8 more places inside not wholly looked into (only the first 32 are listed)"
                    .to_string()
            )
        );
    }

    #[test]
    fn member_limit_ends_the_archive() {
        let limits = NestedLimits {
            max_members: 2,
            ..NestedLimits::default()
        };
        let tarball = tar(&[("a", b"hay"), ("b", b"hay"), ("c", NEEDLE)]);
        assert_eq!(
            inside(&gzip(&tarball), limits),
            [(
                "/opt/f!".to_string(),
                "tar archive holds more than 2 members; the rest were not scanned (raise --max-archive-members)".to_string()
            )]
        );
    }

    #[test]
    fn hostile_member_names_are_escaped_labels() {
        let walked = inside(
            &zip(&[
                (b"../../etc/cron.d/job", NEEDLE),
                (b"bin/\xff\xfe-miner\x1b[2J", NEEDLE),
            ]),
            NestedLimits::default(),
        );
        assert_eq!(
            walked,
            [
                found("/opt/f!/../../etc/cron.d/job"),
                found("/opt/f!/bin/\\xff\\xfe-miner\\x1b[2J"),
            ]
        );
    }

    #[test]
    fn truncated_streams_are_scanned_as_far_as_they_go() {
        let mut long = NEEDLE.to_vec();
        long.extend((0..200_000u32).flat_map(|i| i.to_le_bytes()));
        let whole = gzip(&long);
        let cut = &whole[..whole.len() / 2];
        let walked = walk(&tar(&[("var/log/old.gz", cut)]), NestedLimits::default());
        assert_eq!(walked.len(), 2, "{walked:?}");
        assert_eq!(walked[0], found("/opt/f!/var/log/old.gz!"));
        assert_eq!(walked[1].0, "/opt/f!/var/log/old.gz");
        assert!(
            walked[1].1.starts_with("broken gzip stream: "),
            "{walked:?}"
        );

        // A zip cut before its central directory: read by local headers.
        let whole = zip(&[(b"first.cfg", NEEDLE), (b"second.cfg", b"hay")]);
        let mut walked = walk(&whole[..whole.len() - 30], NestedLimits::default());
        walked.retain(|verdict| *verdict != found("/opt/f"));
        assert_eq!(walked[0], found("/opt/f!/first.cfg"), "{walked:?}");
        assert_eq!(walked[1].0, "/opt/f");
        assert!(
            walked[1].1.starts_with("broken zip archive: "),
            "{walked:?}"
        );
    }

    #[test]
    fn a_short_tar_member_is_broken_not_short() {
        let mut tarball = tar(&[("etc/pool.conf", NEEDLE), ("b", b"hay")]);
        tarball.truncate(512 + 10);
        let walked = walk(&gzip(&tarball), NestedLimits::default());
        assert_eq!(walked.len(), 1, "{walked:?}");
        assert_eq!(walked[0].0, "/opt/f", "the broken container");
        assert!(
            walked[0].1.contains(&format!(
                "`/opt/f!/etc/pool.conf`: member content ends {} bytes short",
                NEEDLE.len() - 10
            )),
            "{walked:?}"
        );
    }
}
