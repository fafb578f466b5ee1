//! The worker registry: each worker's lease in Redis, and placement of new sessions on the live
//! worker with the most free slots.

use crate::{keys, redis_err, LEASE};
use platform::error::{EngineError, Result};
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};

/// A worker as it registers itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WorkerInfo {
    /// Its id (`WORKER_ID`, or host and process id).
    pub id: String,
    /// The address viewers reach it at for WebRTC (`WEBRTC_PUBLIC_IP`, or its host name).
    pub address: String,
    /// Most sessions it holds.
    pub max_sessions: usize,
    /// Browsers running.
    pub browsers: usize,
    /// Its machine's load average over the last minute.
    pub load: f64,
    /// Set while it hands its sessions over before it exits: nothing new is placed on it.
    pub draining: bool,
}

/// A live worker with the sessions placed on it.
#[derive(Debug, Clone, Serialize)]
pub struct LiveWorker {
    /// What it registered.
    #[serde(flatten)]
    pub info: WorkerInfo,
    /// Sessions placed on it.
    pub sessions: usize,
    /// Session slots free.
    pub free_slots: usize,
}

/// The registry, over one connection.
#[derive(Clone)]
pub struct Registry {
    conn: ConnectionManager,
}

impl Registry {
    /// The registry on `conn`.
    pub fn new(conn: ConnectionManager) -> Self {
        Self { conn }
    }

    /// Register or renew a worker's lease.
    pub async fn announce(&self, info: &WorkerInfo) -> Result<()> {
        let json = serde_json::to_string(info).map_err(|e| EngineError::Browser(e.to_string()))?;
        let mut c = self.conn.clone();
        redis::pipe()
            .cmd("SET")
            .arg(keys::lease(&info.id))
            .arg(json)
            .arg("PX")
            .arg(LEASE.as_millis() as u64)
            .ignore()
            .cmd("SADD")
            .arg(keys::workers())
            .arg(&info.id)
            .ignore()
            .query_async::<()>(&mut c)
            .await
            .map_err(redis_err)
    }

    /// Take a worker out of the registry (it exits).
    pub async fn withdraw(&self, id: &str) -> Result<()> {
        let mut c = self.conn.clone();
        redis::pipe()
            .cmd("DEL")
            .arg(keys::lease(id))
            .ignore()
            .cmd("SREM")
            .arg(keys::workers())
            .arg(id)
            .ignore()
            .query_async::<()>(&mut c)
            .await
            .map_err(redis_err)
    }

    /// Whether a worker's lease is current.
    pub async fn is_alive(&self, id: &str) -> Result<bool> {
        let mut c = self.conn.clone();
        redis::cmd("EXISTS")
            .arg(keys::lease(id))
            .query_async::<bool>(&mut c)
            .await
            .map_err(redis_err)
    }

    /// Every registered worker id, live or not.
    pub async fn registered(&self) -> Result<Vec<String>> {
        let mut c = self.conn.clone();
        redis::cmd("SMEMBERS")
            .arg(keys::workers())
            .query_async(&mut c)
            .await
            .map_err(redis_err)
    }

    /// The live workers with their sessions, in no order.
    pub async fn alive(&self) -> Result<Vec<LiveWorker>> {
        let ids = self.registered().await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.cmd("GET").arg(keys::lease(id));
            pipe.cmd("SCARD").arg(keys::held(id));
        }
        let mut c = self.conn.clone();
        let answers: Vec<redis::Value> = pipe.query_async(&mut c).await.map_err(redis_err)?;
        let mut live = Vec::new();
        for pair in answers.chunks(2) {
            let info: Option<String> = redis::from_redis_value(pair[0].clone()).unwrap_or(None);
            let sessions: usize = redis::from_redis_value(pair[1].clone()).unwrap_or(0);
            if let Some(info) = info.and_then(|s| serde_json::from_str::<WorkerInfo>(&s).ok()) {
                live.push(LiveWorker {
                    free_slots: info.max_sessions.saturating_sub(sessions),
                    info,
                    sessions,
                });
            }
        }
        Ok(live)
    }

    /// The live worker a new session goes to: not draining, not `except`, the most free slots,
    /// then the lowest load.
    pub async fn place(&self, except: Option<&str>) -> Result<LiveWorker> {
        let live = self.alive().await?;
        choose(live, except).ok_or_else(|| {
            EngineError::NoWorker("no live engine worker has a free session slot".into())
        })
    }
}

/// The placement rule of [`Registry::place`].
pub fn choose(live: Vec<LiveWorker>, except: Option<&str>) -> Option<LiveWorker> {
    live.into_iter()
        .filter(|w| !w.info.draining && w.free_slots > 0 && Some(w.info.id.as_str()) != except)
        .max_by(|a, b| {
            a.free_slots
                .cmp(&b.free_slots)
                .then(b.info.load.total_cmp(&a.info.load))
                .then(b.info.id.cmp(&a.info.id))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker(id: &str, free: usize, load: f64, draining: bool) -> LiveWorker {
        LiveWorker {
            info: WorkerInfo {
                id: id.into(),
                address: "127.0.0.1".into(),
                max_sessions: 10,
                browsers: 1,
                load,
                draining,
            },
            sessions: 10 - free,
            free_slots: free,
        }
    }

    #[test]
    fn the_most_free_slots_win_then_the_lowest_load() {
        let pick = |v, except| choose(v, except).map(|w| w.info.id);
        let v = vec![worker("a", 3, 0.1, false), worker("b", 5, 0.9, false)];
        assert_eq!(pick(v, None).as_deref(), Some("b"));
        let v = vec![worker("a", 5, 0.1, false), worker("b", 5, 0.9, false)];
        assert_eq!(pick(v, None).as_deref(), Some("a"));
    }

    #[test]
    fn a_draining_full_or_excluded_worker_takes_nothing() {
        let v = vec![
            worker("a", 9, 0.0, true),
            worker("b", 0, 0.0, false),
            worker("c", 4, 0.0, false),
        ];
        assert!(choose(v.clone(), Some("c")).is_none());
        assert_eq!(choose(v, None).unwrap().info.id, "c");
    }
}
