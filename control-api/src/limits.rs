//! Limits per tenant at the API: a request rate per API key (a token bucket: `RATE_LIMIT_RPS`
//! with a burst of `RATE_LIMIT_BURST`) and the bytes a tenant may upload in an hour
//! (`TENANT_UPLOAD_BYTES_PER_HOUR`). Over a limit answers 429 with `Retry-After` and a code
//! naming the limit; other tenants are unaffected. (Sessions per tenant are limited where
//! sessions are reserved, in the browser crate.)

use crate::error::ApiError;
use crate::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use platform::{Config, EngineError, TenantId};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an upload counts against its tenant's hourly quota.
const UPLOAD_WINDOW: Duration = Duration::from_secs(3600);

/// The API's per-tenant limits and what each tenant used.
pub struct Limits {
    rate: Option<(f64, f64)>,
    buckets: Mutex<HashMap<TenantId, (f64, Instant)>>,
    upload_quota: u64,
    uploads: Mutex<HashMap<TenantId, VecDeque<(Instant, u64)>>>,
}

impl Limits {
    /// The limits a configuration sets.
    pub fn from_config(config: &Config) -> Self {
        Self {
            rate: config
                .rate_limit
                .map(|(rps, burst)| (rps, f64::from(burst))),
            buckets: Mutex::default(),
            upload_quota: config.tenant_upload_bytes_per_hour,
            uploads: Mutex::default(),
        }
    }

    /// Take one request from the tenant's bucket, or say how many seconds until one is there.
    fn take(&self, tenant: &TenantId) -> Result<(), u64> {
        let Some((rps, burst)) = self.rate else {
            return Ok(());
        };
        let mut buckets = self.buckets.lock().expect("buckets lock");
        let now = Instant::now();
        let (tokens, at) = buckets.entry(tenant.clone()).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rps).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            return Ok(());
        }
        Err(((1.0 - *tokens) / rps).ceil().max(1.0) as u64)
    }

    /// Bytes the tenant uploaded within the last hour, dropping older uploads.
    fn used(log: &mut VecDeque<(Instant, u64)>) -> u64 {
        while log
            .front()
            .is_some_and(|(at, _)| at.elapsed() > UPLOAD_WINDOW)
        {
            log.pop_front();
        }
        log.iter().map(|(_, n)| n).sum()
    }

    /// Refuse an upload of `declared` bytes (its request's length) that would take the tenant
    /// over its hourly quota.
    pub fn check_upload(&self, tenant: &TenantId, declared: u64) -> Result<(), EngineError> {
        let mut uploads = self.uploads.lock().expect("uploads lock");
        let log = uploads.entry(tenant.clone()).or_default();
        let used = Self::used(log);
        if used.saturating_add(declared) <= self.upload_quota {
            return Ok(());
        }
        let wait = log
            .front()
            .map(|(at, _)| UPLOAD_WINDOW.saturating_sub(at.elapsed()).as_secs())
            .unwrap_or(UPLOAD_WINDOW.as_secs());
        Err(EngineError::UploadQuota(
            format!(
                "this tenant uploaded {used} bytes in the last hour; {declared} more would pass \
                 its quota of {} (TENANT_UPLOAD_BYTES_PER_HOUR)",
                self.upload_quota
            ),
            wait,
        ))
    }

    /// Count an accepted upload against its tenant's quota.
    pub fn record_upload(&self, tenant: &TenantId, bytes: u64) {
        let mut uploads = self.uploads.lock().expect("uploads lock");
        uploads
            .entry(tenant.clone())
            .or_default()
            .push_back((Instant::now(), bytes));
    }
}

/// Middleware (after authentication): one request from the caller's bucket, or 429.
pub async fn rate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let exempt = matches!(req.uri().path(), "/health" | "/metrics");
    let tenant = req.extensions().get::<TenantId>().cloned();
    if let (false, Some(tenant)) = (exempt, tenant) {
        if let Err(secs) = state.limits.take(&tenant) {
            return ApiError::RateLimited(secs).into_response();
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(rate: Option<(f64, u32)>, quota: u64) -> Limits {
        let config = Config::from_lookup(|k| match k {
            "CHROMIUM_PATH" => Some("/bin/true".into()),
            "RATE_LIMIT_RPS" => rate.map(|(r, _)| r.to_string()),
            "RATE_LIMIT_BURST" => rate.map(|(_, b)| b.to_string()),
            "TENANT_UPLOAD_BYTES_PER_HOUR" => Some(quota.to_string()),
            _ => None,
        })
        .unwrap();
        Limits::from_config(&config)
    }

    #[test]
    fn a_burst_is_allowed_then_the_rate_and_each_tenant_has_its_own_bucket() {
        let l = limits(Some((1.0, 3)), 0);
        let (a, b) = (TenantId::new("org-a"), TenantId::new("org-b"));
        for _ in 0..3 {
            assert!(l.take(&a).is_ok());
        }
        assert_eq!(l.take(&a), Err(1));
        assert!(l.take(&b).is_ok(), "another tenant is unaffected");
        assert!(limits(None, 0).take(&a).is_ok(), "no limit configured");
    }

    #[test]
    fn uploads_count_against_their_tenants_hourly_quota() {
        let l = limits(None, 1000);
        let (a, b) = (TenantId::new("org-a"), TenantId::new("org-b"));
        assert!(l.check_upload(&a, 600).is_ok());
        l.record_upload(&a, 600);
        let e = l.check_upload(&a, 600).unwrap_err();
        assert_eq!(e.code(), "upload_quota_exceeded");
        assert!(e.retry_after().unwrap() > 3000, "{:?}", e.retry_after());
        assert!(l.check_upload(&a, 400).is_ok(), "up to the quota exactly");
        assert!(
            l.check_upload(&b, 1000).is_ok(),
            "another tenant is unaffected"
        );
    }
}
