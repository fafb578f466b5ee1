//! One Chromium process: started in its own process group with a fresh profile directory, so
//! that stopping it stops every helper process it spawned and leaves nothing behind.

use platform::error::{EngineError, Result};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The flags every browser is started with. (`--disable-crashpad-for-testing` would keep the
/// crash handler from starting, but Chromium 156's network service then fails to start; the
/// handler is instead pointed into the profile through `XDG_CONFIG_HOME` and killed with it.)
pub const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-breakpad",
    "--disable-crash-reporter",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-quic",
    "--disable-features=Translate,MediaRouter,OptimizationHints,AutofillServerCommunication,CertificateTransparencyComponentUpdater",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    "--disable-ipc-flooding-protection",
    "--metrics-recording-only",
    "--password-store=basic",
    "--use-mock-keychain",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-port=0",
];

/// A running Chromium and how to reach its DevTools endpoint.
pub struct ChromiumProcess {
    /// The browser process; its id is also the id of its process group.
    pub child: Child,
    /// Process id (and process-group id).
    pub pid: u32,
    /// The profile directory, removed when the process is stopped.
    pub profile_dir: PathBuf,
    /// The DevTools WebSocket URL.
    pub ws_url: String,
}

impl ChromiumProcess {
    /// Start Chromium and wait (up to `timeout`) for its DevTools endpoint.
    pub async fn launch(
        executable: &Path,
        profile_dir: PathBuf,
        extra_args: &[String],
        timeout: Duration,
    ) -> Result<Self> {
        std::fs::create_dir_all(&profile_dir).map_err(|e| {
            EngineError::BrowserUnavailable(format!("cannot create {}: {e}", profile_dir.display()))
        })?;
        let mut child = command(executable, &profile_dir)
            .args(extra_args)
            .spawn()
            .map_err(|e| {
                EngineError::BrowserUnavailable(format!(
                    "cannot start {}: {e}",
                    executable.display()
                ))
            })?;
        let pid = child.id().unwrap_or_default();
        let stderr = child.stderr.take().expect("stderr is piped");
        let mut lines = BufReader::new(stderr).lines();
        let mut proc = Self {
            child,
            pid,
            profile_dir,
            ws_url: String::new(),
        };
        match tokio::time::timeout(timeout, devtools_url(&mut lines)).await {
            Ok(Ok(url)) => proc.ws_url = url,
            other => {
                proc.stop().await;
                let (why, tail) = match other {
                    Ok(Err(tail)) => ("exited", tail),
                    _ => ("timed out", Vec::new()),
                };
                return Err(EngineError::BrowserUnavailable(format!(
                    "Chromium {why} before its DevTools endpoint was ready: {}",
                    tail.join(" | ")
                )));
            }
        }
        // Keep draining stderr so Chromium never blocks on a full pipe.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::trace!(target: "chromium", pid, "{line}");
            }
        });
        Ok(proc)
    }

    /// Whether the browser process has exited.
    pub fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Kill the whole process group, reap the browser process and remove the profile.
    pub async fn stop(&mut self) {
        kill_group(self.pid);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
        // Helpers may outlive the browser process by a moment; the group kill above reached them,
        // one more after the reap catches any that were forking at that instant.
        kill_group(self.pid);
        // Anything that left the group (a helper that called setsid) still names the profile.
        if let Some(dir) = self.profile_dir.to_str() {
            for pid in processes_mentioning(dir) {
                // SAFETY: kill(2) on a process id; no memory effects.
                unsafe {
                    libc::kill(pid as i32, libc::SIGKILL);
                }
            }
        }
        let dir = self.profile_dir.clone();
        let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(dir)).await;
    }
}

/// Remove profile directories left by an earlier run of the service that could not clean up
/// (it was killed), and kill any process still using them.
pub fn clean_stale_profiles(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        // Profiles are named `browser-{service pid}-{n}`: leave those of a service still running.
        let owner = entry
            .file_name()
            .to_str()
            .and_then(|n| n.strip_prefix("browser-"))
            .and_then(|n| n.split('-').next())
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = owner {
            if pid != std::process::id() && Path::new(&format!("/proc/{pid}")).exists() {
                continue;
            }
        }
        if let Some(p) = path.to_str() {
            for pid in processes_mentioning(p) {
                // SAFETY: kill(2) on a process id; no memory effects.
                unsafe {
                    libc::kill(pid as i32, libc::SIGKILL);
                }
            }
        }
        if let Err(e) = std::fs::remove_dir_all(&path) {
            tracing::warn!(path = %path.display(), error = %e, "could not remove a stale browser profile");
        }
    }
}

/// Debian's `/usr/bin/chromium` is a shell script that adds flags of its own (extensions, GPU
/// rasterization); start the real binary beside it instead, so the flags are exactly ours.
/// The command that starts Chromium on `profile_dir`, in its own process group, killed with
/// the service.
fn command(executable: &Path, profile_dir: &Path) -> Command {
    let mut cmd = Command::new(resolve_executable(executable));
    // HOME and the XDG directories point into the profile, so nothing is written to the
    // service user's home and everything is removed with the profile.
    cmd.args(CHROMIUM_FLAGS)
        .args(sandbox_flag())
        .env("HOME", profile_dir)
        .env("XDG_CONFIG_HOME", profile_dir.join(".config"))
        .env("XDG_CACHE_HOME", profile_dir.join(".cache"))
        .arg(format!("--user-data-dir={}", profile_dir.display()))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    // If the service itself is killed (no chance to clean up), the kernel kills Chromium.
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

/// Whether the service runs as root, where Chromium's sandbox cannot start.
pub fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// `--no-sandbox` only when running as root (Chromium refuses to sandbox a root process); a
/// non-root service keeps Chromium's sandbox on.
fn sandbox_flag() -> Option<&'static str> {
    running_as_root().then_some("--no-sandbox")
}

/// Read Chromium's stderr until it names its DevTools endpoint; when it exits first, the last
/// lines it wrote.
async fn devtools_url<R: tokio::io::AsyncBufRead + Unpin>(
    lines: &mut tokio::io::Lines<R>,
) -> std::result::Result<String, Vec<String>> {
    let mut tail: Vec<String> = Vec::new();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(idx) = line.find("ws://") {
            if line.contains("DevTools listening on") {
                return Ok(line[idx..].trim().to_string());
            }
        }
        tail.push(line);
        if tail.len() > 20 {
            tail.remove(0);
        }
    }
    Err(tail)
}

fn resolve_executable(path: &Path) -> PathBuf {
    let is_script = std::fs::read(path)
        .map(|b| b.starts_with(b"#!"))
        .unwrap_or(false);
    let real = Path::new("/usr/lib/chromium/chromium");
    if is_script && real.exists() {
        real.to_path_buf()
    } else {
        path.to_path_buf()
    }
}

/// Send SIGKILL to every process in the group led by `pid`.
pub fn kill_group(pid: u32) {
    if pid == 0 {
        return;
    }
    // SAFETY: kill(2) with a negative pid signals a process group; it has no memory effects.
    unsafe {
        libc::kill(-(pid as i32), libc::SIGKILL);
    }
}

/// Ids of live processes whose command line mentions `needle` (used to prove nothing leaked).
pub fn processes_mentioning(needle: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if String::from_utf8_lossy(&cmdline).contains(needle) {
            found.push(pid);
        }
    }
    found
}

/// Ids of this process's children that have exited but were never reaped (zombies).
pub fn zombie_children() -> Vec<u32> {
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_str()?.parse::<u32>().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            // Fields after the parenthesised command name: state, ppid, ...
            let rest = &stat[stat.rfind(')')? + 2..];
            let mut fields = rest.split(' ');
            let state = fields.next()?;
            let ppid: u32 = fields.next()?.parse().ok()?;
            (state == "Z" && ppid == me).then_some(pid)
        })
        .collect()
}
