//! Where the fleet's Redis is: a `redis://` or `rediss://` URL (TLS roots
//! from the system store, or the file `SSL_CERT_FILE` names), a password in
//! the URL or given apart (`IMGSCAN_REDIS_PASSWORD`), and connections with
//! bounded connect and I/O times, so a server that is down or stalled
//! costs seconds, never a hung scan. Only the redacted form
//! (`redis://HOST:PORT/DB`) is ever shown.

use crate::FleetError;
use redis::{ConnectionAddr, IntoConnectionInfo};
use std::fmt;
use std::time::Duration;

/// A Redis server to connect to.
#[derive(Clone)]
pub struct Server {
    client: redis::Client,
    shown: String,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Server({})", self.shown)
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl Server {
    /// The server `url` names; `password` is used when the URL has none.
    pub fn parse(url: &str, password: Option<&str>) -> Result<Server, FleetError> {
        let scheme_ok = ["redis://", "rediss://", "redis+unix://", "unix://"]
            .iter()
            .any(|s| url.starts_with(s));
        if !scheme_ok {
            return Err(FleetError::Url {
                reason: "the scheme is not redis, rediss or unix".into(),
            });
        }
        let mut info = url.into_connection_info().map_err(|_| FleetError::Url {
            reason: "it does not parse".into(),
        })?;
        let settings = info.redis_settings().clone();
        if settings.password().is_none()
            && let Some(password) = password.filter(|p| !p.is_empty())
        {
            info = info.set_redis_settings(settings.set_password(password));
        }
        let db = info.redis_settings().db();
        let shown = match info.addr() {
            ConnectionAddr::Tcp(host, port) => format!("redis://{host}:{port}/{db}"),
            ConnectionAddr::TcpTls { host, port, .. } => format!("rediss://{host}:{port}/{db}"),
            ConnectionAddr::Unix(path) => format!("redis+unix://{}?db={db}", path.display()),
            _ => "redis".to_string(),
        };
        let client = redis::Client::open(info).map_err(|e| FleetError::Url {
            reason: e.to_string(),
        })?;
        Ok(Server { client, shown })
    }

    /// A new connection, given `connect` to be made and `io` per reply.
    pub fn connect(
        &self,
        connect: Duration,
        io: Duration,
    ) -> Result<redis::Connection, FleetError> {
        let conn = self
            .client
            .get_connection_with_timeout(connect)
            .map_err(|e| self.error(&e))?;
        conn.set_read_timeout(Some(io))
            .and_then(|()| conn.set_write_timeout(Some(io)))
            .map_err(|e| self.error(&e))?;
        Ok(conn)
    }

    /// `error` as a [`FleetError`] naming this server (redacted).
    pub fn error(&self, error: &redis::RedisError) -> FleetError {
        FleetError::Redis {
            server: self.shown.clone(),
            message: describe(error),
        }
    }
}

/// Every key matching `pattern`, found with `SCAN` (which never blocks
/// the server the way `KEYS` does).
pub(crate) fn keys(conn: &mut redis::Connection, pattern: &str) -> redis::RedisResult<Vec<String>> {
    let mut keys: Vec<String> = Vec::new();
    let mut cursor = 0u64;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query(conn)?;
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    keys.sort();
    keys.dedup();
    Ok(keys)
}

/// Removes `keys` (`UNLINK`, in batches); how many there were.
pub(crate) fn unlink(conn: &mut redis::Connection, keys: &[String]) -> redis::RedisResult<u64> {
    let mut removed = 0;
    for chunk in keys.chunks(500) {
        removed += redis::cmd("UNLINK").arg(chunk).query::<u64>(conn)?;
    }
    Ok(removed)
}

/// A Redis error in words: the client's own, with the common I/O cases
/// said plainly.
pub fn describe(error: &redis::RedisError) -> String {
    if error.is_timeout() {
        "no answer in time".to_string()
    } else if error.is_connection_refusal() {
        "connection refused".to_string()
    } else if error.is_connection_dropped() {
        "the connection was closed".to_string()
    } else {
        error.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_without_credentials() {
        let server = Server::parse("redis://alice:s3cret@10.0.0.5:6380/2", None).unwrap();
        assert_eq!(server.to_string(), "redis://10.0.0.5:6380/2");
        assert!(!format!("{server:?}").contains("s3cret"));
        let server = Server::parse("rediss://:s3cret@cache.example:6390", None).unwrap();
        assert_eq!(server.to_string(), "rediss://cache.example:6390/0");
        for bad in ["http://x:1", "redis://:s3cret@[::1", "s3cret"] {
            let err = Server::parse(bad, None).unwrap_err().to_string();
            assert!(!err.contains("s3cret"), "{err}");
        }
    }
}
