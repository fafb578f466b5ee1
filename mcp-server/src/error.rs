//! Errors of tool calls.

use platform::Code;
use platform::EngineError;
use serde_json::{json, Value};
use thiserror::Error;

/// Why a tool call failed.
#[derive(Debug, Error)]
pub enum ToolError {
    /// No tool has that name.
    #[error("unknown tool `{0}`")]
    UnknownTool(String),
    /// The arguments do not match the tool's input schema.
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
    /// The engine refused or failed the operation.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl ToolError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> Code {
        match self {
            Self::UnknownTool(_) => Code::UnknownTool,
            Self::InvalidArguments(_) => Code::InvalidArguments,
            Self::Engine(e) => e.code(),
        }
    }

    /// A short title for the `error` field.
    pub fn title(&self) -> &'static str {
        self.code().title()
    }

    /// `{error, detail, code}`, the shape every transport answers errors with.
    pub fn body(&self) -> Value {
        json!({"error": self.title(), "detail": self.to_string(), "code": self.code()})
    }
}
