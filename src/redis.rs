//! The Redis server a `redis://` or `rediss://` URL names, for the shared
//! layer cache and the fleet queue.

use imgscan_fleet::Server;

/// The server `url` names, with the password from IMGSCAN_REDIS_PASSWORD
/// when the URL has none.
pub fn server(url: &str) -> anyhow::Result<Server> {
    let password = std::env::var("IMGSCAN_REDIS_PASSWORD").ok();
    Ok(Server::parse(url, password.as_deref())?)
}
