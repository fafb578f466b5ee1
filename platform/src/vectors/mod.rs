//! The vector index: nearest passages to a query vector, filtered by tenant (always), job and
//! site. Embedded default: exact cosine search in memory over the vectors the store keeps
//! ([`ExactIndex`]). Production: Qdrant ([`QdrantIndex`], `QDRANT_URL`), one collection per
//! embedding model. Beside the exact index, the keyword side of hybrid search runs in memory
//! too ([`KeywordIndex`]).

mod exact;
mod keyword;
mod qdrant;

pub use exact::ExactIndex;
pub use keyword::KeywordIndex;
pub use qdrant::QdrantIndex;

use crate::error::Result;
use crate::tenant::TenantId;

/// A passage's vector and what a search filters on.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorPoint {
    /// The passage (its store id).
    pub chunk_id: String,
    /// The owner.
    pub tenant_id: TenantId,
    /// The job that crawled its page.
    pub job_id: String,
    /// The page's host.
    pub site: String,
    /// The page's URL.
    pub url: String,
    /// Page title, then headings.
    pub heading_path: Vec<String>,
    /// The L2-normalised vector.
    pub vector: Vec<f32>,
}

impl From<crate::store::ChunkRecord> for VectorPoint {
    fn from(c: crate::store::ChunkRecord) -> Self {
        Self {
            chunk_id: c.chunk_id,
            tenant_id: c.tenant_id,
            job_id: c.job_id,
            site: c.site,
            url: c.url,
            heading_path: c.heading_path,
            vector: c.vector,
        }
    }
}

/// What a search is limited to (besides the tenant).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VectorFilter {
    /// Only passages of this job.
    pub job_id: Option<String>,
    /// Only passages of pages on this host.
    pub site: Option<String>,
}

/// Nearest-neighbour search over passages.
#[async_trait::async_trait]
pub trait VectorIndex: Send + Sync + 'static {
    /// Which backend this is (`exact` or `qdrant`).
    fn backend(&self) -> &'static str;
    /// Replace a tenant's page's passages with these (an empty list removes them).
    async fn replace_page(
        &self,
        tenant: &TenantId,
        url: &str,
        points: Vec<VectorPoint>,
    ) -> Result<()>;
    /// The `top_k` passages of the tenant nearest to `vector`: ids and cosine similarity, best
    /// first.
    async fn search(
        &self,
        tenant: &TenantId,
        vector: &[f32],
        filter: &VectorFilter,
        top_k: usize,
    ) -> Result<Vec<(String, f32)>>;
    /// Passages indexed.
    async fn count(&self) -> Result<u64>;
    /// Check that the index works.
    async fn health(&self) -> Result<()>;
}
