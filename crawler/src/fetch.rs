//! Fetching pages over plain HTTP(S) for the crawler: redirects followed one hop at a time with
//! the private-network check on every hop (and in the DNS resolver itself, so a name cannot
//! resolve to an internal address between the check and the connection), loops stopped, a size
//! limit enforced while reading, and the body decoded from its declared or sniffed charset.

use platform::netguard::{self, NetPolicy};
use platform::store::Validators;
use platform::Code;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use url::Url;

/// Why a fetch failed.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum FetchError {
    /// The URL is not an http(s) URL.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// The URL (or a redirect) points into a private network.
    #[error("blocked target: {0}")]
    Blocked(String),
    /// Redirects came back to a URL already visited.
    #[error("redirect loop at {0}")]
    RedirectLoop(String),
    /// More redirects than allowed.
    #[error("more than {0} redirects")]
    TooManyRedirects(usize),
    /// The body is larger than allowed.
    #[error("the response is larger than {0} bytes")]
    TooLarge(usize),
    /// The server did not answer in time.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// DNS, connection, TLS or protocol failure.
    #[error("network error: {0}")]
    Network(String),
}

impl FetchError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> Code {
        match self {
            Self::InvalidUrl(_) => Code::InvalidUrl,
            Self::Blocked(_) => Code::BlockedUrl,
            Self::RedirectLoop(_) => Code::RedirectLoop,
            Self::TooManyRedirects(_) => Code::TooManyRedirects,
            Self::TooLarge(_) => Code::TooLarge,
            Self::Timeout(_) => Code::Timeout,
            Self::Network(_) => Code::NetworkError,
        }
    }
}

/// How pages are fetched.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// Timeout for one request (each redirect hop has its own).
    pub timeout: Duration,
    /// Most body bytes read.
    pub max_bytes: usize,
    /// Most redirects followed.
    pub max_redirects: usize,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// Private networks that may be reached.
    pub network: NetPolicy,
}

impl Default for FetchConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(20),
            max_bytes: 10 * 1024 * 1024,
            max_redirects: 10,
            user_agent: concat!("browser-automation-service/", env!("CARGO_PKG_VERSION")).into(),
            network: NetPolicy::default(),
        }
    }
}

/// A fetched response.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched {
    /// The URL after redirects.
    pub final_url: Url,
    /// Every URL redirected through, in order (not including the final one).
    pub redirects: Vec<Url>,
    /// HTTP status of the final answer.
    pub status: u16,
    /// The `Content-Type`, lower-cased, without parameters.
    pub mime: Option<String>,
    /// The body decoded to text (empty for binary types).
    pub text: String,
    /// The encoding the body was decoded from.
    pub encoding: &'static str,
    /// Body bytes received.
    pub bytes: usize,
    /// How long the server asked to wait (`Retry-After` on a 429 or 503), at most
    /// [`MAX_RETRY_AFTER`].
    pub retry_after: Option<Duration>,
    /// `Content-Location` on a successful answer, made absolute: the URL the content is also
    /// served under.
    pub content_location: Option<Url>,
    /// `Last-Modified`, as sent.
    pub last_modified: Option<String>,
    /// `Content-Language`, as sent.
    pub content_language: Option<String>,
    /// `ETag`, as sent.
    pub etag: Option<String>,
    /// SHA-256 of the body bytes, in hex.
    pub body_hash: String,
}

/// The longest `Retry-After` honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// A `Retry-After` value: delay seconds or an HTTP date (from `now`), at most
/// [`MAX_RETRY_AFTER`]; `None` when it is neither.
pub fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => httpdate::parse_http_date(value)
            .ok()?
            .duration_since(now)
            .unwrap_or(Duration::ZERO),
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

impl Fetched {
    /// Whether the answer is an HTML document.
    pub fn is_html(&self) -> bool {
        matches!(
            self.mime.as_deref(),
            Some("text/html") | Some("application/xhtml+xml") | None
        )
    }
}

/// A DNS resolver that never returns a private address unless it is allowed, resolving with the
/// network policy's resolver.
struct GuardedResolver {
    allow: NetPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            // Resolved once by the service's resolver; reqwest connects to exactly these.
            let addrs = allow.resolve_checked(&host, 0).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Fetches pages.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    cfg: Arc<FetchConfig>,
}

impl Fetcher {
    /// A fetcher with its own connection pool.
    pub fn new(cfg: FetchConfig) -> Result<Self, FetchError> {
        // rustls needs a process-wide crypto provider; installing it twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(cfg.user_agent.clone())
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
            .dns_resolver(Arc::new(GuardedResolver {
                allow: cfg.network.clone(),
            }))
            .build()
            .map_err(|e| FetchError::Network(e.to_string()))?;
        Ok(Self {
            client,
            cfg: Arc::new(cfg),
        })
    }

    /// GET a URL, following redirects.
    pub async fn get(&self, url: &Url) -> Result<Fetched, FetchError> {
        self.get_if_changed(url, None).await
    }

    /// GET a URL, following redirects; with `known` validators (from a page fetched before),
    /// the first request is conditional (`If-None-Match`, `If-Modified-Since`), and a server
    /// whose page did not change answers 304 with no body.
    pub async fn get_if_changed(
        &self,
        url: &Url,
        known: Option<&Validators>,
    ) -> Result<Fetched, FetchError> {
        let mut current = url.clone();
        let mut redirects = Vec::new();
        let mut seen = HashSet::new();
        loop {
            if !matches!(current.scheme(), "http" | "https") {
                return Err(FetchError::InvalidUrl(current.to_string()));
            }
            netguard::check_url(&current, &self.cfg.network)
                .await
                .map_err(|e| match e {
                    platform::EngineError::BlockedUrl(m) => FetchError::Blocked(m),
                    other => FetchError::Network(other.to_string()),
                })?;
            if !seen.insert(current.to_string()) {
                return Err(FetchError::RedirectLoop(current.to_string()));
            }
            let mut request = self.client.get(current.clone());
            if let Some(v) = known.filter(|_| redirects.is_empty()) {
                if let Some(etag) = &v.etag {
                    request = request.header(reqwest::header::IF_NONE_MATCH, etag);
                }
                if let Some(date) = &v.http_last_modified {
                    request = request.header(reqwest::header::IF_MODIFIED_SINCE, date);
                }
            }
            let resp = request.send().await.map_err(|e| self.classify(e))?;
            let status = resp.status();
            if status.is_redirection() {
                if let Some(loc) = resp
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                {
                    let next = current
                        .join(loc)
                        .map_err(|_| FetchError::InvalidUrl(format!("redirect to {loc:?}")))?;
                    if redirects.len() >= self.cfg.max_redirects {
                        return Err(FetchError::TooManyRedirects(self.cfg.max_redirects));
                    }
                    redirects.push(current);
                    current = next;
                    continue;
                }
            }
            return self.read(resp, current, redirects).await;
        }
    }

    fn classify(&self, e: reqwest::Error) -> FetchError {
        if e.is_timeout() {
            return FetchError::Timeout(self.cfg.timeout);
        }
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            source = s.source();
        }
        if msg.contains("private addresses") {
            return FetchError::Blocked(msg);
        }
        FetchError::Network(msg)
    }

    async fn read(
        &self,
        mut resp: reqwest::Response,
        final_url: Url,
        redirects: Vec<Url>,
    ) -> Result<Fetched, FetchError> {
        let status = resp.status().as_u16();
        let header = |name| resp.headers().get(name).and_then(|v| v.to_str().ok());
        let retry_after = matches!(status, 429 | 503)
            .then(|| header(reqwest::header::RETRY_AFTER))
            .flatten()
            .and_then(|v| parse_retry_after(v, std::time::SystemTime::now()));
        let content_location = (status < 300)
            .then(|| header(reqwest::header::CONTENT_LOCATION))
            .flatten()
            .and_then(|v| final_url.join(v).ok());
        let last_modified = header(reqwest::header::LAST_MODIFIED).map(str::to_string);
        let etag = header(reqwest::header::ETAG).map(str::to_string);
        let content_language = header(reqwest::header::CONTENT_LANGUAGE).map(str::to_string);
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mime = content_type
            .as_deref()
            .map(|c| {
                c.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            })
            .filter(|m| !m.is_empty());
        let max = self.cfg.max_bytes;
        if resp.content_length().is_some_and(|l| l as usize > max) {
            return Err(FetchError::TooLarge(max));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.classify(e))? {
            if body.len() + chunk.len() > max {
                return Err(FetchError::TooLarge(max));
            }
            body.extend_from_slice(&chunk);
        }
        let textual = match mime.as_deref() {
            None => true,
            Some(m) => {
                m.starts_with("text/")
                    || m.ends_with("+xml")
                    || m.ends_with("/xml")
                    || m.ends_with("json")
                    || m == "application/xhtml+xml"
            }
        };
        let (text, encoding) = if textual {
            decode(&body, content_type.as_deref())
        } else {
            (String::new(), "binary")
        };
        Ok(Fetched {
            final_url,
            redirects,
            status,
            mime,
            text,
            encoding,
            bytes: body.len(),
            retry_after,
            content_location,
            last_modified,
            content_language,
            etag,
            body_hash: hex::encode(Sha256::digest(&body)),
        })
    }

    /// POST a body to a URL under the network policy, following no redirect: the answer's
    /// status. Used for webhooks.
    pub async fn post(
        &self,
        url: &Url,
        headers: &[(&str, String)],
        body: String,
    ) -> Result<u16, FetchError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::InvalidUrl(url.to_string()));
        }
        netguard::check_url(url, &self.cfg.network)
            .await
            .map_err(|e| match e {
                platform::EngineError::BlockedUrl(m) => FetchError::Blocked(m),
                other => FetchError::Network(other.to_string()),
            })?;
        let mut request = self
            .client
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let resp = request
            .body(body)
            .send()
            .await
            .map_err(|e| self.classify(e))?;
        Ok(resp.status().as_u16())
    }
}

/// Decode a body: the charset the headers declare, else a BOM, else a `<meta>` charset in the
/// first kilobytes, else UTF-8 when it is valid, else windows-1252 (what browsers assume).
pub fn decode(body: &[u8], content_type: Option<&str>) -> (String, &'static str) {
    let declared = content_type
        .and_then(|c| {
            c.split(';')
                .skip(1)
                .find_map(|p| p.trim().strip_prefix("charset="))
        })
        .map(|c| c.trim_matches('"').to_string());
    let encoding = declared
        .and_then(|c| encoding_rs::Encoding::for_label(c.as_bytes()))
        .or_else(|| encoding_rs::Encoding::for_bom(body).map(|(e, _)| e))
        .or_else(|| sniff_meta(&body[..body.len().min(4096)]))
        .unwrap_or_else(|| {
            if std::str::from_utf8(body).is_ok() {
                encoding_rs::UTF_8
            } else {
                encoding_rs::WINDOWS_1252
            }
        });
    let (text, used, _) = encoding.decode(body);
    (text.into_owned(), used.name())
}

fn sniff_meta(head: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    let idx = head.find("charset=")?;
    let rest = head[idx + 8..].trim_start_matches(['"', '\'']);
    let label: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    encoding_rs::Encoding::for_label(label.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::{IntoResponse, Redirect};
    use axum::routing::get;

    #[test]
    fn retry_after_is_seconds_or_a_date_and_bounded() {
        let now = httpdate::parse_http_date("Sun, 29 Nov 2026 12:00:00 GMT").unwrap();
        let at = |v| parse_retry_after(v, now);
        assert_eq!(at("2"), Some(Duration::from_secs(2)));
        assert_eq!(at(" 0 "), Some(Duration::ZERO));
        assert_eq!(
            at("Sun, 29 Nov 2026 12:00:30 GMT"),
            Some(Duration::from_secs(30))
        );
        // A date gone by: no wait. Too long: the cap.
        assert_eq!(at("Sun, 29 Nov 2026 11:00:00 GMT"), Some(Duration::ZERO));
        assert_eq!(at("86400"), Some(MAX_RETRY_AFTER));
        assert_eq!(at("soon"), None);
        assert_eq!(at("-5"), None);
    }

    async fn site() -> (String, u16) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let app =
            axum::Router::new()
                .route("/", get(|| async { axum::response::Html("<h1>ok</h1>") }))
                .route("/r1", get(|| async { Redirect::temporary("/r2") }))
                .route("/r2", get(|| async { Redirect::permanent("/") }))
                .route("/loop-a", get(|| async { Redirect::temporary("/loop-b") }))
                .route("/loop-b", get(|| async { Redirect::temporary("/loop-a") }))
                .route(
                    "/latin1",
                    get(|| async {
                        (
                            [("content-type", "text/html; charset=ISO-8859-1")],
                            b"<p>caf\xe9 cr\xe8me</p>".to_vec(),
                        )
                            .into_response()
                    }),
                )
                .route(
                    "/meta",
                    get(|| async {
                        (
                            [("content-type", "text/html")],
                            b"<meta charset=\"windows-1252\"><p>na\xefve</p>".to_vec(),
                        )
                            .into_response()
                    }),
                )
                .route("/big", get(|| async { "x".repeat(4096) }))
                .route(
                    "/slow",
                    get(|| async {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        "late"
                    }),
                )
                .route(
                    "/missing",
                    get(|| async { (axum::http::StatusCode::NOT_FOUND, "nope") }),
                )
                .route(
                    "/pdf",
                    get(|| async {
                        (
                            [("content-type", "application/pdf")],
                            vec![0x25u8, 0x50, 0x44, 0x46],
                        )
                            .into_response()
                    }),
                )
                .route(
                    "/to-internal",
                    get(move || async move {
                        Redirect::temporary(&format!("http://127.0.0.2:{port}/"))
                    }),
                );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://127.0.0.1:{port}"), port)
    }

    fn fetcher(max_bytes: usize, timeout: Duration) -> Fetcher {
        Fetcher::new(FetchConfig {
            timeout,
            max_bytes,
            network: NetPolicy::parse("127.0.0.1").unwrap(),
            ..FetchConfig::default()
        })
        .unwrap()
    }

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[tokio::test]
    async fn follows_redirects_and_decodes_charsets() {
        let (base, _) = site().await;
        let f = fetcher(1024, Duration::from_secs(3));
        let r = f.get(&u(&format!("{base}/r1"))).await.unwrap();
        assert_eq!(r.final_url.as_str(), format!("{base}/"));
        assert_eq!(r.redirects.len(), 2);
        assert_eq!(
            (r.status, r.text.as_str(), r.is_html()),
            (200, "<h1>ok</h1>", true)
        );
        let r = f.get(&u(&format!("{base}/latin1"))).await.unwrap();
        assert_eq!(r.text, "<p>café crème</p>");
        assert_eq!(r.encoding, "windows-1252");
        let r = f.get(&u(&format!("{base}/meta"))).await.unwrap();
        assert_eq!(r.text, "<meta charset=\"windows-1252\"><p>naïve</p>");
        let r = f.get(&u(&format!("{base}/missing"))).await.unwrap();
        assert_eq!(
            r.status, 404,
            "an error status is an answer, recorded, not a failure"
        );
        let r = f.get(&u(&format!("{base}/pdf"))).await.unwrap();
        assert_eq!(
            (r.mime.as_deref(), r.text.as_str(), r.bytes, r.is_html()),
            (Some("application/pdf"), "", 4, false)
        );
    }

    #[tokio::test]
    async fn refuses_loops_big_bodies_slow_servers_and_internal_redirects() {
        let (base, _) = site().await;
        let f = fetcher(1024, Duration::from_millis(500));
        let e = f.get(&u(&format!("{base}/loop-a"))).await.unwrap_err();
        assert_eq!(e.code(), "redirect_loop", "{e}");
        assert_eq!(
            f.get(&u(&format!("{base}/big"))).await.unwrap_err().code(),
            "too_large"
        );
        assert_eq!(
            f.get(&u(&format!("{base}/slow"))).await.unwrap_err().code(),
            "timeout"
        );
        assert_eq!(
            f.get(&u(&format!("{base}/to-internal")))
                .await
                .unwrap_err()
                .code(),
            "blocked_url"
        );
        assert_eq!(
            f.get(&u("http://10.0.0.1/")).await.unwrap_err().code(),
            "blocked_url"
        );
        assert_eq!(
            f.get(&u("ftp://example.org/")).await.unwrap_err().code(),
            "invalid_url"
        );
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        assert_eq!(
            f.get(&u(&format!("http://127.0.0.1:{closed}/")))
                .await
                .unwrap_err()
                .code(),
            "network_error"
        );
    }

    #[test]
    fn undeclared_bytes_fall_back_to_utf8_or_windows_1252() {
        assert_eq!(decode("é".as_bytes(), None), ("é".to_string(), "UTF-8"));
        assert_eq!(decode(b"\xe9", None), ("é".to_string(), "windows-1252"));
        assert_eq!(decode(b"\xef\xbb\xbfhi", Some("text/html")).0, "hi");
    }
}
