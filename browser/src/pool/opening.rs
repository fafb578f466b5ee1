//! Opening a page for a session: a fresh incognito context with one blank page, and getting a
//! spare one ready ahead of the session that will take it.

use super::{raw, BrowserSlot};
use crate::cdp::CdpResult;
use chromiumoxide::cdp::browser_protocol::target::{
    CreateBrowserContextParams, CreateTargetParams,
};
use platform::egress::{self, Egress, EgressPort};
use platform::error::{EngineError, Result};
use std::sync::Arc;
use std::time::Duration;

/// A fresh incognito context with one blank page, its traffic sent through a proxy listener of
/// its own.
pub(crate) struct OpenedPage {
    pub(crate) context: chromiumoxide::cdp::browser_protocol::browser::BrowserContextId,
    pub(crate) page: chromiumoxide::Page,
    pub(crate) proxy: EgressPort,
    /// Set up ahead on a spare page, so a session start does not wait for it: the default
    /// viewport (when it was applied) and the page's direct DevTools connection.
    pub(crate) prepared: Prepared,
}

/// What a spare page has ready before a session takes it.
#[derive(Default)]
pub(crate) struct Prepared {
    pub(crate) viewport: Option<platform::config::Viewport>,
    pub(crate) raw: Option<raw::RawCdp>,
}

/// Get a spare page ready for a session: the default viewport applied and the direct DevTools
/// connection open (the renderer's resize alone is 30-100 ms of a session start otherwise).
pub(super) async fn prepare(slot: &BrowserSlot, page: &chromiumoxide::Page) -> Prepared {
    let viewport = platform::config::Viewport::default();
    let url = slot.target_ws_url(page.target_id().as_ref());
    let (sized, raw) = tokio::join!(
        crate::session::driver::set_viewport(page, viewport),
        raw::RawCdp::connect(&url)
    );
    Prepared {
        viewport: sized.is_ok().then_some(viewport),
        raw: raw.ok(),
    }
}

pub(super) async fn open_page(slot: &BrowserSlot, egress: &Arc<Egress>) -> Result<OpenedPage> {
    let timeout = Duration::from_secs(15);
    let proxy = egress.listen().await?;
    let params = CreateBrowserContextParams {
        proxy_server: Some(proxy.proxy_server()),
        proxy_bypass_list: Some(egress::BYPASS_NONE.into()),
        ..Default::default()
    };
    let ctx = tokio::time::timeout(timeout, slot.browser.create_browser_context(params))
        .await
        .map_err(|_| EngineError::Timeout("creating a browser context".into()))?
        .cdp()?;
    let params = CreateTargetParams::builder()
        .url("about:blank")
        .browser_context_id(ctx.clone())
        .build()
        .map_err(EngineError::Browser)?;
    match tokio::time::timeout(timeout, slot.browser.new_page(params)).await {
        Ok(Ok(page)) => Ok(OpenedPage {
            context: ctx,
            page,
            proxy,
            prepared: Prepared::default(),
        }),
        Ok(Err(e)) => {
            let _ = slot.browser.dispose_browser_context(ctx).await;
            Err(crate::cdp::cdp_error(e))
        }
        Err(_) => {
            let _ = slot.browser.dispose_browser_context(ctx).await;
            Err(EngineError::Timeout("opening a page".into()))
        }
    }
}
