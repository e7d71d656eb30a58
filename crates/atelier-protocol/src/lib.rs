//! The types of Atelier's public API (docs/protocol.md): JSON-RPC 2.0 envelopes, error kinds,
//! method params and results, and event notifications.
//!
//! These names and shapes are a contract with clients outside the project: fields and types may
//! be added, never renamed or removed. Domain crates convert their own types to these at the
//! API boundary.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

mod error;
mod types;
mod workspace;

pub use error::{ErrorData, ErrorKind, RpcError, codes};
pub use types::*;
pub use workspace::*;

/// The protocol's version, reported by `system.health`.
pub const API_VERSION: &str = "1";

/// A JSON-RPC 2.0 response as it goes on the wire.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct Response {
    pub jsonrpc: String,
    pub id: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<RpcError>,
}

impl Response {
    pub fn ok(id: Value, result: Value) -> Self {
        Self { jsonrpc: "2.0".into(), id, result: Some(result), error: None }
    }

    pub fn err(id: Value, error: RpcError) -> Self {
        Self { jsonrpc: "2.0".into(), id, result: None, error: Some(error) }
    }
}

/// The params of an `event` notification: one published event.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct Event {
    pub seq: u64,
    pub topic: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub time: String,
    pub data: Value,
}

/// An event notification as it goes on the wire.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(optional_fields = nullable)]
pub struct EventNotification<'a> {
    pub jsonrpc: &'static str,
    pub method: &'static str,
    pub params: &'a Event,
}

impl<'a> EventNotification<'a> {
    pub fn new(event: &'a Event) -> Self {
        Self { jsonrpc: "2.0", method: "event", params: event }
    }
}
