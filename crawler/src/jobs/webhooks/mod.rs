//! Results pushed, not only polled: a job started with a `webhook` has its events
//! (`job.started`, `job.completed`, `job.failed` and, when asked, `page.completed`) stored as
//! deliveries when they happen ([`job_event`], [`page_completed`]) and sent, signed
//! ([`sign`]), by every process running jobs ([`send`]).

pub mod send;
pub mod sign;

use super::JobView;
use platform::jobs::JobRecord;
use platform::netguard::{self, NetPolicy};
use platform::store::{now_secs, PageChange, PageRecord};
use platform::tenant::public_job_id;
use platform::webhooks::{
    DeliveryAttempt, DeliveryRecord, DeliveryStatus, WebhookConfig, WebhookEvent,
};
use platform::{EngineError, Platform, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The shortest secret accepted.
pub const MIN_SECRET: usize = 16;

/// Where to push a job's events, as asked in a start body.
#[derive(Debug, Clone, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookRequest {
    /// The receiver: an http or https URL the service's network policy allows.
    #[schema(pattern = r"^https?://[A-Za-z0-9][A-Za-z0-9.-]{0,62}(:[1-9][0-9]{0,3})?(/[!-~]*)?$")]
    pub url: String,
    /// The key the HMAC-SHA256 signatures are made with: 16 to 256 characters.
    #[schema(min_length = 16, max_length = 256)]
    pub secret: String,
    /// Which of `job.started`, `job.completed`, `job.failed`, `page.completed` (default: the
    /// three job events).
    #[serde(default)]
    #[schema(min_items = 1)]
    pub events: Option<Vec<WebhookEvent>>,
}

/// A webhook as shown: its URL and events (never its secret), and its deliveries.
#[derive(Debug, Clone, Serialize, JsonSchema, utoipa::ToSchema)]
pub struct WebhookView {
    /// The receiver.
    pub url: String,
    /// The events sent.
    pub events: Vec<WebhookEvent>,
    /// Deliveries, oldest first (at most the first 200).
    pub deliveries: Vec<DeliveryView>,
}

/// One delivery as shown.
#[derive(Debug, Clone, Serialize, JsonSchema, utoipa::ToSchema)]
pub struct DeliveryView {
    /// The delivery (the `X-Webhook-Id` header).
    pub delivery_id: String,
    /// The event.
    pub event: WebhookEvent,
    /// `pending`, `delivered` or `failed`.
    pub status: DeliveryStatus,
    /// Every attempt, in order.
    pub attempts: Vec<DeliveryAttempt>,
    /// When the event happened.
    pub created_at: f64,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<f64>,
    /// When the receiver took it.
    pub delivered_at: Option<f64>,
}

impl From<DeliveryRecord> for DeliveryView {
    fn from(d: DeliveryRecord) -> Self {
        Self {
            next_attempt_at: (d.status == DeliveryStatus::Pending).then_some(d.next_attempt_at),
            delivery_id: d.delivery_id,
            event: d.event,
            status: d.status,
            attempts: d.attempts,
            created_at: d.created_at,
            delivered_at: d.delivered_at,
        }
    }
}

/// Check a webhook asked for at a job's start: an http(s) URL the network policy lets the
/// service reach (refused now rather than failing every delivery later), a secret long enough,
/// known events.
pub async fn check(
    req: Option<WebhookRequest>,
    policy: &NetPolicy,
) -> Result<Option<WebhookConfig>> {
    let Some(req) = req else { return Ok(None) };
    let url = netguard::parse_target(&req.url)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(EngineError::InvalidUrl(
            "`webhook.url` must be an http or https URL".into(),
        ));
    }
    netguard::check_url(&url, policy).await?;
    let len = req.secret.chars().count();
    if !(MIN_SECRET..=256).contains(&len) {
        return Err(EngineError::InvalidRequest(format!(
            "`webhook.secret` must be {MIN_SECRET} to 256 characters, not {len}"
        )));
    }
    let mut events = req.events.unwrap_or_else(|| WebhookEvent::DEFAULT.to_vec());
    if events.is_empty() {
        return Err(EngineError::InvalidRequest(
            "`webhook.events` must name at least one event".into(),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    events.retain(|e| seen.insert(*e));
    Ok(Some(WebhookConfig {
        url: url.to_string(),
        secret: req.secret,
        events,
    }))
}

/// The webhook of a job as shown, with its deliveries.
pub async fn view(platform: &Platform, job: &JobRecord) -> Result<Option<WebhookView>> {
    let Some(w) = &job.webhook else {
        return Ok(None);
    };
    let deliveries = platform.store.list_deliveries(&job.job_id, 200).await?;
    Ok(Some(WebhookView {
        url: w.url.clone(),
        events: w.events.clone(),
        deliveries: deliveries.into_iter().map(DeliveryView::from).collect(),
    }))
}

/// The job's webhook, if it has one that wants `event`.
fn wanting(job: &JobRecord, event: WebhookEvent) -> Option<&WebhookConfig> {
    job.webhook.as_ref().filter(|w| w.events.contains(&event))
}

/// Store a delivery of `event` for the webhook `w`. The delivery's id is derived from the job,
/// the event and `about` (a page's URL), so an event reported twice (a step repeated after a
/// takeover) is delivered once.
async fn enqueue(
    platform: &Platform,
    job: &JobRecord,
    w: &WebhookConfig,
    event: WebhookEvent,
    about: &str,
    body: serde_json::Value,
) {
    let key = format!("{}\n{}\n{about}", job.job_id, event.as_str());
    let delivery_id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, key.as_bytes()).to_string();
    let now = now_secs();
    let mut payload = json!({
        "id": delivery_id,
        "event": event.as_str(),
        "created_at": now,
    });
    if let (Some(p), serde_json::Value::Object(extra)) = (payload.as_object_mut(), body) {
        p.extend(extra);
    }
    let delivery = DeliveryRecord {
        delivery_id,
        tenant_id: job.tenant_id.clone(),
        job_id: job.job_id.clone(),
        event,
        url: w.url.clone(),
        secret: w.secret.clone(),
        payload: payload.to_string(),
        status: DeliveryStatus::Pending,
        attempts: Vec::new(),
        created_at: now,
        next_attempt_at: now,
        lease_until: 0.0,
        delivered_at: None,
    };
    if let Err(e) = platform.store.insert_delivery(delivery).await {
        tracing::warn!(error = %e, event = event.as_str(), "webhook delivery not stored");
    }
}

/// A job event (`job.started`, `job.completed`, `job.failed`), with the job as its status shows.
pub async fn job_event(platform: &Platform, job: &JobRecord, event: WebhookEvent) {
    let Some(w) = wanting(job, event) else { return };
    let body = json!({ "job": JobView::from_record(job, false) });
    enqueue(platform, job, w, event, "", body).await;
}

/// `page.completed`: a page of the job was stored (with content or with its error).
pub async fn page_completed(platform: &Platform, job: &JobRecord, page: &PageRecord) {
    // Every page of every job comes here: nothing is built for a job that sends no page events.
    let event = WebhookEvent::PageCompleted;
    let Some(w) = wanting(job, event) else { return };
    let body = json!({
        "job_id": public_job_id(&job.job_id),
        "page": {
            "url": page.url,
            "title": page.title,
            "ok": page.ok,
            "status_code": page.status_code,
            "word_count": page.word_count,
            "change": page.change.map(|c: PageChange| serde_json::to_value(c).unwrap_or_default()),
            "error": page.error,
        },
    });
    enqueue(platform, job, w, event, &page.url, body).await;
}
