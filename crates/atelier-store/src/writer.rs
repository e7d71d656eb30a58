//! The writer thread: owns the only read-write connection and runs queued jobs one at a time.

use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::Receiver;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::StoreError;
use crate::checkpoint::Checkpointer;

/// A unit of work for the writer thread. It gets the connection mutably so it can open its own
/// transaction; replying to the caller is the job's business.
pub(crate) type Job = Box<dyn FnOnce(&mut Connection) + Send>;

pub(crate) enum Command {
    Run(Job),
    /// Stop after the jobs queued before this one. Jobs queued after it are dropped, which their
    /// callers see as `StoreError::Closed`.
    Shutdown,
}

/// What a job sends back: the closure's result, or the payload of its panic so the caller's
/// thread can resume it (the writer thread itself must survive a panicking closure).
pub(crate) type Reply<T> = std::thread::Result<Result<T, StoreError>>;

/// Runs `f` in its own transaction: committed when it returns `Ok`, rolled back on `Err` or panic.
pub(crate) fn in_transaction<T>(
    conn: &mut Connection,
    f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
) -> Reply<T> {
    panic::catch_unwind(AssertUnwindSafe(move || {
        // IMMEDIATE takes the write lock up front. With one writer in this process it never
        // waits on itself, and if another process holds the lock the wait happens here, under
        // busy_timeout, instead of failing half way through on a lock upgrade.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }))
}

/// Hands a reply back to the caller's thread: the value, or the closure's panic resumed here.
pub(crate) fn unpack<T>(reply: Reply<T>) -> Result<T, StoreError> {
    match reply {
        Ok(result) => result,
        Err(payload) => panic::resume_unwind(payload),
    }
}

/// The writer thread's loop. Returns when told to shut down or when every sender is gone.
///
/// With a checkpointer, the connection's own automatic checkpoints are turned off and the
/// checkpointer is poked after every job instead. Without one (it failed to start), SQLite's
/// automatic checkpoints stay on: slower commits now and then, but the WAL is still bounded.
pub(crate) fn run(mut conn: Connection, commands: Receiver<Command>, checkpointer: Option<Checkpointer>) {
    if checkpointer.is_some()
        && let Err(err) = conn.pragma_update(None, "wal_autocheckpoint", 0)
    {
        tracing::warn!(error = %err, "cannot turn off automatic checkpoints");
    }
    while let Ok(command) = commands.recv() {
        match command {
            Command::Run(job) => {
                // Jobs built by `Store` catch their own panics; this is the backstop that keeps
                // one bad job from taking every later write down with the thread.
                if panic::catch_unwind(AssertUnwindSafe(|| job(&mut conn))).is_err() {
                    tracing::error!("a store write job panicked");
                }
                if let Some(checkpointer) = &checkpointer {
                    checkpointer.poke();
                }
            }
            Command::Shutdown => break,
        }
    }
    drop(checkpointer);
    // SQLite recommends running `optimize` before closing a long-lived connection: it refreshes
    // the planner's statistics where they have gone stale. Cheap when nothing changed.
    if let Err(err) = conn.execute_batch("PRAGMA optimize;") {
        tracing::warn!(error = %err, "PRAGMA optimize failed at close");
    }
    // Leave a database file that is complete on its own: everything copied out of the WAL and
    // the WAL emptied, so a backup of just the .db file after quitting has all the data.
    if let Err(err) = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
        tracing::warn!(error = %err, "final WAL checkpoint failed");
    }
    if let Err((_, err)) = conn.close() {
        tracing::warn!(error = %err, "closing the write connection failed");
    }
}
