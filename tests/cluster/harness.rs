//! A cluster of the tests' own: Redis, engine workers and control planes as child processes.

use crate::common::{eventually, site, temp_dir, RedisServer, Service, Worker};
use serde_json::json;
use std::path::PathBuf;

/// API keys of the control planes: two tenants.
pub const KEYS: &str = "key-alpha:alpha,key-beta:beta";
/// The first tenant's key.
pub const ALPHA: &str = "key-alpha";
/// The second tenant's key.
pub const BETA: &str = "key-beta";

/// Redis, workers `w1..wN` and control planes `cp1..cpM` on one data directory.
pub struct Cluster {
    pub redis: RedisServer,
    pub dir: PathBuf,
    pub workers: Vec<Worker>,
    pub planes: Vec<Service>,
    pub site: site::Site,
    worker_extra: Vec<(String, String)>,
}

/// The environment of a worker.
fn worker_env(redis: &str, id: &str) -> Vec<(String, String)> {
    vec![
        ("REDIS_URL".into(), redis.into()),
        ("WORKER_ID".into(), id.into()),
        ("JOB_WORKERS".into(), "0".into()),
        ("MAX_SESSIONS".into(), "20".into()),
        ("TENANT_MAX_SESSIONS".into(), "20".into()),
    ]
}

impl Cluster {
    /// Start `workers` workers, then `planes` control planes, and wait until every control plane
    /// sees every worker.
    pub async fn start(workers: usize, planes: usize) -> Cluster {
        Self::start_with(workers, planes, &[]).await
    }

    /// [`Cluster::start`] with more environment for the workers.
    pub async fn start_with(
        workers: usize,
        planes: usize,
        worker_extra: &[(&str, &str)],
    ) -> Cluster {
        Self::start_full(workers, planes, worker_extra, &[]).await
    }

    /// [`Cluster::start`] with more environment for the workers and for the control planes.
    pub async fn start_full(
        workers: usize,
        planes: usize,
        worker_extra: &[(&str, &str)],
        plane_extra: &[(&str, &str)],
    ) -> Cluster {
        let redis = RedisServer::start();
        let dir = temp_dir("cluster");
        let site = site::start().await;
        let mut c = Cluster {
            redis,
            dir,
            workers: Vec::new(),
            planes: Vec::new(),
            site,
            worker_extra: worker_extra
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        for i in 1..=workers {
            c.add_worker(&format!("w{i}"));
        }
        for i in 1..=planes {
            let url = c.redis.url();
            let mut extra = vec![
                ("REDIS_URL", url.as_str()),
                ("API_KEYS", KEYS),
                ("RATE_LIMIT_RPS", "0"),
            ];
            extra.extend_from_slice(plane_extra);
            let cp = Service::control_plane(c.dir.clone(), &format!("cp{i}"), &extra).await;
            c.planes.push(cp.with_key(ALPHA));
        }
        c.wait_workers(workers).await;
        c
    }

    /// Start one more worker.
    pub fn add_worker(&mut self, id: &str) {
        let mut env = worker_env(&self.redis.url(), id);
        env.extend(self.worker_extra.iter().cloned());
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.workers.push(Worker::start(&self.dir, id, &env));
    }

    /// Wait until the first control plane sees `n` live workers.
    pub async fn wait_workers(&self, n: usize) {
        let cp = &self.planes[0];
        eventually(
            90,
            &format!("{n} live workers\n{}", self.logs()),
            || async {
                let h = cp.health().await;
                (h["cluster"]["workers_alive"].as_u64() == Some(n as u64)).then_some(())
            },
        )
        .await;
    }

    /// Every process's log, for a failure message.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for w in &self.workers {
            out.push_str(&format!(
                "--- {}\n{}\n",
                w.log_path.display(),
                tail(&w.log())
            ));
        }
        for p in &self.planes {
            out.push_str(&format!("--- control plane\n{}\n", tail(&p.log())));
        }
        out
    }

    /// Which worker holds `room` (tenant alpha), as `list_browser_sessions` says.
    pub async fn holder(&self, room: &str) -> Option<String> {
        let list = self.planes[0].ok("list_browser_sessions", json!({})).await;
        list["sessions"]
            .as_array()?
            .iter()
            .find(|s| s["room_name"] == room)?["worker"]
            .as_str()
            .map(str::to_string)
    }

    /// The worker process of id `id`.
    pub fn worker(&mut self, id: &str) -> &mut Worker {
        let i = id.trim_start_matches('w').parse::<usize>().unwrap() - 1;
        &mut self.workers[i]
    }
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
