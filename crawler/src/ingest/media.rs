//! Audio and video files: their metadata (container, size, duration) and, for video when asked,
//! thumbnails. Duration and thumbnails come from `ffprobe` / `ffmpeg` when they are installed
//! (Debian's `ffmpeg` package); without them a WAV or MP4 duration is read from its header and no
//! thumbnails are made. No transcript is produced: that needs a speech model this service does
//! not ship.

use super::IngestError;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What is known about a media file.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaInfo {
    /// `audio` or `video`.
    pub kind: &'static str,
    /// The container format (`mp4`, `webm`, `mp3`, ...).
    pub format: String,
    /// Size in bytes.
    pub size: u64,
    /// Length in seconds, when it could be read.
    pub duration_secs: Option<f64>,
}

/// Whether an executable is on PATH.
pub fn have(tool: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false)
}

async fn run(
    cmd: &mut tokio::process::Command,
    limit: Duration,
) -> Result<std::process::Output, IngestError> {
    cmd.kill_on_drop(true).stdin(std::process::Stdio::null());
    let child = cmd.output();
    match tokio::time::timeout(limit, child).await {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(e)) => Err(IngestError::Media(format!("cannot run ffmpeg: {e}"))),
        Err(_) => Err(IngestError::Media(format!(
            "ffmpeg took longer than {}s",
            limit.as_secs()
        ))),
    }
}

/// Read a media file's metadata.
pub async fn probe(path: &Path, kind: &'static str, format: &str) -> MediaInfo {
    let size = tokio::fs::metadata(path)
        .await
        .map(|m| m.len())
        .unwrap_or(0);
    let mut duration = platform::media::probe_duration(path).await;
    if duration.is_none() {
        let head = super::kinds::read_head(path, 1 << 20)
            .await
            .unwrap_or_default();
        duration = match format {
            "wav" => wav_duration(&head),
            "mp4" | "mov" | "m4a" => mp4_duration(&head),
            _ => None,
        };
    }
    MediaInfo {
        kind,
        format: format.to_string(),
        size,
        duration_secs: duration,
    }
}

/// A WAV file's length from its `fmt ` and `data` chunks.
pub fn wav_duration(b: &[u8]) -> Option<f64> {
    if b.len() < 12 || &b[0..4] != b"RIFF" || &b[8..12] != b"WAVE" {
        return None;
    }
    let mut i = 12;
    let mut byte_rate = None;
    while i + 8 <= b.len() {
        let id = &b[i..i + 4];
        let len = u32::from_le_bytes(b[i + 4..i + 8].try_into().ok()?) as usize;
        if id == b"fmt " && i + 16 <= b.len() {
            byte_rate = Some(u32::from_le_bytes(b.get(i + 16..i + 20)?.try_into().ok()?));
        }
        if id == b"data" {
            let rate = byte_rate.filter(|&r| r > 0)?;
            return Some(len as f64 / rate as f64);
        }
        i = i.checked_add(8 + len + (len & 1))?;
    }
    None
}

/// An MP4's length from its `moov/mvhd` box (when `moov` is in the bytes given).
pub fn mp4_duration(b: &[u8]) -> Option<f64> {
    fn boxes(b: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
        let mut i = 0;
        std::iter::from_fn(move || {
            if i + 8 > b.len() {
                return None;
            }
            let size = u32::from_be_bytes(b[i..i + 4].try_into().ok()?) as usize;
            let kind = &b[i + 4..i + 8];
            if size < 8 || i + size > b.len() {
                return None;
            }
            let body = &b[i + 8..i + size];
            i += size;
            Some((kind, body))
        })
    }
    let moov = boxes(b).find(|(k, _)| *k == b"moov")?.1;
    let mvhd = boxes(moov).find(|(k, _)| *k == b"mvhd")?.1;
    let (scale, dur) = if mvhd.first() == Some(&1) {
        (
            u32::from_be_bytes(mvhd.get(20..24)?.try_into().ok()?) as f64,
            u64::from_be_bytes(mvhd.get(24..32)?.try_into().ok()?) as f64,
        )
    } else {
        (
            u32::from_be_bytes(mvhd.get(12..16)?.try_into().ok()?) as f64,
            u32::from_be_bytes(mvhd.get(16..20)?.try_into().ok()?) as f64,
        )
    };
    (scale > 0.0).then(|| dur / scale)
}

/// Up to `count` JPEG thumbnails (320 px wide) spread over a video, written to `dir`; needs
/// `ffmpeg`.
pub async fn thumbnails(
    video: &Path,
    dir: &Path,
    duration: Option<f64>,
    count: usize,
) -> Result<Vec<PathBuf>, IngestError> {
    if !have("ffmpeg") {
        return Err(IngestError::Media(
            "thumbnails need ffmpeg, which is not installed (Debian: apt-get install ffmpeg)"
                .into(),
        ));
    }
    let every = duration
        .filter(|d| *d > 0.0)
        .map(|d| d / count as f64)
        .unwrap_or(1.0);
    let pattern = dir.join("thumb-%02d.jpg");
    let out = run(
        tokio::process::Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-y", "-i"])
            .arg(video)
            .args([
                "-vf",
                &format!("fps=1/{every:.3},scale=320:-2"),
                "-frames:v",
                &count.to_string(),
            ])
            .arg(&pattern),
        Duration::from_secs(120),
    )
    .await?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(IngestError::Media(format!(
            "ffmpeg could not read the video: {}",
            err.lines().last().unwrap_or("no detail")
        )));
    }
    let mut made: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| IngestError::Media(format!("thumbnails: {e}")))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jpg"))
        .collect();
    made.sort();
    if made.is_empty() {
        return Err(IngestError::Media(
            "ffmpeg made no thumbnails (no video stream?)".into(),
        ));
    }
    Ok(made)
}

/// A duration as `h:mm:ss` or `m:ss`.
pub fn clock(secs: f64) -> String {
    let s = secs.round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_read_from_headers() {
        // 1 s of 8 kHz mono 8-bit audio.
        let mut wav = Vec::new();
        wav.extend_from_slice(b"RIFF\0\0\0\0WAVEfmt ");
        wav.extend_from_slice(&16u32.to_le_bytes());
        wav.extend_from_slice(&[1, 0, 1, 0]);
        wav.extend_from_slice(&8000u32.to_le_bytes());
        wav.extend_from_slice(&8000u32.to_le_bytes());
        wav.extend_from_slice(&[1, 0, 8, 0]);
        wav.extend_from_slice(b"data");
        wav.extend_from_slice(&8000u32.to_le_bytes());
        assert_eq!(wav_duration(&wav), Some(1.0));
        assert_eq!(wav_duration(b"RIFF"), None);
        assert_eq!(clock(3725.0), "1:02:05");
        assert_eq!(clock(42.4), "0:42");
    }
}
