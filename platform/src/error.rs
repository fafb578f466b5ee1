//! The service's error type: one variant per failure a caller can act on, each with a stable code.

use thiserror::Error;

/// What went wrong, grouped by how a transport should answer it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The caller sent something that can never work as sent (HTTP 400).
    BadRequest,
    /// The caller may not do this (HTTP 403).
    Forbidden,
    /// The thing asked for does not exist for this caller (HTTP 404).
    NotFound,
    /// The thing exists but is in a state that forbids the request (HTTP 409).
    Conflict,
    /// A limit was reached; retry later (HTTP 429).
    Limited,
    /// A remote party (a web site) failed (HTTP 502).
    Upstream,
    /// A backing service (Chromium, Redis, the store) is not available (HTTP 503).
    Unavailable,
    /// The operation took longer than allowed (HTTP 504).
    Timeout,
    /// The content is larger than allowed (HTTP 413).
    TooLarge,
    /// The content is of a type the service does not take (HTTP 415).
    UnsupportedType,
    /// A bug or an unexpected failure (HTTP 500).
    Internal,
}

/// Every failure the engine reports.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum EngineError {
    /// A configuration value is missing or malformed.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A URL could not be parsed or uses a scheme the service does not open.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// The URL resolves to a private, loopback or link-local address that is not allowed.
    #[error("blocked target: {0}")]
    BlockedUrl(String),
    /// The page could not be loaded (DNS failure, refused connection, TLS error...).
    #[error("navigation failed: {0}")]
    NavigationFailed(String),
    /// An operation did not finish in time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// No session with that room name exists for this tenant.
    #[error("no browser session for room '{0}'")]
    SessionNotFound(String),
    /// A session with that room name already exists.
    #[error("a browser session for room '{0}' already exists")]
    SessionExists(String),
    /// The session is paused and takes no actions until resumed.
    #[error("the browser session for room '{0}' is paused")]
    SessionPaused(String),
    /// The session's browser died; recover it with `recover_browser_session`.
    #[error("the browser session for room '{0}' has failed: {1}")]
    SessionFailed(String, String),
    /// The maximum number of concurrent sessions is reached.
    #[error("session limit reached ({0} open sessions)")]
    SessionLimit(usize),
    /// A selector or element reference matched nothing on the page.
    #[error("no element matches {0}")]
    ElementNotFound(String),
    /// The request is malformed: unknown action, missing field, bad value.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// No Chromium process could be started or reached.
    #[error("browser unavailable: {0}")]
    BrowserUnavailable(String),
    /// Chromium answered with an error.
    #[error("browser error: {0}")]
    Browser(String),
    /// A script on the page threw.
    #[error("page script error: {0}")]
    Script(String),
    /// The document store failed.
    #[error("store error: {0}")]
    Store(String),
    /// The event bus failed.
    #[error("event bus error: {0}")]
    EventBus(String),
    /// No job with that id exists for this tenant.
    #[error("no job '{0}'")]
    JobNotFound(String),
    /// A job with that id already exists.
    #[error("a job '{0}' already exists")]
    JobExists(String),
    /// The job's state forbids the request (resuming a completed job, pausing a cancelled one).
    #[error("{0}")]
    JobState(String),
    /// No stored page with that URL for this tenant.
    #[error("no stored page '{0}'")]
    PageNotFound(String),
    /// Stored embeddings were made by another model than the one the service runs.
    #[error("{0}")]
    EmbeddingMismatch(String),
    /// The job queue failed.
    #[error("job queue error: {0}")]
    Queue(String),
    /// The file store failed.
    #[error("file store error: {0}")]
    Files(String),
    /// No such file.
    #[error("no file '{0}'")]
    FileNotFound(String),
    /// A file is larger than its type allows.
    #[error("file too large: {0}")]
    FileTooLarge(String),
    /// A file's type is not one the service ingests, or its content is not what it claims.
    #[error("unsupported file: {0}")]
    UnsupportedFile(String),
}

impl EngineError {
    /// A stable, machine-readable code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Config(_) => "invalid_config",
            Self::InvalidUrl(_) => "invalid_url",
            Self::BlockedUrl(_) => "blocked_url",
            Self::NavigationFailed(_) => "navigation_failed",
            Self::Timeout(_) => "timeout",
            Self::SessionNotFound(_) => "session_not_found",
            Self::SessionExists(_) => "session_exists",
            Self::SessionPaused(_) => "session_paused",
            Self::SessionFailed(..) => "session_failed",
            Self::SessionLimit(_) => "session_limit",
            Self::ElementNotFound(_) => "element_not_found",
            Self::InvalidRequest(_) => "invalid_request",
            Self::BrowserUnavailable(_) => "browser_unavailable",
            Self::Browser(_) => "browser_error",
            Self::Script(_) => "script_error",
            Self::Store(_) => "store_error",
            Self::EventBus(_) => "event_bus_error",
            Self::JobNotFound(_) => "job_not_found",
            Self::JobExists(_) => "job_exists",
            Self::JobState(_) => "invalid_job_state",
            Self::Queue(_) => "queue_error",
            Self::PageNotFound(_) => "page_not_found",
            Self::EmbeddingMismatch(_) => "embedding_model_mismatch",
            Self::Files(_) => "file_store_error",
            Self::FileNotFound(_) => "file_not_found",
            Self::FileTooLarge(_) => "file_too_large",
            Self::UnsupportedFile(_) => "unsupported_file_type",
        }
    }

    /// How a transport should classify this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Config(_) => ErrorClass::Internal,
            Self::InvalidUrl(_) | Self::InvalidRequest(_) => ErrorClass::BadRequest,
            Self::BlockedUrl(_) => ErrorClass::Forbidden,
            Self::SessionNotFound(_)
            | Self::ElementNotFound(_)
            | Self::JobNotFound(_)
            | Self::PageNotFound(_)
            | Self::FileNotFound(_) => ErrorClass::NotFound,
            Self::SessionExists(_)
            | Self::SessionPaused(_)
            | Self::SessionFailed(..)
            | Self::JobExists(_)
            | Self::JobState(_)
            | Self::EmbeddingMismatch(_) => ErrorClass::Conflict,
            Self::SessionLimit(_) => ErrorClass::Limited,
            Self::NavigationFailed(_) | Self::Script(_) => ErrorClass::Upstream,
            Self::BrowserUnavailable(_)
            | Self::Browser(_)
            | Self::EventBus(_)
            | Self::Queue(_)
            | Self::Files(_) => ErrorClass::Unavailable,
            Self::FileTooLarge(_) => ErrorClass::TooLarge,
            Self::UnsupportedFile(_) => ErrorClass::UnsupportedType,
            Self::Timeout(_) => ErrorClass::Timeout,
            Self::Store(_) => ErrorClass::Internal,
        }
    }

    /// A short title for the error class, used as the `error` field of API answers.
    pub fn title(&self) -> &'static str {
        match self.class() {
            ErrorClass::BadRequest => "bad request",
            ErrorClass::Forbidden => "forbidden",
            ErrorClass::NotFound => "not found",
            ErrorClass::Conflict => "conflict",
            ErrorClass::Limited => "limit reached",
            ErrorClass::Upstream => "upstream failure",
            ErrorClass::Unavailable => "service unavailable",
            ErrorClass::Timeout => "timeout",
            ErrorClass::TooLarge => "payload too large",
            ErrorClass::UnsupportedType => "unsupported media type",
            ErrorClass::Internal => "internal error",
        }
    }
}

/// Shorthand for results in the engine.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
