//! A cluster of the tests' own: Redis, engine workers and control planes as child processes.

use crate::common::{eventually, site, temp_dir, RedisServer, Service, Worker};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

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
            let extra = [
                ("REDIS_URL", url.as_str()),
                ("API_KEYS", KEYS),
                ("RATE_LIMIT_RPS", "0"),
            ];
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

/// A minimal MCP client over streamable HTTP that may send each request to a different
/// control plane, as a client behind a load balancer without sticky routing does.
pub struct McpOverHttp {
    http: reqwest::Client,
    session: Option<String>,
    next_id: u64,
    key: String,
}

impl McpOverHttp {
    /// A client authenticating with `key`.
    pub fn new(key: &str) -> Self {
        Self {
            http: crate::common::http_client(Duration::from_secs(60)),
            session: None,
            next_id: 1,
            key: key.into(),
        }
    }

    async fn post(&mut self, base: &str, body: Value) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{base}/mcp"))
            .bearer_auth(&self.key)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-06-18")
            .json(&body);
        if let Some(s) = &self.session {
            req = req.header("mcp-session-id", s);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        if let Some(s) = r.headers().get("mcp-session-id") {
            self.session = Some(s.to_str().unwrap().to_string());
        }
        let text = r.text().await.unwrap();
        // An SSE answer carries the JSON-RPC message on its `data:` lines.
        let json = text
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .find_map(|d| serde_json::from_str::<Value>(d).ok())
            .or_else(|| serde_json::from_str(&text).ok())
            .unwrap_or(Value::Null);
        (status, json)
    }

    /// `initialize` and `notifications/initialized` on `base`.
    pub async fn initialize(&mut self, base: &str) {
        let (status, v) = self
            .post(
                base,
                json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                    "protocolVersion": "2025-06-18", "capabilities": {},
                    "clientInfo": {"name": "cluster-test", "version": "1"}}}),
            )
            .await;
        assert_eq!(status, 200, "initialize: {v}");
        assert!(self.session.is_some(), "no MCP session id");
        let (status, _) = self
            .post(
                base,
                json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            )
            .await;
        assert!(status == 202 || status == 200, "initialized: {status}");
    }

    /// `tools/call` on `base`: the JSON-RPC result.
    pub async fn call(&mut self, base: &str, name: &str, args: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let (status, v) = self
            .post(
                base,
                json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                       "params": {"name": name, "arguments": args}}),
            )
            .await;
        assert_eq!(status, 200, "{name} on {base}: {v}");
        assert_eq!(v["id"], id, "{v}");
        v["result"].clone()
    }

    /// A call that must succeed: its structured content.
    pub async fn ok(&mut self, base: &str, name: &str, args: Value) -> Value {
        let r = self.call(base, name, args.clone()).await;
        assert_ne!(r["isError"], true, "{name}({args}) on {base}: {r}");
        r["structuredContent"].clone()
    }
}
