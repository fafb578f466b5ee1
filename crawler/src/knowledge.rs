//! Semantic knowledge: crawled pages become passages with embeddings ([`Knowledge::index_page`],
//! done in the background in batches so a crawl never waits for the model), and questions find
//! the passages that answer them ([`Knowledge::search`]): exact cosine search over the vector
//! index, optionally fused with keyword search (SQLite FTS5) by reciprocal rank.

use crate::chunk::{chunk, DEFAULT_MAX_WORDS};
use crate::embed::{EmbedError, Embedder, MiniLm, DIMENSION, MODEL_NAME};
use platform::store::{ChunkRecord, DocumentStore, PageRecord};
use platform::telemetry::{PassagesEmbedded, Telemetry};
use platform::tenant::public_job_id;
use platform::vectors::{
    ExactIndex, KeywordIndex, QdrantIndex, VectorFilter, VectorIndex, VectorPoint,
};
use platform::Platform;
use platform::{Config, EngineError, Result, TenantId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, Notify};

/// Pages embedded together (their passages go through the model in batches of 32).
const PAGES_PER_BATCH: usize = 16;
/// Reciprocal-rank fusion constant.
const RRF_K: f64 = 60.0;

/// A semantic search.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// The question or keywords, in the asker's own words.
    #[schema(min_length = 1, pattern = r"\S")]
    pub query: String,
    /// Passages to return (default 5, at most 50).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 50)]
    pub top_k: Option<usize>,
    /// Only passages of this job.
    #[serde(default)]
    pub job_id: Option<String>,
    /// Only passages of pages on this host (`docs.example.com`).
    #[serde(default)]
    pub site: Option<String>,
    /// Fuse the semantic ranking with keyword search (reciprocal rank fusion).
    #[serde(default)]
    pub hybrid: Option<bool>,
}

/// One passage found.
#[derive(Debug, Clone, Serialize, JsonSchema, utoipa::ToSchema)]
pub struct SearchHit {
    /// The page's URL.
    pub url: String,
    /// The page's title.
    pub title: String,
    /// Page title, then the headings above the passage.
    pub heading_path: Vec<String>,
    /// Cosine similarity to the query (semantic), or the fused rank score (hybrid).
    pub score: f64,
    /// The passage's Markdown.
    pub text: String,
    /// The job that crawled the page.
    pub job_id: String,
    /// The passage's id.
    pub chunk_id: String,
}

/// What a search found.
#[derive(Debug, Clone, Serialize, JsonSchema, utoipa::ToSchema)]
pub struct SearchAnswer {
    /// The query.
    pub query: String,
    /// `semantic` or `hybrid`.
    pub mode: String,
    /// The model that embedded the query.
    pub model: String,
    /// Best first.
    pub hits: Vec<SearchHit>,
}

struct Pending {
    per_job: Mutex<HashMap<String, usize>>,
    changed: Notify,
}

/// The passages, their vectors and the model.
pub struct Knowledge {
    store: Arc<dyn DocumentStore>,
    telemetry: Arc<Telemetry>,
    index: Arc<dyn VectorIndex>,
    /// For the in-memory index: the last change to passages in the store it reflects (other
    /// processes, such as `worker`s, write passages too). `None` with Qdrant, which every
    /// process writes to directly.
    synced: Option<tokio::sync::Mutex<u64>>,
    /// With the in-memory vector index, the keyword side of hybrid search in memory too
    /// (following the store the same way); with Qdrant, the store's own keyword search.
    keywords: Option<KeywordIndex>,
    embedder: Embedder,
    queue: mpsc::UnboundedSender<PageRecord>,
    pending: Arc<Pending>,
    stop: tokio_util::sync::CancellationToken,
}

/// The stable id of a page's passage.
pub fn chunk_id(tenant: &TenantId, url: &str, index: usize) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("{}\n{url}\n{index}", tenant.as_str()).as_bytes(),
    )
    .to_string()
}

fn site_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default()
}

impl Knowledge {
    /// Load the model from `MODELS_DIR`: a missing or broken model is an error naming the path.
    /// Done before anything else starts, so that a bad set-up fails fast.
    pub fn load_model(config: &Config) -> Result<Embedder> {
        Embedder::start(&MiniLm::dir_in(&config.models_dir)).map_err(EngineError::from)
    }

    /// Open the vector index (Qdrant with `QDRANT_URL`, else the store's vectors in memory) and
    /// start the indexer. With `backlog`, pages stored but not indexed yet (a crash or stop cut
    /// their indexing short) are indexed again.
    pub async fn start(
        platform: &Platform,
        embedder: Embedder,
        backlog: bool,
    ) -> Result<Arc<Self>> {
        let (config, store) = (&platform.config, platform.store.clone());
        let (mut synced, mut keywords) = (None, None);
        let index: Arc<dyn VectorIndex> = match &config.qdrant_url {
            Some(url) => Arc::new(
                QdrantIndex::connect(url, config.qdrant_api_key.clone(), MODEL_NAME, DIMENSION)
                    .await?,
            ),
            None => {
                // Changes from here on are replayed at the next search (replaying is idempotent).
                synced = Some(tokio::sync::Mutex::new(store.chunk_change_seq().await?));
                let exact = ExactIndex::new();
                let chunks: Vec<ChunkRecord> = store
                    .all_chunk_vectors()
                    .await?
                    .into_iter()
                    .filter(|c| c.model == MODEL_NAME && c.vector.len() == DIMENSION)
                    .collect();
                let words = KeywordIndex::new();
                words.load(&chunks);
                keywords = Some(words);
                exact.load(chunks.into_iter().map(VectorPoint::from).collect())?;
                Arc::new(exact)
            }
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let k = Arc::new(Self {
            store,
            telemetry: platform.telemetry.clone(),
            index,
            synced,
            keywords,
            embedder,
            queue: tx,
            pending: Arc::new(Pending {
                per_job: Mutex::new(HashMap::new()),
                changed: Notify::new(),
            }),
            stop: tokio_util::sync::CancellationToken::new(),
        });
        tokio::spawn(index_loop(k.clone(), rx));
        if backlog {
            for page in k.store.unindexed_pages(100_000).await? {
                k.index_page(page);
            }
        }
        Ok(k)
    }

    /// Stop indexing: the batch in progress finishes; pages still queued stay unindexed in the
    /// store and are indexed at the next start.
    pub fn shutdown(&self) {
        self.stop.cancel();
    }

    /// Which vector index serves searches.
    pub fn backend(&self) -> &'static str {
        self.index.backend()
    }

    /// Queue a stored page for chunking and embedding; returns at once.
    pub fn index_page(&self, page: PageRecord) {
        if !page.ok {
            return;
        }
        *self
            .pending
            .per_job
            .lock()
            .expect("pending lock")
            .entry(page.job_id.clone())
            .or_default() += 1;
        if self.queue.send(page).is_err() {
            tracing::warn!("the indexer stopped; the page is indexed at the next start");
        }
    }

    /// A page a resync found unchanged: its stored passages (and their vectors) now belong to
    /// the resync's job, with no embedding. A page with no passages in this model yet is
    /// queued for indexing instead.
    pub async fn carry_page(&self, page: PageRecord) -> Result<()> {
        let mut chunks = self.store.page_chunks(&page.tenant_id, &page.url).await?;
        let usable = !chunks.is_empty()
            && chunks
                .iter()
                .all(|c| c.model == MODEL_NAME && c.vector.len() == DIMENSION);
        if !usable {
            self.index_page(page);
            return Ok(());
        }
        for c in &mut chunks {
            c.job_id = page.job_id.clone();
        }
        self.replace_passages(&page, chunks).await
    }

    /// A page that is gone (a resync found it answering 404 or 410): its passages leave the
    /// store and the vector index, so no search finds it.
    pub async fn remove_page(&self, page: &PageRecord) -> Result<()> {
        self.replace_passages(page, Vec::new()).await
    }

    /// Replace a page's passages (as crawled by its job) in the store and the vector index
    /// together.
    async fn replace_passages(&self, page: &PageRecord, chunks: Vec<ChunkRecord>) -> Result<()> {
        let points = chunks.iter().cloned().map(VectorPoint::from).collect();
        let kept = self.keywords.as_ref().map(|_| chunks.clone());
        self.store
            .replace_chunks(&page.tenant_id, &page.job_id, &page.url, chunks)
            .await?;
        if let (Some(words), Some(chunks)) = (&self.keywords, kept) {
            words.replace_page(&page.tenant_id, &page.url, &chunks);
        }
        self.index
            .replace_page(&page.tenant_id, &page.url, points)
            .await
    }

    /// Wait until every page queued for a job is indexed (or `limit` passes).
    pub async fn drain(&self, job_id: &str, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let changed = self.pending.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let left = self
                .pending
                .per_job
                .lock()
                .expect("pending lock")
                .get(job_id)
                .copied()
                .unwrap_or(0);
            if left == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return false;
            }
        }
    }

    /// Embed texts with the service's model.
    pub async fn embed(
        &self,
        texts: Vec<String>,
    ) -> std::result::Result<Vec<Vec<f32>>, EmbedError> {
        self.embedder.embed(texts).await
    }

    async fn index_batch(&self, pages: Vec<PageRecord>) -> Result<()> {
        let mut texts = Vec::new();
        let mut per_page = Vec::new();
        for p in &pages {
            let chunks = chunk(&p.title, &p.markdown, DEFAULT_MAX_WORDS);
            texts.extend(chunks.iter().map(|c| c.embedding_text()));
            per_page.push(chunks);
        }
        let (passages, started) = (texts.len(), std::time::Instant::now());
        let mut vectors = self
            .embedder
            .embed(texts)
            .await
            .map_err(EngineError::from)?
            .into_iter();
        self.telemetry.record(PassagesEmbedded {
            passages,
            elapsed: started.elapsed(),
        });
        let now = platform::store::now_secs();
        for (page, chunks) in pages.iter().zip(per_page) {
            let site = site_of(&page.url);
            let records: Vec<ChunkRecord> = chunks
                .into_iter()
                .map(|c| ChunkRecord {
                    chunk_id: chunk_id(&page.tenant_id, &page.url, c.index),
                    tenant_id: page.tenant_id.clone(),
                    job_id: page.job_id.clone(),
                    url: page.url.clone(),
                    site: site.clone(),
                    title: page.title.clone(),
                    heading_path: c.heading_path,
                    index: c.index as u32,
                    text: c.text,
                    model: MODEL_NAME.into(),
                    dimension: DIMENSION as u32,
                    vector: vectors.next().unwrap_or_default(),
                    updated_at: now,
                })
                .collect();
            self.replace_passages(page, records).await?;
        }
        Ok(())
    }

    /// The passages of the tenant's knowledge that best answer `req.query`.
    pub async fn search(&self, tenant: &TenantId, req: SearchRequest) -> Result<SearchAnswer> {
        let query = req.query.trim().to_string();
        if query.is_empty() {
            return Err(EngineError::InvalidRequest(
                "`query` must not be empty".into(),
            ));
        }
        let top_k = req.top_k.unwrap_or(5);
        if !(1..=50).contains(&top_k) {
            return Err(EngineError::InvalidRequest(format!(
                "`top_k` must be between 1 and 50, not {top_k}"
            )));
        }
        self.check_models(tenant).await?;
        let hybrid = req.hybrid.unwrap_or(false);
        let vector = self
            .embedder
            .embed_question(query.clone())
            .await
            .map_err(EngineError::from)?;
        self.follow_store().await?;
        let filter = VectorFilter {
            job_id: req.job_id.clone(),
            site: req.site.clone(),
        };
        let wide = if hybrid { top_k * 4 } else { top_k };
        let semantic = self.index.search(tenant, &vector, &filter, wide).await?;
        let ranked: Vec<(String, f64)> = if hybrid {
            let keyword = match &self.keywords {
                Some(words) => words.search(tenant, &query, &filter, wide),
                None => {
                    self.store
                        .keyword_search(
                            tenant,
                            &query,
                            req.job_id.as_deref(),
                            req.site.as_deref(),
                            wide,
                        )
                        .await?
                }
            };
            fuse(&semantic, &keyword, top_k)
        } else {
            semantic.into_iter().map(|(id, s)| (id, s as f64)).collect()
        };
        Ok(SearchAnswer {
            query,
            mode: if hybrid { "hybrid" } else { "semantic" }.into(),
            model: MODEL_NAME.into(),
            hits: self.hits(tenant, ranked).await?,
        })
    }

    /// Refuse to search knowledge indexed with another model or dimension.
    async fn check_models(&self, tenant: &TenantId) -> Result<()> {
        for (model, dim) in self.store.chunk_models(tenant).await? {
            if model != MODEL_NAME || dim as usize != DIMENSION {
                return Err(EngineError::EmbeddingMismatch(format!(
                    "the knowledge was indexed with {model} ({dim} dimensions) but this service \
                     embeds with {MODEL_NAME} ({DIMENSION}); crawl it again to re-index it"
                )));
            }
        }
        Ok(())
    }

    /// The ranked passages with their texts, in rank order.
    async fn hits(&self, tenant: &TenantId, ranked: Vec<(String, f64)>) -> Result<Vec<SearchHit>> {
        let ids: Vec<String> = ranked.iter().map(|(id, _)| id.clone()).collect();
        let records: HashMap<String, ChunkRecord> = self
            .store
            .get_chunks(tenant, ids)
            .await?
            .into_iter()
            .map(|c| (c.chunk_id.clone(), c))
            .collect();
        Ok(ranked
            .into_iter()
            .filter_map(|(id, score)| {
                let c = records.get(&id)?;
                Some(SearchHit {
                    url: c.url.clone(),
                    title: c.title.clone(),
                    heading_path: c.heading_path.clone(),
                    score: (score * 10_000.0).round() / 10_000.0,
                    text: c.text.clone(),
                    job_id: public_job_id(&c.job_id).to_string(),
                    chunk_id: id,
                })
            })
            .collect())
    }
}

/// Reciprocal-rank fusion of a semantic and a keyword ranking: the `top_k` best, ties broken
/// by id so the order is stable.
fn fuse<A, B>(
    semantic: &[(String, A)],
    keyword: &[(String, B)],
    top_k: usize,
) -> Vec<(String, f64)> {
    let mut fused: HashMap<String, f64> = HashMap::new();
    let ids = semantic.iter().map(|(id, _)| id).enumerate();
    let ids = ids.chain(keyword.iter().map(|(id, _)| id).enumerate());
    for (rank, id) in ids {
        *fused.entry(id.clone()).or_default() += 1.0 / (RRF_K + rank as f64 + 1.0);
    }
    let mut v: Vec<(String, f64)> = fused.into_iter().collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(top_k);
    v
}

impl Knowledge {
    /// Bring the in-memory index up to date with passages other processes stored.
    async fn follow_store(&self) -> Result<()> {
        let Some(synced) = &self.synced else {
            return Ok(());
        };
        let mut seq = synced.lock().await;
        loop {
            let changes = self.store.chunk_changes_since(*seq, 1000).await?;
            let Some(last) = changes.last().map(|c| c.0) else {
                return Ok(());
            };
            let mut pages: Vec<(TenantId, String)> =
                changes.into_iter().map(|(_, t, u)| (t, u)).collect();
            pages.sort();
            pages.dedup();
            for (tenant, url) in pages {
                let chunks: Vec<ChunkRecord> = self
                    .store
                    .page_chunks(&tenant, &url)
                    .await?
                    .into_iter()
                    .filter(|c| c.model == MODEL_NAME && c.vector.len() == DIMENSION)
                    .collect();
                if let Some(words) = &self.keywords {
                    words.replace_page(&tenant, &url, &chunks);
                }
                let points = chunks.into_iter().map(VectorPoint::from).collect();
                self.index.replace_page(&tenant, &url, points).await?;
            }
            *seq = last;
        }
    }
}

/// Index queued pages in batches; a batch that fails is logged and its pages stay unindexed in
/// the store (indexed again at the next start).
async fn index_loop(k: Arc<Knowledge>, mut rx: mpsc::UnboundedReceiver<PageRecord>) {
    loop {
        let first = tokio::select! {
            _ = k.stop.cancelled() => return,
            page = rx.recv() => match page {
                Some(p) => p,
                None => return,
            },
        };
        let mut batch = vec![first];
        while batch.len() < PAGES_PER_BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let jobs: Vec<String> = batch.iter().map(|p| p.job_id.clone()).collect();
        let n = batch.len();
        if let Err(e) = k.index_batch(batch).await {
            tracing::warn!(error = %e, pages = n, "pages not indexed");
        }
        let mut pending = k.pending.per_job.lock().expect("pending lock");
        for j in jobs {
            if let Some(c) = pending.get_mut(&j) {
                *c = c.saturating_sub(1);
                if *c == 0 {
                    pending.remove(&j);
                }
            }
        }
        drop(pending);
        k.pending.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passage_ids_are_stable_and_distinct_per_tenant_page_and_position() {
        let a = TenantId::new("a");
        let id = chunk_id(&a, "https://x.test/p", 0);
        assert_eq!(id, chunk_id(&a, "https://x.test/p", 0));
        assert_ne!(id, chunk_id(&a, "https://x.test/p", 1));
        assert_ne!(id, chunk_id(&TenantId::new("b"), "https://x.test/p", 0));
        assert!(uuid::Uuid::parse_str(&id).is_ok());
    }
}
