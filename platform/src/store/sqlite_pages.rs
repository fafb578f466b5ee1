//! Pages and links in the embedded store: unique per job and URL (and per job, source and
//! target for links), so a job step repeated after a redelivery stores nothing twice.

use super::sqlite::SqliteStore;
use super::{collections, LinkQuery, LinkRecord, PageOutcome, PageQuery, PageRecord, Paged};
use crate::error::Result;
use crate::store::PageStore;
use crate::tenant::TenantId;
use rusqlite::{params, OptionalExtension};
use serde::de::DeserializeOwned;

fn decode<T: DeserializeOwned>(doc: String) -> rusqlite::Result<T> {
    serde_json::from_str(&doc).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

fn encode<T: serde::Serialize>(v: &T) -> rusqlite::Result<String> {
    serde_json::to_string(v).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

/// Escape `%`, `_` and `\` for a LIKE pattern with `ESCAPE '\'`.
fn like(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for ch in s.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

#[async_trait::async_trait]
impl PageStore for SqliteStore {
    async fn put_page(&self, page: PageRecord) -> Result<bool> {
        self.with(move |c| {
            let doc = encode(&page)?;
            let n = c.execute(
                &format!(
                    "INSERT OR IGNORE INTO {} (job_id, tenant_id, url, ok, fetched_at, doc)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    collections::PAGES
                ),
                params![
                    page.job_id,
                    page.tenant_id.as_str(),
                    page.url,
                    page.ok,
                    page.fetched_at,
                    doc
                ],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn has_page(&self, job_id: &str, url: &str) -> Result<bool> {
        let (job, url) = (job_id.to_string(), url.to_string());
        self.with(move |c| {
            c.query_row(
                &format!(
                    "SELECT 1 FROM {} WHERE job_id = ?1 AND url = ?2",
                    collections::PAGES
                ),
                params![job, url],
                |_| Ok(()),
            )
            .optional()
            .map(|r| r.is_some())
        })
        .await
    }

    async fn get_page(
        &self,
        tenant: &TenantId,
        job_id: Option<&str>,
        url: &str,
    ) -> Result<Option<PageRecord>> {
        let (tenant, job, url) = (
            tenant.as_str().to_string(),
            job_id.map(str::to_string),
            url.to_string(),
        );
        self.with(move |c| {
            c.query_row(
                &format!(
                    "SELECT doc FROM {} WHERE tenant_id = ?1 AND url = ?2
                     AND (?3 IS NULL OR job_id = ?3) ORDER BY seq DESC LIMIT 1",
                    collections::PAGES
                ),
                params![tenant, url, job],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .map(decode)
            .transpose()
        })
        .await
    }

    async fn list_pages(&self, tenant: &TenantId, q: &PageQuery) -> Result<Paged<PageRecord>> {
        let tenant = tenant.as_str().to_string();
        let q = q.clone();
        self.with(move |c| {
            let ok: Option<bool> = match q.outcome {
                PageOutcome::All => None,
                PageOutcome::Ok => Some(true),
                PageOutcome::Failed => Some(false),
            };
            let filter = format!(
                "FROM {} WHERE tenant_id = ?1 AND (?2 IS NULL OR job_id = ?2)
                 AND (?3 IS NULL OR ok = ?3)
                 AND (?4 IS NULL OR url LIKE ?4 ESCAPE '\\')
                 AND (?5 IS NULL OR json_extract(doc, '$.title') LIKE ?5 ESCAPE '\\'
                      OR json_extract(doc, '$.markdown') LIKE ?5 ESCAPE '\\')",
                collections::PAGES
            );
            let url = q.url_contains.as_deref().map(like);
            let text = q.text.as_deref().map(like);
            let total: i64 = c.query_row(
                &format!("SELECT COUNT(*) {filter}"),
                params![tenant, q.job_id, ok, url, text],
                |r| r.get(0),
            )?;
            let mut stmt = c.prepare(&format!(
                "SELECT doc {filter} ORDER BY seq LIMIT ?6 OFFSET ?7"
            ))?;
            let rows = stmt.query_map(
                params![
                    tenant,
                    q.job_id,
                    ok,
                    url,
                    text,
                    q.limit as i64,
                    q.offset as i64
                ],
                |r| r.get::<_, String>(0),
            )?;
            let items = rows
                .map(|r| r.and_then(decode))
                .collect::<rusqlite::Result<_>>()?;
            Ok(Paged {
                items,
                total: total as u64,
            })
        })
        .await
    }

    async fn put_links(&self, links: Vec<LinkRecord>) -> Result<usize> {
        if links.is_empty() {
            return Ok(0);
        }
        self.with_tx(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "INSERT OR IGNORE INTO {} (job_id, tenant_id, from_url, to_url, external, doc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                collections::LINKS
            ))?;
            let mut n = 0;
            for l in &links {
                n += stmt.execute(params![
                    l.job_id,
                    l.tenant_id.as_str(),
                    l.from_url,
                    l.to_url,
                    l.external,
                    encode(l)?
                ])?;
            }
            Ok(n)
        })
        .await
    }

    async fn list_links(&self, tenant: &TenantId, q: &LinkQuery) -> Result<Paged<LinkRecord>> {
        let tenant = tenant.as_str().to_string();
        let q = q.clone();
        self.with(move |c| {
            let filter = format!(
                "FROM {} WHERE tenant_id = ?1 AND (?2 IS NULL OR job_id = ?2)
                 AND (?3 IS NULL OR external = ?3) AND (?4 IS NULL OR from_url = ?4)
                 AND (?5 IS NULL OR to_url = ?5)",
                collections::LINKS
            );
            let total: i64 = c.query_row(
                &format!("SELECT COUNT(*) {filter}"),
                params![tenant, q.job_id, q.external, q.from_url, q.to_url],
                |r| r.get(0),
            )?;
            let mut stmt = c.prepare(&format!(
                "SELECT doc {filter} ORDER BY seq LIMIT ?6 OFFSET ?7"
            ))?;
            let rows = stmt.query_map(
                params![
                    tenant,
                    q.job_id,
                    q.external,
                    q.from_url,
                    q.to_url,
                    q.limit as i64,
                    q.offset as i64
                ],
                |r| r.get::<_, String>(0),
            )?;
            let items = rows
                .map(|r| r.and_then(decode))
                .collect::<rusqlite::Result<_>>()?;
            Ok(Paged {
                items,
                total: total as u64,
            })
        })
        .await
    }
}
