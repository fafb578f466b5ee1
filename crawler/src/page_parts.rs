//! The parts of a page that extraction and Markdown rendering share: headings, code blocks,
//! whitespace squashing and link resolution.

use url::Url;

/// A heading of the main content: the stored record's type, so pages need no copying.
pub use platform::store::PageHeading as Heading;

/// A code block of the main content (its language from `language-*`, `lang-*`, `highlight-*`
/// classes or `data-lang`; whitespace kept): the stored record's type.
pub use platform::store::PageCodeBlock as CodeBlock;

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
