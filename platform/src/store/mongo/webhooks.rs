//! Webhook deliveries in MongoDB (`brwsr_auto_svc_webhooks`, keyed by delivery id). A sender
//! takes each delivery with `findOneAndUpdate`, so two processes never send one at once.

use super::{collect, decode, encode, is_duplicate, mongo_err, MongoStore};
use crate::error::Result;
use crate::store::WebhookStore;
use crate::webhooks::DeliveryRecord;
use mongodb::bson::{doc, Document};
use mongodb::options::ReturnDocument;

fn strip(mut d: Document) -> Document {
    d.remove("_id");
    d
}

#[async_trait::async_trait]
impl WebhookStore for MongoStore {
    async fn insert_delivery(&self, d: DeliveryRecord) -> Result<bool> {
        let mut doc = encode(&d)?;
        doc.insert("_id", d.delivery_id.clone());
        match self.webhooks.insert_one(doc).await {
            Ok(_) => Ok(true),
            Err(e) if is_duplicate(&e) => Ok(false),
            Err(e) => Err(mongo_err(e)),
        }
    }

    async fn claim_deliveries(
        &self,
        now: f64,
        lease_until: f64,
        limit: usize,
    ) -> Result<Vec<DeliveryRecord>> {
        let mut taken = Vec::new();
        while taken.len() < limit {
            let d = self
                .webhooks
                .find_one_and_update(
                    doc! {
                        "status": "pending",
                        "next_attempt_at": {"$lte": now},
                        "lease_until": {"$lte": now},
                    },
                    doc! {"$set": {"lease_until": lease_until}},
                )
                .sort(doc! {"next_attempt_at": 1})
                .return_document(ReturnDocument::After)
                .await
                .map_err(mongo_err)?;
            match d {
                Some(d) => taken.push(decode(strip(d))?),
                None => break,
            }
        }
        Ok(taken)
    }

    async fn save_delivery(&self, d: DeliveryRecord) -> Result<()> {
        let doc = encode(&d)?;
        self.webhooks
            .update_one(doc! {"_id": &d.delivery_id}, doc! {"$set": doc})
            .await
            .map_err(mongo_err)?;
        Ok(())
    }

    async fn list_deliveries(&self, job_id: &str, limit: usize) -> Result<Vec<DeliveryRecord>> {
        let cursor = self
            .webhooks
            .find(doc! {"job_id": job_id})
            .sort(doc! {"created_at": 1, "_id": 1})
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
