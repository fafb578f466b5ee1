//! REST endpoints of file ingestion, thin adapters over [`crawler::Jobs`]: start an ingestion
//! from an S3 reference (or a site), or upload a file (multipart) for the embedded default.
//! Status, pause, resume, cancel and results are the job endpoints'.

use crate::error::{ApiError, ErrorBody};
use crate::extract::JsonBody;
use crate::AppState;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use crawler::ingest::kinds::FileKind;
use crawler::ingest::{limit_for, IngestOptions, IngestStartRequest, SourceType, Upload};
use crawler::jobs::JobView;
use platform::{EngineError, TenantId};
use tokio::io::AsyncWriteExt;

/// How much of an oversized upload is still read (and dropped) before answering.
const DRAIN_AFTER_LIMIT: usize = 16 * 1024 * 1024;

/// The largest request body an upload may have (the video limit, and room for the form).
pub const MAX_UPLOAD_BODY: usize = 501 * 1024 * 1024;

/// Start ingesting: a `file` or `video` from its S3 reference (downloaded from the presigned URL
/// with retries), or a `documentation` / `website` source crawled from `source_url`. Answers at
/// once with the queued job; follow it at `/api/knowledge/explore/status/{job_id}`.
#[utoipa::path(post, path = "/api/knowledge/ingest/start", tag = "knowledge", request_body = IngestStartRequest,
    responses((status = 202, description = "The job, queued", body = JobView),
              (status = 400, description = "A missing reference, an invalid URL or job id", body = ErrorBody),
              (status = 403, description = "A private-network URL", body = ErrorBody),
              (status = 409, description = "A job with that id exists", body = ErrorBody),
              (status = 413, description = "The declared size exceeds the limit of the file's type", body = ErrorBody)))]
pub async fn start(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantId>,
    JsonBody(req): JsonBody<IngestStartRequest>,
) -> Result<(StatusCode, Json<JobView>), ApiError> {
    let job = state.services.jobs.ingest_start(&tenant, req).await?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// The multipart form of an upload (for the OpenAPI document).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The file (its name's extension, or its part's media type, names its type).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// `file` or `video` (default: from the file's type).
    source_type: Option<String>,
    /// The job's id; generated when absent.
    job_id: Option<String>,
    /// `true` (default) or `false`.
    extract_code_blocks: Option<String>,
    /// `true` or `false` (default); needs ffmpeg.
    extract_thumbnails: Option<String>,
    /// Push the job's events to a receiver: JSON `{"url", "secret", "events"}`, as in the start
    /// bodies.
    webhook: Option<String>,
}

fn flag(name: &str, v: &str) -> Result<bool, ApiError> {
    match v.trim() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" | "" => Ok(false),
        other => Err(ApiError::BadRequest(format!(
            "`{name}` must be true or false, not {other:?}"
        ))),
    }
}

/// Upload a file to ingest (PDF, Markdown, text, HTML, DOCX, PPTX, JSON, YAML, XML, code, audio,
/// video): kept in the service's file store (a local directory, or S3 when configured) and
/// queued as an ingestion job. The size limit of the file's type is enforced while it arrives;
/// its content must match its claimed type.
#[utoipa::path(post, path = "/api/knowledge/ingest/upload", tag = "knowledge",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 202, description = "The job, queued", body = JobView),
              (status = 400, description = "No file part, or a malformed form", body = ErrorBody),
              (status = 413, description = "Larger than its type allows", body = ErrorBody),
              (status = 429, description = "The tenant's hourly upload quota is used up (`upload_quota_exceeded`, with Retry-After)", body = ErrorBody),
              (status = 415, description = "A type the service does not ingest, or content that is not what its name says", body = ErrorBody)))]
pub async fn upload(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantId>,
    headers: axum::http::HeaderMap,
    form: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<JobView>), ApiError> {
    // Refused before a byte is read when the request's length would pass the tenant's quota.
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    state.limits.check_upload(&tenant, declared)?;
    let mut form = form.map_err(|e| match e.status() {
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(e.body_text()),
        _ => ApiError::BadRequest(e.body_text()),
    })?;
    let dir = state.platform.config.data_dir.join("tmp");
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| EngineError::Files(format!("upload directory: {e}")))?;
    let tmp = TempFile(dir.join(format!("upload-{}", uuid::Uuid::new_v4())));
    let mut upload = Upload {
        filename: String::new(),
        content_type: None,
        source_type: None,
        job_id: None,
        options: IngestOptions::default(),
        webhook: None,
    };
    let mut have_file = false;
    while let Some(mut field) = form.next_field().await.map_err(bad_part)? {
        if field.name() == Some("file") {
            if have_file {
                return Err(ApiError::BadRequest("one `file` part per upload".into()));
            }
            have_file = true;
            receive_file(&mut field, &mut upload, &tmp.0).await?;
        } else {
            form_field(field, &mut upload).await?;
        }
    }
    if !have_file {
        return Err(ApiError::BadRequest("the form has no `file` part".into()));
    }
    let size = tokio::fs::metadata(&tmp.0)
        .await
        .map(|m| m.len())
        .unwrap_or(0);
    state.limits.check_upload(&tenant, size)?;
    let job = state
        .services
        .jobs
        .ingest_upload(&tenant, upload, &tmp.0)
        .await?;
    state.limits.record_upload(&tenant, size);
    Ok((StatusCode::ACCEPTED, Json(job)))
}

fn bad_part(e: axum::extract::multipart::MultipartError) -> ApiError {
    ApiError::BadRequest(e.body_text())
}

/// The `file` part: its name and type, its bytes written to `path` up to the limit of the type
/// it claims (413 past it, after reading a little more so the client sees the answer).
async fn receive_file(
    field: &mut axum::extract::multipart::Field<'_>,
    upload: &mut Upload,
    path: &std::path::Path,
) -> Result<(), ApiError> {
    upload.filename = field
        .file_name()
        .filter(|f| !f.trim().is_empty())
        .unwrap_or("upload")
        .to_string();
    upload.content_type = field
        .content_type()
        .filter(|c| *c != "application/octet-stream")
        .map(str::to_string);
    let claimed = FileKind::claimed(&upload.filename, upload.content_type.as_deref());
    let limit = limit_for(claimed.as_ref());
    let write_err = |e: std::io::Error| EngineError::Files(format!("the upload: {e}"));
    let mut out = tokio::fs::File::create(path).await.map_err(write_err)?;
    let mut n = 0u64;
    while let Some(chunk) = field.chunk().await.map_err(bad_part)? {
        n += chunk.len() as u64;
        if n > limit {
            // Read (and drop) a little more so that a client still sending gets the answer
            // rather than a reset connection; past that, close.
            let mut extra = 0usize;
            while extra < DRAIN_AFTER_LIMIT {
                match field.chunk().await {
                    Ok(Some(c)) => extra += c.len(),
                    _ => break,
                }
            }
            return Err(EngineError::FileTooLarge(format!(
                "{:?} exceeds the limit for {} ({limit} bytes)",
                upload.filename,
                claimed
                    .map(|k| k.name())
                    .unwrap_or_else(|| "any file".into())
            ))
            .into());
        }
        out.write_all(&chunk).await.map_err(write_err)?;
    }
    out.flush().await.map_err(write_err)?;
    Ok(())
}

/// A form field other than the file: `job_id`, `source_type` or an option.
async fn form_field(
    field: axum::extract::multipart::Field<'_>,
    upload: &mut Upload,
) -> Result<(), ApiError> {
    let name = field.name().unwrap_or("").to_string();
    let known = [
        "job_id",
        "source_type",
        "extract_code_blocks",
        "extract_thumbnails",
        "webhook",
    ];
    if !known.contains(&name.as_str()) {
        return Err(ApiError::BadRequest(format!(
            "unknown form field {name:?} (expected file, source_type, job_id, extract_code_blocks, extract_thumbnails, webhook)"
        )));
    }
    let value = field.text().await.map_err(bad_part)?;
    match name.as_str() {
        "job_id" => upload.job_id = Some(value),
        "source_type" => {
            upload.source_type = Some(match value.trim() {
                "file" => SourceType::File,
                "video" => SourceType::Video,
                other => {
                    return Err(ApiError::BadRequest(format!(
                        "`source_type` of an upload is `file` or `video`, not {other:?}"
                    )))
                }
            })
        }
        "extract_code_blocks" => upload.options.extract_code_blocks = Some(flag(&name, &value)?),
        "webhook" => {
            upload.webhook = Some(serde_json::from_str(&value).map_err(|e| {
                ApiError::BadRequest(format!(
                    "`webhook` must be JSON {{\"url\", \"secret\", \"events\"}}: {e}"
                ))
            })?)
        }
        _ => upload.options.extract_thumbnails = Some(flag(&name, &value)?),
    }
    Ok(())
}

/// A temporary file removed when dropped (whatever way the request ends).
struct TempFile(std::path::PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
