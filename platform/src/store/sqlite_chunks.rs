//! Passages and their vectors in the embedded store, with an FTS5 index over their text for
//! keyword search. A page's passages are replaced in one transaction.

use super::sqlite::SqliteStore;
use super::{collections, ChunkRecord, PageRecord};
use crate::error::Result;
use crate::store::PassageStore;
use crate::tenant::TenantId;
use rusqlite::{params, Connection};

fn decode<T: serde::de::DeserializeOwned>(doc: String) -> rusqlite::Result<T> {
    serde_json::from_str(&doc).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

/// f32s as little-endian bytes.
pub(crate) fn vector_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Little-endian bytes back to f32s.
pub(crate) fn bytes_vector(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// FTS5 query from free text: every word quoted (so punctuation and operators are literal), any
/// word may match.
fn fts_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 1)
        .map(|w| format!("\"{}\"", w.to_lowercase()))
        .collect();
    (!words.is_empty()).then(|| words.join(" OR "))
}

/// Inside a transaction: drop a page's passages, insert the new ones (row and keyword index),
/// log the change for the vector index, and mark the page indexed.
fn replace_page_chunks(
    c: &Connection,
    tenant: &str,
    job: &str,
    url: &str,
    chunks: &[ChunkRecord],
) -> rusqlite::Result<()> {
    let e = collections::EMBEDDINGS;
    c.execute(
        &format!(
            "DELETE FROM {e}_fts WHERE chunk_id IN
             (SELECT chunk_id FROM {e} WHERE tenant_id = ?1 AND url = ?2)"
        ),
        params![tenant, url],
    )?;
    c.execute(
        &format!("DELETE FROM {e} WHERE tenant_id = ?1 AND url = ?2"),
        params![tenant, url],
    )?;
    for ch in chunks {
        insert_chunk(c, tenant, url, ch)?;
    }
    c.execute(
        &format!("INSERT INTO {e}_changes (tenant_id, url) VALUES (?1, ?2)"),
        params![tenant, url],
    )?;
    c.execute(
        &format!(
            "UPDATE {} SET indexed = 1 WHERE job_id = ?1 AND url = ?2",
            collections::PAGES
        ),
        params![job, url],
    )?;
    Ok(())
}

/// One passage: its row (the record as JSON, the vector as bytes) and its keyword-index entry.
fn insert_chunk(c: &Connection, tenant: &str, url: &str, ch: &ChunkRecord) -> rusqlite::Result<()> {
    let e = collections::EMBEDDINGS;
    let mut doc = ch.clone();
    let vector = std::mem::take(&mut doc.vector);
    let json = serde_json::to_string(&doc)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    c.prepare_cached(&format!(
        "INSERT INTO {e} (chunk_id, tenant_id, job_id, url, site, model, dimension, doc, vector)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    ))?
    .execute(params![
        ch.chunk_id,
        tenant,
        ch.job_id,
        url,
        ch.site,
        ch.model,
        ch.dimension,
        json,
        vector_bytes(&vector)
    ])?;
    c.prepare_cached(&format!(
        "INSERT INTO {e}_fts (chunk_id, tenant_id, job_id, site, title, heading, text)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
    ))?
    .execute(params![
        ch.chunk_id,
        tenant,
        ch.job_id,
        ch.site,
        ch.title,
        ch.heading_path.join(" > "),
        ch.text
    ])?;
    Ok(())
}

#[async_trait::async_trait]
impl PassageStore for SqliteStore {
    async fn replace_chunks(
        &self,
        tenant: &TenantId,
        job_id: &str,
        url: &str,
        chunks: Vec<ChunkRecord>,
    ) -> Result<()> {
        let (tenant, job, url) = (
            tenant.as_str().to_string(),
            job_id.to_string(),
            url.to_string(),
        );
        self.with_tx(move |c| replace_page_chunks(c, &tenant, &job, &url, &chunks))
            .await
    }

    async fn unindexed_pages(&self, limit: usize) -> Result<Vec<PageRecord>> {
        self.with(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT doc FROM {} WHERE ok = 1 AND indexed = 0 ORDER BY seq LIMIT ?1",
                collections::PAGES
            ))?;
            let rows = stmt.query_map(params![limit as i64], |r| r.get::<_, String>(0))?;
            rows.map(|r| r.and_then(decode)).collect()
        })
        .await
    }

    async fn chunk_changes_since(
        &self,
        seq: u64,
        limit: usize,
    ) -> Result<Vec<(u64, TenantId, String)>> {
        self.with(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT seq, tenant_id, url FROM {}_changes WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                collections::EMBEDDINGS
            ))?;
            let rows = stmt.query_map(params![seq as i64, limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)? as u64,
                    TenantId::new(r.get::<_, String>(1)?),
                    r.get::<_, String>(2)?,
                ))
            })?;
            rows.collect()
        })
        .await
    }

    async fn chunk_change_seq(&self) -> Result<u64> {
        self.with(move |c| {
            c.query_row(
                &format!(
                    "SELECT COALESCE(MAX(seq), 0) FROM {}_changes",
                    collections::EMBEDDINGS
                ),
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
        })
        .await
    }

    async fn page_chunks(&self, tenant: &TenantId, url: &str) -> Result<Vec<ChunkRecord>> {
        let (tenant, url) = (tenant.as_str().to_string(), url.to_string());
        self.with(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT doc, vector FROM {} WHERE tenant_id = ?1 AND url = ?2",
                collections::EMBEDDINGS
            ))?;
            let rows = stmt.query_map(params![tenant, url], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
            })?;
            let mut out: Vec<ChunkRecord> = rows
                .map(|r| {
                    r.and_then(|(doc, v)| {
                        let mut ch: ChunkRecord = decode(doc)?;
                        ch.vector = bytes_vector(&v);
                        Ok(ch)
                    })
                })
                .collect::<rusqlite::Result<_>>()?;
            out.sort_by_key(|c| c.index);
            Ok(out)
        })
        .await
    }

    async fn indexed_pages(&self, job_id: &str) -> Result<u64> {
        let job = job_id.to_string();
        self.with(move |c| {
            c.query_row(
                &format!(
                    "SELECT COUNT(*) FROM {} WHERE job_id = ?1 AND ok = 1 AND indexed = 1",
                    collections::PAGES
                ),
                params![job],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
        })
        .await
    }

    async fn all_chunk_vectors(&self) -> Result<Vec<ChunkRecord>> {
        self.with(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT doc, vector FROM {}",
                collections::EMBEDDINGS
            ))?;
            let rows = stmt.query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
            })?;
            rows.map(|r| {
                r.and_then(|(doc, v)| {
                    let mut ch: ChunkRecord = decode(doc)?;
                    ch.vector = bytes_vector(&v);
                    Ok(ch)
                })
            })
            .collect()
        })
        .await
    }

    async fn get_chunks(&self, tenant: &TenantId, ids: Vec<String>) -> Result<Vec<ChunkRecord>> {
        let tenant = tenant.as_str().to_string();
        self.with(move |c| {
            let ids_json = serde_json::to_string(&ids)
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
            let mut stmt = c.prepare(&format!(
                "SELECT doc FROM {} WHERE tenant_id = ?1 AND chunk_id IN (SELECT value FROM json_each(?2))",
                collections::EMBEDDINGS
            ))?;
            let rows = stmt.query_map(params![tenant, ids_json], |r| r.get::<_, String>(0))?;
            rows.map(|r| r.and_then(decode)).collect()
        })
        .await
    }

    async fn keyword_search(
        &self,
        tenant: &TenantId,
        text: &str,
        job_id: Option<&str>,
        site: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, f64)>> {
        let Some(q) = fts_query(text) else {
            return Ok(Vec::new());
        };
        let tenant = tenant.as_str().to_string();
        let (job, site) = (job_id.map(str::to_string), site.map(str::to_string));
        self.with(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT chunk_id, bm25({e}_fts) FROM {e}_fts WHERE {e}_fts MATCH ?1
                 AND tenant_id = ?2 AND (?3 IS NULL OR job_id = ?3) AND (?4 IS NULL OR site = ?4)
                 ORDER BY bm25({e}_fts) LIMIT ?5",
                e = collections::EMBEDDINGS
            ))?;
            let rows = stmt.query_map(params![q, tenant, job, site, limit as i64], |r| {
                Ok((r.get::<_, String>(0)?, -r.get::<_, f64>(1)?))
            })?;
            rows.collect()
        })
        .await
    }

    async fn chunk_models(&self, tenant: &TenantId) -> Result<Vec<(String, u32)>> {
        let tenant = tenant.as_str().to_string();
        self.with(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT DISTINCT model, dimension FROM {} WHERE tenant_id = ?1",
                collections::EMBEDDINGS
            ))?;
            let rows = stmt.query_map(params![tenant], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_round_trip_and_keyword_queries_are_literal() {
        let v = vec![0.5f32, -1.25, 3.0e-7];
        assert_eq!(bytes_vector(&vector_bytes(&v)), v);
        assert_eq!(
            fts_query("How do I \"install\" it? NEAR(x)").as_deref(),
            Some("\"how\" OR \"do\" OR \"install\" OR \"it\" OR \"near\"")
        );
        assert_eq!(fts_query("? !"), None);
    }
}
