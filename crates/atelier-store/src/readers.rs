//! A small, bounded pool of read-only connections, opened on demand and reused.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use rusqlite::{Connection, OpenFlags};

use crate::StoreError;
use crate::store::configure;

pub(crate) struct ReadPool {
    path: PathBuf,
    max: usize,
    state: Mutex<PoolState>,
    returned: Condvar,
}

struct PoolState {
    idle: Vec<Connection>,
    /// Connections that exist: idle ones plus those lent out.
    open: usize,
}

impl ReadPool {
    pub(crate) fn new(path: &Path, max: usize) -> Self {
        Self {
            path: path.to_owned(),
            max: max.max(1),
            state: Mutex::new(PoolState { idle: Vec::new(), open: 0 }),
            returned: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        // The state is a list and a counter, each updated in one step, so a panic elsewhere
        // cannot leave it inconsistent: a poisoned lock is safe to keep using.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lends a connection, opening one if fewer than `max` exist, else waiting for a return.
    pub(crate) fn get(&self) -> Result<PooledConnection<'_>, StoreError> {
        let mut state = self.lock();
        loop {
            if let Some(conn) = state.idle.pop() {
                return Ok(PooledConnection { pool: self, conn: Some(conn) });
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                // Opening touches the disk, so it happens outside the lock.
                return match open_reader(&self.path) {
                    Ok(conn) => Ok(PooledConnection { pool: self, conn: Some(conn) }),
                    Err(err) => {
                        self.lock().open -= 1;
                        self.returned.notify_one();
                        Err(err)
                    }
                };
            }
            state = self.returned.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn put_back(&self, conn: Connection) {
        let mut state = self.lock();
        if conn.is_autocommit() {
            state.idle.push(conn);
        } else {
            // A closure left a transaction open. Its snapshot would pin old pages and stop the
            // WAL from being checkpointed, so the connection is closed rather than reused.
            state.open -= 1;
            drop(state);
            drop(conn);
        }
        self.returned.notify_one();
    }

    /// Closes the idle connections (lent ones close when they come back after this).
    pub(crate) fn clear(&self) {
        let idle = {
            let mut state = self.lock();
            state.open -= state.idle.len();
            std::mem::take(&mut state.idle)
        };
        drop(idle);
    }
}

fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let open_error = |source| StoreError::Open { path: path.to_owned(), source };
    // NO_MUTEX: a pooled connection is used by one thread at a time, the pool sees to that.
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(open_error)?;
    configure(&conn).map_err(open_error)?;
    Ok(conn)
}

/// A connection lent by the pool; it goes back when dropped.
pub(crate) struct PooledConnection<'a> {
    pool: &'a ReadPool,
    conn: Option<Connection>,
}

impl Deref for PooledConnection<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        // Invariant: `conn` is only taken in `drop`.
        match &self.conn {
            Some(conn) => conn,
            None => unreachable!("pooled connection used after return"),
        }
    }
}

impl Drop for PooledConnection<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.put_back(conn);
        }
    }
}
