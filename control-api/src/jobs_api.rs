//! REST endpoints of knowledge-exploration jobs, thin adapters over [`crawler::Jobs`] (the MCP
//! tools call the same methods).

use crate::error::{ApiError, ErrorBody};
use crate::extract::{JsonBody, QueryParams};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use crawler::jobs::{
    JobIdRequest, JobList, JobView, ListRequest, QueryAnswer, QueryRequest, ResultsPage,
    ResultsRequest, ResyncRequest, StartRequest,
};
use crawler::knowledge::{SearchAnswer, SearchRequest};
use platform::TenantId;

/// Start crawling a site; answers at once with the queued job.
#[utoipa::path(post, path = "/api/knowledge/explore/start", tag = "knowledge", request_body = StartRequest,
    responses((status = 202, description = "The job, queued", body = JobView),
              (status = 400, description = "Invalid URL, limits or job id", body = ErrorBody),
              (status = 403, description = "A private-network target", body = ErrorBody),
              (status = 409, description = "A job with that id exists", body = ErrorBody),
              (status = 502, description = "The start URL's host does not resolve", body = ErrorBody),
              (status = 503, description = "The job queue is unavailable", body = ErrorBody)))]
pub async fn start(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantId>,
    JsonBody(req): JsonBody<StartRequest>,
) -> Result<(StatusCode, Json<JobView>), ApiError> {
    let job = state.services.jobs.start_job(&tenant, req).await?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// Resync an exploration: a new job over the same site and options that asks for each stored
/// page conditionally (`If-None-Match`, `If-Modified-Since`), re-embeds only the pages whose
/// content changed, adds new pages and drops pages that now answer 404 or 410 from search.
#[utoipa::path(post, path = "/api/knowledge/explore/resync", tag = "knowledge", request_body = ResyncRequest,
    responses((status = 202, description = "The resync job, queued", body = JobView),
              (status = 400, description = "Not an exploration, or an invalid webhook or job id", body = ErrorBody),
              (status = 403, description = "The site or the webhook is in a private network", body = ErrorBody),
              (status = 404, description = "No such job for this caller", body = ErrorBody),
              (status = 409, description = "The job has not finished, or the new job id is taken", body = ErrorBody),
              (status = 503, description = "The job queue is unavailable", body = ErrorBody)))]
pub async fn resync(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantId>,
    JsonBody(req): JsonBody<ResyncRequest>,
) -> Result<(StatusCode, Json<JobView>), ApiError> {
    let job = state.services.jobs.resync(&tenant, req).await?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// A job's status, progress, counters and status history.
#[utoipa::path(get, path = "/api/knowledge/explore/status/{job_id}", tag = "knowledge",
    params(("job_id" = String, Path, description = "The job")),
    responses((status = 200, description = "The job", body = JobView),
              (status = 404, description = "No such job for this caller", body = ErrorBody)))]
pub async fn status(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantId>,
    Path(job_id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    Ok(Json(state.services.jobs.status(&tenant, &job_id).await?))
}

/// Pause a queued or running job; it keeps its place.
#[utoipa::path(post, path = "/api/knowledge/explore/pause", tag = "knowledge", request_body = JobIdRequest,
    responses((status = 200, description = "The job", body = JobView),
              (status = 404, description = "No such job for this caller", body = ErrorBody),
              (status = 409, description = "The job has finished", body = ErrorBody)))]
pub async fn pause(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantId>,
    JsonBody(req): JsonBody<JobIdRequest>,
) -> Result<Json<JobView>, ApiError> {
    let id = req.job_id;
    Ok(Json(state.services.jobs.pause(&tenant, &id).await?))
}

/// Resume a paused job where it stopped, or retry a failed one.
#[utoipa::path(post, path = "/api/knowledge/explore/resume", tag = "knowledge", request_body = JobIdRequest,
    responses((status = 200, description = "The job", body = JobView),
              (status = 404, description = "No such job for this caller", body = ErrorBody),
              (status = 409, description = "The job is completed or cancelled", body = ErrorBody)))]
pub async fn resume(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantId>,
    JsonBody(req): JsonBody<JobIdRequest>,
) -> Result<Json<JobView>, ApiError> {
    let id = req.job_id;
    Ok(Json(state.services.jobs.resume(&tenant, &id).await?))
}

/// Cancel a job for good; pages stored so far stay.
#[utoipa::path(post, path = "/api/knowledge/explore/cancel", tag = "knowledge", request_body = JobIdRequest,
    responses((status = 200, description = "The job", body = JobView),
              (status = 404, description = "No such job for this caller", body = ErrorBody),
              (status = 409, description = "The job has finished", body = ErrorBody)))]
pub async fn cancel(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantId>,
    JsonBody(req): JsonBody<JobIdRequest>,
) -> Result<Json<JobView>, ApiError> {
    let id = req.job_id;
    Ok(Json(state.services.jobs.cancel(&tenant, &id).await?))
}

/// A page of a job's stored pages, in crawl order.
#[utoipa::path(get, path = "/api/knowledge/explore/results/{job_id}", tag = "knowledge",
    params(("job_id" = String, Path, description = "The job"), ResultsRequest),
    responses((status = 200, description = "Stored pages", body = ResultsPage),
              (status = 400, description = "Invalid paging", body = ErrorBody),
              (status = 404, description = "No such job for this caller", body = ErrorBody)))]
pub async fn results(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantId>,
    Path(job_id): Path<String>,
    QueryParams(q): QueryParams<ResultsRequest>,
) -> Result<Json<ResultsPage>, ApiError> {
    Ok(Json(
        state.services.jobs.results(&tenant, &job_id, q).await?,
    ))
}

/// The caller's jobs, newest first.
#[utoipa::path(get, path = "/api/knowledge/explore/jobs", tag = "knowledge", params(ListRequest),
    responses((status = 200, description = "Jobs", body = JobList),
              (status = 400, description = "Unknown status", body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantId>,
    QueryParams(q): QueryParams<ListRequest>,
) -> Result<Json<JobList>, ApiError> {
    Ok(Json(state.services.jobs.list(&tenant, q).await?))
}

/// Look up stored knowledge: semantic search (`query`), page summaries, one page, links, or a
/// site map.
#[utoipa::path(post, path = "/api/knowledge/query", tag = "knowledge", request_body = QueryRequest,
    responses((status = 200, description = "What was found", body = QueryAnswer),
              (status = 400, description = "Invalid query", body = ErrorBody),
              (status = 404, description = "No such job or page for this caller", body = ErrorBody)))]
pub async fn knowledge_query(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantId>,
    JsonBody(req): JsonBody<QueryRequest>,
) -> Result<Json<QueryAnswer>, ApiError> {
    Ok(Json(state.services.jobs.query(&tenant, req).await?))
}

/// Semantic search: the stored passages that best answer a question, with page URL, title,
/// heading path, score and text; `hybrid` fuses it with keyword search.
#[utoipa::path(post, path = "/api/knowledge/search", tag = "knowledge", request_body = SearchRequest,
    responses((status = 200, description = "Passages, best first", body = SearchAnswer),
              (status = 400, description = "Empty query or `top_k` out of range", body = ErrorBody),
              (status = 404, description = "No such job for this caller", body = ErrorBody),
              (status = 409, description = "The knowledge was embedded with another model", body = ErrorBody)))]
pub async fn knowledge_search(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantId>,
    JsonBody(req): JsonBody<SearchRequest>,
) -> Result<Json<SearchAnswer>, ApiError> {
    Ok(Json(state.services.jobs.search(&tenant, req).await?))
}
