//! MCP sessions of streamable HTTP kept in Redis, so that a client may send each request to any
//! control plane: the one that did not see its `initialize` restores the session from here.

use crate::keys;
use redis::aio::ConnectionManager;
use rmcp::transport::streamable_http_server::session::store::{
    SessionState, SessionStore, SessionStoreError,
};
use std::time::Duration;

/// How long an MCP session unused by any control plane is kept.
const KEEP: Duration = Duration::from_secs(24 * 3600);

/// MCP session state in Redis.
pub struct RedisMcpSessions {
    conn: ConnectionManager,
}

impl RedisMcpSessions {
    /// The store over `conn`.
    pub fn new(conn: ConnectionManager) -> Self {
        Self { conn }
    }
}

#[async_trait::async_trait]
impl SessionStore for RedisMcpSessions {
    async fn load(&self, session_id: &str) -> Result<Option<SessionState>, SessionStoreError> {
        let mut c = self.conn.clone();
        let json: Option<String> = redis::cmd("GET")
            .arg(keys::mcp_session(session_id))
            .query_async(&mut c)
            .await?;
        Ok(match json {
            Some(j) => Some(serde_json::from_str(&j)?),
            None => None,
        })
    }

    async fn store(&self, session_id: &str, state: &SessionState) -> Result<(), SessionStoreError> {
        let mut c = self.conn.clone();
        redis::cmd("SET")
            .arg(keys::mcp_session(session_id))
            .arg(serde_json::to_string(state)?)
            .arg("EX")
            .arg(KEEP.as_secs())
            .query_async::<()>(&mut c)
            .await?;
        Ok(())
    }

    async fn delete(&self, session_id: &str) -> Result<(), SessionStoreError> {
        let mut c = self.conn.clone();
        redis::cmd("DEL")
            .arg(keys::mcp_session(session_id))
            .query_async::<()>(&mut c)
            .await?;
        Ok(())
    }
}
