//! The layer-result cache on Redis: the very values the local directory
//! cache holds (self-checking entries, see `imgscan_scanner::cache`), under
//! versioned keys (`imgscan:cache:v1:` and the key, which already hashes
//! imgscan's version and every setting that changes a result), each with a
//! time to live that a hit renews. Nothing else goes in: no target, no
//! registry, no credential.
//!
//! A cache is optional, so Redis trouble never fails a scan: a server that
//! cannot be reached, or does not answer within [`IO_TIMEOUT`], turns the
//! store off for [`RETRY_AFTER`] (every call a miss, at no cost) and
//! [`CacheStore::trouble`] says why; then it tries again.

use crate::FleetError;
use crate::server::{self, Server, describe};
use imgscan_scanner::cache::CacheStore;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The prefix of every cache key.
pub const KEY_PREFIX: &str = "imgscan:cache:v1:";
/// Longest wait for a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Longest wait for one reply (a layer result is at most a few MiB).
pub const IO_TIMEOUT: Duration = Duration::from_secs(3);
/// How long the store stays off after trouble.
pub const RETRY_AFTER: Duration = Duration::from_secs(30);

/// Layer results in Redis, shared by every runner that names the server.
pub struct RedisStore {
    server: Server,
    ttl_secs: u64,
    /// Connections not in use (layers are read in parallel).
    idle: Mutex<Vec<redis::Connection>>,
    /// Since when and why the store is off, and until when.
    off: Mutex<Option<(Instant, String)>>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedisStore({})", self.server)
    }
}

impl RedisStore {
    /// A store on `server` whose entries live `ttl` after their last use.
    pub fn new(server: Server, ttl: Duration) -> Self {
        RedisStore {
            server,
            ttl_secs: ttl.as_secs().max(1),
            idle: Mutex::default(),
            off: Mutex::default(),
        }
    }

    /// Runs `op` on a connection, unless the store is off; trouble
    /// reaching the server turns it off.
    fn with<T>(
        &self,
        op: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Option<T> {
        {
            let mut off = self.off.lock().unwrap_or_else(|e| e.into_inner());
            match &*off {
                Some((until, _)) if Instant::now() < *until => return None,
                Some(_) => *off = None,
                None => {}
            }
        }
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut conn = match idle {
            Some(conn) => conn,
            None => match self.server.connect(CONNECT_TIMEOUT, IO_TIMEOUT) {
                Ok(conn) => conn,
                Err(e) => {
                    self.turn_off(e.to_string());
                    return None;
                }
            },
        };
        match op(&mut conn) {
            Ok(value) => {
                self.idle
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(conn);
                Some(value)
            }
            // A refused value (too large, say) leaves the connection usable.
            Err(e) if e.kind() != redis::ErrorKind::Io && !e.is_unrecoverable_error() => {
                self.idle
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(conn);
                None
            }
            Err(e) => {
                self.turn_off(format!("redis `{}`: {}", self.server, describe(&e)));
                None
            }
        }
    }

    /// The server.
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// How long an entry stays after its last use.
    pub fn ttl(&self) -> Duration {
        Duration::from_secs(self.ttl_secs)
    }

    /// What the store holds: (entries, bytes). Unlike a scan's use of the
    /// store, trouble here is an error.
    pub fn usage(&self) -> Result<(u64, u64), FleetError> {
        let mut conn = self.server.connect(CONNECT_TIMEOUT, IO_TIMEOUT)?;
        let keys = server::keys(&mut conn, &format!("{KEY_PREFIX}*"))
            .map_err(|e| self.server.error(&e))?;
        let mut bytes = 0;
        for chunk in keys.chunks(500) {
            let mut pipe = redis::pipe();
            for key in chunk {
                pipe.cmd("STRLEN").arg(key);
            }
            let sizes: Vec<u64> = pipe.query(&mut conn).map_err(|e| self.server.error(&e))?;
            bytes += sizes.iter().sum::<u64>();
        }
        Ok((keys.len() as u64, bytes))
    }

    /// Removes every entry; how many there were.
    pub fn clear(&self) -> Result<u64, FleetError> {
        let mut conn = self.server.connect(CONNECT_TIMEOUT, IO_TIMEOUT)?;
        server::keys(&mut conn, &format!("{KEY_PREFIX}*"))
            .and_then(|keys| server::unlink(&mut conn, &keys))
            .map_err(|e| self.server.error(&e))
    }

    fn turn_off(&self, why: String) {
        *self.off.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now() + RETRY_AFTER, why));
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

fn key(key: &str) -> String {
    format!("{KEY_PREFIX}{key}")
}

impl CacheStore for RedisStore {
    fn get(&self, k: &str) -> Option<Vec<u8>> {
        self.with(|c| redis::cmd("GET").arg(key(k)).query::<Option<Vec<u8>>>(c))
            .flatten()
    }

    fn put(&self, k: &str, value: &[u8]) {
        self.with(|c| {
            redis::cmd("SET")
                .arg(key(k))
                .arg(value)
                .arg("EX")
                .arg(self.ttl_secs)
                .query::<()>(c)
        });
    }

    fn touch(&self, k: &str) {
        self.with(|c| {
            redis::cmd("EXPIRE")
                .arg(key(k))
                .arg(self.ttl_secs)
                .query::<()>(c)
        });
    }

    fn remove(&self, k: &str) {
        self.with(|c| redis::cmd("DEL").arg(key(k)).query::<()>(c));
    }

    fn shared(&self) -> bool {
        true
    }

    fn trouble(&self) -> Option<String> {
        let off = self.off.lock().unwrap_or_else(|e| e.into_inner());
        off.as_ref().map(|(_, why)| why.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_that_is_not_there_is_a_quiet_miss() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server = Server::parse(&format!("redis://:pw@127.0.0.1:{port}/0"), None).unwrap();
        let store = RedisStore::new(server, Duration::from_secs(60));
        let started = Instant::now();
        assert!(store.get("aa").is_none());
        store.put("aa", b"x");
        assert!(
            started.elapsed() < CONNECT_TIMEOUT * 2,
            "off after the first refusal"
        );
        let trouble = store.trouble().unwrap();
        assert!(trouble.contains("connection refused"), "{trouble}");
        assert!(!trouble.contains("pw@"), "{trouble}");
    }
}
