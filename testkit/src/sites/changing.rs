//! A site whose pages change between two crawls, for resync tests, served on 127.0.0.1. Each page
//! is sent with its validators as a real server would: an `ETag`, a `Last-Modified`, or neither;
//! conditional requests whose validator still matches are answered 304 with no body. Every
//! request is logged with the status it was answered with, so a test sees which pages were sent
//! in full.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// What a page is sent with to tell whether it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validator {
    /// `ETag: "v<version>"`.
    ETag,
    /// `Last-Modified`, a date that moves with each version.
    LastModified,
    /// Nothing: a resync can only compare bodies.
    None,
}

#[derive(Debug, Clone)]
struct Page {
    title: String,
    body: String,
    validator: Validator,
    version: u32,
}

#[derive(Default)]
struct Inner {
    pages: BTreeMap<String, Page>,
    log: Vec<(String, u16)>,
}

/// A running site whose pages can be changed, removed and added.
#[derive(Clone)]
pub struct ChangingSite {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

impl ChangingSite {
    /// Serve an empty site on a free port.
    pub async fn start() -> ChangingSite {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new().fallback(serve).with_state(inner.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        ChangingSite { base, inner }
    }

    /// A URL on the site.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Add a page, or change one (its version, so its validator, moves on).
    pub fn set(&self, path: &str, title: &str, body: &str, validator: Validator) {
        let mut inner = self.inner.lock().unwrap();
        let version = inner.pages.get(path).map_or(1, |p| p.version + 1);
        inner.pages.insert(
            path.to_string(),
            Page {
                title: title.into(),
                body: body.into(),
                validator,
                version,
            },
        );
    }

    /// Remove a page: it answers 404 from now on.
    pub fn remove(&self, path: &str) {
        self.inner.lock().unwrap().pages.remove(path);
    }

    /// Forget the requests logged so far.
    pub fn clear_log(&self) {
        self.inner.lock().unwrap().log.clear();
    }

    /// The statuses a path was answered with, in order.
    pub fn answered(&self, path: &str) -> Vec<u16> {
        let inner = self.inner.lock().unwrap();
        inner
            .log
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, s)| *s)
            .collect()
    }
}

fn last_modified(version: u32) -> String {
    format!("Sun, {:02} Nov 2026 10:00:00 GMT", version.min(28))
}

async fn serve(State(inner): State<Arc<Mutex<Inner>>>, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().to_string();
    let mut inner = inner.lock().unwrap();
    let page = inner.pages.get(&path).cloned();
    let asked = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let response = match page {
        None => StatusCode::NOT_FOUND.into_response(),
        Some(p) => {
            let (name, value) = match p.validator {
                Validator::ETag => (header::ETAG, format!("\"v{}\"", p.version)),
                Validator::LastModified => (header::LAST_MODIFIED, last_modified(p.version)),
                Validator::None => (header::DATE, "Sun, 01 Nov 2026 09:00:00 GMT".into()),
            };
            let fresh = match p.validator {
                Validator::ETag => asked(header::IF_NONE_MATCH) == Some(value.as_str()),
                Validator::LastModified => asked(header::IF_MODIFIED_SINCE) == Some(value.as_str()),
                Validator::None => false,
            };
            if fresh {
                (StatusCode::NOT_MODIFIED, [(name, value)]).into_response()
            } else {
                let html = format!(
                    "<!doctype html><html lang=\"en\"><head><title>{t}</title></head>\
                     <body><main><h1>{t}</h1>{b}</main></body></html>",
                    t = p.title,
                    b = p.body
                );
                (
                    [
                        (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
                        (name, value),
                    ],
                    html,
                )
                    .into_response()
            }
        }
    };
    inner.log.push((path, response.status().as_u16()));
    response
}
