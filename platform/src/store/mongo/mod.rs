//! The production document store on MongoDB (`MONGODB_URI`): the collections
//! `brwsr_auto_svc_{sessions,jobs,pages,links,embeddings,webhooks}`, plus two small internal ones
//! (`brwsr_auto_svc_counters` for crawl-order sequence numbers and
//! `brwsr_auto_svc_embeddings_changes`, the passage change log other processes follow). One
//! pooled client per process; indexes are created at start, unique where a duplicate would be a
//! bug and led by the tenant id where a tenant reads.

mod chunks;
mod jobs;
mod pages;
mod webhooks;

use super::{collections, DocumentStore, SessionRecord, SessionStatus};
use crate::error::{EngineError, Result};
use crate::store::SessionStore;
use crate::tenant::TenantId;
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
    webhooks: Collection<Document>,
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
            webhooks: db.collection(collections::WEBHOOKS),
            db,
        };
        store.ping().await?;
        store.create_indexes().await?;
        Ok(store)
    }

    async fn create_indexes(&self) -> Result<()> {
        let plan: [(&Collection<Document>, Vec<IndexModel>); 6] = [
            (
                &self.sessions,
                vec![
                    index(doc! {"tenant_id": 1, "room_name": 1}, true),
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
            (
                &self.webhooks,
                vec![
                    index(doc! {"status": 1, "next_attempt_at": 1}, false),
                    index(doc! {"job_id": 1, "created_at": 1}, false),
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

    /// Ask the server for a round trip.
    async fn ping(&self) -> Result<()> {
        self.db
            .run_command(doc! {"ping": 1})
            .await
            .map(|_| ())
            .map_err(mongo_err)
    }
}

#[async_trait::async_trait]
impl DocumentStore for MongoStore {
    fn backend(&self) -> &'static str {
        "mongodb"
    }

    async fn health(&self) -> Result<()> {
        self.ping().await
    }
}

#[async_trait::async_trait]
impl SessionStore for MongoStore {
    async fn put_session(&self, record: SessionRecord) -> Result<()> {
        // Keyed by (tenant, room name): two tenants' rooms of the same name are two records.
        let d = encode(&record)?;
        self.sessions
            .replace_one(
                doc! {"tenant_id": record.tenant_id.as_str(), "room_name": &record.room_name},
                d,
            )
            .upsert(true)
            .await
            .map_err(mongo_err)?;
        Ok(())
    }

    async fn get_session(
        &self,
        tenant: &TenantId,
        room_name: &str,
    ) -> Result<Option<SessionRecord>> {
        self.sessions
            .find_one(doc! {"tenant_id": tenant.as_str(), "room_name": room_name})
            .await
            .map_err(mongo_err)?
            .map(decode)
            .transpose()
    }

    async fn list_sessions(
        &self,
        tenant: &TenantId,
        status: Option<SessionStatus>,
    ) -> Result<Vec<SessionRecord>> {
        let mut filter = doc! {"tenant_id": tenant.as_str()};
        if let Some(s) = status {
            filter.insert("status", s.as_str());
        }
        let cursor = self
            .sessions
            .find(filter)
            .sort(doc! {"updated_at": -1})
            .limit(1000)
            .await
            .map_err(mongo_err)?;
        collect(cursor).await?.into_iter().map(decode).collect()
    }

    async fn fail_open_sessions(&self, reason: &str) -> Result<usize> {
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
