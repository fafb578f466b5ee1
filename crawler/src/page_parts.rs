//! The parts of a page that extraction and Markdown rendering share: headings, code blocks,
//! whitespace squashing and link resolution.

use serde::Serialize;
use url::Url;

/// A heading of the main content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Heading {
    /// 1 to 6.
    pub level: u8,
    /// Its text.
    pub text: String,
}

/// A code block of the main content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeBlock {
    /// The language, from `language-*`, `lang-*`, `highlight-*` classes or `data-lang`.
    pub language: Option<String>,
    /// The code, whitespace kept.
    pub code: String,
}

/// Collapse runs of whitespace to one space and trim.
pub(crate) fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Resolve a link against the page URL; `None` for links that lead nowhere to crawl.
pub fn resolve_link(base: Option<&Url>, href: &str) -> Option<Url> {
    let href = href.trim();
    if href.is_empty() || href.starts_with('#') {
        return None;
    }
    let mut url = match base {
        Some(b) => b.join(href).ok()?,
        None => Url::parse(href).ok()?,
    };
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    url.set_fragment(None);
    Some(url)
}
