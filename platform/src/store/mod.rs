//! The document store: the source of truth for sessions, jobs, pages and links. The embedded
//! default is a SQLite file; every document carries its tenant and every read filters by it.

pub mod keywords;
mod mongo;
mod records;
mod sqlite;
mod sqlite_chunks;
mod sqlite_jobs;
mod sqlite_pages;
mod sqlite_webhooks;

pub use crate::clock::now_secs;
pub use mongo::{MongoStore, DEFAULT_DATABASE};
pub use records::{
    ChunkRecord, LinkQuery, LinkRecord, PageChange, PageCodeBlock, PageHeading, PageOutcome,
    PageQuery, PageRecord, Paged, Validators,
};
pub use sqlite::SqliteStore;

use crate::jobs::{JobRecord, JobStatus};
use crate::webhooks::DeliveryRecord;

use crate::error::Result;
use crate::tenant::TenantId;
use crate::viewport::Viewport;
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
    /// Webhook deliveries and their attempts.
    pub const WEBHOOKS: &str = "brwsr_auto_svc_webhooks";
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

impl SessionStatus {
    /// The status as stored and sent (`active`, `paused`, `failed`, `closed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Paused => "paused",
            Self::Failed => "failed",
            Self::Closed => "closed",
        }
    }
}

/// A session as stored: enough to recover it after a browser crash or a service restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The room the session belongs to; unique among the tenant's sessions.
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
    /// Its cookies and its page's local storage as last snapshotted (by an engine worker of a
    /// cluster, after each action that changed them): what recovery on another worker restores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<serde_json::Value>,
    /// Whether its video is recorded: a recovery, or a move to another engine worker, records
    /// on.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub record: bool,
    /// The LiveKit server its video is published to, kept when the service signs its tokens (a
    /// token the caller gave is a secret and never stored: it travels only with a move).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub livekit_url: Option<String>,
    /// Seconds since the Unix epoch.
    pub created_at: f64,
    /// Seconds since the Unix epoch.
    pub updated_at: f64,
}

/// Browser sessions as stored, to recover them after a browser crash or a restart.
#[async_trait::async_trait]
pub trait SessionStore: Send + Sync {
    /// Insert or replace a session record (keyed by room name).
    async fn put_session(&self, record: SessionRecord) -> Result<()>;
    /// A tenant's session record by room name.
    async fn get_session(
        &self,
        tenant: &TenantId,
        room_name: &str,
    ) -> Result<Option<SessionRecord>>;
    /// A tenant's sessions, newest first, optionally only those with one status.
    async fn list_sessions(
        &self,
        tenant: &TenantId,
        status: Option<SessionStatus>,
    ) -> Result<Vec<SessionRecord>>;
    /// Mark every active or paused session failed (after a restart: their browsers are gone).
    /// Returns how many were marked.
    async fn fail_open_sessions(&self, reason: &str) -> Result<usize>;
}

/// Crawl and ingestion jobs, changed atomically, with their crawl frontier.
#[async_trait::async_trait]
pub trait JobStore: Send + Sync {
    /// Insert a new job; a job with the same id is `JobExists`.
    async fn insert_job(&self, job: JobRecord) -> Result<()>;
    /// A job by id: the tenant's own, or any tenant's when `tenant` is `None` (workers).
    async fn get_job(&self, tenant: Option<&TenantId>, job_id: &str) -> Result<Option<JobRecord>>;
    /// Jobs newest first, of one tenant (or all), with one of `statuses` (or any when empty).
    async fn list_jobs(
        &self,
        tenant: Option<&TenantId>,
        statuses: &[JobStatus],
        limit: usize,
    ) -> Result<Vec<JobRecord>>;
    /// A tenant's jobs that crawl from `start_url` (the syncs of one source), newest first.
    async fn list_jobs_from(
        &self,
        tenant: &TenantId,
        start_url: &str,
        limit: usize,
    ) -> Result<Vec<JobRecord>>;
    /// Apply `change` to a job atomically (also against other processes); when it applies and
    /// `frontier` is given, store that crawl frontier snapshot with it.
    async fn update_job(
        &self,
        job_id: &str,
        frontier: Option<String>,
        change: JobChange,
    ) -> Result<JobUpdate>;
    /// The last frontier snapshot stored with a job.
    async fn load_frontier(&self, job_id: &str) -> Result<Option<String>>;
}

/// Pages of jobs and the links between them.
#[async_trait::async_trait]
pub trait PageStore: Send + Sync {
    /// Store a page unless the job has one with that URL already; true when it was stored.
    async fn put_page(&self, page: PageRecord) -> Result<bool>;
    /// Whether the job has stored a page with that URL.
    async fn has_page(&self, job_id: &str, url: &str) -> Result<bool>;
    /// A tenant's page by URL, in one job or the newest of any job.
    async fn get_page(
        &self,
        tenant: &TenantId,
        job_id: Option<&str>,
        url: &str,
    ) -> Result<Option<PageRecord>>;
    /// A tenant's pages, in crawl order.
    async fn list_pages(&self, tenant: &TenantId, query: &PageQuery) -> Result<Paged<PageRecord>>;
    /// Store links, skipping those the job has already; returns how many were new.
    async fn put_links(&self, links: Vec<LinkRecord>) -> Result<usize>;
    /// A tenant's links, in the order found.
    async fn list_links(&self, tenant: &TenantId, query: &LinkQuery) -> Result<Paged<LinkRecord>>;
}

/// Pages' passages with their vectors, their change log, and keyword search.
#[async_trait::async_trait]
pub trait PassageStore: Send + Sync {
    /// Replace the passages of a tenant's page (as crawled by `job_id`) and mark that job's page
    /// indexed.
    async fn replace_chunks(
        &self,
        tenant: &TenantId,
        job_id: &str,
        url: &str,
        chunks: Vec<ChunkRecord>,
    ) -> Result<()>;
    /// Pages with content whose passages are not stored yet, oldest first.
    async fn unindexed_pages(&self, limit: usize) -> Result<Vec<PageRecord>>;
    /// Pages whose passages were replaced after change `seq`, in order, at most `limit`: the
    /// change's number, the tenant and the URL. Lets an in-memory index follow writes made by
    /// other processes.
    async fn chunk_changes_since(
        &self,
        seq: u64,
        limit: usize,
    ) -> Result<Vec<(u64, TenantId, String)>>;
    /// The number of the latest change to passages (0: none yet).
    async fn chunk_change_seq(&self) -> Result<u64>;
    /// A tenant's page's passages with their vectors, in page order.
    async fn page_chunks(&self, tenant: &TenantId, url: &str) -> Result<Vec<ChunkRecord>>;
    /// A job's pages whose passages are stored (searchable).
    async fn indexed_pages(&self, job_id: &str) -> Result<u64>;
    /// Every passage with its vector (to load an in-memory index).
    async fn all_chunk_vectors(&self) -> Result<Vec<ChunkRecord>>;
    /// A tenant's passages by id (without vectors).
    async fn get_chunks(&self, tenant: &TenantId, ids: Vec<String>) -> Result<Vec<ChunkRecord>>;
    /// Keyword search over a tenant's passages: ids with a relevance score, best first.
    async fn keyword_search(
        &self,
        tenant: &TenantId,
        text: &str,
        job_id: Option<&str>,
        site: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, f64)>>;
    /// The embedding models (and dimensions) a tenant's passages were indexed with.
    async fn chunk_models(&self, tenant: &TenantId) -> Result<Vec<(String, u32)>>;
}

/// Webhook deliveries, kept until delivered or given up; taken by one sender at a time.
#[async_trait::async_trait]
pub trait WebhookStore: Send + Sync {
    /// Store a delivery unless one with its id exists; true when stored.
    async fn insert_delivery(&self, delivery: DeliveryRecord) -> Result<bool>;
    /// Up to `limit` pending deliveries due at `now` that no sender holds, each now held until
    /// `lease_until`, the longest due first.
    async fn claim_deliveries(
        &self,
        now: f64,
        lease_until: f64,
        limit: usize,
    ) -> Result<Vec<DeliveryRecord>>;
    /// Write a delivery back after an attempt.
    async fn save_delivery(&self, delivery: DeliveryRecord) -> Result<()>;
    /// A job's deliveries (by its stored key), oldest first, at most `limit`.
    async fn list_deliveries(&self, job_id: &str, limit: usize) -> Result<Vec<DeliveryRecord>>;
}

/// Persistent storage of documents: sessions, jobs, pages and links, passages, webhook
/// deliveries, each behind its own trait; one backend implements them all.
#[async_trait::async_trait]
pub trait DocumentStore:
    SessionStore + JobStore + PageStore + PassageStore + WebhookStore + Send + Sync + 'static
{
    /// Which backend this is (`sqlite` or `mongodb`).
    fn backend(&self) -> &'static str;
    /// Check that the store works.
    async fn health(&self) -> Result<()>;
}
