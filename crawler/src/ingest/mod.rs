//! File ingestion: documents and media handed over by the platform (an S3 reference with a
//! presigned URL) or uploaded to the service, read into the same page/passage model as crawled
//! pages, so they are searchable the same way. An ingestion is a job like a crawl (same queue,
//! statuses, retries and API) of kind `ingestion` with one page: the file.

pub mod download;
pub mod extract;
pub mod kinds;
pub mod media;
mod request;
mod run;

pub use request::*;
pub use run::run;

use crate::jobs::run::RunError;
use platform::Code;
use thiserror::Error;

/// The job kind of file ingestions.
pub const KIND: &str = "ingestion";

/// Why a file could not be ingested.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum IngestError {
    /// The file is not what it claims to be, or is broken or hostile.
    #[error("{0}")]
    Malformed(String),
    /// A type the service does not ingest, or content that does not match its claimed type.
    #[error("{0}")]
    Unsupported(String),
    /// Larger than its type allows.
    #[error("{0}")]
    TooLarge(String),
    /// The presigned URL expired (and no fresh one could be made).
    #[error("{0}")]
    Expired(String),
    /// The storage server refused the URL (a bad signature), or it is not a URL we may fetch.
    #[error("{0}")]
    Rejected(String),
    /// No such file.
    #[error("{0}")]
    NotFound(String),
    /// The download failed after its retries (the job may be attempted again).
    #[error("{0}")]
    Download(String),
    /// Reading a media file's metadata or thumbnails failed.
    #[error("{0}")]
    Media(String),
    /// A backend (store, file store) failed.
    #[error(transparent)]
    Engine(#[from] platform::EngineError),
}

impl IngestError {
    /// A stable machine-readable code.
    pub fn code(&self) -> Code {
        match self {
            Self::Malformed(_) => Code::MalformedFile,
            Self::Unsupported(_) => Code::UnsupportedFileType,
            Self::TooLarge(_) => Code::FileTooLarge,
            Self::Expired(_) => Code::PresignedUrlExpired,
            Self::Rejected(_) => Code::DownloadRejected,
            Self::NotFound(_) => Code::FileNotFound,
            Self::Download(_) => Code::DownloadFailed,
            Self::Media(_) => Code::MediaError,
            Self::Engine(e) => e.code(),
        }
    }

    /// Whether another attempt would fail the same way.
    pub fn permanent(&self) -> bool {
        match self {
            Self::Download(_) | Self::Media(_) => false,
            Self::Engine(e) => matches!(
                e,
                platform::EngineError::FileTooLarge(_)
                    | platform::EngineError::FileNotFound(_)
                    | platform::EngineError::UnsupportedFile(_)
                    | platform::EngineError::InvalidRequest(_)
            ),
            _ => true,
        }
    }
}

impl From<IngestError> for RunError {
    fn from(e: IngestError) -> Self {
        RunError {
            permanent: e.permanent(),
            code: e.code(),
            message: e.to_string(),
        }
    }
}
