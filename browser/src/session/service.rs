//! What a transport (MCP tools, the HTTP API) asks of sessions, whoever holds them: the
//! [`SessionManager`] of this process, or a cluster that routes each call to the engine worker
//! holding the session.

use super::observer::RecordingInfo;
use super::screen::{ScreenContent, ScreenOptions};
use super::{ActionFields, ActionKind, ActionResult, BrowserContext, SessionInfo, StartOptions};
use super::{SessionManager, TenantId};
use platform::error::Result;

/// The session calls of the tools, answered the same way wherever the session lives.
#[async_trait::async_trait]
pub trait SessionService: Send + Sync {
    /// Open a session for a room.
    async fn start_session(
        &self,
        tenant: &TenantId,
        room: &str,
        opts: StartOptions,
    ) -> Result<SessionInfo>;
    /// Pause a session.
    async fn pause(&self, tenant: &TenantId, room: &str) -> Result<SessionInfo>;
    /// Resume a paused session.
    async fn resume(&self, tenant: &TenantId, room: &str) -> Result<SessionInfo>;
    /// Close a session.
    async fn close(&self, tenant: &TenantId, room: &str) -> Result<SessionInfo>;
    /// Give a failed session a fresh page and load its last URL again.
    async fn recover(&self, tenant: &TenantId, room: &str) -> Result<SessionInfo>;
    /// Run one action.
    async fn execute(
        &self,
        tenant: &TenantId,
        room: &str,
        kind: ActionKind,
        fields: &ActionFields,
    ) -> Result<ActionResult>;
    /// Where the session is.
    async fn browser_context(&self, tenant: &TenantId, room: &str) -> Result<BrowserContext>;
    /// What the page shows, compactly.
    async fn screen_content(
        &self,
        tenant: &TenantId,
        room: &str,
        opts: ScreenOptions,
    ) -> Result<ScreenContent>;
    /// The tenant's open sessions.
    async fn list(&self, tenant: &TenantId) -> Result<Vec<SessionInfo>>;
    /// Start recording a session's video (the running recording when there is one).
    async fn start_recording(&self, tenant: &TenantId, room: &str) -> Result<RecordingInfo>;
    /// Stop a session's recording and store it.
    async fn stop_recording(&self, tenant: &TenantId, room: &str) -> Result<RecordingInfo>;
    /// A room's recordings, oldest first, the one being written last (also of sessions already
    /// closed).
    async fn recordings(&self, tenant: &TenantId, room: &str) -> Result<Vec<RecordingInfo>>;
    /// A WHEP viewer's SDP offer for a session's live video held elsewhere: `(viewer id, SDP
    /// answer)` from the process holding it. A process that holds its sessions serves viewers
    /// itself and answers `not_served_here`.
    async fn whep_offer(
        &self,
        _tenant: &TenantId,
        _room: &str,
        _offer: String,
    ) -> Result<(String, String)> {
        Err(platform::EngineError::NotServedHere(
            "live video is served by the process holding the session".into(),
        ))
    }
    /// A WHEP viewer of a session held elsewhere leaves.
    async fn whep_close(&self, _tenant: &TenantId, _room: &str, _viewer: &str) -> Result<()> {
        Err(platform::EngineError::NotServedHere(
            "live video is served by the process holding the session".into(),
        ))
    }
    /// Where sessions run, for `/health` of a control plane (`workers_alive`, each worker's
    /// slots); `None` when they run in this process.
    async fn fleet(&self) -> Option<serde_json::Value> {
        None
    }
}

#[async_trait::async_trait]
impl SessionService for SessionManager {
    async fn start_session(
        &self,
        tenant: &TenantId,
        room: &str,
        opts: StartOptions,
    ) -> Result<SessionInfo> {
        SessionManager::start_session(self, tenant, room, opts).await
    }
    async fn pause(&self, tenant: &TenantId, room: &str) -> Result<SessionInfo> {
        SessionManager::pause(self, tenant, room).await
    }
    async fn resume(&self, tenant: &TenantId, room: &str) -> Result<SessionInfo> {
        SessionManager::resume(self, tenant, room).await
    }
    async fn close(&self, tenant: &TenantId, room: &str) -> Result<SessionInfo> {
        SessionManager::close(self, tenant, room).await
    }
    async fn recover(&self, tenant: &TenantId, room: &str) -> Result<SessionInfo> {
        SessionManager::recover(self, tenant, room).await
    }
    async fn execute(
        &self,
        tenant: &TenantId,
        room: &str,
        kind: ActionKind,
        fields: &ActionFields,
    ) -> Result<ActionResult> {
        SessionManager::execute(self, tenant, room, kind, fields).await
    }
    async fn browser_context(&self, tenant: &TenantId, room: &str) -> Result<BrowserContext> {
        SessionManager::browser_context(self, tenant, room).await
    }
    async fn screen_content(
        &self,
        tenant: &TenantId,
        room: &str,
        opts: ScreenOptions,
    ) -> Result<ScreenContent> {
        SessionManager::screen_content(self, tenant, room, opts).await
    }
    async fn list(&self, tenant: &TenantId) -> Result<Vec<SessionInfo>> {
        Ok(SessionManager::list(self, tenant))
    }
    async fn start_recording(&self, tenant: &TenantId, room: &str) -> Result<RecordingInfo> {
        let info = self.recorder()?.start(tenant, room).await?;
        self.set_recorded(tenant, room, true).await;
        Ok(info)
    }
    async fn stop_recording(&self, tenant: &TenantId, room: &str) -> Result<RecordingInfo> {
        let info = self.recorder()?.stop(tenant, room).await?;
        self.set_recorded(tenant, room, false).await;
        Ok(info)
    }
    async fn recordings(&self, tenant: &TenantId, room: &str) -> Result<Vec<RecordingInfo>> {
        self.recorder()?.list(tenant, room).await
    }
}
