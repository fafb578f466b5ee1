//! One session's encoder: a thread of its own (never an async worker) that takes the latest
//! screencast frame as soon as the [`Pacer`] allows, encodes it, and broadcasts the H.264 sample to
//! every subscriber (viewers share one encoder). A subscriber that joins asks for a keyframe.
//! Pausing stops sending; dropping the pipeline stops the thread.

use crate::encode::{decode_jpeg, EncodedFrame, FrameEncoder, YuvFrame};
use crate::pacer::{Pacer, Step};
use crate::screencast::JpegFrame;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};

/// How often the encoder thread looks for a new frame.
const POLL: Duration = Duration::from_millis(4);

/// A sample for viewers: an encoded frame and when its picture was captured (what each
/// viewer's RTP clock stamps it with, see [`crate::rtp_clock`]).
#[derive(Debug, Clone)]
pub struct Sample {
    /// The frame.
    pub frame: Arc<EncodedFrame>,
    /// When the screencast delivered its picture (a still page's repeat: when it was encoded
    /// again). Never before the previous sample's.
    pub captured: Instant,
}

/// Counters of a pipeline.
#[derive(Debug, Default)]
pub struct PipelineStats {
    /// New frames encoded.
    pub encoded: AtomicU64,
    /// Still frames encoded again (keep-alives).
    pub repeated: AtomicU64,
    /// Frames that could not be decoded or encoded.
    pub errors: AtomicU64,
    /// Encoded bytes.
    pub bytes: AtomicU64,
    /// Microseconds spent decoding and encoding.
    pub busy_micros: AtomicU64,
}

impl PipelineStats {
    /// Count one frame encoded (new or repeated), its bytes and the time it took.
    fn count(&self, step: Step, bytes: usize, took: Duration) {
        match step {
            Step::Encode => self.encoded.fetch_add(1, Ordering::Relaxed),
            _ => self.repeated.fetch_add(1, Ordering::Relaxed),
        };
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        self.busy_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }
}

struct Shared {
    paused: AtomicBool,
    stop: AtomicBool,
    keyframe: AtomicBool,
    stats: PipelineStats,
}

/// A session's running encoder.
pub struct Pipeline {
    shared: Arc<Shared>,
    fps: u32,
    samples: broadcast::Sender<Sample>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Encoder settings.
#[derive(Debug, Clone, Copy)]
pub struct PipelineConfig {
    /// Frames per second at most.
    pub fps: u32,
    /// Bits per second.
    pub bitrate: u32,
    /// A still page's picture is sent again this often.
    pub keep_alive: Duration,
    /// A keyframe at least this often.
    pub keyframe_every: Duration,
}

impl PipelineConfig {
    /// Defaults for a frame rate and a picture size: about 0.1 bit per pixel per frame.
    pub fn for_size(fps: u32, width: u32, height: u32) -> Self {
        let bits =
            (width as u64 * height as u64 * fps.max(1) as u64 / 10).clamp(300_000, 8_000_000);
        Self {
            fps: fps.max(1),
            bitrate: bits as u32,
            keep_alive: Duration::from_secs(1),
            keyframe_every: Duration::from_secs(4),
        }
    }
}

impl Pipeline {
    /// Start encoding the frames `frames` delivers.
    pub fn start(
        frames: watch::Receiver<Option<Arc<JpegFrame>>>,
        config: PipelineConfig,
    ) -> Result<Self, crate::StreamError> {
        let keyframe_frames =
            (config.keyframe_every.as_secs_f64() * config.fps as f64).max(1.0) as u32;
        let encoder = FrameEncoder::new(config.fps, config.bitrate, keyframe_frames)?;
        let shared = Arc::new(Shared {
            paused: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            keyframe: AtomicBool::new(false),
            stats: PipelineStats::default(),
        });
        let (tx, _) = broadcast::channel(64);
        let thread = std::thread::Builder::new()
            .name("video-encoder".into())
            .spawn({
                let shared = shared.clone();
                let tx = tx.clone();
                move || run(frames, encoder, config, shared, tx)
            })
            .map_err(|e| crate::StreamError::Encode(format!("encoder thread: {e}")))?;
        Ok(Self {
            shared,
            fps: config.fps,
            samples: tx,
            thread: Some(thread),
        })
    }

    /// Receive the encoded samples from now on (the next one is a keyframe).
    pub fn subscribe(&self) -> broadcast::Receiver<Sample> {
        self.shared.keyframe.store(true, Ordering::SeqCst);
        self.samples.subscribe()
    }

    /// Ask for a keyframe (a viewer lost packets).
    pub fn request_keyframe(&self) {
        self.shared.keyframe.store(true, Ordering::SeqCst);
    }

    /// Stop or restart sending.
    pub fn set_paused(&self, paused: bool) {
        self.shared.paused.store(paused, Ordering::SeqCst);
        if !paused {
            self.request_keyframe();
        }
    }

    /// Its counters.
    pub fn stats(&self) -> &PipelineStats {
        &self.shared.stats
    }

    /// Its frame rate at most.
    pub fn fps(&self) -> u32 {
        self.fps
    }

    /// How many subscribers it has.
    pub fn subscribers(&self) -> usize {
        self.samples.receiver_count()
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(
    mut frames: watch::Receiver<Option<Arc<JpegFrame>>>,
    mut encoder: FrameEncoder,
    config: PipelineConfig,
    shared: Arc<Shared>,
    tx: broadcast::Sender<Sample>,
) {
    let mut pacer = Pacer::new(config.fps, config.keep_alive);
    let mut last: Option<YuvFrame> = None;
    let mut last_captured: Option<Instant> = None;
    let mut first = true;
    while !shared.stop.load(Ordering::SeqCst) {
        // Look for a new frame every few milliseconds and encode it as soon as it is due, rather
        // than at fixed ticks: a frame waits for the encoder at most POLL, not a whole interval
        // (glass-to-glass latency). The pacer keeps the rate at most `fps`.
        if !first {
            std::thread::sleep(POLL);
        }
        first = false;
        let now = Instant::now();
        // The sender is gone: the screencast ended.
        let changed = match frames.has_changed() {
            Ok(c) => c,
            Err(_) => break,
        };
        if shared.paused.load(Ordering::SeqCst) {
            if changed {
                frames.borrow_and_update();
            }
            continue;
        }
        let step = pacer.step(now, changed, last.is_some());
        if step == Step::Idle {
            continue;
        }
        let started = Instant::now();
        let mut captured = started;
        if step == Step::Encode {
            let jpeg = frames.borrow_and_update().clone();
            if let Some(j) = jpeg {
                captured = j.at;
                match decode_jpeg(&j.jpeg) {
                    Ok(picture) => last = Some(picture),
                    Err(e) => {
                        shared.stats.errors.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(error = %e, "screencast frame skipped");
                        continue;
                    }
                }
            }
        }
        let Some(picture) = &last else { continue };
        if shared.keyframe.swap(false, Ordering::SeqCst) {
            encoder.request_keyframe();
        }
        match encoder.encode(picture) {
            Ok(frame) => {
                shared
                    .stats
                    .count(step, frame.data.len(), started.elapsed());
                // A frame that waited for the pacer keeps its capture time, but never goes
                // back before the previous one's.
                let captured = last_captured.map_or(captured, |l| captured.max(l));
                last_captured = Some(captured);
                // No subscriber is fine: the frame is dropped.
                let _ = tx.send(Sample {
                    frame: Arc::new(frame),
                    captured,
                });
            }
            Err(e) => {
                shared.stats.errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "frame not encoded");
            }
        }
    }
}
