//! Live video of browser sessions: the session's page as a CDP screencast of JPEG frames
//! ([`screencast`]), paced to the session's frame rate and encoded to H.264 off the async runtime
//! ([`encode`], [`pacer`], [`pipeline`]); one encoder per session, shared by every viewer.
//! Delivery: WHEP viewers ([`whep`]) and LiveKit rooms ([`livekit`]) over webrtc-rs ([`peer`]),
//! managed per room by [`LiveVideo`], which follows each session's life.

pub mod encode;
mod keyframes;
pub mod live;
pub mod livekit;
pub mod pacer;
pub mod peer;
pub mod pipeline;
pub mod publishing;
pub mod recording;
pub mod rtp_clock;
pub mod screencast;
pub mod whep;

pub use live::{LiveVideo, RoomVideo, ViewerAnswer};

use platform::Code;
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
    /// WebRTC failed (negotiation, transport).
    #[error("WebRTC: {0}")]
    WebRtc(String),
    /// A viewer's offer is not usable.
    #[error("invalid offer: {0}")]
    InvalidOffer(String),
    /// No such viewer.
    #[error("viewer {0} not found")]
    ViewerNotFound(String),
    /// Too many viewers.
    #[error("room {0} has its maximum of {1} viewers")]
    TooManyViewers(String, usize),
    /// LiveKit publishing failed or is not configured.
    #[error("LiveKit: {0}")]
    LiveKit(String),
    /// The browser or session failed.
    #[error(transparent)]
    Engine(#[from] platform::EngineError),
}

impl StreamError {
    /// A stable machine-readable code.
    pub fn code(&self) -> Code {
        match self {
            Self::Decode(_) => Code::FrameDecodeError,
            Self::Encode(_) => Code::EncoderError,
            Self::WebRtc(_) => Code::WebrtcError,
            Self::InvalidOffer(_) => Code::InvalidOffer,
            Self::ViewerNotFound(_) => Code::ViewerNotFound,
            Self::TooManyViewers(..) => Code::TooManyViewers,
            Self::LiveKit(_) => Code::LivekitError,
            Self::Engine(e) => e.code(),
        }
    }
}
