//! Accounts: `/etc/passwd` and `/etc/shadow` as the image ships them — more
//! than one uid-0 account, empty passwords, password hashes on accounts
//! that should not log in, weak hash schemes, and leftover test, guest or
//! demo accounts with a login shell and a password.

use super::info;
use crate::check::{Check, CheckContext, CheckInfo};
use imgscan_sbom::{Finding, Severity};
use std::collections::HashMap;

/// The accounts check.
pub struct Accounts;

const EXTRA_ROOT: CheckInfo = info(
    "account.extra-uid0",
    Severity::High,
    "an account other than root has uid 0",
);
const EMPTY: CheckInfo = info(
    "account.empty-password",
    Severity::Critical,
    "an account with a login shell has an empty password: anyone can log in",
);
const SYSTEM_PASSWORD: CheckInfo = info(
    "account.system-password",
    Severity::Medium,
    "a system account that should not log in has a password hash",
);
const WEAK_HASH: CheckInfo = info(
    "account.weak-hash",
    Severity::High,
    "a password hashed with DES or MD5, which is cracked in minutes",
);
const LEFTOVER: CheckInfo = info(
    "account.leftover",
    Severity::High,
    "a leftover test, guest or demo account with a login shell and a password",
);
const INFO: &[CheckInfo] = &[EXTRA_ROOT, EMPTY, SYSTEM_PASSWORD, WEAK_HASH, LEFTOVER];

const LEFTOVER_NAMES: &[&str] = &[
    "test",
    "tester",
    "testuser",
    "test1",
    "test2",
    "guest",
    "demo",
    "demo1",
    "temp",
    "tmp",
    "user",
    "user1",
    "dev",
    "developer",
];

struct Account<'a> {
    name: &'a str,
    uid: Option<u64>,
    shell: &'a str,
    line: usize,
}

impl Check for Accounts {
    fn info(&self) -> &'static [CheckInfo] {
        INFO
    }

    fn globs(&self) -> &'static [&'static str] {
        &["etc/passwd", "etc/shadow"]
    }

    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        let Some(passwd) = ctx.text(b"etc/passwd") else {
            return out;
        };
        let shadow_text = ctx.text(b"etc/shadow");
        let mut accounts = Vec::new();
        let mut passwd_hashes = HashMap::new();
        for (index, line) in passwd.lines().enumerate() {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.len() < 7 || line.starts_with('#') {
                continue;
            }
            accounts.push(Account {
                name: fields[0],
                uid: fields[2].parse().ok(),
                shell: fields[6],
                line: index + 1,
            });
            passwd_hashes.insert(fields[0], fields[1]);
        }
        // With a shadow file, `x` in passwd points there; without one, the
        // hash sits in passwd itself.
        let mut hashes: HashMap<&str, (&str, &[u8], usize)> = HashMap::new();
        for (name, hash) in &passwd_hashes {
            if *hash != "x" || shadow_text.is_none() {
                let line = accounts
                    .iter()
                    .find(|a| a.name == *name)
                    .map(|a| a.line)
                    .unwrap_or(0);
                hashes.insert(name, (hash, b"etc/passwd", line));
            }
        }
        if let Some(shadow) = &shadow_text {
            for (index, line) in shadow.lines().enumerate() {
                let mut fields = line.split(':');
                if let (Some(name), Some(hash)) = (fields.next(), fields.next()) {
                    hashes.insert(name, (hash, b"etc/shadow", index + 1));
                }
            }
        }
        for account in &accounts {
            if account.uid == Some(0) && account.name != "root" {
                out.push(ctx.finding(
                    &EXTRA_ROOT,
                    EXTRA_ROOT.severity,
                    (b"etc/passwd", Some(account.line)),
                    format!("account `{}` has uid 0 (a second root)", account.name),
                    format!("{}:…:0:…:{}", account.name, account.shell),
                    "give the account its own uid, or remove it",
                ));
            }
            let Some(&(hash, file, line)) = hashes.get(account.name) else {
                continue;
            };
            let can_login =
                !(account.shell.ends_with("nologin") || account.shell.ends_with("/false"));
            let has_hash =
                !hash.is_empty() && !hash.starts_with('!') && !hash.starts_with('*') && hash != "x";
            let evidence = format!("{}:{}", account.name, mask(hash));
            if hash.is_empty() && can_login {
                out.push(ctx.finding(&EMPTY, EMPTY.severity, (file, Some(line)), format!("account `{}` has an empty password", account.name), evidence.clone(), "lock the account (`passwd -l`) or set a password at deploy time, never in the image"));
            }
            if has_hash && !can_login {
                out.push(ctx.finding(
                    &SYSTEM_PASSWORD,
                    SYSTEM_PASSWORD.severity,
                    (file, Some(line)),
                    format!("system account `{}` has a password hash", account.name),
                    evidence.clone(),
                    "replace the hash with `*` or `!`",
                ));
            }
            if has_hash && (hash.starts_with("$1$") || (!hash.starts_with('$') && hash.len() == 13))
            {
                out.push(ctx.finding(
                    &WEAK_HASH,
                    WEAK_HASH.severity,
                    (file, Some(line)),
                    format!("account `{}` uses a weak password hash", account.name),
                    evidence.clone(),
                    "rehash with yescrypt or SHA-512 (`$y$`, `$6$`), or remove the password",
                ));
            }
            if has_hash && can_login && LEFTOVER_NAMES.contains(&account.name) {
                out.push(ctx.finding(
                    &LEFTOVER,
                    LEFTOVER.severity,
                    (file, Some(line)),
                    format!(
                        "leftover account `{}` can log in with a password",
                        account.name
                    ),
                    evidence,
                    "remove test, guest and demo accounts from images",
                ));
            }
        }
        out
    }
}

/// Shows the scheme of a hash, never the hash.
fn mask(hash: &str) -> String {
    match hash {
        "" => "(empty)".to_string(),
        h if h.starts_with('$') => format!("${}$…", h.split('$').nth(1).unwrap_or("")),
        h if h.starts_with('!') || h.starts_with('*') => h.chars().take(1).collect(),
        _ => "(DES hash)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgscan_sbom::test_tree::MapTree;

    fn ids(passwd: &str, shadow: &str) -> Vec<(&'static str, String)> {
        let tree = MapTree::new(&[("etc/passwd", passwd), ("etc/shadow", shadow)]);
        Accounts
            .run(&CheckContext::new(&tree, &[]))
            .into_iter()
            .map(|f| (f.id, f.title))
            .collect()
    }

    #[test]
    fn planted_account_mistakes() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\ntoor:x:0:0::/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\ntest:x:1000:1000::/home/test:/bin/bash\nops:x:1001:1001::/home/ops:/bin/bash\nold:x:1002:1002::/home/old:/bin/bash\n";
        let shadow = "root:*:19000:0:99999:7:::\ntoor:!:19000::::::\ndaemon:$6$abc$def:19000::::::\ntest:$y$j9T$salt$hash:19000::::::\nops::19000::::::\nold:$1$salt$hash:19000::::::\n";
        let found: Vec<&str> = ids(passwd, shadow).into_iter().map(|f| f.0).collect();
        assert_eq!(
            found,
            [
                "account.extra-uid0",
                "account.system-password",
                "account.leftover",
                "account.empty-password",
                "account.weak-hash"
            ]
        );
    }

    #[test]
    fn debian_defaults_are_clean() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nsshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n";
        let shadow = "root:*:20000:0:99999:7:::\ndaemon:*:20000:0:99999:7:::\nsshd:!:20000::::::\n";
        assert!(ids(passwd, shadow).is_empty());
    }
}
