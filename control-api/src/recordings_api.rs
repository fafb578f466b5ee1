//! Recordings of a room's video: start and stop one (`POST /rooms/{room}/recording/start|stop`),
//! list them (`GET /rooms/{room}/recordings`) and fetch one from the service itself
//! (`GET /rooms/{room}/recordings/{name}`; on S3 the listed URL is presigned instead).

use crate::error::{ApiError, ErrorBody};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use browser::session::observer::{RecordingInfo, RecordingList};
use platform::{EngineError, TenantId};

/// Start recording a session's video (the running recording when there is one).
#[utoipa::path(post, path = "/rooms/{room_name}/recording/start", tag = "rooms",
    params(("room_name" = String, Path, description = "The session's room")),
    responses((status = 200, description = "The recording, being written", body = RecordingInfo),
              (status = 404, description = "No such session", body = ErrorBody),
              (status = 500, description = "The encoder or ffmpeg could not start", body = ErrorBody)))]
pub async fn start(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantId>,
    Path(room): Path<String>,
) -> Result<Json<RecordingInfo>, ApiError> {
    Ok(Json(
        state
            .services
            .sessions
            .start_recording(&tenant, &room)
            .await?,
    ))
}

/// Stop a session's recording and store it.
#[utoipa::path(post, path = "/rooms/{room_name}/recording/stop", tag = "rooms",
    params(("room_name" = String, Path, description = "The session's room")),
    responses((status = 200, description = "The recording, stored", body = RecordingInfo),
              (status = 400, description = "No recording is running", body = ErrorBody),
              (status = 404, description = "No such session", body = ErrorBody)))]
pub async fn stop(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantId>,
    Path(room): Path<String>,
) -> Result<Json<RecordingInfo>, ApiError> {
    Ok(Json(
        state
            .services
            .sessions
            .stop_recording(&tenant, &room)
            .await?,
    ))
}

/// A room's recordings, oldest first (also of sessions already closed).
#[utoipa::path(get, path = "/rooms/{room_name}/recordings", tag = "rooms",
    params(("room_name" = String, Path, description = "The room")),
    responses((status = 200, description = "The room's recordings", body = RecordingList)))]
pub async fn list(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantId>,
    Path(room): Path<String>,
) -> Result<Json<RecordingList>, ApiError> {
    let recordings = state.services.sessions.recordings(&tenant, &room).await?;
    Ok(Json(RecordingList { recordings }))
}

/// One recording's MP4.
#[utoipa::path(get, path = "/rooms/{room_name}/recordings/{name}", tag = "rooms",
    params(("room_name" = String, Path, description = "The room"),
           ("name" = String, Path, description = "The recording's name (`{started}.mp4`)")),
    responses((status = 200, description = "The video", content_type = "video/mp4"),
              (status = 404, description = "No such recording", body = ErrorBody)))]
pub async fn fetch(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantId>,
    Path((room, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let dir = state.platform.config.data_dir.join("recordings");
    std::fs::create_dir_all(&dir)
        .map_err(|e| EngineError::Files(format!("cannot create {}: {e}", dir.display())))?;
    let tmp = dir.join(format!(".fetch-{}.mp4", uuid::Uuid::new_v4().simple()));
    // From the file store itself: any process sharing it serves the file, a control plane too.
    let files = state.platform.files.as_ref();
    let fetched = streaming::recording::store::fetch(files, &tenant, &room, &name, &tmp).await;
    let body = fetched.map(|_| std::fs::read(&tmp));
    let _ = std::fs::remove_file(&tmp);
    let bytes = body?.map_err(|e| EngineError::Files(format!("reading the recording: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "video/mp4")], bytes).into_response())
}
