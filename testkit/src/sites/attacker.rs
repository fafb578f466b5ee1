//! An attacker's site and the loopback-only server it aims at, for the egress tests.
//!
//! [`Secret`] listens on 127.0.0.1 (and `[::1]` where the machine has IPv6) and counts every
//! connection it accepts, whatever arrives on it. [`Attacker`] listens on another loopback
//! address (127.0.0.2, which the tests allowlist) and serves `/attack?u=URL&u=URL...`: a page
//! that tries every way a page can make a request (image, fetch, iframe, prefetch, WebSocket,
//! EventSource, beacon, form post, popup, dedicated worker, service worker) against each URL,
//! plus `/redirect?u=URL` (a 302 there), `/js-redirect?u=URL` (a script navigation there) and
//! `/ok` (a plain page).

use axum::extract::{Query, RawQuery};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the secret server answers.
pub const SECRET: &str = "TOP-SECRET-7f3a9c";

/// A loopback-only server that must receive nothing from pages.
pub struct Secret {
    /// Its port (on 127.0.0.1, and on `[::1]` when `v6` is set).
    pub port: u16,
    /// Whether it also listens on `[::1]`.
    pub v6: bool,
    connections: Arc<AtomicUsize>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Secret {
    /// Listen on 127.0.0.1 and, on the same port, `[::1]` when the machine has it.
    pub async fn start() -> Self {
        let v4 = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = v4.local_addr().unwrap().port();
        let v6 = TcpListener::bind(("::1", port)).await.ok();
        let connections: Arc<AtomicUsize> = Arc::default();
        let mut tasks = vec![tokio::spawn(count(v4, connections.clone()))];
        let has_v6 = v6.is_some();
        if let Some(l) = v6 {
            tasks.push(tokio::spawn(count(l, connections.clone())));
        }
        Self {
            port,
            v6: has_v6,
            connections,
            tasks,
        }
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn count(listener: TcpListener, connections: Arc<AtomicUsize>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        connections.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).await;
            let body = format!("<html><body><h1>{SECRET}</h1></body></html>");
            let _ = stream
                .write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\naccess-control-allow-origin: *\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                )
                .await;
        });
    }
}

/// The attacker's site.
pub struct Attacker {
    /// `http://127.0.0.2:PORT`
    pub base: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Attacker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Attacker {
    /// Serve the site on 127.0.0.2.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.2:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = Router::new()
            .route("/attack", get(attack))
            .route("/redirect", get(redirect))
            .route("/js-redirect", get(js_redirect))
            .route("/worker.js", get(worker))
            .route("/sw.js", get(worker))
            .route(
                "/ok",
                get(|| async { Html("<html><head><title>OK</title></head><body><h1>Still working</h1></body></html>") }),
            );
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            base: format!("http://127.0.0.2:{port}"),
            task,
        }
    }

    /// The attack page against these URLs.
    pub fn attack_url(&self, targets: &[String]) -> String {
        format!("{}/attack?{}", self.base, query(targets))
    }

    /// A page of this site.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base)
    }
}

/// `u=URL&u=URL...`
pub fn query(targets: &[String]) -> String {
    targets
        .iter()
        .map(|t| format!("u={}", urlencode(t)))
        .collect::<Vec<_>>()
        .join("&")
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The `u` parameters of a query string.
fn targets(raw: Option<String>) -> Vec<String> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == "u")
        .map(|(_, v)| v.into_owned())
        .collect()
}

/// Every page-initiated request form, against every target.
async fn attack(RawQuery(raw): RawQuery) -> Html<String> {
    let list = serde_json::to_string(&targets(raw)).unwrap();
    Html(format!(
        r#"<!doctype html><html><head><title>Attack</title></head><body><h1>Attack page</h1>
<div id=out></div>
<script>
const targets = {list};
const out = document.getElementById('out');
function add(html) {{ const d = document.createElement('div'); d.innerHTML = html; out.appendChild(d); }}
for (const t of targets) {{
  const ws = t.replace(/^http/, 'ws');
  add('<img src="' + t + '?via=img">');
  add('<iframe src="' + t + '?via=iframe"></iframe>');
  const l = document.createElement('link'); l.rel = 'prefetch'; l.href = t + '?via=prefetch'; document.head.appendChild(l);
  fetch(t + '?via=fetch', {{mode: 'no-cors'}}).then(r => r.text()).then(x => add('<p>' + x + '</p>')).catch(() => {{}});
  fetch(t + '?via=cors').then(r => r.text()).then(x => add('<p>' + x + '</p>')).catch(() => {{}});
  try {{ new WebSocket(ws + '?via=ws'); }} catch (e) {{}}
  try {{ new EventSource(t + '?via=sse'); }} catch (e) {{}}
  try {{ navigator.sendBeacon(t + '?via=beacon', 'x'); }} catch (e) {{}}
  try {{ window.open(t + '?via=popup'); }} catch (e) {{}}
  try {{ new Worker('/worker.js?u=' + encodeURIComponent(t)); }} catch (e) {{}}
  const f = document.createElement('form'); f.method = 'post'; f.action = t + '?via=form';
  f.target = 'sink'; document.body.appendChild(f);
  const sink = document.createElement('iframe'); sink.name = 'sink'; document.body.appendChild(sink);
  f.submit();
}}
if (navigator.serviceWorker) {{
  navigator.serviceWorker.register('/sw.js?' + targets.map(t => 'u=' + encodeURIComponent(t)).join('&')).catch(() => {{}});
}}
setTimeout(() => {{ document.title = 'Attack done'; }}, 1500);
</script></body></html>"#
    ))
}

#[derive(Deserialize)]
struct One {
    u: String,
}

async fn redirect(Query(q): Query<One>) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, q.u)]).into_response()
}

async fn js_redirect(Query(q): Query<One>) -> Html<String> {
    let to = serde_json::to_string(&q.u).unwrap();
    Html(format!(
        "<html><head><title>Redirecting</title></head><body><script>location.href = {to};</script></body></html>"
    ))
}

/// A worker (dedicated or service) that fetches every `u` of its own URL.
async fn worker() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript")],
        "const us = new URL(self.location.href).searchParams.getAll('u');\n\
         for (const u of us) { fetch(u + '?via=worker', {mode: 'no-cors'}).catch(() => {}); }\n\
         self.addEventListener('install', () => { for (const u of us) { fetch(u + '?via=sw', {mode: 'no-cors'}).catch(() => {}); } });\n",
    )
        .into_response()
}
