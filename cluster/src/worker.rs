//! An engine worker of a cluster: its lease, the commands sent to it (run in order per session,
//! answered on the sender's channel), and the drain that hands its sessions to other workers.

use crate::failover::Failover;
use crate::metrics::WorkerMetrics;
use crate::registry::{Registry, WorkerInfo};
use crate::video::WorkerVideo;
use crate::wire::{now_ms, Call, Envelope, Reply};
use crate::{keys, redis_err, RENEW_EVERY};
use browser::session::{SessionManager, SessionService};
use browser::Engine;
use platform::error::{EngineError, Result};
use platform::store::SessionStatus;
use platform::TenantId;
use redis::aio::ConnectionManager;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// What a session's lane runs, in order.
enum Item {
    /// A command.
    Command(Box<Envelope>),
    /// Hand the session to `target`, then forward its later commands there.
    Move {
        target: String,
        done: oneshot::Sender<Result<()>>,
    },
}

/// An engine worker registered in the cluster.
pub struct Worker {
    id: String,
    address: String,
    engine: Arc<Engine>,
    video: Option<Arc<dyn WorkerVideo>>,
    registry: Registry,
    conn: ConnectionManager,
    client: redis::Client,
    /// One lane per session: its commands run one after another.
    lanes: Mutex<HashMap<String, mpsc::UnboundedSender<Item>>>,
    /// Sessions handed to another worker: their late commands go there.
    moved: Mutex<HashMap<String, String>>,
    draining: AtomicBool,
    stopping: AtomicBool,
    metrics: WorkerMetrics,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Worker {
    /// Register `engine` as worker `id` (reachable for WebRTC at `address`) and start taking
    /// commands. Sessions a previous process of the same id left in the registry died with it:
    /// they are failed first.
    pub async fn start(
        engine: Arc<Engine>,
        video: Option<Arc<dyn WorkerVideo>>,
        redis_url: &str,
        id: &str,
        address: &str,
    ) -> Result<Arc<Self>> {
        let client = crate::client(redis_url)?;
        let conn = crate::connect(&client).await?;
        let registry = Registry::new(conn.clone());
        let failover = Failover {
            registry: registry.clone(),
            conn: conn.clone(),
            store: engine.platform.store.clone(),
            bus: engine.platform.events.clone(),
            metrics: None,
        };
        let left = failover
            .fail_sessions(id, "its engine worker restarted")
            .await?;
        if left > 0 {
            tracing::warn!(
                left,
                "sessions of this worker's previous run marked failed; they can be recovered"
            );
        }
        let metrics = WorkerMetrics::new(&engine.platform.telemetry);
        let worker = Arc::new(Self {
            id: id.to_string(),
            address: address.to_string(),
            engine,
            video,
            registry,
            conn,
            client,
            lanes: Mutex::new(HashMap::new()),
            moved: Mutex::new(HashMap::new()),
            draining: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            metrics,
            tasks: Mutex::new(Vec::new()),
        });
        worker
            .engine
            .sessions
            .observe(Arc::new(Releaser(Arc::downgrade(&worker))));
        worker.renew().await?;
        let consume = tokio::spawn(consume(worker.clone()));
        let renew = tokio::spawn(renew_lease(Arc::downgrade(&worker)));
        worker.tasks.lock().expect("tasks").extend([consume, renew]);
        tracing::info!(worker = %id, "engine worker registered; taking session commands");
        Ok(worker)
    }

    /// Its id.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn video(&self) -> Result<&Arc<dyn WorkerVideo>> {
        self.video
            .as_ref()
            .ok_or_else(|| EngineError::NotServedHere("this worker serves no live video".into()))
    }

    fn sessions(&self) -> &SessionManager {
        &self.engine.sessions
    }

    /// Renew the lease with current figures, and put back what a restarted Redis forgot: this
    /// worker's sessions and their owner keys. A worker that control planes declared lost
    /// meanwhile drops its sessions (they are failed already).
    async fn renew(&self) -> Result<()> {
        let info = WorkerInfo {
            id: self.id.clone(),
            address: self.address.clone(),
            max_sessions: self.engine.config().max_sessions,
            browsers: self.engine.pool.report().await.browsers.len(),
            load: load_average(),
            draining: self.draining.load(Ordering::Relaxed),
        };
        let mut c = self.conn.clone();
        let lost: bool = redis::cmd("EXISTS")
            .arg(keys::lost(&self.id))
            .query_async(&mut c)
            .await
            .map_err(redis_err)?;
        if lost {
            tracing::warn!(worker = %self.id, "this worker was declared lost; dropping its sessions");
            self.sessions().suspend_all().await;
            let _: () = redis::cmd("DEL")
                .arg(keys::lost(&self.id))
                .query_async(&mut c)
                .await
                .map_err(redis_err)?;
        }
        self.registry.announce(&info).await?;
        let held = self.sessions().held();
        if lost || held.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for (tenant, room) in &held {
            pipe.cmd("SADD")
                .arg(keys::held(&self.id))
                .arg(keys::member(tenant, room))
                .ignore();
            pipe.cmd("SET")
                .arg(keys::owner(tenant, room))
                .arg(&self.id)
                .arg("NX")
                .ignore();
            pipe.cmd("SADD")
                .arg(keys::tenant_rooms(tenant))
                .arg(room)
                .ignore();
        }
        pipe.query_async::<()>(&mut c).await.map_err(redis_err)
    }

    /// Hand the command to its session's lane (made on first use).
    fn dispatch(self: &Arc<Self>, env: Envelope) {
        let key = keys::member(&env.tenant, &env.room);
        self.enqueue(key, Item::Command(Box::new(env)));
    }

    fn enqueue(self: &Arc<Self>, key: String, item: Item) {
        let mut lanes = self.lanes.lock().expect("lanes");
        let tx = lanes.entry(key.clone()).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(lane(self.clone(), key.clone(), rx));
            tx
        });
        if let Err(mpsc::error::SendError(item)) = tx.send(item) {
            let (tx, rx) = mpsc::unbounded_channel();
            let _ = tx.send(item);
            tokio::spawn(lane(self.clone(), key.clone(), rx));
            lanes.insert(key, tx);
        }
    }

    /// Run one command and answer it; a command of a session handed over is forwarded.
    async fn run(&self, env: Envelope) {
        if now_ms() > env.deadline_ms {
            tracing::debug!(id = %env.id, "dropping a command nobody waits for any more");
            return;
        }
        let key = keys::member(&env.tenant, &env.room);
        let target = self.moved.lock().expect("moved").get(&key).cloned();
        if let Some(target) = target {
            if env.hops < 3 {
                self.forward(&target, env).await;
                return;
            }
        }
        let (id, reply_to, name) = (env.id.clone(), env.reply_to.clone(), env.call.name());
        let changes = matches!(
            env.call,
            Call::Start { .. } | Call::Recover | Call::TakeOver { .. } | Call::Execute { .. }
        );
        let span =
            tracing::info_span!("routed", call = name, room = %env.room, tenant = %env.tenant);
        let result = tracing::Instrument::instrument(
            self.call(&env.tenant, &env.room, env.call),
            span.clone(),
        )
        .await;
        self.metrics
            .ran(name, result.as_ref().err().map(EngineError::code));
        let ok = result.is_ok();
        if reply_to.is_empty() {
            if let Err(e) = &result {
                tracing::warn!(room = %env.room, error = %e, call = name, "command failed");
            }
        } else {
            self.answer(&reply_to, Reply::of(id, result)).await;
        }
        // What recovery on another worker restores: cookies and storage as they are now. Taken
        // after the answer (the session's next command waits for it in its lane), so it adds
        // nothing to the call's round trip.
        if changes && ok {
            let snap = self.sessions().snapshot_storage(&env.tenant, &env.room);
            if let Err(e) = tracing::Instrument::instrument(snap, span).await {
                tracing::debug!(room = %env.room, error = %e, "storage not snapshotted");
            }
        }
    }

    /// Publish an answer on the caller's channel.
    async fn answer(&self, reply_to: &str, reply: Reply) {
        let json = serde_json::to_string(&reply).unwrap_or_default();
        let mut c = self.conn.clone();
        if let Err(e) = redis::cmd("PUBLISH")
            .arg(reply_to)
            .arg(json)
            .query_async::<i64>(&mut c)
            .await
        {
            tracing::warn!(error = %redis_err(e), "answer not sent");
        }
    }

    async fn forward(&self, target: &str, mut env: Envelope) {
        env.hops += 1;
        let json = serde_json::to_string(&env).unwrap_or_default();
        let mut c = self.conn.clone();
        if let Err(e) = redis::cmd("RPUSH")
            .arg(keys::commands(target))
            .arg(json)
            .query_async::<i64>(&mut c)
            .await
        {
            tracing::warn!(error = %redis_err(e), "command of a moved session not forwarded");
        }
    }

    /// Run a call on this worker's sessions; the answer is the tool's structured output.
    async fn call(&self, tenant: &TenantId, room: &str, call: Call) -> Result<Value> {
        let s = self.sessions();
        let json = |v: std::result::Result<Value, serde_json::Error>| {
            v.map_err(|e| EngineError::Browser(e.to_string()))
        };
        let info = |i: browser::session::SessionInfo| {
            let mut i = i;
            i.worker = Some(self.id.clone());
            json(serde_json::to_value(i))
        };
        let out = match call {
            Call::Start { options } => info(s.start_session(tenant, room, options).await?),
            Call::Pause => info(s.pause(tenant, room).await?),
            Call::Resume => info(s.resume(tenant, room).await?),
            Call::Close => info(s.close(tenant, room).await?),
            Call::Recover => info(s.recover(tenant, room).await?),
            Call::TakeOver { carried } => info(s.take_over(tenant, room, carried).await?),
            Call::Execute { kind, fields } => json(serde_json::to_value(
                s.execute(tenant, room, kind, &fields).await?,
            )),
            Call::Context => json(serde_json::to_value(s.browser_context(tenant, room).await?)),
            Call::Screen { options } => json(serde_json::to_value(
                s.screen_content(tenant, room, options).await?,
            )),
            Call::WhepOffer { sdp } => json(serde_json::to_value(
                self.video()?.offer(tenant, room, sdp).await?,
            )),
            Call::WhepClose { viewer } => {
                self.video()?.close(tenant, room, &viewer).await?;
                Ok(Value::Null)
            }
            Call::StartRecording => json(serde_json::to_value(
                SessionService::start_recording(s, tenant, room).await?,
            )),
            Call::StopRecording => json(serde_json::to_value(
                SessionService::stop_recording(s, tenant, room).await?,
            )),
            Call::Recordings => json(serde_json::to_value(
                SessionService::recordings(s, tenant, room).await?,
            )),
        };
        out
    }

    /// Move one session to `target`, in its lane (after the commands before it): snapshot,
    /// free here, ask `target` to take it over from the store, then point its owner key there.
    async fn move_to(&self, key: &str, target: &str) -> Result<()> {
        let (tenant, room) = keys::parse_member(key)
            .ok_or_else(|| EngineError::InvalidRequest(format!("bad session key {key:?}")))?;
        let carried = self.sessions().carried(&tenant, &room)?;
        self.sessions().hand_over(&tenant, &room).await?;
        self.metrics.moved();
        self.moved
            .lock()
            .expect("moved")
            .insert(key.to_string(), target.to_string());
        let take_over = Envelope {
            id: uuid::Uuid::new_v4().to_string(),
            reply_to: String::new(),
            tenant: tenant.clone(),
            room: room.clone(),
            call: Call::TakeOver { carried },
            deadline_ms: now_ms() + 120_000,
            hops: 0,
        };
        let json = serde_json::to_string(&take_over).unwrap_or_default();
        let mut c = self.conn.clone();
        let _: () = redis::pipe()
            .cmd("RPUSH")
            .arg(keys::commands(target))
            .arg(json)
            .ignore()
            .cmd("SET")
            .arg(keys::owner(&tenant, &room))
            .arg(target)
            .ignore()
            .cmd("SMOVE")
            .arg(keys::held(&self.id))
            .arg(keys::held(target))
            .arg(key)
            .ignore()
            .query_async(&mut c)
            .await
            .map_err(redis_err)?;
        tracing::info!(room = %room, to = %target, "session moved to another worker");
        Ok(())
    }

    /// Stop taking new sessions, move every session to another live worker (URL, cookies and
    /// storage), keep forwarding late commands for a moment, then leave the registry. Sessions
    /// no other worker can take stay here, to be stored as failed (recoverable) at shutdown.
    pub async fn drain(self: &Arc<Self>) {
        self.draining.store(true, Ordering::Relaxed);
        self.metrics.draining();
        if let Err(e) = self.renew().await {
            tracing::warn!(error = %e, "draining flag not announced");
        }
        let held = self.sessions().held();
        tracing::info!(
            sessions = held.len(),
            "draining: moving sessions to other workers"
        );
        for (tenant, room) in held {
            let target = match self.registry.place(Some(&self.id)).await {
                Ok(w) => w.info.id,
                Err(e) => {
                    tracing::warn!(error = %e, "no worker to take the remaining sessions");
                    break;
                }
            };
            let (done, rx) = oneshot::channel();
            self.enqueue(keys::member(&tenant, &room), Item::Move { target, done });
            match rx.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(room = %room, error = %e, "session not moved"),
                Err(_) => tracing::warn!(room = %room, "session not moved"),
            }
        }
        // Commands sent before the owners changed are still arriving: forward them.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        self.stop().await;
    }

    /// Leave the registry and stop taking commands; commands left in the list are forwarded
    /// to their sessions' current owners.
    pub async fn stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
        for t in self.tasks.lock().expect("tasks").drain(..) {
            t.abort();
        }
        if let Err(e) = self.registry.withdraw(&self.id).await {
            tracing::warn!(error = %e, "worker not withdrawn from the registry");
        }
        let mut c = self.conn.clone();
        while let Ok(Some(json)) = redis::cmd("LPOP")
            .arg(keys::commands(&self.id))
            .query_async::<Option<String>>(&mut c)
            .await
        {
            let Ok(env) = serde_json::from_str::<Envelope>(&json) else {
                continue;
            };
            let key = keys::member(&env.tenant, &env.room);
            let target = self.moved.lock().expect("moved").get(&key).cloned();
            if let Some(target) = target {
                self.forward(&target, env).await;
            }
        }
    }
}

/// Frees the room of a session that ended here on its own (closed idle, say), so that the room
/// can be opened again anywhere.
struct Releaser(std::sync::Weak<Worker>);

impl browser::session::observer::SessionObserver for Releaser {
    fn session_changed(
        &self,
        tenant: &TenantId,
        room: &str,
        change: browser::session::observer::SessionChange,
    ) {
        use browser::session::observer::SessionChange;
        let (SessionChange::Ended, Some(worker)) = (change, self.0.upgrade()) else {
            return;
        };
        let (tenant, room) = (tenant.clone(), room.to_string());
        tokio::spawn(async move {
            // A recovery ends a page and starts another, a close stores the session after it
            // frees its page, and a lease renewal in flight may write the owner back: look
            // again over two renewals.
            for wait in [200, 2000, 2000] {
                tokio::time::sleep(Duration::from_millis(wait)).await;
                worker.release_if_gone(&tenant, &room).await;
            }
        });
    }
}

impl Worker {
    /// Forget the owner of a room whose session is no longer here at all (a failed session
    /// stays, to be recovered here; a moved one is the new worker's).
    async fn release_if_gone(&self, tenant: &TenantId, room: &str) {
        let key = keys::member(tenant, room);
        if self.sessions().info(tenant, room).is_ok()
            || self.moved.lock().expect("moved").contains_key(&key)
        {
            return;
        }
        // Not until its record says it ended: a new session of the room elsewhere must not be
        // overwritten by this one's late close.
        let stored = self.engine.platform.store.get_session(tenant, room).await;
        if let Ok(Some(r)) = stored {
            if matches!(r.status, SessionStatus::Active | SessionStatus::Paused) {
                return;
            }
        }
        let mut c = self.conn.clone();
        let _ = crate::failover::release_owner(&mut c, &keys::owner(tenant, room), &self.id).await;
        let _ = redis::cmd("SREM")
            .arg(keys::held(&self.id))
            .arg(&key)
            .query_async::<i64>(&mut c)
            .await;
    }
}

/// One session's commands, one at a time; the lane ends after a minute without any.
async fn lane(worker: Arc<Worker>, key: String, mut rx: mpsc::UnboundedReceiver<Item>) {
    loop {
        let item = match tokio::time::timeout(Duration::from_secs(60), rx.recv()).await {
            Ok(Some(item)) => item,
            Ok(None) => return,
            Err(_) => {
                let mut lanes = worker.lanes.lock().expect("lanes");
                if rx.is_empty() {
                    lanes.remove(&key);
                    return;
                }
                continue;
            }
        };
        match item {
            Item::Command(env) => worker.run(*env).await,
            Item::Move { target, done } => {
                let _ = done.send(worker.move_to(&key, &target).await);
            }
        }
    }
}

/// Take this worker's commands from its list, for as long as it runs.
async fn consume(worker: Arc<Worker>) {
    let mut conn = match crate::connect_with(&worker.client, Duration::from_secs(5)).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "no Redis connection for commands");
            return;
        }
    };
    let list = keys::commands(&worker.id);
    while !worker.stopping.load(Ordering::Relaxed) {
        let popped: std::result::Result<Option<(String, String)>, _> = redis::cmd("BLPOP")
            .arg(&list)
            .arg(1)
            .query_async(&mut conn)
            .await;
        match popped {
            Ok(Some((_, json))) => match serde_json::from_str::<Envelope>(&json) {
                Ok(env) => worker.dispatch(env),
                Err(e) => tracing::warn!(error = %e, "ignoring a malformed command"),
            },
            Ok(None) => {}
            Err(e) => {
                tracing::debug!(error = %redis_err(e), "waiting for Redis");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
}

/// Renew the lease every [`RENEW_EVERY`] while the worker lives.
async fn renew_lease(worker: std::sync::Weak<Worker>) {
    let mut tick = tokio::time::interval(RENEW_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(w) = worker.upgrade() else { return };
        if let Err(e) = w.renew().await {
            tracing::warn!(error = %e, "lease not renewed");
        }
    }
}

/// The one-minute load average (0 where `/proc/loadavg` cannot be read).
fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}
