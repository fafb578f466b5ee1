//! REST handlers: health, metrics, room connections, and the MCP tools over plain HTTP.

use crate::error::{ApiError, ErrorBody};
use crate::extract::JsonBody;
use crate::rooms::RoomCounts;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use platform::TenantId;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Whether Chromium, the event bus and the store work. Needs no API key; with `API_KEYS` set,
/// only a request with a valid key sees the details (browsers, their processes, sessions).
#[utoipa::path(get, path = "/health", tag = "service",
    responses((status = 200, description = "Chromium, the event bus and the store all work", body = Object),
              (status = 503, description = "Something is degraded; the body says what", body = Object)))]
pub async fn health(State(state): State<AppState>, req: axum::extract::Request) -> Response {
    let h = state.engine.health().await;
    let status = if h.status == "ok" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let keyed = state.engine.platform.config.api_keys.is_empty()
        || crate::auth::tenant_for(&state, &req).is_ok();
    if !keyed {
        return (status, Json(serde_json::json!({"status": h.status}))).into_response();
    }
    (status, Json(h)).into_response()
}

/// Metrics in the OpenMetrics text format: sessions and actions (with latency), crawled pages,
/// job status changes, queue operations, embedded passages, live viewers and encoders.
#[utoipa::path(get, path = "/metrics", tag = "service",
    responses((status = 200, description = "OpenMetrics text format", content_type = "application/openmetrics-text", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            platform::telemetry::CONTENT_TYPE,
        )],
        state.engine.render_metrics(),
    )
        .into_response()
}

/// The tool list.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ToolList {
    /// Every tool with its input and output JSON schemas.
    #[schema(value_type = Vec<Object>)]
    pub tools: Vec<Value>,
}

/// The MCP tools, with their input and output JSON schemas, as MCP lists them.
#[utoipa::path(get, path = "/mcp/tools", tag = "mcp",
    responses((status = 200, description = "The MCP tools, as MCP lists them", body = ToolList)))]
pub async fn list_tools() -> Json<ToolList> {
    let tools = mcp_server::tools::list()
        .into_iter()
        .filter_map(|t| serde_json::to_value(t).ok())
        .collect();
    Json(ToolList { tools })
}

/// A tool call over plain HTTP.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ToolCall {
    /// The tool's name.
    pub name: String,
    /// Its arguments, as in MCP.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub arguments: Value,
}

/// Call an MCP tool over plain HTTP; the answer is the tool's structured result.
#[utoipa::path(post, path = "/mcp/tools/call", tag = "mcp", request_body = ToolCall,
    responses((status = 200, description = "The tool's structured result", body = Object),
              (status = 400, description = "Invalid arguments or URL", body = ErrorBody),
              (status = 403, description = "A private-network target", body = ErrorBody),
              (status = 404, description = "Unknown tool, session or element", body = ErrorBody),
              (status = 409, description = "Session paused, failed or already open", body = ErrorBody),
              (status = 429, description = "Session limit reached", body = ErrorBody),
              (status = 502, description = "The site failed to load", body = ErrorBody),
              (status = 504, description = "Timed out", body = ErrorBody)))]
pub async fn call_tool(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantId>,
    JsonBody(call): JsonBody<ToolCall>,
) -> Result<Json<Value>, ApiError> {
    let out = mcp_server::tools::call(&state.services, &tenant, &call.name, call.arguments).await?;
    Ok(Json(out.structured))
}

/// Who is connected to a room.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RoomConnections {
    /// The room.
    pub room_name: String,
    /// All connections.
    pub connections: usize,
    /// By kind.
    pub detail: RoomCounts,
    /// Whether an encoder is running for the room's video.
    pub encoding: bool,
    /// Whether the room's video is paused (its session is).
    pub paused: bool,
    /// LiveKit publishing (`connecting`, `published`, `reconnecting`, `failed`), when the room
    /// is published there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub livekit: Option<String>,
    /// The LiveKit room it is published to: the room name, or `{tenant}:{room_name}` for a
    /// tenant of an API key when the service signs the token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub livekit_room: Option<String>,
}

/// How many event-stream clients and live viewers a room has.
#[utoipa::path(get, path = "/rooms/{room_name}/connections", tag = "rooms",
    params(("room_name" = String, Path, description = "The session's room")),
    responses((status = 200, description = "Connection counts", body = RoomConnections)))]
pub async fn room_connections(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantId>,
    Path(room): Path<String>,
) -> Json<RoomConnections> {
    // The caller's room of that name only: another tenant's counts are never shown.
    let mut c = state.rooms.counts(&crate::rooms::key(&tenant, &room));
    let video = state.live.room(&tenant, &room).await;
    c.viewers = video.viewers;
    Json(RoomConnections {
        room_name: room,
        connections: c.event_clients + c.viewers,
        detail: c,
        encoding: video.encoding,
        paused: video.paused,
        livekit: video.livekit,
        livekit_room: video.livekit_room,
    })
}
