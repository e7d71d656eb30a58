//! Health and size of the database, for `atelier doctor` and the status screen.

use serde::{Deserialize, Serialize};

use crate::{Store, StoreError};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub projects: u64,
    pub sessions: u64,
    pub messages: u64,
}

impl Store {
    /// SQLite's own consistency check: `"ok"`, or the problems found, one per line. Reads the
    /// whole file, so it takes a while on a large database.
    pub async fn integrity_check(&self) -> Result<String, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare("PRAGMA integrity_check")?;
            let lines = stmt.query_map([], |row| row.get::<_, String>(0))?;
            Ok(lines.collect::<Result<Vec<_>, _>>()?.join("\n"))
        })
        .await
    }

    pub async fn counts(&self) -> Result<Counts, StoreError> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT (SELECT count(*) FROM projects), (SELECT count(*) FROM sessions),
                            (SELECT count(*) FROM messages)",
                )?
                .query_row([], |row| {
                    Ok(Counts { projects: row.get(0)?, sessions: row.get(1)?, messages: row.get(2)? })
                })?)
        })
        .await
    }
}
