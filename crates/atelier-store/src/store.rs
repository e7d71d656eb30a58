//! `Store`: opening and migrating the database, and the write/read primitives everything uses.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use rusqlite::{Connection, Transaction};
use tokio::sync::oneshot;

use crate::checkpoint::Checkpointer;
use crate::readers::ReadPool;
use crate::writer::{self, Command, Job};
use crate::{StoreError, migrations};

/// How long a connection waits for a lock held by another connection before giving up. Only a
/// second process (or a checkpoint) can hold it, since this process has one writer.
const BUSY_TIMEOUT: Duration = Duration::from_millis(5000);

/// Bytes of WAL file kept after a checkpoint has emptied it.
const JOURNAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// Page cache per connection. SQLite's default (2 MiB) is too small to keep the search index's
/// lists for common words in memory at a million messages; 32 MiB halves such searches there.
const PAGE_CACHE_KIB: i64 = 32 * 1024;

/// Read connections kept at most. Reads are short, and each connection has its own page cache.
const MAX_READERS: usize = 4;

/// Statements each connection keeps prepared. The domain methods use about twenty; the default
/// of 16 would evict some on every round.
const STATEMENT_CACHE: usize = 64;

/// Handle to the database. Cheap to clone; all clones share one writer thread and one read pool.
/// The writer stops when [`Store::close`] is called or the last clone is dropped; either waits
/// for the writes already queued.
///
/// Closures given to `write*` run on the writer thread and `read` closures on a pooled
/// connection: they must not call back into the store and wait for it (a `write_blocking` inside
/// a write would wait for itself). The async methods need a Tokio runtime.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    commands: Sender<Command>,
    writer: Mutex<Option<JoinHandle<()>>>,
    readers: ReadPool,
    closed: AtomicBool,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("path", &self.inner.path).finish_non_exhaustive()
    }
}

/// Settings every connection gets, writer and readers alike.
pub(crate) fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // First, so that everything after it (including switching to WAL) waits for a lock held by
    // another process instead of failing at once.
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // In WAL mode NORMAL only syncs at checkpoints: a commit survives a crash of the app, and at
    // worst the last commits before a power loss are lost. That trade buys sub-millisecond
    // commits, which the streaming replies need.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Negative means KiB. Allocated only as pages are read, so a small database stays small.
    conn.pragma_update(None, "cache_size", -PAGE_CACHE_KIB)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

impl Store {
    /// Opens (creating the file and its parent directory if needed) and migrates the database,
    /// then starts the writer thread.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let path = path.to_owned();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| StoreError::open_io(path.clone(), &e))?;
        }
        let open_error = |source| StoreError::Open { path: path.clone(), source };

        let mut conn = Connection::open(&path).map_err(open_error)?;
        configure(&conn).map_err(open_error)?;
        // WAL lets readers work while the writer commits. It is a property of the file, so
        // setting it here covers the read connections too.
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(open_error)?;
        if !mode.eq_ignore_ascii_case("wal") {
            // Some file systems (network shares) cannot do WAL. The store still works, with
            // readers and the writer taking turns.
            tracing::warn!(path = %path.display(), mode, "database is not in WAL mode");
        }

        migrations()
            .to_latest(&mut conn)
            .map_err(|e| StoreError::Migrate { path: path.clone(), message: e.to_string() })?;

        // The WAL is emptied after each checkpoint but its file keeps its largest size; this caps
        // what stays on disk after a burst of writes (an import, a long streamed reply).
        conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT).map_err(open_error)?;
        let checkpointer = match Checkpointer::start(&path) {
            Ok(checkpointer) => Some(checkpointer),
            Err(err) => {
                tracing::warn!(error = %err, "no background checkpoints; SQLite will checkpoint on commit");
                None
            }
        };

        let (commands, queue) = mpsc::channel();
        let writer = thread::Builder::new()
            .name("atelier-store-writer".into())
            .spawn(move || writer::run(conn, queue, checkpointer))
            .map_err(|e| StoreError::open_io(path.clone(), &e))?;

        Ok(Store {
            inner: Arc::new(Inner {
                readers: ReadPool::new(&path, MAX_READERS),
                path,
                commands,
                writer: Mutex::new(Some(writer)),
                closed: AtomicBool::new(false),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    fn enqueue(&self, job: Job) -> Result<(), StoreError> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(StoreError::Closed);
        }
        self.inner.commands.send(Command::Run(job)).map_err(|_| StoreError::Closed)
    }

    /// Runs `f` on the writer thread in its own transaction (committed on `Ok`, rolled back on
    /// `Err`) and returns its result. Jobs run in the order they were enqueued. A panic in `f`
    /// is resumed in the caller; the writer thread carries on.
    ///
    /// If the returned future is dropped after the job was enqueued, the job still runs.
    pub async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.enqueue(Box::new(move |conn| {
            if reply.send(writer::in_transaction(conn, f)).is_err() {
                tracing::debug!("a store write finished after its caller stopped waiting");
            }
        }))?;
        // The sender is dropped unanswered only when the writer stopped before running the job.
        writer::unpack(answer.await.map_err(|_| StoreError::Closed)?)
    }

    /// [`Store::write`] for callers that are not async (start-up, benchmarks). Blocks the
    /// calling thread until the job has run, so don't call it on an async worker thread.
    pub fn write_blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        self.run_blocking(move |conn| writer::in_transaction(conn, f))
    }

    /// Runs `job` on the writer thread with the bare connection and waits for its reply. For
    /// the few jobs that need to do something outside their transaction.
    pub(crate) fn run_blocking<T, J>(&self, job: J) -> Result<T, StoreError>
    where
        T: Send + 'static,
        J: FnOnce(&mut Connection) -> writer::Reply<T> + Send + 'static,
    {
        // A std channel rather than tokio's oneshot: `blocking_recv` panics when called inside a
        // runtime, and a benchmark's `main` may well be one.
        let (reply, answer) = mpsc::sync_channel(1);
        self.enqueue(Box::new(move |conn| {
            if reply.send(job(conn)).is_err() {
                tracing::debug!("a store write finished after its caller stopped waiting");
            }
        }))?;
        writer::unpack(answer.recv().map_err(|_| StoreError::Closed)?)
    }

    /// Enqueues `f` like [`Store::write`] but doesn't wait for it. It runs after every job
    /// enqueued before it and before every job enqueued after it; a failure is logged.
    pub fn write_detached<F>(&self, f: F)
    where
        F: FnOnce(&Transaction<'_>) -> Result<(), StoreError> + Send + 'static,
    {
        let job: Job = Box::new(move |conn| match writer::in_transaction(conn, f) {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::error!(error = %err, "detached store write failed"),
            Err(_) => tracing::error!("detached store write panicked"),
        });
        if self.enqueue(job).is_err() {
            tracing::warn!("store is closed; a detached write was dropped");
        }
    }

    /// Waits until every job enqueued before this call has run (and committed, if it succeeded).
    pub async fn flush(&self) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel::<()>();
        // No transaction: the job only marks its place in the queue.
        self.enqueue(Box::new(move |_| {
            if reply.send(()).is_err() {
                tracing::debug!("a store flush finished after its caller stopped waiting");
            }
        }))?;
        answer.await.map_err(|_| StoreError::Closed)
    }

    /// Runs `f` on a read-only connection, on a blocking thread so no async worker waits on the
    /// disk. Sees everything committed before it started, which includes every `write` that has
    /// returned (but not necessarily `write_detached` jobs: `flush` first if that matters).
    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.clone();
        match tokio::task::spawn_blocking(move || store.read_blocking(f)).await {
            Ok(result) => result,
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            // The runtime is shutting down and dropped the task before it ran.
            Err(_) => Err(StoreError::Closed),
        }
    }

    /// [`Store::read`] on the calling thread. Waits if every read connection is in use.
    pub fn read_blocking<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(StoreError::Closed);
        }
        let conn = self.inner.readers.get()?;
        f(&conn)
    }

    /// Stops the writer thread once the jobs already queued have run, and waits for that; later
    /// calls return `StoreError::Closed`. Dropping the last clone does the same.
    pub fn close(&self) {
        self.inner.shutdown();
    }
}

impl Inner {
    fn shutdown(&self) {
        self.closed.store(true, Ordering::Release);
        if self.commands.send(Command::Shutdown).is_err() {
            tracing::debug!("store writer already stopped");
        }
        // Idle readers go first, so the writer's connection is the last one to close and
        // SQLite removes the emptied WAL file with it.
        self.readers.clear();
        let handle = self.writer.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(handle) = handle {
            // A job that closes the store (or drops its last clone) runs on the writer thread
            // itself; joining would wait forever. The thread ends right after that job anyway.
            if handle.thread().id() != thread::current().id() && handle.join().is_err() {
                tracing::error!("store writer thread panicked");
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The planner's choices for `sql`, one line per step, for tests that pin down index use.
#[cfg(test)]
pub(crate) fn query_plan(store: &Store, sql: &str) -> Vec<String> {
    let explain = format!("EXPLAIN QUERY PLAN {sql}");
    let plan = store.read_blocking(|conn| {
        let mut stmt = conn.prepare(&explain)?;
        // raw_query: the statement's parameters are left unbound, which is fine for EXPLAIN.
        let mut rows = stmt.raw_query();
        let mut steps = Vec::new();
        while let Some(row) = rows.next()? {
            steps.push(row.get::<_, String>(3)?);
        }
        Ok(steps)
    });
    match plan {
        Ok(plan) => plan,
        Err(err) => panic!("cannot explain {sql}: {err}"),
    }
}
