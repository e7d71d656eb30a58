//! The index file: its own numbered, append-only migrations (`crates/atelier-index/migrations`)
//! and the connection settings (WAL, so searches read while a build writes).

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};
use rusqlite_migration::{M, Migrations};

use crate::{IndexError, Result};

/// Every shipped migration as `(file name, SQL)`, in order. A shipped file is never edited (a
/// test compares their hashes); a change is a new numbered file added here.
pub const MIGRATION_FILES: &[(&str, &str)] =
    &[("0001_index.sql", include_str!("../migrations/0001_index.sql"))];

const STEPS: &[M<'static>] = &[M::up(MIGRATION_FILES[0].1).comment(MIGRATION_FILES[0].0)];

const _: () = assert!(STEPS.len() == MIGRATION_FILES.len());

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // 16 MiB of page cache (negative means KiB): enough for the full-text lists of a big project.
    conn.pragma_update(None, "cache_size", -16 * 1024)?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(())
}

/// Opens the write connection, creating the file and its folder and migrating it.
pub(crate) fn open(path: &Path) -> Result<Connection> {
    let sql = |source| IndexError::Sql { path: path.display().to_string(), source };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|source| IndexError::Io { context: format!("creating {}", parent.display()), source })?;
    }
    let mut conn = Connection::open(path).map_err(sql)?;
    configure(&conn).map_err(sql)?;
    conn.pragma_update(None, "journal_mode", "WAL").map_err(sql)?;
    Migrations::from_slice(STEPS)
        .to_latest(&mut conn)
        .map_err(|e| IndexError::Migration { path: path.display().to_string(), message: e.to_string() })?;
    Ok(conn)
}

pub(crate) fn open_reader(path: &Path) -> Result<Connection> {
    let sql = |source| IndexError::Sql { path: path.display().to_string(), source };
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql)?;
    configure(&conn).map_err(sql)?;
    Ok(conn)
}

pub(crate) fn meta(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()
}

pub(crate) fn set_meta(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )
    .map(|_| ())
}

/// The migrations, for tests that build an older file.
pub fn migrations() -> Migrations<'static> {
    Migrations::from_slice(STEPS)
}
