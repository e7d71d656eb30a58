//! Atelier's SQLite store: numbered migrations, one writer thread, a small pool of read connections.
//!
//! Every write goes through [`Store::write`] (or its blocking and detached variants) and runs on
//! the single writer thread, one transaction per job, in the order the jobs were enqueued. Reads
//! run on read-only connections, on a blocking thread when the caller is async. The domain
//! methods (projects, sessions, messages, events, usage, settings) are thin wrappers over those
//! two primitives, so callers that need something unusual can write their own SQL against the
//! same connections.

mod archive;
mod backup;
mod checkpoint;
mod error;
mod event;
mod maintenance;
mod mcp;
mod message;
mod migrations;
mod project;
mod readers;
mod search;
mod session;
mod setting;
mod store;
mod usage;
mod workflow;
mod writer;

pub use archive::{ProjectRecords, ProjectTimes};
pub use backup::{BACKUP_PAGES_PER_STEP, backup_database, check_backup};
pub use error::StoreError;
pub use event::EventRow;
pub use maintenance::Counts;
pub use mcp::McpServerRow;
pub use message::{
    MessageRole, MessageRow, MessageStatus, ToolParts, set_message_model_tx, set_message_tool_calls_tx,
    update_message_tx,
};
pub use migrations::{MIGRATION_FILES, migrations};
pub use project::ProjectRow;
pub use session::SessionRow;
pub use store::Store;
pub use usage::{UsageRow, UsageTotals};
pub use workflow::{AgentRow, WorkflowRow};

/// Re-exported so callers of [`Store::write`] and [`Store::read`] name the same rusqlite version.
pub use rusqlite;

/// The current time as stored everywhere: RFC 3339, UTC, millisecond precision
/// (`2025-01-02T03:04:05.678Z`). Fixed width, so text order is time order.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A new id: `prefix` + `_` + a UUID v7 in simple form (`msg_0190b2…`). UUID v7 starts with the
/// timestamp, so ids of one kind sort by creation.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}
