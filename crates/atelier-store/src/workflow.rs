//! Agent workflows: the workflow row, its agents, and its durable steps (results recorded under
//! an idempotency key before their effects are applied).

use rusqlite::{OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::error::{Violation, expect_one, violation};
use crate::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowRow {
    pub id: String,
    pub project_id: String,
    pub request: String,
    /// JSON.
    pub options: String,
    pub state: String,
    pub stage: String,
    pub progress: f64,
    /// JSON, once there is a plan.
    pub plan: Option<String>,
    pub summary: Option<String>,
    pub commit_id: Option<String>,
    pub error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentRow {
    pub id: String,
    pub workflow_id: String,
    /// `master`, `manager` or `coder`.
    pub role: String,
    pub name: String,
    pub parent_id: Option<String>,
    pub status: String,
    pub task: String,
    /// JSON.
    pub metrics: String,
    pub created_at: String,
    pub updated_at: String,
}

const WORKFLOW_COLUMNS: &str = "id, project_id, request, options, state, stage, progress, plan, summary, \
                                commit_id, error, created_at, updated_at";
const AGENT_COLUMNS: &str =
    "id, workflow_id, role, name, parent_id, status, task, metrics, created_at, updated_at";

fn workflow_from_row(row: &Row<'_>) -> rusqlite::Result<WorkflowRow> {
    Ok(WorkflowRow {
        id: row.get(0)?,
        project_id: row.get(1)?,
        request: row.get(2)?,
        options: row.get(3)?,
        state: row.get(4)?,
        stage: row.get(5)?,
        progress: row.get(6)?,
        plan: row.get(7)?,
        summary: row.get(8)?,
        commit_id: row.get(9)?,
        error: row.get(10)?,
        created_at: row.get(11)?,
        updated_at: row.get(12)?,
    })
}

fn agent_from_row(row: &Row<'_>) -> rusqlite::Result<AgentRow> {
    Ok(AgentRow {
        id: row.get(0)?,
        workflow_id: row.get(1)?,
        role: row.get(2)?,
        name: row.get(3)?,
        parent_id: row.get(4)?,
        status: row.get(5)?,
        task: row.get(6)?,
        metrics: row.get(7)?,
        created_at: row.get(8)?,
        updated_at: row.get(9)?,
    })
}

impl Store {
    /// `NotFound` when the project does not exist.
    pub async fn insert_workflow(&self, w: WorkflowRow) -> Result<(), StoreError> {
        self.write(move |tx| {
            let sql = format!("INSERT INTO workflows ({WORKFLOW_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
            let inserted = tx.prepare_cached(&sql)?.execute(rusqlite::params![
                w.id, w.project_id, w.request, w.options, w.state, w.stage, w.progress, w.plan, w.summary,
                w.commit_id, w.error, w.created_at, w.updated_at
            ]);
            match inserted {
                Ok(_) => Ok(()),
                Err(err) => Err(match violation(&err) {
                    Some(Violation::ForeignKey) => StoreError::NotFound { what: "project", id: w.project_id.clone() },
                    Some(Violation::Unique) => StoreError::Conflict(format!("workflow {} already exists", w.id)),
                    None => err.into(),
                }),
            }
        })
        .await
    }

    /// Saves every field of the workflow but its id, project, request and creation time.
    pub async fn update_workflow(&self, w: WorkflowRow) -> Result<(), StoreError> {
        self.write(move |tx| {
            let changed = tx
                .prepare_cached(
                    "UPDATE workflows SET options = ?2, state = ?3, stage = ?4, progress = ?5, plan = ?6,
                            summary = ?7, commit_id = ?8, error = ?9, updated_at = ?10
                     WHERE id = ?1",
                )?
                .execute(rusqlite::params![
                    w.id,
                    w.options,
                    w.state,
                    w.stage,
                    w.progress,
                    w.plan,
                    w.summary,
                    w.commit_id,
                    w.error,
                    crate::now()
                ])?;
            expect_one(changed, "workflow", &w.id)
        })
        .await
    }

    pub async fn get_workflow(&self, id: &str) -> Result<WorkflowRow, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| {
            conn.prepare_cached(&format!("SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE id = ?1"))?
                .query_row([&id], workflow_from_row)
                .optional()?
                .ok_or(StoreError::NotFound { what: "workflow", id })
        })
        .await
    }

    /// Newest first; all of them, or one project's.
    pub async fn list_workflows(&self, project_id: Option<String>) -> Result<Vec<WorkflowRow>, StoreError> {
        self.read(move |conn| {
            let sql = format!(
                "SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE ?1 IS NULL OR project_id = ?1
                 ORDER BY created_at DESC, id DESC"
            );
            let rows = conn
                .prepare_cached(&sql)?
                .query_map([&project_id], workflow_from_row)?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// Workflows that were neither completed, failed nor cancelled: to resume at start-up.
    pub async fn unfinished_workflows(&self) -> Result<Vec<WorkflowRow>, StoreError> {
        self.read(move |conn| {
            let sql = format!(
                "SELECT {WORKFLOW_COLUMNS} FROM workflows
                 WHERE state NOT IN ('completed', 'failed', 'cancelled') ORDER BY created_at"
            );
            let rows =
                conn.prepare_cached(&sql)?.query_map([], workflow_from_row)?.collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// Inserts or replaces an agent (its status, task and metrics change as it works).
    pub async fn upsert_agent(&self, a: AgentRow) -> Result<(), StoreError> {
        self.write(move |tx| {
            let sql = format!(
                "INSERT INTO workflow_agents ({AGENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (id) DO UPDATE SET status = excluded.status, task = excluded.task,
                     metrics = excluded.metrics, updated_at = excluded.updated_at"
            );
            let inserted = tx.prepare_cached(&sql)?.execute(rusqlite::params![
                a.id, a.workflow_id, a.role, a.name, a.parent_id, a.status, a.task, a.metrics, a.created_at,
                a.updated_at
            ]);
            match inserted {
                Ok(_) => Ok(()),
                Err(err) => Err(match violation(&err) {
                    Some(Violation::ForeignKey) => StoreError::NotFound { what: "workflow", id: a.workflow_id.clone() },
                    _ => err.into(),
                }),
            }
        })
        .await
    }

    /// A workflow's agents in the order they were created; all agents when `None`.
    pub async fn list_agents(&self, workflow_id: Option<String>) -> Result<Vec<AgentRow>, StoreError> {
        self.read(move |conn| {
            let sql = format!(
                "SELECT {AGENT_COLUMNS} FROM workflow_agents WHERE ?1 IS NULL OR workflow_id = ?1
                 ORDER BY created_at, id"
            );
            let rows = conn
                .prepare_cached(&sql)?
                .query_map([&workflow_id], agent_from_row)?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// Records a step's result under its idempotency key. Recording the same key again keeps the
    /// first result (a resumed step never overwrites what an earlier run recorded) and returns
    /// `false`.
    pub async fn record_step(
        &self,
        workflow_id: &str,
        key: &str,
        result: String,
    ) -> Result<bool, StoreError> {
        let (workflow_id, key) = (workflow_id.to_owned(), key.to_owned());
        self.write(move |tx| {
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO workflow_steps (workflow_id, key, result, created_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (workflow_id, key) DO NOTHING",
                )?
                .execute((&workflow_id, &key, &result, crate::now()));
            match inserted {
                Ok(n) => Ok(n == 1),
                Err(err) => Err(match violation(&err) {
                    Some(Violation::ForeignKey) => {
                        StoreError::NotFound { what: "workflow", id: workflow_id.clone() }
                    }
                    _ => err.into(),
                }),
            }
        })
        .await
    }

    /// The recorded result of a step, if it ran.
    pub async fn get_step(&self, workflow_id: &str, key: &str) -> Result<Option<String>, StoreError> {
        let (workflow_id, key) = (workflow_id.to_owned(), key.to_owned());
        self.read(move |conn| {
            Ok(conn
                .prepare_cached("SELECT result FROM workflow_steps WHERE workflow_id = ?1 AND key = ?2")?
                .query_row((&workflow_id, &key), |row| row.get(0))
                .optional()?)
        })
        .await
    }

    /// Every recorded step of a workflow as `(key, result)`, in the order they were recorded.
    pub async fn list_steps(&self, workflow_id: &str) -> Result<Vec<(String, String)>, StoreError> {
        let workflow_id = workflow_id.to_owned();
        self.read(move |conn| {
            let rows = conn
                .prepare_cached(
                    "SELECT key, result FROM workflow_steps WHERE workflow_id = ?1 ORDER BY created_at, key",
                )?
                .query_map([&workflow_id], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }
}
