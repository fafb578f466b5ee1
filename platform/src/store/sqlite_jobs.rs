//! Jobs in the embedded store. A change to a job runs in an immediate transaction, so two
//! processes sharing the file (a service and a worker) never lose each other's updates.

use super::sqlite::{store_err, SqliteStore};
use super::{collections, JobChange, JobUpdate};
use crate::error::{EngineError, Result};
use crate::jobs::{JobRecord, JobStatus};
use crate::store::JobStore;
use crate::tenant::TenantId;
use rusqlite::{params, Connection, OptionalExtension};

fn decode(doc: String) -> rusqlite::Result<JobRecord> {
    serde_json::from_str(&doc).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

fn encode(job: &JobRecord) -> rusqlite::Result<String> {
    serde_json::to_string(job).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

fn read(c: &Connection, job_id: &str) -> rusqlite::Result<Option<JobRecord>> {
    c.query_row(
        &format!("SELECT doc FROM {} WHERE job_id = ?1", collections::JOBS),
        params![job_id],
        |r| r.get::<_, String>(0),
    )
    .optional()?
    .map(decode)
    .transpose()
}

#[async_trait::async_trait]
impl JobStore for SqliteStore {
    async fn insert_job(&self, job: JobRecord) -> Result<()> {
        let id = job.job_id.clone();
        let inserted = self
            .with(move |c| {
                let doc = encode(&job)?;
                c.execute(
                    &format!(
                        "INSERT OR IGNORE INTO {} (job_id, tenant_id, status, created_at, doc)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        collections::JOBS
                    ),
                    params![
                        job.job_id,
                        job.tenant_id.as_str(),
                        job.status.as_str(),
                        job.created_at,
                        doc
                    ],
                )
            })
            .await?;
        if inserted == 0 {
            return Err(EngineError::JobExists(id));
        }
        Ok(())
    }

    async fn get_job(&self, tenant: Option<&TenantId>, job_id: &str) -> Result<Option<JobRecord>> {
        let tenant = tenant.map(|t| t.as_str().to_string());
        let id = job_id.to_string();
        let job = self.with(move |c| read(c, &id)).await?;
        Ok(job.filter(|j| tenant.as_deref().is_none_or(|t| j.tenant_id.as_str() == t)))
    }

    async fn list_jobs(
        &self,
        tenant: Option<&TenantId>,
        statuses: &[JobStatus],
        limit: usize,
    ) -> Result<Vec<JobRecord>> {
        let tenant = tenant.map(|t| t.as_str().to_string());
        let statuses: Vec<&'static str> = statuses.iter().map(|s| s.as_str()).collect();
        let wanted = serde_json::to_string(&statuses).map_err(store_err)?;
        self.with(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT doc FROM {} WHERE (?1 IS NULL OR tenant_id = ?1)
                 AND (?2 = '[]' OR status IN (SELECT value FROM json_each(?2)))
                 ORDER BY created_at DESC, job_id LIMIT ?3",
                collections::JOBS
            ))?;
            let rows = stmt.query_map(params![tenant, wanted, limit as i64], |r| {
                r.get::<_, String>(0)
            })?;
            rows.map(|r| r.and_then(decode)).collect()
        })
        .await
    }

    async fn list_jobs_from(
        &self,
        tenant: &TenantId,
        start_url: &str,
        limit: usize,
    ) -> Result<Vec<JobRecord>> {
        let (tenant, url) = (tenant.as_str().to_string(), start_url.to_string());
        self.with(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT doc FROM {} WHERE tenant_id = ?1
                 AND json_extract(doc, '$.options.start_url') = ?2
                 ORDER BY created_at DESC, job_id LIMIT ?3",
                collections::JOBS
            ))?;
            let rows = stmt.query_map(params![tenant, url, limit as i64], |r| {
                r.get::<_, String>(0)
            })?;
            rows.map(|r| r.and_then(decode)).collect()
        })
        .await
    }

    async fn update_job(
        &self,
        job_id: &str,
        frontier: Option<String>,
        change: JobChange,
    ) -> Result<JobUpdate> {
        let id = job_id.to_string();
        self.with_tx(move |c| {
            let Some(mut job) = read(c, &id)? else {
                return Ok(JobUpdate::Missing);
            };
            if !change(&mut job) {
                return Ok(JobUpdate::Unchanged(job));
            }
            job.updated_at = super::now_secs();
            let doc = encode(&job)?;
            c.execute(
                &format!(
                    "UPDATE {} SET status = ?2, doc = ?3, frontier = COALESCE(?4, frontier)
                     WHERE job_id = ?1",
                    collections::JOBS
                ),
                params![id, job.status.as_str(), doc, frontier],
            )?;
            Ok(JobUpdate::Updated(job))
        })
        .await
    }

    async fn load_frontier(&self, job_id: &str) -> Result<Option<String>> {
        let id = job_id.to_string();
        self.with(move |c| {
            Ok(c.query_row(
                &format!(
                    "SELECT frontier FROM {} WHERE job_id = ?1",
                    collections::JOBS
                ),
                params![id],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()?
            .flatten())
        })
        .await
    }
}
