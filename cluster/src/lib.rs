//! Many engine workers behind thin control planes, over one Redis.
//!
//! - A **worker** ([`Worker`]) holds browsers and sessions. It registers in Redis with a lease it
//!   renews every 2 s ([`registry`]), takes the commands sent to it from its own list, runs them
//!   in order per session, and answers on the sender's reply channel ([`worker`]).
//! - A **control plane** ([`RoutedSessions`]) holds no browser. It places a new session on the
//!   live worker with the most free slots, records the owner of (tenant, room) atomically, and
//!   sends every later call to that owner, waiting for the answer with a deadline ([`routed`]).
//! - When a worker's lease lapses, one control plane marks its sessions failed and says so on the
//!   room's events ([`failover`]); `recover_browser_session` places the session again, with its
//!   URL, cookies and local storage. A worker stopped with `SIGTERM` hands its sessions to other
//!   workers before it exits ([`Worker::drain`]).
//! - MCP sessions of streamable HTTP live in Redis ([`mcp_sessions`]), so that a client needs no
//!   sticky routing: any control plane takes any of its requests.

pub mod failover;
pub mod keys;
pub mod mcp_sessions;
pub mod metrics;
pub mod registry;
pub mod replies;
pub mod routed;
pub mod video;
pub mod wire;
pub mod worker;

pub use registry::WorkerInfo;
pub use routed::RoutedSessions;
pub use worker::Worker;

use platform::error::{EngineError, Result};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::time::Duration;

/// How long a worker's lease lasts without renewal: past it, control planes count it dead.
pub const LEASE: Duration = Duration::from_secs(6);
/// How often a worker renews its lease.
pub const RENEW_EVERY: Duration = Duration::from_secs(2);

/// A Redis error as the engine reports it (the URL's credentials left out).
pub(crate) fn redis_err(e: redis::RedisError) -> EngineError {
    EngineError::EventBus(format!(
        "Redis: {}",
        platform::events::redis_bus::redact(&e)
    ))
}

/// A self-reconnecting connection for short commands.
pub(crate) async fn connect(client: &redis::Client) -> Result<ConnectionManager> {
    connect_with(client, Duration::from_secs(3)).await
}

/// A self-reconnecting connection whose answers may take up to `response` (blocking pops).
pub(crate) async fn connect_with(
    client: &redis::Client,
    response: Duration,
) -> Result<ConnectionManager> {
    let cfg = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(3)))
        .set_response_timeout(Some(response))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_secs(1));
    ConnectionManager::new_with_config(client.clone(), cfg)
        .await
        .map_err(redis_err)
}

/// Open a client for `url`.
pub(crate) fn client(url: &str) -> Result<redis::Client> {
    redis::Client::open(url).map_err(|e| EngineError::Config(format!("REDIS_URL: {e}")))
}
