//! Live video of browser sessions: the session's page as a CDP screencast of JPEG frames
//! ([`screencast`]), paced to the session's frame rate and encoded to H.264 off the async runtime
//! ([`encode`], [`pacer`], [`pipeline`]); one encoder per session, shared by every viewer.
//! Delivery to viewers (the built-in WHEP viewer and LiveKit rooms) builds on the pipeline's
//! encoded samples.

#![warn(missing_docs)]

pub mod encode;
pub mod pacer;
pub mod pipeline;
pub mod screencast;

use thiserror::Error;

/// What can go wrong making live video.
#[derive(Debug, Error)]
pub enum StreamError {
    /// A screencast frame could not be decoded.
    #[error("frame decode: {0}")]
    Decode(String),
    /// The H.264 encoder failed.
    #[error("H.264 encoder: {0}")]
    Encode(String),
    /// The browser or session failed.
    #[error(transparent)]
    Engine(#[from] engine::EngineError),
}

impl StreamError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Decode(_) => "frame_decode_error",
            Self::Encode(_) => "encoder_error",
            Self::Engine(e) => e.code(),
        }
    }
}
