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
}

impl Crawled {
    /// A page with no links to follow.
    fn alone(record: PageRecord) -> Self {
        Self {
            record,
            links: Vec::new(),
            off_site: None,
        }
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

    /// Crawl one page at `url`, found `depth` hops from the start.
    pub async fn crawl(&self, url: &Url, depth: u32) -> Crawled {
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
            return Crawled {
                record: rec,
                links: Vec::new(),
                off_site: Some(fetched.final_url),
            };
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
            return Crawled::alone(rec);
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
        rec.ok = true;
        Crawled {
            record: rec,
            links: page.links,
            off_site: None,
        }
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
                    return Crawled {
                        record: rec,
                        links: Vec::new(),
                        off_site: Some(final_url),
                    };
                }
                if let Some(s) = rec.status_code.filter(|s| *s >= 400) {
                    rec.error = error(Code::Http(s), format!("the server answered {s}"));
                    return Crawled {
                        record: rec,
                        links: Vec::new(),
                        off_site: None,
                    };
                }
                let page = extract::extract(&r.html, Some(&final_url));
                self.fill(&mut rec, &page);
                rec.ok = true;
                Crawled {
                    record: rec,
                    links: page.links,
                    off_site: None,
                }
            }
            Err(e) => {
                let mut rec = self.empty(url, depth, "browser");
                rec.error = error(e.code(), e.to_string());
                Crawled {
                    record: rec,
                    links: Vec::new(),
                    off_site: None,
                }
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
