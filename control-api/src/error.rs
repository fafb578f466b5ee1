//! Errors as the API answers them: `{error, detail, code}` with the right status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use mcp_server::ToolError;
use platform::{Code, EngineError};
use serde::Serialize;
use thiserror::Error;

/// The body of every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A short title of the error class.
    pub error: String,
    /// What went wrong, for a person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// A stable machine-readable code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// Anything a handler can fail with.
#[derive(Debug, Error)]
pub enum ApiError {
    /// A tool or engine error.
    #[error(transparent)]
    Tool(#[from] ToolError),
    /// A missing or unknown API key.
    #[error("{0}")]
    Unauthorized(String),
    /// A foreign `Origin` or `Host`.
    #[error("{0}")]
    Forbidden(String),
    /// The API key's request rate is used up; retry after this many seconds.
    #[error("too many requests for this API key (RATE_LIMIT_RPS); retry after {0} s")]
    RateLimited(u64),
    /// No such route or resource.
    #[error("{0}")]
    NotFound(String),
    /// A malformed request body.
    #[error("{0}")]
    BadRequest(String),
    /// A request body over the route's limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A request body of a type the route does not take.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A WebSocket route asked without an upgrade.
    #[error("{0}")]
    UpgradeRequired(String),
    /// Live video failed.
    #[error(transparent)]
    Video(#[from] streaming::StreamError),
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        Self::Tool(ToolError::Engine(e))
    }
}

impl ApiError {
    /// The error's code, which carries its HTTP status.
    pub fn code(&self) -> Code {
        match self {
            ApiError::Tool(e) => e.code(),
            ApiError::Unauthorized(_) => Code::Unauthorized,
            ApiError::Forbidden(_) => Code::Forbidden,
            ApiError::RateLimited(_) => Code::RateLimited,
            ApiError::NotFound(_) => Code::NotFound,
            ApiError::BadRequest(_) => Code::BadRequest,
            ApiError::PayloadTooLarge(_) => Code::PayloadTooLarge,
            ApiError::UnsupportedMediaType(_) => Code::UnsupportedMediaType,
            ApiError::UpgradeRequired(_) => Code::UpgradeRequired,
            ApiError::Video(e) => e.code(),
        }
    }
}

impl ApiError {
    /// For a limit: the seconds until a retry may succeed (`Retry-After`).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::RateLimited(secs) => Some(*secs),
            ApiError::Tool(ToolError::Engine(e)) => e.retry_after(),
            _ => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.code();
        let retry_after = self.retry_after();
        let status =
            StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorBody {
            error: code.title().to_string(),
            detail: Some(self.to_string()),
            code: Some(code.to_string()),
        };
        let mut resp = (status, Json(body)).into_response();
        if let Some(secs) = retry_after {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        resp
    }
}

/// The fallback for unknown routes.
pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {}", uri.path()))
}

/// Every error answer in one shape: an error from a layer that answers with a status and plain
/// text (the MCP transport at `/mcp`, WHEP's SDP routes, axum's own method and body rejections)
/// becomes `{error, detail, code}` with the same status and headers.
pub async fn uniform(resp: axum::response::Response) -> axum::response::Response {
    use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
    let status = resp.status();
    let json = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.contains("+json"));
    if status.as_u16() < 400 || json {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 16 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let code = Code::for_status(status.as_u16());
    let detail = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    parts.headers.remove(CONTENT_TYPE);
    parts.headers.remove(CONTENT_LENGTH);
    let body = ErrorBody {
        error: code.title().to_string(),
        detail: Some(detail),
        code: Some(code.to_string()),
    };
    let mut out = (status, Json(body)).into_response();
    for (k, v) in parts.headers.iter() {
        out.headers_mut().entry(k).or_insert(v.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{header, Request};
    use axum::routing::get;
    use tower::ServiceExt;

    async fn answer(
        app: axum::Router,
        req: Request<Body>,
    ) -> (u16, Option<String>, serde_json::Value) {
        let resp = app.oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let retry = resp
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_string());
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, retry, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn plain_text_errors_become_the_json_shape_with_their_status_and_headers() {
        let app = axum::Router::new()
            .route(
                "/plain",
                get(|| async {
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        [(header::RETRY_AFTER, "7")],
                        "Service Unavailable: try later",
                    )
                }),
            )
            .route("/ok", get(|| async { "fine" }))
            .layer(axum::middleware::map_response(uniform));
        let get_ = |path: &str| Request::get(path).body(Body::empty()).unwrap();
        let (status, retry, body) = answer(app.clone(), get_("/plain")).await;
        assert_eq!((status, retry.as_deref()), (503, Some("7")));
        assert_eq!(body["code"], "unavailable");
        assert_eq!(body["detail"], "Service Unavailable: try later");
        assert!(body["error"].is_string());
        // A method the route does not take: axum's empty 405 gets the shape too.
        let post = Request::post("/ok").body(Body::empty()).unwrap();
        let (status, _, body) = answer(app.clone(), post).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (405, Some("method_not_allowed"))
        );
        // Successes pass untouched.
        let resp = app.oneshot(get_("/ok")).await.unwrap();
        assert_eq!(resp.status(), 200);
    }
}
