//! The tools: each declared once in [`catalogue`] (name, description, input and output schemas,
//! handler). The MCP tool list, `GET /mcp/tools`, the dispatch of MCP and `POST /mcp/tools/call`,
//! and the tests all read that one table.

pub mod args;
mod catalogue;

pub use args::*;
pub use catalogue::TOOLS;

use crate::error::ToolError;
use browser::session::SessionService;
use browser::Engine;
use platform::TenantId;
use rmcp::handler::server::common::{schema_for_input, schema_for_output};
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
pub use rmcp::transport::streamable_http_server::session::store::SessionStore as McpSessionStore;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// What the tools work on: the sessions (wherever they run), this process's engine if it has
/// one, and the job service (explorations).
pub struct Services {
    /// Browser sessions: this process's own, or routed to the engine workers holding them.
    pub sessions: Arc<dyn SessionService>,
    /// This process's engine (`None` on a control plane, whose sessions run on workers).
    pub engine: Option<Arc<Engine>>,
    /// Knowledge-exploration jobs.
    pub jobs: Arc<crawler::Jobs>,
    /// The backends.
    pub platform: Arc<platform::Platform>,
    /// Where MCP sessions of streamable HTTP are kept beyond this process (a control plane keeps
    /// them in Redis, so that any control plane serves any request); `None` keeps them here.
    pub mcp_sessions: Option<Arc<dyn McpSessionStore>>,
}

/// A tool's output: structured content, plus an image for MCP clients when there is one.
pub struct ToolOutput {
    /// The structured result (matches the tool's output schema).
    pub structured: Value,
    /// `(mime_type, base64)` of an image to show.
    pub image: Option<(String, String)>,
}

/// What a tool's handler returns.
pub type ToolFuture<'a> = Pin<Box<dyn Future<Output = Result<ToolOutput, ToolError>> + Send + 'a>>;

/// A tool's handler: the services, the caller's tenant and the arguments as a JSON object.
pub type Handler = for<'a> fn(&'a Services, &'a TenantId, Map<String, Value>) -> ToolFuture<'a>;

/// One tool, everything about it in one place.
pub struct ToolDef {
    /// The tool's name.
    pub name: &'static str,
    /// What it does, for the agent.
    pub description: &'static str,
    /// Whether it only reads.
    pub read_only: bool,
    /// Its input and output JSON schemas.
    pub schemas: fn() -> (Arc<JsonObject>, Arc<JsonObject>),
    /// Runs it.
    pub run: Handler,
}

/// The input and output schemas of a tool taking `I` and answering `O`.
pub fn schemas<I: JsonSchema + 'static, O: JsonSchema + 'static>(
) -> (Arc<JsonObject>, Arc<JsonObject>) {
    let input = schema_for_input::<I>()
        .unwrap_or_else(|e| panic!("input schema of {}: {e}", std::any::type_name::<I>()));
    (input, schema_for_output::<O>())
}

impl ToolDef {
    /// The tool as MCP lists it.
    pub fn to_tool(&self) -> Tool {
        let (input, output) = (self.schemas)();
        Tool::new(self.name, self.description, input)
            .with_raw_output_schema(output)
            .with_annotations(
                ToolAnnotations::new()
                    .read_only(self.read_only)
                    .open_world(true),
            )
    }
}

/// Every tool, as MCP lists them.
pub fn list() -> Vec<Tool> {
    TOOLS.iter().map(ToolDef::to_tool).collect()
}

/// The tool of that name.
pub fn find(name: &str) -> Option<&'static ToolDef> {
    TOOLS.iter().find(|t| t.name == name)
}

/// Call a tool by name for a tenant. Every transport goes through here.
pub async fn call(
    services: &Services,
    tenant: &TenantId,
    name: &str,
    args: Value,
) -> Result<ToolOutput, ToolError> {
    let (tool, map) = resolve(name, args)?;
    (tool.run)(services, tenant, map).await
}

/// The tool of that name and its arguments as a JSON object (`null` is no arguments).
pub fn resolve(
    name: &str,
    args: Value,
) -> Result<(&'static ToolDef, Map<String, Value>), ToolError> {
    let tool = find(name).ok_or_else(|| ToolError::UnknownTool(name.to_string()))?;
    match args {
        Value::Null => Ok((tool, Map::new())),
        Value::Object(map) => Ok((tool, map)),
        _ => Err(ToolError::InvalidArguments(
            "arguments must be a JSON object".into(),
        )),
    }
}

/// Arguments parsed as `T`.
pub(crate) fn parse<T: DeserializeOwned>(args: Map<String, Value>) -> Result<T, ToolError> {
    serde_json::from_value(Value::Object(args))
        .map_err(|e| ToolError::InvalidArguments(e.to_string()))
}

/// A result as a tool's structured output.
pub(crate) fn out<T: Serialize>(v: T) -> Result<ToolOutput, ToolError> {
    Ok(ToolOutput {
        structured: serde_json::to_value(v)
            .map_err(|e| ToolError::InvalidArguments(e.to_string()))?,
        image: None,
    })
}

/// Take a required string field (`room_name`, `job_id`) out of a tool's arguments; the rest is
/// parsed by the engine's own types.
pub(crate) fn split_field(
    mut map: Map<String, Value>,
    field: &str,
) -> Result<(String, Map<String, Value>), ToolError> {
    match map.remove(field) {
        Some(Value::String(s)) => Ok((s, map)),
        _ => Err(ToolError::InvalidArguments(format!(
            "`{field}` (a string) is required"
        ))),
    }
}

#[cfg(test)]
mod tests;
