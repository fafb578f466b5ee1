//! A session's life: start, pause and resume, close, recover after a crash, suspend at
//! shutdown, and closing idle sessions.

use super::*;

impl SessionManager {
    /// Open a session for a room.
    pub async fn start_session(
        &self,
        tenant: &TenantId,
        room: &str,
        opts: StartOptions,
    ) -> Result<SessionInfo> {
        let t0 = Instant::now();
        let start = self.check_start(room, &opts).await?;
        let session = self.reserve(tenant, room, &start)?;
        let checked_ms = t0.elapsed().as_secs_f64() * 1e3;
        let started = async {
            let _op = session.op.lock().await;
            // No spare page is opened while this first document loads.
            let _first = self.deps.pool.first_load();
            self.open_page(&session).await?;
            let opened_ms = t0.elapsed().as_secs_f64() * 1e3;
            if let Some(url) = &start.initial {
                self.navigate_locked(&session, url).await?;
            }
            Ok::<_, EngineError>(opened_ms)
        }
        .instrument(session.span.clone())
        .await;
        let opened_ms = match started {
            Ok(ms) => ms,
            Err(e) => {
                self.discard(&session).await;
                return Err(e);
            }
        };
        let loaded_ms = t0.elapsed().as_secs_f64() * 1e3;
        let info = self.announce_start(&session).await;
        tracing::debug!(parent: &session.span, checked_ms, opened_ms, loaded_ms,
            announced_ms = t0.elapsed().as_secs_f64() * 1e3, "session started");
        Ok(info)
    }

    /// Check a start's room name, URL (against the network policy), viewport, frame rate and
    /// LiveKit publishing.
    async fn check_start(&self, room: &str, opts: &StartOptions) -> Result<Start> {
        valid_room_name(room)?;
        let initial = opts
            .initial_url
            .as_deref()
            .map(netguard::parse_target)
            .transpose()?;
        if let Some(url) = &initial {
            netguard::check_url(url, &self.deps.network).await?;
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
        let livekit = self.publish_target(opts)?;
        if let Some(target) = &livekit {
            // The LiveKit server is reached by the service with a token it may have signed: it
            // passes the network policy like any other outbound connection.
            let url = netguard::parse_target(&target.url.replacen("ws", "http", 1))?;
            netguard::check_url(&url, &self.deps.network).await?;
        }
        Ok(Start {
            initial,
            viewport,
            fps,
            livekit,
            record: opts.record.unwrap_or(false),
        })
    }

    /// Reserve the room for a new session before the slow part, so two starts cannot race: a
    /// room already open (or another tenant's failed one) is `session_exists`, a full pool
    /// `session_limit`.
    fn reserve(&self, tenant: &TenantId, room: &str, start: &Start) -> Result<Arc<Session>> {
        let mut map = self.sessions.lock().expect("sessions lock");
        let key = (tenant.clone(), room.to_string());
        if let Some(existing) = map.get(&key) {
            if existing.lock().status != SessionStatus::Failed {
                return Err(EngineError::SessionExists(room.to_string()));
            }
        }
        let open: Vec<&Arc<Session>> = map.values().filter(|s| s.is_open()).collect();
        if open.len() >= self.deps.max_sessions {
            return Err(EngineError::SessionLimit(open.len()));
        }
        // Below the service's limit, a tenant's own share keeps one tenant from filling it.
        let mine = open.iter().filter(|s| s.tenant == *tenant).count();
        if mine >= self.deps.tenant_max_sessions {
            return Err(EngineError::TenantSessionLimit(mine));
        }
        let s = Arc::new(Session {
            room_name: room.to_string(),
            tenant: tenant.clone(),
            created_at: now_secs(),
            op: tokio::sync::Mutex::new(()),
            inner: Mutex::new(Inner {
                status: SessionStatus::Active,
                lease: None,
                viewport: start.viewport,
                fps: start.fps,
                url: Some("about:blank".into()),
                last_error: None,
                last_activity: Instant::now(),
                mutations_seen: 0,
                tasks: Vec::new(),
                livekit: start.livekit.clone(),
                record: start.record,
                storage: None,
                local_changes: None,
            }),
            cursor: Mutex::new((0.0, 0.0)),
            ended: tokio::sync::watch::channel(false).0,
            span: tracing::info_span!("session", room = %room, tenant = %tenant),
        });
        map.insert(key, s.clone());
        Ok(s)
    }

    /// A session has its page: record, store, tell observers (live video) and the room.
    async fn announce_start(&self, session: &Arc<Session>) -> SessionInfo {
        let room = session.room_name.as_str();
        self.deps.telemetry.record(telemetry::SessionStarted {
            room,
            recovered: false,
        });
        self.persist(session).await;
        let info = session.info();
        let (livekit, record) = {
            let i = session.lock();
            (i.livekit.clone(), i.record)
        };
        let published = livekit.is_some();
        self.notify(session, SessionChange::Started { livekit, record });
        self.publish(
            &session.tenant,
            room,
            EventKind::PresentationStarted,
            json!({"room_name": room, "url": info.url, "viewport": info.viewport, "fps": info.fps,
                   "livekit": published}),
        )
        .await;
        info
    }

    /// Give the session a fresh page in a healthy browser (its op lock must be held).
    pub(super) async fn open_page(&self, s: &Arc<Session>) -> Result<()> {
        let t0 = Instant::now();
        let lease = Arc::new(self.deps.pool.acquire().await?);
        let acquired_ms = t0.elapsed().as_millis() as u64;
        let page = lease.page().clone();
        let viewport = s.lock().viewport;
        let setup = async {
            if lease.viewport() == Some(viewport) {
                return Ok(());
            }
            driver::set_viewport(&page, viewport).await
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
        i.local_changes = None;
        i.last_activity = Instant::now();
        *s.cursor.lock().expect("cursor lock") = (0.0, 0.0);
        Ok(())
    }

    /// Remove a session and free its page.
    pub(super) async fn discard(&self, s: &Arc<Session>) {
        {
            let mut map = self.sessions.lock().expect("sessions lock");
            let key = (s.tenant.clone(), s.room_name.clone());
            if map.get(&key).is_some_and(|x| Arc::ptr_eq(x, s)) {
                map.remove(&key);
            }
        }
        let (lease, tasks) = {
            let mut i = s.lock();
            i.status = SessionStatus::Closed;
            (i.lease.take(), std::mem::take(&mut i.tasks))
        };
        s.ended.send_replace(true);
        for t in tasks {
            t.abort();
        }
        self.notify(s, SessionChange::Ended);
        if let Some(l) = lease {
            l.release().await;
        }
    }

    /// Pause a session: it takes no actions until resumed.
    pub async fn pause(&self, tenant: &TenantId, room: &str) -> Result<SessionInfo> {
        self.set_paused(tenant, room, true).await
    }

    /// Resume a paused session.
    pub async fn resume(&self, tenant: &TenantId, room: &str) -> Result<SessionInfo> {
        self.set_paused(tenant, room, false).await
    }

    pub(super) async fn set_paused(
        &self,
        tenant: &TenantId,
        room: &str,
        pause: bool,
    ) -> Result<SessionInfo> {
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
            self.publish(&s.tenant, room, kind, json!({"room_name": room}))
                .await;
        }
        Ok(s.info())
    }

    /// Close a session and free its page and context.
    pub async fn close(&self, tenant: &TenantId, room: &str) -> Result<SessionInfo> {
        self.close_for(tenant, room, "closed").await
    }

    /// Close a session, recording why (`closed` by its owner, `idle`).
    async fn close_for(
        &self,
        tenant: &TenantId,
        room: &str,
        reason: &'static str,
    ) -> Result<SessionInfo> {
        let s = self.get(tenant, room)?;
        let _op = s.op.lock().await;
        self.discard(&s).await;
        self.persist(&s).await;
        self.deps
            .telemetry
            .record(telemetry::SessionEnded { room, reason });
        Ok(s.info())
    }

    /// Give a session a fresh page in a healthy browser and load its last URL again. Works for
    /// a session whose browser crashed, and for one left over from before a service restart.
    pub async fn recover(&self, tenant: &TenantId, room: &str) -> Result<SessionInfo> {
        let s = match self.get(tenant, room) {
            Ok(s) => s,
            Err(_) => return self.recover_stored(tenant, room, Carried::default()).await,
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
        let (livekit, record) = {
            let i = s.lock();
            (i.livekit.clone(), i.record)
        };
        self.notify(&s, SessionChange::Started { livekit, record });
        self.deps.telemetry.record(telemetry::SessionStarted {
            room,
            recovered: true,
        });
        let snapshot = s.lock().storage.clone();
        let seeded = self.restore_snapshot(&s, snapshot.as_ref()).await;
        let info = self.restore_url(&s, url).await;
        self.unseed(&s, seeded).await;
        Ok(info)
    }

    /// Take over a session another process handed over ([`Self::hand_over`]): open it here from
    /// its record, with what it `carried` along (its LiveKit target).
    pub async fn take_over(
        &self,
        tenant: &TenantId,
        room: &str,
        carried: Carried,
    ) -> Result<SessionInfo> {
        self.recover_stored(tenant, room, carried).await
    }

    /// What a session would carry to another process ([`Self::take_over`]).
    pub fn carried(&self, tenant: &TenantId, room: &str) -> Result<Carried> {
        let s = self.get(tenant, room)?;
        let target = s.lock().livekit.clone();
        Ok(Carried {
            livekit_url: target.as_ref().map(|t| t.url.clone()),
            livekit_token: target.and_then(|t| t.token),
        })
    }

    /// Open a session this process does not hold from its stored record: its viewport, frame
    /// rate, recording and publishing, then its cookies and storage, then its last URL; a session
    /// stored paused (handed over while paused) is paused again.
    async fn recover_stored(
        &self,
        tenant: &TenantId,
        room: &str,
        carried: Carried,
    ) -> Result<SessionInfo> {
        let rec = self
            .deps
            .store
            .get_session(tenant, room)
            .await?
            .filter(|r| r.status != SessionStatus::Closed)
            .ok_or_else(|| EngineError::SessionNotFound(room.to_string()))?;
        let url = rec.current_url.clone().filter(|u| u.starts_with("http"));
        let mut opts = StartOptions {
            initial_url: None,
            viewport: Some(rec.viewport),
            fps: Some(rec.fps),
            livekit_url: carried.livekit_url.or(rec.livekit_url.clone()),
            livekit_token: carried.livekit_token,
            record: Some(rec.record),
        };
        if opts.livekit_url.is_some() && self.publish_target(&opts).is_err() {
            // Where it published cannot be reached from here (its token stayed behind): the
            // session itself comes back, published where the service publishes by default.
            tracing::warn!(room, "the session's LiveKit target cannot be used here; publishing by the service's default");
            opts.livekit_url = None;
            opts.livekit_token = None;
        }
        self.start_session(tenant, room, opts).await?;
        let s = self.get(tenant, room)?;
        let seeded = self.restore_snapshot(&s, rec.storage.as_ref()).await;
        let mut info = self.restore_url(&s, url).await;
        self.unseed(&s, seeded).await;
        if rec.status == SessionStatus::Paused {
            let restored = (info.restored_url.take(), info.restore_error.take());
            info = self.pause(tenant, room).await?;
            (info.restored_url, info.restore_error) = restored;
        }
        Ok(info)
    }

    pub(super) async fn restore_url(&self, s: &Arc<Session>, url: Option<String>) -> SessionInfo {
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
            let was_open = s.is_open();
            self.discard(&s).await;
            if was_open {
                {
                    let mut i = s.lock();
                    i.status = SessionStatus::Failed;
                    i.last_error = Some("the service was stopped".into());
                }
                self.deps.telemetry.record(telemetry::SessionEnded {
                    room: &s.room_name,
                    reason: "shutdown",
                });
            }
            self.persist(&s).await;
        }
    }
}

pub(super) async fn reap_idle(mgr: Weak<SessionManager>, idle: Duration) {
    let mut tick = tokio::time::interval(Duration::from_secs(30).min(idle));
    loop {
        tick.tick().await;
        let Some(mgr) = mgr.upgrade() else { return };
        for s in mgr.all() {
            let stale = s.lock().last_activity.elapsed() > idle;
            if stale {
                tracing::info!(parent: &s.span, "closing idle session");
                let _ = mgr.close_for(&s.tenant, &s.room_name, "idle").await;
            }
        }
    }
}

/// A start request, checked.
struct Start {
    initial: Option<url::Url>,
    viewport: Viewport,
    fps: u32,
    livekit: Option<LiveKitTarget>,
    record: bool,
}
