//! One page of a crawl: fetched over HTTP (or rendered in Chromium when it needs scripts, or when
//! the job asks), extracted, and turned into the record the store keeps, whatever happened: a
//! timeout, a 404 or a PDF is a record with an error, not a failed job.

use crate::extract::{self, Extracted, Link};
use crate::fetch::{Fetched, Fetcher};
use crate::urlnorm::{normalize, same_site};
use platform::jobs::{JobError, RenderMode};
use platform::store::PageRecord;
use platform::Code;
use platform::{Renderer, TenantId};
use url::Url;

/// Pages with fewer words than this whose HTML carries scripts are rendered in Chromium.
const RENDER_BELOW_WORDS: usize = 30;

/// What a job needs to crawl one page.
pub struct PageJob<'a> {
    /// Renders pages that need scripts.
    pub renderer: &'a dyn Renderer,
    /// The HTTP fetcher.
    pub fetcher: &'a Fetcher,
    /// The crawl's start URL (bounds the site).
    pub start: &'a Url,
    /// The owner.
    pub tenant: &'a TenantId,
    /// The job.
    pub job_id: &'a str,
    /// When to render.
    pub render: RenderMode,
}

/// A crawled page and the links on it.
pub struct Crawled {
    /// The record to store (its `url` is the normalised final URL).
    pub record: PageRecord,
    /// Links found on the page (absolute).
    pub links: Vec<Link>,
    /// A redirect to another site, reported as an external link.
    pub off_site: Option<Url>,
    /// The server answered 429 or 503 and asked to wait this long before trying again.
    pub retry_after: Option<std::time::Duration>,
}

impl Crawled {
    /// A page with no links to follow.
    fn alone(record: PageRecord) -> Self {
        Self {
            record,
            links: Vec::new(),
            off_site: None,
            retry_after: None,
        }
    }

    /// A page with the links found on it.
    fn with_links(record: PageRecord, links: Vec<Link>) -> Self {
        Self {
            links,
            ..Self::alone(record)
        }
    }

    /// A redirect to another site.
    fn off_site(record: PageRecord, to: Url) -> Self {
        Self {
            off_site: Some(to),
            ..Self::alone(record)
        }
    }

    /// Whether it is a 404 (which its slash variant may not be).
    fn not_found(&self) -> bool {
        self.record.status_code == Some(404)
    }
}

/// The same URL with its path's trailing slash added or removed (`/docs` and `/docs/`); none
/// for the root.
fn slash_variant(url: &Url) -> Option<Url> {
    let path = url.path();
    if path == "/" || path.is_empty() {
        return None;
    }
    let mut v = url.clone();
    match path.strip_suffix('/') {
        Some(p) => v.set_path(p),
        None => v.set_path(&format!("{path}/")),
    }
    Some(v)
}

/// When the page says it is best known by another URL of the site (`<link rel=canonical>`,
/// or `Content-Location`), it is stored under that URL, and the URL asked for is kept as
/// `requested_url`; the crawl then counts both as seen.
fn canonicalize(rec: &mut PageRecord, start: &Url, canonical: Option<&str>) {
    let Some(c) = canonical.and_then(|c| Url::parse(c).ok()) else {
        return;
    };
    if !same_site(start, &c) {
        return;
    }
    let c = normalize(&c).to_string();
    if c != rec.url {
        if rec.requested_url.is_none() {
            rec.requested_url = Some(rec.url.clone());
        }
        rec.url = c;
    }
}

/// A page that is not HTML: plain text and Markdown are kept as they are; anything else fails
/// as a type the crawler does not read.
fn read_text(rec: &mut PageRecord, fetched: &Fetched) {
    let mime = fetched.mime.as_deref().unwrap_or("text/html");
    if matches!(mime, "text/plain" | "text/markdown" | "text/x-markdown") {
        rec.ok = true;
        rec.title = fetched
            .final_url
            .path_segments()
            .and_then(|mut s| s.next_back())
            .unwrap_or_default()
            .to_string();
        rec.markdown = fetched.text.trim().to_string();
        rec.word_count = rec.markdown.split_whitespace().count() as u64;
    } else {
        rec.error = error(
            Code::UnsupportedContentType,
            format!("{mime} is not a page the crawler reads"),
        );
    }
}

fn error(code: Code, message: impl Into<String>) -> Option<JobError> {
    Some(JobError {
        code,
        message: message.into(),
    })
}

impl PageJob<'_> {
    fn empty(&self, url: &Url, depth: u32, via: &str) -> PageRecord {
        PageRecord::empty(
            self.tenant.clone(),
            self.job_id,
            normalize(url).to_string(),
            depth,
            via,
        )
    }

    /// Fill a record from an extracted page.
    fn fill(&self, rec: &mut PageRecord, page: &Extracted) {
        rec.title = page.title.clone();
        rec.description = page.description.clone();
        rec.canonical_url = page.canonical.clone();
        rec.language = page.language.clone();
        rec.last_modified = page.modified.clone();
        rec.headings = page.headings.clone();
        rec.markdown = page.markdown.clone();
        rec.code_blocks = page.code_blocks.clone();
        rec.word_count = page.markdown.split_whitespace().count() as u64;
        let external = page
            .links
            .iter()
            .filter(|l| {
                Url::parse(&l.url)
                    .map(|u| !same_site(self.start, &u))
                    .unwrap_or(false)
            })
            .count();
        rec.external_links = external as u64;
        rec.internal_links = (page.links.len() - external) as u64;
    }

    /// Crawl one page at `url` (as linked), found `depth` hops from the start. A 404 is tried
    /// once more with the trailing slash toggled before it is recorded.
    pub async fn crawl(&self, url: &Url, depth: u32) -> Crawled {
        let crawled = self.crawl_once(url, depth).await;
        if !crawled.not_found() {
            return crawled;
        }
        match slash_variant(url) {
            Some(variant) => {
                let again = self.crawl_once(&variant, depth).await;
                if again.record.ok {
                    again
                } else {
                    crawled
                }
            }
            None => crawled,
        }
    }

    async fn crawl_once(&self, url: &Url, depth: u32) -> Crawled {
        if self.render == RenderMode::Always {
            return self.render(url, depth, None).await;
        }
        let fetched = match self.fetcher.get(url).await {
            Ok(f) => f,
            Err(e) => {
                let mut rec = self.empty(url, depth, "http");
                rec.error = error(e.code(), e.to_string());
                return Crawled::alone(rec);
            }
        };
        if !same_site(self.start, &fetched.final_url) {
            let mut rec = self.empty(url, depth, "http");
            rec.status_code = Some(fetched.status);
            rec.error = error(
                Code::RedirectedOffSite,
                format!("redirected to another site: {}", fetched.final_url),
            );
            return Crawled::off_site(rec, fetched.final_url);
        }
        let mut rec = self.empty(&fetched.final_url, depth, "http");
        if normalize(&fetched.final_url) != normalize(url) {
            rec.requested_url = Some(normalize(url).to_string());
        }
        rec.status_code = Some(fetched.status);
        rec.content_type = fetched.mime.clone();
        rec.encoding = Some(fetched.encoding.to_string());
        if fetched.status >= 400 {
            rec.error = error(
                Code::Http(fetched.status),
                format!("the server answered {}", fetched.status),
            );
            return Crawled {
                retry_after: fetched.retry_after,
                ..Crawled::alone(rec)
            };
        }
        if !fetched.is_html() {
            read_text(&mut rec, &fetched);
            return Crawled::alone(rec);
        }
        self.read_html(rec, &fetched, depth).await
    }

    /// An HTML page: extracted, or rendered when it looks like a script-built page with little
    /// text (and the job allows it).
    async fn read_html(&self, mut rec: PageRecord, fetched: &Fetched, depth: u32) -> Crawled {
        let page = extract::extract(&fetched.text, Some(&fetched.final_url));
        let words = page.markdown.split_whitespace().count();
        if self.render == RenderMode::Auto
            && words < RENDER_BELOW_WORDS
            && fetched.text.to_ascii_lowercase().contains("<script")
        {
            let rendered = self.render(&fetched.final_url, depth, Some(&rec)).await;
            if rendered.record.ok {
                return rendered;
            }
            tracing::debug!(url = %fetched.final_url, "rendering failed; keeping the HTTP content");
        }
        self.fill(&mut rec, &page);
        if rec.language.is_none() {
            rec.language = fetched.content_language.clone();
        }
        if rec.last_modified.is_none() {
            rec.last_modified = fetched.last_modified.clone();
        }
        let canonical = page.canonical.as_deref();
        let location = fetched.content_location.as_ref().map(Url::as_str);
        canonicalize(&mut rec, self.start, canonical.or(location));
        rec.ok = true;
        Crawled::with_links(rec, page.links)
    }

    /// Render a page in the Chromium pool. `http` is what a plain fetch found, if one was made.
    async fn render(&self, url: &Url, depth: u32, http: Option<&PageRecord>) -> Crawled {
        match self.renderer.render(url).await {
            Ok(r) => {
                let final_url = Url::parse(&r.final_url).unwrap_or_else(|_| url.clone());
                let mut rec = self.empty(&final_url, depth, "browser");
                if let Some(h) = http {
                    rec.requested_url = h.requested_url.clone();
                    rec.encoding = h.encoding.clone();
                } else if normalize(&final_url) != normalize(url) {
                    rec.requested_url = Some(normalize(url).to_string());
                }
                rec.status_code = r.status.or(http.and_then(|h| h.status_code));
                rec.content_type = r.content_type.clone();
                if !same_site(self.start, &final_url) {
                    let mut rec = self.empty(url, depth, "browser");
                    rec.error = error(
                        Code::RedirectedOffSite,
                        format!("redirected to another site: {final_url}"),
                    );
                    return Crawled::off_site(rec, final_url);
                }
                if let Some(s) = rec.status_code.filter(|s| *s >= 400) {
                    rec.error = error(Code::Http(s), format!("the server answered {s}"));
                    return Crawled::alone(rec);
                }
                let page = extract::extract(&r.html, Some(&final_url));
                self.fill(&mut rec, &page);
                canonicalize(&mut rec, self.start, page.canonical.as_deref());
                rec.ok = true;
                Crawled::with_links(rec, page.links)
            }
            Err(e) => {
                let mut rec = self.empty(url, depth, "browser");
                rec.error = error(e.code(), e.to_string());
                Crawled::alone(rec)
            }
        }
    }
}

/// Whether a page failure means the whole site is unreachable (worth retrying the job later)
/// rather than one bad page.
pub fn is_site_down(record: &PageRecord) -> bool {
    record
        .error
        .as_ref()
        .is_some_and(|e| matches!(e.code, Code::NetworkError | Code::BrowserUnavailable))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn the_slash_variant_of_a_path() {
        let v = |s| slash_variant(&u(s)).map(|v| v.to_string());
        assert_eq!(v("http://a.test/docs"), Some("http://a.test/docs/".into()));
        assert_eq!(
            v("http://a.test/docs/?q=1"),
            Some("http://a.test/docs?q=1".into())
        );
        assert_eq!(v("http://a.test/"), None);
    }

    #[test]
    fn a_page_is_stored_under_its_canonical_url_on_the_same_site() {
        let start = u("http://a.test/docs/");
        let page =
            |url: &str| PageRecord::empty(TenantId::local(), "j", url.to_string(), 1, "http");
        let mut rec = page("http://a.test/docs/print?page=intro");
        canonicalize(&mut rec, &start, Some("http://a.test/docs/intro/#top"));
        assert_eq!(rec.url, "http://a.test/docs/intro");
        assert_eq!(
            rec.requested_url.as_deref(),
            Some("http://a.test/docs/print?page=intro")
        );
        // Another site's canonical, or none, changes nothing.
        let mut rec = page("http://a.test/docs/x");
        canonicalize(&mut rec, &start, Some("https://mirror.test/docs/x"));
        canonicalize(&mut rec, &start, None);
        assert_eq!(
            (rec.url.as_str(), rec.requested_url),
            ("http://a.test/docs/x", None)
        );
    }
}
