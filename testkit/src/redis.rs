//! A Redis server of the tests' own (Debian's `redis-server`), on a free port.

use crate::dirs::{free_port, temp_dir};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A Redis server of the tests' own, on a free port, stopped when dropped.
pub struct RedisServer {
    child: Option<Child>,
    /// The port.
    pub port: u16,
    dir: PathBuf,
}

impl RedisServer {
    /// Start `redis-server` (from PATH, or `BAS_TEST_REDIS_SERVER`) on a free port.
    pub fn start() -> RedisServer {
        Self::start_on(free_port())
    }

    /// Start on a given port (used to restart on the same address).
    pub fn start_on(port: u16) -> RedisServer {
        let bin = std::env::var("BAS_TEST_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let dir = temp_dir("redis");
        let child = Command::new(&bin)
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin} (install Debian's redis-server): {e}"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        RedisServer {
            child: Some(child),
            port,
            dir,
        }
    }

    /// `redis://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stop it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
