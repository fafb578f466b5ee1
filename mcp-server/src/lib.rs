//! The MCP tools of browser-automation-service, over stdio and streamable HTTP (rmcp).
//!
//! The tool catalogue and dispatch live in [`tools`]; [`handler`] adapts them to rmcp, and the
//! control API's `/mcp/tools` endpoints call the same [`tools::call`], so no operation is
//! implemented twice.

pub mod error;
pub mod handler;
pub mod tools;

pub use error::ToolError;
pub use handler::{serve_stdio, streamable_http_service, McpHandler, SERVER_NAME};
pub use tools::Services;
