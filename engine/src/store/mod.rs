//! The document store: the source of truth for sessions, jobs, pages and links. The embedded
//! default is a SQLite file; every document carries its tenant and every read filters by it.

mod records;
mod sqlite;
mod sqlite_jobs;
mod sqlite_pages;

pub use records::{
    LinkQuery, LinkRecord, PageCodeBlock, PageHeading, PageOutcome, PageQuery, PageRecord, Paged,
};
pub use sqlite::SqliteStore;

use crate::jobs::{JobRecord, JobStatus};

use crate::config::Viewport;
use crate::error::Result;
use crate::tenant::TenantId;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

/// Collection names, shared by every backend.
pub mod collections {
    /// Browser sessions.
    pub const SESSIONS: &str = "brwsr_auto_svc_sessions";
    /// Crawl jobs.
    pub const JOBS: &str = "brwsr_auto_svc_jobs";
    /// Crawled pages.
    pub const PAGES: &str = "brwsr_auto_svc_pages";
    /// Links between pages, and to other sites.
    pub const LINKS: &str = "brwsr_auto_svc_links";
}

/// A change to a job, applied atomically against its stored state: return false to leave it
/// unchanged.
pub type JobChange = Box<dyn FnOnce(&mut JobRecord) -> bool + Send>;

/// What became of a [`JobChange`].
#[derive(Debug, Clone, PartialEq)]
pub enum JobUpdate {
    /// No such job.
    Missing,
    /// The change declined; the job as it is.
    Unchanged(JobRecord),
    /// The job after the change.
    Updated(JobRecord),
}

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Taking actions.
    Active,
    /// Open, but taking no actions and publishing no video.
    Paused,
    /// Its browser died or the service restarted; recoverable.
    Failed,
    /// Closed by its owner or by the idle timeout.
    Closed,
}

/// A session as stored: enough to recover it after a browser crash or a service restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The room the session belongs to; unique among open sessions.
    pub room_name: String,
    /// The owner.
    pub tenant_id: TenantId,
    /// Where it is in its life.
    pub status: SessionStatus,
    /// The last URL the main frame showed.
    pub current_url: Option<String>,
    /// The viewport.
    pub viewport: Viewport,
    /// Frames per second for live video.
    pub fps: u32,
    /// Why it failed, if it did.
    pub last_error: Option<String>,
    /// Seconds since the Unix epoch.
    pub created_at: f64,
    /// Seconds since the Unix epoch.
    pub updated_at: f64,
}

/// Persistent storage of documents.
pub trait DocumentStore: Send + Sync + 'static {
    /// Which backend this is (`sqlite` or `mongodb`).
    fn backend(&self) -> &'static str;
    /// Insert or replace a session record (keyed by room name).
    fn put_session(&self, record: SessionRecord) -> BoxFuture<'_, Result<()>>;
    /// A tenant's session record by room name.
    fn get_session<'a>(
        &'a self,
        tenant: &'a TenantId,
        room_name: &'a str,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>>>;
    /// A tenant's sessions, newest first, optionally only those with one status.
    fn list_sessions<'a>(
        &'a self,
        tenant: &'a TenantId,
        status: Option<SessionStatus>,
    ) -> BoxFuture<'a, Result<Vec<SessionRecord>>>;
    /// Mark every active or paused session failed (after a restart: their browsers are gone).
    /// Returns how many were marked.
    fn fail_open_sessions<'a>(&'a self, reason: &'a str) -> BoxFuture<'a, Result<usize>>;
    /// Check that the store works.
    fn health(&self) -> BoxFuture<'_, Result<()>>;

    /// Insert a new job; a job with the same id is `JobExists`.
    fn insert_job(&self, job: JobRecord) -> BoxFuture<'_, Result<()>>;
    /// A job by id: the tenant's own, or any tenant's when `tenant` is `None` (workers).
    fn get_job<'a>(
        &'a self,
        tenant: Option<&'a TenantId>,
        job_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<JobRecord>>>;
    /// Jobs newest first, of one tenant (or all), with one of `statuses` (or any when empty).
    fn list_jobs<'a>(
        &'a self,
        tenant: Option<&'a TenantId>,
        statuses: &'a [JobStatus],
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<JobRecord>>>;
    /// Apply `change` to a job atomically (also against other processes); when it applies and
    /// `frontier` is given, store that crawl frontier snapshot with it.
    fn update_job<'a>(
        &'a self,
        job_id: &'a str,
        frontier: Option<String>,
        change: JobChange,
    ) -> BoxFuture<'a, Result<JobUpdate>>;
    /// The last frontier snapshot stored with a job.
    fn load_frontier<'a>(&'a self, job_id: &'a str) -> BoxFuture<'a, Result<Option<String>>>;

    /// Store a page unless the job has one with that URL already; true when it was stored.
    fn put_page(&self, page: PageRecord) -> BoxFuture<'_, Result<bool>>;
    /// Whether the job has stored a page with that URL.
    fn has_page<'a>(&'a self, job_id: &'a str, url: &'a str) -> BoxFuture<'a, Result<bool>>;
    /// A tenant's page by URL, in one job or the newest of any job.
    fn get_page<'a>(
        &'a self,
        tenant: &'a TenantId,
        job_id: Option<&'a str>,
        url: &'a str,
    ) -> BoxFuture<'a, Result<Option<PageRecord>>>;
    /// A tenant's pages, in crawl order.
    fn list_pages<'a>(
        &'a self,
        tenant: &'a TenantId,
        query: &'a PageQuery,
    ) -> BoxFuture<'a, Result<Paged<PageRecord>>>;
    /// Store links, skipping those the job has already; returns how many were new.
    fn put_links(&self, links: Vec<LinkRecord>) -> BoxFuture<'_, Result<usize>>;
    /// A tenant's links, in the order found.
    fn list_links<'a>(
        &'a self,
        tenant: &'a TenantId,
        query: &'a LinkQuery,
    ) -> BoxFuture<'a, Result<Paged<LinkRecord>>>;
}

/// Seconds since the Unix epoch, with millisecond precision.
pub fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as f64
        / 1000.0
}
