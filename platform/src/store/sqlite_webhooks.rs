//! Webhook deliveries in the embedded store. Claiming runs in an immediate transaction, so two
//! processes sharing the file never send the same delivery at once.

use super::sqlite::SqliteStore;
use super::{collections, WebhookStore};
use crate::error::Result;
use crate::webhooks::DeliveryRecord;
use rusqlite::params;

fn decode(doc: String) -> rusqlite::Result<DeliveryRecord> {
    serde_json::from_str(&doc).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

fn encode(d: &DeliveryRecord) -> rusqlite::Result<String> {
    serde_json::to_string(d).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

#[async_trait::async_trait]
impl WebhookStore for SqliteStore {
    async fn insert_delivery(&self, d: DeliveryRecord) -> Result<bool> {
        self.with(move |c| {
            let n = c.execute(
                &format!(
                    "INSERT OR IGNORE INTO {} (delivery_id, job_id, status, next_attempt_at,
                     lease_until, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    collections::WEBHOOKS
                ),
                params![
                    d.delivery_id,
                    d.job_id,
                    d.status.as_str(),
                    d.next_attempt_at,
                    d.lease_until,
                    encode(&d)?
                ],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn claim_deliveries(
        &self,
        now: f64,
        lease_until: f64,
        limit: usize,
    ) -> Result<Vec<DeliveryRecord>> {
        self.with_tx(move |c| {
            let w = collections::WEBHOOKS;
            let mut stmt = c.prepare_cached(&format!(
                "SELECT doc FROM {w} WHERE status = 'pending' AND next_attempt_at <= ?1
                 AND lease_until <= ?1 ORDER BY next_attempt_at LIMIT ?2"
            ))?;
            let docs = stmt
                .query_map(params![now, limit as i64], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut taken = Vec::with_capacity(docs.len());
            for doc in docs {
                let mut d = decode(doc)?;
                d.lease_until = lease_until;
                c.execute(
                    &format!("UPDATE {w} SET lease_until = ?2, doc = ?3 WHERE delivery_id = ?1"),
                    params![d.delivery_id, lease_until, encode(&d)?],
                )?;
                taken.push(d);
            }
            Ok(taken)
        })
        .await
    }

    async fn save_delivery(&self, d: DeliveryRecord) -> Result<()> {
        self.with(move |c| {
            c.execute(
                &format!(
                    "UPDATE {} SET status = ?2, next_attempt_at = ?3, lease_until = ?4, doc = ?5
                     WHERE delivery_id = ?1",
                    collections::WEBHOOKS
                ),
                params![
                    d.delivery_id,
                    d.status.as_str(),
                    d.next_attempt_at,
                    d.lease_until,
                    encode(&d)?
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn list_deliveries(&self, job_id: &str, limit: usize) -> Result<Vec<DeliveryRecord>> {
        let job = job_id.to_string();
        self.with(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT doc FROM {} WHERE job_id = ?1 ORDER BY seq LIMIT ?2",
                collections::WEBHOOKS
            ))?;
            let rows = stmt.query_map(params![job, limit as i64], |r| r.get::<_, String>(0))?;
            rows.map(|r| r.and_then(decode)).collect()
        })
        .await
    }
}
