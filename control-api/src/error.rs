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
            ApiError::NotFound(_) => Code::NotFound,
            ApiError::BadRequest(_) => Code::BadRequest,
            ApiError::PayloadTooLarge(_) => Code::PayloadTooLarge,
            ApiError::UnsupportedMediaType(_) => Code::UnsupportedMediaType,
            ApiError::UpgradeRequired(_) => Code::UpgradeRequired,
            ApiError::Video(e) => e.code(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.code();
        let status =
            StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorBody {
            error: code.title().to_string(),
            detail: Some(self.to_string()),
            code: Some(code.to_string()),
        };
        (status, Json(body)).into_response()
    }
}

/// The fallback for unknown routes.
pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {}", uri.path()))
}
