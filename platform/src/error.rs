//! The service's error type: one variant per failure a caller can act on, each with a stable code.

pub use crate::code::Code;
use thiserror::Error;

/// Every failure the engine reports; its [`Code`] says how a transport answers it.
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
    /// The caller may not have what it names (another tenant's file, say).
    #[error("{0}")]
    Forbidden(String),
    /// The tenant has its most sessions open.
    #[error("this tenant has its most sessions open ({0}, TENANT_MAX_SESSIONS); close one first")]
    TenantSessionLimit(usize),
    /// The tenant uploaded its most bytes this hour; retry after the given seconds.
    #[error("{0}")]
    UploadQuota(String, u64),
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
    /// The engine worker holding the session is gone.
    #[error("the engine worker holding the session is gone: {0}")]
    WorkerLost(String),
    /// No live engine worker can take the work.
    #[error("no engine worker: {0}")]
    NoWorker(String),
    /// This process does not serve the request.
    #[error("{0}")]
    NotServedHere(String),
    /// An error another process (the engine worker holding a session) answered with, passed on
    /// with its code and message unchanged.
    #[error("{message}")]
    Remote {
        /// Its code.
        code: Code,
        /// Its message, as the other process wrote it.
        message: String,
    },
}

impl EngineError {
    /// The machine-readable code of this error (its HTTP status comes with it).
    pub fn code(&self) -> Code {
        match self {
            Self::Config(_) => Code::InvalidConfig,
            Self::InvalidUrl(_) => Code::InvalidUrl,
            Self::BlockedUrl(_) => Code::BlockedUrl,
            Self::NavigationFailed(_) => Code::NavigationFailed,
            Self::Timeout(_) => Code::Timeout,
            Self::SessionNotFound(_) => Code::SessionNotFound,
            Self::SessionExists(_) => Code::SessionExists,
            Self::SessionPaused(_) => Code::SessionPaused,
            Self::SessionFailed(..) => Code::SessionFailed,
            Self::SessionLimit(_) => Code::SessionLimit,
            Self::TenantSessionLimit(_) => Code::TenantSessionLimit,
            Self::Forbidden(_) => Code::Forbidden,
            Self::UploadQuota(..) => Code::UploadQuotaExceeded,
            Self::ElementNotFound(_) => Code::ElementNotFound,
            Self::InvalidRequest(_) => Code::InvalidRequest,
            Self::BrowserUnavailable(_) => Code::BrowserUnavailable,
            Self::Browser(_) => Code::BrowserError,
            Self::Script(_) => Code::ScriptError,
            Self::Store(_) => Code::StoreError,
            Self::EventBus(_) => Code::EventBusError,
            Self::JobNotFound(_) => Code::JobNotFound,
            Self::JobExists(_) => Code::JobExists,
            Self::JobState(_) => Code::InvalidJobState,
            Self::Queue(_) => Code::QueueError,
            Self::PageNotFound(_) => Code::PageNotFound,
            Self::EmbeddingMismatch(_) => Code::EmbeddingModelMismatch,
            Self::Files(_) => Code::FileStoreError,
            Self::FileNotFound(_) => Code::FileNotFound,
            Self::FileTooLarge(_) => Code::FileTooLarge,
            Self::UnsupportedFile(_) => Code::UnsupportedFileType,
            Self::WorkerLost(_) => Code::WorkerLost,
            Self::NoWorker(_) => Code::NoWorker,
            Self::NotServedHere(_) => Code::NotServedHere,
            Self::Remote { code, .. } => *code,
        }
    }

    /// For a limit: how many seconds until a retry may succeed (the `Retry-After` header).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::SessionLimit(_) | Self::TenantSessionLimit(_) => Some(10),
            Self::UploadQuota(_, secs) => Some((*secs).max(1)),
            Self::Remote {
                code: Code::SessionLimit | Code::TenantSessionLimit,
                ..
            } => Some(10),
            _ => None,
        }
    }

    /// A short title of the error's status, used as the `error` field of API answers.
    pub fn title(&self) -> &'static str {
        self.code().title()
    }
}

/// Shorthand for results in the engine.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
