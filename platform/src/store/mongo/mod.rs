//! The production document store on MongoDB (`MONGODB_URI`): the collections
//! `brwsr_auto_svc_{sessions,jobs,pages,links,embeddings}`, plus two small internal ones
//! (`brwsr_auto_svc_counters` for crawl-order sequence numbers and
//! `brwsr_auto_svc_embeddings_changes`, the passage change log other processes follow). One
//! pooled client per process; indexes are created at start, unique where a duplicate would be a
//! bug and led by the tenant id where a tenant reads.

mod chunks;
mod jobs;
mod pages;

use super::{
    collections, ChunkRecord, DocumentStore, JobChange, JobUpdate, LinkQuery, LinkRecord,
    PageQuery, PageRecord, Paged, SessionRecord, SessionStatus,
};
use crate::error::{EngineError, Result};
use crate::jobs::{JobRecord, JobStatus};
use crate::tenant::TenantId;
use futures::future::BoxFuture;
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use mongodb::options::{IndexOptions, ReturnDocument};
use mongodb::{Client, Collection, Database, IndexModel};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The default database name.
pub const DEFAULT_DATABASE: &str = "browser_automation_service";
/// The sequence counters.
const COUNTERS: &str = "brwsr_auto_svc_counters";
/// The passage change log.
const CHANGES: &str = "brwsr_auto_svc_embeddings_changes";

/// The MongoDB document store.
#[derive(Clone)]
pub struct MongoStore {
    db: Database,
    sessions: Collection<Document>,
    jobs: Collection<Document>,
    pages: Collection<Document>,
    links: Collection<Document>,
    chunks: Collection<Document>,
    changes: Collection<Document>,
    counters: Collection<Document>,
}

/// A store error from a driver error, without the connection string (it may hold a password).
pub(super) fn mongo_err(e: mongodb::error::Error) -> EngineError {
    EngineError::Store(format!("MongoDB: {}", redact(&e.to_string())))
}

/// Remove `user:password@` from any URI in a message.
pub(crate) fn redact(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '/' || c == '"')
            .unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(at) => {
                out.push_str("***@");
                rest = &tail[at + 1..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

pub(super) fn is_duplicate(e: &mongodb::error::Error) -> bool {
    use mongodb::error::{ErrorKind, WriteFailure};
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == 11000,
        _ => e.to_string().contains("E11000"),
    }
}

pub(super) fn encode<T: Serialize>(v: &T) -> Result<Document> {
    mongodb::bson::to_document(v).map_err(|e| EngineError::Store(format!("encode: {e}")))
}

pub(super) fn decode<T: DeserializeOwned>(d: Document) -> Result<T> {
    mongodb::bson::from_document(d).map_err(|e| EngineError::Store(format!("decode: {e}")))
}

pub(super) async fn collect(cursor: mongodb::Cursor<Document>) -> Result<Vec<Document>> {
    cursor.try_collect().await.map_err(mongo_err)
}

fn status_str(s: SessionStatus) -> &'static str {
    match s {
        SessionStatus::Active => "active",
        SessionStatus::Paused => "paused",
        SessionStatus::Failed => "failed",
        SessionStatus::Closed => "closed",
    }
}

fn index(keys: Document, unique: bool) -> IndexModel {
    IndexModel::builder()
        .keys(keys)
        .options(
            IndexOptions::builder()
                .unique(unique.then_some(true))
                .build(),
        )
        .build()
}

impl MongoStore {
    /// Connect (one pooled client), check the server answers, and create the indexes.
    pub async fn connect(uri: &str, database: &str) -> Result<Self> {
        let client = Client::with_uri_str(uri).await.map_err(mongo_err)?;
        let db = client.database(database);
        let store = Self {
            sessions: db.collection(collections::SESSIONS),
            jobs: db.collection(collections::JOBS),
            pages: db.collection(collections::PAGES),
            links: db.collection(collections::LINKS),
            chunks: db.collection(collections::EMBEDDINGS),
            changes: db.collection(CHANGES),
            counters: db.collection(COUNTERS),
            db,
        };
        store.health_impl().await?;
        store.create_indexes().await?;
        Ok(store)
    }

    async fn create_indexes(&self) -> Result<()> {
        let plan: [(&Collection<Document>, Vec<IndexModel>); 5] = [
            (
                &self.sessions,
                vec![
                    index(doc! {"tenant_id": 1, "updated_at": -1}, false),
                    index(doc! {"status": 1}, false),
                ],
            ),
            (
                &self.jobs,
                vec![
                    index(doc! {"tenant_id": 1, "status": 1, "created_at": -1}, false),
                    index(doc! {"status": 1, "created_at": -1}, false),
                ],
            ),
            (
                &self.pages,
                vec![
                    index(doc! {"job_id": 1, "url": 1}, true),
                    index(doc! {"tenant_id": 1, "job_id": 1, "seq": 1}, false),
                    index(doc! {"tenant_id": 1, "url": 1, "seq": -1}, false),
                    index(doc! {"ok": 1, "indexed": 1, "seq": 1}, false),
                ],
            ),
            (
                &self.links,
                vec![
                    index(doc! {"job_id": 1, "from_url": 1, "to_url": 1}, true),
                    index(
                        doc! {"tenant_id": 1, "job_id": 1, "external": 1, "seq": 1},
                        false,
                    ),
                ],
            ),
            (
                &self.chunks,
                vec![
                    index(doc! {"tenant_id": 1, "url": 1}, false),
                    index(doc! {"tenant_id": 1, "job_id": 1}, false),
                    index(doc! {"tenant_id": 1, "terms": 1}, false),
                ],
            ),
        ];
        for (coll, models) in plan {
            coll.create_indexes(models).await.map_err(mongo_err)?;
        }
        Ok(())
    }

    /// Reserve `n` numbers of a named sequence; returns the first.
    pub(super) async fn next_seq(&self, name: &str, n: u64) -> Result<i64> {
        let after = self
            .counters
            .find_one_and_update(doc! {"_id": name}, doc! {"$inc": {"seq": n as i64}})
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await
            .map_err(mongo_err)?
            .ok_or_else(|| EngineError::Store(format!("counter {name} missing")))?;
        let last = after
            .get_i64("seq")
            .or_else(|_| after.get_i32("seq").map(i64::from))
            .map_err(|e| EngineError::Store(format!("counter {name}: {e}")))?;
        Ok(last - n as i64 + 1)
    }

    async fn health_impl(&self) -> Result<()> {
        self.db
            .run_command(doc! {"ping": 1})
            .await
            .map(|_| ())
            .map_err(mongo_err)
    }
}

impl DocumentStore for MongoStore {
    fn backend(&self) -> &'static str {
        "mongodb"
    }

    fn put_session(&self, record: SessionRecord) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let mut d = encode(&record)?;
            d.insert("_id", record.room_name.clone());
            self.sessions
                .replace_one(doc! {"_id": &record.room_name}, d)
                .upsert(true)
                .await
                .map_err(mongo_err)?;
            Ok(())
        })
    }

    fn get_session<'a>(
        &'a self,
        tenant: &'a TenantId,
        room_name: &'a str,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>>> {
        Box::pin(async move {
            self.sessions
                .find_one(doc! {"_id": room_name, "tenant_id": tenant.as_str()})
                .await
                .map_err(mongo_err)?
                .map(decode)
                .transpose()
        })
    }

    fn list_sessions<'a>(
        &'a self,
        tenant: &'a TenantId,
        status: Option<SessionStatus>,
    ) -> BoxFuture<'a, Result<Vec<SessionRecord>>> {
        Box::pin(async move {
            let mut filter = doc! {"tenant_id": tenant.as_str()};
            if let Some(s) = status {
                filter.insert("status", status_str(s));
            }
            let cursor = self
                .sessions
                .find(filter)
                .sort(doc! {"updated_at": -1})
                .limit(1000)
                .await
                .map_err(mongo_err)?;
            collect(cursor).await?.into_iter().map(decode).collect()
        })
    }

    fn fail_open_sessions<'a>(&'a self, reason: &'a str) -> BoxFuture<'a, Result<usize>> {
        Box::pin(async move {
            let r = self
                .sessions
                .update_many(
                    doc! {"status": {"$in": ["active", "paused"]}},
                    doc! {"$set": {
                        "status": "failed",
                        "last_error": reason,
                        "updated_at": super::now_secs(),
                    }},
                )
                .await
                .map_err(mongo_err)?;
            Ok(r.modified_count as usize)
        })
    }

    fn health(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.health_impl())
    }

    fn insert_job(&self, job: JobRecord) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.insert_job_impl(job))
    }

    fn get_job<'a>(
        &'a self,
        tenant: Option<&'a TenantId>,
        job_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<JobRecord>>> {
        Box::pin(self.get_job_impl(tenant, job_id))
    }

    fn list_jobs<'a>(
        &'a self,
        tenant: Option<&'a TenantId>,
        statuses: &'a [JobStatus],
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<JobRecord>>> {
        Box::pin(self.list_jobs_impl(tenant, statuses, limit))
    }

    fn update_job<'a>(
        &'a self,
        job_id: &'a str,
        frontier: Option<String>,
        change: JobChange,
    ) -> BoxFuture<'a, Result<JobUpdate>> {
        Box::pin(self.update_job_impl(job_id, frontier, change))
    }

    fn load_frontier<'a>(&'a self, job_id: &'a str) -> BoxFuture<'a, Result<Option<String>>> {
        Box::pin(self.load_frontier_impl(job_id))
    }

    fn put_page(&self, page: PageRecord) -> BoxFuture<'_, Result<bool>> {
        Box::pin(self.put_page_impl(page))
    }

    fn has_page<'a>(&'a self, job_id: &'a str, url: &'a str) -> BoxFuture<'a, Result<bool>> {
        Box::pin(self.has_page_impl(job_id, url))
    }

    fn get_page<'a>(
        &'a self,
        tenant: &'a TenantId,
        job_id: Option<&'a str>,
        url: &'a str,
    ) -> BoxFuture<'a, Result<Option<PageRecord>>> {
        Box::pin(self.get_page_impl(tenant, job_id, url))
    }

    fn list_pages<'a>(
        &'a self,
        tenant: &'a TenantId,
        query: &'a PageQuery,
    ) -> BoxFuture<'a, Result<Paged<PageRecord>>> {
        Box::pin(self.list_pages_impl(tenant, query))
    }

    fn put_links(&self, links: Vec<LinkRecord>) -> BoxFuture<'_, Result<usize>> {
        Box::pin(self.put_links_impl(links))
    }

    fn list_links<'a>(
        &'a self,
        tenant: &'a TenantId,
        query: &'a LinkQuery,
    ) -> BoxFuture<'a, Result<Paged<LinkRecord>>> {
        Box::pin(self.list_links_impl(tenant, query))
    }

    fn replace_chunks<'a>(
        &'a self,
        tenant: &'a TenantId,
        job_id: &'a str,
        url: &'a str,
        chunks: Vec<ChunkRecord>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.replace_chunks_impl(tenant, job_id, url, chunks))
    }

    fn unindexed_pages(&self, limit: usize) -> BoxFuture<'_, Result<Vec<PageRecord>>> {
        Box::pin(self.unindexed_pages_impl(limit))
    }

    fn chunk_changes_since(
        &self,
        seq: u64,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<(u64, TenantId, String)>>> {
        Box::pin(self.chunk_changes_since_impl(seq, limit))
    }

    fn chunk_change_seq(&self) -> BoxFuture<'_, Result<u64>> {
        Box::pin(self.chunk_change_seq_impl())
    }

    fn page_chunks<'a>(
        &'a self,
        tenant: &'a TenantId,
        url: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ChunkRecord>>> {
        Box::pin(self.page_chunks_impl(tenant, url))
    }

    fn indexed_pages<'a>(&'a self, job_id: &'a str) -> BoxFuture<'a, Result<u64>> {
        Box::pin(self.indexed_pages_impl(job_id))
    }

    fn all_chunk_vectors(&self) -> BoxFuture<'_, Result<Vec<ChunkRecord>>> {
        Box::pin(self.all_chunk_vectors_impl())
    }

    fn get_chunks<'a>(
        &'a self,
        tenant: &'a TenantId,
        ids: Vec<String>,
    ) -> BoxFuture<'a, Result<Vec<ChunkRecord>>> {
        Box::pin(self.get_chunks_impl(tenant, ids))
    }

    fn keyword_search<'a>(
        &'a self,
        tenant: &'a TenantId,
        text: &'a str,
        job_id: Option<&'a str>,
        site: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<(String, f64)>>> {
        Box::pin(self.keyword_search_impl(tenant, text, job_id, site, limit))
    }

    fn chunk_models<'a>(
        &'a self,
        tenant: &'a TenantId,
    ) -> BoxFuture<'a, Result<Vec<(String, u32)>>> {
        Box::pin(self.chunk_models_impl(tenant))
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn credentials_are_removed_from_messages() {
        assert_eq!(
            redact("cannot reach mongodb://app:s3cret@db.example:27017/x (timeout)"),
            "cannot reach mongodb://***@db.example:27017/x (timeout)"
        );
        assert_eq!(redact("no uri here"), "no uri here");
        assert_eq!(
            redact("mongodb://h1:1,h2:2/?a=b"),
            "mongodb://h1:1,h2:2/?a=b"
        );
    }
}
