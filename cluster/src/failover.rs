//! Failing a dead worker's sessions: when a worker's lease lapses, one control plane (whichever
//! claims it first) marks every session it held failed, says so on each room's events
//! (`browser_error` with `source: worker_lost`), and clears the worker's keys. The sessions can
//! then be recovered on a live worker.

use crate::registry::Registry;
use crate::{keys, redis_err};
use platform::error::Result;
use platform::events::{emit, room_channel, EventBus, EventKind};
use platform::store::{now_secs, DocumentStore, SessionStatus};
use redis::aio::ConnectionManager;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// How often control planes look for dead workers.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);

/// What failing a worker's sessions needs.
#[derive(Clone)]
pub struct Failover {
    /// The registry.
    pub registry: Registry,
    /// A connection.
    pub conn: ConnectionManager,
    /// Where sessions are stored.
    pub store: Arc<dyn DocumentStore>,
    /// Where rooms' events go.
    pub bus: Arc<dyn EventBus>,
    /// A control plane's series (a worker failing its own leftovers has none).
    pub metrics: Option<crate::metrics::PlaneMetrics>,
}

impl Failover {
    /// Look for dead workers until the task is dropped.
    pub async fn watch(self) {
        let mut tick = tokio::time::interval(CHECK_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.check().await {
                tracing::debug!(error = %e, "dead-worker check skipped");
            }
            if let (Some(m), Ok(live)) = (&self.metrics, self.registry.alive().await) {
                m.workers(&live);
            }
        }
    }

    /// One pass: fail the sessions of every registered worker whose lease lapsed, each worker
    /// exactly once across control planes. Returns the workers failed.
    pub async fn check(&self) -> Result<Vec<String>> {
        let mut failed = Vec::new();
        for id in self.registry.registered().await? {
            if self.registry.is_alive(&id).await? {
                continue;
            }
            let mut c = self.conn.clone();
            let claimed: Option<String> = redis::cmd("SET")
                .arg(keys::lost(&id))
                .arg("1")
                .arg("NX")
                .arg("EX")
                .arg(600)
                .query_async(&mut c)
                .await
                .map_err(redis_err)?;
            if claimed.is_none() {
                continue;
            }
            let n = self
                .fail_sessions(&id, "its engine worker stopped answering")
                .await?;
            tracing::warn!(worker = %id, sessions = n, "engine worker lost; its sessions are failed and can be recovered");
            if let Some(m) = &self.metrics {
                m.failed_over();
            }
            let _: () = redis::pipe()
                .cmd("SREM")
                .arg(keys::workers())
                .arg(&id)
                .ignore()
                .cmd("DEL")
                .arg(keys::commands(&id))
                .ignore()
                .query_async(&mut c)
                .await
                .map_err(redis_err)?;
            failed.push(id);
        }
        Ok(failed)
    }

    /// Fail every session `worker` held: stored as failed, told to its room, its owner key
    /// cleared. Returns how many.
    pub async fn fail_sessions(&self, worker: &str, why: &str) -> Result<usize> {
        let mut c = self.conn.clone();
        let members: Vec<String> = redis::cmd("SMEMBERS")
            .arg(keys::held(worker))
            .query_async(&mut c)
            .await
            .map_err(redis_err)?;
        let reason = format!("{why} (worker {worker}); call recover_browser_session");
        for (tenant, room) in members.iter().filter_map(|m| keys::parse_member(m)) {
            if let Some(mut rec) = self.store.get_session(&tenant, &room).await? {
                if matches!(rec.status, SessionStatus::Active | SessionStatus::Paused) {
                    rec.status = SessionStatus::Failed;
                    rec.last_error = Some(reason.clone());
                    rec.updated_at = now_secs();
                    self.store.put_session(rec).await?;
                }
            }
            release_owner(&mut c, &keys::owner(&tenant, &room), worker).await?;
            emit(
                self.bus.as_ref(),
                &room_channel(&tenant, &room),
                EventKind::BrowserError,
                json!({"room_name": room, "source": "worker_lost", "worker": worker,
                       "reason": reason, "recoverable": true}),
            )
            .await;
        }
        let _: () = redis::cmd("DEL")
            .arg(keys::held(worker))
            .query_async(&mut c)
            .await
            .map_err(redis_err)?;
        Ok(members.len())
    }
}

/// Delete an owner key if it still names `worker` (another worker may own the room by now).
pub async fn release_owner(c: &mut ConnectionManager, key: &str, worker: &str) -> Result<bool> {
    const SCRIPT: &str =
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";
    let n: i64 = redis::cmd("EVAL")
        .arg(SCRIPT)
        .arg(1)
        .arg(key)
        .arg(worker)
        .query_async(c)
        .await
        .map_err(redis_err)?;
    Ok(n == 1)
}
