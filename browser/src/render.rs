//! Rendering URLs in the Chromium pool and reading the resulting documents: what a crawl does for
//! pages that need scripts to show their content. Each page's traffic goes through the egress
//! proxy like a session's. [`render`] uses a fresh incognito context for one URL and closes it;
//! a [`JobRenderer`] keeps the contexts it opened (fresh for its job, never shared with another
//! job or a session) and reuses them from one page to the next, closing them when it is dropped.
//!
//! What extraction does not need is never fetched (images, media, fonts), and a page counts as
//! drawn as soon as it is still: loaded, no `fetch`/XHR in flight, no short timer pending, and
//! neither the DOM nor the resources it has loaded changed for [`QUIET`] (at most
//! [`SETTLE_MAX`] after the load).

use crate::cdp::CdpResult;
use crate::pool::{BrowserPool, PageLease};
use crate::session::actions::{self, Action, ActionContext};
use crate::session::driver;
use chromiumoxide::cdp::browser_protocol::fetch::{
    EnableParams, EventRequestPaused, FailRequestParams, RequestPattern,
};
use chromiumoxide::cdp::browser_protocol::network::{ErrorReason, ResourceType};
use chromiumoxide::cdp::browser_protocol::page::AddScriptToEvaluateOnNewDocumentParams;
use futures::StreamExt;
use platform::error::Result;
use platform::netguard::NetPolicy;
use platform::render::{RenderFuture, RenderScope};
use platform::Rendered;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a page must stay still (see the module's documentation) to count as drawn.
pub const QUIET: Duration = Duration::from_millis(100);
/// The longest wait for a page to become still after its load.
pub const SETTLE_MAX: Duration = Duration::from_secs(3);
/// How often stillness is sampled.
const SAMPLE: Duration = Duration::from_millis(20);

const SETTLE_JS: &str = include_str!("session/js/render_settle.js");
const STILLNESS_JS: &str = "[window.__basMutations || 0, \
     performance.getEntriesByType('resource').length, \
     window.__basPending ? window.__basPending() : 0, document.readyState]";

const DOCUMENT_JS: &str = "(() => { const n = performance.getEntriesByType('navigation')[0]; \
     const s = n && n.responseStatus; \
     return [location.href, document.title, \
       document.documentElement ? document.documentElement.outerHTML : '', \
       s > 0 ? s : null, document.contentType || null]; })()";

/// A page made ready for rendering: its blocker of unneeded resources runs as long as it lives.
struct RenderPage {
    lease: PageLease,
    _blocker: Blocker,
}

/// The task failing a page's blocked requests, stopped when the page goes on any path.
struct Blocker(tokio::task::JoinHandle<()>);

impl Drop for Blocker {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl RenderPage {
    /// Lease a fresh context and page, block images, media and fonts in it, and install the
    /// pending-work counter in every document it loads.
    async fn open(pool: &Arc<BrowserPool>) -> Result<Self> {
        let lease = pool.acquire().await?;
        match Self::prepare(&lease).await {
            Ok(blocker) => Ok(Self {
                lease,
                _blocker: Blocker(blocker),
            }),
            Err(e) => {
                lease.release().await;
                Err(e)
            }
        }
    }

    async fn prepare(lease: &PageLease) -> Result<tokio::task::JoinHandle<()>> {
        let page = lease.page().clone();
        page.execute(AddScriptToEvaluateOnNewDocumentParams::new(SETTLE_JS))
            .await
            .cdp()?;
        let mut paused = page.event_listener::<EventRequestPaused>().await.cdp()?;
        let patterns = [ResourceType::Image, ResourceType::Media, ResourceType::Font]
            .into_iter()
            .map(|t| RequestPattern {
                url_pattern: Some("*".into()),
                resource_type: Some(t),
                request_stage: None,
            })
            .collect::<Vec<_>>();
        page.execute(EnableParams {
            patterns: Some(patterns),
            handle_auth_requests: None,
        })
        .await
        .cdp()?;
        Ok(tokio::spawn(async move {
            while let Some(ev) = paused.next().await {
                let fail =
                    FailRequestParams::new(ev.request_id.clone(), ErrorReason::BlockedByClient);
                let _ = page.execute(fail).await;
            }
        }))
    }

    async fn close(self) {
        self.lease.release().await;
    }
}

/// Load `url` in a page and return its document once it is drawn.
async fn render_in(
    page: &RenderPage,
    url: &url::Url,
    network: &NetPolicy,
    timeout: Duration,
) -> Result<Rendered> {
    let lease = &page.lease;
    let page = lease.page();
    // A refusal from the page before belongs to it, not to this one.
    let _ = lease.refusals().take();
    let cursor = Mutex::new((0.0, 0.0));
    let ctx = ActionContext {
        page,
        lease,
        network,
        nav_timeout: timeout,
        blocked: lease.refusals(),
        cursor: &cursor,
    };
    // (The navigation's own state read started the document's mutation counter.)
    actions::run(&ctx, &Action::Navigate(url.clone()), None).await?;
    settle(page).await?;
    // The document and what is known of it, in one round trip.
    let (final_url, title, html, status, content_type): (
        String,
        String,
        String,
        Option<u16>,
        Option<String>,
    ) = driver::eval(page, DOCUMENT_JS).await?;
    Ok(Rendered {
        final_url,
        title,
        html,
        status,
        content_type,
    })
}

/// Wait until the page is still (see the module's documentation), or [`SETTLE_MAX`] passed.
async fn settle(page: &chromiumoxide::Page) -> Result<()> {
    let started = Instant::now();
    let mut last: Option<(u64, u64)> = None;
    let mut still_since = Instant::now();
    while started.elapsed() < SETTLE_MAX {
        let (mutations, resources, pending, ready): (u64, u64, u64, String) =
            driver::eval(page, STILLNESS_JS).await?;
        let now = Some((mutations, resources));
        if now != last || pending > 0 || ready != "complete" {
            last = now;
            still_since = Instant::now();
        } else if still_since.elapsed() >= QUIET {
            return Ok(());
        }
        tokio::time::sleep(SAMPLE).await;
    }
    Ok(())
}

/// Load `url` in a fresh context, wait until it is drawn, return the document and close the
/// context.
pub async fn render(
    pool: &Arc<BrowserPool>,
    url: &url::Url,
    network: &NetPolicy,
    timeout: Duration,
) -> Result<Rendered> {
    let page = RenderPage::open(pool).await?;
    let result = render_in(&page, url, network, timeout).await;
    page.close().await;
    result
}

/// One job's renderer: pages are rendered in contexts it opened for the job, reused from one
/// page to the next (as many as the job renders at once), and closed when it is dropped.
pub struct JobRenderer {
    pool: Arc<BrowserPool>,
    network: NetPolicy,
    timeout: Duration,
    idle: Mutex<Vec<RenderPage>>,
}

impl JobRenderer {
    /// A renderer for one job, with the network policy and navigation timeout it starts with.
    pub fn new(pool: Arc<BrowserPool>, network: NetPolicy, timeout: Duration) -> Self {
        Self {
            pool,
            network,
            timeout,
            idle: Mutex::new(Vec::new()),
        }
    }

    async fn render_page(&self, url: &url::Url) -> Result<Rendered> {
        let reused = self.idle.lock().expect("render pages lock").pop();
        let page = match reused {
            Some(p) if p.lease.browser_alive() => p,
            Some(dead) => {
                dead.close().await;
                RenderPage::open(&self.pool).await?
            }
            None => RenderPage::open(&self.pool).await?,
        };
        let result = render_in(&page, url, &self.network, self.timeout).await;
        match &result {
            // A page that failed may be left mid-load or hung: it goes, the next gets a new one.
            Err(_) => page.close().await,
            Ok(_) => self.idle.lock().expect("render pages lock").push(page),
        }
        result
    }
}

impl RenderScope for JobRenderer {
    fn render<'a>(&'a self, url: &'a url::Url) -> RenderFuture<'a> {
        Box::pin(self.render_page(url))
    }
}

// Dropping a `JobRenderer` drops its idle pages: each lease closes its page and context in the
// background when dropped unreleased, and each blocker stops.
