//! Navigation actions: load a URL, go back, reload, and telling a navigation that failed from
//! one that was refused.

use super::{ActionContext, ActionEffect};
use crate::cdp::CdpResult;
use crate::session::driver::{self, PageState};
use chromiumoxide::cdp::browser_protocol::page::{
    GetNavigationHistoryParams, NavigateToHistoryEntryParams, ReloadParams,
};
use platform::error::{EngineError, Result};
use platform::netguard;
use serde_json::{json, Value};
use std::time::Duration;

/// Turn a failed main-frame load into the most precise error: a refusal by the request guard is
/// `blocked_url`, anything else `navigation_failed`.
fn load_error(ctx: &ActionContext<'_>, url: &str, error_text: &str) -> EngineError {
    if let Some(reason) = ctx.blocked.take() {
        return EngineError::BlockedUrl(reason);
    }
    EngineError::NavigationFailed(format!("{url}: {error_text}"))
}

pub(super) async fn navigate(
    ctx: &ActionContext<'_>,
    url: &url::Url,
    timeout: Duration,
) -> Result<PageState> {
    netguard::check_url(url, ctx.network).await?;
    ctx.blocked.take();
    let t0 = std::time::Instant::now();
    let raw = ctx.lease.raw().await?;
    let nav = tokio::time::timeout(
        timeout,
        raw.call("Page.navigate", json!({"url": url.as_str()})),
    )
    .await;
    match nav {
        Err(_) => {
            let _ = ctx
                .page
                .execute(chromiumoxide::cdp::browser_protocol::page::StopLoadingParams::default())
                .await;
            return Err(EngineError::Timeout(format!(
                "{url} did not answer within {} ms",
                timeout.as_millis()
            )));
        }
        Ok(Err(e)) => return Err(e),
        Ok(Ok(resp)) => {
            if let Some(err) = resp
                .get("errorText")
                .and_then(Value::as_str)
                .filter(|e| !e.is_empty())
            {
                return Err(load_error(ctx, url.as_str(), err));
            }
        }
    }
    let committed_ms = t0.elapsed().as_secs_f64() * 1e3;
    let state = driver::wait_for_load(ctx.page, timeout).await?;
    tracing::debug!(
        committed_ms,
        loaded_ms = t0.elapsed().as_secs_f64() * 1e3,
        "navigated"
    );
    if state.url.starts_with("chrome-error://") {
        return Err(load_error(
            ctx,
            url.as_str(),
            "the page could not be loaded",
        ));
    }
    Ok(state)
}

/// After input that may navigate: wait for the load; report a refused navigation as such.
pub(super) async fn settle_or_report(
    ctx: &ActionContext<'_>,
    watch: driver::NavWatch,
    before_url: &str,
    grace: Duration,
) -> Result<PageState> {
    let state = watch
        .settle(ctx.page, before_url, grace, ctx.nav_timeout)
        .await?;
    if state.url.starts_with("chrome-error://") {
        return Err(load_error(
            ctx,
            before_url,
            "the navigation this input started failed",
        ));
    }
    Ok(state)
}

/// Load a URL and report it.
pub(super) async fn navigate_to(
    ctx: &ActionContext<'_>,
    url: &url::Url,
    load_timeout: Duration,
) -> Result<ActionEffect> {
    let state = navigate(ctx, url, load_timeout).await?;
    Ok(ActionEffect {
        details: json!({"requested_url": url.as_str()}),
        state,
    })
}

/// Go back one history entry, if it is a web page the network policy allows.
pub(super) async fn go_back(
    ctx: &ActionContext<'_>,
    load_timeout: Duration,
) -> Result<ActionEffect> {
    let page = ctx.page;
    let hist = page
        .execute(GetNavigationHistoryParams::default())
        .await
        .cdp()?
        .result;
    if hist.current_index <= 0 {
        return Err(EngineError::InvalidRequest(
            "there is no previous page in this session".into(),
        ));
    }
    let entry = &hist.entries[(hist.current_index - 1) as usize];
    if !(entry.url.starts_with("http://")
        || entry.url.starts_with("https://")
        || entry.url == "about:blank")
    {
        return Err(EngineError::InvalidRequest(
            "the previous entry is not a web page".into(),
        ));
    }
    netguard::check_url(&netguard::parse_target(&entry.url)?, ctx.network).await?;
    let watch = driver::NavWatch::start(page).await?;
    page.execute(NavigateToHistoryEntryParams::new(entry.id))
        .await
        .cdp()?;
    let state = watch
        .settle(page, "", driver::NAVIGATION_GRACE, load_timeout)
        .await?;
    Ok(ActionEffect {
        details: json!({"url": entry.url}),
        state,
    })
}

/// Reload the page and wait for it to load.
pub(super) async fn refresh(
    ctx: &ActionContext<'_>,
    load_timeout: Duration,
) -> Result<ActionEffect> {
    let page = ctx.page;
    page.execute(ReloadParams::default()).await.cdp()?;
    tokio::time::sleep(Duration::from_millis(30)).await;
    let state = driver::wait_for_load(page, load_timeout).await?;
    Ok(ActionEffect {
        details: json!({}),
        state,
    })
}
