//! Passages and their vectors in MongoDB. Vectors are kept as little-endian f32 bytes; each
//! passage carries its index terms for keyword search (no text index needed: candidates are the
//! passages holding a query term, scored with BM25 here). Replacing a page's passages is done in
//! an order that is safe to repeat: delete, insert, log the change, then mark the page indexed.

use super::{collect, decode, encode, mongo_err, MongoStore};
use crate::error::{EngineError, Result};
use crate::store::keywords;
use crate::store::sqlite_chunks::{bytes_vector, vector_bytes};
use crate::store::PassageStore;
use crate::store::{ChunkRecord, PageRecord};
use crate::tenant::TenantId;
use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{doc, Binary, Bson, Document};

/// Most passages a keyword search scores.
const KEYWORD_CANDIDATES: i64 = 20_000;

fn chunk_doc(ch: &ChunkRecord) -> Result<Document> {
    let mut plain = ch.clone();
    let vector = std::mem::take(&mut plain.vector);
    let mut d = encode(&plain)?;
    d.insert("_id", ch.chunk_id.clone());
    d.insert(
        "vector",
        Binary {
            subtype: BinarySubtype::Generic,
            bytes: vector_bytes(&vector),
        },
    );
    let all = format!("{} {} {}", ch.title, ch.heading_path.join(" "), ch.text);
    d.insert("terms", keywords::terms(&all));
    d.insert("keyword_text", all);
    Ok(d)
}

/// A passage from its document; its vector when the query did not leave it out.
fn chunk_from(mut d: Document) -> Result<ChunkRecord> {
    let bytes = match d.remove("vector") {
        Some(Bson::Binary(b)) => b.bytes,
        _ => Vec::new(),
    };
    for k in ["_id", "terms", "keyword_text"] {
        d.remove(k);
    }
    let mut ch: ChunkRecord = decode(d)?;
    ch.vector = bytes_vector(&bytes);
    Ok(ch)
}

async fn chunks_from(cursor: mongodb::Cursor<Document>) -> Result<Vec<ChunkRecord>> {
    collect(cursor).await?.into_iter().map(chunk_from).collect()
}

fn int(d: &Document, k: &str) -> Result<i64> {
    d.get_i64(k)
        .or_else(|_| d.get_i32(k).map(i64::from))
        .map_err(|e| EngineError::Store(format!("{k}: {e}")))
}

#[async_trait::async_trait]
impl PassageStore for MongoStore {
    async fn replace_chunks(
        &self,
        tenant: &TenantId,
        job_id: &str,
        url: &str,
        chunks: Vec<ChunkRecord>,
    ) -> Result<()> {
        self.chunks
            .delete_many(doc! {"tenant_id": tenant.as_str(), "url": url})
            .await
            .map_err(mongo_err)?;
        if !chunks.is_empty() {
            let docs = chunks.iter().map(chunk_doc).collect::<Result<Vec<_>>>()?;
            self.chunks.insert_many(docs).await.map_err(mongo_err)?;
        }
        let seq = self.next_seq("chunk_changes", 1).await?;
        self.changes
            .insert_one(doc! {"_id": seq, "tenant_id": tenant.as_str(), "url": url})
            .await
            .map_err(mongo_err)?;
        self.pages
            .update_one(
                doc! {"job_id": job_id, "url": url},
                doc! {"$set": {"indexed": true}},
            )
            .await
            .map_err(mongo_err)?;
        Ok(())
    }

    async fn unindexed_pages(&self, limit: usize) -> Result<Vec<PageRecord>> {
        let cursor = self
            .pages
            .find(doc! {"ok": true, "indexed": false})
            .sort(doc! {"seq": 1})
            .limit(limit as i64)
            .await
            .map_err(mongo_err)?;
        collect(cursor).await?.into_iter().map(decode).collect()
    }

    async fn chunk_changes_since(
        &self,
        seq: u64,
        limit: usize,
    ) -> Result<Vec<(u64, TenantId, String)>> {
        let cursor = self
            .changes
            .find(doc! {"_id": {"$gt": seq as i64}})
            .sort(doc! {"_id": 1})
            .limit(limit as i64)
            .await
            .map_err(mongo_err)?;
        collect(cursor)
            .await?
            .into_iter()
            .map(|d| {
                Ok((
                    int(&d, "_id")? as u64,
                    TenantId::new(d.get_str("tenant_id").unwrap_or_default()),
                    d.get_str("url").unwrap_or_default().to_string(),
                ))
            })
            .collect()
    }

    async fn chunk_change_seq(&self) -> Result<u64> {
        let last = self
            .changes
            .find_one(doc! {})
            .sort(doc! {"_id": -1})
            .await
            .map_err(mongo_err)?;
        Ok(match last {
            Some(d) => int(&d, "_id")? as u64,
            None => 0,
        })
    }

    async fn page_chunks(&self, tenant: &TenantId, url: &str) -> Result<Vec<ChunkRecord>> {
        let cursor = self
            .chunks
            .find(doc! {"tenant_id": tenant.as_str(), "url": url})
            .sort(doc! {"index": 1})
            .await
            .map_err(mongo_err)?;
        chunks_from(cursor).await
    }

    async fn indexed_pages(&self, job_id: &str) -> Result<u64> {
        self.pages
            .count_documents(doc! {"job_id": job_id, "ok": true, "indexed": true})
            .await
            .map_err(mongo_err)
    }

    async fn all_chunk_vectors(&self) -> Result<Vec<ChunkRecord>> {
        let cursor = self
            .chunks
            .find(doc! {})
            .projection(doc! {"terms": 0, "keyword_text": 0})
            .await
            .map_err(mongo_err)?;
        chunks_from(cursor).await
    }

    async fn get_chunks(&self, tenant: &TenantId, ids: Vec<String>) -> Result<Vec<ChunkRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let cursor = self
            .chunks
            .find(doc! {"tenant_id": tenant.as_str(), "_id": {"$in": ids}})
            .projection(doc! {"vector": 0, "terms": 0, "keyword_text": 0})
            .await
            .map_err(mongo_err)?;
        chunks_from(cursor).await
    }

    async fn keyword_search(
        &self,
        tenant: &TenantId,
        text: &str,
        job_id: Option<&str>,
        site: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, f64)>> {
        let query = keywords::terms(text);
        if query.is_empty() {
            return Ok(Vec::new());
        }
        let mut scope = doc! {"tenant_id": tenant.as_str()};
        if let Some(j) = job_id {
            scope.insert("job_id", j);
        }
        if let Some(s) = site {
            scope.insert("site", s);
        }
        let total = self
            .chunks
            .count_documents(scope.clone())
            .await
            .map_err(mongo_err)?;
        let mut filter = scope;
        filter.insert("terms", doc! {"$in": query.clone()});
        let cursor = self
            .chunks
            .find(filter)
            .projection(doc! {"_id": 1, "keyword_text": 1})
            .limit(KEYWORD_CANDIDATES)
            .await
            .map_err(mongo_err)?;
        let candidates: Vec<(String, String)> = collect(cursor)
            .await?
            .into_iter()
            .map(|d| {
                (
                    d.get_str("_id").unwrap_or_default().to_string(),
                    d.get_str("keyword_text").unwrap_or_default().to_string(),
                )
            })
            .collect();
        let mut scored = keywords::bm25(&query, &candidates, total);
        scored.truncate(limit);
        Ok(scored)
    }

    async fn chunk_models(&self, tenant: &TenantId) -> Result<Vec<(String, u32)>> {
        let cursor = self
            .chunks
            .aggregate(vec![
                doc! {"$match": {"tenant_id": tenant.as_str()}},
                doc! {"$group": {"_id": {"model": "$model", "dimension": "$dimension"}}},
            ])
            .await
            .map_err(mongo_err)?;
        let mut out: Vec<(String, u32)> = collect(cursor)
            .await?
            .into_iter()
            .filter_map(|d| {
                let id = d.get_document("_id").ok()?;
                let model = id.get_str("model").ok()?.to_string();
                let dim = int(id, "dimension").ok()?;
                Some((model, dim as u32))
            })
            .collect();
        out.sort();
        Ok(out)
    }
}
