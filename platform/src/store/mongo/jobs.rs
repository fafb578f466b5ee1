//! Jobs in MongoDB. A change to a job takes a short lease on its document (a lock token with an
//! expiry, set atomically by `findOneAndUpdate`), applies the change to what it read, and writes
//! it back under that token: two processes never lose each other's updates, a status entry is
//! appended once, and a crashed writer's lease runs out by itself.

use super::{collect, decode, encode, is_duplicate, mongo_err, MongoStore};
use crate::error::{EngineError, Result};
use crate::jobs::{JobRecord, JobStatus};
use crate::store::JobStore;
use crate::store::{now_secs, JobChange, JobUpdate};
use crate::tenant::TenantId;
use mongodb::bson::{doc, Bson, Document};
use mongodb::options::ReturnDocument;
use std::time::Duration;

/// How long a lease lasts when its holder never releases it.
const LEASE_SECS: f64 = 10.0;
/// How long a change waits for a lease before it gives up.
const LEASE_WAIT: Duration = Duration::from_secs(30);

fn strip(mut d: Document) -> Document {
    for k in ["_id", "frontier", "lock", "lock_until"] {
        d.remove(k);
    }
    d
}

impl MongoStore {
    /// Take the lease on a job and read it; `None` when there is no such job.
    async fn lease(&self, job_id: &str, token: &str) -> Result<Option<Document>> {
        let started = std::time::Instant::now();
        let mut pause = Duration::from_millis(2);
        loop {
            let now = now_secs();
            let taken = self
                .jobs
                .find_one_and_update(
                    doc! {"_id": job_id, "$or": [
                        {"lock": Bson::Null},
                        {"lock_until": {"$lt": now}},
                    ]},
                    doc! {"$set": {"lock": token, "lock_until": now + LEASE_SECS}},
                )
                .projection(doc! {"frontier": 0})
                .return_document(ReturnDocument::After)
                .await
                .map_err(mongo_err)?;
            if let Some(d) = taken {
                return Ok(Some(d));
            }
            let exists = self
                .jobs
                .find_one(doc! {"_id": job_id})
                .projection(doc! {"_id": 1})
                .await
                .map_err(mongo_err)?
                .is_some();
            if !exists {
                return Ok(None);
            }
            if started.elapsed() > LEASE_WAIT {
                return Err(EngineError::Store(format!(
                    "job '{job_id}' stayed locked by another writer for {}s",
                    LEASE_WAIT.as_secs()
                )));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }
}

impl MongoStore {
    /// Jobs matching `filter`, newest first, without their frontiers.
    async fn find_jobs(&self, filter: Document, limit: usize) -> Result<Vec<JobRecord>> {
        let cursor = self
            .jobs
            .find(filter)
            .projection(doc! {"frontier": 0})
            .sort(doc! {"created_at": -1, "_id": 1})
            .limit(limit.min(i64::MAX as usize) as i64)
            .await
            .map_err(mongo_err)?;
        collect(cursor)
            .await?
            .into_iter()
            .map(|d| decode(strip(d)))
            .collect()
    }
}

#[async_trait::async_trait]
impl JobStore for MongoStore {
    async fn insert_job(&self, job: JobRecord) -> Result<()> {
        let mut d = encode(&job)?;
        d.insert("_id", job.job_id.clone());
        match self.jobs.insert_one(d).await {
            Ok(_) => Ok(()),
            Err(e) if is_duplicate(&e) => Err(EngineError::JobExists(job.job_id)),
            Err(e) => Err(mongo_err(e)),
        }
    }

    async fn get_job(&self, tenant: Option<&TenantId>, job_id: &str) -> Result<Option<JobRecord>> {
        let mut filter = doc! {"_id": job_id};
        if let Some(t) = tenant {
            filter.insert("tenant_id", t.as_str());
        }
        self.jobs
            .find_one(filter)
            .projection(doc! {"frontier": 0})
            .await
            .map_err(mongo_err)?
            .map(|d| decode(strip(d)))
            .transpose()
    }

    async fn list_jobs(
        &self,
        tenant: Option<&TenantId>,
        statuses: &[JobStatus],
        limit: usize,
    ) -> Result<Vec<JobRecord>> {
        let mut filter = Document::new();
        if let Some(t) = tenant {
            filter.insert("tenant_id", t.as_str());
        }
        if !statuses.is_empty() {
            let s: Vec<Bson> = statuses.iter().map(|s| Bson::from(s.as_str())).collect();
            filter.insert("status", doc! {"$in": s});
        }
        self.find_jobs(filter, limit).await
    }

    async fn list_jobs_from(
        &self,
        tenant: &TenantId,
        start_url: &str,
        limit: usize,
    ) -> Result<Vec<JobRecord>> {
        let filter = doc! {"tenant_id": tenant.as_str(), "options.start_url": start_url};
        self.find_jobs(filter, limit).await
    }

    async fn update_job(
        &self,
        job_id: &str,
        frontier: Option<String>,
        change: JobChange,
    ) -> Result<JobUpdate> {
        let token = uuid::Uuid::new_v4().to_string();
        let Some(d) = self.lease(job_id, &token).await? else {
            return Ok(JobUpdate::Missing);
        };
        let release = doc! {"$unset": {"lock": "", "lock_until": ""}};
        let mut job: JobRecord = match decode(strip(d)) {
            Ok(j) => j,
            Err(e) => {
                let _ = self
                    .jobs
                    .update_one(doc! {"_id": job_id, "lock": &token}, release)
                    .await;
                return Err(e);
            }
        };
        if !change(&mut job) {
            self.jobs
                .update_one(doc! {"_id": job_id, "lock": &token}, release)
                .await
                .map_err(mongo_err)?;
            return Ok(JobUpdate::Unchanged(job));
        }
        job.updated_at = now_secs();
        let mut set = encode(&job)?;
        if let Some(f) = frontier {
            set.insert("frontier", f);
        }
        let r = self
            .jobs
            .update_one(
                doc! {"_id": job_id, "lock": &token},
                doc! {"$set": set, "$unset": {"lock": "", "lock_until": ""}},
            )
            .await
            .map_err(mongo_err)?;
        if r.matched_count == 0 {
            return Err(EngineError::Store(format!(
                "job '{job_id}': the change took longer than its {LEASE_SECS}s lease and was not written"
            )));
        }
        Ok(JobUpdate::Updated(job))
    }

    async fn load_frontier(&self, job_id: &str) -> Result<Option<String>> {
        let d = self
            .jobs
            .find_one(doc! {"_id": job_id})
            .projection(doc! {"frontier": 1})
            .await
            .map_err(mongo_err)?;
        Ok(d.and_then(|d| d.get_str("frontier").ok().map(str::to_string)))
    }
}
