//! Atelier's code understanding: a project's definitions read with tree-sitter, a code index
//! in a SQLite file of its own (full text through FTS5, embeddings in a flat table), hybrid
//! search by reciprocal rank fusion, and the repo map (definitions ranked by PageRank over the
//! graph of which file uses which name, fitted to a token budget).
//!
//! Everything here is blocking (rusqlite, file reads, parsing): callers run it on their own
//! threads or `spawn_blocking`. An [`Index`] may be shared between threads; writes take turns
//! on one connection, reads use a small pool.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::Connection;

mod build;
mod chunk;
mod db;
mod lang;
mod parse;
mod repo_map;
mod search;
mod vectors;
mod words;

pub use build::{Progress, SyncReport};
pub use chunk::{Chunk, MAX_LINES as CHUNK_MAX_LINES, chunk};
pub use db::{MIGRATION_FILES, migrations};
pub use lang::Lang;
pub use parse::{Definition, Parsed, parse};
pub use repo_map::{DEFAULT_BUDGET_TOKENS, estimate_tokens};
pub use search::{Hit, Mode};
pub use words::{alternate_spellings, query_terms, split_identifier};

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("the code index {path} cannot be used: {source}")]
    Sql {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("the code index {path} cannot be upgraded: {message}")]
    Migration { path: String, message: String },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = IndexError> = std::result::Result<T, E>;

/// What one project's index may hold. Past a limit files are left out and counted, and the
/// status says so.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Larger files are skipped (and counted as too large).
    pub max_file_bytes: u64,
    /// At most this many files are indexed.
    pub max_files: usize,
    /// At most this many bytes of text are indexed.
    pub max_total_bytes: u64,
    /// A keyword search ranks at most this many chunks in one step (see `search.rs`): what
    /// keeps a search for words half the project uses fast.
    pub rank_at_most: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 1024 * 1024,
            max_files: 50_000,
            max_total_bytes: 256 * 1024 * 1024,
            rank_at_most: search::RANK_AT_MOST,
        }
    }
}

/// What the index holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub files: u64,
    pub chunks: u64,
    pub symbols: u64,
    pub embedded_chunks: u64,
    /// The model of the stored embeddings.
    pub embedding_model: Option<String>,
    /// When the index last changed (RFC 3339), if ever.
    pub updated_at: Option<String>,
    /// Files left out at the last full pass: binary, too large, past the project's limit.
    pub skipped_binary: u64,
    pub skipped_large: u64,
    pub skipped_over_limit: u64,
}

/// One definition, as `code.symbols` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolRow {
    pub path: String,
    pub name: String,
    pub kind: String,
    pub line: u32,
    pub end_line: u32,
    pub signature: String,
}

/// A project's code index. Cheap to clone.
#[derive(Clone)]
pub struct Index {
    inner: Arc<Inner>,
}

struct Inner {
    db_path: PathBuf,
    root: PathBuf,
    limits: Limits,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// Bumped by every write; caches of the whole index (the repo map's graph, the vectors)
    /// are rebuilt when it moved.
    generation: AtomicU64,
    graph: Mutex<Option<(u64, Arc<repo_map::Graph>)>>,
    vectors: Mutex<Option<(u64, Arc<vectors::Matrix>)>>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index").field("db", &self.inner.db_path).field("root", &self.inner.root).finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Index {
    /// Opens (creating and migrating) the index file `db_path` for the project folder `root`.
    pub fn open(db_path: &Path, root: &Path, limits: Limits) -> Result<Index> {
        let writer = db::open(db_path)?;
        Ok(Index {
            inner: Arc::new(Inner {
                db_path: db_path.to_path_buf(),
                root: root.to_path_buf(),
                limits,
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
                generation: AtomicU64::new(1),
                graph: Mutex::new(None),
                vectors: Mutex::new(None),
            }),
        })
    }

    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    pub fn db_path(&self) -> &Path {
        &self.inner.db_path
    }

    fn sql(&self, source: rusqlite::Error) -> IndexError {
        IndexError::Sql { path: self.inner.db_path.display().to_string(), source }
    }

    fn changed(&self) {
        self.inner.generation.fetch_add(1, Ordering::Relaxed);
    }

    fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Relaxed)
    }

    /// Runs `f` on the write connection (one writer at a time).
    fn write<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T> {
        let mut conn = lock(&self.inner.writer);
        let out = f(&mut conn).map_err(|e| self.sql(e));
        drop(conn);
        self.changed();
        out
    }

    /// Runs `f` on a read connection from the pool (opened when none is free).
    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let conn = lock(&self.inner.readers).pop();
        let conn = match conn {
            Some(c) => c,
            None => db::open_reader(&self.inner.db_path)?,
        };
        let out = f(&conn).map_err(|e| self.sql(e));
        let mut pool = lock(&self.inner.readers);
        if pool.len() < 4 {
            pool.push(conn);
        }
        out
    }

    /// What the index holds now.
    pub fn counts(&self) -> Result<Counts> {
        self.read(|conn| {
            let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).map(|n| n.max(0) as u64);
            let meta = |key: &str| db::meta(conn, key);
            let number = |key: &str| -> rusqlite::Result<u64> {
                Ok(meta(key)?.and_then(|v| v.parse().ok()).unwrap_or(0))
            };
            Ok(Counts {
                files: count("SELECT count(*) FROM files")?,
                chunks: count("SELECT count(*) FROM chunks")?,
                symbols: count("SELECT count(*) FROM symbols")?,
                embedded_chunks: count("SELECT count(*) FROM vectors")?,
                embedding_model: meta("embedding_model")?,
                updated_at: meta("updated_at")?,
                skipped_binary: number("skipped_binary")?,
                skipped_large: number("skipped_large")?,
                skipped_over_limit: number("skipped_over_limit")?,
            })
        })
    }

    /// Removes everything from the index (the next sync reads every file again).
    pub fn clear(&self) -> Result<()> {
        self.write(|conn| {
            let tx = conn.transaction()?;
            tx.execute_batch(
                "DELETE FROM chunks_fts; DELETE FROM names_fts; DELETE FROM vectors; DELETE FROM symbols; DELETE FROM chunks; \
                 DELETE FROM files; DELETE FROM meta WHERE key <> 'embedding_model';",
            )?;
            tx.commit()
        })
    }

    /// The definitions of the project: of one file with `path`, matching `query` (a part of
    /// the name, any spelling: `numctx` finds `choose_num_ctx`), best matches first.
    pub fn symbols(&self, path: Option<&str>, query: Option<&str>, limit: usize) -> Result<Vec<SymbolRow>> {
        let limit = limit.clamp(1, 5_000) as i64;
        let needle =
            query.map(|q| q.chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_lowercase());
        let needle = needle.filter(|n| !n.is_empty());
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT f.path, s.name, s.kind, s.line, s.end_line, s.signature FROM symbols s \
                 JOIN files f ON f.id = s.file_id \
                 WHERE (?1 IS NULL OR f.path = ?1) \
                   AND (?2 IS NULL OR instr(lower(replace(s.name, '_', '')), ?2) > 0) \
                 ORDER BY (?2 IS NOT NULL AND lower(replace(s.name, '_', '')) = ?2) DESC, \
                          (?2 IS NOT NULL AND instr(lower(replace(s.name, '_', '')), ?2) = 1) DESC, \
                          f.path, s.line LIMIT ?3",
            )?;
            let rows = stmt.query_map(rusqlite::params![path, needle, limit], |r| {
                Ok(SymbolRow {
                    path: r.get(0)?,
                    name: r.get(1)?,
                    kind: r.get(2)?,
                    line: r.get(3)?,
                    end_line: r.get(4)?,
                    signature: r.get(5)?,
                })
            })?;
            rows.collect()
        })
    }
}
