//! Chat sessions: a conversation with one agent, optionally inside a project.

use rusqlite::{OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::error::{Violation, expect_one, violation};
use crate::message::{MessageRow, insert_message_in};
use crate::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRow {
    pub id: String,
    pub project_id: Option<String>,
    pub agent: String,
    pub title: String,
    pub model: Option<String>,
    pub created_at: String,
    /// Whether the session's agent may use tools.
    pub tools: bool,
}

fn session_from_row(row: &Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        id: row.get(0)?,
        project_id: row.get(1)?,
        agent: row.get(2)?,
        title: row.get(3)?,
        model: row.get(4)?,
        created_at: row.get(5)?,
        tools: row.get(6)?,
    })
}

impl Store {
    /// Adds a session and its first messages in one transaction, so a new chat never shows up
    /// without its opening message. `NotFound` if the project doesn't exist, `Conflict` if an id
    /// is taken.
    pub async fn insert_session(
        &self,
        s: SessionRow,
        first_messages: Vec<MessageRow>,
    ) -> Result<(), StoreError> {
        self.write(move |tx| {
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO sessions (id, project_id, agent, title, model, created_at, tools)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute((&s.id, &s.project_id, &s.agent, &s.title, &s.model, &s.created_at, s.tools));
            match inserted {
                Ok(_) => {}
                Err(err) => {
                    return Err(match violation(&err) {
                        Some(Violation::Unique) => {
                            StoreError::Conflict(format!("session {} already exists", s.id))
                        }
                        Some(Violation::ForeignKey) => {
                            StoreError::NotFound { what: "project", id: s.project_id.unwrap_or_default() }
                        }
                        None => err.into(),
                    });
                }
            }
            for m in &first_messages {
                insert_message_in(tx, m)?;
            }
            Ok(())
        })
        .await
    }

    /// Sessions, newest first: those of one project, or all of them when `project_id` is `None`.
    pub async fn list_sessions(&self, project_id: Option<String>) -> Result<Vec<SessionRow>, StoreError> {
        self.read(move |conn| {
            // Two statements rather than `?1 IS NULL OR project_id = ?1`, which would keep the
            // planner from using the project index.
            let (mut stmt, params) = match &project_id {
                Some(project) => (
                    conn.prepare_cached(
                        "SELECT id, project_id, agent, title, model, created_at, tools FROM sessions
                         WHERE project_id = ?1 ORDER BY created_at DESC, id DESC",
                    )?,
                    vec![project],
                ),
                None => (
                    conn.prepare_cached(
                        "SELECT id, project_id, agent, title, model, created_at, tools FROM sessions
                         ORDER BY created_at DESC, id DESC",
                    )?,
                    vec![],
                ),
            };
            let rows = stmt.query_map(rusqlite::params_from_iter(params), session_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    pub async fn get_session(&self, id: &str) -> Result<SessionRow, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| {
            conn.prepare_cached(
                "SELECT id, project_id, agent, title, model, created_at, tools FROM sessions
                 WHERE id = ?1",
            )?
            .query_row([&id], session_from_row)
            .optional()?
            .ok_or(StoreError::NotFound { what: "session", id })
        })
        .await
    }

    /// Remembers that a chat's agent changed `path`, with the checkpoint of the file before it;
    /// a file already listed keeps its first checkpoint (the state before the chat touched it).
    pub async fn add_session_change(
        &self,
        session_id: &str,
        path: &str,
        checkpoint_id: &str,
    ) -> Result<(), StoreError> {
        let (session_id, path, checkpoint_id) =
            (session_id.to_owned(), path.to_owned(), checkpoint_id.to_owned());
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO session_changes (session_id, path, checkpoint_id, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute((&session_id, &path, &checkpoint_id, crate::now()))?;
            Ok(())
        })
        .await
    }

    /// The files a chat's agent changed and the person has not decided on: `(path, checkpoint)`.
    pub async fn session_changes(&self, session_id: &str) -> Result<Vec<(String, String)>, StoreError> {
        let session_id = session_id.to_owned();
        self.read(move |conn| {
            let rows = conn
                .prepare_cached(
                    "SELECT path, checkpoint_id FROM session_changes WHERE session_id = ?1 ORDER BY path",
                )?
                .query_map([&session_id], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// Forgets the listed changes (kept or undone); all of the session's when `paths` is `None`.
    pub async fn remove_session_changes(
        &self,
        session_id: &str,
        paths: Option<Vec<String>>,
    ) -> Result<(), StoreError> {
        let session_id = session_id.to_owned();
        self.write(move |tx| {
            match &paths {
                None => {
                    tx.prepare_cached("DELETE FROM session_changes WHERE session_id = ?1")?
                        .execute([&session_id])?;
                }
                Some(paths) => {
                    let mut stmt =
                        tx.prepare_cached("DELETE FROM session_changes WHERE session_id = ?1 AND path = ?2")?;
                    for path in paths {
                        stmt.execute((&session_id, path))?;
                    }
                }
            }
            Ok(())
        })
        .await
    }

    /// Deletes a session and its messages.
    pub async fn delete_session(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(move |tx| {
            let changed = tx.prepare_cached("DELETE FROM sessions WHERE id = ?1")?.execute([&id])?;
            expect_one(changed, "session", &id)
        })
        .await
    }

    pub async fn set_session_title(&self, id: &str, title: String) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(move |tx| {
            let changed =
                tx.prepare_cached("UPDATE sessions SET title = ?2 WHERE id = ?1")?.execute((&id, &title))?;
            expect_one(changed, "session", &id)
        })
        .await
    }

    /// Changes a session's model (`Some(None)`: back to the default), agent and tools switch;
    /// `None` leaves a field as it is.
    pub async fn update_session(
        &self,
        id: &str,
        model: Option<Option<String>>,
        agent: Option<String>,
        tools: Option<bool>,
    ) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(move |tx| {
            let changed = tx
                .prepare_cached(
                    "UPDATE sessions
                     SET model = CASE WHEN ?2 THEN ?3 ELSE model END,
                         agent = coalesce(?4, agent),
                         tools = coalesce(?5, tools)
                     WHERE id = ?1",
                )?
                .execute((&id, model.is_some(), model.flatten(), &agent, tools))?;
            expect_one(changed, "session", &id)
        })
        .await
    }
}
