//! Running actions and reading the page: one action at a time per session, navigation, the
//! browser context and the screen content.

use super::*;

impl SessionManager {
    /// Navigate with the op lock held (used at start and on recovery).
    pub(super) async fn navigate_locked(
        &self,
        s: &Arc<Session>,
        url: &url::Url,
    ) -> Result<PageState> {
        let lease = s.page_lease()?;
        let ctx = self.action_context(s, &lease);
        let effect = actions::run(&ctx, &Action::Navigate(url.clone()), None).await?;
        s.lock().url = Some(effect.state.url.clone());
        Ok(effect.state)
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
        let started = Instant::now();
        let result = self
            .execute_inner(&s, &action_id, kind, fields)
            .instrument(span)
            .await;
        self.deps.telemetry.record(telemetry::ActionDone {
            room,
            action: kind.as_str(),
            failed: result.as_ref().err().map(EngineError::code),
            elapsed: started.elapsed(),
        });
        if let Err(e) = &result {
            self.publish(
                &s.tenant,
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

    /// What an action on the session's page needs: its page, the network policy, the load
    /// deadline, the egress proxy's refusals and the cursor.
    fn action_context<'a>(&'a self, s: &'a Session, lease: &'a PageLease) -> ActionContext<'a> {
        ActionContext {
            page: lease.page(),
            lease,
            network: &self.deps.network,
            nav_timeout: self.deps.nav_timeout,
            blocked: lease.refusals(),
            cursor: &s.cursor,
        }
    }

    /// Wait for the session's previous actions to finish (saying `action_queued` when there are
    /// any); the guard keeps the session's actions one at a time.
    async fn wait_turn<'a>(
        &self,
        s: &'a Session,
        action_id: &str,
        kind: ActionKind,
    ) -> tokio::sync::MutexGuard<'a, ()> {
        match s.op.try_lock() {
            Ok(g) => g,
            Err(_) => {
                let room = s.room_name.as_str();
                self.publish(
                    &s.tenant,
                    room,
                    EventKind::ActionQueued,
                    json!({"room_name": room, "action_id": action_id, "action": kind}),
                )
                .await;
                s.op.lock().await
            }
        }
    }

    /// Run an action with a deadline (its own timeout plus a margin): a hung browser must not
    /// hold the session forever. A browser that stopped answering is reported dead.
    async fn run_bounded(
        &self,
        ctx: &ActionContext<'_>,
        lease: &PageLease,
        action: &Action,
        timeout_ms: Option<u64>,
    ) -> Result<actions::ActionEffect> {
        let limit = timeout_ms
            .map(Duration::from_millis)
            .unwrap_or(self.deps.nav_timeout)
            + Duration::from_secs(15);
        match tokio::time::timeout(limit, actions::run(ctx, action, timeout_ms)).await {
            Ok(Ok(effect)) => Ok(effect),
            Ok(Err(e)) => {
                if matches!(e, EngineError::BrowserUnavailable(_)) || !lease.browser_alive() {
                    self.deps
                        .pool
                        .report_dead(lease.browser_id(), "it stopped answering during an action");
                }
                Err(e)
            }
            Err(_) => Err(EngineError::Timeout(format!(
                "the action did not finish within {} ms",
                limit.as_millis()
            ))),
        }
    }

    pub(super) async fn execute_inner(
        &self,
        s: &Arc<Session>,
        action_id: &str,
        kind: ActionKind,
        fields: &ActionFields,
    ) -> Result<ActionResult> {
        let room = s.room_name.as_str();
        let action = Action::parse(kind, fields)?;
        let _op = self.wait_turn(s, action_id, kind).await;
        match s.lock().status {
            SessionStatus::Paused => return Err(EngineError::SessionPaused(room.to_string())),
            SessionStatus::Closed => return Err(EngineError::SessionNotFound(room.to_string())),
            _ => {}
        }
        let lease = s.page_lease()?;
        self.publish(
            &s.tenant,
            room,
            EventKind::ActionProcessing,
            json!({"room_name": room, "action_id": action_id, "action": kind}),
        )
        .await;
        let started = Instant::now();
        let ctx = self.action_context(s, &lease);
        let effect = self
            .run_bounded(&ctx, &lease, &action, fields.timeout_ms)
            .await?;
        let duration_ms = started.elapsed().as_millis() as u64;
        let dom_changed = {
            let mut i = s.lock();
            i.last_activity = Instant::now();
            i.url = Some(effect.state.url.clone());
            let changed = effect.state.mutations != i.mutations_seen;
            i.mutations_seen = effect.state.mutations;
            changed
        };
        self.publish(&s.tenant, room, EventKind::ActionCompleted, json!({
            "room_name": room, "action_id": action_id, "action": kind, "duration_ms": duration_ms,
            "url": effect.state.url, "title": effect.state.title,
        }))
        .await;
        if dom_changed {
            self.publish(
                &s.tenant,
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
            &s.tenant,
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
}
