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
    let (ok, h) = match &state.engine {
        Some(engine) => {
            let h = engine.health().await;
            (
                h.status == "ok",
                serde_json::to_value(h).unwrap_or_default(),
            )
        }
        None => control_plane_health(&state).await,
    };
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let keyed =
        state.platform.config.api_keys.is_empty() || crate::auth::tenant_for(&state, &req).is_ok();
    if !keyed {
        return (status, Json(serde_json::json!({"status": h["status"]}))).into_response();
    }
    (status, Json(h)).into_response()
}

/// A control plane's health: its backends and the engine workers it routes sessions to (at least
/// one must be alive).
async fn control_plane_health(state: &AppState) -> (bool, Value) {
    let backends = state.platform.health().await;
    let fleet = state.services.sessions.fleet().await;
    let workers_ok = fleet
        .as_ref()
        .and_then(|f| f["workers_alive"].as_u64())
        .is_some_and(|n| n > 0);
    let ok = backends.ok() && workers_ok;
    let mut body = serde_json::to_value(&backends).unwrap_or_default();
    body["status"] = Value::from(if ok { "ok" } else { "degraded" });
    body["role"] = Value::from("control_plane");
    body["cluster"] = fleet.unwrap_or(Value::Null);
    (ok, body)
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
        match &state.engine {
            Some(engine) => engine.render_metrics(),
            None => state.platform.telemetry.render(0, false),
        },
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
    let video = match &state.live {
        Some(live) => live.room(&tenant, &room).await,
        None => Default::default(),
    };
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
