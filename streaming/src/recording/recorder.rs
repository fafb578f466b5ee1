//! One recording being written: a subscriber of the room's encoder like a viewer, writing each
//! frame at its capture time less the time the session spent paused (so a pause leaves no gap),
//! and each action the session took as a cue of the action track. Ending it finishes the MP4,
//! muxes the actions in and stores the file (see `store`).

use super::mp4::{add_action_track, Mp4Writer};
use super::store::{self, Spooled};
use super::vtt::VttWriter;
use crate::pipeline::Pipeline;
use crate::StreamError;
use browser::session::observer::RecordingInfo;
use futures::stream::BoxStream;
use futures::StreamExt;
use platform::events::{Event, EventKind};
use platform::files::FileStore;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A recording being written.
pub struct ActiveRecording {
    /// As listed while it runs.
    pub info: RecordingInfo,
    stop: CancellationToken,
    task: JoinHandle<RecordingInfo>,
}

/// What a recording reads: the room's encoder, its pause switch and its events.
pub struct Inputs {
    /// The room's encoder.
    pub pipeline: Arc<Pipeline>,
    /// Whether the session is paused.
    pub paused: watch::Receiver<bool>,
    /// The room's events (its actions).
    pub events: BoxStream<'static, Event>,
    /// The picture size.
    pub width: u32,
    /// The picture size.
    pub height: u32,
}

impl ActiveRecording {
    /// Start writing `spooled` from `inputs`; ffmpeg is started before this returns, so a
    /// machine without it refuses the recording at once.
    pub async fn start(
        spooled: Spooled,
        inputs: Inputs,
        files: Arc<dyn FileStore>,
    ) -> Result<Self, StreamError> {
        let writer = Mp4Writer::start(&spooled.mp4, inputs.width, inputs.height).await?;
        let vtt = VttWriter::create(&spooled.vtt)
            .map_err(|e| StreamError::Encode(format!("recording: the action track: {e}")))?;
        let stop = CancellationToken::new();
        let info = spooled.info.clone();
        let span = tracing::info_span!("recording", room = %info.room_name, name = %info.name);
        let task = tokio::spawn(tracing::Instrument::instrument(
            write(spooled, inputs, writer, vtt, files, stop.clone()),
            span,
        ));
        Ok(Self { info, stop, task })
    }

    /// Stop, finish and store it; what was stored.
    pub async fn finish(self) -> RecordingInfo {
        self.stop.cancel();
        let fallback = self.info.clone();
        self.task.await.unwrap_or(fallback)
    }
}

/// The recording's clock: time since it started, less the time spent paused.
struct Clock {
    started: Instant,
    paused_total: Duration,
    paused_since: Option<Instant>,
}

impl Clock {
    fn at(&self, t: Instant) -> u64 {
        let paused = self.paused_total
            + self
                .paused_since
                .map_or(Duration::ZERO, |p| t.saturating_duration_since(p));
        t.saturating_duration_since(self.started)
            .saturating_sub(paused)
            .as_millis() as u64
    }

    fn set_paused(&mut self, paused: bool) {
        match (paused, self.paused_since) {
            (true, None) => self.paused_since = Some(Instant::now()),
            (false, Some(since)) => {
                self.paused_total += since.elapsed();
                self.paused_since = None;
            }
            _ => {}
        }
    }
}

/// An action event as a cue's text: the action, its target when it names one, the page.
fn action_text(e: &Event) -> Option<String> {
    if e.kind != EventKind::ActionCompleted {
        return None;
    }
    let field = |k: &str| e.data.get(k).and_then(|v| v.as_str()).unwrap_or("");
    Some(format!("{} {}", field("action"), field("url")))
}

async fn write(
    spooled: Spooled,
    mut inputs: Inputs,
    mut writer: Mp4Writer,
    mut vtt: VttWriter,
    files: Arc<dyn FileStore>,
    stop: CancellationToken,
) -> RecordingInfo {
    let mut samples = inputs.pipeline.subscribe();
    let mut clock = Clock {
        started: Instant::now(),
        paused_total: Duration::ZERO,
        paused_since: None,
    };
    clock.set_paused(*inputs.paused.borrow());
    let (mut need_keyframe, mut last_pts, mut frames) = (true, None::<u64>, 0u64);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            s = samples.recv() => match s {
                Ok(s) => {
                    if clock.paused_since.is_some() {
                        continue;
                    }
                    if need_keyframe && !s.frame.keyframe {
                        inputs.pipeline.request_keyframe();
                        continue;
                    }
                    need_keyframe = false;
                    // Strictly increasing, as a container wants.
                    let pts = clock.at(s.captured).max(last_pts.map_or(0, |l| l + 1));
                    if let Err(e) = writer.write(&s.frame.data, pts).await {
                        tracing::warn!(error = %e, "recording stopped");
                        break;
                    }
                    last_pts = Some(pts);
                    frames += 1;
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    need_keyframe = true;
                    inputs.pipeline.request_keyframe();
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            changed = inputs.paused.changed() => {
                if changed.is_err() {
                    break;
                }
                let paused = *inputs.paused.borrow();
                clock.set_paused(paused);
                need_keyframe |= !paused;
            }
            Some(event) = inputs.events.next() => {
                if let Some(text) = action_text(&event) {
                    if let Err(e) = vtt.add(clock.at(Instant::now()), &text) {
                        tracing::warn!(error = %e, "action not written to the recording");
                    }
                }
            }
        }
    }
    drop(samples);
    let fps = inputs.pipeline.fps().max(1) as u64;
    let duration = last_pts.map(|p| (p + 1000 / fps) as f64 / 1000.0);
    tracing::info!(frames, actions = vtt.cues, ?duration, "recording ended");
    conclude(spooled, writer, vtt, files.as_ref(), duration).await
}

/// Finish the MP4, mux the action track in, and store it.
async fn conclude(
    spooled: Spooled,
    writer: Mp4Writer,
    vtt: VttWriter,
    files: &dyn FileStore,
    duration: Option<f64>,
) -> RecordingInfo {
    let finished = writer.finish().await;
    if let Err(e) = &finished {
        tracing::warn!(error = %e, "recording not finished cleanly; keeping what was written");
    }
    let cues = vtt.cues;
    drop(vtt);
    let mut video = spooled.mp4.clone();
    if cues > 0 && finished.is_ok() {
        let with_actions = spooled.mp4.with_extension("actions.mp4");
        match add_action_track(&spooled.mp4, &spooled.vtt, &with_actions).await {
            Ok(()) => video = with_actions,
            Err(e) => tracing::warn!(error = %e, "stored without its action track"),
        }
    }
    let status = if finished.is_ok() {
        "complete"
    } else {
        "interrupted"
    };
    store::store(files, &spooled, &video, status, duration, cues).await
}
