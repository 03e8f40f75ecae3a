//! Rule sets: the built-in YARA rules (`signatures/rules/*.yar`, compiled
//! into the binary) and the user's own (`--rules PATH`), compiled once with
//! YARA-X into a shareable [`RuleSet`], cached on disk keyed by the hash of
//! every source so a rebuild of the same rules is a file read.

use imgscan_sbom::input::{InputError, MAX_USER_FILE_BYTES, check_user_path, read_user_text};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The built-in rule files: name and source.
pub const BUILTIN_RULES: &[(&str, &str)] = &[
    ("xmrig.yar", include_str!("../rules/xmrig.yar")),
    ("miners.yar", include_str!("../rules/miners.yar")),
    ("stratum.yar", include_str!("../rules/stratum.yar")),
    ("droppers.yar", include_str!("../rules/droppers.yar")),
    ("packed.yar", include_str!("../rules/packed.yar")),
];

/// Why rules could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// A rule file or directory could not be read.
    #[error("cannot read rules `{path}`: {cause}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The error.
        cause: std::io::Error,
    },
    /// A rule file or directory that is not a regular file or directory,
    /// or is too large.
    #[error(transparent)]
    Input(#[from] InputError),
    /// Rules that do not compile; the message holds YARA-X's diagnostics.
    #[error("rules do not compile:\n{0}")]
    Compile(String),
}

/// One rule source: where it came from and its text.
#[derive(Debug, Clone)]
pub struct RuleSource {
    /// File name or path, for diagnostics.
    pub origin: String,
    /// YARA source text.
    pub text: String,
}

/// What a rule says about itself in its `meta:` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInfo {
    /// The rule identifier.
    pub id: String,
    /// `CRITICAL`, `HIGH`, `MEDIUM`, `LOW` or `UNKNOWN`.
    pub severity: imgscan_sbom::Severity,
    /// What it detects.
    pub description: String,
}

/// Compiled rules, shareable across threads.
#[derive(Clone)]
pub struct RuleSet {
    rules: Arc<yara_x::Rules>,
    /// SHA-256 over imgscan's version and every source (origin and text).
    digest: Arc<str>,
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSet")
            .field("rules", &self.rules.iter().len())
            .finish()
    }
}

/// The built-in sources.
pub fn builtin_sources() -> Vec<RuleSource> {
    BUILTIN_RULES
        .iter()
        .map(|(name, text)| RuleSource {
            origin: format!("builtin:{name}"),
            text: text.to_string(),
        })
        .collect()
}

/// Most bytes of rules read from one `--rules` path, all its files together.
pub const MAX_RULES_BYTES: u64 = 64 << 20;

/// Reads `.yar`/`.yara` files from `path` (a file, or a directory read
/// recursively in name order; symlinked directories are not followed).
/// Each file must be a regular file within [`MAX_USER_FILE_BYTES`], and a
/// directory's files together within [`MAX_RULES_BYTES`].
pub fn read_sources(path: &Path) -> Result<Vec<RuleSource>, RulesError> {
    let mut sources = Vec::new();
    let mut budget = MAX_RULES_BYTES;
    if check_user_path(path, "rules", true)?.is_dir() {
        read_dir_sources(path, &mut sources, &mut budget)?;
    } else {
        sources.push(read_source(path, &mut budget)?);
    }
    Ok(sources)
}

fn read_source(path: &Path, budget: &mut u64) -> Result<RuleSource, RulesError> {
    let text = read_user_text(path, "rules file", MAX_USER_FILE_BYTES.min(*budget))?;
    *budget -= text.len() as u64;
    Ok(RuleSource {
        origin: path.display().to_string(),
        text,
    })
}

fn read_dir_sources(
    dir: &Path,
    sources: &mut Vec<RuleSource>,
    budget: &mut u64,
) -> Result<(), RulesError> {
    let read_err = |cause| RulesError::Read {
        path: dir.to_path_buf(),
        cause,
    };
    let mut entries: Vec<(PathBuf, bool)> = std::fs::read_dir(dir)
        .map_err(read_err)?
        .filter_map(|e| e.ok())
        .map(|e| (e.path(), e.file_type().is_ok_and(|t| t.is_dir())))
        .collect();
    entries.sort();
    for (entry, is_dir) in entries {
        if is_dir {
            read_dir_sources(&entry, sources, budget)?;
        } else if entry.extension().is_some_and(|e| e == "yar" || e == "yara") {
            sources.push(read_source(&entry, budget)?);
        }
    }
    Ok(())
}

/// Compiles `sources`, each in its own namespace, returning YARA-X's
/// diagnostics (errors and warnings) as text when any source fails.
pub fn compile(sources: &[RuleSource]) -> Result<(RuleSet, Vec<String>), RulesError> {
    let mut compiler = yara_x::Compiler::new();
    let mut errors = Vec::new();
    for (i, source) in sources.iter().enumerate() {
        compiler.new_namespace(&format!("s{i}"));
        let code = yara_x::SourceCode::from(source.text.as_str()).with_origin(&source.origin);
        if let Err(err) = compiler.add_source(code) {
            errors.push(err.to_string());
        }
    }
    let warnings: Vec<String> = compiler.warnings().iter().map(|w| w.to_string()).collect();
    if !errors.is_empty() {
        return Err(RulesError::Compile(errors.join("\n")));
    }
    Ok((
        RuleSet {
            rules: Arc::new(compiler.build()),
            digest: sources_digest(sources).into(),
        },
        warnings,
    ))
}

/// What identifies a set of sources: SHA-256 over imgscan's version and
/// each source's origin and text, in order.
fn sources_digest(sources: &[RuleSource]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    for source in sources {
        hasher.update((source.origin.len() as u64).to_le_bytes());
        hasher.update(source.origin.as_bytes());
        hasher.update((source.text.len() as u64).to_le_bytes());
        hasher.update(source.text.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Compiles `sources`, or loads them from the cache under `cache_dir` when
/// the same sources were compiled before; a cache that cannot be read or
/// written is ignored.
pub fn compile_cached(
    sources: &[RuleSource],
    cache_dir: Option<&Path>,
) -> Result<RuleSet, RulesError> {
    let key = sources_digest(sources);
    let file = cache_dir.map(|dir| dir.join(format!("rules-{key}.yarc")));
    if let Some(rules) = file
        .as_ref()
        .and_then(|f| std::fs::read(f).ok())
        .and_then(|bytes| yara_x::Rules::deserialize(bytes).ok())
    {
        return Ok(RuleSet {
            rules: Arc::new(rules),
            digest: key.into(),
        });
    }
    let (set, _) = compile(sources)?;
    if let (Some(file), Ok(bytes)) = (file, set.rules.serialize()) {
        let tmp = file.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::create_dir_all(file.parent().unwrap_or(Path::new("."))).is_ok()
            && std::fs::write(&tmp, bytes).is_ok()
        {
            let _ = std::fs::rename(&tmp, &file);
        }
    }
    Ok(set)
}

impl RuleSet {
    /// What identifies the rules: a digest of imgscan's version and the
    /// sources they were compiled from (result caches key on it).
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Every rule's id, severity and description, in source order.
    pub fn infos(&self) -> Vec<RuleInfo> {
        self.rules.iter().map(|rule| rule_info(&rule)).collect()
    }

    pub(crate) fn rules(&self) -> &yara_x::Rules {
        &self.rules
    }
}

/// A rule's metadata; a missing or unknown severity is `UNKNOWN`.
pub(crate) fn rule_info(rule: &yara_x::Rule<'_, '_>) -> RuleInfo {
    let mut severity = imgscan_sbom::Severity::Unknown;
    let mut description = String::new();
    for (key, value) in rule.metadata() {
        let text = match value {
            yara_x::MetaValue::String(s) => s.to_string(),
            yara_x::MetaValue::Bytes(b) => b.to_string(),
            _ => continue,
        };
        match key {
            "severity" => severity = parse_severity(&text),
            "description" => description = text,
            _ => {}
        }
    }
    RuleInfo {
        id: rule.identifier().to_string(),
        severity,
        description,
    }
}

fn parse_severity(text: &str) -> imgscan_sbom::Severity {
    use imgscan_sbom::Severity::*;
    match text.to_ascii_uppercase().as_str() {
        "CRITICAL" => Critical,
        "HIGH" => High,
        "MEDIUM" => Medium,
        "LOW" => Low,
        _ => Unknown,
    }
}
