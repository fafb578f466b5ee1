//! A session page's CDP screencast: JPEG frames at the viewport's size. Chromium sends the next
//! frame only after the previous one is acknowledged, so acknowledgements are paced to the
//! frame rate: a page animating at 60 Hz costs the browser `fps` JPEGs per second, not 60.

use crate::StreamError;
use base64::Engine as _;
use chromiumoxide::cdp::browser_protocol::page::{
    EventScreencastFrame, ScreencastFrameAckParams, StartScreencastFormat, StartScreencastParams,
    StopScreencastParams,
};
use chromiumoxide::Page;
use futures::StreamExt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// One frame as Chromium painted it.
#[derive(Debug)]
pub struct JpegFrame {
    /// A number that grows with each frame.
    pub seq: u64,
    /// The JPEG.
    pub jpeg: Vec<u8>,
    /// When it arrived.
    pub at: Instant,
}

/// A running screencast; stopped when dropped.
pub struct Screencast {
    page: Page,
    task: JoinHandle<()>,
    frames: watch::Receiver<Option<Arc<JpegFrame>>>,
}

impl Screencast {
    /// Start screencasting `page` at up to `width`x`height`, acknowledging at most `fps` frames
    /// per second.
    pub async fn start(page: Page, width: u32, height: u32, fps: u32) -> Result<Self, StreamError> {
        let mut events = page
            .event_listener::<EventScreencastFrame>()
            .await
            .map_err(browser::cdp::cdp_error)?;
        page.execute(
            StartScreencastParams::builder()
                .format(StartScreencastFormat::Jpeg)
                .quality(80)
                .max_width(width as i64)
                .max_height(height as i64)
                .every_nth_frame(1)
                .build(),
        )
        .await
        .map_err(browser::cdp::cdp_error)?;
        let (tx, rx) = watch::channel(None);
        let interval = Duration::from_secs_f64(1.0 / fps.max(1) as f64);
        let p = page.clone();
        let task = tokio::spawn(async move {
            let mut seq = 0u64;
            let mut last = Instant::now() - interval;
            while let Some(ev) = events.next().await {
                let ack = ev.session_id;
                match base64::engine::general_purpose::STANDARD.decode(ev.data.as_ref() as &str) {
                    Ok(jpeg) => {
                        seq += 1;
                        let frame = JpegFrame {
                            seq,
                            jpeg,
                            at: Instant::now(),
                        };
                        if tx.send(Some(Arc::new(frame))).is_err() {
                            break;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "screencast frame not base64"),
                }
                // Hold the acknowledgement until the next frame is due.
                let wait = interval.saturating_sub(last.elapsed());
                tokio::time::sleep(wait).await;
                last = Instant::now();
                if p.execute(ScreencastFrameAckParams::new(ack)).await.is_err() {
                    break;
                }
            }
        });
        Ok(Self {
            page,
            task,
            frames: rx,
        })
    }

    /// The latest frame, and notice of new ones.
    pub fn frames(&self) -> watch::Receiver<Option<Arc<JpegFrame>>> {
        self.frames.clone()
    }

    /// Stop the screencast (the page keeps working).
    pub async fn stop(self) {
        let _ = self.page.execute(StopScreencastParams::default()).await;
        self.task.abort();
    }
}

impl Drop for Screencast {
    fn drop(&mut self) {
        self.task.abort();
    }
}
