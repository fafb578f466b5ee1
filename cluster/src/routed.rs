//! The sessions of a control plane: every call placed on, or routed to, the engine worker that
//! holds the session, over Redis, in order, with a deadline.

use crate::failover::{release_owner, Failover};
use crate::metrics::PlaneMetrics;
use crate::registry::Registry;
use crate::replies::Replies;
use crate::wire::{now_ms, Call, Envelope};
use crate::{keys, redis_err};
use browser::session::actions::{ActionFields, ActionKind};
use browser::session::observer::{RecordingArchive, RecordingInfo};
use browser::session::screen::{ScreenContent, ScreenOptions};
use browser::session::{ActionResult, BrowserContext, SessionInfo, SessionService, StartOptions};
use platform::error::{EngineError, Result};
use platform::store::SessionStatus;
use platform::{Platform, TenantId};
use redis::aio::ConnectionManager;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// What a routed call waits for beyond its own timeout.
const MARGIN: Duration = Duration::from_secs(5);

/// Sessions held by engine workers, driven from this control plane.
pub struct RoutedSessions {
    platform: Arc<Platform>,
    registry: Registry,
    conn: ConnectionManager,
    replies: Replies,
    metrics: PlaneMetrics,
    failover: tokio::task::JoinHandle<()>,
    /// The recordings in the file store, for rooms no worker holds.
    archive: Arc<dyn RecordingArchive>,
}

impl Drop for RoutedSessions {
    fn drop(&mut self) {
        self.failover.abort();
    }
}

impl RoutedSessions {
    /// Connect to the cluster's Redis as control plane `id`, and start looking for dead
    /// workers. `archive` lists the recordings of rooms no worker holds.
    pub async fn start(
        platform: Arc<Platform>,
        redis_url: &str,
        id: &str,
        archive: Arc<dyn RecordingArchive>,
    ) -> Result<Arc<Self>> {
        let client = crate::client(redis_url)?;
        let conn = crate::connect(&client).await?;
        let registry = Registry::new(conn.clone());
        let replies = Replies::start(client, id).await?;
        let metrics = PlaneMetrics::new(&platform.telemetry);
        let failover = tokio::spawn(
            Failover {
                registry: registry.clone(),
                conn: conn.clone(),
                store: platform.store.clone(),
                bus: platform.events.clone(),
                metrics: Some(metrics.clone()),
            }
            .watch(),
        );
        Ok(Arc::new(Self {
            platform,
            registry,
            conn,
            replies,
            metrics,
            failover,
            archive,
        }))
    }

    /// Where MCP sessions of streamable HTTP are kept, for every control plane to find.
    pub fn mcp_sessions(&self) -> Arc<crate::mcp_sessions::RedisMcpSessions> {
        Arc::new(crate::mcp_sessions::RedisMcpSessions::new(
            self.conn.clone(),
        ))
    }

    /// The worker registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Calls waiting for a worker's answer.
    pub fn in_flight(&self) -> usize {
        self.replies.in_flight()
    }

    async fn owner(&self, tenant: &TenantId, room: &str) -> Result<Option<String>> {
        let mut c = self.conn.clone();
        redis::cmd("GET")
            .arg(keys::owner(tenant, room))
            .query_async(&mut c)
            .await
            .map_err(redis_err)
    }

    /// The room's owner, if it is alive.
    async fn live_owner(&self, tenant: &TenantId, room: &str) -> Result<Option<String>> {
        match self.owner(tenant, room).await? {
            Some(w) if self.registry.is_alive(&w).await? => Ok(Some(w)),
            _ => Ok(None),
        }
    }

    /// The worker holding a session, or the error a caller gets when none does.
    async fn holder(&self, tenant: &TenantId, room: &str) -> Result<String> {
        match self.owner(tenant, room).await? {
            Some(w) if self.registry.is_alive(&w).await? => Ok(w),
            Some(w) => Err(lost(&w, room)),
            None => Err(self.unowned(tenant, room).await),
        }
    }

    /// The error for a room no worker owns: failed (its worker was lost, or it crashed before a
    /// restart), or unknown.
    async fn unowned(&self, tenant: &TenantId, room: &str) -> EngineError {
        match self.platform.store.get_session(tenant, room).await {
            Err(e) => e,
            Ok(Some(r)) if r.status == SessionStatus::Failed => EngineError::SessionFailed(
                room.to_string(),
                format!(
                    "{}; call recover_browser_session",
                    r.last_error.unwrap_or_else(|| "its browser is gone".into())
                ),
            ),
            Ok(_) => EngineError::SessionNotFound(room.to_string()),
        }
    }

    /// Push a command onto the list of the room's owner, in one round trip: the owner is read,
    /// its lease checked and the command pushed by one script. Returns the owner.
    async fn push_to_owner(&self, tenant: &TenantId, room: &str, json: &str) -> Result<String> {
        const SCRIPT: &str = "local w = redis.call('GET', KEYS[1]) \
            if not w then return {0, ''} end \
            if redis.call('EXISTS', ARGV[1] .. w) == 0 then return {1, w} end \
            redis.call('RPUSH', ARGV[2] .. w, ARGV[3]) return {2, w}";
        let mut c = self.conn.clone();
        let (status, worker): (i64, String) = redis::cmd("EVAL")
            .arg(SCRIPT)
            .arg(1)
            .arg(keys::owner(tenant, room))
            .arg(keys::lease(""))
            .arg(keys::commands(""))
            .arg(json)
            .query_async(&mut c)
            .await
            .map_err(redis_err)?;
        match status {
            2 => Ok(worker),
            1 => Err(lost(&worker, room)),
            _ => Err(self.unowned(tenant, room).await),
        }
    }

    /// Send `call` to `to` and wait for its answer, counted in the metrics.
    async fn send(
        &self,
        to: To<'_>,
        tenant: &TenantId,
        room: &str,
        call: Call,
        wait: Duration,
    ) -> Result<Value> {
        let name = call.name();
        let started = std::time::Instant::now();
        let _in_flight = self.metrics.sending();
        let result = self.send_and_wait(to, tenant, room, call, wait).await;
        let code = result.as_ref().err().map(EngineError::code);
        self.metrics.answered(name, code, started.elapsed());
        result
    }

    /// Send `call` to `worker` and wait for its answer: at most `wait`, and only while the
    /// session's holder is alive (a moved session's holder changes on the way).
    async fn send_and_wait(
        &self,
        to: To<'_>,
        tenant: &TenantId,
        room: &str,
        call: Call,
        wait: Duration,
    ) -> Result<Value> {
        let id = uuid::Uuid::new_v4().to_string();
        let envelope = Envelope {
            id: id.clone(),
            reply_to: self.replies.channel().to_string(),
            tenant: tenant.clone(),
            room: room.to_string(),
            call,
            deadline_ms: now_ms() + wait.as_millis() as u64,
            hops: 0,
        };
        let json =
            serde_json::to_string(&envelope).map_err(|e| EngineError::Queue(e.to_string()))?;
        let mut rx = self.replies.expect(&id);
        let pushed = match to {
            To::Owner => self.push_to_owner(tenant, room, &json).await,
            To::Worker(w) => {
                let mut c = self.conn.clone();
                redis::cmd("RPUSH")
                    .arg(keys::commands(w))
                    .arg(json)
                    .query_async::<i64>(&mut c)
                    .await
                    .map(|_| w.to_string())
                    .map_err(redis_err)
            }
        };
        let mut watched = match pushed {
            Ok(w) => w,
            Err(e) => {
                self.replies.forget(&id);
                return Err(e);
            }
        };
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            tokio::select! {
                answer = &mut rx => {
                    return match answer {
                        Ok(reply) => reply?.into_result(),
                        Err(_) => Err(EngineError::EventBus("the answers channel closed".into())),
                    };
                }
                _ = tokio::time::sleep_until(deadline) => {
                    self.replies.forget(&id);
                    return Err(EngineError::Timeout(format!(
                        "worker {watched} did not answer in {} s", wait.as_secs()
                    )));
                }
                _ = tokio::time::sleep(Duration::from_secs(1)) => {
                    if self.registry.is_alive(&watched).await.unwrap_or(true) {
                        continue;
                    }
                    match self.owner(tenant, room).await.ok().flatten() {
                        Some(w) if w != watched && self.registry.is_alive(&w).await.unwrap_or(false) => watched = w,
                        _ => {
                            self.replies.forget(&id);
                            return Err(lost(&watched, room));
                        }
                    }
                }
            }
        }
    }

    /// Route a call to the session's holder and parse its answer.
    async fn route<T: DeserializeOwned>(
        &self,
        tenant: &TenantId,
        room: &str,
        call: Call,
        wait: Duration,
    ) -> Result<T> {
        parse(self.send(To::Owner, tenant, room, call, wait).await?)
    }

    /// Record `worker` as the room's owner unless a live worker owns it already, and unless the
    /// tenant holds its most sessions over the cluster (`TENANT_MAX_SESSIONS`, when set).
    async fn claim(&self, tenant: &TenantId, room: &str, worker: &str) -> Result<()> {
        // One script, so that two control planes racing for a room, or for a tenant's last
        // slot, cannot both win. The tenant's set of rooms heals itself: a room whose owner key
        // is gone (closed, failed) is dropped as it is counted, on every claim, limit or not, so
        // the set stays the size of the tenant's open rooms however many names it has used.
        const SCRIPT: &str = "if redis.call('EXISTS', KEYS[1]) == 1 then return {0, 0} end \
            local limit = tonumber(ARGV[5]) \
            local n = 0 \
            for _, r in ipairs(redis.call('SMEMBERS', KEYS[3])) do \
              if redis.call('EXISTS', ARGV[4] .. r) == 1 then n = n + 1 \
              else redis.call('SREM', KEYS[3], r) end \
            end \
            if limit > 0 and n >= limit then return {-1, n} end \
            redis.call('SET', KEYS[1], ARGV[1]) \
            redis.call('SADD', KEYS[2], ARGV[2]) \
            redis.call('SADD', KEYS[3], ARGV[3]) \
            return {1, 0}";
        let key = keys::owner(tenant, room);
        let limit = self.platform.config.tenant_max_sessions_set.unwrap_or(0);
        let mut c = self.conn.clone();
        for _ in 0..2 {
            let (status, held): (i64, usize) = redis::cmd("EVAL")
                .arg(SCRIPT)
                .arg(3)
                .arg(&key)
                .arg(keys::held(worker))
                .arg(keys::tenant_rooms(tenant))
                .arg(worker)
                .arg(keys::member(tenant, room))
                .arg(room)
                .arg(keys::owner(tenant, ""))
                .arg(limit)
                .query_async(&mut c)
                .await
                .map_err(redis_err)?;
            match status {
                1 => return Ok(()),
                -1 => return Err(EngineError::TenantSessionLimit(held)),
                _ => {}
            }
            match self.owner(tenant, room).await? {
                Some(w) if self.registry.is_alive(&w).await? => {
                    return Err(EngineError::SessionExists(room.to_string()))
                }
                // Its worker died: the room is free (its session is failed, or about to be).
                Some(w) => {
                    release_owner(&mut c, &key, &w).await?;
                    let _: i64 = redis::cmd("SREM")
                        .arg(keys::held(&w))
                        .arg(keys::member(tenant, room))
                        .query_async(&mut c)
                        .await
                        .map_err(redis_err)?;
                }
                None => {}
            }
        }
        Err(EngineError::SessionExists(room.to_string()))
    }

    /// Forget the room's owner (the session closed, or never opened).
    async fn unclaim(&self, tenant: &TenantId, room: &str, worker: &str) {
        let mut c = self.conn.clone();
        let _ = release_owner(&mut c, &keys::owner(tenant, room), worker).await;
        let _ = redis::cmd("SREM")
            .arg(keys::held(worker))
            .arg(keys::member(tenant, room))
            .query_async::<i64>(&mut c)
            .await;
    }

    /// Place a session on a live worker and run `call` there (a start, or a recovery from the
    /// store).
    async fn place(&self, tenant: &TenantId, room: &str, call: Call) -> Result<SessionInfo> {
        let worker = self.registry.place(None).await?.info.id;
        self.claim(tenant, room, &worker).await?;
        let wait = self.platform.config.navigation_timeout * 2 + MARGIN;
        match self
            .send(To::Worker(&worker), tenant, room, call, wait)
            .await
        {
            Ok(v) => parse(v),
            Err(e) => {
                self.unclaim(tenant, room, &worker).await;
                Err(e)
            }
        }
    }

    fn short(&self) -> Duration {
        Duration::from_secs(15) + MARGIN
    }
}

/// The error for a room whose worker stopped answering.
fn lost(worker: &str, room: &str) -> EngineError {
    EngineError::WorkerLost(format!(
        "worker {worker} held room '{room}' and stopped answering; call recover_browser_session"
    ))
}

/// Where a command goes.
#[derive(Clone, Copy)]
enum To<'a> {
    /// This worker.
    Worker(&'a str),
    /// Whichever live worker owns the room (looked up with the push).
    Owner,
}

fn parse<T: DeserializeOwned>(v: Value) -> Result<T> {
    serde_json::from_value(v)
        .map_err(|e| EngineError::Browser(format!("unexpected answer from the worker: {e}")))
}

#[async_trait::async_trait]
impl SessionService for RoutedSessions {
    async fn start_session(
        &self,
        tenant: &TenantId,
        room: &str,
        opts: StartOptions,
    ) -> Result<SessionInfo> {
        self.place(tenant, room, Call::Start { options: opts })
            .await
    }

    async fn pause(&self, tenant: &TenantId, room: &str) -> Result<SessionInfo> {
        self.route(tenant, room, Call::Pause, self.short()).await
    }

    async fn resume(&self, tenant: &TenantId, room: &str) -> Result<SessionInfo> {
        self.route(tenant, room, Call::Resume, self.short()).await
    }

    async fn close(&self, tenant: &TenantId, room: &str) -> Result<SessionInfo> {
        let worker = self.holder(tenant, room).await?;
        let result = self
            .send(To::Worker(&worker), tenant, room, Call::Close, self.short())
            .await;
        if matches!(
            &result,
            Ok(_)
                | Err(EngineError::Remote {
                    code: platform::Code::SessionNotFound,
                    ..
                })
        ) {
            self.unclaim(tenant, room, &worker).await;
        }
        parse(result?)
    }

    async fn recover(&self, tenant: &TenantId, room: &str) -> Result<SessionInfo> {
        match self.live_owner(tenant, room).await? {
            Some(w) => {
                let wait = self.platform.config.navigation_timeout * 2 + MARGIN;
                parse(
                    self.send(To::Worker(&w), tenant, room, Call::Recover, wait)
                        .await?,
                )
            }
            None => {
                let rec = self.platform.store.get_session(tenant, room).await?;
                if !rec.is_some_and(|r| r.status != SessionStatus::Closed) {
                    return Err(EngineError::SessionNotFound(room.to_string()));
                }
                self.place(tenant, room, Call::Recover).await
            }
        }
    }

    async fn execute(
        &self,
        tenant: &TenantId,
        room: &str,
        kind: ActionKind,
        fields: &ActionFields,
    ) -> Result<ActionResult> {
        let own = fields
            .timeout_ms
            .map(Duration::from_millis)
            .unwrap_or(self.platform.config.navigation_timeout)
            .min(Duration::from_secs(120));
        let call = Call::Execute {
            kind,
            fields: fields.clone(),
        };
        self.route(
            tenant,
            room,
            call,
            own.max(Duration::from_secs(15)) + MARGIN,
        )
        .await
    }

    async fn browser_context(&self, tenant: &TenantId, room: &str) -> Result<BrowserContext> {
        self.route(tenant, room, Call::Context, self.short()).await
    }

    async fn screen_content(
        &self,
        tenant: &TenantId,
        room: &str,
        opts: ScreenOptions,
    ) -> Result<ScreenContent> {
        let call = Call::Screen { options: opts };
        self.route(tenant, room, call, Duration::from_secs(30) + MARGIN)
            .await
    }

    async fn whep_offer(
        &self,
        tenant: &TenantId,
        room: &str,
        offer: String,
    ) -> Result<(String, String)> {
        let call = Call::WhepOffer { sdp: offer };
        let answer: crate::video::WhepAnswer = self.route(tenant, room, call, self.short()).await?;
        Ok((answer.id, answer.sdp))
    }

    async fn whep_close(&self, tenant: &TenantId, room: &str, viewer: &str) -> Result<()> {
        let call = Call::WhepClose {
            viewer: viewer.to_string(),
        };
        let _: Value = self.route(tenant, room, call, self.short()).await?;
        Ok(())
    }

    async fn start_recording(&self, tenant: &TenantId, room: &str) -> Result<RecordingInfo> {
        let wait = self.short();
        self.route(tenant, room, Call::StartRecording, wait).await
    }

    async fn stop_recording(&self, tenant: &TenantId, room: &str) -> Result<RecordingInfo> {
        // Storing the file (an upload to S3) comes before the answer.
        let wait = Duration::from_secs(60) + MARGIN;
        self.route(tenant, room, Call::StopRecording, wait).await
    }

    async fn recordings(&self, tenant: &TenantId, room: &str) -> Result<Vec<RecordingInfo>> {
        // The worker holding the room also lists the recording it is writing; a room no live
        // worker holds has only stored ones, read here.
        match self.live_owner(tenant, room).await? {
            Some(w) => {
                let call = Call::Recordings;
                parse(
                    self.send(To::Worker(&w), tenant, room, call, self.short())
                        .await?,
                )
            }
            None => self.archive.stored(tenant, room).await,
        }
    }

    async fn list(&self, tenant: &TenantId) -> Result<Vec<SessionInfo>> {
        let records = self.platform.store.list_sessions(tenant, None).await?;
        let records: Vec<_> = records
            .into_iter()
            .filter(|r| r.status != SessionStatus::Closed)
            .collect();
        let mut owners: Vec<Option<String>> = Vec::new();
        if !records.is_empty() {
            let mut c = self.conn.clone();
            let mut cmd = redis::cmd("MGET");
            for r in &records {
                cmd.arg(keys::owner(tenant, &r.room_name));
            }
            owners = cmd.query_async(&mut c).await.map_err(redis_err)?;
        }
        let mut out: Vec<SessionInfo> = records
            .into_iter()
            .zip(owners.into_iter().chain(std::iter::repeat(None)))
            .map(|(r, worker)| SessionInfo {
                room_name: r.room_name,
                status: r.status,
                url: r.current_url,
                viewport: r.viewport,
                fps: r.fps,
                browser_id: None,
                last_error: r.last_error,
                restored_url: None,
                restore_error: None,
                worker,
            })
            .collect();
        out.sort_by(|a, b| a.room_name.cmp(&b.room_name));
        Ok(out)
    }

    async fn fleet(&self) -> Option<Value> {
        let live = self.registry.alive().await.ok()?;
        Some(json!({
            "workers_alive": live.len(),
            "calls_in_flight": self.in_flight(),
            "workers": live,
        }))
    }
}
