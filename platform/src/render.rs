//! The one thing the crawler needs from a browser: URLs rendered into documents, in pages that
//! belong to one job ([`RenderScope`]). The browser crate implements [`Renderer`] with its
//! Chromium pool; the crawler depends on these traits only.

use crate::error::Result;
use std::future::Future;
use std::pin::Pin;

/// A rendered document.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The URL after redirects.
    pub final_url: String,
    /// The document's title.
    pub title: String,
    /// The serialised DOM after scripts ran.
    pub html: String,
    /// The HTTP status of the document, as the browser's navigation timing reports it.
    pub status: Option<u16>,
    /// The document's media type.
    pub content_type: Option<String>,
}

/// The future a [`Renderer`] returns.
pub type RenderFuture<'a> = Pin<Box<dyn Future<Output = Result<Rendered>> + Send + 'a>>;

/// Renders URLs in a real browser: load them, let their scripts run, return the documents.
pub trait Renderer: Send + Sync {
    /// A scope for one job's renders: its pages live in contexts of their own (fresh for the
    /// scope, never shared with another job or a session), reused from one page to the next,
    /// and closed when the scope is dropped.
    fn scope(&self) -> std::sync::Arc<dyn RenderScope>;
}

/// One job's renderer (see [`Renderer::scope`]).
pub trait RenderScope: Send + Sync {
    /// Load `url` in one of the scope's pages and return the document once it has settled.
    fn render<'a>(&'a self, url: &'a url::Url) -> RenderFuture<'a>;
}
