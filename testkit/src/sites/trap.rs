//! A site full of crawler traps, served on 127.0.0.1, that records every request it gets:
//! robots-disallowed paths, a page only the sitemap lists, a script-rendered page, a redirect
//! chain and a redirect loop, an endless link chain, slow, broken and missing pages, a Latin-1
//! page, duplicate URL variants, a PDF, and links to other sites. Also a plain chain of slow
//! pages (`/slow-chain/N`) for the restart and worker-kill tests, and a generated site of any
//! size (`/gen/N`) for benchmarks.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request the site received.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Path and query.
    pub path: String,
    /// The `User-Agent`.
    pub agent: String,
    /// When it arrived.
    pub at: Instant,
}

#[derive(Clone)]
struct Cfg {
    hits: Arc<Mutex<Vec<Hit>>>,
    base: String,
    slow_chain: usize,
    slow_chain_delay: Duration,
    generated: usize,
}

/// A running trap site.
pub struct TrapSite {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

/// How the site is built.
#[derive(Clone, Debug)]
pub struct TrapOptions {
    /// Pages in `/slow-chain/N` (1..=N).
    pub slow_chain: usize,
    /// How long each of them takes to answer.
    pub slow_chain_delay: Duration,
    /// Pages in the generated site `/gen/N` (0..N).
    pub generated: usize,
}

impl Default for TrapOptions {
    fn default() -> Self {
        Self {
            slow_chain: 0,
            slow_chain_delay: Duration::from_millis(0),
            generated: 0,
        }
    }
}

impl TrapSite {
    /// Serve the site on a free port.
    pub async fn start(opts: TrapOptions) -> TrapSite {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let base = format!("http://127.0.0.1:{port}");
        let hits = Arc::new(Mutex::new(Vec::new()));
        let cfg = Cfg {
            hits: hits.clone(),
            base: base.clone(),
            slow_chain: opts.slow_chain,
            slow_chain_delay: opts.slow_chain_delay,
            generated: opts.generated,
        };
        let app = Router::new().fallback(serve).with_state(cfg);
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        TrapSite { base, hits }
    }

    /// A URL on the site.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Every request so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// How often a path (with query) was requested by the crawler's HTTP client (not Chromium).
    pub fn http_hits(&self, path: &str) -> usize {
        self.hits()
            .iter()
            .filter(|h| h.path == path && h.agent.starts_with("browser-automation-service"))
            .count()
    }

    /// How often a path was requested by anyone.
    pub fn all_hits(&self, path: &str) -> usize {
        self.hits().iter().filter(|h| h.path == path).count()
    }
}

fn html(title: &str, body: &str) -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!(
            "<!doctype html><html><head><title>{title}</title>\
             <meta name=description content=\"{title} page\"></head><body>\
             <nav><a href=\"/\">Home</a> | <a href=\"/docs/intro\">Docs</a> | Site navigation menu</nav>\
             <main>{body}</main>\
             <footer>Copyright 2026 Trap Site Incorporated. All rights reserved.</footer>\
             </body></html>"
        ),
    )
        .into_response()
}

/// A page without the navigation and footer (the slow and generated sites link only onwards).
fn plain(title: &str, body: &str) -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!("<!doctype html><html><head><title>{title}</title></head><body><main>{body}</main></body></html>"),
    )
        .into_response()
}

fn redirect(to: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to.to_string())]).into_response()
}

async fn serve(State(cfg): State<Cfg>, uri: Uri, headers: HeaderMap) -> Response {
    record_hit(&cfg, &uri, &headers);
    let p = uri.path();
    let number = |prefix: &str| p.strip_prefix(prefix).and_then(|n| n.parse::<usize>().ok());
    if let Some(n) = number("/slow-chain/") {
        return slow_chain_page(&cfg, n).await;
    }
    if let Some(n) = number("/gen/") {
        return generated_page(&cfg, n);
    }
    if let Some(n) = number("/chain/") {
        return html(
            &format!("Chain {n}"),
            &format!(
                "<h1>Chain link {n}</h1><p>An endless chain of pages, link number {n}.</p>\
                 <a href=\"/chain/{}\">next</a>",
                n + 1
            ),
        );
    }
    match p {
        "/" if cfg.generated > 0 => plain(
            "Generated site",
            "<h1>Generated site</h1><p>The root of a generated site.</p><a href=\"/gen/0\">start</a>",
        ),
        "/" if cfg.slow_chain > 0 => plain(
            "Slow site",
            "<h1>Slow site</h1><p>The root of a site of slow pages.</p><a href=\"/slow-chain/1\">start</a>",
        ),
        "/robots.txt" | "/sitemap.xml" if cfg.generated > 0 || cfg.slow_chain > 0 => {
            StatusCode::NOT_FOUND.into_response()
        }
        "/robots.txt" => (
            [(header::CONTENT_TYPE, "text/plain")],
            format!(
                "User-agent: *\nDisallow: /private\nCrawl-delay: 0.05\nSitemap: {}/sitemap.xml\n",
                cfg.base
            ),
        )
            .into_response(),
        "/sitemap.xml" => (
            [(header::CONTENT_TYPE, "application/xml")],
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
                 <urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\
                 <url><loc>{b}/</loc></url><url><loc>{b}/orphan</loc></url>\
                 <url><loc>{b}/private/in-sitemap</loc></url></urlset>",
                b = cfg.base
            ),
        )
            .into_response(),
        "/" => html("Trap Site", HOME),
        _ => trap_page(p).await,
    }
}

/// Count a request (path with query, user agent, time).
fn record_hit(cfg: &Cfg, uri: &Uri, headers: &HeaderMap) {
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| uri.path().to_string());
    cfg.hits.lock().unwrap().push(Hit {
        path,
        agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
        at: Instant::now(),
    });
}

/// Page `n` of the slow chain: answers after the chain's delay and links to the next.
async fn slow_chain_page(cfg: &Cfg, n: usize) -> Response {
    if n == 0 || n > cfg.slow_chain {
        return StatusCode::NOT_FOUND.into_response();
    }
    tokio::time::sleep(cfg.slow_chain_delay).await;
    let next = if n < cfg.slow_chain {
        format!("<a href=\"/slow-chain/{}\">next</a>", n + 1)
    } else {
        String::new()
    };
    plain(
        &format!("Slow chain {n}"),
        &format!("<h1>Slow chain page {n}</h1><p>Step number {n} of a long and patient chain of pages.</p>{next}"),
    )
}

/// Page `n` of the generated site.
fn generated_page(cfg: &Cfg, n: usize) -> Response {
    if n >= cfg.generated {
        return StatusCode::NOT_FOUND.into_response();
    }
    // Each page links to a few others, so breadth-first reaches all of them.
    let links: String = [2 * n + 1, 2 * n + 2, n / 2, (n * 7 + 3) % cfg.generated]
        .iter()
        .filter(|&&k| k < cfg.generated)
        .map(|k| format!("<li><a href=\"/gen/{k}\">Page {k}</a></li>"))
        .collect();
    plain(
        &format!("Generated page {n}"),
        &format!(
            "<h1>Generated page {n}</h1><p>This is page number {n} of a generated site. \
             It has a paragraph of ordinary text so that extraction has some work to do, \
             and a short code sample.</p><pre><code class=\"language-rust\">fn page() -> u32 {{ {n} }}</code></pre>\
             <ul>{links}</ul>"
        ),
    )
}

/// The trap site's home page: a link to every trap.
const HOME: &str = "<h1>Welcome to the trap site</h1>\
             <p>This home page links to every trap a crawler meets in the wild.</p>\
             <ul>\
             <li><a href=\"/docs/intro\">Introduction</a></li>\
             <li><a href=\"/docs/intro/\">Introduction again (trailing slash)</a></li>\
             <li><a href=\"/docs/intro?utm_source=newsletter\">Introduction (tracking)</a></li>\
             <li><a href=\"/docs/intro#install\">Introduction (fragment)</a></li>\
             <li><a href=\"/search?q=rust&page=2\">Search</a></li>\
             <li><a href=\"/search?page=2&q=rust\">Search (other order)</a></li>\
             <li><a href=\"/private/secret\">Private</a></li>\
             <li><a href=\"/app\">Application</a></li>\
             <li><a href=\"/old\">Old page</a></li>\
             <li><a href=\"/loop-a\">Loop</a></li>\
             <li><a href=\"/chain/1\">Chain</a></li>\
             <li><a href=\"/slow\">Slow</a></li>\
             <li><a href=\"/broken\">Broken</a></li>\
             <li><a href=\"/missing\">Missing</a></li>\
             <li><a href=\"/latin1\">Latin-1</a></li>\
             <li><a href=\"/manual.pdf\">Manual (PDF)</a></li>\
             <li><a href=\"https://external.example/page\">An external site</a></li>\
             <li><a href=\"http://other.test/x\">Another external site</a></li>\
             <li><a href=\"mailto:someone@example.com\">Mail us</a></li>\
             </ul>";

/// The trap site's pages other than its home, its robots file and its sitemap.
async fn trap_page(p: &str) -> Response {
    match p {
        "/docs/intro" => html(
            "Introduction",
            "<h1>Introduction</h1><p>The introduction explains how the widget frobnicates its inputs.</p>\
             <h2 id=install>Install</h2><p>Install it with cargo.</p>\
             <pre><code class=\"language-rust\">fn main() {\n    println!(\"frobnicate\");\n}</code></pre>\
             <p>Next: <a href=\"/docs/guide\">the guide</a>. Or the <a href=\"https://external.example/page\">external page</a>.</p>",
        ),
        "/docs/guide" => html(
            "Guide",
            "<h1>Guide</h1><p>The guide walks through configuring the widget step by step.</p>\
             <a href=\"/docs/intro\">Back to the introduction</a> \
             <a href=\"/docs/guide?utm_campaign=z\">This guide again</a>",
        ),
        "/search" => html(
            "Search results",
            "<h1>Search results</h1><p>Results for rust on page two of the search.</p>",
        ),
        "/orphan" => html(
            "Orphan",
            "<h1>Orphan page</h1><p>No link leads here; only the sitemap lists this lonely page.</p>",
        ),
        "/app" => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            "<!doctype html><html><head><title>App</title></head><body><div id=root></div>\
             <script>setTimeout(function () {\
               document.getElementById('root').innerHTML = '<main><h1>Rendered app</h1>\
               <p>Rendered by script: the answer to the ultimate question is forty-two.</p>\
               <a href=\"/docs/from-script\">A page only the script links to</a></main>';\
             }, 50);</script></body></html>",
        )
            .into_response(),
        "/docs/from-script" => html(
            "From script",
            "<h1>From script</h1><p>Only the rendered application links to this page.</p>",
        ),
        "/old" => redirect("/older"),
        "/older" => redirect("/docs/moved"),
        "/docs/moved" => html(
            "Moved",
            "<h1>Moved page</h1><p>The old page moved here after two redirects.</p>",
        ),
        "/loop-a" => redirect("/loop-b"),
        "/loop-b" => redirect("/loop-a"),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(6)).await;
            html("Slow", "<p>Too late.</p>")
        }
        "/broken" => (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response(),
        "/latin1" => {
            let body = "<!doctype html><html><head><title>Latin</title></head><body><main>\
                        <h1>Latin-1 page</h1><p>Caf\u{e9} cr\u{e8}me br\u{fb}l\u{e9}e, se\u{f1}or M\u{fc}ller.</p>\
                        </main></body></html>";
            // Encode as ISO-8859-1: every char here is below U+0100.
            let bytes: Vec<u8> = body.chars().map(|c| c as u32 as u8).collect();
            (
                [(header::CONTENT_TYPE, "text/html; charset=iso-8859-1")],
                bytes,
            )
                .into_response()
        }
        "/manual.pdf" => (
            [(header::CONTENT_TYPE, "application/pdf")],
            b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec(),
        )
            .into_response(),
        _ => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
