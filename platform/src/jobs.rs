//! Knowledge-exploration jobs as stored: what was asked, where the job is in its life, its
//! counters and its history. The store is the source of truth; queues carry only job ids.

use crate::tenant::TenantId;
use serde::{Deserialize, Serialize};

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Created, not yet queued.
    Pending,
    /// Waiting for a worker.
    Queued,
    /// A worker is crawling it.
    Running,
    /// Stopped by its owner; resumes where it was.
    Paused,
    /// Finished: every page in scope was fetched.
    Completed,
    /// Gave up after its last attempt; `error` says why.
    Failed,
    /// Stopped by its owner for good.
    Cancelled,
}

impl JobStatus {
    /// Every status, in life order.
    pub const ALL: [JobStatus; 7] = [
        Self::Pending,
        Self::Queued,
        Self::Running,
        Self::Paused,
        Self::Completed,
        Self::Failed,
        Self::Cancelled,
    ];

    /// The status as its lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parse a lower-case name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether the job will never run again.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

/// When a crawl loads a page in Chromium instead of (or after) a plain HTTP fetch.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RenderMode {
    /// Fetch over HTTP; render only pages that need scripts to show their content.
    #[default]
    Auto,
    /// Render every page in the Chromium pool.
    Always,
    /// Never render.
    Never,
}

/// What a job crawls, as asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct JobOptions {
    /// Where the crawl starts; its scheme and host bound the crawl.
    pub start_url: String,
    /// Most pages stored or attempted.
    pub max_pages: usize,
    /// Most link hops from the start page.
    pub max_depth: u32,
    /// Path patterns a page must match (`*` is a wildcard), e.g. `/docs/*`.
    #[serde(default)]
    pub include_patterns: Vec<String>,
    /// Path patterns that keep a page out.
    #[serde(default)]
    pub exclude_patterns: Vec<String>,
    /// When to render pages in Chromium.
    #[serde(default)]
    pub render: RenderMode,
    /// Pages of this job fetched at once.
    pub concurrency: usize,
    /// For a file-ingestion job (`kind` = `ingestion`): the file and what to extract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileSource>,
}

/// Where a file handed over by the platform is, in S3 (object storage).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct S3Reference {
    /// The bucket.
    pub bucket: String,
    /// The object's key.
    pub key: String,
    /// The bucket's region.
    #[serde(default)]
    pub region: Option<String>,
    /// The S3-compatible endpoint, when not AWS.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// A presigned GET URL for the object.
    #[serde(default)]
    pub presigned_url: Option<String>,
    /// When the presigned URL expires (RFC 3339).
    #[serde(default)]
    pub expires_at: Option<String>,
}

/// What the platform says about a file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FileMetadata {
    /// The original file name.
    pub filename: String,
    /// Its size in bytes, as uploaded.
    #[serde(default)]
    pub size: Option<u64>,
    /// Its media type, as uploaded.
    #[serde(default)]
    pub content_type: Option<String>,
    /// When it was uploaded (RFC 3339).
    #[serde(default)]
    pub uploaded_at: Option<String>,
}

/// The file an ingestion job reads and what it extracts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FileSource {
    /// `file` or `video`.
    pub source_type: String,
    /// The file in the platform's S3, when handed over that way.
    #[serde(default)]
    pub s3_reference: Option<S3Reference>,
    /// The file's key in the service's own file store, when uploaded to the service.
    #[serde(default)]
    pub stored_key: Option<String>,
    /// What the platform says about it.
    pub metadata: FileMetadata,
    /// Keep code blocks (and code files) as code.
    pub extract_code_blocks: bool,
    /// Extract thumbnails from a video (needs `ffmpeg`).
    pub extract_thumbnails: bool,
}

/// A job's counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct JobCounters {
    /// Pages stored with their content.
    pub pages_completed: u64,
    /// Pages that could not be stored (timeouts, 4xx/5xx, unsupported types); recorded.
    pub pages_failed: u64,
    /// Pages waiting to be fetched.
    pub pages_queued: u64,
    /// URLs not fetched: duplicates, robots.txt, patterns, depth or page limits.
    pub pages_skipped: u64,
    /// Distinct links to other sites found.
    pub external_links: u64,
    /// Pages admitted to the crawl so far (done and queued).
    pub pages_admitted: u64,
    /// On a resync: pages with the same content as before (their passages kept).
    #[serde(default)]
    pub pages_unchanged: u64,
    /// On a resync: pages whose content changed (extracted and embedded again).
    #[serde(default)]
    pub pages_changed: u64,
    /// On a resync: pages the job resynced did not have.
    #[serde(default)]
    pub pages_new: u64,
    /// On a resync: pages that now answer 404 or 410 (dropped from search).
    #[serde(default)]
    pub pages_removed: u64,
}

/// Why a job failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct JobError {
    /// A stable machine-readable code.
    pub code: crate::code::Code,
    /// What went wrong, for a person.
    pub message: String,
}

/// One change of status, appended (never rewritten).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StatusEntry {
    /// The new status.
    pub status: JobStatus,
    /// Seconds since the Unix epoch.
    pub at: f64,
    /// Why, when there is more to say than the status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A job as stored (collection `brwsr_auto_svc_jobs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// The job's id (given by the caller or generated).
    pub job_id: String,
    /// The owner.
    pub tenant_id: TenantId,
    /// `exploration`.
    pub kind: String,
    /// Where it is in its life.
    pub status: JobStatus,
    /// What it crawls.
    pub options: JobOptions,
    /// Its counters.
    pub counters: JobCounters,
    /// The page being fetched most recently.
    pub current_url: Option<String>,
    /// Runs started so far (a run interrupted by a graceful shutdown does not count).
    pub attempts: u32,
    /// Identifies the current run; a run whose id no longer matches stops writing.
    pub run_id: Option<String>,
    /// The worker running it.
    pub worker: Option<String>,
    /// Why it failed (or why the last attempt failed).
    pub error: Option<JobError>,
    /// Seconds of crawling over all runs, up to the last checkpoint.
    pub run_secs: f64,
    /// Seconds since the Unix epoch.
    pub created_at: f64,
    /// When it last entered the queue.
    pub queued_at: Option<f64>,
    /// When its first run started.
    pub started_at: Option<f64>,
    /// When it reached a terminal status.
    pub finished_at: Option<f64>,
    /// Last change.
    pub updated_at: f64,
    /// Every status change, in order.
    pub status_history: Vec<StatusEntry>,
    /// Set once the job was reported as waiting too long for a worker.
    #[serde(default)]
    pub stale_reported: bool,
    /// For a resync: the job whose pages it compares with (the sync before it in its source's
    /// history).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resync_of: Option<String>,
    /// Where the job's events are pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<crate::webhooks::WebhookConfig>,
}

impl JobRecord {
    /// A new job in `pending`.
    pub fn new(job_id: String, tenant_id: TenantId, options: JobOptions) -> Self {
        let now = crate::clock::now_secs();
        Self {
            job_id,
            tenant_id,
            kind: "exploration".into(),
            status: JobStatus::Pending,
            options,
            counters: JobCounters::default(),
            current_url: None,
            attempts: 0,
            run_id: None,
            worker: None,
            error: None,
            run_secs: 0.0,
            created_at: now,
            queued_at: None,
            started_at: None,
            finished_at: None,
            updated_at: now,
            status_history: vec![StatusEntry {
                status: JobStatus::Pending,
                at: now,
                reason: None,
            }],
            stale_reported: false,
            resync_of: None,
            webhook: None,
        }
    }

    /// Move to `status`, appending to the history (a repeat of the current status with no new
    /// reason appends nothing).
    pub fn set_status(&mut self, status: JobStatus, reason: Option<String>) {
        let now = crate::clock::now_secs();
        let last = self.status_history.last();
        let repeat =
            last.is_some_and(|l| l.status == status && (reason.is_none() || l.reason == reason));
        if !repeat {
            self.status_history.push(StatusEntry {
                status,
                at: now,
                reason,
            });
        }
        if status == JobStatus::Queued {
            self.queued_at = Some(now);
            self.stale_reported = false;
        }
        if status == JobStatus::Running && self.started_at.is_none() {
            self.started_at = Some(now);
        }
        if status.is_terminal() {
            self.finished_at = Some(now);
        }
        self.status = status;
        self.updated_at = now;
    }

    /// Progress from 0 to 100: pages done out of pages admitted (100 once completed).
    pub fn progress(&self) -> f64 {
        if self.status == JobStatus::Completed {
            return 100.0;
        }
        let c = &self.counters;
        let done = (c.pages_completed + c.pages_failed + c.pages_removed) as f64;
        let total = c.pages_admitted.max(done as u64 + c.pages_queued) as f64;
        if total == 0.0 {
            0.0
        } else {
            (done / total * 1000.0).round() / 10.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> JobOptions {
        JobOptions {
            start_url: "https://example.com/".into(),
            max_pages: 10,
            max_depth: 2,
            include_patterns: vec![],
            exclude_patterns: vec![],
            render: RenderMode::Auto,
            concurrency: 2,
            file: None,
        }
    }

    #[test]
    fn history_is_appended_once_per_change() {
        let mut j = JobRecord::new("j1".into(), TenantId::local(), opts());
        j.set_status(JobStatus::Queued, None);
        j.set_status(JobStatus::Queued, None);
        j.set_status(JobStatus::Running, None);
        j.set_status(JobStatus::Completed, None);
        let seq: Vec<_> = j.status_history.iter().map(|e| e.status).collect();
        assert_eq!(
            seq,
            [
                JobStatus::Pending,
                JobStatus::Queued,
                JobStatus::Running,
                JobStatus::Completed
            ]
        );
        assert!(j.finished_at.is_some() && j.started_at.is_some());
        assert_eq!(j.progress(), 100.0);
    }

    #[test]
    fn progress_counts_done_out_of_admitted() {
        let mut j = JobRecord::new("j1".into(), TenantId::local(), opts());
        j.counters.pages_admitted = 8;
        j.counters.pages_completed = 3;
        j.counters.pages_failed = 1;
        j.counters.pages_queued = 4;
        assert_eq!(j.progress(), 50.0);
        for s in JobStatus::ALL {
            assert_eq!(JobStatus::parse(s.as_str()), Some(s));
        }
    }
}
