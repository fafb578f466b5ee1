//! Errors as the API answers them: `{error, detail, code}` with the right status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use mcp_server::ToolError;
use platform::{EngineError, ErrorClass};
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
    /// Live video failed.
    #[error(transparent)]
    Video(#[from] streaming::StreamError),
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        Self::Tool(ToolError::Engine(e))
    }
}

fn status_of(class: ErrorClass) -> StatusCode {
    match class {
        ErrorClass::BadRequest => StatusCode::BAD_REQUEST,
        ErrorClass::Forbidden => StatusCode::FORBIDDEN,
        ErrorClass::NotFound => StatusCode::NOT_FOUND,
        ErrorClass::Conflict => StatusCode::CONFLICT,
        ErrorClass::Limited => StatusCode::TOO_MANY_REQUESTS,
        ErrorClass::Upstream => StatusCode::BAD_GATEWAY,
        ErrorClass::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorClass::Timeout => StatusCode::GATEWAY_TIMEOUT,
        ErrorClass::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorClass::UnsupportedType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorClass::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, title, code) = match &self {
            ApiError::Tool(ToolError::Engine(e)) => (status_of(e.class()), e.title(), e.code()),
            ApiError::Tool(ToolError::UnknownTool(_)) => {
                (StatusCode::NOT_FOUND, "not found", "unknown_tool")
            }
            ApiError::Tool(ToolError::InvalidArguments(_)) => {
                (StatusCode::BAD_REQUEST, "bad request", "invalid_arguments")
            }
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized", "unauthorized"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not found", "not_found"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad request", "bad_request"),
            ApiError::PayloadTooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload too large",
                "payload_too_large",
            ),
            ApiError::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported media type",
                "unsupported_media_type",
            ),
            ApiError::Video(e) => video_status(e),
        };
        let body = ErrorBody {
            error: title.to_string(),
            detail: Some(self.to_string()),
            code: Some(code.to_string()),
        };
        (status, Json(body)).into_response()
    }
}

fn video_status(e: &streaming::StreamError) -> (StatusCode, &'static str, &'static str) {
    use streaming::StreamError as S;
    match e {
        S::Engine(e) => (status_of(e.class()), e.title(), e.code()),
        S::InvalidOffer(_) => (StatusCode::BAD_REQUEST, "bad request", e.code()),
        S::ViewerNotFound(_) => (StatusCode::NOT_FOUND, "not found", e.code()),
        S::TooManyViewers(..) => (StatusCode::TOO_MANY_REQUESTS, "too many requests", e.code()),
        S::LiveKit(_) => (StatusCode::BAD_GATEWAY, "upstream error", e.code()),
        S::WebRtc(_) | S::Decode(_) | S::Encode(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error",
            e.code(),
        ),
    }
}

/// The fallback for unknown routes.
pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {}", uri.path()))
}
