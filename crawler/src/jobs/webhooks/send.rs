//! The sender: every process running jobs takes due deliveries from the store (each held by one
//! sender at a time), POSTs them signed through the network policy, and records each attempt;
//! a delivery that fails is tried again later (see [`DeliveryRecord::record`]), across
//! restarts, until it is delivered or a day has passed.

use super::sign;
use crate::fetch::Fetcher;
use platform::store::now_secs;
use platform::webhooks::{DeliveryAttempt, DeliveryRecord};
use platform::Platform;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use url::Url;

/// How often the sender looks for due deliveries.
const POLL: Duration = Duration::from_millis(250);
/// How long a receiver has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a sender holds a delivery it took (its attempt's timeout, and a margin).
const LEASE_SECS: f64 = 30.0;
/// Deliveries sent at once.
const BATCH: usize = 16;

/// Send due deliveries until shutdown.
pub async fn send_loop(platform: Arc<Platform>, fetcher: Fetcher, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(POLL) => {}
        }
        let now = now_secs();
        let due = match platform
            .store
            .claim_deliveries(now, now + LEASE_SECS, BATCH)
            .await
        {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "webhook deliveries cannot be read; retrying");
                continue;
            }
        };
        let mut sending = JoinSet::new();
        for d in due {
            let (platform, fetcher) = (platform.clone(), fetcher.clone());
            let span = tracing::info_span!(
                "webhook",
                delivery = %d.delivery_id,
                event = d.event.as_str(),
                job_id = %platform::tenant::public_job_id(&d.job_id)
            );
            sending.spawn(async move { deliver(&platform, &fetcher, d).await }.instrument(span));
        }
        while sending.join_next().await.is_some() {}
    }
}

/// One attempt at one delivery, recorded in the store.
async fn deliver(platform: &Platform, fetcher: &Fetcher, mut d: DeliveryRecord) {
    let attempt = attempt(fetcher, &d).await;
    match (&attempt.status_code, &attempt.error) {
        (Some(s), _) if (200..300).contains(s) => {
            tracing::info!(status = s, "webhook delivered")
        }
        (s, e) => tracing::warn!(status = ?s, error = ?e, "webhook not delivered; retried later"),
    }
    d.record(attempt);
    if let Err(e) = platform.store.save_delivery(d).await {
        tracing::warn!(error = %e, "webhook attempt not recorded; it is sent again");
    }
}

/// POST the delivery's payload, signed now.
async fn attempt(fetcher: &Fetcher, d: &DeliveryRecord) -> DeliveryAttempt {
    let at = now_secs();
    let started = std::time::Instant::now();
    let timestamp = at as u64;
    let headers = [
        (sign::ID_HEADER, d.delivery_id.clone()),
        (sign::EVENT_HEADER, d.event.as_str().to_string()),
        (sign::TIMESTAMP_HEADER, timestamp.to_string()),
        (
            sign::SIGNATURE_HEADER,
            sign::signature(&d.secret, timestamp, &d.payload),
        ),
    ];
    let result = match Url::parse(&d.url) {
        Ok(url) => tokio::time::timeout(TIMEOUT, fetcher.post(&url, &headers, d.payload.clone()))
            .await
            .unwrap_or(Err(crate::fetch::FetchError::Timeout(TIMEOUT))),
        Err(e) => Err(crate::fetch::FetchError::InvalidUrl(e.to_string())),
    };
    let (status_code, error) = match result {
        Ok(s) if (200..300).contains(&s) => (Some(s), None),
        Ok(s) => (Some(s), Some(format!("the receiver answered {s}"))),
        Err(e) => (None, Some(e.to_string())),
    };
    DeliveryAttempt {
        at,
        status_code,
        error,
        duration_ms: started.elapsed().as_millis() as u64,
    }
}
