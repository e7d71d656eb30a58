//! The index file: its own numbered, append-only migrations (`crates/atelier-index/migrations`)
//! and the connection settings (WAL, so searches read while a build writes).

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};
use rusqlite_migration::{M, Migrations};

use crate::words::alternate_spellings;
use crate::{IndexError, Result};

/// Every shipped migration as `(file name, SQL)`, in order. A shipped file is never edited (a
/// test compares their hashes); a change is a new numbered file added here.
pub const MIGRATION_FILES: &[(&str, &str)] = &[
    ("0001_index.sql", include_str!("../migrations/0001_index.sql")),
    ("0002_names.sql", include_str!("../migrations/0002_names.sql")),
];

const STEPS: &[M<'static>] = &[
    M::up(MIGRATION_FILES[0].1).comment(MIGRATION_FILES[0].0),
    M::up(MIGRATION_FILES[1].1).comment(MIGRATION_FILES[1].0),
];

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
    if meta(&conn, "names_fts").map_err(sql)?.as_deref() == Some("pending") {
        fill_names(&mut conn).map_err(sql)?;
    }
    Ok(conn)
}

/// What `names_fts` holds for a chunk: its path and the names of the definitions in it, each
/// with its other spellings (so `chooseNumCtx` is found by "choose num ctx").
pub(crate) fn names_row(path: &str, symbols: &str) -> (String, String) {
    let with_spellings = |text: &str| {
        let other = alternate_spellings(text);
        if other.is_empty() { text.to_owned() } else { format!("{text} {other}") }
    };
    (with_spellings(path), with_spellings(symbols))
}

/// Adds the chunks indexed before `names_fts` existed (migration 0002), in one transaction.
fn fill_names(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut read = tx.prepare(
            "SELECT c.id, f.path, coalesce((SELECT group_concat(s.name, ' ') FROM symbols s \
             WHERE s.file_id = c.file_id AND s.line BETWEEN c.start_line AND c.end_line), '') \
             FROM chunks c JOIN files f ON f.id = c.file_id",
        )?;
        let mut insert = tx.prepare("INSERT INTO names_fts (rowid, path, symbols) VALUES (?1, ?2, ?3)")?;
        let mut rows = read.query([])?;
        while let Some(row) = rows.next()? {
            let (path, symbols) = names_row(row.get_ref(1)?.as_str()?, row.get_ref(2)?.as_str()?);
            insert.execute(rusqlite::params![row.get::<_, i64>(0)?, path, symbols])?;
        }
    }
    set_meta(&tx, "names_fts", "done")?;
    tx.commit()
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
