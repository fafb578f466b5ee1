//! Downloading a file handed over as a presigned URL: the private-network check first, no
//! redirects, the size limit checked against `Content-Length` before the body and against the
//! bytes received while it streams, and transient failures (connection errors, timeouts, 429 and
//! 5xx answers) retried with exponential backoff. A refused URL says whether it expired or its
//! signature did not match.

use super::IngestError;
use platform::netguard::{self, NetPolicy};
use std::path::Path;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Attempts per download.
pub const ATTEMPTS: u32 = 4;
/// The first retry's wait; each later one doubles it.
pub const BACKOFF: Duration = Duration::from_millis(500);

/// An HTTP client for downloads: no redirects, rustls with ring.
pub fn client() -> Result<reqwest::Client, IngestError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(60))
        .user_agent(concat!(
            "browser-automation-service/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
        .map_err(|e| IngestError::Download(format!("HTTP client: {e}")))
}

/// A URL for messages: scheme, host and path, without the query (which holds the signature).
pub fn display(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            u.set_query(None);
            u.set_fragment(None);
            let _ = u.set_password(None);
            let _ = u.set_username("");
            u.to_string()
        }
        Err(_) => "(invalid URL)".into(),
    }
}

enum Attempt {
    Done(u64),
    Retry(String),
}

/// Download `url` to `dest`, at most `max_bytes`; returns the size.
pub async fn fetch(
    client: &reqwest::Client,
    url: &str,
    dest: &Path,
    max_bytes: u64,
    network: &NetPolicy,
    expires_at: Option<&str>,
) -> Result<u64, IngestError> {
    let parsed = netguard::parse_target(url)
        .map_err(|e| IngestError::Rejected(format!("presigned_url: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(IngestError::Rejected(
            "presigned_url must be an http or https URL".into(),
        ));
    }
    netguard::check_url(&parsed, network)
        .await
        .map_err(|e| IngestError::Rejected(e.to_string()))?;
    let mut wait = BACKOFF;
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        match once(client, url, dest, max_bytes, expires_at).await? {
            Attempt::Done(n) => return Ok(n),
            Attempt::Retry(why) => {
                tracing::info!(attempt, url = %display(url), reason = %why, "download failed; retrying");
                last = why;
            }
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
    }
    Err(IngestError::Download(format!(
        "{} failed {ATTEMPTS} times; last: {last}",
        display(url)
    )))
}

fn expired(expires_at: Option<&str>) -> bool {
    let Some(at) = expires_at.and_then(parse_rfc3339) else {
        return false;
    };
    at <= platform::store::now_secs()
}

/// Seconds since the epoch of an RFC 3339 UTC time (`2026-01-02T03:04:05Z`, fractions and
/// offsets allowed).
pub fn parse_rfc3339(s: &str) -> Option<f64> {
    let s = s.trim();
    let (date, time) = s.split_once(['T', 't', ' '])?;
    let mut d = date.split('-');
    let (y, m, day): (i64, i64, i64) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    let (clock, offset) = if let Some(c) = time.strip_suffix(['Z', 'z']) {
        (c, 0i64)
    } else if let Some(i) = time.rfind(['+', '-']) {
        let (c, o) = time.split_at(i);
        let sign = if o.starts_with('-') { -1 } else { 1 };
        let (oh, om) = o[1..].split_once(':')?;
        (
            c,
            sign * (oh.parse::<i64>().ok()? * 3600 + om.parse::<i64>().ok()? * 60),
        )
    } else {
        (time, 0)
    };
    let mut c = clock.split(':');
    let (h, mi): (i64, i64) = (c.next()?.parse().ok()?, c.next()?.parse().ok()?);
    let sec: f64 = c.next()?.parse().ok()?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let yy = if m <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + h * 3600 + mi * 60 - offset) as f64 + sec)
}

/// One attempt at the download: a transient failure answers `Retry`, a final one an error.
async fn once(
    client: &reqwest::Client,
    url: &str,
    dest: &Path,
    max_bytes: u64,
    expires_at: Option<&str>,
) -> Result<Attempt, IngestError> {
    let resp = match client.get(url).send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => return Ok(Attempt::Retry("timed out".into())),
        Err(e) if e.is_connect() => return Ok(Attempt::Retry("cannot connect".into())),
        Err(e) => {
            return Ok(Attempt::Retry(format!(
                "request failed: {}",
                without_url(&e)
            )))
        }
    };
    let status = resp.status();
    if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408 {
        return Ok(Attempt::Retry(format!("answered {status}")));
    }
    if !status.is_success() {
        return Err(refusal(resp, url, expires_at).await);
    }
    if let Some(len) = resp.content_length().filter(|&l| l > max_bytes) {
        return Err(IngestError::TooLarge(format!(
            "the file is {len} bytes; the limit for its type is {max_bytes}"
        )));
    }
    save(resp, dest, max_bytes).await
}

/// The error for a final (non-success, non-retried) answer: an expired or altered presigned
/// URL, a missing object, or another status.
async fn refusal(resp: reqwest::Response, url: &str, expires_at: Option<&str>) -> IngestError {
    let status = resp.status();
    match status.as_u16() {
        400 | 401 | 403 => {
            let body = resp.text().await.unwrap_or_default();
            if body.to_ascii_lowercase().contains("expired") || expired(expires_at) {
                return IngestError::Expired(format!(
                    "the presigned URL for {} has expired",
                    display(url)
                ));
            }
            let code = s3_code(&body).unwrap_or_else(|| status.to_string());
            IngestError::Rejected(format!(
                "the storage server refused the presigned URL for {} ({code}); was it altered?",
                display(url)
            ))
        }
        404 => IngestError::NotFound(format!("{} does not exist", display(url))),
        _ => IngestError::Download(format!("{} answered {status}", display(url))),
    }
}

/// Write the body to `dest`, refusing more than `max_bytes`; a body that breaks off is retried.
async fn save(
    mut resp: reqwest::Response,
    dest: &Path,
    max_bytes: u64,
) -> Result<Attempt, IngestError> {
    let write_error =
        |e: std::io::Error| IngestError::Download(format!("writing the download: {e}"));
    let mut file = tokio::fs::File::create(dest).await.map_err(write_error)?;
    let mut n = 0u64;
    loop {
        let chunk = match resp.chunk().await {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => {
                return Ok(Attempt::Retry(format!(
                    "the download broke off after {n} bytes: {}",
                    without_url(&e)
                )))
            }
        };
        n += chunk.len() as u64;
        if n > max_bytes {
            return Err(IngestError::TooLarge(format!(
                "the file exceeds the limit for its type ({max_bytes} bytes)"
            )));
        }
        file.write_all(&chunk).await.map_err(write_error)?;
    }
    file.flush().await.map_err(write_error)?;
    Ok(Attempt::Done(n))
}

/// A reqwest error's text without the URL (which holds the signature).
fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(u.as_str(), &display(u.as_str()));
    }
    s
}

/// The `<Code>` of an S3 error document.
fn s3_code(body: &str) -> Option<String> {
    let start = body.find("<Code>")? + 6;
    let end = body[start..].find("</Code>")? + start;
    Some(body[start..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_urls_are_read_safely() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(parse_rfc3339("2026-11-25T17:00:00Z"), Some(1_795_626_000.0));
        assert_eq!(
            parse_rfc3339("2026-11-25T18:00:00.5+01:00"),
            Some(1_795_626_000.5)
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(
            display("https://u:p@s3.example.com/b/k.pdf?X-Amz-Signature=abc"),
            "https://s3.example.com/b/k.pdf"
        );
        assert_eq!(
            s3_code("<Error><Code>SignatureDoesNotMatch</Code></Error>").as_deref(),
            Some("SignatureDoesNotMatch")
        );
    }
}
