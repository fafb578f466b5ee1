//! Watching pages and browsers: navigation, load and DOM events of a session's page, crashes,
//! and sessions failed when their browser dies.

use super::*;

/// What a watcher of a session's page needs: the session (weakly: a watcher never keeps it
/// alive), the bus and the store, and the room's event channel.
#[derive(Clone)]
struct Watch {
    session: Weak<Session>,
    bus: Arc<dyn EventBus>,
    store: Arc<dyn DocumentStore>,
    room: String,
    channel: String,
}

impl Watch {
    async fn emit(&self, kind: EventKind, data: Value) {
        emit(self.bus.as_ref(), &self.channel, kind, data).await;
    }
}

impl SessionManager {
    /// Follow the page's navigations, loads, refused requests and crashes.
    pub(super) async fn watch_page(
        &self,
        s: &Arc<Session>,
        lease: &Arc<PageLease>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let page = lease.page();
        let w = Watch {
            session: Arc::downgrade(s),
            bus: self.deps.bus.clone(),
            store: self.deps.store.clone(),
            room: s.room_name.clone(),
            channel: room_channel(&s.tenant, &s.room_name),
        };
        let mut tasks = Vec::new();
        if let Ok(navs) = page.event_listener::<EventFrameNavigated>().await {
            tasks.push(tokio::spawn(watch_navigations(w.clone(), navs)));
        }
        if let Ok(loads) = page.event_listener::<EventLoadEventFired>().await {
            tasks.push(tokio::spawn(watch_loads(w.clone(), loads)));
        }
        tasks.push(tokio::spawn(watch_refusals(
            w.clone(),
            lease.refusals().subscribe(),
        )));
        if let Ok(crashes) = page.event_listener::<EventTargetCrashed>().await {
            tasks.push(tokio::spawn(watch_crash(w, crashes)));
        }
        tasks
    }
}

/// Main-frame navigations: the session's URL, stored, and `page_navigation`.
async fn watch_navigations(
    w: Watch,
    mut navs: impl futures::Stream<Item = Arc<EventFrameNavigated>> + Unpin,
) {
    while let Some(ev) = navs.next().await {
        // Chromium's error page is not a place to come back to on recovery.
        if ev.frame.parent_id.is_some() || ev.frame.url.starts_with("chrome-error:") {
            continue;
        }
        let Some(s) = w.session.upgrade() else { break };
        let url = ev.frame.url.clone();
        s.lock().url = Some(url.clone());
        w.emit(
            EventKind::PageNavigation,
            json!({"room_name": w.room, "url": url}),
        )
        .await;
        if let Err(e) = w.store.put_session(s.record()).await {
            tracing::warn!(room = %w.room, error = %e, "session URL not stored");
        }
    }
}

/// Load events: `page_load_complete`.
async fn watch_loads(
    w: Watch,
    mut loads: impl futures::Stream<Item = Arc<EventLoadEventFired>> + Unpin,
) {
    while loads.next().await.is_some() {
        let Some(s) = w.session.upgrade() else { break };
        let url = s.lock().url.clone();
        w.emit(
            EventKind::PageLoadComplete,
            json!({"room_name": w.room, "url": url}),
        )
        .await;
    }
}

/// Requests the egress proxy refused: told to the room as they happen.
async fn watch_refusals(w: Watch, mut refused: tokio::sync::broadcast::Receiver<String>) {
    loop {
        let reason = match refused.recv().await {
            Ok(r) => r,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
            Err(_) => break,
        };
        w.emit(
            EventKind::BrowserError,
            json!({
                "room_name": w.room, "code": "blocked_url", "reason": reason,
                "recoverable": true,
            }),
        )
        .await;
    }
}

/// A crash of the page: the session fails (recoverable) and its page is released.
async fn watch_crash(
    w: Watch,
    mut crashes: impl futures::Stream<Item = Arc<EventTargetCrashed>> + Unpin,
) {
    if crashes.next().await.is_none() {
        return;
    }
    let Some(s) = w.session.upgrade() else { return };
    let lease = fail_session(&s, "the page crashed");
    w.emit(
        EventKind::BrowserError,
        json!({"room_name": w.room, "reason": "the page crashed", "recoverable": true}),
    )
    .await;
    let _ = w.store.put_session(s.record()).await;
    if let Some(l) = lease {
        l.release().await;
    }
}

/// Mark a session failed and hand back its lease to release.
pub(super) fn fail_session(s: &Session, reason: &str) -> Option<Arc<PageLease>> {
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

pub(super) async fn watch_deaths(
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
            mgr.deps.telemetry.record(telemetry::SessionEnded {
                room: &s.room_name,
                reason: "failed",
            });
            mgr.persist(&s).await;
            mgr.publish(
                &s.tenant,
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
