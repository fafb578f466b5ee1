//! Watching pages and browsers: navigation, load and DOM events of a session's page, crashes,
//! and sessions failed when their browser dies.

use super::*;

impl SessionManager {
    /// Follow the page's navigations, loads and crashes.
    pub(super) async fn watch_page(
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
        let channel = room_channel(&s.tenant, &room);
        if let Ok(mut navs) = page.event_listener::<EventFrameNavigated>().await {
            let (weak, bus, store, room, channel) = (
                weak.clone(),
                bus.clone(),
                store.clone(),
                room.clone(),
                channel.clone(),
            );
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
                        &channel,
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
            let (weak, bus, room, channel) =
                (weak.clone(), bus.clone(), room.clone(), channel.clone());
            tasks.push(tokio::spawn(async move {
                while loads.next().await.is_some() {
                    let Some(s) = weak.upgrade() else { break };
                    let url = s.lock().url.clone();
                    emit(
                        bus.as_ref(),
                        &channel,
                        EventKind::PageLoadComplete,
                        json!({"room_name": room, "url": url}),
                    )
                    .await;
                }
            }));
        }
        {
            // Requests the egress proxy refused: told to the room as they happen.
            let (mut refused, bus, room, channel) = (
                lease.refusals().subscribe(),
                bus.clone(),
                room.clone(),
                channel.clone(),
            );
            tasks.push(tokio::spawn(async move {
                loop {
                    let reason = match refused.recv().await {
                        Ok(r) => r,
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(_) => break,
                    };
                    emit(
                        bus.as_ref(),
                        &channel,
                        EventKind::BrowserError,
                        json!({
                            "room_name": room, "code": "blocked_url", "reason": reason,
                            "recoverable": true,
                        }),
                    )
                    .await;
                }
            }));
        }
        if let Ok(mut crashes) = page.event_listener::<EventTargetCrashed>().await {
            let (weak, bus, store, room, channel) = (
                weak.clone(),
                bus.clone(),
                store.clone(),
                room.clone(),
                channel.clone(),
            );
            tasks.push(tokio::spawn(async move {
                if crashes.next().await.is_some() {
                    if let Some(s) = weak.upgrade() {
                        let lease = fail_session(&s, "the page crashed");
                        emit(bus.as_ref(), &channel, EventKind::BrowserError,
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
