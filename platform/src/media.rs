//! What Debian's `ffprobe` says about a media file, for every part that reads one (ingested
//! audio and video, session recordings).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// How long `ffprobe` may take on one file.
const PROBE_LIMIT: Duration = Duration::from_secs(30);

/// A media file's duration in seconds, from `ffprobe`; `None` when it is not installed, cannot
/// tell, or takes longer than 30 s (it is then stopped).
pub async fn probe_duration(path: &Path) -> Option<f64> {
    let out = tokio::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(PROBE_LIMIT, out).await.ok()?.ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}
