//! `db update`: fetch each configured ecosystem's `all.zip` from an OSV
//! mirror into a download cache beside the database, then rebuild the
//! database from those zips and swap it in with one rename. A failed
//! download or import leaves the previous database whole; a feed that has
//! not changed since the last update (every answer a 304, the database
//! newer than every zip) is not rebuilt.

use crate::download::{DownloadError, DownloadProgress, Downloader, Fetched};
use crate::{DbError, ImportSource, ImportSummary, import};
use std::path::{Path, PathBuf};

/// osv.dev's public bucket: `BASE/ECOSYSTEM/all.zip`.
pub const DEFAULT_SOURCE: &str = "https://osv-vulnerabilities.storage.googleapis.com";

/// Why an update failed; the previous database is untouched in every case.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// An ecosystem's archive could not be fetched.
    #[error("downloading `{ecosystem}`: {cause}")]
    Download {
        /// The ecosystem.
        ecosystem: String,
        /// Why.
        cause: DownloadError,
    },
    /// The fetched archives could not be imported.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The download cache or the swap failed.
    #[error("`{}`: {cause}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        cause: std::io::Error,
    },
}

/// What an update did.
#[derive(Debug)]
pub struct UpdateSummary {
    /// Per ecosystem: its URL and what the download did.
    pub fetched: Vec<(String, String, Fetched)>,
    /// The import, when the database was rebuilt (`None`: already current).
    pub rebuilt: Option<ImportSummary>,
}

/// Fetches `ecosystems` from `source` and rebuilds the database at `db_path`.
pub fn update(
    db_path: &Path,
    source: &str,
    ecosystems: &[String],
    downloader: &Downloader,
    progress: &dyn DownloadProgress,
) -> Result<UpdateSummary, UpdateError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |cause| UpdateError::Io { path, cause }
    };
    let parent = db_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let cache = parent.join("osv-downloads");
    std::fs::create_dir_all(&cache).map_err(io(&cache))?;
    let mut fetched = Vec::new();
    let mut sources = Vec::new();
    for ecosystem in ecosystems {
        let url = format!(
            "{}/{}/all.zip",
            source.trim_end_matches('/'),
            percent_encode(ecosystem)
        );
        let dest = cache.join(format!("{}.zip", file_name(ecosystem)));
        let outcome =
            downloader
                .fetch(&url, &dest, progress)
                .map_err(|cause| UpdateError::Download {
                    ecosystem: ecosystem.clone(),
                    cause,
                })?;
        fetched.push((ecosystem.clone(), url.clone(), outcome));
        sources.push(ImportSource {
            path: dest,
            origin: url,
        });
    }
    if is_current(db_path, &sources, &fetched) {
        return Ok(UpdateSummary {
            fetched,
            rebuilt: None,
        });
    }
    let mut fresh_name = db_path.file_name().unwrap_or_default().to_os_string();
    fresh_name.push(".update");
    let fresh = db_path.with_file_name(fresh_name);
    match std::fs::remove_file(&fresh) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&fresh)(e)),
        _ => {}
    }
    let summary = import(&fresh, &sources)?;
    std::fs::rename(&fresh, db_path).map_err(io(db_path))?;
    Ok(UpdateSummary {
        fetched,
        rebuilt: Some(summary),
    })
}

/// Whether the database already holds exactly what the cache holds: every
/// server said "not modified" and no zip is newer than the database (a
/// zip newer than it means an earlier rebuild failed after the download).
fn is_current(
    db_path: &Path,
    sources: &[ImportSource],
    fetched: &[(String, String, Fetched)],
) -> bool {
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let Some(built) = modified(db_path) else {
        return false;
    };
    fetched.iter().all(|(_, _, f)| *f == Fetched::NotModified)
        && sources
            .iter()
            .all(|s| modified(&s.path).is_some_and(|zip| zip <= built))
}

/// An ecosystem name as one URL path segment (`Rocky Linux` → `Rocky%20Linux`).
fn percent_encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An ecosystem name as a file name in the download cache.
fn file_name(ecosystem: &str) -> String {
    ecosystem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecosystems_become_url_segments_and_file_names() {
        assert_eq!(percent_encode("Rocky Linux"), "Rocky%20Linux");
        assert_eq!(percent_encode("Alpine:v3.19"), "Alpine%3Av3.19");
        assert_eq!(percent_encode("../x"), "..%2Fx");
        assert_eq!(file_name("Red Hat"), "Red_Hat");
        assert_eq!(file_name("../x"), "___x");
    }
}
