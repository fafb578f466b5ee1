//! What callers of the session manager send and get back: start options, session info, action
//! results and the browser context.

use super::*;

/// How a session is started.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartOptions {
    /// A URL to load once the session is open.
    #[serde(default)]
    pub initial_url: Option<String>,
    /// Viewport; default 1920x1080.
    #[serde(default)]
    pub viewport: Option<Viewport>,
    /// Frames per second for live video; default 10.
    #[serde(default)]
    pub fps: Option<u32>,
    /// LiveKit server to publish the session's video to (default: the service's `LIVEKIT_URL`).
    #[serde(default)]
    pub livekit_url: Option<String>,
    /// LiveKit access token for the room (default: one the service signs with its API key).
    #[serde(default)]
    pub livekit_token: Option<String>,
    /// Record the session's video (an MP4 with its actions as a subtitle track) from the start;
    /// see `start_recording` and `list_recordings`.
    #[serde(default)]
    pub record: Option<bool>,
}

/// What a session brings when it moves to another process, beyond its stored record: where its
/// video is published, with a token the caller gave (a secret, so never stored).
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Carried {
    /// The LiveKit server its video is published to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub livekit_url: Option<String>,
    /// The caller's own LiveKit token for its room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub livekit_token: Option<String>,
}

impl std::fmt::Debug for Carried {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Carried")
            .field("livekit_url", &self.livekit_url)
            .field(
                "livekit_token",
                &self.livekit_token.as_ref().map(|_| "<hidden>"),
            )
            .finish()
    }
}

/// A session as reported to callers.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct SessionInfo {
    /// The session's room.
    pub room_name: String,
    /// Where it is in its life.
    pub status: SessionStatus,
    /// The current URL.
    pub url: Option<String>,
    /// Viewport.
    pub viewport: Viewport,
    /// Frames per second for live video.
    pub fps: u32,
    /// The pool's id of the browser hosting it.
    pub browser_id: Option<u64>,
    /// Why it failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Set by recovery: the URL that was loaded again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored_url: Option<String>,
    /// Set by recovery when the page could not be loaded again (the session is open regardless).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_error: Option<String>,
    /// In a cluster: the engine worker holding the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
}

/// The result of one action.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ActionResult {
    /// Unique id of this action, also carried by its events.
    pub action_id: String,
    /// The session's room.
    pub room_name: String,
    /// The action that ran.
    pub action: ActionKind,
    /// Always true: failures are errors.
    pub success: bool,
    /// How long it took.
    pub duration_ms: u64,
    /// The page state after the action.
    pub page: PageState,
    /// Whether the document changed.
    pub dom_changed: bool,
    /// Action-specific details.
    pub details: Value,
}

/// The browser context of a session: where it is and what it shows, in a few fields.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct BrowserContext {
    /// The session's room.
    pub room_name: String,
    /// Where the session is in its life.
    pub status: SessionStatus,
    /// URL.
    pub url: String,
    /// Title.
    pub title: String,
    /// `loading`, `interactive` or `complete`.
    pub ready_state: String,
    /// Horizontal scroll offset.
    pub scroll_x: i64,
    /// Vertical scroll offset.
    pub scroll_y: i64,
    /// Viewport.
    pub viewport: Viewport,
    /// Document width.
    pub page_width: i64,
    /// Document height.
    pub page_height: i64,
    /// Last mouse position.
    pub cursor: Cursor,
}

/// A mouse position in viewport CSS pixels.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
pub struct Cursor {
    /// x.
    pub x: f64,
    /// y.
    pub y: f64,
}
