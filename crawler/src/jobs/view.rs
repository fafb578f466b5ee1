//! What callers send and get back: the job start body, status, results and knowledge queries.
//! The REST API and the MCP tools share these shapes.

use platform::jobs::{JobError, JobOptions, JobRecord, JobStatus, RenderMode, StatusEntry};
use platform::store::{LinkRecord, PageOutcome, PageRecord};
use platform::tenant::public_job_id;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Default and largest `max_pages`.
pub const DEFAULT_MAX_PAGES: usize = 100;
/// Largest `max_pages`.
pub const MAX_MAX_PAGES: usize = 100_000;
/// Default `max_depth`.
pub const DEFAULT_MAX_DEPTH: u32 = 3;
/// Largest `max_depth`.
pub const MAX_MAX_DEPTH: u32 = 50;
/// Default pages at once per job.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// Most pages at once per job.
pub const MAX_CONCURRENCY: usize = 32;

/// Start a knowledge-exploration job.
#[derive(Debug, Clone, Deserialize, JsonSchema, utoipa::ToSchema)]
pub struct StartRequest {
    /// Where the crawl starts (http or https); its scheme and host bound the crawl.
    #[schema(pattern = r"^https?://[A-Za-z0-9][A-Za-z0-9.-]{0,62}(:[1-9][0-9]{0,3})?(/[!-~]*)?$")]
    pub start_url: String,
    /// Most pages to crawl (default 100, at most 100000).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100000)]
    pub max_pages: Option<usize>,
    /// Most link hops from the start page (default 3, at most 50).
    #[serde(default)]
    #[schema(maximum = 50)]
    pub max_depth: Option<u32>,
    /// The job's id; generated when absent. 1-128 of letters, digits, `-_.:`.
    #[serde(default)]
    #[schema(pattern = r"^[A-Za-z0-9_.:-]{1,128}$")]
    pub job_id: Option<String>,
    /// Path patterns a page must match (`*` is a wildcard), e.g. `/docs/*`.
    #[serde(default)]
    #[schema(inline, value_type = Vec<PathPattern>)]
    pub include_patterns: Vec<String>,
    /// Path patterns that keep a page out.
    #[serde(default)]
    #[schema(inline, value_type = Vec<PathPattern>)]
    pub exclude_patterns: Vec<String>,
    /// `auto` (default: render pages that need scripts), `always` or `never`.
    #[serde(default)]
    #[schema(value_type = RenderModeName)]
    pub render: RenderMode,
    /// Pages of this job fetched at once (default 4, at most 32).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 32)]
    pub concurrency: Option<usize>,
    /// Push the job's events to this receiver, signed (see the README's "Webhooks").
    #[serde(default)]
    pub webhook: Option<super::webhooks::WebhookRequest>,
}

/// Resync an exploration: a new job over the same site and options that asks for each stored
/// page conditionally and re-embeds only what changed.
#[derive(Debug, Clone, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResyncRequest {
    /// The job to resync (any earlier sync of the source; usually its latest).
    pub job_id: String,
    /// The new job's id; generated when absent. 1-128 of letters, digits, `-_.:`.
    #[serde(default)]
    #[schema(pattern = r"^[A-Za-z0-9_.:-]{1,128}$")]
    pub new_job_id: Option<String>,
    /// Push the resync's events here (default: the webhook of the job resynced, if it had one).
    #[serde(default)]
    pub webhook: Option<super::webhooks::WebhookRequest>,
}

/// A path pattern: starts with `/` or `*`; `*` is a wildcard.
#[derive(utoipa::ToSchema)]
#[schema(pattern = r"^[/*].*$")]
#[allow(dead_code)]
pub struct PathPattern(String);

/// When a job renders pages in Chromium.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum RenderModeName {
    /// Render only pages that need scripts.
    Auto,
    /// Render every page.
    Always,
    /// Never render.
    Never,
}

/// A job id in a request body (pause, resume, cancel).
#[derive(Debug, Clone, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobIdRequest {
    /// The job.
    pub job_id: String,
}

/// A job's status, progress and counters.
#[derive(Debug, Clone, Serialize, JsonSchema, utoipa::ToSchema)]
pub struct JobView {
    /// The job.
    pub job_id: String,
    /// `exploration` (a crawl) or `ingestion` (a file).
    pub kind: String,
    /// `pending`, `queued`, `running`, `paused`, `completed`, `failed` or `cancelled`.
    #[schema(value_type = String)]
    pub status: JobStatus,
    /// 0-100: pages done out of pages found so far.
    pub progress: f64,
    /// Pages stored with content.
    pub pages_completed: u64,
    /// Pages whose passages are embedded and searchable (in the status answer only; indexing
    /// runs behind the crawl, so it may trail `pages_completed` for a while).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pages_indexed: Option<u64>,
    /// Pages recorded with an error (timeouts, 4xx/5xx, unsupported types).
    pub pages_failed: u64,
    /// Pages waiting to be fetched.
    pub pages_queued: u64,
    /// URLs left out: duplicates, robots.txt, patterns, depth or page limits.
    pub pages_skipped: u64,
    /// Distinct links to other sites found.
    pub external_links: u64,
    /// The page fetched most recently.
    pub current_url: Option<String>,
    /// Seconds spent crawling, over all runs.
    pub elapsed_secs: f64,
    /// Seconds it has been waiting for a worker, while queued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_secs: Option<f64>,
    /// Runs started.
    pub attempts: u32,
    /// The worker running it (`host-pid-n`), or that ran it last.
    pub worker: Option<String>,
    /// Why it failed, or why its last attempt failed.
    #[schema(value_type = Option<Object>)]
    pub error: Option<JobError>,
    /// What it crawls.
    #[schema(value_type = Object)]
    pub options: JobOptions,
    /// Seconds since the Unix epoch.
    pub created_at: f64,
    /// When its first run started.
    pub started_at: Option<f64>,
    /// When it finished.
    pub finished_at: Option<f64>,
    /// Every status change, in order (in the status answer only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub status_history: Option<Vec<StatusEntry>>,
    /// For a resync: the job it resynced (the sync before it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resync_of: Option<String>,
    /// For a resync: pages whose content is the same as before (passages kept, not embedded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pages_unchanged: Option<u64>,
    /// For a resync: pages whose content changed (extracted and embedded again).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pages_changed: Option<u64>,
    /// For a resync: pages the job resynced did not have.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pages_new: Option<u64>,
    /// For a resync: pages that now answer 404 or 410, dropped from search.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pages_removed: Option<u64>,
    /// The webhook and its deliveries (in the status answer only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook: Option<super::webhooks::WebhookView>,
}

impl JobView {
    /// The view of a stored job; `history` includes its status changes.
    pub fn from_record(j: &JobRecord, history: bool) -> Self {
        let c = &j.counters;
        let waiting = (j.status == JobStatus::Queued)
            .then(|| {
                j.queued_at
                    .map(|q| (platform::store::now_secs() - q).max(0.0))
            })
            .flatten();
        Self {
            job_id: public_job_id(&j.job_id).to_string(),
            kind: j.kind.clone(),
            status: j.status,
            progress: j.progress(),
            pages_indexed: None,
            pages_completed: c.pages_completed,
            pages_failed: c.pages_failed,
            pages_queued: c.pages_queued,
            pages_skipped: c.pages_skipped,
            external_links: c.external_links,
            current_url: j.current_url.clone(),
            elapsed_secs: (j.run_secs * 10.0).round() / 10.0,
            waiting_secs: waiting,
            attempts: j.attempts,
            worker: j.worker.clone(),
            error: j.error.clone(),
            options: shown_options(&j.options),
            created_at: j.created_at,
            started_at: j.started_at,
            finished_at: j.finished_at,
            status_history: history.then(|| j.status_history.clone()),
            resync_of: j.resync_of.as_deref().map(|r| public_job_id(r).to_string()),
            pages_unchanged: j.resync_of.as_ref().map(|_| c.pages_unchanged),
            pages_changed: j.resync_of.as_ref().map(|_| c.pages_changed),
            pages_new: j.resync_of.as_ref().map(|_| c.pages_new),
            pages_removed: j.resync_of.as_ref().map(|_| c.pages_removed),
            webhook: None,
        }
    }
}

/// Jobs of the caller.
#[derive(Debug, Clone, Serialize, JsonSchema, utoipa::ToSchema)]
pub struct JobList {
    /// Newest first.
    pub jobs: Vec<JobView>,
}

/// Which jobs to list.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListRequest {
    /// Only jobs with this status (`all`, the default, for any).
    #[serde(default)]
    #[param(pattern = r"^(pending|queued|running|paused|completed|failed|cancelled|all)?$")]
    pub status: Option<String>,
    /// Most jobs (default 50, at most 500).
    #[serde(default)]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
    /// Only the syncs of one source: jobs that crawl from this start URL (the first crawl and
    /// each resync), newest first.
    #[serde(default)]
    pub start_url: Option<String>,
}

/// Which results to return.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ResultsRequest {
    /// Pages to skip (crawl order).
    #[serde(default)]
    pub offset: Option<u64>,
    /// Most pages (default 20, at most 100).
    #[serde(default)]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    /// `all` (default), `ok` (pages with content) or `failed`.
    #[serde(default)]
    #[param(value_type = Option<String>, pattern = r"^(all|ok|failed)$")]
    pub outcome: Option<PageOutcome>,
    /// Most Markdown characters per page (default 20000); longer content is cut and marked.
    #[serde(default)]
    #[param(maximum = 1000000)]
    pub max_chars: Option<usize>,
}

/// A stored page as returned to callers.
#[derive(Debug, Clone, Serialize, JsonSchema, utoipa::ToSchema)]
pub struct PageView {
    /// The page.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub page: PageRecord,
    /// Whether `markdown` was cut to `max_chars`.
    pub markdown_truncated: bool,
}

impl PageView {
    /// A page with its Markdown cut to `max_chars` characters.
    pub fn new(mut page: PageRecord, max_chars: usize) -> Self {
        let truncated = cut(&mut page.markdown, max_chars);
        page.job_id = public_job_id(&page.job_id).to_string();
        Self {
            page,
            markdown_truncated: truncated,
        }
    }
}

/// Cut `s` to at most `max` characters, on a character boundary; true when it was cut.
pub fn cut(s: &mut String, max: usize) -> bool {
    match s.char_indices().nth(max) {
        Some((i, _)) => {
            s.truncate(i);
            true
        }
        None => false,
    }
}

/// One page of a job's results.
#[derive(Debug, Clone, Serialize, JsonSchema, utoipa::ToSchema)]
pub struct ResultsPage {
    /// The job.
    pub job_id: String,
    /// Its status now.
    #[schema(value_type = String)]
    pub status: JobStatus,
    /// Pages matching in all.
    pub total: u64,
    /// Pages skipped.
    pub offset: u64,
    /// Most pages returned.
    pub limit: u64,
    /// The offset of the next page of results, if there is one.
    pub next_offset: Option<u64>,
    /// The pages, in crawl order.
    pub pages: Vec<PageView>,
}

/// What `query_knowledge` looks up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueryKind {
    /// The passages that best answer `query` (semantic search; `hybrid` adds keyword search).
    Search,
    /// Stored pages, as short summaries (filter by `text`, `url`, `job_id`).
    #[default]
    Pages,
    /// One page's full content (by `url`).
    Page,
    /// Links (filter by `url` as the page they are on, `external`, `job_id`).
    Links,
    /// The site's pages as a tree of paths.
    SiteMap,
}

/// A query over stored knowledge.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryRequest {
    /// `search` (the default when `query` is given), `pages` (the default otherwise), `page`,
    /// `links` or `site_map`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub kind: Option<QueryKind>,
    /// `search`: the question, in the asker's own words.
    #[serde(default)]
    pub query: Option<String>,
    /// `search`: passages to return (default 5, at most 50).
    #[serde(default)]
    pub top_k: Option<usize>,
    /// `search`: only pages on this host.
    #[serde(default)]
    pub site: Option<String>,
    /// `search`: fuse with keyword search.
    #[serde(default)]
    pub hybrid: Option<bool>,
    /// Only this job's knowledge.
    #[serde(default)]
    pub job_id: Option<String>,
    /// `page`: the page's URL. `links`: the page the links are on. `pages`: part of the URL.
    #[serde(default)]
    pub url: Option<String>,
    /// `pages`: words the title or content contains (case-insensitive).
    #[serde(default)]
    pub text: Option<String>,
    /// `links`: only external (true) or internal (false) links.
    #[serde(default)]
    pub external: Option<bool>,
    /// Items to skip.
    #[serde(default)]
    pub offset: Option<u64>,
    /// Most items (default 20, at most 200; site maps up to 1000).
    #[serde(default)]
    pub limit: Option<u64>,
    /// `page`: most Markdown characters (default 20000).
    #[serde(default)]
    pub max_chars: Option<usize>,
}

/// A page in a list: enough to choose which one to read.
#[derive(Debug, Clone, Serialize, JsonSchema, utoipa::ToSchema)]
pub struct PageSummary {
    /// The page's URL.
    pub url: String,
    /// The job that crawled it.
    pub job_id: String,
    /// Its title.
    pub title: String,
    /// Its description.
    pub description: Option<String>,
    /// Whether it has content.
    pub ok: bool,
    /// Words of content.
    pub word_count: u64,
    /// A few hundred characters of content (around the match when searching).
    pub snippet: String,
}

/// One entry of a site map.
#[derive(Debug, Clone, Serialize, JsonSchema, utoipa::ToSchema)]
pub struct SiteMapEntry {
    /// The page's URL.
    pub url: String,
    /// Its path.
    pub path: String,
    /// Its title.
    pub title: String,
    /// Path segments below the root.
    pub level: usize,
}

/// The answer to a knowledge query: how many items match in all, how many were skipped, and
/// what was found, tagged by `kind`.
#[derive(Debug, Clone, Serialize, JsonSchema, utoipa::ToSchema)]
pub struct QueryAnswer {
    /// Items matching in all.
    pub total: u64,
    /// Items skipped.
    pub offset: u64,
    /// What was found.
    #[serde(flatten)]
    pub found: Found,
}

/// What a knowledge query found, by its `kind`.
#[derive(Debug, Clone, Serialize, JsonSchema, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Found {
    /// The passages that best answer the question.
    Search {
        /// Passages, best first, with page URL, title, heading path, score and text.
        hits: Vec<crate::knowledge::SearchHit>,
        /// `semantic` or `hybrid`.
        mode: String,
    },
    /// Stored pages as short summaries.
    Pages {
        /// The pages.
        pages: Vec<PageSummary>,
    },
    /// One page's content.
    Page {
        /// The page.
        page: Box<PageView>,
    },
    /// Links between pages, or to other sites.
    Links {
        /// The links, in the order found.
        #[schema(value_type = Vec<Object>)]
        links: Vec<LinkRecord>,
    },
    /// The site's pages by path.
    SiteMap {
        /// Pages sorted by path.
        site_map: Vec<SiteMapEntry>,
        /// The same as an indented outline.
        outline: String,
    },
}

/// A job's options as shown: a presigned URL's signature is a credential, so only its scheme,
/// host and path are shown (in answers and in events alike).
fn shown_options(o: &platform::jobs::JobOptions) -> platform::jobs::JobOptions {
    let mut o = o.clone();
    if let Some(r) = o.file.as_mut().and_then(|f| f.s3_reference.as_mut()) {
        if let Some(u) = r.presigned_url.as_mut() {
            *u = format!("{}?(signature hidden)", crate::ingest::download::display(u));
        }
    }
    o
}
