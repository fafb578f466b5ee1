//! The document store: the source of truth for sessions, jobs, pages and links. The embedded
//! default is a SQLite file; every document carries its tenant and every read filters by it.

pub mod keywords;
mod mongo;
mod records;
mod sqlite;
mod sqlite_chunks;
mod sqlite_jobs;
mod sqlite_pages;

pub use mongo::{MongoStore, DEFAULT_DATABASE};
pub use records::{
    ChunkRecord, LinkQuery, LinkRecord, PageCodeBlock, PageHeading, PageOutcome, PageQuery,
    PageRecord, Paged,
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
    /// Passages of pages with their embeddings.
    pub const EMBEDDINGS: &str = "brwsr_auto_svc_embeddings";
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

    /// Replace the passages of a tenant's page (as crawled by `job_id`) and mark that job's page
    /// indexed.
    fn replace_chunks<'a>(
        &'a self,
        tenant: &'a TenantId,
        job_id: &'a str,
        url: &'a str,
        chunks: Vec<ChunkRecord>,
    ) -> BoxFuture<'a, Result<()>>;
    /// Pages with content whose passages are not stored yet, oldest first.
    fn unindexed_pages(&self, limit: usize) -> BoxFuture<'_, Result<Vec<PageRecord>>>;
    /// Pages whose passages were replaced after change `seq`, in order, at most `limit`: the
    /// change's number, the tenant and the URL. Lets an in-memory index follow writes made by
    /// other processes.
    fn chunk_changes_since(
        &self,
        seq: u64,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<(u64, TenantId, String)>>>;
    /// The number of the latest change to passages (0: none yet).
    fn chunk_change_seq(&self) -> BoxFuture<'_, Result<u64>>;
    /// A tenant's page's passages with their vectors, in page order.
    fn page_chunks<'a>(
        &'a self,
        tenant: &'a TenantId,
        url: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ChunkRecord>>>;
    /// A job's pages whose passages are stored (searchable).
    fn indexed_pages<'a>(&'a self, job_id: &'a str) -> BoxFuture<'a, Result<u64>>;
    /// Every passage with its vector (to load an in-memory index).
    fn all_chunk_vectors(&self) -> BoxFuture<'_, Result<Vec<ChunkRecord>>>;
    /// A tenant's passages by id (without vectors).
    fn get_chunks<'a>(
        &'a self,
        tenant: &'a TenantId,
        ids: Vec<String>,
    ) -> BoxFuture<'a, Result<Vec<ChunkRecord>>>;
    /// Keyword search over a tenant's passages: ids with a relevance score, best first.
    fn keyword_search<'a>(
        &'a self,
        tenant: &'a TenantId,
        text: &'a str,
        job_id: Option<&'a str>,
        site: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<(String, f64)>>>;
    /// The embedding models (and dimensions) a tenant's passages were indexed with.
    fn chunk_models<'a>(
        &'a self,
        tenant: &'a TenantId,
    ) -> BoxFuture<'a, Result<Vec<(String, u32)>>>;
}

/// Seconds since the Unix epoch, with millisecond precision.
pub fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as f64
        / 1000.0
}

/// Open the store the configuration names: MongoDB when `MONGODB_URI` is set, otherwise the
/// embedded SQLite store in `DATA_DIR`.
pub async fn open(config: &crate::Config) -> Result<std::sync::Arc<dyn DocumentStore>> {
    if let Some(uri) = &config.mongodb_uri {
        let store = MongoStore::connect(uri, &config.mongodb_database).await?;
        tracing::info!(database = %config.mongodb_database, "documents in MongoDB");
        return Ok(std::sync::Arc::new(store));
    }
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        crate::EngineError::Config(format!(
            "DATA_DIR {} cannot be created: {e}",
            config.data_dir.display()
        ))
    })?;
    Ok(std::sync::Arc::new(SqliteStore::open(
        &config.data_dir.join("store.sqlite3"),
    )?))
}
