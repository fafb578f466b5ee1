//! Browsers elsewhere cannot drive the API: the `Host` of every request must be one the service
//! answers to (`ALLOWED_HOSTS`, against DNS rebinding), and a request a web page makes (it
//! carries `Origin`) must come from the service's own origin or one listed in `CORS_ORIGINS`,
//! WebSocket upgrades included. CORS is off unless `CORS_ORIGINS` lists origins; preflights are
//! answered for those alone.

use crate::error::ApiError;
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The headers a listed origin's page may send and read.
const ALLOW_HEADERS: &str =
    "authorization, content-type, mcp-session-id, mcp-protocol-version, last-event-id";
const EXPOSE_HEADERS: &str = "mcp-session-id, location, retry-after";

/// The host name of a `Host` header (without its port; `[::1]:80` gives `::1`).
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(host, |(name, _)| name)
}

/// Middleware: check `Host` and `Origin`, answer preflights, mark listed origins' answers.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let config = &state.platform.config;
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let name = host_name(&host).trim_end_matches('.');
    if !config.allowed_hosts.is_empty()
        && !config
            .allowed_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
    {
        return ApiError::Forbidden(format!(
            "this service does not answer to the host `{host}`; list it in ALLOWED_HOSTS"
        ))
        .into_response();
    }
    let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
    else {
        return next.run(req).await; // not a browser's cross-origin call
    };
    let same = origin
        .split_once("://")
        .is_some_and(|(_, authority)| authority == host);
    let listed = config.cors_origins.contains(&origin);
    if !same && !listed {
        return ApiError::Forbidden(format!(
            "requests from pages of `{origin}` are refused; list the origin in CORS_ORIGINS"
        ))
        .into_response();
    }
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut resp = if preflight {
        let mut r = StatusCode::NO_CONTENT.into_response();
        let h = r.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, DELETE, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOW_HEADERS),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        r
    } else {
        next.run(req).await
    };
    if listed {
        let h = resp.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&origin) {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        }
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSE_HEADERS),
        );
        h.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::host_name;

    #[test]
    fn host_names_lose_their_port() {
        assert_eq!(host_name("127.0.0.1:8000"), "127.0.0.1");
        assert_eq!(host_name("localhost"), "localhost");
        assert_eq!(host_name("[::1]:8000"), "::1");
        assert_eq!(host_name("[::1]"), "::1");
        assert_eq!(host_name("example.com:443"), "example.com");
    }
}
