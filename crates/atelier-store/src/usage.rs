//! The usage ledger: one row per model call, with token counts and timings.

use serde::{Deserialize, Serialize};

use crate::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRow {
    pub id: String,
    pub provider: String,
    pub model: String,
    pub session_id: Option<String>,
    pub workflow_id: Option<String>,
    pub agent_id: Option<String>,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub total_ms: u64,
    pub load_ms: u64,
    pub prompt_eval_ms: u64,
    pub eval_ms: u64,
    pub created_at: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageTotals {
    pub calls: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

impl Store {
    /// Records one model call. `Conflict` if the id was already recorded.
    pub async fn insert_usage(&self, u: UsageRow) -> Result<(), StoreError> {
        self.write(move |tx| {
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO usage (id, provider, model, session_id, workflow_id, agent_id,
                                        prompt_tokens, completion_tokens, total_ms, load_ms,
                                        prompt_eval_ms, eval_ms, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                )?
                .execute((
                    &u.id,
                    &u.provider,
                    &u.model,
                    &u.session_id,
                    &u.workflow_id,
                    &u.agent_id,
                    u.prompt_tokens,
                    u.completion_tokens,
                    u.total_ms,
                    u.load_ms,
                    u.prompt_eval_ms,
                    u.eval_ms,
                    &u.created_at,
                ));
            match inserted {
                Ok(_) => Ok(()),
                Err(err) if crate::error::violation(&err).is_some() => {
                    Err(StoreError::Conflict(format!("usage {} already recorded", u.id)))
                }
                Err(err) => Err(err.into()),
            }
        })
        .await
    }

    /// Calls and tokens, for one session or (with `None`) everything ever recorded, including
    /// calls of sessions deleted since.
    pub async fn usage_totals(&self, session_id: Option<String>) -> Result<UsageTotals, StoreError> {
        self.read(move |conn| {
            let totals = |row: &rusqlite::Row<'_>| {
                Ok(UsageTotals {
                    calls: row.get(0)?,
                    prompt_tokens: row.get(1)?,
                    completion_tokens: row.get(2)?,
                })
            };
            let totals = match &session_id {
                Some(session) => conn
                    .prepare_cached(
                        "SELECT count(*), coalesce(sum(prompt_tokens), 0),
                                coalesce(sum(completion_tokens), 0)
                         FROM usage WHERE session_id = ?1",
                    )?
                    .query_row([session], totals)?,
                None => conn
                    .prepare_cached(
                        "SELECT count(*), coalesce(sum(prompt_tokens), 0),
                                coalesce(sum(completion_tokens), 0)
                         FROM usage",
                    )?
                    .query_row([], totals)?,
            };
            Ok(totals)
        })
        .await
    }

    /// A workflow's model calls rolled up per agent: `(agent_id, totals)`, in no set order.
    pub async fn workflow_usage(&self, workflow_id: &str) -> Result<Vec<(String, UsageTotals)>, StoreError> {
        let workflow_id = workflow_id.to_owned();
        self.read(move |conn| {
            let rows = conn
                .prepare_cached(
                    "SELECT coalesce(agent_id, ''), count(*), coalesce(sum(prompt_tokens), 0),
                            coalesce(sum(completion_tokens), 0)
                     FROM usage WHERE workflow_id = ?1 GROUP BY agent_id",
                )?
                .query_map([&workflow_id], |row| {
                    Ok((
                        row.get(0)?,
                        UsageTotals {
                            calls: row.get(1)?,
                            prompt_tokens: row.get(2)?,
                            completion_tokens: row.get(3)?,
                        },
                    ))
                })?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }
}
