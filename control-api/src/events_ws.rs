//! `GET /mcp/events/{room_name}`: a WebSocket carrying the room's events as JSON text frames.

use crate::error::ApiError;
use crate::rooms::ConnectionKind;
use crate::AppState;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::Response;
use axum::Extension;
use futures::{FutureExt, StreamExt};
use platform::events::room_channel;
use platform::TenantId;

/// Upgrade to a WebSocket streaming `browser:events:{room_name}`.
#[utoipa::path(get, path = "/mcp/events/{room_name}", tag = "events",
    params(("room_name" = String, Path, description = "The session's room")),
    responses((status = 101, description = "WebSocket of `{type, data, timestamp}` events"),
              (status = 426, description = "Not a WebSocket upgrade request", body = crate::error::ErrorBody),
              (status = 404, description = "With API keys: the room is not the caller's", body = crate::error::ErrorBody)))]
pub async fn events(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantId>,
    Path(room): Path<String>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let ws = ws.map_err(|e| ApiError::UpgradeRequired(e.body_text()))?;
    // Bound to the session open now: the socket closes when it ends, so it never carries a
    // later session of the same name. With several tenants, a room's events are only for its
    // owner: no session of the caller's, no socket.
    let ended = state
        .engine
        .as_ref()
        .and_then(|e| e.sessions.end_signal(&tenant, &room));
    let known = match &state.engine {
        Some(_) => ended.is_some(),
        None => state
            .services
            .sessions
            .list(&tenant)
            .await?
            .iter()
            .any(|s| s.room_name == room),
    };
    if !known && !state.platform.config.api_keys.is_empty() {
        return Err(ApiError::NotFound(format!(
            "no browser session for room '{room}'"
        )));
    }
    let stream = state
        .platform
        .events
        .subscribe(&room_channel(&tenant, &room))
        .await?;
    let guard = state
        .rooms
        .connect(&crate::rooms::key(&tenant, &room), ConnectionKind::Events);
    Ok(ws.on_upgrade(move |socket| forward(socket, stream, ended, guard)))
}

async fn forward(
    socket: WebSocket,
    mut events: futures::stream::BoxStream<'static, platform::events::Event>,
    ended: Option<tokio::sync::watch::Receiver<bool>>,
    _guard: crate::rooms::ConnectionGuard,
) {
    let (mut tx, mut rx) = socket.split();
    use futures::SinkExt;
    let session_ended = async move {
        match ended {
            Some(mut e) => {
                let _ = e.wait_for(|ended| *ended).await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::pin!(session_ended);
    loop {
        tokio::select! {
            _ = &mut session_ended => {
                // Let the session's last events (its close) through first.
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                while let Some(Some(ev)) = events.next().now_or_never() {
                    if let Ok(text) = serde_json::to_string(&ev) {
                        let _ = tx.send(Message::Text(text.into())).await;
                    }
                }
                let _ = tx.send(Message::Close(None)).await;
                break;
            }
            ev = events.next() => {
                let Some(ev) = ev else { break };
                let Ok(text) = serde_json::to_string(&ev) else { continue };
                if tx.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            msg = rx.next() => match msg {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
}
