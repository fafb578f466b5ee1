//! Typed telemetry: each internal event is one type ([`TelemetryEvent`]) that writes one log line
//! and updates its Prometheus series, recorded with [`Telemetry::record`]. `/metrics` encodes the
//! registry in the OpenMetrics text format.

use crate::code::Code;
use crate::jobs::JobStatus;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::time::Duration;

/// The media type of [`Telemetry::render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// One label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Outcome {
    /// What came of it (`ok`, `error`, `joined`, a code...).
    pub outcome: String,
}

/// An action's kind and outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabels {
    /// The action (`click`, `navigate`...).
    pub action: String,
    /// `ok` or `error`.
    pub outcome: String,
}

/// An action's kind.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionKindLabel {
    /// The action (`click`, `navigate`...).
    pub action: String,
}

/// A job's new status.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    /// The status the job moved to.
    pub status: String,
}

/// Why a session ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    /// `closed`, `idle`, `failed` or `shutdown`.
    pub reason: String,
}

/// A queue operation.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabel {
    /// `claim`, `reclaim`, `retry` or `dead_letter`.
    pub op: String,
}

fn seconds_buckets() -> Histogram {
    // 1 ms to about 65 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

/// Every series the service exports.
pub struct Telemetry {
    registry: Registry,
    sessions_started: Counter,
    sessions_ended: Family<ReasonLabel, Counter>,
    sessions_open: Gauge,
    browsers_alive: Gauge,
    actions: Family<ActionLabels, Counter>,
    action_seconds: Family<ActionKindLabel, Histogram, fn() -> Histogram>,
    pages: Family<Outcome, Counter>,
    page_seconds: Histogram,
    job_transitions: Family<StatusLabel, Counter>,
    passages_embedded: Counter,
    embed_seconds: Histogram,
    viewers: Family<Outcome, Counter>,
    viewers_left: Counter,
    encoders_started: Counter,
    encoders_stopped: Counter,
    queue: Family<QueueLabel, Counter>,
    jobs_waiting: Gauge,
    jobs_unclaimed: Gauge,
    /// Series other crates register after the start (the cluster's).
    more: std::sync::Mutex<Registry>,
}

/// Register each named field's series in the registry, with its name and help text.
macro_rules! register {
    ($t:ident; $($field:ident => $name:literal, $help:literal;)*) => {
        $( $t.registry.register($name, $help, $t.$field.clone()); )*
    };
}

impl Default for Telemetry {
    fn default() -> Self {
        Self::new()
    }
}

impl Telemetry {
    /// Every series registered, at zero.
    pub fn new() -> Self {
        let mut t = Self {
            sessions_started: Counter::default(),
            sessions_ended: Family::default(),
            sessions_open: Gauge::default(),
            browsers_alive: Gauge::default(),
            actions: Family::default(),
            action_seconds: Family::new_with_constructor(seconds_buckets),
            pages: Family::default(),
            page_seconds: seconds_buckets(),
            job_transitions: Family::default(),
            passages_embedded: Counter::default(),
            embed_seconds: seconds_buckets(),
            viewers: Family::default(),
            viewers_left: Counter::default(),
            encoders_started: Counter::default(),
            encoders_stopped: Counter::default(),
            queue: Family::default(),
            jobs_waiting: Gauge::default(),
            jobs_unclaimed: Gauge::default(),
            registry: Registry::default(),
            more: std::sync::Mutex::new(Registry::default()),
        };
        register!(t;
            sessions_started => "bas_sessions_started", "Sessions started (and recovered).";
            sessions_ended => "bas_sessions_ended", "Sessions whose page was released, by reason.";
            sessions_open => "bas_sessions_open", "Sessions holding a browser page.";
            browsers_alive => "bas_browsers_alive", "Whether a Chromium process is alive (1) or not (0).";
            actions => "bas_actions", "Session actions by kind and outcome.";
            action_seconds => "bas_action_duration_seconds", "Session action latency, by kind.";
            pages => "bas_pages_crawled", "Crawled pages by outcome (ok, or the error code).";
            page_seconds => "bas_page_crawl_duration_seconds", "Time to fetch or render and extract one page.";
            job_transitions => "bas_job_transitions", "Job status changes, by the status moved to.";
            passages_embedded => "bas_passages_embedded", "Passages embedded for search.";
            embed_seconds => "bas_embed_batch_duration_seconds", "Time to embed one batch of passages.";
            viewers => "bas_video_viewers", "Live viewers joined or refused (by error code).";
            viewers_left => "bas_video_viewers_left", "Live viewers that left.";
            encoders_started => "bas_video_encoders_started", "Video encoders started.";
            encoders_stopped => "bas_video_encoders_stopped", "Video encoders stopped.";
            queue => "bas_queue_operations", "Job queue claims, reclaims, retries and dead letters.";
            jobs_waiting => "bas_jobs_waiting", "Jobs queued (or waiting to be queued) for a worker.";
            jobs_unclaimed => "bas_jobs_unclaimed", "Queued jobs no worker took within JOB_STALE_SECS.";
        );
        t
    }

    /// Record one event: its log line and its series.
    pub fn record(&self, event: impl TelemetryEvent) {
        event.log();
        event.update(self);
    }

    /// Every series in the OpenMetrics text format ([`CONTENT_TYPE`]), with the current number
    /// of open sessions and whether a browser is alive.
    pub fn render(&self, sessions_open: usize, browsers_alive: bool) -> String {
        use prometheus_client::encoding::text::{encode_eof, encode_registry};
        self.sessions_open.set(sessions_open as i64);
        self.browsers_alive.set(browsers_alive as i64);
        let mut out = String::new();
        let more = self.more.lock().expect("metrics lock");
        let encoded = encode_registry(&mut out, &self.registry)
            .and_then(|_| encode_registry(&mut out, &more))
            .and_then(|_| encode_eof(&mut out));
        if let Err(e) = encoded {
            tracing::warn!(error = %e, "metrics could not be encoded");
        }
        out
    }

    /// Export one more series (a crate started after the platform registers its own).
    pub fn register(
        &self,
        name: &str,
        help: &str,
        metric: impl prometheus_client::registry::Metric,
    ) {
        self.more
            .lock()
            .expect("metrics lock")
            .register(name, help, metric);
    }
}

/// An internal event: one log line and its series.
pub trait TelemetryEvent {
    /// Write the event's log line.
    fn log(&self);
    /// Update the event's series.
    fn update(&self, t: &Telemetry);
}

fn outcome(code: Option<Code>) -> String {
    code.map(|c| c.to_string()).unwrap_or_else(|| "ok".into())
}

/// A session got a page: started, or recovered.
pub struct SessionStarted<'a> {
    /// Its room.
    pub room: &'a str,
    /// Whether it was a recovery.
    pub recovered: bool,
}

impl TelemetryEvent for SessionStarted<'_> {
    fn log(&self) {
        tracing::info!(
            room = self.room,
            recovered = self.recovered,
            "session started"
        );
    }
    fn update(&self, t: &Telemetry) {
        t.sessions_started.inc();
    }
}

/// A session released its page.
pub struct SessionEnded<'a> {
    /// Its room.
    pub room: &'a str,
    /// `closed`, `idle`, `failed` or `shutdown`.
    pub reason: &'static str,
}

impl TelemetryEvent for SessionEnded<'_> {
    fn log(&self) {
        tracing::info!(room = self.room, reason = self.reason, "session ended");
    }
    fn update(&self, t: &Telemetry) {
        t.sessions_ended
            .get_or_create(&ReasonLabel {
                reason: self.reason.into(),
            })
            .inc();
    }
}

/// An action ran, or failed with a code.
pub struct ActionDone<'a> {
    /// Its room.
    pub room: &'a str,
    /// The action (`click`...).
    pub action: &'static str,
    /// Its error's code, when it failed.
    pub failed: Option<Code>,
    /// How long it took.
    pub elapsed: Duration,
}

impl TelemetryEvent for ActionDone<'_> {
    fn log(&self) {
        let ms = self.elapsed.as_millis() as u64;
        match self.failed {
            None => tracing::debug!(room = self.room, action = self.action, ms, "action done"),
            Some(code) => {
                tracing::info!(room = self.room, action = self.action, ms, %code, "action failed")
            }
        }
    }
    fn update(&self, t: &Telemetry) {
        let outcome = if self.failed.is_some() { "error" } else { "ok" };
        t.actions
            .get_or_create(&ActionLabels {
                action: self.action.into(),
                outcome: outcome.into(),
            })
            .inc();
        t.action_seconds
            .get_or_create(&ActionKindLabel {
                action: self.action.into(),
            })
            .observe(self.elapsed.as_secs_f64());
    }
}

/// A crawl finished one page: stored with content, or recorded with its error's code.
pub struct PageCrawled<'a> {
    /// The job.
    pub job_id: &'a str,
    /// The page.
    pub url: &'a str,
    /// Its error's code, when it has no content.
    pub failed: Option<Code>,
    /// How long fetching (or rendering) and extracting took.
    pub elapsed: Duration,
}

impl TelemetryEvent for PageCrawled<'_> {
    fn log(&self) {
        let ms = self.elapsed.as_millis() as u64;
        match self.failed {
            None => tracing::debug!(job_id = self.job_id, url = self.url, ms, "page crawled"),
            Some(code) => {
                tracing::info!(job_id = self.job_id, url = self.url, ms, %code, "page failed")
            }
        }
    }
    fn update(&self, t: &Telemetry) {
        t.pages
            .get_or_create(&Outcome {
                outcome: outcome(self.failed),
            })
            .inc();
        t.page_seconds.observe(self.elapsed.as_secs_f64());
    }
}

/// A job moved to another status.
pub struct JobStateChanged<'a> {
    /// The job.
    pub job_id: &'a str,
    /// The status it had.
    pub from: JobStatus,
    /// The status it has.
    pub to: JobStatus,
}

impl TelemetryEvent for JobStateChanged<'_> {
    fn log(&self) {
        tracing::info!(
            job_id = self.job_id,
            from = self.from.as_str(),
            to = self.to.as_str(),
            "job status changed"
        );
    }
    fn update(&self, t: &Telemetry) {
        t.job_transitions
            .get_or_create(&StatusLabel {
                status: self.to.as_str().into(),
            })
            .inc();
    }
}

/// A batch of passages was embedded.
pub struct PassagesEmbedded {
    /// How many passages.
    pub passages: usize,
    /// How long the batch took.
    pub elapsed: Duration,
}

impl TelemetryEvent for PassagesEmbedded {
    fn log(&self) {
        tracing::debug!(
            passages = self.passages,
            ms = self.elapsed.as_millis() as u64,
            "passages embedded"
        );
    }
    fn update(&self, t: &Telemetry) {
        t.passages_embedded.inc_by(self.passages as u64);
        t.embed_seconds.observe(self.elapsed.as_secs_f64());
    }
}

/// A live viewer joined a room, or was refused with a code.
pub struct ViewerJoined<'a> {
    /// The room.
    pub room: &'a str,
    /// The refusal's code, when refused.
    pub refused: Option<Code>,
}

impl TelemetryEvent for ViewerJoined<'_> {
    fn log(&self) {
        match self.refused {
            None => tracing::info!(room = self.room, "viewer joined"),
            Some(code) => tracing::info!(room = self.room, %code, "viewer refused"),
        }
    }
    fn update(&self, t: &Telemetry) {
        let outcome = self
            .refused
            .map(|c| c.to_string())
            .unwrap_or_else(|| "joined".into());
        t.viewers.get_or_create(&Outcome { outcome }).inc();
    }
}

/// A live viewer left a room.
pub struct ViewerLeft<'a> {
    /// The room.
    pub room: &'a str,
}

impl TelemetryEvent for ViewerLeft<'_> {
    fn log(&self) {
        tracing::info!(room = self.room, "viewer left");
    }
    fn update(&self, t: &Telemetry) {
        t.viewers_left.inc();
    }
}

/// A room's video encoder started or stopped.
pub struct EncoderChanged<'a> {
    /// The room.
    pub room: &'a str,
    /// Started (true) or stopped.
    pub started: bool,
}

impl TelemetryEvent for EncoderChanged<'_> {
    fn log(&self) {
        if self.started {
            tracing::info!(room = self.room, "video encoder started");
        } else {
            tracing::info!(room = self.room, "video encoder stopped");
        }
    }
    fn update(&self, t: &Telemetry) {
        if self.started {
            t.encoders_started.inc();
        } else {
            t.encoders_stopped.inc();
        }
    }
}

/// What a worker did with the job queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueOp {
    /// Took a job.
    Claim,
    /// Took over a job whose worker stopped answering.
    Reclaim,
    /// Put a job back for a later attempt.
    Retry,
    /// Gave up on a job.
    DeadLetter,
}

impl QueueOp {
    fn as_str(self) -> &'static str {
        match self {
            Self::Claim => "claim",
            Self::Reclaim => "reclaim",
            Self::Retry => "retry",
            Self::DeadLetter => "dead_letter",
        }
    }
}

/// A job queue operation.
pub struct QueueEvent<'a> {
    /// The job.
    pub job_id: &'a str,
    /// What was done.
    pub op: QueueOp,
}

impl TelemetryEvent for QueueEvent<'_> {
    fn log(&self) {
        tracing::info!(job_id = self.job_id, op = self.op.as_str(), "job queue");
    }
    fn update(&self, t: &Telemetry) {
        t.queue
            .get_or_create(&QueueLabel {
                op: self.op.as_str().into(),
            })
            .inc();
    }
}

/// The queue's depth, as a queue watcher last counted it.
pub struct QueueDepth {
    /// Jobs queued or pending.
    pub waiting: usize,
    /// Of those, jobs reported as waiting too long.
    pub unclaimed: usize,
}

impl TelemetryEvent for QueueDepth {
    fn log(&self) {
        tracing::debug!(
            waiting = self.waiting,
            unclaimed = self.unclaimed,
            "job queue depth"
        );
    }
    fn update(&self, t: &Telemetry) {
        t.jobs_waiting.set(self.waiting as i64);
        t.jobs_unclaimed.set(self.unclaimed as i64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_update_their_series() {
        let t = Telemetry::new();
        t.record(ActionDone {
            room: "r",
            action: "click",
            failed: None,
            elapsed: Duration::from_millis(30),
        });
        t.record(ActionDone {
            room: "r",
            action: "click",
            failed: Some(Code::ElementNotFound),
            elapsed: Duration::from_millis(5),
        });
        t.record(PageCrawled {
            job_id: "j",
            url: "http://x/",
            failed: Some(Code::Http(404)),
            elapsed: Duration::from_millis(5),
        });
        t.record(QueueEvent {
            job_id: "j",
            op: QueueOp::DeadLetter,
        });
        let text = t.render(3, true);
        for line in [
            "bas_actions_total{action=\"click\",outcome=\"ok\"} 1",
            "bas_actions_total{action=\"click\",outcome=\"error\"} 1",
            "bas_action_duration_seconds_count{action=\"click\"} 2",
            "bas_pages_crawled_total{outcome=\"http_404\"} 1",
            "bas_queue_operations_total{op=\"dead_letter\"} 1",
            "bas_sessions_open 3",
            "bas_browsers_alive 1",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
