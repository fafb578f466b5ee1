//! Browser sessions: one incognito context and page per room, owned by one tenant, driven by
//! actions that run one at a time, with events for every step and recovery after a crash.

pub mod actions;
pub mod driver;
pub(crate) mod guard;
pub mod keys;
pub mod observer;
pub mod screen;

use crate::cdp::CdpResult;
use crate::pool::{BrowserPool, PageLease};
use actions::{Action, ActionContext, ActionFields, ActionKind};
use base64::Engine as _;
use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
use chromiumoxide::cdp::browser_protocol::inspector::EventTargetCrashed;
use chromiumoxide::cdp::browser_protocol::page::{
    CaptureScreenshotFormat, CaptureScreenshotParams, EventFrameNavigated, EventLoadEventFired,
};
use driver::PageState;
use futures::StreamExt;
use observer::{LiveKitTarget, SessionChange, SessionObserver};
use platform::config::Viewport;
use platform::error::{EngineError, Result};
use platform::events::{emit, room_channel, EventBus, EventKind};
use platform::metrics::Metrics;
use platform::netguard::{self, Allowlist};
use platform::store::{now_secs, DocumentStore, SessionRecord, SessionStatus};
use platform::tenant::TenantId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tracing::Instrument;

/// How a session is started.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartOptions {
    /// A URL to load once the session is open.
    #[serde(default)]
    pub initial_url: Option<String>,
    /// Viewport; default 1920x1080.
    #[serde(default)]
    pub viewport: Option<Viewport>,
    /// Frames per second for live video; default 10.
    #[serde(default)]
    pub fps: Option<u32>,
    /// LiveKit server to publish the session's video to (default: the service's `LIVEKIT_URL`).
    #[serde(default)]
    pub livekit_url: Option<String>,
    /// LiveKit access token for the room (default: one the service signs with its API key).
    #[serde(default)]
    pub livekit_token: Option<String>,
}

/// A session as reported to callers.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct SessionInfo {
    /// The session's room.
    pub room_name: String,
    /// Where it is in its life.
    pub status: SessionStatus,
    /// The current URL.
    pub url: Option<String>,
    /// Viewport.
    pub viewport: Viewport,
    /// Frames per second for live video.
    pub fps: u32,
    /// The pool's id of the browser hosting it.
    pub browser_id: Option<u64>,
    /// Why it failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Set by recovery: the URL that was loaded again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored_url: Option<String>,
    /// Set by recovery when the page could not be loaded again (the session is open regardless).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_error: Option<String>,
}

/// The result of one action.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ActionResult {
    /// Unique id of this action, also carried by its events.
    pub action_id: String,
    /// The session's room.
    pub room_name: String,
    /// The action that ran.
    pub action: ActionKind,
    /// Always true: failures are errors.
    pub success: bool,
    /// How long it took.
    pub duration_ms: u64,
    /// The page state after the action.
    pub page: PageState,
    /// Whether the document changed.
    pub dom_changed: bool,
    /// Action-specific details.
    pub details: Value,
}

/// The browser context of a session: where it is and what it shows, in a few fields.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct BrowserContext {
    /// The session's room.
    pub room_name: String,
    /// Where the session is in its life.
    pub status: SessionStatus,
    /// URL.
    pub url: String,
    /// Title.
    pub title: String,
    /// `loading`, `interactive` or `complete`.
    pub ready_state: String,
    /// Horizontal scroll offset.
    pub scroll_x: i64,
    /// Vertical scroll offset.
    pub scroll_y: i64,
    /// Viewport.
    pub viewport: Viewport,
    /// Document width.
    pub page_width: i64,
    /// Document height.
    pub page_height: i64,
    /// Last mouse position.
    pub cursor: Cursor,
}

/// A mouse position in viewport CSS pixels.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
pub struct Cursor {
    /// x.
    pub x: f64,
    /// y.
    pub y: f64,
}

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
}

/// One live browser session.
pub struct Session {
    room_name: String,
    tenant: TenantId,
    created_at: f64,
    op: tokio::sync::Mutex<()>,
    inner: Mutex<Inner>,
    blocked: Arc<Mutex<Option<String>>>,
    cursor: Mutex<(f64, f64)>,
    span: tracing::Span,
}

impl Session {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("session lock")
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
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Private networks navigation may reach.
    pub allowlist: Allowlist,
    /// Load timeout.
    pub nav_timeout: Duration,
    /// Most open sessions.
    pub max_sessions: usize,
    /// Close sessions idle this long.
    pub idle_timeout: Option<Duration>,
    /// Whether this process owns the stored sessions: at start it marks those left open by a
    /// previous run failed (recoverable). A job worker sharing the store leaves them alone.
    pub owns_sessions: bool,
    /// The configured LiveKit server (`LIVEKIT_URL`).
    pub livekit_url: Option<String>,
    /// Whether the service can sign LiveKit tokens itself (API key and secret configured).
    pub livekit_signs: bool,
}

/// All sessions of this process.
pub struct SessionManager {
    deps: SessionDeps,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    observers: Mutex<Vec<Arc<dyn SessionObserver>>>,
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
        self.all()
            .iter()
            .filter(|s| {
                matches!(
                    s.lock().status,
                    SessionStatus::Active | SessionStatus::Paused
                )
            })
            .count()
    }

    /// A tenant's session. Another tenant's session is reported as not found.
    fn get(&self, tenant: &TenantId, room: &str) -> Result<Arc<Session>> {
        match self.sessions.lock().expect("sessions lock").get(room) {
            Some(s) if &s.tenant == tenant => Ok(s.clone()),
            _ => Err(EngineError::SessionNotFound(room.to_string())),
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

    /// Whether the tenant owns an open session in this room.
    pub fn owns(&self, tenant: &TenantId, room: &str) -> bool {
        self.get(tenant, room).is_ok()
    }

    /// Be told of every session's changes from now on (live video uses this).
    pub fn observe(&self, observer: Arc<dyn SessionObserver>) {
        self.observers
            .lock()
            .expect("observers lock")
            .push(observer);
    }

    fn notify(&self, s: &Session, change: SessionChange) {
        let observers = self.observers.lock().expect("observers lock").clone();
        for o in observers {
            o.session_changed(&s.tenant, &s.room_name, change.clone());
        }
    }

    async fn publish(&self, room: &str, kind: EventKind, data: Value) {
        emit(self.deps.bus.as_ref(), &room_channel(room), kind, data).await;
    }

    async fn persist(&self, s: &Session) {
        if let Err(e) = self.deps.store.put_session(s.record()).await {
            tracing::warn!(room = %s.room_name, error = %e, "session state not stored");
        }
    }

    /// Open a session for a room.
    pub async fn start_session(
        &self,
        tenant: &TenantId,
        room: &str,
        opts: StartOptions,
    ) -> Result<SessionInfo> {
        valid_room_name(room)?;
        let initial = opts
            .initial_url
            .as_deref()
            .map(netguard::parse_target)
            .transpose()?;
        if let Some(url) = &initial {
            netguard::check_url(url, &self.deps.allowlist).await?;
        }
        let viewport = opts.viewport.unwrap_or_default();
        if !(100..=7680).contains(&viewport.width) || !(100..=4320).contains(&viewport.height) {
            return Err(EngineError::InvalidRequest(
                "viewport must be between 100x100 and 7680x4320".into(),
            ));
        }
        let fps = opts.fps.unwrap_or(10);
        if !(1..=60).contains(&fps) {
            return Err(EngineError::InvalidRequest(
                "fps must be between 1 and 60".into(),
            ));
        }
        let livekit = livekit_target(
            &opts,
            self.deps.livekit_url.as_deref(),
            self.deps.livekit_signs,
        )?;
        let session = {
            let mut map = self.sessions.lock().expect("sessions lock");
            if let Some(existing) = map.get(room) {
                if existing.lock().status != SessionStatus::Failed || existing.tenant != *tenant {
                    return Err(EngineError::SessionExists(room.to_string()));
                }
            }
            let open = map
                .values()
                .filter(|s| {
                    matches!(
                        s.lock().status,
                        SessionStatus::Active | SessionStatus::Paused
                    )
                })
                .count();
            if open >= self.deps.max_sessions {
                return Err(EngineError::SessionLimit(open));
            }
            let s = Arc::new(Session {
                room_name: room.to_string(),
                tenant: tenant.clone(),
                created_at: now_secs(),
                op: tokio::sync::Mutex::new(()),
                inner: Mutex::new(Inner {
                    status: SessionStatus::Active,
                    lease: None,
                    viewport,
                    fps,
                    url: Some("about:blank".into()),
                    last_error: None,
                    last_activity: Instant::now(),
                    mutations_seen: 0,
                    tasks: Vec::new(),
                    livekit: livekit.clone(),
                }),
                blocked: Arc::new(Mutex::new(None)),
                cursor: Mutex::new((0.0, 0.0)),
                span: tracing::info_span!("session", room = %room, tenant = %tenant),
            });
            // Reserve the room name before the slow part, so two starts cannot race.
            map.insert(room.to_string(), s.clone());
            s
        };
        let span = session.span.clone();
        let started = async {
            let _op = session.op.lock().await;
            self.open_page(&session).await?;
            if let Some(url) = &initial {
                self.navigate_locked(&session, url).await?;
            }
            Ok::<_, EngineError>(())
        }
        .instrument(span)
        .await;
        if let Err(e) = started {
            self.discard(&session).await;
            return Err(e);
        }
        self.deps.metrics.inc("bas_sessions_started_total", &[]);
        self.persist(&session).await;
        let info = session.info();
        let livekit = session.lock().livekit.clone();
        self.notify(
            &session,
            SessionChange::Started {
                livekit: livekit.clone(),
            },
        );
        let livekit = livekit.is_some();
        self.publish(
            room,
            EventKind::PresentationStarted,
            json!({"room_name": room, "url": info.url, "viewport": info.viewport, "fps": info.fps,
                   "livekit": livekit}),
        )
        .await;
        tracing::info!(parent: &session.span, "session started");
        Ok(info)
    }

    /// Give the session a fresh page in a healthy browser (its op lock must be held).
    async fn open_page(&self, s: &Arc<Session>) -> Result<()> {
        let t0 = Instant::now();
        let lease = Arc::new(self.deps.pool.acquire().await?);
        let acquired_ms = t0.elapsed().as_millis() as u64;
        let page = lease.page().clone();
        let viewport = s.lock().viewport;
        let setup = async {
            page.execute(SetDeviceMetricsOverrideParams::new(
                viewport.width as i64,
                viewport.height as i64,
                1.0,
                false,
            ))
            .await
            .cdp()?;
            guard::install(&page, self.deps.allowlist.clone(), s.blocked.clone()).await
        };
        if let Err(e) = tokio::time::timeout(Duration::from_secs(15), setup)
            .await
            .unwrap_or_else(|_| Err(EngineError::Timeout("setting up the page".into())))
        {
            lease.release().await;
            return Err(e);
        }
        let tasks = self.watch_page(s, &lease).await;
        tracing::debug!(
            acquired_ms,
            ready_ms = t0.elapsed().as_millis() as u64,
            "page opened"
        );
        let mut i = s.lock();
        i.lease = Some(lease);
        i.tasks = tasks;
        i.status = SessionStatus::Active;
        i.last_error = None;
        i.mutations_seen = 0;
        i.last_activity = Instant::now();
        *s.cursor.lock().expect("cursor lock") = (0.0, 0.0);
        Ok(())
    }

    /// Follow the page's navigations, loads and crashes.
    async fn watch_page(
        &self,
        s: &Arc<Session>,
        lease: &Arc<PageLease>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let page = lease.page();
        let mut tasks = Vec::new();
        let weak: Weak<Session> = Arc::downgrade(s);
        let bus = self.deps.bus.clone();
        let store = self.deps.store.clone();
        let room = s.room_name.clone();
        if let Ok(mut navs) = page.event_listener::<EventFrameNavigated>().await {
            let (weak, bus, store, room) = (weak.clone(), bus.clone(), store.clone(), room.clone());
            tasks.push(tokio::spawn(async move {
                while let Some(ev) = navs.next().await {
                    // Chromium's error page is not a place to come back to on recovery.
                    if ev.frame.parent_id.is_some() || ev.frame.url.starts_with("chrome-error:") {
                        continue;
                    }
                    let Some(s) = weak.upgrade() else { break };
                    let url = ev.frame.url.clone();
                    s.lock().url = Some(url.clone());
                    emit(
                        bus.as_ref(),
                        &room_channel(&room),
                        EventKind::PageNavigation,
                        json!({"room_name": room, "url": url}),
                    )
                    .await;
                    if let Err(e) = store.put_session(s.record()).await {
                        tracing::warn!(room = %room, error = %e, "session URL not stored");
                    }
                }
            }));
        }
        if let Ok(mut loads) = page.event_listener::<EventLoadEventFired>().await {
            let (weak, bus, room) = (weak.clone(), bus.clone(), room.clone());
            tasks.push(tokio::spawn(async move {
                while loads.next().await.is_some() {
                    let Some(s) = weak.upgrade() else { break };
                    let url = s.lock().url.clone();
                    emit(
                        bus.as_ref(),
                        &room_channel(&room),
                        EventKind::PageLoadComplete,
                        json!({"room_name": room, "url": url}),
                    )
                    .await;
                }
            }));
        }
        if let Ok(mut crashes) = page.event_listener::<EventTargetCrashed>().await {
            let (weak, bus, store, room) = (weak.clone(), bus.clone(), store.clone(), room.clone());
            tasks.push(tokio::spawn(async move {
                if crashes.next().await.is_some() {
                    if let Some(s) = weak.upgrade() {
                        let lease = fail_session(&s, "the page crashed");
                        emit(bus.as_ref(), &room_channel(&room), EventKind::BrowserError,
                             json!({"room_name": room, "reason": "the page crashed", "recoverable": true})).await;
                        let _ = store.put_session(s.record()).await;
                        if let Some(l) = lease {
                            l.release().await;
                        }
                    }
                }
            }));
        }
        tasks
    }

    /// Navigate with the op lock held (used at start and on recovery).
    async fn navigate_locked(&self, s: &Arc<Session>, url: &url::Url) -> Result<PageState> {
        let lease = s.page_lease()?;
        let ctx = ActionContext {
            page: lease.page(),
            lease: &lease,
            allowlist: &self.deps.allowlist,
            nav_timeout: self.deps.nav_timeout,
            blocked: &s.blocked,
            cursor: &s.cursor,
        };
        let effect = actions::run(&ctx, &Action::Navigate(url.clone()), None).await?;
        s.lock().url = Some(effect.state.url.clone());
        Ok(effect.state)
    }

    /// Remove a session and free its page.
    async fn discard(&self, s: &Arc<Session>) {
        {
            let mut map = self.sessions.lock().expect("sessions lock");
            if map.get(&s.room_name).is_some_and(|x| Arc::ptr_eq(x, s)) {
                map.remove(&s.room_name);
            }
        }
        let (lease, tasks) = {
            let mut i = s.lock();
            i.status = SessionStatus::Closed;
            (i.lease.take(), std::mem::take(&mut i.tasks))
        };
        for t in tasks {
            t.abort();
        }
        self.notify(s, SessionChange::Ended);
        if let Some(l) = lease {
            l.release().await;
        }
    }

    /// Run one action on a session. Actions on one session run one at a time, in order.
    pub async fn execute(
        &self,
        tenant: &TenantId,
        room: &str,
        kind: ActionKind,
        fields: &ActionFields,
    ) -> Result<ActionResult> {
        let s = self.get(tenant, room)?;
        let action_id = uuid::Uuid::new_v4().to_string();
        let span = tracing::info_span!(parent: &s.span, "action", action = kind.as_str(), action_id = %action_id);
        let result = self
            .execute_inner(&s, &action_id, kind, fields)
            .instrument(span)
            .await;
        let outcome = if result.is_ok() { "ok" } else { "error" };
        self.deps.metrics.inc(
            "bas_actions_total",
            &[("action", kind.as_str()), ("outcome", outcome)],
        );
        if let Err(e) = &result {
            self.publish(
                room,
                EventKind::ActionError,
                json!({
                    "room_name": room, "action_id": action_id, "action": kind,
                    "error": {"code": e.code(), "detail": e.to_string()},
                }),
            )
            .await;
        }
        result
    }

    async fn execute_inner(
        &self,
        s: &Arc<Session>,
        action_id: &str,
        kind: ActionKind,
        fields: &ActionFields,
    ) -> Result<ActionResult> {
        let room = s.room_name.as_str();
        let action = Action::parse(kind, fields)?;
        let _op = match s.op.try_lock() {
            Ok(g) => g,
            Err(_) => {
                self.publish(
                    room,
                    EventKind::ActionQueued,
                    json!({"room_name": room, "action_id": action_id, "action": kind}),
                )
                .await;
                s.op.lock().await
            }
        };
        match s.lock().status {
            SessionStatus::Paused => return Err(EngineError::SessionPaused(room.to_string())),
            SessionStatus::Closed => return Err(EngineError::SessionNotFound(room.to_string())),
            _ => {}
        }
        let lease = s.page_lease()?;
        self.publish(
            room,
            EventKind::ActionProcessing,
            json!({"room_name": room, "action_id": action_id, "action": kind}),
        )
        .await;
        let started = Instant::now();
        let ctx = ActionContext {
            page: lease.page(),
            lease: &lease,
            allowlist: &self.deps.allowlist,
            nav_timeout: self.deps.nav_timeout,
            blocked: &s.blocked,
            cursor: &s.cursor,
        };
        // A hung browser must not hold the session forever.
        let limit = fields
            .timeout_ms
            .map(Duration::from_millis)
            .unwrap_or(self.deps.nav_timeout)
            + Duration::from_secs(15);
        let effect =
            match tokio::time::timeout(limit, actions::run(&ctx, &action, fields.timeout_ms)).await
            {
                Ok(Ok(effect)) => effect,
                Ok(Err(e)) => {
                    if matches!(e, EngineError::BrowserUnavailable(_)) || !lease.browser_alive() {
                        self.deps.pool.report_dead(
                            lease.browser_id(),
                            "it stopped answering during an action",
                        );
                    }
                    return Err(e);
                }
                Err(_) => {
                    return Err(EngineError::Timeout(format!(
                        "the action did not finish within {} ms",
                        limit.as_millis()
                    )))
                }
            };
        let duration_ms = started.elapsed().as_millis() as u64;
        let dom_changed = {
            let mut i = s.lock();
            i.last_activity = Instant::now();
            i.url = Some(effect.state.url.clone());
            let changed = effect.state.mutations != i.mutations_seen;
            i.mutations_seen = effect.state.mutations;
            changed
        };
        self.publish(room, EventKind::ActionCompleted, json!({
            "room_name": room, "action_id": action_id, "action": kind, "duration_ms": duration_ms,
            "url": effect.state.url, "title": effect.state.title,
        }))
        .await;
        if dom_changed {
            self.publish(
                room,
                EventKind::DomChange,
                json!({"room_name": room, "action_id": action_id, "url": effect.state.url}),
            )
            .await;
        }
        Ok(ActionResult {
            action_id: action_id.to_string(),
            room_name: room.to_string(),
            action: kind,
            success: true,
            duration_ms,
            page: effect.state,
            dom_changed,
            details: effect.details,
        })
    }

    /// Where the session is and what it shows, in a few fields.
    pub async fn browser_context(&self, tenant: &TenantId, room: &str) -> Result<BrowserContext> {
        let s = self.get(tenant, room)?;
        let lease = s.page_lease()?;
        let st = tokio::time::timeout(Duration::from_secs(10), driver::state(lease.page()))
            .await
            .map_err(|_| EngineError::Timeout("reading the page state".into()))??;
        let (x, y) = *s.cursor.lock().expect("cursor lock");
        let status = s.lock().status;
        Ok(BrowserContext {
            room_name: room.to_string(),
            status,
            url: st.url,
            title: st.title,
            ready_state: st.ready_state,
            scroll_x: st.scroll_x,
            scroll_y: st.scroll_y,
            viewport: st.viewport,
            page_width: st.page_width,
            page_height: st.page_height,
            cursor: Cursor { x, y },
        })
    }

    /// A compact summary of the page for an agent, optionally with a screenshot.
    pub async fn screen_content(
        &self,
        tenant: &TenantId,
        room: &str,
        opts: screen::ScreenOptions,
    ) -> Result<screen::ScreenContent> {
        let s = self.get(tenant, room)?;
        let lease = s.page_lease()?;
        let args = json!({
            "maxElements": opts.max_elements.clamp(1, 300),
            "maxText": opts.max_text_chars.clamp(100, 20_000),
            "maxHeadings": 30,
        });
        let mut content: screen::ScreenContent = tokio::time::timeout(
            Duration::from_secs(15),
            driver::call(lease.page(), driver::SCREEN_JS, &args),
        )
        .await
        .map_err(|_| EngineError::Timeout("reading the screen content".into()))??;
        content.room_name = room.to_string();
        if opts.include_screenshot {
            let shot = CaptureScreenshotParams::builder()
                .format(CaptureScreenshotFormat::Jpeg)
                .quality(70)
                .build();
            let data = tokio::time::timeout(Duration::from_secs(15), lease.page().execute(shot))
                .await
                .map_err(|_| EngineError::Timeout("taking a screenshot".into()))?
                .cdp()?
                .result
                .data;
            let data: String = data.into();
            // Validate that Chromium sent base64 before passing it on.
            base64::engine::general_purpose::STANDARD
                .decode(data.as_bytes())
                .map_err(|e| EngineError::Browser(format!("bad screenshot data: {e}")))?;
            content.screenshot = Some(screen::Screenshot {
                mime_type: "image/jpeg".into(),
                data,
            });
        }
        self.publish(
            room,
            EventKind::ScreenContentUpdate,
            json!({
                "room_name": room, "url": content.url, "title": content.title,
                "elements": content.elements.len(),
            }),
        )
        .await;
        Ok(content)
    }

    /// Pause a session: it takes no actions until resumed.
    pub async fn pause(&self, tenant: &TenantId, room: &str) -> Result<SessionInfo> {
        self.set_paused(tenant, room, true).await
    }

    /// Resume a paused session.
    pub async fn resume(&self, tenant: &TenantId, room: &str) -> Result<SessionInfo> {
        self.set_paused(tenant, room, false).await
    }

    async fn set_paused(&self, tenant: &TenantId, room: &str, pause: bool) -> Result<SessionInfo> {
        let s = self.get(tenant, room)?;
        let changed = {
            let mut i = s.lock();
            match (i.status, pause) {
                (SessionStatus::Failed, _) => {
                    return Err(EngineError::SessionFailed(
                        room.to_string(),
                        "call recover_browser_session first".into(),
                    ))
                }
                (SessionStatus::Active, true) => {
                    i.status = SessionStatus::Paused;
                    true
                }
                (SessionStatus::Paused, false) => {
                    i.status = SessionStatus::Active;
                    i.last_activity = Instant::now();
                    true
                }
                _ => false,
            }
        };
        if changed {
            self.persist(&s).await;
            self.notify(
                &s,
                if pause {
                    SessionChange::Paused
                } else {
                    SessionChange::Resumed
                },
            );
            let kind = if pause {
                EventKind::PresentationPaused
            } else {
                EventKind::PresentationResumed
            };
            self.publish(room, kind, json!({"room_name": room})).await;
        }
        Ok(s.info())
    }

    /// Close a session and free its page and context.
    pub async fn close(&self, tenant: &TenantId, room: &str) -> Result<SessionInfo> {
        let s = self.get(tenant, room)?;
        let _op = s.op.lock().await;
        self.discard(&s).await;
        self.persist(&s).await;
        self.deps.metrics.inc("bas_sessions_closed_total", &[]);
        tracing::info!(parent: &s.span, "session closed");
        Ok(s.info())
    }

    /// Give a session a fresh page in a healthy browser and load its last URL again. Works for
    /// a session whose browser crashed, and for one left over from before a service restart.
    pub async fn recover(&self, tenant: &TenantId, room: &str) -> Result<SessionInfo> {
        let s = match self.get(tenant, room) {
            Ok(s) => s,
            Err(_) => {
                let rec = self
                    .deps
                    .store
                    .get_session(tenant, room)
                    .await?
                    .filter(|r| r.status != SessionStatus::Closed)
                    .ok_or_else(|| EngineError::SessionNotFound(room.to_string()))?;
                let url = rec.current_url.filter(|u| u.starts_with("http"));
                let opts = StartOptions {
                    initial_url: None,
                    viewport: Some(rec.viewport),
                    fps: Some(rec.fps),
                    ..StartOptions::default()
                };
                self.start_session(tenant, room, opts).await?;
                let s = self.get(tenant, room)?;
                return Ok(self.restore_url(&s, url).await);
            }
        };
        let url = s.lock().url.clone().filter(|u| u.starts_with("http"));
        {
            let _op = s.op.lock().await;
            let (old, tasks) = {
                let mut i = s.lock();
                (i.lease.take(), std::mem::take(&mut i.tasks))
            };
            for t in tasks {
                t.abort();
            }
            self.notify(&s, SessionChange::Ended);
            if let Some(old) = old {
                old.release().await;
            }
            if let Err(e) = self.open_page(&s).instrument(s.span.clone()).await {
                {
                    let mut i = s.lock();
                    i.status = SessionStatus::Failed;
                    i.last_error = Some(e.to_string());
                }
                self.persist(&s).await;
                return Err(e);
            }
        }
        let livekit = s.lock().livekit.clone();
        self.notify(&s, SessionChange::Started { livekit });
        tracing::info!(parent: &s.span, "session recovered");
        Ok(self.restore_url(&s, url).await)
    }

    async fn restore_url(&self, s: &Arc<Session>, url: Option<String>) -> SessionInfo {
        let mut err = None;
        if let Some(u) = &url {
            let _op = s.op.lock().await;
            match netguard::parse_target(u) {
                Ok(parsed) => {
                    if let Err(e) = self.navigate_locked(s, &parsed).await {
                        err = Some(e.to_string());
                    }
                }
                Err(e) => err = Some(e.to_string()),
            }
        }
        self.persist(s).await;
        let mut info = s.info();
        info.restored_url = url;
        info.restore_error = err;
        info
    }

    /// At shutdown: free every session's page, and store open sessions as failed so that they
    /// can be recovered (`recover_browser_session`) once the service is back, as after a crash.
    pub async fn suspend_all(&self) {
        for s in self.all() {
            let was_open = matches!(
                s.lock().status,
                SessionStatus::Active | SessionStatus::Paused
            );
            self.discard(&s).await;
            if was_open {
                let mut i = s.lock();
                i.status = SessionStatus::Failed;
                i.last_error = Some("the service was stopped".into());
            }
            self.persist(&s).await;
        }
    }
}

/// Where the session is published in LiveKit, if anywhere: when the start call asks (a
/// `livekit_url` and/or `livekit_token`), or for every session when `LIVEKIT_URL` and the API
/// key and secret are configured. Publishing that cannot work is refused here: it needs a
/// server URL (from the call or `LIVEKIT_URL`) and a token (from the call, or signed with the
/// configured keys).
fn livekit_target(
    opts: &StartOptions,
    configured_url: Option<&str>,
    signs: bool,
) -> Result<Option<LiveKitTarget>> {
    let asked = opts.livekit_url.is_some() || opts.livekit_token.is_some();
    let configured = configured_url.is_some() && signs;
    if !asked && !configured {
        return Ok(None);
    }
    let url = opts
        .livekit_url
        .clone()
        .or_else(|| configured_url.map(String::from))
        .ok_or_else(|| {
            EngineError::InvalidRequest(
                "livekit_token needs a LiveKit server: pass livekit_url or set LIVEKIT_URL".into(),
            )
        })?;
    if !platform::config::is_livekit_url(&url) {
        return Err(EngineError::InvalidRequest(format!(
            "livekit_url {url:?} must be a ws://, wss://, http:// or https:// URL"
        )));
    }
    if opts.livekit_token.is_none() && !signs {
        return Err(EngineError::InvalidRequest(
            "livekit_url needs a token: pass livekit_token or set LIVEKIT_API_KEY and LIVEKIT_API_SECRET"
                .into(),
        ));
    }
    Ok(Some(LiveKitTarget {
        url,
        token: opts.livekit_token.clone(),
    }))
}

/// Mark a session failed and hand back its lease to release.
fn fail_session(s: &Session, reason: &str) -> Option<Arc<PageLease>> {
    let mut i = s.lock();
    if i.status == SessionStatus::Closed {
        return None;
    }
    i.status = SessionStatus::Failed;
    i.last_error = Some(reason.to_string());
    for t in std::mem::take(&mut i.tasks) {
        t.abort();
    }
    i.lease.take()
}

async fn watch_deaths(
    mgr: Weak<SessionManager>,
    mut deaths: tokio::sync::broadcast::Receiver<crate::pool::BrowserDeath>,
) {
    loop {
        let death = match deaths.recv().await {
            Ok(d) => d,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
            Err(_) => return,
        };
        let Some(mgr) = mgr.upgrade() else { return };
        for s in mgr.all() {
            let on_dead = s
                .lock()
                .lease
                .as_ref()
                .is_some_and(|l| l.browser_id() == death.browser_id);
            if !on_dead {
                continue;
            }
            let reason = format!("its browser was lost: {}", death.reason);
            if let Some(l) = fail_session(&s, &reason) {
                mgr.notify(&s, SessionChange::Ended);
                l.release().await;
            }
            tracing::warn!(parent: &s.span, %reason, "session failed");
            mgr.persist(&s).await;
            mgr.publish(
                &s.room_name,
                EventKind::BrowserError,
                json!({
                    "room_name": s.room_name, "reason": reason, "recoverable": true,
                }),
            )
            .await;
        }
    }
}

async fn reap_idle(mgr: Weak<SessionManager>, idle: Duration) {
    let mut tick = tokio::time::interval(Duration::from_secs(30).min(idle));
    loop {
        tick.tick().await;
        let Some(mgr) = mgr.upgrade() else { return };
        for s in mgr.all() {
            let stale = s.lock().last_activity.elapsed() > idle;
            if stale {
                tracing::info!(parent: &s.span, "closing idle session");
                let _ = mgr.close(&s.tenant, &s.room_name).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(url: Option<&str>, token: Option<&str>) -> StartOptions {
        StartOptions {
            livekit_url: url.map(String::from),
            livekit_token: token.map(String::from),
            ..StartOptions::default()
        }
    }

    #[test]
    fn livekit_publishing_is_decided_by_the_call_and_the_configuration() {
        // Nothing asked, nothing configured.
        assert!(livekit_target(&opts(None, None), None, false)
            .unwrap()
            .is_none());
        // A LiveKit URL alone, without keys, publishes nothing by itself.
        assert!(
            livekit_target(&opts(None, None), Some("ws://127.0.0.1:7880"), false)
                .unwrap()
                .is_none()
        );
        // A token and a URL from the call.
        let t = livekit_target(
            &opts(Some("wss://lk.example.com"), Some("given")),
            None,
            false,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (t.url.as_str(), t.token.as_deref()),
            ("wss://lk.example.com", Some("given"))
        );
        assert!(!format!("{t:?}").contains("given"), "Debug hides the token");
        // Asked for, but nothing to sign with and no token.
        let e = livekit_target(&opts(Some("wss://lk.example.com"), None), None, false).unwrap_err();
        assert!(e.to_string().contains("LIVEKIT_API_KEY"), "{e}");
        // A token but no server anywhere.
        let e = livekit_target(&opts(None, Some("t")), None, false).unwrap_err();
        assert!(e.to_string().contains("LIVEKIT_URL"), "{e}");
        // A bad URL.
        let e = livekit_target(&opts(Some("ftp://x"), Some("t")), None, false).unwrap_err();
        assert_eq!(e.code(), "invalid_request");
        // Configured: every session is published to the configured server, the token to be
        // signed by the service.
        let t = livekit_target(&opts(None, None), Some("ws://127.0.0.1:7880"), true)
            .unwrap()
            .unwrap();
        assert_eq!((t.url.as_str(), t.token), ("ws://127.0.0.1:7880", None));
    }
}
