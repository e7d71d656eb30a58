//! Archiving projects and cleaning up the records of long-archived ones. Cleaning up removes
//! only Atelier's own rows (chats, messages, workflows, agents, steps, events, usage); the
//! project's folder is never touched here.

use std::collections::HashMap;

use rusqlite::OptionalExtension;

use crate::error::expect_one;
use crate::{Store, StoreError};

/// When a project was archived and last opened (RFC 3339, as [`crate::now`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectTimes {
    pub archived_at: Option<String>,
    pub opened_at: Option<String>,
}

/// What cleaning up a project would remove.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectRecords {
    pub sessions: u64,
    pub messages: u64,
    pub workflows: u64,
}

impl Store {
    /// Every project's archive and open times, by id.
    pub async fn project_times(&self) -> Result<HashMap<String, ProjectTimes>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached("SELECT id, archived_at, opened_at FROM projects")?;
            let rows = stmt.query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    ProjectTimes { archived_at: row.get(1)?, opened_at: row.get(2)? },
                ))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// One project's archive and open times; `NotFound` for an unknown id.
    pub async fn project_time(&self, id: &str) -> Result<ProjectTimes, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| {
            conn.prepare_cached("SELECT archived_at, opened_at FROM projects WHERE id = ?1")?
                .query_row([&id], |row| Ok(ProjectTimes { archived_at: row.get(0)?, opened_at: row.get(1)? }))
                .optional()?
                .ok_or(StoreError::NotFound { what: "project", id })
        })
        .await
    }

    /// Archives (`Some(time)`) or unarchives (`None`) a project.
    pub async fn set_project_archived(&self, id: &str, at: Option<String>) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(move |tx| {
            let changed = tx
                .prepare_cached("UPDATE projects SET archived_at = ?2 WHERE id = ?1")?
                .execute((&id, &at))?;
            expect_one(changed, "project", &id)
        })
        .await
    }

    /// Records that the project was opened at `at`.
    pub async fn set_project_opened(&self, id: &str, at: String) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(move |tx| {
            let changed =
                tx.prepare_cached("UPDATE projects SET opened_at = ?2 WHERE id = ?1")?.execute((&id, &at))?;
            expect_one(changed, "project", &id)
        })
        .await
    }

    /// Archives, at `at`, the projects not archived yet whose last opening (or creation, if
    /// never opened) is older than `before`, except those in `except` (open right now).
    /// Returns their ids.
    pub async fn archive_unopened_since(
        &self,
        before: String,
        at: String,
        except: Vec<String>,
    ) -> Result<Vec<String>, StoreError> {
        self.write(move |tx| {
            let ids: Vec<String> = tx
                .prepare_cached(
                    "SELECT id FROM projects WHERE archived_at IS NULL
                       AND coalesce(opened_at, created_at) < ?1 ORDER BY id",
                )?
                .query_map([&before], |row| row.get::<_, String>(0))?
                .filter(|id| id.as_ref().map_or(true, |id| !except.contains(id)))
                .collect::<Result<_, _>>()?;
            let mut update = tx.prepare_cached("UPDATE projects SET archived_at = ?2 WHERE id = ?1")?;
            for id in &ids {
                update.execute((id, &at))?;
            }
            Ok(ids)
        })
        .await
    }

    /// How many chats, messages and workflows each of `ids` holds.
    pub async fn project_records(
        &self,
        ids: Vec<String>,
    ) -> Result<HashMap<String, ProjectRecords>, StoreError> {
        self.read(move |conn| {
            let mut out = HashMap::new();
            let mut stmt = conn.prepare_cached(
                "SELECT (SELECT count(*) FROM sessions WHERE project_id = ?1),
                        (SELECT count(*) FROM messages m JOIN sessions s ON m.session_id = s.id
                          WHERE s.project_id = ?1),
                        (SELECT count(*) FROM workflows WHERE project_id = ?1)",
            )?;
            for id in ids {
                let records = stmt.query_row([&id], |row| {
                    Ok(ProjectRecords {
                        sessions: row.get(0)?,
                        messages: row.get(1)?,
                        workflows: row.get(2)?,
                    })
                })?;
                out.insert(id, records);
            }
            Ok(out)
        })
        .await
    }

    /// Removes everything Atelier keeps about project `id` in one transaction: its events (the
    /// project's, its chats', workflows' and agents' topics), its usage rows, then the project
    /// row, which takes its chats, messages, workflows, agents, steps and MCP servers with it.
    pub async fn purge_project(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(move |tx| {
            let project_topic = format!("project/{id}");
            tx.prepare_cached(
                "DELETE FROM events WHERE topic = ?2
                    OR topic IN (SELECT 'session/' || id FROM sessions WHERE project_id = ?1)
                    OR topic IN (SELECT 'workflow/' || id FROM workflows WHERE project_id = ?1)
                    OR topic IN (SELECT 'agent/' || a.id FROM workflow_agents a
                                   JOIN workflows w ON a.workflow_id = w.id WHERE w.project_id = ?1)",
            )?
            .execute((&id, &project_topic))?;
            tx.prepare_cached(
                "DELETE FROM usage
                  WHERE session_id IN (SELECT id FROM sessions WHERE project_id = ?1)
                     OR workflow_id IN (SELECT id FROM workflows WHERE project_id = ?1)",
            )?
            .execute([&id])?;
            let changed = tx.prepare_cached("DELETE FROM projects WHERE id = ?1")?.execute([&id])?;
            expect_one(changed, "project", &id)
        })
        .await
    }
}
