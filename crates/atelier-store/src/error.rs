//! The store's one error type.

use std::path::PathBuf;

/// Everything that can go wrong in the store. `NotFound` and `Conflict` are the caller's fault
/// (unknown id, duplicate key); the rest are environmental.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be created, opened or configured.
    #[error("cannot open database {}: {source}", path.display())]
    Open { path: PathBuf, source: rusqlite::Error },
    /// Bringing the schema up to date failed; the database is left at its previous version.
    #[error("cannot migrate database {}: {message}", path.display())]
    Migrate { path: PathBuf, message: String },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{what} not found: {id}")]
    NotFound { what: &'static str, id: String },
    #[error("conflict: {0}")]
    Conflict(String),
    /// Input the store cannot use: a backup that is damaged or from a newer Atelier.
    #[error("{0}")]
    Invalid(String),
    /// The store was closed (or is shutting down); the job was not run.
    #[error("the store is closed")]
    Closed,
}

impl StoreError {
    /// Wraps an I/O failure that happened while opening, keeping `Open`'s shape: the message is
    /// carried in a `SQLITE_CANTOPEN` error so callers see one variant for "could not open".
    pub(crate) fn open_io(path: PathBuf, err: &std::io::Error) -> Self {
        StoreError::Open {
            path,
            source: rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
                Some(err.to_string()),
            ),
        }
    }
}

/// Which constraint an insert or update broke, so domain methods can turn it into `Conflict` or
/// `NotFound` instead of a bare SQLite error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Violation {
    Unique,
    ForeignKey,
}

pub(crate) fn violation(err: &rusqlite::Error) -> Option<Violation> {
    match err.sqlite_error().map(|e| e.extended_code) {
        Some(rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY) => {
            Some(Violation::Unique)
        }
        Some(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => Some(Violation::ForeignKey),
        _ => None,
    }
}

/// `NotFound` when an UPDATE or DELETE by id touched no row.
pub(crate) fn expect_one(changed: usize, what: &'static str, id: &str) -> Result<(), StoreError> {
    if changed == 0 { Err(StoreError::NotFound { what, id: id.to_owned() }) } else { Ok(()) }
}
