//! The core's error type and its one mapping to the API's error payload.

use atelier_llm::LlmError;
use atelier_mcp::McpError;
use atelier_protocol::{ErrorKind, RpcError};
use atelier_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("{0}")]
    InvalidInput(String),
    #[error("{what} `{id}` not found")]
    NotFound { what: &'static str, id: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    RateLimited(String),
    #[error("cancelled")]
    Cancelled,
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Llm(#[from] LlmError),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error("git: {0}")]
    Git(#[from] atelier_git::GitError),
    #[error(transparent)]
    Mcp(#[from] atelier_mcp::McpError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl CoreError {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        CoreError::Io { context: context.into(), source }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            CoreError::InvalidInput(_) => ErrorKind::InvalidInput,
            CoreError::NotFound { .. } => ErrorKind::NotFound,
            CoreError::Conflict(_) => ErrorKind::Conflict,
            CoreError::Unavailable(_) => ErrorKind::Unavailable,
            CoreError::Unauthorized(_) => ErrorKind::Unauthorized,
            CoreError::RateLimited(_) => ErrorKind::RateLimited,
            CoreError::Cancelled => ErrorKind::Cancelled,
            CoreError::Store(StoreError::NotFound { .. }) => ErrorKind::NotFound,
            CoreError::Store(StoreError::Conflict(_)) => ErrorKind::Conflict,
            CoreError::Store(StoreError::Invalid(_)) => ErrorKind::InvalidInput,
            CoreError::Io { source, .. } => io_kind(source),
            CoreError::Store(_) | CoreError::Git(_) => ErrorKind::Internal,
            CoreError::Llm(e) => llm_kind(e),
            CoreError::Mcp(e) => mcp_kind(e),
            CoreError::Internal(_) => ErrorKind::Internal,
        }
    }

    pub fn retryable(&self) -> bool {
        match self {
            CoreError::Unavailable(_) | CoreError::RateLimited(_) => true,
            CoreError::Llm(e) => e.retryable(),
            CoreError::Mcp(e) => matches!(e, McpError::NotReady { .. } | McpError::Timeout { .. }),
            _ => false,
        }
    }

    /// A sentence for a person: what went wrong and, where we know, what to do.
    pub fn user_message(&self) -> String {
        match self {
            CoreError::Llm(LlmError::Unreachable { endpoint, .. }) => format!(
                "No model server is reachable at {endpoint}. Start Ollama (`ollama serve`) or set \
                 OLLAMA_HOST to where it runs; everything else keeps working."
            ),
            CoreError::Llm(LlmError::ModelNotFound { model }) => format!(
                "The model `{model}` is not available on the model server. With Ollama, pull it \
                 (`ollama pull {model}`, or Settings → Models); otherwise pick a model the \
                 server lists."
            ),
            // An id can be anything a client sent; a page of it helps nobody.
            CoreError::NotFound { what, id } if id.chars().count() > 120 => {
                format!("{what} `{}…` not found", id.chars().take(120).collect::<String>())
            }
            other => other.to_string(),
        }
    }
}

/// What a failed file operation means for the caller: a path that cannot be what was asked
/// (a file where a folder is needed) is their input; a full disk or a refused permission is not
/// a bug either.
fn io_kind(e: &std::io::Error) -> ErrorKind {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::NotFound => ErrorKind::NotFound,
        K::NotADirectory
        | K::IsADirectory
        | K::AlreadyExists
        | K::InvalidFilename
        | K::InvalidInput
        | K::DirectoryNotEmpty => ErrorKind::InvalidInput,
        K::PermissionDenied | K::ReadOnlyFilesystem => ErrorKind::Conflict,
        K::StorageFull | K::QuotaExceeded => ErrorKind::Unavailable,
        _ => ErrorKind::Internal,
    }
}

fn mcp_kind(e: &McpError) -> ErrorKind {
    match e {
        McpError::InvalidConfig(_) => ErrorKind::InvalidInput,
        McpError::NoServer(_) | McpError::NoTool { .. } => ErrorKind::NotFound,
        McpError::NotReady { .. } | McpError::Timeout { .. } | McpError::Call { .. } => {
            ErrorKind::Unavailable
        }
        McpError::Cancelled => ErrorKind::Cancelled,
    }
}

fn llm_kind(e: &LlmError) -> ErrorKind {
    match e {
        LlmError::Unreachable { .. }
        | LlmError::Timeout { .. }
        | LlmError::Http { .. }
        | LlmError::Stream { .. } => ErrorKind::Unavailable,
        LlmError::ModelNotFound { .. } => ErrorKind::NotFound,
        LlmError::Unauthorized { .. } => ErrorKind::Unauthorized,
        LlmError::RateLimited { .. } => ErrorKind::RateLimited,
        LlmError::Cancelled => ErrorKind::Cancelled,
        LlmError::InvalidRequest(_) => ErrorKind::InvalidInput,
    }
}

impl From<CoreError> for RpcError {
    fn from(e: CoreError) -> Self {
        if matches!(e.kind(), ErrorKind::Internal) {
            tracing::error!(error = %e, "internal error answering a request");
        }
        RpcError::new(e.kind(), e.user_message()).retryable(e.retryable())
    }
}

pub type CoreResult<T> = Result<T, CoreError>;
