//! Fleet scale on Redis: every runner of a site shares one layer-result
//! cache ([`RedisStore`], the same bytes the local directory cache holds),
//! and scan jobs go through a Redis Stream with one consumer group
//! ([`Queue`]): at-least-once delivery, a job held by a worker that died
//! claimed by another after a visibility timeout, results keyed by job so
//! a duplicate delivery changes nothing, and a job that failed three times
//! parked with its error. [`FleetReport`] sums the results up.
//!
//! This crate talks to Redis and keeps the records; it never prints and
//! never scans: the CLI runs the scans and renders.
#![forbid(unsafe_code)]

pub mod error;
pub mod job;
pub mod queue;
pub mod record;
pub mod render;
pub mod server;
pub mod store;
pub mod summary;

pub use error::FleetError;
pub use job::{BadJob, Delivery, JobSpec};
pub use queue::{Queue, Status};
pub use record::Outcome;
pub use server::Server;
pub use store::RedisStore;
pub use summary::FleetReport;
