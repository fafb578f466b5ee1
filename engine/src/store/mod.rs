//! The document store: the source of truth for sessions (and, later, jobs, pages and links).
//! The embedded default is a SQLite file; every document carries its tenant and every read
//! filters by it.

mod sqlite;

pub use sqlite::SqliteStore;

use crate::config::Viewport;
use crate::error::Result;
use crate::tenant::TenantId;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

/// Collection names, shared by every backend.
pub mod collections {
    /// Browser sessions.
    pub const SESSIONS: &str = "brwsr_auto_svc_sessions";
}

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Taking actions.
    Active,
    /// Open, but taking no actions and publishing no video.
    Paused,
    /// Its browser died or the service restarted; recoverable.
    Failed,
    /// Closed by its owner or by the idle timeout.
    Closed,
}

/// A session as stored: enough to recover it after a browser crash or a service restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The room the session belongs to; unique among open sessions.
    pub room_name: String,
    /// The owner.
    pub tenant_id: TenantId,
    /// Where it is in its life.
    pub status: SessionStatus,
    /// The last URL the main frame showed.
    pub current_url: Option<String>,
    /// The viewport.
    pub viewport: Viewport,
    /// Frames per second for live video.
    pub fps: u32,
    /// Why it failed, if it did.
    pub last_error: Option<String>,
    /// Seconds since the Unix epoch.
    pub created_at: f64,
    /// Seconds since the Unix epoch.
    pub updated_at: f64,
}

/// Persistent storage of documents.
pub trait DocumentStore: Send + Sync + 'static {
    /// Which backend this is (`sqlite` or `mongodb`).
    fn backend(&self) -> &'static str;
    /// Insert or replace a session record (keyed by room name).
    fn put_session(&self, record: SessionRecord) -> BoxFuture<'_, Result<()>>;
    /// A tenant's session record by room name.
    fn get_session<'a>(
        &'a self,
        tenant: &'a TenantId,
        room_name: &'a str,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>>>;
    /// A tenant's sessions, newest first, optionally only those with one status.
    fn list_sessions<'a>(
        &'a self,
        tenant: &'a TenantId,
        status: Option<SessionStatus>,
    ) -> BoxFuture<'a, Result<Vec<SessionRecord>>>;
    /// Mark every active or paused session failed (after a restart: their browsers are gone).
    /// Returns how many were marked.
    fn fail_open_sessions<'a>(&'a self, reason: &'a str) -> BoxFuture<'a, Result<usize>>;
    /// Check that the store works.
    fn health(&self) -> BoxFuture<'_, Result<()>>;
}

/// Seconds since the Unix epoch, with millisecond precision.
pub fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as f64
        / 1000.0
}
