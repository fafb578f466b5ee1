//! The OpenAPI document, generated from the handlers' annotations.

use axum::Json;
use utoipa::OpenApi;

/// The API's OpenAPI description.
#[derive(OpenApi)]
#[openapi(
    info(title = "browser-automation-service", description = "A pool of real headless Chromium browsers for AI agents and the platform. With API_KEYS set, send `Authorization: Bearer <key>`."),
    paths(
        crate::tools_api::health,
        crate::tools_api::metrics,
        crate::tools_api::list_tools,
        crate::tools_api::call_tool,
        crate::tools_api::room_connections,
        crate::video_api::viewer_page,
        crate::video_api::whep_offer,
        crate::video_api::whep_delete,
        crate::events_ws::events,
        crate::jobs_api::start,
        crate::jobs_api::status,
        crate::jobs_api::pause,
        crate::jobs_api::resume,
        crate::jobs_api::cancel,
        crate::jobs_api::results,
        crate::jobs_api::list,
        crate::jobs_api::knowledge_query,
        crate::jobs_api::knowledge_search,
        crate::ingest_api::start,
        crate::ingest_api::upload,
    ),
    components(schemas(crate::error::ErrorBody, crate::tools_api::ToolCall, crate::tools_api::ToolList,
                       crate::tools_api::RoomConnections, crate::rooms::RoomCounts,
                       crawler::jobs::StartRequest, crawler::jobs::JobIdRequest, crawler::jobs::JobView,
                       crawler::jobs::JobList, crawler::jobs::ResultsPage, crawler::jobs::PageView,
                       crawler::jobs::QueryRequest, crawler::jobs::QueryAnswer, crawler::jobs::PageSummary,
                       crawler::jobs::SiteMapEntry, crawler::knowledge::SearchRequest,
                       crawler::knowledge::SearchAnswer, crawler::knowledge::SearchHit,
                       crawler::ingest::IngestStartRequest, crawler::ingest::S3ReferenceBody,
                       crawler::ingest::FileMetadataBody, crawler::ingest::IngestOptions,
                       crawler::ingest::SourceType, crate::ingest_api::UploadForm)),
    tags((name = "knowledge", description = "Knowledge-exploration jobs: crawl a site, or ingest a file, into stored pages, links and passages, and search them"),
         (name = "mcp", description = "MCP tools over plain HTTP; the streamable-HTTP MCP endpoint is /mcp"),
         (name = "events", description = "Real-time events"),
         (name = "rooms", description = "Rooms and their connections"),
         (name = "service", description = "Health and metrics"))
)]
pub struct ApiDoc;

/// `GET /openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
