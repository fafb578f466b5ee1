//! Live video on an engine worker, as routed calls reach it: a WHEP viewer joining through any
//! control plane is answered by the worker holding the session, with its own candidates.

use platform::error::Result;
use platform::TenantId;
use serde::{Deserialize, Serialize};

/// A WHEP answer as it crosses to the control plane.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WhepAnswer {
    /// The viewer's id (for `DELETE`).
    pub id: String,
    /// The SDP answer.
    pub sdp: String,
}

/// What a worker's live video does for routed calls (the binary adapts `streaming::LiveVideo`).
#[async_trait::async_trait]
pub trait WorkerVideo: Send + Sync {
    /// Answer a viewer's offer for a session held here.
    async fn offer(&self, tenant: &TenantId, room: &str, sdp: String) -> Result<WhepAnswer>;
    /// A viewer leaves.
    async fn close(&self, tenant: &TenantId, room: &str, viewer: &str) -> Result<()>;
}
