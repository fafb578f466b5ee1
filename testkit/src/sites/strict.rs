//! A site strict about its URLs, for crawl correctness, served on 127.0.0.1 and recording every
//! request: `/docs/` answers and `/docs` is 404 (so relative links resolve only from the URL as
//! linked), a page linked without the slash it is served with (`/docs/ref`), pages that name
//! their canonical URL, a page sent with `Content-Location`, and, when throttled, a page that
//! answers 429 with `Retry-After: 2` the first time it is asked for.

use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A running strict site.
pub struct StrictSite {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    hits: Arc<Mutex<Vec<(String, Instant)>>>,
}

#[derive(Clone)]
struct Cfg {
    hits: Arc<Mutex<Vec<(String, Instant)>>>,
    throttle: bool,
}

/// The paths of the pages the site has, as a crawl should store them (one per canonical URL).
pub const PAGES: &[&str] = &[
    "/docs",
    "/docs/intro",
    "/docs/ref",
    "/docs/guide",
    "/docs/guide/setup",
    "/docs/limited",
];

impl StrictSite {
    /// Serve the site on a free port; `throttle` makes `/docs/limited` answer 429 once.
    pub async fn start(throttle: bool) -> StrictSite {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(Mutex::new(Vec::new()));
        let cfg = Cfg {
            hits: hits.clone(),
            throttle,
        };
        let app = Router::new().fallback(serve).with_state(cfg);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        StrictSite { base, hits }
    }

    /// A URL on the site.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// When each request for a path (with its query) arrived.
    pub fn hits(&self, path: &str) -> Vec<Instant> {
        let hits = self.hits.lock().unwrap();
        hits.iter()
            .filter(|(p, _)| p == path)
            .map(|(_, at)| *at)
            .collect()
    }

    /// The last request the site received.
    pub fn last_hit(&self) -> Option<Instant> {
        self.hits.lock().unwrap().iter().map(|(_, at)| *at).max()
    }
}

fn page(title: &str, canonical: Option<&str>, body: &str) -> Response {
    let canonical = canonical
        .map(|c| format!("<link rel=\"canonical\" href=\"{c}\">"))
        .unwrap_or_default();
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!(
            "<!doctype html><html lang=\"en\"><head><title>{title}</title>{canonical}\
             <meta property=\"article:modified_time\" content=\"2026-11-02T09:30:00Z\"></head>\
             <body><main><h1>{title}</h1>{body}</main></body></html>"
        ),
    )
        .into_response()
}

async fn serve(State(cfg): State<Cfg>, uri: Uri) -> Response {
    let full = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let first = {
        let mut hits = cfg.hits.lock().unwrap();
        let first = !hits.iter().any(|(p, _)| *p == full);
        hits.push((full, Instant::now()));
        first
    };
    let intro = "<p>The introduction explains how the widget frobnicates its inputs.</p>";
    let setup = "<p>Setting up the widget takes three careful steps.</p>";
    match uri.path() {
        // Relative links: right only when resolved against `/docs/`.
        "/docs/" => page(
            "Docs",
            None,
            "<p>The documentation of the widget, in several parts.</p><ul>\
             <li><a href=\"intro\">Introduction</a></li>\
             <li><a href=\"intro?lang=en\">Introduction in English</a></li>\
             <li><a href=\"print?page=intro\">Printable introduction</a></li>\
             <li><a href=\"ref\">Reference</a></li>\
             <li><a href=\"guide/\">Guide</a></li>\
             <li><a href=\"mirror\">Setup (mirror)</a></li>\
             <li><a href=\"limited\">Limited</a></li></ul>",
        ),
        "/docs/intro" | "/docs/print" => page("Introduction", Some("/docs/intro"), intro),
        "/docs/ref/" => page(
            "Reference",
            None,
            "<p>The reference lists every option of the widget.</p>",
        ),
        "/docs/guide/" => page(
            "Guide",
            None,
            "<p>The guide walks through the widget.</p><a href=\"setup\">Setup</a>",
        ),
        "/docs/guide/setup" => page("Setup", None, setup),
        "/docs/mirror" => {
            let mut r = page("Setup", None, setup);
            r.headers_mut().insert(
                header::CONTENT_LOCATION,
                header::HeaderValue::from_static("/docs/guide/setup"),
            );
            r
        }
        "/docs/limited" if cfg.throttle && first => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "2")],
            "slow down",
        )
            .into_response(),
        "/docs/limited" => page(
            "Limited",
            None,
            "<p>A page behind a rate limit, patient readers only.</p>",
        ),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}
