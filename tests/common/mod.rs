//! What the end-to-end tests of the binary share: the service binary started as a child process
//! ([`Service`], [`Worker`]), plus the test support of the `testkit` crate re-exported under the
//! names the tests use. Each test binary uses part of it.
#![allow(dead_code, unused_imports)]

pub mod mcp_http;
pub mod viewers;

pub use testkit::dirs::{free_port, temp_dir};
pub use testkit::dns::DnsServer;
pub use testkit::mcp::{python, McpClient};
pub use testkit::procs::processes_mentioning;
pub use testkit::redis::RedisServer;
pub use testkit::sites::{
    attacker, changing as changing_site, forms as site, strict as strict_site,
    topics as topics_site, trap as trap_site,
};
pub use testkit::wait::{eventually, find_element, metric_value};

use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The service binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_browser-automation-service");

/// An HTTP client for the tests (rustls needs a crypto provider chosen once per process).
pub fn http_client(timeout: Duration) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(timeout).build().unwrap()
}

/// The service, started as a child process on a free port with its own data directory.
pub struct Service {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// Its data directory.
    pub data_dir: PathBuf,
    http: reqwest::Client,
    key: Option<String>,
}

/// The environment every test service gets: loopback allowed (the fixture site is there).
pub fn base_env(data_dir: &std::path::Path, port: u16) -> Vec<(String, String)> {
    vec![
        ("HOST".into(), "127.0.0.1".into()),
        ("PORT".into(), port.to_string()),
        ("DATA_DIR".into(), data_dir.display().to_string()),
        (
            "MODELS_DIR".into(),
            concat!(env!("CARGO_MANIFEST_DIR"), "/models").into(),
        ),
        ("PRIVATE_NETWORK_ALLOWLIST".into(), "127.0.0.1".into()),
        ("RUST_LOG".into(), "info,chromiumoxide=off".into()),
    ]
}

impl Service {
    /// Start the service with extra environment variables and wait until it is healthy.
    pub async fn start(extra: &[(&str, &str)]) -> Service {
        Self::start_in(temp_dir("svc"), extra).await
    }

    /// Start the service on a given data directory.
    pub async fn start_in(data_dir: PathBuf, extra: &[(&str, &str)]) -> Service {
        Self::launch(&["serve"], data_dir, extra).await
    }

    /// Start a control plane (`serve --no-engine`) on a data directory shared with its workers;
    /// it is healthy once a worker is alive.
    pub async fn control_plane(data_dir: PathBuf, id: &str, extra: &[(&str, &str)]) -> Service {
        Self::launch(&["serve", "--no-engine", "--id", id], data_dir, extra).await
    }

    /// Start the binary with `args` (a `serve` of some kind) and wait until it is healthy.
    pub async fn launch(args: &[&str], data_dir: PathBuf, extra: &[(&str, &str)]) -> Service {
        let port = free_port();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data_dir.join("service.log"))
            .unwrap();
        let mut cmd = Command::new(BIN);
        cmd.args(args).stdout(Stdio::null()).stderr(log);
        for (k, v) in base_env(&data_dir, port) {
            cmd.env(k, v);
        }
        for (k, v) in extra {
            cmd.env(k, v);
        }
        for k in [
            "REDIS_URL",
            "API_KEYS",
            "MONGODB_URI",
            "QDRANT_URL",
            "LIVEKIT_URL",
            "LIVEKIT_API_KEY",
            "LIVEKIT_API_SECRET",
        ] {
            if !extra.iter().any(|(e, _)| *e == k) {
                cmd.env_remove(k);
            }
        }
        let child = cmd.spawn().expect("start the service binary");
        let svc = Service {
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
            data_dir,
            http: http_client(Duration::from_secs(120)),
            key: None,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = svc.http.get(format!("{}/health", svc.base)).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "service did not become healthy:\n{}",
                svc.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        svc
    }

    /// Send this API key with every request.
    pub fn with_key(mut self, key: &str) -> Self {
        self.key = Some(key.to_string());
        self
    }

    /// The service's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("service.log")).unwrap_or_default()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    fn req(&self, r: reqwest::RequestBuilder, key: Option<&str>) -> reqwest::RequestBuilder {
        match key.or(self.key.as_deref()) {
            Some(k) => r.bearer_auth(k),
            None => r,
        }
    }

    /// `POST /mcp/tools/call`: the status and the JSON body.
    pub async fn call(&self, name: &str, args: Value) -> (u16, Value) {
        self.call_as(None, name, args).await
    }

    /// `POST /mcp/tools/call` with a given key.
    pub async fn call_as(&self, key: Option<&str>, name: &str, args: Value) -> (u16, Value) {
        let r = self
            .req(self.http.post(format!("{}/mcp/tools/call", self.base)), key)
            .json(&json!({"name": name, "arguments": args}))
            .send()
            .await
            .expect("tool call reaches the service");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// A tool call that must succeed; returns its result.
    pub async fn ok(&self, name: &str, args: Value) -> Value {
        let (status, body) = self.call(name, args.clone()).await;
        assert_eq!(status, 200, "{name}({args}) failed: {body}");
        body
    }

    /// `GET` a path: status and body text.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .req(self.http.get(format!("{}{path}", self.base)), None)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// The value of one series of `/metrics` (`name{labels}` exactly as exported), 0 when absent.
    pub async fn metric(&self, series: &str) -> f64 {
        let (status, text) = self.get("/metrics").await;
        assert_eq!(status, 200, "{text}");
        metric_value(&text, series)
    }

    /// `POST` JSON to a path: the status and the JSON body.
    pub async fn post_json(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .req(self.http.post(format!("{}{path}", self.base)), None)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// `GET` a path as JSON: the status and the body.
    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let (status, body) = self.get(path).await;
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    /// Start a crawl job over REST; returns its id.
    pub async fn start_job(&self, body: Value) -> String {
        let (status, v) = self
            .post_json("/api/knowledge/explore/start", body.clone())
            .await;
        assert_eq!(status, 202, "start {body}: {v}");
        v["job_id"].as_str().unwrap().to_string()
    }

    /// A job's status.
    pub async fn job(&self, job_id: &str) -> Value {
        let (status, v) = self
            .get_json(&format!("/api/knowledge/explore/status/{job_id}"))
            .await;
        assert_eq!(status, 200, "status of {job_id}: {v}");
        v
    }

    /// Wait until a job satisfies `done` (checked every 100 ms), or panic after `limit`.
    pub async fn wait_job(
        &self,
        job_id: &str,
        limit: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let v = self.job(job_id).await;
            if done(&v) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "job {job_id} stuck at {v}\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Wait until a job has ended and, if it completed, every stored page is embedded and
    /// searchable; returns its final status.
    pub async fn wait_indexed(&self, job_id: &str, limit: Duration) -> Value {
        self.wait_job(job_id, limit, |v| {
            v["status"] == "failed"
                || v["status"] == "cancelled"
                || (v["status"] == "completed" && v["pages_indexed"] == v["pages_completed"])
        })
        .await
    }

    /// Every stored page of a job (all outcomes), in crawl order.
    pub async fn all_pages(&self, job_id: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut offset = 0;
        loop {
            let (status, v) = self
                .get_json(&format!(
                    "/api/knowledge/explore/results/{job_id}?offset={offset}&limit=100&max_chars=100000"
                ))
                .await;
            assert_eq!(status, 200, "{v}");
            let pages = v["pages"].as_array().unwrap().clone();
            offset += pages.len();
            out.extend(pages);
            if v["next_offset"].is_null() {
                return out;
            }
        }
    }

    /// `GET /health` as JSON.
    pub async fn health(&self) -> Value {
        let (_, body) = self.get("/health").await;
        serde_json::from_str(&body).unwrap()
    }

    /// Stop with SIGTERM (a graceful shutdown) and wait for the process to exit.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let child = self.child.take().expect("running");
        terminate(child, "service", Duration::from_secs(30))
    }

    /// Kill with SIGKILL, as a crash would.
    pub fn crash(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Send SIGTERM to `child` and wait up to `limit` for it to exit (killed and a panic after).
fn terminate(mut child: Child, what: &str, limit: Duration) -> std::process::ExitStatus {
    // SAFETY: kill(2) on our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what} did not stop within {limit:?} after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A `worker` process (jobs from Redis, no HTTP), killed when dropped.
pub struct Worker {
    child: Option<Child>,
    /// Where it logs.
    pub log_path: PathBuf,
}

impl Worker {
    /// Start `browser-automation-service worker` on a data directory with extra environment.
    pub fn start(data_dir: &std::path::Path, tag: &str, extra: &[(&str, &str)]) -> Worker {
        let log_path = data_dir.join(format!("worker-{tag}.log"));
        let log = std::fs::File::create(&log_path).unwrap();
        let mut cmd = Command::new(BIN);
        cmd.arg("worker").stdout(Stdio::null()).stderr(log);
        for (k, v) in base_env(data_dir, free_port()) {
            cmd.env(k, v);
        }
        for (k, v) in extra {
            cmd.env(k, v);
        }
        Worker {
            child: Some(cmd.spawn().expect("start a worker")),
            log_path,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Stop with SIGTERM (a drain, then a graceful shutdown) and wait up to `limit` for the
    /// process to exit.
    pub fn stop(&mut self, limit: Duration) -> std::process::ExitStatus {
        let child = self.child.take().expect("running");
        terminate(child, "worker", limit)
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// Kill with SIGKILL, as a crash would.
    pub fn crash(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.crash();
    }
}
