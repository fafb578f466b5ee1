//! Session lifecycle notices for whatever renders a session elsewhere (live video): started,
//! paused, resumed, ended. Observers are called after the change, outside every session lock,
//! and must not block (they hand slow work to a task of their own).

use platform::tenant::TenantId;

/// Where a session's video is published in LiveKit: the start call's choice, or the service's
/// configuration, decided once at start.
#[derive(Clone, PartialEq, Eq)]
pub struct LiveKitTarget {
    /// The LiveKit server (`ws(s)://` or `http(s)://`), from the call or `LIVEKIT_URL`.
    pub url: String,
    /// An access token for the room; `None` means the service signs one with its API key.
    pub token: Option<String>,
}

impl std::fmt::Debug for LiveKitTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveKitTarget")
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "<hidden>"))
            .finish()
    }
}

/// Decides at a session's start where its video is published, if anywhere; an error refuses the
/// start (as `invalid_request`). The streaming crate installs one with
/// `SessionManager::set_publish_policy`.
pub trait PublishPolicy: Send + Sync {
    /// The LiveKit room connection for a session started with `options`, or `None`.
    fn livekit_target(
        &self,
        options: &super::StartOptions,
    ) -> platform::Result<Option<LiveKitTarget>>;
}

/// What happened to a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionChange {
    /// It has a (new) live page: after a start, and after a recovery.
    Started {
        /// Where to publish in LiveKit, if anywhere.
        livekit: Option<LiveKitTarget>,
    },
    /// Paused: nothing should be published until it resumes.
    Paused,
    /// Resumed after a pause.
    Resumed,
    /// Its page is gone: closed, failed, or the service is stopping.
    Ended,
}

/// Told of every session change.
pub trait SessionObserver: Send + Sync {
    /// One session changed. Called on the async runtime; must return quickly.
    fn session_changed(&self, tenant: &TenantId, room: &str, change: SessionChange);
}
