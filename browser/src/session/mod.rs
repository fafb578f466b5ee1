//! Browser sessions: one incognito context and page per room, owned by one tenant, driven by
//! actions that run one at a time, with events for every step and recovery after a crash.

pub mod actions;
pub mod driver;
mod execution;
pub mod keys;
mod lifecycle;
pub mod observer;
pub mod screen;
mod service;
mod storage;
mod types;
mod watching;

pub use service::SessionService;
pub use types::*;

use lifecycle::reap_idle;
use watching::watch_deaths;

use crate::cdp::CdpResult;
use crate::pool::{BrowserPool, PageLease};
use actions::{Action, ActionContext, ActionFields, ActionKind};
use base64::Engine as _;
use chromiumoxide::cdp::browser_protocol::inspector::EventTargetCrashed;
use chromiumoxide::cdp::browser_protocol::page::{
    CaptureScreenshotFormat, CaptureScreenshotParams, EventFrameNavigated, EventLoadEventFired,
};
use driver::PageState;
use futures::StreamExt;
use observer::{LiveKitTarget, PublishPolicy, RecordingControl, SessionChange, SessionObserver};
use platform::config::Viewport;
use platform::error::{EngineError, Result};
use platform::events::{emit, room_channel, EventBus, EventKind};
use platform::netguard::{self, NetPolicy};
use platform::store::{now_secs, DocumentStore, SessionRecord, SessionStatus};
use platform::telemetry::{self, Telemetry};
use platform::tenant::TenantId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tracing::Instrument;

struct Inner {
    status: SessionStatus,
    lease: Option<Arc<PageLease>>,
    viewport: Viewport,
    fps: u32,
    url: Option<String>,
    last_error: Option<String>,
    last_activity: Instant,
    mutations_seen: u64,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Where it is published in LiveKit (kept in memory only: the token is a secret).
    livekit: Option<LiveKitTarget>,
    /// Whether its video is recorded from its start (and again after a recovery).
    record: bool,
    /// Cookies and local storage as last snapshotted ([`SessionRecord::storage`]).
    storage: Option<Value>,
    /// What tells a snapshot whether the page's local storage changed since it was last read
    /// (`None` until the first snapshot of this page).
    local_changes: Option<storage::LocalChanges>,
}

/// One live browser session.
pub struct Session {
    room_name: String,
    tenant: TenantId,
    created_at: f64,
    op: tokio::sync::Mutex<()>,
    inner: Mutex<Inner>,
    cursor: Mutex<(f64, f64)>,
    /// Set when the session ends (closed, idle, discarded): what is bound to this instance of the
    /// room (an event socket) ends with it.
    ended: tokio::sync::watch::Sender<bool>,
    span: tracing::Span,
}

impl Session {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("session lock")
    }

    /// Whether it holds a page (active or paused).
    fn is_open(&self) -> bool {
        matches!(
            self.lock().status,
            SessionStatus::Active | SessionStatus::Paused
        )
    }

    fn info(&self) -> SessionInfo {
        let i = self.lock();
        SessionInfo {
            room_name: self.room_name.clone(),
            status: i.status,
            url: i.url.clone(),
            viewport: i.viewport,
            fps: i.fps,
            browser_id: i.lease.as_ref().map(|l| l.browser_id()),
            last_error: i.last_error.clone(),
            restored_url: None,
            restore_error: None,
            worker: None,
        }
    }

    fn record(&self) -> SessionRecord {
        let i = self.lock();
        SessionRecord {
            room_name: self.room_name.clone(),
            tenant_id: self.tenant.clone(),
            status: i.status,
            current_url: i.url.clone(),
            viewport: i.viewport,
            fps: i.fps,
            last_error: i.last_error.clone(),
            storage: i.storage.clone(),
            record: i.record,
            livekit_url: i
                .livekit
                .as_ref()
                .filter(|t| t.token.is_none())
                .map(|t| t.url.clone()),
            created_at: self.created_at,
            updated_at: now_secs(),
        }
    }

    /// The live page, or the error that explains why there is none.
    fn page_lease(&self) -> Result<Arc<PageLease>> {
        let i = self.lock();
        match (i.status, &i.lease) {
            (SessionStatus::Failed, _) | (_, None) => Err(EngineError::SessionFailed(
                self.room_name.clone(),
                format!(
                    "{}; call recover_browser_session",
                    i.last_error
                        .clone()
                        .unwrap_or_else(|| "its browser is gone".into())
                ),
            )),
            (SessionStatus::Closed, _) => Err(EngineError::SessionNotFound(self.room_name.clone())),
            (_, Some(l)) => Ok(l.clone()),
        }
    }
}

/// Everything the session manager needs from the rest of the engine.
pub struct SessionDeps {
    /// The browser pool.
    pub pool: Arc<BrowserPool>,
    /// The event bus.
    pub bus: Arc<dyn EventBus>,
    /// The document store.
    pub store: Arc<dyn DocumentStore>,
    /// Typed telemetry.
    pub telemetry: Arc<Telemetry>,
    /// Private networks navigation may reach.
    pub network: NetPolicy,
    /// Load timeout.
    pub nav_timeout: Duration,
    /// Most open sessions.
    pub max_sessions: usize,
    /// Most open sessions for one tenant.
    pub tenant_max_sessions: usize,
    /// Close sessions idle this long.
    pub idle_timeout: Option<Duration>,
    /// Whether this process owns the stored sessions: at start it marks those left open by a
    /// previous run failed (recoverable). A job worker sharing the store leaves them alone.
    pub owns_sessions: bool,
}

/// All sessions of this process.
pub struct SessionManager {
    deps: SessionDeps,
    /// Sessions by (tenant, room name): two tenants may use the same room name.
    sessions: Mutex<HashMap<(TenantId, String), Arc<Session>>>,
    observers: Mutex<Vec<Arc<dyn SessionObserver>>>,
    publishing: Mutex<Option<Arc<dyn PublishPolicy>>>,
    recorder: Mutex<Option<Arc<dyn RecordingControl>>>,
}

fn valid_room_name(room: &str) -> Result<()> {
    let ok = !room.is_empty()
        && room.len() <= 128
        && room
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(EngineError::InvalidRequest(format!(
            "room_name {room:?} must be 1-128 characters of letters, digits and - _ . : @"
        )))
    }
}

impl SessionManager {
    /// Create the manager and start its background work: failing sessions whose browser died,
    /// and closing idle sessions.
    pub async fn start(deps: SessionDeps) -> Result<Arc<Self>> {
        let failed = if deps.owns_sessions {
            deps.store
                .fail_open_sessions("the service restarted")
                .await?
        } else {
            0
        };
        if failed > 0 {
            tracing::info!(
                failed,
                "sessions from a previous run marked failed; they can be recovered"
            );
        }
        let mgr = Arc::new(Self {
            deps,
            sessions: Mutex::new(HashMap::new()),
            observers: Mutex::new(Vec::new()),
            publishing: Mutex::new(None),
            recorder: Mutex::new(None),
        });
        tokio::spawn(watch_deaths(Arc::downgrade(&mgr), mgr.deps.pool.deaths()));
        if let Some(idle) = mgr.deps.idle_timeout {
            tokio::spawn(reap_idle(Arc::downgrade(&mgr), idle));
        }
        Ok(mgr)
    }

    fn all(&self) -> Vec<Arc<Session>> {
        self.sessions
            .lock()
            .expect("sessions lock")
            .values()
            .cloned()
            .collect()
    }

    /// Sessions holding a browser page.
    pub fn open_count(&self) -> usize {
        self.all().iter().filter(|s| s.is_open()).count()
    }

    /// A tenant's session. Another tenant's session is reported as not found.
    fn get(&self, tenant: &TenantId, room: &str) -> Result<Arc<Session>> {
        let key = (tenant.clone(), room.to_string());
        match self.sessions.lock().expect("sessions lock").get(&key) {
            Some(s) => Ok(s.clone()),
            None => Err(EngineError::SessionNotFound(room.to_string())),
        }
    }

    /// A session's live page with its viewport and frame rate (for live video): an error when the
    /// session is unknown to the tenant, failed or closed.
    pub fn live_page(
        &self,
        tenant: &TenantId,
        room: &str,
    ) -> Result<(Arc<PageLease>, Viewport, u32)> {
        let s = self.get(tenant, room)?;
        let lease = s.page_lease()?;
        let i = s.lock();
        Ok((lease, i.viewport, i.fps))
    }

    /// One of the tenant's sessions as reported to callers.
    pub fn info(&self, tenant: &TenantId, room: &str) -> Result<SessionInfo> {
        Ok(self.get(tenant, room)?.info())
    }

    /// A tenant's open sessions.
    pub fn list(&self, tenant: &TenantId) -> Vec<SessionInfo> {
        let mut v: Vec<SessionInfo> = self
            .all()
            .into_iter()
            .filter(|s| &s.tenant == tenant)
            .map(|s| s.info())
            .collect();
        v.sort_by(|a, b| a.room_name.cmp(&b.room_name));
        v
    }

    /// A signal that turns `true` when the tenant's current session of `room` ends (`None` when
    /// there is none): a subscription bound to this session instance closes with it, and never
    /// carries the events of a later session of the same name.
    pub fn end_signal(
        &self,
        tenant: &TenantId,
        room: &str,
    ) -> Option<tokio::sync::watch::Receiver<bool>> {
        self.get(tenant, room).ok().map(|s| s.ended.subscribe())
    }

    /// Be told of every session's changes from now on (live video uses this).
    pub fn observe(&self, observer: Arc<dyn SessionObserver>) {
        self.observers
            .lock()
            .expect("observers lock")
            .push(observer);
    }

    /// Let `policy` decide, at each start, where a session's video is published (live video
    /// installs one; without it no session is published).
    pub fn set_publish_policy(&self, policy: Arc<dyn PublishPolicy>) {
        *self.publishing.lock().expect("publishing lock") = Some(policy);
    }

    /// Let `recorder` record sessions' video (live video installs one).
    pub fn set_recorder(&self, recorder: Arc<dyn RecordingControl>) {
        *self.recorder.lock().expect("recorder lock") = Some(recorder);
    }

    /// What records sessions' video; a process without live video records nothing.
    pub fn recorder(&self) -> Result<Arc<dyn RecordingControl>> {
        self.recorder
            .lock()
            .expect("recorder lock")
            .clone()
            .ok_or_else(|| EngineError::InvalidRequest("this process records no video".into()))
    }

    /// Note whether a session's video is being recorded, so that a recovery or a move records on.
    pub(crate) async fn set_recorded(&self, tenant: &TenantId, room: &str, on: bool) {
        if let Ok(s) = self.get(tenant, room) {
            let changed = std::mem::replace(&mut s.lock().record, on) != on;
            if changed {
                self.persist(&s).await;
            }
        }
    }

    /// Where a session started with `opts` is published, if anywhere; an error refuses the start.
    fn publish_target(&self, opts: &StartOptions) -> Result<Option<LiveKitTarget>> {
        let policy = self.publishing.lock().expect("publishing lock").clone();
        match policy {
            Some(p) => p.livekit_target(opts),
            None if opts.livekit_url.is_some() || opts.livekit_token.is_some() => {
                Err(EngineError::InvalidRequest(
                    "this process publishes no live video (livekit_url, livekit_token)".into(),
                ))
            }
            None => Ok(None),
        }
    }

    fn notify(&self, s: &Session, change: SessionChange) {
        let observers = self.observers.lock().expect("observers lock").clone();
        for o in observers {
            o.session_changed(&s.tenant, &s.room_name, change.clone());
        }
    }

    async fn publish(&self, tenant: &TenantId, room: &str, kind: EventKind, data: Value) {
        emit(
            self.deps.bus.as_ref(),
            &room_channel(tenant, room),
            kind,
            data,
        )
        .await;
    }

    async fn persist(&self, s: &Session) {
        if let Err(e) = self.deps.store.put_session(s.record()).await {
            tracing::warn!(room = %s.room_name, error = %e, "session state not stored");
        }
    }
}
