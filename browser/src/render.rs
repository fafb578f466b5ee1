//! Rendering one URL in the Chromium pool and reading the resulting document: what a crawl does
//! for pages that need scripts to show their content. The page gets a fresh incognito context,
//! its traffic through the egress proxy like a session, and is closed before the call returns.

use crate::pool::BrowserPool;
use crate::session::actions::{self, Action, ActionContext};
use crate::session::driver;
use platform::error::{EngineError, Result};
use platform::netguard::NetPolicy;
use platform::Rendered;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the DOM must stay unchanged to count as settled after the load.
const QUIET: Duration = Duration::from_millis(500);
/// The longest wait for the DOM to settle after the load.
const SETTLE_MAX: Duration = Duration::from_secs(3);

/// Load `url` in a fresh context, wait for the load and for the DOM to stop changing (scripts
/// that render after the load event), and return the document.
pub async fn render(
    pool: &Arc<BrowserPool>,
    url: &url::Url,
    network: &NetPolicy,
    timeout: Duration,
) -> Result<Rendered> {
    let lease = pool.acquire().await?;
    let result = async {
        let page = lease.page();
        let cursor = Mutex::new((0.0, 0.0));
        let ctx = ActionContext {
            page,
            lease: &lease,
            network,
            nav_timeout: timeout,
            blocked: lease.refusals(),
            cursor: &cursor,
        };
        let loaded = actions::run(&ctx, &Action::Navigate(url.clone()), None).await?;
        // Wait for the DOM to stay still for a moment (content fetched and drawn after the load).
        let started = Instant::now();
        let mut last = loaded.state.mutations;
        let mut still_since = Instant::now();
        while started.elapsed() < SETTLE_MAX {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = driver::state(page).await?.mutations;
            if now != last {
                last = now;
                still_since = Instant::now();
            } else if still_since.elapsed() >= QUIET {
                break;
            }
        }
        let html: String = driver::eval(
            page,
            "document.documentElement ? document.documentElement.outerHTML : ''",
        )
        .await?;
        let (status, content_type): (Option<u16>, Option<String>) = driver::eval(
            page,
            "(() => { const n = performance.getEntriesByType('navigation')[0]; \
             const s = n && n.responseStatus; return [s > 0 ? s : null, document.contentType || null]; })()",
        )
        .await?;
        let state = driver::state(page).await?;
        Ok::<_, EngineError>(Rendered {
            final_url: state.url,
            title: state.title,
            html,
            status,
            content_type,
        })
    }
    .await;
    lease.release().await;
    result
}
