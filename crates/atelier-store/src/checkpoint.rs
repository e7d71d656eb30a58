//! The checkpointer: copies the WAL back into the database file on its own thread.
//!
//! By default SQLite checkpoints inside whichever commit pushes the WAL past 1000 pages, and that
//! commit then pays for writing and syncing the database file: a few milliseconds, every few
//! hundred appends. Moving checkpoints to this thread keeps every commit on the writer cheap. A
//! PASSIVE checkpoint never blocks the writer or the readers; it copies what it can.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use rusqlite::Connection;

use crate::StoreError;
use crate::store::configure;

/// At most one checkpoint per interval while writes keep coming. Short enough that the WAL stays
/// small (it only grows by what is written in an interval), long enough that a burst of commits
/// shares one checkpoint.
const INTERVAL: Duration = Duration::from_millis(500);

pub(crate) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Default)]
struct State {
    /// Something was committed since the last checkpoint started.
    dirty: bool,
    stop: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Two flags, each set in one step: a panic cannot leave them half-updated.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Checkpointer {
    /// Opens the checkpointer's connection and starts its thread.
    pub(crate) fn start(path: &Path) -> Result<Self, StoreError> {
        let open_error = |source| StoreError::Open { path: path.to_owned(), source };
        let conn = Connection::open(path).map_err(open_error)?;
        configure(&conn).map_err(open_error)?;
        let shared = Arc::new(Shared { state: Mutex::new(State::default()), wake: Condvar::new() });
        let thread = thread::Builder::new()
            .name("atelier-store-checkpoint".into())
            .spawn({
                let shared = Arc::clone(&shared);
                move || run(&conn, &shared)
            })
            .map_err(|e| StoreError::open_io(path.to_owned(), &e))?;
        Ok(Self { shared, thread: Some(thread) })
    }

    /// Tells the checkpointer that the writer committed something.
    pub(crate) fn poke(&self) {
        let mut state = self.shared.lock();
        if !state.dirty {
            state.dirty = true;
            self.shared.wake.notify_one();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("store checkpoint thread panicked");
        }
    }
}

fn run(conn: &Connection, shared: &Shared) {
    loop {
        {
            let state = shared.lock();
            let mut state = shared
                .wake
                .wait_while(state, |s| !s.dirty && !s.stop)
                .unwrap_or_else(PoisonError::into_inner);
            if state.stop {
                return;
            }
            state.dirty = false;
        }
        if let Err(err) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %err, "WAL checkpoint failed");
        }
        let state = shared.lock();
        let (state, _) = shared
            .wake
            .wait_timeout_while(state, INTERVAL, |s| !s.stop)
            .unwrap_or_else(PoisonError::into_inner);
        if state.stop {
            return;
        }
    }
}
