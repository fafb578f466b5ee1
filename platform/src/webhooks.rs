//! Webhooks: where a job's events are pushed ([`WebhookConfig`]), and each delivery with its
//! attempts ([`DeliveryRecord`]), kept in the store (collection `brwsr_auto_svc_webhooks`) so
//! that a restart loses none. Retries back off exponentially for up to [`GIVE_UP_AFTER`].

use crate::tenant::TenantId;
use serde::{Deserialize, Serialize};

/// The first retry comes this long after a failed attempt; each next one twice as long after.
pub const FIRST_RETRY_SECS: f64 = 1.0;
/// The longest wait between two attempts.
pub const MAX_RETRY_SECS: f64 = 1800.0;
/// A delivery not made this long after its event is given up.
pub const GIVE_UP_AFTER: f64 = 24.0 * 3600.0;

/// What a webhook is told about.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    utoipa::ToSchema,
)]
pub enum WebhookEvent {
    /// The job's first run started.
    #[serde(rename = "job.started")]
    JobStarted,
    /// The job completed.
    #[serde(rename = "job.completed")]
    JobCompleted,
    /// The job failed for good.
    #[serde(rename = "job.failed")]
    JobFailed,
    /// A page was stored (only when asked for: there is one per page).
    #[serde(rename = "page.completed")]
    PageCompleted,
}

impl WebhookEvent {
    /// The events sent when a webhook names none.
    pub const DEFAULT: [WebhookEvent; 3] = [Self::JobStarted, Self::JobCompleted, Self::JobFailed];

    /// The event's name, as sent (`job.started`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::JobStarted => "job.started",
            Self::JobCompleted => "job.completed",
            Self::JobFailed => "job.failed",
            Self::PageCompleted => "page.completed",
        }
    }
}

/// Where a job's events are pushed: an HTTP(S) URL, the secret their signatures are made with,
/// and which events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookConfig {
    /// The receiver.
    pub url: String,
    /// The HMAC-SHA256 key (never shown back).
    pub secret: String,
    /// The events sent.
    pub events: Vec<WebhookEvent>,
}

/// Where a delivery is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not delivered yet; tried again at `next_attempt_at`.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Given up after [`GIVE_UP_AFTER`].
    Failed,
}

impl DeliveryStatus {
    /// The status as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }
}

/// One attempt to deliver.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, utoipa::ToSchema,
)]
pub struct DeliveryAttempt {
    /// When it was made (seconds since the Unix epoch).
    pub at: f64,
    /// The receiver's HTTP status, when it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    /// Why it failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
}

/// One event to deliver to one webhook, with its attempts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// Stable per job, event and page: the same event is stored (and sent) once.
    pub delivery_id: String,
    /// The owner.
    pub tenant_id: TenantId,
    /// The job (its stored key).
    pub job_id: String,
    /// What happened.
    pub event: WebhookEvent,
    /// Where it goes.
    pub url: String,
    /// The signing key.
    pub secret: String,
    /// The JSON body, as signed and sent.
    pub payload: String,
    /// Where it is.
    pub status: DeliveryStatus,
    /// Every attempt so far, in order.
    pub attempts: Vec<DeliveryAttempt>,
    /// When the event happened.
    pub created_at: f64,
    /// When the next attempt is due.
    pub next_attempt_at: f64,
    /// A process sending it holds it until then.
    pub lease_until: f64,
    /// When the receiver took it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<f64>,
}

impl DeliveryRecord {
    /// Record an attempt: delivered on a 2xx, else the next attempt scheduled (the wait doubling
    /// from [`FIRST_RETRY_SECS`] up to [`MAX_RETRY_SECS`]), or given up once
    /// [`GIVE_UP_AFTER`] has passed since the event.
    pub fn record(&mut self, attempt: DeliveryAttempt) {
        let now = attempt.at;
        let ok = attempt.status_code.is_some_and(|s| (200..300).contains(&s));
        self.attempts.push(attempt);
        self.lease_until = 0.0;
        if ok {
            self.status = DeliveryStatus::Delivered;
            self.delivered_at = Some(now);
            return;
        }
        let failures = self.attempts.len() as i32;
        let wait = (FIRST_RETRY_SECS * 2f64.powi(failures - 1)).min(MAX_RETRY_SECS);
        if now + wait > self.created_at + GIVE_UP_AFTER {
            self.status = DeliveryStatus::Failed;
        } else {
            self.next_attempt_at = now + wait;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery() -> DeliveryRecord {
        DeliveryRecord {
            delivery_id: "d".into(),
            tenant_id: TenantId::local(),
            job_id: "j".into(),
            event: WebhookEvent::JobCompleted,
            url: "http://r.test/".into(),
            secret: "s".into(),
            payload: "{}".into(),
            status: DeliveryStatus::Pending,
            attempts: vec![],
            created_at: 1000.0,
            next_attempt_at: 1000.0,
            lease_until: 0.0,
            delivered_at: None,
        }
    }

    fn attempt(at: f64, status: Option<u16>) -> DeliveryAttempt {
        DeliveryAttempt {
            at,
            status_code: status,
            error: None,
            duration_ms: 1,
        }
    }

    #[test]
    fn retries_back_off_doubling_and_stop_after_a_day() {
        let mut d = delivery();
        d.record(attempt(1000.0, Some(500)));
        assert_eq!(d.next_attempt_at, 1001.0);
        d.record(attempt(1001.0, None));
        assert_eq!(d.next_attempt_at, 1003.0);
        d.record(attempt(1003.0, Some(503)));
        assert_eq!(d.next_attempt_at, 1007.0);
        assert_eq!(d.status, DeliveryStatus::Pending);
        // Capped at half an hour, then given up a day after the event.
        for _ in 0..20 {
            d.record(attempt(d.next_attempt_at, Some(500)));
        }
        assert!(d.next_attempt_at - d.attempts.last().unwrap().at <= MAX_RETRY_SECS);
        while d.status == DeliveryStatus::Pending {
            d.record(attempt(d.next_attempt_at, Some(500)));
        }
        assert_eq!(d.status, DeliveryStatus::Failed);
        assert!(d.attempts.last().unwrap().at <= d.created_at + GIVE_UP_AFTER);
    }

    #[test]
    fn a_2xx_delivers() {
        let mut d = delivery();
        d.record(attempt(1000.0, Some(500)));
        d.record(attempt(1001.0, Some(204)));
        assert_eq!(d.status, DeliveryStatus::Delivered);
        assert_eq!(d.delivered_at, Some(1001.0));
        let names: Vec<_> = WebhookEvent::DEFAULT.iter().map(|e| e.as_str()).collect();
        assert_eq!(names, ["job.started", "job.completed", "job.failed"]);
    }
}
