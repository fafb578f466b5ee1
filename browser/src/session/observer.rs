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
        /// Whether its video is recorded (a new recording after a recovery).
        record: bool,
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

/// A recording of a session's video, as listed.
#[derive(
    Debug,
    Clone,
    PartialEq,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
    utoipa::ToSchema,
)]
pub struct RecordingInfo {
    /// Its name in the room's recordings (`{started}.mp4`, the start in milliseconds).
    pub name: String,
    /// The session's room.
    pub room_name: String,
    /// `recording` (being written), `complete`, or `interrupted` (the service stopped before it
    /// was closed: what was written is kept, playable).
    pub status: String,
    /// When it started (seconds since the Unix epoch).
    pub started_at: f64,
    /// When it ended.
    pub ended_at: Option<f64>,
    /// Seconds of video (paused time left out).
    pub duration_secs: Option<f64>,
    /// Its size in bytes.
    pub size_bytes: Option<u64>,
    /// Actions in its action track.
    pub actions: Option<u32>,
    /// Where to fetch it: a presigned URL on S3, else the service's own route (send the API
    /// key with it).
    pub url: Option<String>,
}

/// A room's recordings.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema, utoipa::ToSchema)]
pub struct RecordingList {
    /// Oldest first; one being written comes last, `status: recording`.
    pub recordings: Vec<RecordingInfo>,
}

/// Records sessions' video; the streaming crate installs one with
/// `SessionManager::set_recorder`.
#[async_trait::async_trait]
pub trait RecordingControl: Send + Sync {
    /// Start recording a session (the running recording when there is one).
    async fn start(&self, tenant: &TenantId, room: &str) -> platform::Result<RecordingInfo>;
    /// Stop a session's recording and store it.
    async fn stop(&self, tenant: &TenantId, room: &str) -> platform::Result<RecordingInfo>;
    /// A room's recordings, oldest first (the one being written last).
    async fn list(&self, tenant: &TenantId, room: &str) -> platform::Result<Vec<RecordingInfo>>;
}

/// The recordings kept in the file store, as a process that records none itself lists them (a
/// control plane of a cluster, for a room no engine worker holds); the streaming crate provides
/// one.
#[async_trait::async_trait]
pub trait RecordingArchive: Send + Sync {
    /// A room's stored recordings, oldest first.
    async fn stored(&self, tenant: &TenantId, room: &str) -> platform::Result<Vec<RecordingInfo>>;
}
