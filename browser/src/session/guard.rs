//! The request guard: every request a session's page makes (documents after redirects, frames,
//! scripts, fetches) is paused, its host resolved and checked against the private-network rules,
//! and then continued or refused. This closes the gap a check on the typed URL alone leaves open:
//! a public page that redirects or links to an internal address.

use crate::cdp::CdpResult;
use chromiumoxide::cdp::browser_protocol::fetch::{
    ContinueRequestParams, EnableParams, EventRequestPaused, FailRequestParams, RequestPattern,
    RequestStage,
};
use chromiumoxide::cdp::browser_protocol::network::ErrorReason;
use chromiumoxide::Page;
use futures::StreamExt;
use platform::error::Result;
use platform::netguard::{self, Allowlist};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Verdicts per `host:port`: when they were made, and the refusal if any.
type Verdicts = Mutex<HashMap<String, (Instant, Option<String>)>>;

/// How long a host's verdict is reused.
const VERDICT_TTL: Duration = Duration::from_secs(30);

/// Start guarding a page. Refusals are recorded in `blocked` so the action that caused them can
/// report `blocked_url` instead of a generic load failure.
pub async fn install(
    page: &Page,
    allow: Allowlist,
    blocked: Arc<Mutex<Option<String>>>,
) -> Result<()> {
    let mut paused = page.event_listener::<EventRequestPaused>().await.cdp()?;
    let pattern = RequestPattern::builder()
        .url_pattern("*")
        .request_stage(RequestStage::Request)
        .build();
    page.execute(EnableParams::builder().pattern(pattern).build())
        .await
        .cdp()?;
    let page = page.clone();
    let verdicts: Arc<Verdicts> = Arc::default();
    tokio::spawn(async move {
        while let Some(ev) = paused.next().await {
            let (page, allow, blocked, verdicts) = (
                page.clone(),
                allow.clone(),
                blocked.clone(),
                verdicts.clone(),
            );
            tokio::spawn(async move {
                let refusal = verdict(&ev.request.url, &allow, &verdicts).await;
                let res = match refusal {
                    None => page
                        .execute(ContinueRequestParams::new(ev.request_id.clone()))
                        .await
                        .map(|_| ()),
                    Some(reason) => {
                        tracing::info!(url = %ev.request.url, %reason, "request refused");
                        *blocked.lock().expect("guard lock") = Some(reason);
                        page.execute(FailRequestParams::new(
                            ev.request_id.clone(),
                            ErrorReason::BlockedByClient,
                        ))
                        .await
                        .map(|_| ())
                    }
                };
                if let Err(e) = res {
                    tracing::trace!(error = %e, "request guard answer not delivered (page gone?)");
                }
            });
        }
    });
    Ok(())
}

/// `None` to let the request through, or why it is refused.
async fn verdict(raw: &str, allow: &Allowlist, cache: &Verdicts) -> Option<String> {
    let Ok(url) = url::Url::parse(raw) else {
        return None;
    };
    if !matches!(url.scheme(), "http" | "https" | "ws" | "wss") {
        return None; // data:, blob: and the like carry no network request
    }
    let key = format!(
        "{}:{}",
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or(0)
    );
    if let Some((at, v)) = cache.lock().expect("verdict lock").get(&key) {
        if at.elapsed() < VERDICT_TTL {
            return v.clone();
        }
    }
    let v = match netguard::check_url(&url, allow).await {
        Ok(_) => None,
        Err(e @ platform::error::EngineError::BlockedUrl(_)) => Some(
            e.to_string()
                .trim_start_matches("blocked target: ")
                .to_string(),
        ),
        Err(_) => None, // an unresolvable host fails in Chromium with its own error
    };
    let mut c = cache.lock().expect("verdict lock");
    if c.len() > 512 {
        c.clear();
    }
    c.insert(key, (Instant::now(), v.clone()));
    v
}
