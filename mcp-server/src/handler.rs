//! rmcp adapters: the server handler, the stdio transport and the streamable-HTTP service.

use crate::tools::{self, Services};
use platform::TenantId;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData as McpError, ServerHandler, ServiceExt};
use serde_json::Value;
use std::sync::Arc;
use tracing::Instrument;

/// The MCP server name clients see.
pub const SERVER_NAME: &str = "browser-automation-service";

/// The MCP server: tools over one engine and its job service.
#[derive(Clone)]
pub struct McpHandler {
    services: Arc<Services>,
    /// The tenant for calls that carry none (stdio, or HTTP with no API keys configured).
    fallback_tenant: Option<TenantId>,
}

impl McpHandler {
    /// A handler for a transport. `fallback_tenant` is used when a request carries no tenant;
    /// `None` refuses such requests (HTTP with API keys configured).
    pub fn new(services: Arc<Services>, fallback_tenant: Option<TenantId>) -> Self {
        Self {
            services,
            fallback_tenant,
        }
    }

    fn tenant(&self, ctx: &RequestContext<RoleServer>) -> Option<TenantId> {
        ctx.extensions
            .get::<http::request::Parts>()
            .and_then(|p| p.extensions.get::<TenantId>().cloned())
            .or_else(|| self.fallback_tenant.clone())
    }
}

/// Turn a tool outcome into an MCP result: structured content on success; on failure an
/// `isError` result whose one text block is `{error, detail, code}` as JSON, with no structured
/// content (which would have to match the tool's output schema: clients such as the official
/// TypeScript SDK validate it even on errors, and would hide the message behind a schema error).
pub fn to_result(outcome: Result<tools::ToolOutput, crate::ToolError>) -> CallToolResult {
    match outcome {
        Ok(o) => {
            let mut r = CallToolResult::structured(o.structured);
            if let Some((mime, data)) = o.image {
                // Keep the text block small: the image travels as an image block.
                if let Some(Value::Object(mut m)) = r.structured_content.clone() {
                    m.remove("screenshot");
                    r.content = vec![ContentBlock::text(Value::Object(m).to_string())];
                }
                r.content.push(ContentBlock::image(data, mime));
            }
            r
        }
        Err(e) => error_result(e.body()),
    }
}

/// An error result: `{error, detail, code}` as the text of its one content block.
pub fn error_result(body: Value) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(body.to_string())])
}

impl ServerHandler for McpHandler {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(SERVER_NAME, env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Drive real headless Chromium sessions. Start a session with start_browser_session \
                 (room_name), read it with get_screen_content (refs for elements), act with \
                 execute_action, and close it with close_browser_session when done. Crawl a site \
                 into knowledge with start_knowledge_exploration, watch it with \
                 get_exploration_status, and read it with get_knowledge_results or query_knowledge.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(tools::list()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let Some(tenant) = self.tenant(&context) else {
            return Ok(error_result(serde_json::json!({
                "error": "unauthorized", "detail": "no API key", "code": "unauthorized"
            }))
            .into());
        };
        let name = request.name.to_string();
        if tools::find(&name).is_none() {
            // A protocol error, as the MCP specification lists it, not a tool's error result.
            return Err(McpError::invalid_params(
                format!("unknown tool `{name}`; tools/list names the tools"),
                None,
            ));
        }
        let args = request.arguments.map(Value::Object).unwrap_or(Value::Null);
        let span = tracing::info_span!("mcp_tool", tool = %name, tenant = %tenant);
        let outcome = tools::call(&self.services, &tenant, &name, args)
            .instrument(span)
            .await;
        if let Err(e) = &outcome {
            tracing::info!(tool = %name, code = %e.code(), "tool call failed: {e}");
        }
        Ok(to_result(outcome).into())
    }
}

/// Serve MCP over stdin/stdout until the client disconnects.
pub async fn serve_stdio(services: Arc<Services>) -> Result<(), std::io::Error> {
    let handler = McpHandler::new(services, Some(TenantId::local()));
    let running = handler
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    running.waiting().await.map_err(std::io::Error::other)?;
    Ok(())
}

/// The streamable-HTTP MCP service, to mount at `/mcp` behind the control API, which checks
/// `Host` (and `Origin`) on every route before it: rmcp's own host check is off so that there is
/// one check, with one answer.
pub fn streamable_http_service(
    services: Arc<Services>,
    fallback_tenant: Option<TenantId>,
    cancel: tokio_util::sync::CancellationToken,
) -> StreamableHttpService<McpHandler, LocalSessionManager> {
    let store = services.mcp_sessions.clone();
    let handler = McpHandler::new(services, fallback_tenant);
    let mut config = StreamableHttpServerConfig::default()
        .with_cancellation_token(cancel)
        .disable_allowed_hosts();
    config.session_store = store;
    StreamableHttpService::new(
        move || Ok(handler.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    )
}
