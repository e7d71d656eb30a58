//! Projects: a name and a folder on disk; sessions may belong to one.

use rusqlite::{OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::error::{Violation, expect_one, violation};
use crate::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectRow {
    pub id: String,
    pub name: String,
    /// The project's folder. Unique: two projects never share a folder.
    pub path: String,
    pub created_at: String,
}

fn project_from_row(row: &Row<'_>) -> rusqlite::Result<ProjectRow> {
    Ok(ProjectRow { id: row.get(0)?, name: row.get(1)?, path: row.get(2)?, created_at: row.get(3)? })
}

impl Store {
    /// Adds a project. `Conflict` if its id or its path is already taken.
    pub async fn insert_project(&self, p: ProjectRow) -> Result<(), StoreError> {
        self.write(move |tx| {
            let inserted = tx
                .prepare_cached("INSERT INTO projects (id, name, path, created_at) VALUES (?1, ?2, ?3, ?4)")?
                .execute((&p.id, &p.name, &p.path, &p.created_at));
            match inserted {
                Ok(_) => Ok(()),
                Err(err) if violation(&err) == Some(Violation::Unique) => {
                    // The message names the column ("UNIQUE constraint failed: projects.path"),
                    // which tells the user which of the two clashed.
                    let on_path = err.to_string().contains("projects.path");
                    Err(StoreError::Conflict(if on_path {
                        format!("a project already exists at {}", p.path)
                    } else {
                        format!("project {} already exists", p.id)
                    }))
                }
                Err(err) => Err(err.into()),
            }
        })
        .await
    }

    /// All projects, by name.
    pub async fn list_projects(&self) -> Result<Vec<ProjectRow>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, name, path, created_at FROM projects ORDER BY name COLLATE NOCASE, id",
            )?;
            let rows = stmt.query_map([], project_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    pub async fn get_project(&self, id: &str) -> Result<ProjectRow, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| {
            conn.prepare_cached("SELECT id, name, path, created_at FROM projects WHERE id = ?1")?
                .query_row([&id], project_from_row)
                .optional()?
                .ok_or(StoreError::NotFound { what: "project", id })
        })
        .await
    }

    /// Deletes a project together with its sessions and their messages.
    pub async fn delete_project(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(move |tx| {
            let changed = tx.prepare_cached("DELETE FROM projects WHERE id = ?1")?.execute([&id])?;
            expect_one(changed, "project", &id)
        })
        .await
    }
}
