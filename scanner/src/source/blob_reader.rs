//! A layer blob's HTTP body as one blocking reader that survives the
//! network: when the body breaks off (a reset connection, a read that
//! times out, a body that ends early, a trickle too slow to finish), the
//! blob is requested again from the first byte not yet read — with
//! `Range: bytes=N-` — and the reader goes on from there, so the layer
//! pass sees every byte exactly once and the digest is still taken over
//! the whole blob. A registry that ignores the range sends the blob from
//! the start; the bytes already read are then skipped.

use super::distribution::{RegistryError, Session};
use super::registry_answers::describe;
use crate::layer::pass::StoreFailure;
use bytes::{Buf, Bytes};
use imgscan_sbom::retry::Backoff;
use reqwest::Response;
use std::io::{self, Read};
use std::time::{Duration, Instant};
use tokio::runtime::Handle;

/// Bytes per second a blob must average over one connection once
/// [`BlobReader::slow_after`] has passed.
const MIN_RATE: u64 = 16 << 10;

/// The body of one blob, resumed across connections.
pub(crate) struct BlobReader<'a> {
    handle: Handle,
    session: &'a Session,
    digest: String,
    size: u64,
    response: Option<Response>,
    chunk: Bytes,
    /// Bytes handed to the reader so far: where a resumed request starts.
    delivered: u64,
    /// Bytes of the current body to drop before delivering (a registry
    /// that answered a range request with the whole blob).
    skip: u64,
    /// When the current connection started, and what it has sent.
    started: Instant,
    received: u64,
    slow_after: Duration,
    backoff: Backoff,
}

impl<'a> BlobReader<'a> {
    /// A reader over `response`, the first answer for blob `digest` of
    /// `size` bytes, after the failed attempts `backoff` counted; a
    /// connection must average [`MIN_RATE`] once `slow_after` has passed.
    pub(crate) fn new(
        handle: Handle,
        session: &'a Session,
        (digest, size): (String, u64),
        response: Response,
        backoff: Backoff,
        slow_after: Duration,
    ) -> Self {
        BlobReader {
            handle,
            backoff,
            session,
            digest,
            size,
            response: Some(response),
            chunk: Bytes::new(),
            delivered: 0,
            skip: 0,
            started: Instant::now(),
            received: 0,
            slow_after,
        }
    }

    /// The next chunk of the body, or why the connection is no good.
    fn next_chunk(&mut self) -> Result<Option<Bytes>, String> {
        let elapsed = self.started.elapsed();
        if elapsed > self.slow_after && self.received / elapsed.as_secs().max(1) < MIN_RATE {
            return Err(format!(
                "the registry sent {} bytes in {} s, under {} KiB/s",
                self.received,
                elapsed.as_secs(),
                MIN_RATE >> 10
            ));
        }
        let response = self.response.as_mut().expect("a response is open");
        // A trickle that never stalls long enough for the read timeout is
        // cut off by the rate check above, at the latest when this ends.
        let deadline = self.slow_after.saturating_sub(elapsed) + Duration::from_secs(1);
        match self
            .handle
            .block_on(async { tokio::time::timeout(deadline, response.chunk()).await })
        {
            Ok(Ok(chunk)) => Ok(chunk),
            Ok(Err(e)) => Err(describe(&e)),
            Err(_) => Err("no data within the timeout".to_string()),
        }
    }

    /// Drops the broken connection and opens the blob again from
    /// `delivered`, after the backoff; fails once the retries are used up.
    fn resume(&mut self, reason: String) -> io::Result<()> {
        self.response = None;
        let gave_up = |attempts| RegistryError::GaveUp {
            what: format!("blob `{}`", self.digest),
            attempts,
            reason: format!("after {} of {} bytes: {reason}", self.delivered, self.size),
        };
        let Some(wait) = self.backoff.next_wait(None) else {
            return Err(StoreFailure::into_io(gave_up(self.backoff.failures())));
        };
        std::thread::sleep(wait);
        let (response, start) = self
            .handle
            .block_on(
                self.session
                    .blob(&self.digest, self.delivered, &mut self.backoff),
            )
            .map_err(StoreFailure::into_io)?;
        self.skip = self.delivered - start;
        self.response = Some(response);
        self.started = Instant::now();
        self.received = 0;
        Ok(())
    }
}

impl Read for BlobReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            if self.delivered == self.size {
                return Ok(0);
            }
            match self.next_chunk() {
                Ok(Some(mut chunk)) => {
                    self.received += chunk.len() as u64;
                    let dropped = self.skip.min(chunk.len() as u64);
                    self.skip -= dropped;
                    chunk.advance(dropped as usize);
                    if self.delivered + chunk.len() as u64 > self.size {
                        return Err(StoreFailure::into_io(RegistryError::Protocol {
                            what: format!("blob `{}`", self.digest),
                            reason: format!("longer than the {} bytes announced", self.size),
                        }));
                    }
                    self.chunk = chunk;
                }
                Ok(None) => {
                    let reason = "the body ended early".to_string();
                    self.resume(reason)?;
                }
                Err(reason) => self.resume(reason)?,
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        self.delivered += n as u64;
        Ok(n)
    }
}
