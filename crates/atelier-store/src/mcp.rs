//! MCP server configurations. Only the names of `env` variables and headers are kept here:
//! their values are secrets, kept in the OS keychain by the engine.

use rusqlite::{OptionalExtension, Row};

use crate::error::{Violation, expect_one, violation};
use crate::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpServerRow {
    pub name: String,
    pub project_id: Option<String>,
    /// `stdio` or `http`.
    pub transport: String,
    pub command: Option<String>,
    pub args: Vec<String>,
    pub url: Option<String>,
    pub env_keys: Vec<String>,
    pub header_keys: Vec<String>,
    pub enabled: bool,
    pub trusted: bool,
    pub sandbox: bool,
    /// `user` or `project_file`.
    pub origin: String,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "name, project_id, transport, command, args, url, env_keys, header_keys, enabled, \
                       trusted, sandbox, origin, created_at, updated_at";

fn list(text: String) -> Vec<String> {
    // Written by this module as a JSON list; anything else reads as empty rather than failing.
    serde_json::from_str(&text).unwrap_or_default()
}

fn row_to_server(row: &Row<'_>) -> rusqlite::Result<McpServerRow> {
    Ok(McpServerRow {
        name: row.get(0)?,
        project_id: row.get(1)?,
        transport: row.get(2)?,
        command: row.get(3)?,
        args: list(row.get(4)?),
        url: row.get(5)?,
        env_keys: list(row.get(6)?),
        header_keys: list(row.get(7)?),
        enabled: row.get(8)?,
        trusted: row.get(9)?,
        sandbox: row.get(10)?,
        origin: row.get(11)?,
        created_at: row.get(12)?,
        updated_at: row.get(13)?,
    })
}

fn json(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

impl Store {
    /// Adds a server; `replace` overwrites one of the same name (an import, an edit), otherwise
    /// that name is a `Conflict`. An unknown project is `NotFound`.
    pub async fn put_mcp_server(&self, row: McpServerRow, replace: bool) -> Result<(), StoreError> {
        self.write(move |tx| {
            let verb = if replace { "INSERT OR REPLACE" } else { "INSERT" };
            let sql = format!(
                "{verb} INTO mcp_servers ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
            );
            let done = tx.prepare_cached(&sql)?.execute(rusqlite::params![
                row.name,
                row.project_id,
                row.transport,
                row.command,
                json(&row.args),
                row.url,
                json(&row.env_keys),
                json(&row.header_keys),
                row.enabled,
                row.trusted,
                row.sandbox,
                row.origin,
                row.created_at,
                row.updated_at,
            ]);
            match done {
                Ok(_) => Ok(()),
                Err(e) if violation(&e) == Some(Violation::Unique) => {
                    Err(StoreError::Conflict(format!("an MCP server named `{}` already exists", row.name)))
                }
                Err(e) if violation(&e) == Some(Violation::ForeignKey) => Err(StoreError::NotFound {
                    what: "project",
                    id: row.project_id.clone().unwrap_or_default(),
                }),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    /// Every server, by name.
    pub async fn list_mcp_servers(&self) -> Result<Vec<McpServerRow>, StoreError> {
        self.read(|conn| {
            let mut stmt =
                conn.prepare_cached(&format!("SELECT {COLUMNS} FROM mcp_servers ORDER BY name"))?;
            let rows = stmt.query_map([], row_to_server)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    pub async fn get_mcp_server(&self, name: &str) -> Result<McpServerRow, StoreError> {
        let name = name.to_owned();
        self.read(move |conn| {
            conn.prepare_cached(&format!("SELECT {COLUMNS} FROM mcp_servers WHERE name = ?1"))?
                .query_row([&name], row_to_server)
                .optional()?
                .ok_or(StoreError::NotFound { what: "MCP server", id: name })
        })
        .await
    }

    /// Sets a server's switches; `None` leaves one as it is.
    pub async fn update_mcp_server(
        &self,
        name: &str,
        enabled: Option<bool>,
        trusted: Option<bool>,
        sandbox: Option<bool>,
    ) -> Result<(), StoreError> {
        let name = name.to_owned();
        let now = crate::now();
        self.write(move |tx| {
            let changed = tx
                .prepare_cached(
                    "UPDATE mcp_servers SET enabled = coalesce(?2, enabled), trusted = coalesce(?3, trusted),
                            sandbox = coalesce(?4, sandbox), updated_at = ?5
                      WHERE name = ?1",
                )?
                .execute(rusqlite::params![name, enabled, trusted, sandbox, now])?;
            expect_one(changed, "MCP server", &name)
        })
        .await
    }

    pub async fn delete_mcp_server(&self, name: &str) -> Result<(), StoreError> {
        let name = name.to_owned();
        self.write(move |tx| {
            let changed = tx.prepare_cached("DELETE FROM mcp_servers WHERE name = ?1")?.execute([&name])?;
            expect_one(changed, "MCP server", &name)
        })
        .await
    }
}
