//! Crawled knowledge as stored: pages (`brwsr_auto_svc_pages`) and links
//! (`brwsr_auto_svc_links`), and the queries that read them back.

use crate::jobs::JobError;
use crate::tenant::TenantId;
use serde::{Deserialize, Serialize};

/// A heading of a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PageHeading {
    /// 1 for `h1` ... 6 for `h6`.
    pub level: u8,
    /// Its text.
    pub text: String,
}

/// A code block of a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PageCodeBlock {
    /// The language, when the page names it.
    pub language: Option<String>,
    /// The code, as written.
    pub code: String,
}

/// One page of a crawl: its content, or why it has none. Unique per job and URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PageRecord {
    /// The owner.
    #[schemars(with = "String")]
    pub tenant_id: TenantId,
    /// The job that crawled it.
    pub job_id: String,
    /// The page's normalised URL after redirects (unique within the job).
    pub url: String,
    /// The URL the crawl asked for, when a redirect led elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_url: Option<String>,
    /// Link hops from the start page.
    pub depth: u32,
    /// Whether the content was stored (false: `error` says why not).
    pub ok: bool,
    /// The HTTP status, when there was an answer.
    pub status_code: Option<u16>,
    /// The answer's media type.
    pub content_type: Option<String>,
    /// The charset the body was decoded from.
    pub encoding: Option<String>,
    /// `http` or `browser`.
    pub fetched_via: String,
    /// The title.
    pub title: String,
    /// The meta description.
    pub description: Option<String>,
    /// The URL the page names as its canonical one (`<link rel=canonical>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical_url: Option<String>,
    /// Its language, when it says (`<html lang>`, `Content-Language`, `og:locale`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// When it last changed, as the page or its server says (a modified-time meta tag,
    /// schema.org `dateModified`, or `Last-Modified`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// Headings in document order.
    pub headings: Vec<PageHeading>,
    /// The main content as Markdown (navigation, footers and boilerplate left out).
    pub markdown: String,
    /// Code blocks with their language.
    pub code_blocks: Vec<PageCodeBlock>,
    /// Words in the main content.
    pub word_count: u64,
    /// Links to pages of the same site.
    pub internal_links: u64,
    /// Links to other sites.
    pub external_links: u64,
    /// Why the page has no content.
    pub error: Option<JobError>,
    /// Files stored with the page (video thumbnails), as file-store keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// The validators the server sent (`ETag`, `Last-Modified`) and a hash of the body as
    /// fetched: what a resync asks and compares with.
    #[serde(default, flatten)]
    pub validators: Validators,
    /// On a resync: what became of the page since the job it resyncs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<PageChange>,
    /// Seconds since the Unix epoch.
    pub fetched_at: f64,
}

/// What tells whether a page changed: the server's validators, sent back in a conditional
/// request, and a hash of the body for servers that send none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Validators {
    /// `ETag`, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// `Last-Modified`, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_last_modified: Option<String>,
    /// SHA-256 of the body as fetched, in hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_hash: Option<String>,
}

/// What a resync found a page to be, against the job it resyncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PageChange {
    /// Not in the job resynced.
    New,
    /// Its content changed: extracted and embedded again.
    Changed,
    /// The same content (the server answered 304, or the same body or Markdown came back):
    /// its passages were kept.
    Unchanged,
    /// It now answers 404 or 410: its passages were dropped from search.
    Removed,
}

impl PageRecord {
    /// A page with no content yet (`ok` false), fetched now.
    pub fn empty(
        tenant_id: TenantId,
        job_id: &str,
        url: String,
        depth: u32,
        fetched_via: &str,
    ) -> Self {
        Self {
            tenant_id,
            job_id: job_id.to_string(),
            url,
            requested_url: None,
            depth,
            ok: false,
            status_code: None,
            content_type: None,
            encoding: None,
            fetched_via: fetched_via.into(),
            title: String::new(),
            description: None,
            canonical_url: None,
            language: None,
            last_modified: None,
            headings: Vec::new(),
            markdown: String::new(),
            code_blocks: Vec::new(),
            word_count: 0,
            internal_links: 0,
            external_links: 0,
            error: None,
            files: Vec::new(),
            validators: Validators::default(),
            change: None,
            fetched_at: super::now_secs(),
        }
    }
}

/// A link found on a crawled page. Unique per job, source and target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LinkRecord {
    /// The owner.
    #[schemars(with = "String")]
    pub tenant_id: TenantId,
    /// The job that found it.
    pub job_id: String,
    /// The page it is on.
    pub from_url: String,
    /// Where it points (normalised for internal links).
    pub to_url: String,
    /// Its text.
    pub text: String,
    /// Whether it points to another site (recorded, never followed).
    pub external: bool,
}

/// Which pages a query wants.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PageOutcome {
    /// Every page.
    #[default]
    All,
    /// Pages with content.
    Ok,
    /// Pages recorded with an error.
    Failed,
}

/// A query over a tenant's pages.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageQuery {
    /// Only this job's pages.
    pub job_id: Option<String>,
    /// Only pages with (or without) content.
    pub outcome: PageOutcome,
    /// Only pages whose URL contains this.
    pub url_contains: Option<String>,
    /// Only pages whose title or content contains this (case-insensitive for ASCII).
    pub text: Option<String>,
    /// Pages to skip, in crawl order.
    pub offset: u64,
    /// Most pages returned.
    pub limit: u64,
}

/// A query over a tenant's links.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkQuery {
    /// Only this job's links.
    pub job_id: Option<String>,
    /// Only external (true) or internal (false) links.
    pub external: Option<bool>,
    /// Only links on this page.
    pub from_url: Option<String>,
    /// Only links to this URL.
    pub to_url: Option<String>,
    /// Links to skip.
    pub offset: u64,
    /// Most links returned.
    pub limit: u64,
}

/// One page of results and how many there are in all.
#[derive(Debug, Clone, PartialEq)]
pub struct Paged<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Items matching the query in all.
    pub total: u64,
}

/// A passage of a page with its embedding (collection `brwsr_auto_svc_embeddings`). A page's
/// passages are replaced as a whole when it is crawled again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkRecord {
    /// A stable id: derived from the tenant, the page URL and the passage's position.
    pub chunk_id: String,
    /// The owner.
    pub tenant_id: TenantId,
    /// The job that crawled the page last.
    pub job_id: String,
    /// The page's URL.
    pub url: String,
    /// The page's host (`site` filter).
    pub site: String,
    /// The page's title.
    pub title: String,
    /// Page title, then the headings above the passage.
    pub heading_path: Vec<String>,
    /// Position in the page.
    pub index: u32,
    /// The passage's Markdown.
    pub text: String,
    /// The embedding model.
    pub model: String,
    /// The vector's dimension.
    pub dimension: u32,
    /// The L2-normalised embedding (not part of the JSON document in the embedded store, which
    /// keeps it as a blob).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vector: Vec<f32>,
    /// Seconds since the Unix epoch.
    pub updated_at: f64,
}
