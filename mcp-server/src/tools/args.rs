//! The tools' argument and result types that are not the engine's or the crawler's own: their
//! JSON schemas are the tools' input and output schemas.

use browser::session::actions::{ActionFields, ActionKind};
use browser::session::{SessionInfo, StartOptions};
use crawler::jobs::ResultsRequest;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A session tool's only argument.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomArgs {
    /// The session's room name.
    pub room_name: String,
}

/// Arguments of `start_browser_session` (schema only: parsing splits `room_name` off).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct StartArgs {
    /// The room the session belongs to (1-128 of letters, digits, `-_.:@`).
    pub room_name: String,
    /// How to start it.
    #[serde(flatten)]
    pub options: StartOptions,
}

/// Arguments of `execute_action` (schema only: parsing splits the flat fields off).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ExecuteArgs {
    /// The session's room name.
    pub room_name: String,
    /// Which action to run.
    pub action: ActionKind,
    /// The action's own fields.
    #[serde(flatten)]
    pub fields: ActionFields,
}

/// Arguments of `get_screen_content`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreenArgs {
    /// The session's room name.
    pub room_name: String,
    /// Most interactive elements to list (those in the viewport first). Default 60, at most 300.
    #[serde(default)]
    pub max_elements: Option<usize>,
    /// Most characters of visible text. Default 3000, at most 20000.
    #[serde(default)]
    pub max_text_chars: Option<usize>,
    /// Include a JPEG screenshot of the viewport.
    #[serde(default)]
    pub include_screenshot: Option<bool>,
}

/// Arguments of `list_browser_sessions`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// The sessions of the caller.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SessionList {
    /// Open sessions, by room name.
    pub sessions: Vec<SessionInfo>,
}

/// Arguments of `get_knowledge_results` (schema only: parsing splits `job_id` off).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ResultsArgs {
    /// The job.
    pub job_id: String,
    /// Which pages (MCP defaults: 5 pages, 4000 Markdown characters each).
    #[serde(flatten)]
    pub request: ResultsRequest,
}
