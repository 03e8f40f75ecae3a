//! What can go wrong between imgscan and the fleet's Redis. Messages name
//! the server only in its redacted form: never a user name or password.

/// A fleet operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// The URL is not one of Redis's.
    #[error(
        "not a Redis URL: expected `redis://[:PASSWORD@]HOST[:PORT][/DB]` or `rediss://…` ({reason})"
    )]
    Url {
        /// Why, in words that do not repeat the URL.
        reason: String,
    },
    /// Redis could not be reached, or answered with an error.
    #[error("redis `{server}`: {message}")]
    Redis {
        /// The server, redacted.
        server: String,
        /// What went wrong.
        message: String,
    },
    /// A result could not be written to `--results-dir`.
    #[error("cannot write the report of job `{job}` to `{path}`: {source}")]
    Results {
        /// The job.
        job: String,
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A record in Redis that imgscan did not write the way it reads it.
    #[error("redis `{server}`: record `{key}` is not what imgscan writes: {reason}")]
    Record {
        /// The server, redacted.
        server: String,
        /// The key (and field).
        key: String,
        /// What is wrong.
        reason: String,
    },
}
