//! Every machine-readable error code the service answers with, each listed once with its HTTP
//! status: API answers, MCP error results, events, and the errors recorded on jobs and pages.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;

macro_rules! codes {
    ($( $(#[doc = $doc:literal])* $variant:ident = $name:literal, $status:literal; )*) => {
        /// A machine-readable error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $( $(#[doc = $doc])* $variant, )*
            /// `http_NNN`: a page answered with this HTTP status (recorded on the page; 502).
            Http(u16),
        }

        impl Code {
            /// Every code but `http_NNN`, in the order listed.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The code as sent (`session_not_found`, `http_404`).
            pub fn as_str(&self) -> Cow<'static, str> {
                match self {
                    $(Code::$variant => Cow::Borrowed($name),)*
                    Code::Http(status) => Cow::Owned(format!("http_{status}")),
                }
            }

            /// The HTTP status an API answer with this code has.
            pub fn status(&self) -> u16 {
                match self {
                    $(Code::$variant => $status,)*
                    Code::Http(_) => 502,
                }
            }

            /// What the code means, for the README's table.
            pub fn meaning(&self) -> &'static str {
                match self {
                    $(Code::$variant => concat!($($doc),*).trim_ascii(),)*
                    Code::Http(_) => "a page answered with this HTTP status (recorded on the page)",
                }
            }

            /// The code named `name`, if any.
            pub fn parse(name: &str) -> Option<Code> {
                match name {
                    $($name => Some(Code::$variant),)*
                    _ => name
                        .strip_prefix("http_")
                        .and_then(|s| s.parse().ok())
                        .map(Code::Http),
                }
            }
        }
    };
}

codes! {
    /// A configuration value is missing or malformed.
    InvalidConfig = "invalid_config", 500;
    /// A URL could not be parsed or uses a scheme the service does not open.
    InvalidUrl = "invalid_url", 400;
    /// The target resolves to a private, loopback or link-local address that is not allowed.
    BlockedUrl = "blocked_url", 403;
    /// A page could not be loaded (DNS failure, refused connection, TLS error).
    NavigationFailed = "navigation_failed", 502;
    /// An operation did not finish in time.
    Timeout = "timeout", 504;
    /// No session with that room name for this caller.
    SessionNotFound = "session_not_found", 404;
    /// A session with that room name is open already.
    SessionExists = "session_exists", 409;
    /// The session is paused and takes no actions until resumed.
    SessionPaused = "session_paused", 409;
    /// The session's browser died; recover it with `recover_browser_session`.
    SessionFailed = "session_failed", 409;
    /// The most sessions at once are open.
    SessionLimit = "session_limit", 429;
    /// The tenant has its most sessions open (`TENANT_MAX_SESSIONS`).
    TenantSessionLimit = "tenant_session_limit", 429;
    /// The tenant uploaded its most bytes this hour (`TENANT_UPLOAD_BYTES_PER_HOUR`).
    UploadQuotaExceeded = "upload_quota_exceeded", 429;
    /// The API key sent more requests than its rate allows (`RATE_LIMIT_RPS`, `RATE_LIMIT_BURST`).
    RateLimited = "rate_limited", 429;
    /// A selector or element reference matched nothing on the page.
    ElementNotFound = "element_not_found", 404;
    /// The request is malformed: an unknown action, a missing field, a bad value.
    InvalidRequest = "invalid_request", 400;
    /// No Chromium process could be started or reached.
    BrowserUnavailable = "browser_unavailable", 503;
    /// Chromium answered with an error.
    BrowserError = "browser_error", 503;
    /// A script on the page threw.
    ScriptError = "script_error", 502;
    /// The document store failed.
    StoreError = "store_error", 500;
    /// The event bus failed.
    EventBusError = "event_bus_error", 503;
    /// No job with that id for this caller.
    JobNotFound = "job_not_found", 404;
    /// A job with that id exists already.
    JobExists = "job_exists", 409;
    /// The job's state forbids the request (resuming a completed job).
    InvalidJobState = "invalid_job_state", 409;
    /// The job queue failed.
    QueueError = "queue_error", 503;
    /// No stored page with that URL for this caller.
    PageNotFound = "page_not_found", 404;
    /// Stored passages were embedded with another model than the one the service runs.
    EmbeddingModelMismatch = "embedding_model_mismatch", 409;
    /// The file store failed.
    FileStoreError = "file_store_error", 503;
    /// No such file.
    FileNotFound = "file_not_found", 404;
    /// A file is larger than its type allows.
    FileTooLarge = "file_too_large", 413;
    /// A file's type is not one the service ingests, or its content is not what it claims.
    UnsupportedFileType = "unsupported_file_type", 415;
    /// A file could not be parsed.
    MalformedFile = "malformed_file", 422;
    /// A presigned URL expired and could not be signed again.
    PresignedUrlExpired = "presigned_url_expired", 410;
    /// The file's server refused the download (a bad signature).
    DownloadRejected = "download_rejected", 403;
    /// A download failed after its retries.
    DownloadFailed = "download_failed", 502;
    /// Reading an audio or video file's metadata failed.
    MediaError = "media_error", 422;
    /// The embedding model is missing or broken.
    EmbeddingModelUnavailable = "embedding_model_unavailable", 503;
    /// Embedding a text failed.
    EmbeddingFailed = "embedding_failed", 500;
    /// Embeddings are stopped (the service is shutting down).
    EmbeddingUnavailable = "embedding_unavailable", 503;
    /// The engine worker holding the session is gone (crashed or stopped without a drain); recover the session.
    WorkerLost = "worker_lost", 503;
    /// No live engine worker can take the session or the job.
    NoWorker = "no_worker", 503;
    /// This process does not serve the request (a control plane asked for what only an engine worker does).
    NotServedHere = "not_served_here", 501;
    /// A page redirected back to itself.
    RedirectLoop = "redirect_loop", 502;
    /// A page redirected more times than allowed.
    TooManyRedirects = "too_many_redirects", 502;
    /// A page's body is larger than allowed.
    TooLarge = "too_large", 502;
    /// A page redirected to another site (recorded as an external link).
    RedirectedOffSite = "redirected_off_site", 502;
    /// A page's content is of a type the crawler does not read.
    UnsupportedContentType = "unsupported_content_type", 415;
    /// A job has waited for a worker far longer than expected (reported, not failed).
    JobUnclaimed = "job_unclaimed", 503;
    /// A page's server could not be reached.
    NetworkError = "network_error", 502;
    /// A crawl's site could not be reached at all.
    SiteUnreachable = "site_unreachable", 502;
    /// A crawl finished no page for far longer than its page deadlines.
    Stalled = "stalled", 504;
    /// A job failed on every attempt it had.
    AttemptsExhausted = "attempts_exhausted", 500;
    /// An unexpected failure (a bug).
    Internal = "internal", 500;
    /// No tool has that name.
    UnknownTool = "unknown_tool", 404;
    /// A tool's arguments do not match its input schema.
    InvalidArguments = "invalid_arguments", 400;
    /// A missing or unknown API key.
    Unauthorized = "unauthorized", 401;
    /// No such route.
    NotFound = "not_found", 404;
    /// A request body or query that cannot be read.
    BadRequest = "bad_request", 400;
    /// A request body over the route's limit.
    PayloadTooLarge = "payload_too_large", 413;
    /// A request body of a type the route does not take.
    UnsupportedMediaType = "unsupported_media_type", 415;
    /// A WebSocket route asked without a WebSocket upgrade.
    UpgradeRequired = "upgrade_required", 426;
    /// The request is not allowed (a foreign origin or host, a refused address).
    Forbidden = "forbidden", 403;
    /// The route does not take this method.
    MethodNotAllowed = "method_not_allowed", 405;
    /// The route cannot answer in a type the request accepts.
    NotAcceptable = "not_acceptable", 406;
    /// The request conflicts with the state of what it names.
    Conflict = "conflict", 409;
    /// The service cannot answer now.
    Unavailable = "unavailable", 503;
    /// A WHEP offer that is not a usable SDP offer.
    InvalidOffer = "invalid_offer", 400;
    /// No live viewer with that id in the room.
    ViewerNotFound = "viewer_not_found", 404;
    /// The room has its most viewers.
    TooManyViewers = "too_many_viewers", 429;
    /// LiveKit refused or failed.
    LivekitError = "livekit_error", 502;
    /// A screencast frame could not be decoded.
    FrameDecodeError = "frame_decode_error", 500;
    /// The video encoder failed.
    EncoderError = "encoder_error", 500;
    /// WebRTC failed.
    WebrtcError = "webrtc_error", 500;
    /// A code this version does not know (read from a record written by another version).
    Unknown = "unknown", 500;
}

impl Code {
    /// The generic code for an HTTP status, for error answers from layers that give only a
    /// status (routing, transports).
    pub fn for_status(status: u16) -> Code {
        match status {
            400 => Code::BadRequest,
            401 => Code::Unauthorized,
            403 => Code::Forbidden,
            404 => Code::NotFound,
            405 => Code::MethodNotAllowed,
            406 => Code::NotAcceptable,
            409 => Code::Conflict,
            413 => Code::PayloadTooLarge,
            415 => Code::UnsupportedMediaType,
            426 => Code::UpgradeRequired,
            503 => Code::Unavailable,
            _ => Code::Internal,
        }
    }

    /// A short title of the status, the `error` field of API answers.
    pub fn title(&self) -> &'static str {
        match self.status() {
            400 => "bad request",
            401 => "unauthorized",
            403 => "forbidden",
            404 => "not found",
            405 => "method not allowed",
            406 => "not acceptable",
            409 => "conflict",
            410 => "gone",
            413 => "payload too large",
            415 => "unsupported media type",
            422 => "unprocessable content",
            426 => "upgrade required",
            429 => "limit reached",
            502 => "upstream failure",
            503 => "service unavailable",
            504 => "timeout",
            _ => "internal error",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for Code {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_str())
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = Cow::<str>::deserialize(d)?;
        Ok(Code::parse(&name).unwrap_or(Code::Unknown))
    }
}

impl schemars::JsonSchema for Code {
    fn schema_name() -> Cow<'static, str> {
        "Code".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A machine-readable error code (see the README's table), or http_NNN for a page's HTTP status."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_by_name_and_has_a_status() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL.iter().copied().chain([Code::Http(404)]) {
            let name = code.as_str();
            assert!(seen.insert(name.clone()), "{name} listed twice");
            assert_eq!(Code::parse(&name), Some(code));
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, serde_json::json!(name));
            assert_eq!(serde_json::from_value::<Code>(json).unwrap(), code);
            assert!((400..600).contains(&code.status()), "{name}");
            assert!(!code.meaning().is_empty(), "{name}");
        }
        assert_eq!(Code::Http(500).as_str(), "http_500");
        assert_eq!(
            serde_json::from_str::<Code>("\"from_the_future\"").unwrap(),
            Code::Unknown
        );
    }

    #[test]
    fn the_readme_lists_every_code_with_its_status() {
        let readme = include_str!("../../README.md");
        for code in Code::ALL {
            let row = format!("| `{}` | {} |", code.as_str(), code.status());
            assert!(readme.contains(&row), "README lacks the row {row}");
        }
    }
}
