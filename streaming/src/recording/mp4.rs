//! The MP4 of a recording, written by ffmpeg (Debian's package) as the session runs: frames go
//! in as IVF on its standard input and are copied, not re-encoded, into a fragmented MP4 (a
//! fragment per keyframe, so a crash loses at most the last few seconds). When the recording
//! ends, the action track is muxed in as a subtitle track.

use super::ivf;
use crate::StreamError;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStdin, Command};

/// How long ffmpeg may take to finish the file once its input ends.
const FINISH: Duration = Duration::from_secs(30);

fn ffmpeg_error(what: &str, e: impl std::fmt::Display) -> StreamError {
    StreamError::Encode(format!(
        "recording: {what}: {e} (is Debian's ffmpeg installed?)"
    ))
}

/// An MP4 being written.
pub struct Mp4Writer {
    child: Child,
    stdin: ChildStdin,
}

impl Mp4Writer {
    /// Start writing `path` for pictures of `width` x `height`.
    pub async fn start(path: &Path, width: u32, height: u32) -> Result<Self, StreamError> {
        let mut child = Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
            .args(["-f", "ivf", "-i", "pipe:0", "-c:v", "copy"])
            .args(["-movflags", "+frag_keyframe+empty_moov+default_base_moof"])
            .args(["-f", "mp4"])
            .arg(path)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| ffmpeg_error("cannot run ffmpeg", e))?;
        let mut stdin = child
            .stdin
            .take()
            .ok_or_else(|| ffmpeg_error("ffmpeg", "no standard input"))?;
        stdin
            .write_all(&ivf::header(width as u16, height as u16))
            .await
            .map_err(|e| ffmpeg_error("writing", e))?;
        Ok(Self { child, stdin })
    }

    /// Append a frame (H.264 Annex B) shown at `pts_ms` of the recording.
    pub async fn write(&mut self, frame: &[u8], pts_ms: u64) -> Result<(), StreamError> {
        self.stdin
            .write_all(&ivf::frame_header(frame.len(), pts_ms))
            .await
            .map_err(|e| ffmpeg_error("writing", e))?;
        self.stdin
            .write_all(frame)
            .await
            .map_err(|e| ffmpeg_error("writing", e))
    }

    /// End the input and wait for ffmpeg to finish the file.
    pub async fn finish(self) -> Result<(), StreamError> {
        let Self { child, stdin } = self;
        drop(stdin);
        succeeded("finishing the file", child.wait_with_output()).await
    }
}

/// `video` with the action track `vtt` muxed in as a subtitle track named `actions`, written to
/// `out` (streams copied).
pub async fn add_action_track(video: &Path, vtt: &Path, out: &Path) -> Result<(), StreamError> {
    let result = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i"])
        .arg(video)
        .arg("-i")
        .arg(vtt)
        .args([
            "-map", "0:v", "-map", "1:s", "-c:v", "copy", "-c:s", "mov_text",
        ])
        .args([
            "-metadata:s:s:0",
            "handler_name=actions",
            "-metadata:s:s:0",
            "title=actions",
        ])
        .args(["-movflags", "+faststart", "-f", "mp4"])
        .arg(out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    succeeded("muxing the actions", result).await
}

/// Wait (at most [`FINISH`]) for an ffmpeg run doing `what` to end, and fail with its own
/// message when it did not succeed.
async fn succeeded(
    what: &str,
    run: impl std::future::Future<Output = std::io::Result<std::process::Output>>,
) -> Result<(), StreamError> {
    let out = tokio::time::timeout(FINISH, run)
        .await
        .map_err(|_| ffmpeg_error(what, "ffmpeg did not finish in time"))?
        .map_err(|e| ffmpeg_error(what, e))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(ffmpeg_error(what, err.trim()));
    }
    Ok(())
}
