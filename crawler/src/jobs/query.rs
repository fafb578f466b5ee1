//! Looking up stored knowledge: one function per kind of query, each answering with what it found
//! tagged by its kind.

use super::{bounded, snippet, Jobs};
use super::{Found, PageSummary, PageView, QueryAnswer, QueryKind, QueryRequest, SiteMapEntry};
use crate::urlnorm::normalize;
use platform::store::{LinkQuery, PageOutcome, PageQuery};
use platform::tenant::public_job_id;
use platform::{EngineError, Result, TenantId};

impl Jobs {
    /// Look up stored knowledge: page summaries, one page, links, or a site map.
    pub async fn query(&self, tenant: &TenantId, mut req: QueryRequest) -> Result<QueryAnswer> {
        if let Some(job_id) = &req.job_id {
            // From here on the job is named by its stored key.
            req.job_id = Some(self.owned(tenant, job_id).await?.job_id);
        }
        let kind = req.kind.unwrap_or(if req.query.is_some() {
            QueryKind::Search
        } else {
            QueryKind::Pages
        });
        match kind {
            QueryKind::Search => self.search_passages(tenant, &req).await,
            QueryKind::Pages => self.page_summaries(tenant, &req).await,
            QueryKind::Page => self.one_page(tenant, &req).await,
            QueryKind::Links => self.links(tenant, &req).await,
            QueryKind::SiteMap => self.site_map(tenant, &req).await,
        }
    }

    /// The passages that best answer `query`.
    async fn search_passages(&self, tenant: &TenantId, req: &QueryRequest) -> Result<QueryAnswer> {
        let offset = req.offset.unwrap_or(0);
        let query = req.query.clone().ok_or_else(|| {
            EngineError::InvalidRequest("`query` is required for kind `search`".into())
        })?;
        let found = self
            .knowledge()
            .search(
                tenant,
                crate::knowledge::SearchRequest {
                    query,
                    top_k: req.top_k,
                    job_id: req.job_id.clone(),
                    site: req.site.clone(),
                    hybrid: req.hybrid,
                },
            )
            .await?;
        Ok(QueryAnswer {
            total: found.hits.len() as u64,
            offset,
            found: Found::Search {
                hits: found.hits,
                mode: found.mode,
            },
        })
    }

    /// Stored pages as summaries with snippets.
    async fn page_summaries(&self, tenant: &TenantId, req: &QueryRequest) -> Result<QueryAnswer> {
        let store = &self.platform.store;
        let offset = req.offset.unwrap_or(0);
        let limit = bounded("limit", req.limit, 20, 1, 200)?;
        let found = store
            .list_pages(
                tenant,
                &PageQuery {
                    job_id: req.job_id.clone(),
                    outcome: PageOutcome::Ok,
                    url_contains: req.url.clone(),
                    text: req.text.clone(),
                    offset,
                    limit,
                },
            )
            .await?;
        Ok(QueryAnswer {
            total: found.total,
            offset,
            found: Found::Pages {
                pages: found
                    .items
                    .iter()
                    .map(|p| PageSummary {
                        url: p.url.clone(),
                        job_id: public_job_id(&p.job_id).to_string(),
                        title: p.title.clone(),
                        description: p.description.clone(),
                        ok: p.ok,
                        word_count: p.word_count,
                        snippet: snippet(p, req.text.as_deref()),
                    })
                    .collect(),
            },
        })
    }

    /// One page's content by URL.
    async fn one_page(&self, tenant: &TenantId, req: &QueryRequest) -> Result<QueryAnswer> {
        let store = &self.platform.store;
        let offset = req.offset.unwrap_or(0);
        let raw = req.url.as_deref().ok_or_else(|| {
            EngineError::InvalidRequest("`url` is required for kind `page`".into())
        })?;
        let url =
            url::Url::parse(raw).map_err(|e| EngineError::InvalidUrl(format!("`{raw}`: {e}")))?;
        let max_chars = bounded("max_chars", req.max_chars, 20_000, 0, 1_000_000)?;
        let page = store
            .get_page(tenant, req.job_id.as_deref(), normalize(&url).as_str())
            .await?
            .ok_or_else(|| EngineError::PageNotFound(raw.to_string()))?;
        Ok(QueryAnswer {
            total: 1,
            offset,
            found: Found::Page {
                page: Box::new(PageView::new(page, max_chars)),
            },
        })
    }

    /// Links, optionally from one page, external or internal.
    async fn links(&self, tenant: &TenantId, req: &QueryRequest) -> Result<QueryAnswer> {
        let store = &self.platform.store;
        let offset = req.offset.unwrap_or(0);
        let limit = bounded("limit", req.limit, 50, 1, 500)?;
        let from = req
            .url
            .as_deref()
            .map(|u| {
                url::Url::parse(u)
                    .map(|p| normalize(&p).to_string())
                    .map_err(|e| EngineError::InvalidUrl(format!("`{u}`: {e}")))
            })
            .transpose()?;
        let found = store
            .list_links(
                tenant,
                &LinkQuery {
                    job_id: req.job_id.clone(),
                    external: req.external,
                    from_url: from,
                    to_url: None,
                    offset,
                    limit,
                },
            )
            .await?;
        Ok(QueryAnswer {
            total: found.total,
            offset,
            found: Found::Links {
                links: found
                    .items
                    .into_iter()
                    .map(|mut l| {
                        l.job_id = public_job_id(&l.job_id).to_string();
                        l
                    })
                    .collect(),
            },
        })
    }

    /// The site's pages sorted by path, and as an outline.
    async fn site_map(&self, tenant: &TenantId, req: &QueryRequest) -> Result<QueryAnswer> {
        let store = &self.platform.store;
        let offset = req.offset.unwrap_or(0);
        let limit = bounded("limit", req.limit, 500, 1, 1000)?;
        let found = store
            .list_pages(
                tenant,
                &PageQuery {
                    job_id: req.job_id.clone(),
                    outcome: PageOutcome::Ok,
                    offset,
                    limit,
                    ..Default::default()
                },
            )
            .await?;
        let mut entries: Vec<SiteMapEntry> = found
            .items
            .iter()
            .filter_map(|p| {
                let u = url::Url::parse(&p.url).ok()?;
                let path = match u.query() {
                    Some(q) => format!("{}?{q}", u.path()),
                    None => u.path().to_string(),
                };
                let level = u.path().split('/').filter(|s| !s.is_empty()).count();
                Some(SiteMapEntry {
                    url: p.url.clone(),
                    path,
                    title: p.title.clone(),
                    level,
                })
            })
            .collect();
        entries.sort_by(|a, b| (&a.path, &a.url).cmp(&(&b.path, &b.url)));
        let outline = entries
            .iter()
            .map(|e| {
                format!(
                    "{}- {} ({})",
                    "  ".repeat(e.level.saturating_sub(1)),
                    e.path,
                    e.title
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        Ok(QueryAnswer {
            total: found.total,
            offset,
            found: Found::SiteMap {
                site_map: entries,
                outline,
            },
        })
    }
}
