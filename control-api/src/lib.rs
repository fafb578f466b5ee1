//! The control API: a small axum router over the engine. REST endpoints, the MCP tool endpoints
//! (`GET /mcp/tools`, `POST /mcp/tools/call`, streamable HTTP at `/mcp`), WebSocket events,
//! health, metrics, and the OpenAPI document with its docs pages.

pub mod auth;
mod docs;
pub mod error;
mod events_ws;
pub mod extract;
pub mod ingest_api;
mod jobs_api;
pub mod limits;
mod openapi;
pub mod origin;
mod recordings_api;
pub mod rooms;
mod tools_api;
pub mod video_api;

use axum::routing::get;
use axum::Router;
use browser::Engine;
use mcp_server::Services;
use platform::{Platform, TenantId};
use rooms::Rooms;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// State shared by every handler.
#[derive(Clone)]
pub struct AppState {
    /// The backends.
    pub platform: Arc<Platform>,
    /// This process's engine (`None` on a control plane).
    pub engine: Option<Arc<Engine>>,
    /// The engine and the job service, as the tools take them.
    pub services: Arc<Services>,
    /// Connection counts per room.
    pub rooms: Arc<Rooms>,
    /// Live video: WHEP viewers and LiveKit publishing per room (`None` on a control plane).
    pub live: Option<Arc<streaming::LiveVideo>>,
    /// Request rates and upload quotas per tenant.
    pub limits: Arc<limits::Limits>,
}

/// Build the whole router. `cancel` ends long-lived MCP streams at shutdown.
pub fn router(
    services: Arc<Services>,
    live: Option<Arc<streaming::LiveVideo>>,
    cancel: CancellationToken,
) -> Router {
    let platform = services.platform.clone();
    let state = AppState {
        platform: platform.clone(),
        engine: services.engine.clone(),
        services: services.clone(),
        rooms: Arc::new(Rooms::default()),
        live,
        limits: Arc::new(limits::Limits::from_config(&platform.config)),
    };
    let fallback_tenant = platform.config.api_keys.is_empty().then(TenantId::local);
    let mcp = mcp_server::streamable_http_service(services, fallback_tenant, cancel);
    let (api, doc) = api_routes().split_for_parts();
    let doc = Arc::new(openapi::complete(doc));
    api.route(
        "/openapi.json",
        get(move || {
            let doc = doc.clone();
            async move { axum::Json(doc) }
        }),
    )
    .route("/docs", get(docs::swagger_page))
    .route("/redoc", get(docs::redoc_page))
    .nest_service("/mcp", mcp)
    .fallback(error::not_found)
    .layer(axum::middleware::from_fn_with_state(
        state.clone(),
        limits::rate,
    ))
    .layer(axum::middleware::from_fn_with_state(
        state.clone(),
        auth::authenticate,
    ))
    .layer(axum::middleware::from_fn_with_state(
        state.clone(),
        origin::guard,
    ))
    .layer(axum::middleware::map_response(error::uniform))
    .layer(tower_http::trace::TraceLayer::new_for_http())
    .with_state(state)
}

/// Every documented route, each declared once: its path and method come from the handler's
/// `#[utoipa::path]` attribute, which also puts it in the OpenAPI document.
fn api_routes() -> OpenApiRouter<AppState> {
    use axum::extract::DefaultBodyLimit;
    let (s, p, whep) = routes!(video_api::whep_offer);
    let whep = (
        s,
        p,
        whep.layer(DefaultBodyLimit::max(streaming::whep::MAX_OFFER_BYTES)),
    );
    let (s, p, upload) = routes!(ingest_api::upload);
    let upload = (
        s,
        p,
        upload.layer(DefaultBodyLimit::max(ingest_api::MAX_UPLOAD_BODY)),
    );
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(tools_api::health))
        .routes(routes!(tools_api::metrics))
        .routes(routes!(tools_api::list_tools))
        .routes(routes!(tools_api::call_tool))
        .routes(routes!(events_ws::events))
        .routes(routes!(tools_api::room_connections))
        .routes(routes!(video_api::viewer_page))
        .routes(whep)
        .routes(routes!(video_api::whep_delete))
        .routes(routes!(recordings_api::start))
        .routes(routes!(recordings_api::stop))
        .routes(routes!(recordings_api::list))
        .routes(routes!(recordings_api::fetch))
        .routes(routes!(jobs_api::start))
        .routes(routes!(jobs_api::resync))
        .routes(routes!(jobs_api::status))
        .routes(routes!(jobs_api::pause))
        .routes(routes!(jobs_api::resume))
        .routes(routes!(jobs_api::cancel))
        .routes(routes!(jobs_api::results))
        .routes(routes!(jobs_api::list))
        .routes(routes!(ingest_api::start))
        .routes(upload)
        .routes(routes!(jobs_api::knowledge_query))
        .routes(routes!(jobs_api::knowledge_search))
}

/// The HTTP surface of an engine worker (`worker`), for probes and Prometheus: `GET /health`
/// (200 when Chromium and the backends work, 503 otherwise) and `GET /metrics`. Agents and the
/// platform reach the worker's sessions through a control plane, never here.
pub fn worker_router(engine: Arc<Engine>) -> Router {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let metrics_engine = engine.clone();
    Router::new()
        .route(
            "/health",
            get(move || {
                let engine = engine.clone();
                async move {
                    let h = engine.health().await;
                    let status = if h.status == "ok" {
                        StatusCode::OK
                    } else {
                        StatusCode::SERVICE_UNAVAILABLE
                    };
                    (status, axum::Json(h)).into_response()
                }
            }),
        )
        .route(
            "/metrics",
            get(move || {
                let engine = metrics_engine.clone();
                async move {
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            platform::telemetry::CONTENT_TYPE,
                        )],
                        engine.render_metrics(),
                    )
                        .into_response()
                }
            }),
        )
}

/// Serve the API until `shutdown` resolves, then stop accepting connections.
pub async fn serve(
    services: Arc<Services>,
    live: Option<Arc<streaming::LiveVideo>>,
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
