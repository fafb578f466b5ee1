//! A session's page and the incognito context it lives in. Releasing the lease closes both;
//! dropping it without releasing closes them in the background, so nothing leaks on any path.

use super::BrowserSlot;
use chromiumoxide::cdp::browser_protocol::browser::BrowserContextId;
use chromiumoxide::Page;
use platform::egress::{EgressPort, Refusals};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// One incognito context with one page, on one browser of the pool.
pub struct PageLease {
    slot: Arc<BrowserSlot>,
    context: BrowserContextId,
    page: Page,
    /// The proxy listener the context's traffic goes through; closed with the lease.
    proxy: EgressPort,
    raw: tokio::sync::OnceCell<super::raw::RawCdp>,
    /// The viewport the pool already applied to the page, if it did.
    viewport: Option<platform::config::Viewport>,
    released: AtomicBool,
}

impl PageLease {
    pub(super) fn new(slot: Arc<BrowserSlot>, opened: super::OpenedPage) -> Self {
        Self {
            slot,
            context: opened.context,
            page: opened.page,
            proxy: opened.proxy,
            raw: tokio::sync::OnceCell::new_with(opened.prepared.raw),
            viewport: opened.prepared.viewport,
            released: AtomicBool::new(false),
        }
    }

    /// The viewport already applied to the page by the pool (a spare page's default), if any.
    pub fn viewport(&self) -> Option<platform::config::Viewport> {
        self.viewport
    }

    /// The page.
    pub fn page(&self) -> &Page {
        &self.page
    }

    /// Requests of this context the egress proxy refused (the last one's reason).
    pub fn refusals(&self) -> &Refusals {
        self.proxy.refusals()
    }

    /// A direct DevTools connection to the page (see [`super::raw`]), opened on first use.
    pub async fn raw(&self) -> platform::error::Result<&super::raw::RawCdp> {
        self.raw
            .get_or_try_init(|| async {
                let url = self.slot.target_ws_url(self.page.target_id().as_ref());
                super::raw::RawCdp::connect(&url).await
            })
            .await
    }

    /// The pool's id of the browser hosting this page.
    pub fn browser_id(&self) -> u64 {
        self.slot.id
    }

    /// Whether the hosting browser is believed alive.
    pub fn browser_alive(&self) -> bool {
        self.slot.is_alive()
    }

    /// Close the page and dispose of its context. Safe to call more than once.
    pub async fn release(&self) {
        if self.released.swap(true, Ordering::SeqCst) {
            return;
        }
        close(self.slot.clone(), self.context.clone(), self.page.clone()).await;
    }
}

async fn close(slot: Arc<BrowserSlot>, context: BrowserContextId, page: Page) {
    if slot.is_alive() {
        let t = Duration::from_secs(5);
        let _ = tokio::time::timeout(t, page.close()).await;
        if let Ok(Err(e)) | Err(e) =
            tokio::time::timeout(t, slot.browser.dispose_browser_context(context))
                .await
                .map_err(|_| chromiumoxide::error::CdpError::Timeout)
        {
            tracing::warn!(browser_id = slot.id, error = %e, "could not dispose a browser context");
        }
    }
    slot.leased.fetch_sub(1, Ordering::SeqCst);
}

impl Drop for PageLease {
    fn drop(&mut self) {
        if !self.released.swap(true, Ordering::SeqCst) {
            let (slot, ctx, page) = (self.slot.clone(), self.context.clone(), self.page.clone());
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(close(slot, ctx, page));
            } else {
                slot.leased.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
}
