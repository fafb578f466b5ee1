//! Real servers for tests, each on a free port of 127.0.0.1 and stopped (by PID) when dropped:
//! a MongoDB-compatible server (SecantusDB, WiredTiger inside, from PyPI) and an S3-compatible
//! server that verifies SigV4 signatures and presigned URLs (s3s-fs, from crates.io). `.ci/run`
//! and `scripts/test.sh` install both; `BAS_TEST_SECANTUSD` and `BAS_TEST_S3S_FS` name other
//! executables.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn cache_dir() -> PathBuf {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/tmp".into());
    PathBuf::from(home).join(".cache/browser-automation-service")
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn find(var: &str, candidates: &[PathBuf], what: &str) -> PathBuf {
    if let Ok(p) = std::env::var(var) {
        return PathBuf::from(p);
    }
    candidates
        .iter()
        .find(|p| p.exists())
        .cloned()
        .unwrap_or_else(|| {
            panic!("{what} is not installed: run scripts/test.sh (it installs it), or set {var}")
        })
}

fn wait_port(port: u16, child: &mut Child, what: &str, log: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{what} exited ({status}): {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "{what} did not start in 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn temp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("bas-{tag}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A running server process.
pub struct ServerProcess {
    child: Option<Child>,
    /// Its port on 127.0.0.1.
    pub port: u16,
    dir: PathBuf,
}

impl ServerProcess {
    /// Stop it (SIGKILL by PID) and wait for it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// What it logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn spawn(bin: &PathBuf, args: &[String], tag: &str) -> ServerProcess {
    let dir = temp(tag);
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let log_path = dir.join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let port: u16 = args
        .iter()
        .skip_while(|a| *a != "--port")
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("--port");
    let args: Vec<String> = args
        .iter()
        .map(|a| a.replace("{dir}", &dir.display().to_string()))
        .collect();
    let mut child = Command::new(bin)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    wait_port(port, &mut child, tag, &log_path);
    ServerProcess {
        child: Some(child),
        port,
        dir,
    }
}

/// A MongoDB-compatible server (SecantusDB, in memory).
pub struct MongoServer(pub ServerProcess);

impl MongoServer {
    /// Start `secantusd-py` on a free port.
    pub fn start() -> Self {
        let venv = std::env::var("BAS_VENV")
            .map(PathBuf::from)
            .unwrap_or_else(|_| cache_dir().join("venv"));
        let bin = find(
            "BAS_TEST_SECANTUSD",
            &[venv.join("bin/secantusd-py")],
            "SecantusDB (pip install --pre secantusdb==0.7.0b3)",
        );
        let port = free_port();
        let args = [
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--storage-path",
            ":memory:",
        ]
        .map(String::from);
        Self(spawn(&bin, &args, "secantusd"))
    }

    /// `mongodb://127.0.0.1:PORT/?directConnection=true`
    pub fn uri(&self) -> String {
        format!(
            "mongodb://127.0.0.1:{}/?directConnection=true&serverSelectionTimeoutMS=5000",
            self.0.port
        )
    }
}

/// Credentials the S3-compatible server is started with.
pub const S3_ACCESS_KEY: &str = "bas-test-access";
/// See [`S3_ACCESS_KEY`].
pub const S3_SECRET_KEY: &str = "bas-test-secret-key-0123456789";

/// An S3-compatible server (s3s-fs) over a temporary directory; it checks SigV4 signatures
/// and presigned URLs against [`S3_ACCESS_KEY`] / [`S3_SECRET_KEY`].
pub struct S3Server(pub ServerProcess);

impl S3Server {
    /// Start `s3s-fs` on a free port.
    pub fn start() -> Self {
        let bin = find(
            "BAS_TEST_S3S_FS",
            &[
                cache_dir().join("tools/bin/s3s-fs"),
                PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo/bin/s3s-fs"),
            ],
            "s3s-fs (cargo install s3s-fs@0.14.1 --features binary --locked)",
        );
        let port = free_port();
        let args = [
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--access-key",
            S3_ACCESS_KEY,
            "--secret-key",
            S3_SECRET_KEY,
            "{dir}/data",
        ]
        .map(String::from);
        Self(spawn(&bin, &args, "s3s-fs"))
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.0.port)
    }

    /// Make a bucket (a directory of the served tree).
    pub fn create_bucket(&self, name: &str) {
        std::fs::create_dir_all(self.0.dir.join("data").join(name)).unwrap();
    }
}
