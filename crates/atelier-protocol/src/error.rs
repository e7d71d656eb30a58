//! The one error payload at the API boundary: a JSON-RPC error object whose `data` carries a
//! machine-readable `kind` and whether retrying can help. Clients match on `kind`, never on
//! `message`, which is written for a person.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// JSON-RPC error codes: the standard ones and Atelier's application codes (-32000 to -32099).
pub mod codes {
    pub const PARSE_ERROR: i32 = -32700;
    pub const INVALID_REQUEST: i32 = -32600;
    pub const METHOD_NOT_FOUND: i32 = -32601;
    pub const INVALID_PARAMS: i32 = -32602;
    pub const INTERNAL_ERROR: i32 = -32603;
    pub const NOT_FOUND: i32 = -32001;
    pub const CONFLICT: i32 = -32002;
    pub const UNAUTHORIZED: i32 = -32003;
    pub const RATE_LIMITED: i32 = -32004;
    pub const UNAVAILABLE: i32 = -32005;
    pub const CANCELLED: i32 = -32006;
    pub const INVALID_INPUT: i32 = -32007;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    InvalidInput,
    NotFound,
    Conflict,
    Unauthorized,
    RateLimited,
    Unavailable,
    Cancelled,
    Internal,
}

impl ErrorKind {
    /// The application error code used when no more specific standard code applies.
    pub fn code(self) -> i32 {
        match self {
            ErrorKind::InvalidInput => codes::INVALID_INPUT,
            ErrorKind::NotFound => codes::NOT_FOUND,
            ErrorKind::Conflict => codes::CONFLICT,
            ErrorKind::Unauthorized => codes::UNAUTHORIZED,
            ErrorKind::RateLimited => codes::RATE_LIMITED,
            ErrorKind::Unavailable => codes::UNAVAILABLE,
            ErrorKind::Cancelled => codes::CANCELLED,
            ErrorKind::Internal => codes::INTERNAL_ERROR,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct ErrorData {
    pub kind: ErrorKind,
    pub retryable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct RpcError {
    pub code: i32,
    pub message: String,
    pub data: ErrorData,
}

impl RpcError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let retryable = matches!(kind, ErrorKind::RateLimited | ErrorKind::Unavailable);
        Self { code: kind.code(), message: message.into(), data: ErrorData { kind, retryable } }
    }

    pub fn with_code(mut self, code: i32) -> Self {
        self.code = code;
        self
    }

    pub fn retryable(mut self, retryable: bool) -> Self {
        self.data.retryable = retryable;
        self
    }

    pub fn parse_error(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message).with_code(codes::PARSE_ERROR)
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message).with_code(codes::INVALID_REQUEST)
    }

    pub fn method_not_found(method: &str) -> Self {
        Self::new(ErrorKind::NotFound, format!("unknown method `{method}`; see docs/protocol.md"))
            .with_code(codes::METHOD_NOT_FOUND)
    }

    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message).with_code(codes::INVALID_PARAMS)
    }

    pub fn kind(&self) -> ErrorKind {
        self.data.kind
    }
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({:?})", self.message, self.data.kind)
    }
}

impl std::error::Error for RpcError {}
