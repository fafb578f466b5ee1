//! Live video of a session's room: the WHEP endpoint (`POST /rooms/{room}/whep` with an SDP offer,
//! `DELETE` on the answer's `Location` to leave) and the built-in viewer page
//! (`GET /rooms/{room}/view`), which plays the room's video in any browser with no external
//! script.

use crate::error::ApiError;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Extension;
use platform::TenantId;

/// `GET /rooms/{room_name}/view`.
#[utoipa::path(get, path = "/rooms/{room_name}/view", tag = "rooms",
    params(("room_name" = String, Path, description = "The session's room"),
           ("token" = Option<String>, Query, description = "API key, when the service needs one (a page cannot send headers)")),
    responses((status = 200, description = "The viewer page (HTML)", content_type = "text/html")))]
pub async fn viewer_page(Path(_room): Path<String>) -> Response {
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; media-src 'self' blob:",
            ),
        ],
        Html(streaming::whep::VIEWER_PAGE),
    )
        .into_response()
}

/// `POST /rooms/{room_name}/whep`: an SDP offer in, an SDP answer out (201, `Location` names the
/// viewer for `DELETE`). Every candidate is in the answer; there is no trickle.
#[utoipa::path(post, path = "/rooms/{room_name}/whep", tag = "rooms",
    params(("room_name" = String, Path, description = "The session's room")),
    request_body(content = String, content_type = "application/sdp", description = "The viewer's SDP offer (recvonly video)"),
    responses((status = 201, description = "The SDP answer", content_type = "application/sdp", body = String),
              (status = 400, description = "Not a usable offer", body = crate::error::ErrorBody),
              (status = 404, description = "No such session", body = crate::error::ErrorBody),
              (status = 429, description = "The room has its maximum of viewers", body = crate::error::ErrorBody)))]
pub async fn whep_offer(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantId>,
    Path(room): Path<String>,
    body: String,
) -> Result<Response, ApiError> {
    // A control plane passes the offer to the worker holding the session, which answers with
    // its own candidates.
    let (id, sdp) = match &state.live {
        Some(live) => {
            let a = live.offer(&tenant, &room, body).await?;
            (a.id, a.sdp)
        }
        None => {
            state
                .services
                .sessions
                .whep_offer(&tenant, &room, body)
                .await?
        }
    };
    let location = format!("/rooms/{room}/whep/{id}");
    Ok((
        StatusCode::CREATED,
        [
            (header::CONTENT_TYPE, "application/sdp".to_string()),
            (header::LOCATION, location),
        ],
        sdp,
    )
        .into_response())
}

/// `DELETE /rooms/{room_name}/whep/{viewer_id}`: the viewer leaves.
#[utoipa::path(delete, path = "/rooms/{room_name}/whep/{viewer_id}", tag = "rooms",
    params(("room_name" = String, Path, description = "The session's room"),
           ("viewer_id" = String, Path, description = "From the offer's Location")),
    responses((status = 200, description = "The viewer left"),
              (status = 404, description = "No such viewer or session", body = crate::error::ErrorBody)))]
pub async fn whep_delete(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantId>,
    Path((room, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    match &state.live {
        Some(live) => live.close_viewer(&tenant, &room, &id).await?,
        None => {
            state
                .services
                .sessions
                .whep_close(&tenant, &room, &id)
                .await?
        }
    }
    Ok(StatusCode::OK)
}
