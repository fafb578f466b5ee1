//! The control API: a small axum router over the engine. REST endpoints, the MCP tool endpoints
//! (`GET /mcp/tools`, `POST /mcp/tools/call`, streamable HTTP at `/mcp`), WebSocket events,
//! health, metrics, and the OpenAPI document with its docs pages.

#![warn(missing_docs)]

pub mod auth;
mod docs;
pub mod error;
mod events_ws;
pub mod ingest_api;
mod jobs_api;
mod openapi;
pub mod rooms;
mod tools_api;
pub mod video_api;

use axum::routing::{get, post};
use axum::Router;
use browser::Engine;
use mcp_server::Services;
use platform::TenantId;
use rooms::Rooms;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// State shared by every handler.
#[derive(Clone)]
pub struct AppState {
    /// The engine.
    pub engine: Arc<Engine>,
    /// The engine and the job service, as the tools take them.
    pub services: Arc<Services>,
    /// Connection counts per room.
    pub rooms: Arc<Rooms>,
    /// Live video: WHEP viewers and LiveKit publishing per room.
    pub live: Arc<streaming::LiveVideo>,
}

/// Build the whole router. `cancel` ends long-lived MCP streams at shutdown.
pub fn router(
    services: Arc<Services>,
    live: Arc<streaming::LiveVideo>,
    cancel: CancellationToken,
) -> Router {
    let engine = services.engine.clone();
    let state = AppState {
        engine: engine.clone(),
        services: services.clone(),
        rooms: Arc::new(Rooms::default()),
        live,
    };
    let fallback_tenant = engine
        .platform
        .config
        .api_keys
        .is_empty()
        .then(TenantId::local);
    let mcp = mcp_server::streamable_http_service(
        services,
        fallback_tenant,
        engine.platform.config.allowed_hosts.clone(),
        cancel,
    );
    Router::new()
        .route("/health", get(tools_api::health))
        .route("/metrics", get(tools_api::metrics))
        .route("/mcp/tools", get(tools_api::list_tools))
        .route("/mcp/tools/call", axum::routing::post(tools_api::call_tool))
        .route("/mcp/events/{room_name}", get(events_ws::events))
        .route(
            "/rooms/{room_name}/connections",
            get(tools_api::room_connections),
        )
        .route("/rooms/{room_name}/view", get(video_api::viewer_page))
        .route(
            "/rooms/{room_name}/whep",
            post(video_api::whep_offer).layer(axum::extract::DefaultBodyLimit::max(
                streaming::whep::MAX_OFFER_BYTES,
            )),
        )
        .route(
            "/rooms/{room_name}/whep/{viewer_id}",
            axum::routing::delete(video_api::whep_delete),
        )
        .route("/api/knowledge/explore/start", post(jobs_api::start))
        .route(
            "/api/knowledge/explore/status/{job_id}",
            get(jobs_api::status),
        )
        .route("/api/knowledge/explore/pause", post(jobs_api::pause))
        .route("/api/knowledge/explore/resume", post(jobs_api::resume))
        .route("/api/knowledge/explore/cancel", post(jobs_api::cancel))
        .route(
            "/api/knowledge/explore/results/{job_id}",
            get(jobs_api::results),
        )
        .route("/api/knowledge/explore/jobs", get(jobs_api::list))
        .route("/api/knowledge/ingest/start", post(ingest_api::start))
        .route(
            "/api/knowledge/ingest/upload",
            post(ingest_api::upload).layer(axum::extract::DefaultBodyLimit::max(
                ingest_api::MAX_UPLOAD_BODY,
            )),
        )
        .route("/api/knowledge/query", post(jobs_api::knowledge_query))
        .route("/api/knowledge/search", post(jobs_api::knowledge_search))
        .route("/openapi.json", get(openapi::document))
        .route("/docs", get(docs::swagger_page))
        .route("/redoc", get(docs::redoc_page))
        .nest_service("/mcp", mcp)
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(axum::middleware::from_fn(trace_request))
        .with_state(state)
}

/// One tracing span per request, and a counter.
async fn trace_request(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use tracing::Instrument;
    let span = tracing::info_span!("request", method = %req.method(), path = %req.uri().path());
    let started = std::time::Instant::now();
    let resp = next.run(req).instrument(span.clone()).await;
    tracing::debug!(parent: &span, status = resp.status().as_u16(), ms = started.elapsed().as_millis() as u64, "answered");
    resp
}

/// Serve the API until `shutdown` resolves, then stop accepting connections.
pub async fn serve(
    services: Arc<Services>,
    live: Arc<streaming::LiveVideo>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let cancel = CancellationToken::new();
    let app = router(services, live, cancel.clone());
    let c = cancel.clone();
    // Small writes (an SSE event after its headers) must not wait for the peer's delayed ACK.
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            c.cancel();
        })
        .await
}
