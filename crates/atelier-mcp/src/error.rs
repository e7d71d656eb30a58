//! The crate's one error type: what a caller of [`crate::Mcp`] can be told.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum McpError {
    /// A server's configuration (or an imported `mcpServers` document) that cannot be used.
    #[error("{0}")]
    InvalidConfig(String),
    #[error("no MCP server is named `{0}`")]
    NoServer(String),
    #[error("the MCP server `{server}` has no tool `{tool}`")]
    NoTool { server: String, tool: String },
    /// The server is starting, failed, or stopped: `detail` says which and why.
    #[error("the MCP server `{server}` is not ready: {detail}")]
    NotReady { server: String, detail: String },
    #[error("the MCP server `{server}` did not answer `{tool}` within {} s", timeout.as_secs())]
    Timeout { server: String, tool: String, timeout: Duration },
    #[error("the call was cancelled")]
    Cancelled,
    /// The server answered with a JSON-RPC error, or the connection broke during the call.
    #[error("the MCP server `{server}` failed `{tool}`: {message}")]
    Call { server: String, tool: String, message: String },
}

pub type McpResult<T> = Result<T, McpError>;
