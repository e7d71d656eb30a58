//! Chat messages: appended, streamed into (updated in place), paged through newest-first.

use std::fmt;

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, Row, ToSql};
use serde::{Deserialize, Serialize};

use crate::error::{Violation, expect_one, violation};
use crate::{Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageRole {
    System,
    User,
    Assistant,
    /// A tool's result, answering one call of the assistant message before it.
    Tool,
}

impl MessageRole {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageRole::System => "system",
            MessageRole::User => "user",
            MessageRole::Assistant => "assistant",
            MessageRole::Tool => "tool",
        }
    }

    /// The role stored as `s`, if it is one.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "system" => Some(MessageRole::System),
            "user" => Some(MessageRole::User),
            "assistant" => Some(MessageRole::Assistant),
            "tool" => Some(MessageRole::Tool),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    Complete,
    /// A reply still being generated; see [`Store::interrupt_streaming`].
    Streaming,
    /// A reply cut off by a cancel or a restart; its content is what arrived.
    Interrupted,
    Failed,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Complete => "complete",
            MessageStatus::Streaming => "streaming",
            MessageStatus::Interrupted => "interrupted",
            MessageStatus::Failed => "failed",
        }
    }

    /// The status stored as `s`, if it is one.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "complete" => Some(MessageStatus::Complete),
            "streaming" => Some(MessageStatus::Streaming),
            "interrupted" => Some(MessageStatus::Interrupted),
            "failed" => Some(MessageStatus::Failed),
            _ => None,
        }
    }
}

impl fmt::Display for MessageRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for MessageStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ToSql for MessageRole {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl FromSql for MessageRole {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        Self::parse(text).ok_or_else(|| FromSqlError::Other(format!("unknown role {text:?}").into()))
    }
}

impl ToSql for MessageStatus {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl FromSql for MessageStatus {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        Self::parse(text).ok_or_else(|| FromSqlError::Other(format!("unknown status {text:?}").into()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRow {
    pub id: String,
    pub session_id: String,
    pub role: MessageRole,
    pub content: String,
    /// The model's thinking, kept apart from the answer; empty when there was none.
    pub reasoning: String,
    pub status: MessageStatus,
    pub error: Option<String>,
    pub model: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// The parts of agents that use tools; all `None` for plain chat messages.
    pub tool: ToolParts,
}

/// What a message of a chat with tools carries besides its text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolParts {
    /// An assistant message's calls, as a JSON array of `{id, name, arguments}`.
    pub calls: Option<String>,
    /// A `tool` message: the call it answers, the tool, and `ok`/`error`/`denied`.
    pub call_id: Option<String>,
    pub name: Option<String>,
    pub status: Option<String>,
    /// `summary` for a summary of older messages; `None` for ordinary ones.
    pub kind: Option<String>,
    /// A summary: the id of the newest message it stands for.
    pub covers_until: Option<String>,
}

/// The columns `message_from_row` expects, in order, bare or qualified with the alias `m`. A
/// macro so the SQL can be assembled with `concat!` and stay a `&'static str`.
macro_rules! message_columns {
    () => {
        "id, session_id, role, content, reasoning, status, error, model, created_at, updated_at, \
         tool_calls, tool_call_id, tool_name, tool_status, kind, covers_until"
    };
    (m) => {
        "m.id, m.session_id, m.role, m.content, m.reasoning, m.status, m.error, m.model, \
         m.created_at, m.updated_at, m.tool_calls, m.tool_call_id, m.tool_name, m.tool_status, \
         m.kind, m.covers_until"
    };
}
pub(crate) use message_columns;

pub(crate) fn message_from_row(row: &Row<'_>) -> rusqlite::Result<MessageRow> {
    Ok(MessageRow {
        id: row.get(0)?,
        session_id: row.get(1)?,
        role: row.get(2)?,
        content: row.get(3)?,
        reasoning: row.get(4)?,
        status: row.get(5)?,
        error: row.get(6)?,
        model: row.get(7)?,
        created_at: row.get(8)?,
        updated_at: row.get(9)?,
        tool: ToolParts {
            calls: row.get(10)?,
            call_id: row.get(11)?,
            name: row.get(12)?,
            status: row.get(13)?,
            kind: row.get(14)?,
            covers_until: row.get(15)?,
        },
    })
}

/// Inserts one message inside the caller's transaction, turning constraint failures into the
/// errors a caller can act on.
pub(crate) fn insert_message_in(conn: &Connection, m: &MessageRow) -> Result<(), StoreError> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO messages (id, session_id, role, content, reasoning, status, error, model,
                                   created_at, updated_at, tool_calls, tool_call_id, tool_name,
                                   tool_status, kind, covers_until)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        )?
        .execute((
            &m.id,
            &m.session_id,
            m.role,
            &m.content,
            &m.reasoning,
            m.status,
            &m.error,
            &m.model,
            &m.created_at,
            &m.updated_at,
            &m.tool.calls,
            &m.tool.call_id,
            &m.tool.name,
            &m.tool.status,
            &m.tool.kind,
            &m.tool.covers_until,
        ));
    match inserted {
        Ok(_) => Ok(()),
        Err(err) => Err(match violation(&err) {
            Some(Violation::Unique) => StoreError::Conflict(format!("message {} already exists", m.id)),
            Some(Violation::ForeignKey) => StoreError::NotFound { what: "session", id: m.session_id.clone() },
            None => err.into(),
        }),
    }
}

impl Store {
    /// Appends a message to its session. `NotFound` if the session doesn't exist.
    pub async fn insert_message(&self, m: MessageRow) -> Result<(), StoreError> {
        self.write(move |tx| insert_message_in(tx, &m)).await
    }

    /// Seeds many messages in one transaction (benchmarks, imports). Blocks the calling thread.
    pub fn insert_messages_bulk_blocking(&self, rows: Vec<MessageRow>) -> Result<(), StoreError> {
        self.run_blocking(move |conn| {
            let inserted = crate::writer::in_transaction(conn, |tx| {
                rows.iter().try_for_each(|m| insert_message_in(tx, m))
            });
            // A big transaction leaves a big WAL. Copying it back now, while the caller expects
            // to wait anyway, spares the next ordinary write from resetting and truncating it
            // (about 100 ms after a few hundred thousand rows).
            if let Err(err) = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
                tracing::warn!(error = %err, "WAL checkpoint after a bulk insert failed");
            }
            inserted
        })
    }

    /// Replaces a message's text, reasoning and error, and its status unless `status` is `None`
    /// (so streaming chunks leave it alone). `error: None` clears a previous error. The search
    /// index is only touched when the text actually changed.
    pub async fn update_message(
        &self,
        id: &str,
        content: String,
        reasoning: String,
        status: Option<MessageStatus>,
        error: Option<String>,
    ) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(move |tx| update_message_tx(tx, &id, &content, &reasoning, status, error)).await
    }

    pub async fn get_message(&self, id: &str) -> Result<MessageRow, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| {
            conn.prepare_cached(concat!("SELECT ", message_columns!(), " FROM messages WHERE id = ?1"))?
                .query_row([&id], message_from_row)
                .optional()?
                .ok_or(StoreError::NotFound { what: "message", id })
        })
        .await
    }

    /// One page of a session's history: the `limit` newest messages older than `before` (or the
    /// newest overall when `before` is `None`), returned oldest first, ready to display. To load
    /// older ones, pass the first message of this page as the next `before`. `NotFound` if
    /// `before` is not a message of this session.
    pub async fn list_messages(
        &self,
        session_id: &str,
        before: Option<String>,
        limit: usize,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let session_id = session_id.to_owned();
        self.read(move |conn| list_messages_in(conn, &session_id, before, limit)).await
    }

    /// Marks every reply still `streaming` as `interrupted`. Run at start-up: a reply that was
    /// streaming when the app stopped will never finish. Returns their ids.
    pub async fn interrupt_streaming(&self) -> Result<Vec<String>, StoreError> {
        let now = crate::now();
        self.write(move |tx| {
            let ids = tx
                .prepare_cached("SELECT id FROM messages WHERE status = 'streaming' ORDER BY seq")?
                .query_map([], |row| row.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            tx.prepare_cached(
                "UPDATE messages SET status = 'interrupted', updated_at = ?1 WHERE status = 'streaming'",
            )?
            .execute([&now])?;
            Ok(ids)
        })
        .await
    }
}

/// [`Store::update_message`] inside a caller's transaction (for `write` and `write_detached`
/// jobs that do more than one thing).
pub fn update_message_tx(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
    content: &str,
    reasoning: &str,
    status: Option<MessageStatus>,
    error: Option<String>,
) -> Result<(), StoreError> {
    let changed = tx
        .prepare_cached(
            "UPDATE messages
             SET content = ?2, reasoning = ?3, status = coalesce(?4, status), error = ?5,
                 updated_at = ?6
             WHERE id = ?1",
        )?
        .execute((id, content, reasoning, status, &error, crate::now()))?;
    expect_one(changed, "message", id)
}

/// Records the tool calls an assistant message made (a JSON array of `{id, name, arguments}`).
pub fn set_message_tool_calls_tx(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
    calls_json: &str,
) -> Result<(), StoreError> {
    let changed =
        tx.prepare_cached("UPDATE messages SET tool_calls = ?2 WHERE id = ?1")?.execute((id, calls_json))?;
    expect_one(changed, "message", id)
}

/// Records which model wrote a message.
pub fn set_message_model_tx(tx: &rusqlite::Transaction<'_>, id: &str, model: &str) -> Result<(), StoreError> {
    let changed = tx.prepare_cached("UPDATE messages SET model = ?2 WHERE id = ?1")?.execute((id, model))?;
    expect_one(changed, "message", id)
}

/// The page query. Both steps are index lookups: the `before` id through its UNIQUE index, the
/// page by walking `messages_by_session` backwards from (session, seq), so the cost does not grow
/// with the session's length.
pub(crate) const LIST_PAGE_SQL: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages WHERE session_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3"
);

fn list_messages_in(
    conn: &Connection,
    session_id: &str,
    before: Option<String>,
    limit: usize,
) -> Result<Vec<MessageRow>, StoreError> {
    let upper = match before {
        None => i64::MAX,
        Some(before) => conn
            .prepare_cached("SELECT seq FROM messages WHERE id = ?1 AND session_id = ?2")?
            .query_row((&before, session_id), |row| row.get(0))
            .optional()?
            .ok_or(StoreError::NotFound { what: "message", id: before })?,
    };
    let mut stmt = conn.prepare_cached(LIST_PAGE_SQL)?;
    let rows = stmt.query_map((session_id, upper, limit), message_from_row)?;
    let mut page = rows.collect::<Result<Vec<_>, _>>()?;
    page.reverse();
    Ok(page)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is the test failing
mod tests {
    use super::LIST_PAGE_SQL;
    use crate::store::query_plan;

    #[test]
    fn a_history_page_is_read_from_the_session_index_without_sorting() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(&dir.path().join("plan.db")).unwrap();
        let plan = query_plan(&store, LIST_PAGE_SQL);
        assert_eq!(
            plan,
            ["SEARCH messages USING INDEX messages_by_session (session_id=? AND seq<?)"],
            "a page must cost the same in a long session as in a short one"
        );
    }
}
