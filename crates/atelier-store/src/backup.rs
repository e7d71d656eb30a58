//! Backups of the live database with SQLite's online backup API, and restoring one.
//!
//! A backup reads from a connection of its own that holds one read transaction for the whole
//! copy: in WAL mode that is a fixed snapshot, so the copy is consistent, the writer never waits
//! for it, and the copy never restarts because of a commit (a backup from a connection without
//! that transaction starts over whenever another connection writes). It still steps a few
//! hundred pages at a time with a pause between steps, so the disk is shared with the writer.

use std::path::Path;
use std::time::Duration;

use rusqlite::backup::Backup;
use rusqlite::{Connection, MAIN_DB, OpenFlags};

use crate::{Store, StoreError, migrations};

/// Pages copied per step (4 KiB each: about 1 MiB).
pub const BACKUP_PAGES_PER_STEP: std::ffi::c_int = 256;

/// Copies the database at `db` (in use or not, by this process or another) into `dest`, which
/// must not exist yet. `dest` is written under a temporary name beside it and renamed when
/// complete, so a backup that fails half way never looks like one. On Unix `dest` is readable by
/// its owner only, as the database is.
pub fn backup_database(db: &Path, dest: &Path, pause: Duration) -> Result<(), StoreError> {
    let open = |path: &Path, source| StoreError::Open { path: path.to_path_buf(), source };
    let source =
        Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(|e| open(db, e))?;
    source.busy_timeout(Duration::from_secs(5))?;
    let partial = dest.with_extension("partial");
    create_private(&partial)?;
    let result = (|| -> Result<(), StoreError> {
        let mut target = Connection::open(&partial).map_err(|e| open(&partial, e))?;
        // One snapshot for the whole copy (see the module's comment).
        source.execute_batch("BEGIN")?;
        source.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))?;
        {
            let backup = Backup::new(&source, &mut target)?;
            backup.run_to_completion(BACKUP_PAGES_PER_STEP, pause, None)?;
        }
        source.execute_batch("COMMIT")?;
        // A backup is one self-contained file: no WAL beside it.
        let _mode: String = target.query_row("PRAGMA journal_mode = DELETE", [], |row| row.get(0))?;
        target.close().map_err(|(_, e)| StoreError::Sqlite(e))?;
        std::fs::rename(&partial, dest).map_err(|e| StoreError::open_io(dest.to_path_buf(), &e))
    })();
    if result.is_err()
        && let Err(e) = std::fs::remove_file(&partial)
    {
        tracing::debug!(error = %e, "a failed backup's partial file was not removed");
    }
    result
}

/// Checks a backup before it may replace the database: SQLite's `integrity_check` must say
/// `ok`, and its schema must not be newer than this Atelier knows. `Invalid` says what is wrong.
pub fn check_backup(path: &Path) -> Result<(), StoreError> {
    let invalid = |why: String| StoreError::Invalid(why);
    let conn =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(|e| invalid(format!("the backup cannot be opened: {e}")))?;
    let lines: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .and_then(|mut stmt| stmt.query_map([], |row| row.get::<_, String>(0))?.collect())
        .map_err(|e| invalid(format!("the backup is damaged: {e}")))?;
    if lines != ["ok"] {
        let problems: Vec<&str> = lines.iter().take(3).map(String::as_str).collect();
        return Err(invalid(format!("the backup is damaged: {}", problems.join("; "))));
    }
    let version: usize = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(|e| invalid(format!("the backup is damaged: {e}")))?;
    let known = crate::MIGRATION_FILES.len();
    if version > known {
        return Err(invalid(format!(
            "the backup is from a newer Atelier (schema {version}, this one knows {known}); update Atelier first"
        )));
    }
    Ok(())
}

impl Store {
    /// Replaces the database's content with the backup at `path` (checked with
    /// [`check_backup`] first: a damaged one is `Invalid` and nothing changes), then brings its
    /// schema up to date.
    ///
    /// It runs on the writer thread, through the writer's own connection (`Connection::restore`,
    /// SQLite's backup API in the other direction) rather than by swapping the file: the store's
    /// connections (the writer, the read pool, the checkpointer) all have the file open, and a
    /// file replaced under them would be mixed with their WAL and shared memory, corrupting it.
    /// Through the writer the restore is one write transaction: readers see the old content or
    /// the new, never a mix; writes queued meanwhile wait their turn and then apply to the
    /// restored database; and the migration runs before any of them.
    pub fn restore_blocking(&self, path: &Path) -> Result<(), StoreError> {
        check_backup(path)?;
        let path = path.to_path_buf();
        let db = self.path().to_path_buf();
        self.run_blocking(move |conn| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || -> Result<(), StoreError> {
                conn.restore(MAIN_DB, &path, None::<fn(rusqlite::backup::Progress)>)?;
                migrations()
                    .to_latest(conn)
                    .map_err(|e| StoreError::Migrate { path: db.clone(), message: e.to_string() })?;
                Ok(())
            }))
        })
    }
}

/// Creates `path` empty, readable by its owner only on Unix (SQLite keeps the mode).
fn create_private(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::File::options();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop).map_err(|e| StoreError::open_io(path.to_path_buf(), &e))
}
