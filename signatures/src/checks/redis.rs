//! Redis: a `redis.conf` that lets anyone in — no `requirepass`, and either
//! listening on every interface (no `bind`, or `bind 0.0.0.0`/`*`/`::`) or
//! with `protected-mode no`. Redis reads directives in order; the last one
//! wins.

use super::info;
use crate::check::{Check, CheckContext, CheckInfo};
use imgscan_sbom::{Finding, Severity};

/// The Redis check.
pub struct Redis;

const NO_AUTH: CheckInfo = info(
    "redis.no-auth",
    Severity::High,
    "Redis reachable from the network without a password",
);

impl Check for Redis {
    fn info(&self) -> &'static [CheckInfo] {
        std::slice::from_ref(&NO_AUTH)
    }

    fn globs(&self) -> &'static [&'static str] {
        &["**/redis.conf"]
    }

    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        for path in ctx.paths_where(|p| p.ends_with(b"redis.conf")) {
            let Some(text) = ctx.text(&path) else {
                continue;
            };
            let (mut bind, mut protected, mut password) = (None, true, false);
            for line in text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
            {
                let mut words = line.split_whitespace();
                match words.next().map(str::to_ascii_lowercase).as_deref() {
                    Some("bind") => {
                        bind = Some(
                            words
                                .map(|w| w.trim_start_matches('-').to_string())
                                .collect::<Vec<_>>(),
                        )
                    }
                    Some("protected-mode") => {
                        protected = !words.next().is_some_and(|v| v.eq_ignore_ascii_case("no"))
                    }
                    Some("requirepass") => {
                        password = words.next().is_some_and(|v| !v.is_empty() && v != "\"\"")
                    }
                    _ => {}
                }
            }
            let everywhere = bind.as_ref().is_none_or(|addrs| {
                addrs
                    .iter()
                    .any(|a| matches!(a.as_str(), "0.0.0.0" | "*" | "::" | "::*"))
            });
            if !password && (everywhere || !protected) {
                let why = match (&bind, protected) {
                    (_, false) => "protected-mode is off".to_string(),
                    (None, _) => "no `bind`: it listens on every interface".to_string(),
                    (Some(addrs), _) => format!("bind {}", addrs.join(" ")),
                };
                out.push(ctx.finding(
                    &NO_AUTH,
                    NO_AUTH.severity,
                    (&path, None),
                    "Redis accepts connections from the network without a password".into(),
                    format!("{why}; no requirepass"),
                    "bind to 127.0.0.1, keep protected-mode on, and set requirepass (or ACL users)",
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgscan_sbom::test_tree::MapTree;

    fn count(conf: &str) -> usize {
        let tree = MapTree::new(&[("etc/redis/redis.conf", conf)]);
        Redis.run(&CheckContext::new(&tree, &[])).len()
    }

    #[test]
    fn open_and_closed_configs() {
        assert_eq!(
            count("bind 127.0.0.1 -::1\nprotected-mode yes\nport 6379\n"),
            0,
            "Debian's default"
        );
        assert_eq!(count("bind 0.0.0.0\nprotected-mode yes\n"), 1);
        assert_eq!(count("port 6379\n"), 1, "no bind listens everywhere");
        assert_eq!(count("bind 127.0.0.1\nprotected-mode no\n"), 1);
        assert_eq!(count("bind 0.0.0.0\nrequirepass s3cret-from-vault\n"), 0);
        assert_eq!(
            count("bind 0.0.0.0\nbind 127.0.0.1\n"),
            0,
            "the last directive wins"
        );
    }
}
