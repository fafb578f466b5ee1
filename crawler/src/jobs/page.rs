//! One page of a crawl: fetched over HTTP (or rendered in Chromium when it needs scripts, or when
//! the job asks), extracted, and turned into the record the store keeps, whatever happened: a
//! timeout, a 404 or a PDF is a record with an error, not a failed job.

use crate::extract::{self, Extracted, Link};
use crate::fetch::{Fetched, Fetcher};
use crate::urlnorm::{normalize, same_site};
use platform::jobs::{JobError, RenderMode};
use platform::store::{PageChange, PageRecord, Validators};
use platform::Code;
use platform::{RenderScope, TenantId};
use url::Url;

/// Pages with fewer words than this whose HTML carries scripts are rendered in Chromium.
const RENDER_BELOW_WORDS: usize = 30;

/// What a job needs to crawl one page.
pub struct PageJob<'a> {
    /// Renders pages that need scripts.
    pub renderer: &'a dyn RenderScope,
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
    /// A resync: each page is compared with the job resynced (see [`PageJob::crawl`]).
    pub resync: bool,
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
    /// The page did not change and was not read again: its links are those the job resynced
    /// found on it.
    pub carried: bool,
}

impl Crawled {
    /// A page with no links to follow.
    fn alone(record: PageRecord) -> Self {
        Self {
            record,
            links: Vec::new(),
            off_site: None,
            retry_after: None,
            carried: false,
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
    /// once more with the trailing slash toggled before it is recorded. On a resync,
    /// `previous` is the page as the job resynced stored it: it is asked for conditionally, and
    /// the record says what changed ([`PageRecord::change`]).
    pub async fn crawl(&self, url: &Url, depth: u32, previous: Option<&PageRecord>) -> Crawled {
        let mut crawled = self.crawl_once(url, depth, previous).await;
        if crawled.not_found() {
            if let Some(variant) = slash_variant(url) {
                let again = self.crawl_once(&variant, depth, None).await;
                if again.record.ok {
                    crawled = again;
                }
            }
        }
        if self.resync && crawled.record.change.is_none() {
            crawled.record.change = change_since(&crawled.record, previous);
        }
        crawled
    }

    /// The page as stored before, for this job: its content, links and passages carried over.
    fn unchanged(&self, previous: &PageRecord, fetched: &Fetched) -> Crawled {
        let mut rec = previous.clone();
        rec.job_id = self.job_id.to_string();
        rec.fetched_at = platform::store::now_secs();
        rec.change = Some(PageChange::Unchanged);
        if fetched.status == 304 {
            // A 304 may carry fresh validators; what it leaves out stays as it was.
            let v = &mut rec.validators;
            v.etag = fetched.etag.clone().or(v.etag.take());
            v.http_last_modified = fetched
                .last_modified
                .clone()
                .or(v.http_last_modified.take());
        }
        Crawled {
            carried: true,
            ..Crawled::alone(rec)
        }
    }

    async fn crawl_once(&self, url: &Url, depth: u32, previous: Option<&PageRecord>) -> Crawled {
        let previous = previous.filter(|p| p.ok);
        if self.render == RenderMode::Always && previous.is_none() {
            return self.render(url, depth, None).await;
        }
        let known = previous.map(|p| &p.validators);
        let fetched = match self.fetcher.get_if_changed(url, known).await {
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
        let validators = Validators {
            etag: fetched.etag.clone(),
            http_last_modified: fetched.last_modified.clone(),
            body_hash: Some(fetched.body_hash.clone()),
        };
        if let Some(prev) = previous {
            let same_body = prev.validators.body_hash == validators.body_hash;
            if fetched.status == 304 || (fetched.status == 200 && same_body) {
                return self.unchanged(prev, &fetched);
            }
            if self.render == RenderMode::Always {
                let mut rendered = self.render(url, depth, None).await;
                rendered.record.validators = validators;
                return rendered;
            }
        }
        let mut rec = self.empty(&fetched.final_url, depth, "http");
        if normalize(&fetched.final_url) != normalize(url) {
            rec.requested_url = Some(normalize(url).to_string());
        }
        rec.validators = validators;
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
                    rec.validators = h.validators.clone();
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

/// What a resync found a page to be, against the page the job resynced stored (`previous`):
/// new, changed, the same content (its Markdown and title), or gone (404 or 410). A page that
/// failed otherwise (a timeout, a 500) is none of these: its knowledge stays as it was.
fn change_since(rec: &PageRecord, previous: Option<&PageRecord>) -> Option<PageChange> {
    let prev = previous.filter(|p| p.ok);
    if rec.ok {
        return Some(match prev {
            None => PageChange::New,
            Some(p) if p.markdown == rec.markdown && p.title == rec.title => PageChange::Unchanged,
            Some(_) => PageChange::Changed,
        });
    }
    let gone = matches!(rec.status_code, Some(404) | Some(410));
    (gone && prev.is_some()).then_some(PageChange::Removed)
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
