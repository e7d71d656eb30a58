//! Building and updating the index: a full pass walks the project (`.gitignore` honoured) and
//! re-reads only files whose size or modification time moved, re-parsing only those whose
//! content hash changed; an update does the same for the paths a watcher reported. Binary and
//! too large files, and files past the project's limit, are left out and counted.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::UNIX_EPOCH;

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use rusqlite::{Transaction, params};
use sha2::{Digest, Sha256};

use crate::chunk::chunk;
use crate::db::{names_row, set_meta};
use crate::lang::Lang;
use crate::parse::{Definition, parse};
use crate::words::alternate_spellings;
use crate::{Index, IndexError, Result};

/// Files written per transaction during a full pass: progress becomes visible to searches as
/// it goes, and one commit per file would cost more than the parsing.
const BATCH: usize = 200;

/// How far a full pass has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub files_done: usize,
    pub files_total: usize,
}

/// What a pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Files the walk found (or paths an update was given).
    pub files_total: usize,
    /// Files (re-)parsed and written.
    pub indexed: usize,
    pub unchanged: usize,
    pub removed: usize,
    pub skipped_binary: usize,
    pub skipped_large: usize,
    pub skipped_over_limit: usize,
    /// The pass stopped early because it was asked to.
    pub cancelled: bool,
}

/// A file found on disk.
struct Found {
    path: String,
    size: u64,
    mtime_ns: i64,
}

struct Known {
    id: i64,
    size: u64,
    mtime_ns: i64,
    hash: String,
}

/// A file read and cut up, ready to be written.
struct Prepared {
    path: String,
    hash: String,
    size: u64,
    mtime_ns: i64,
    lang: Option<Lang>,
    lines: u32,
    definitions: Vec<Definition>,
    refs: String,
    chunks: Vec<PreparedChunk>,
}

struct PreparedChunk {
    start_line: u32,
    end_line: u32,
    symbol: Option<String>,
    kind: Option<String>,
    symbols: String,
    body: String,
    words: String,
}

enum Read {
    Missing,
    Binary,
    TooLarge,
    /// Same content as indexed: only the size and time are refreshed.
    Same {
        hash: String,
        size: u64,
        mtime_ns: i64,
    },
    Changed(Box<Prepared>),
}

fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Threads that read and parse ahead during a full pass: parsing dominates a first pass, and
/// each file's is independent of the others'.
fn readers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4)
}

/// Readers run at a lower priority (nice 10) on Linux: a first pass uses every core, and a
/// model server or the UI on the same machine should not wait for it. Elsewhere they run at
/// the normal priority (macOS and Windows have no per-thread nice).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 10) {
        tracing::debug!(error = %e, "cannot lower the index reader's priority");
    }
}

/// Reads and parses, in parallel, the files of `window` the pass will read: `wanted` holds,
/// for each, the hash indexed now (`None` for a file not known) or `Skip` for one whose size
/// and time did not move. `None` where nothing was read.
fn read_window(root: &Path, window: &[Found], wanted: &[Wanted], max_bytes: u64) -> Vec<Option<Read>> {
    let todo: Vec<usize> = (0..window.len()).filter(|&i| !matches!(wanted[i], Wanted::Skip)).collect();
    let mut out: Vec<Option<Read>> = (0..window.len()).map(|_| None).collect();
    if todo.is_empty() {
        return out;
    }
    let threads = readers().min(todo.len());
    // Each reader takes the next file when it is done with one, so they finish together.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let read: Vec<(usize, Read)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (todo, next) = (&todo, &next);
                scope.spawn(move || {
                    lower_priority();
                    let mut read = Vec::new();
                    while let Some(&i) = todo.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let known = match &wanted[i] {
                            Wanted::Read(hash) => hash.as_deref(),
                            Wanted::Skip => None,
                        };
                        read.push((i, read_file(root, &window[i].path, known, max_bytes)));
                    }
                    read
                })
            })
            .collect();
        // A worker that panicked (a grammar bug) leaves its files to be read in order.
        workers.into_iter().flat_map(|w| w.join().unwrap_or_default()).collect()
    });
    for (i, r) in read {
        out[i] = Some(r);
    }
    out
}

/// Whether a full pass will read a file.
enum Wanted {
    /// Same size and time as indexed: not read.
    Skip,
    /// Read, compared with the hash indexed now (if any).
    Read(Option<String>),
}

/// Reads and cuts up one file, unless it is binary, too large, gone, or the same as `known`.
fn read_file(root: &Path, path: &str, known_hash: Option<&str>, max_bytes: u64) -> Read {
    let full = root.join(path);
    let Ok(meta) = std::fs::metadata(&full) else { return Read::Missing };
    if !meta.is_file() {
        return Read::Missing;
    }
    if meta.len() > max_bytes {
        return Read::TooLarge;
    }
    let Ok(bytes) = std::fs::read(&full) else { return Read::Missing };
    let size = bytes.len() as u64;
    let mtime_ns = mtime_ns(&meta);
    if bytes.iter().take(8000).any(|b| *b == 0) {
        return Read::Binary;
    }
    let hash = hash(&bytes);
    if known_hash == Some(hash.as_str()) {
        return Read::Same { hash, size, mtime_ns };
    }
    let Ok(text) = String::from_utf8(bytes) else { return Read::Binary };
    Read::Changed(Box::new(prepare(path, &text, hash, size, mtime_ns)))
}

/// Parses (when the language has a grammar) and chunks a file's text.
fn prepare(path: &str, text: &str, hash: String, size: u64, mtime_ns: i64) -> Prepared {
    let lang = Lang::of_path(path);
    let parsed = lang.and_then(|l| parse(l, text)).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let chunks = chunk(&lines, &parsed.definitions)
        .into_iter()
        .map(|c| {
            let from = (c.start_line as usize).saturating_sub(1);
            let to = (c.end_line as usize).min(lines.len());
            let body = lines.get(from..to).map(|l| l.join("\n")).unwrap_or_default();
            let words = alternate_spellings(&body);
            PreparedChunk {
                start_line: c.start_line,
                end_line: c.end_line,
                symbol: c.symbol,
                kind: c.kind,
                symbols: c.symbols.join(" "),
                body,
                words,
            }
        })
        .collect();
    let mut refs: Vec<(&String, &u32)> = parsed.references.iter().collect();
    refs.sort();
    let refs = refs.into_iter().map(|(name, n)| format!("{name} {n}\n")).collect();
    Prepared {
        path: path.to_owned(),
        hash,
        size,
        mtime_ns,
        lang,
        lines: lines.len() as u32,
        definitions: parsed.definitions,
        refs,
        chunks,
    }
}

fn remove(tx: &Transaction, id: i64) -> rusqlite::Result<()> {
    tx.execute("DELETE FROM chunks_fts WHERE rowid IN (SELECT id FROM chunks WHERE file_id = ?1)", [id])?;
    tx.execute("DELETE FROM names_fts WHERE rowid IN (SELECT id FROM chunks WHERE file_id = ?1)", [id])?;
    tx.execute("DELETE FROM files WHERE id = ?1", [id])?;
    Ok(())
}

fn store(tx: &Transaction, old: Option<i64>, p: &Prepared) -> rusqlite::Result<()> {
    if let Some(id) = old {
        remove(tx, id)?;
    }
    tx.execute(
        "INSERT INTO files (path, hash, size, mtime_ns, language, lines, refs) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![p.path, p.hash, p.size as i64, p.mtime_ns, p.lang.map(Lang::name), p.lines, p.refs],
    )?;
    let file_id = tx.last_insert_rowid();
    let mut chunk_stmt = tx.prepare_cached(
        "INSERT INTO chunks (file_id, start_line, end_line, symbol, kind) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut fts_stmt = tx.prepare_cached(
        "INSERT INTO chunks_fts (rowid, path, symbols, body, words) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut names_stmt =
        tx.prepare_cached("INSERT INTO names_fts (rowid, path, symbols) VALUES (?1, ?2, ?3)")?;
    for c in &p.chunks {
        chunk_stmt.execute(params![file_id, c.start_line, c.end_line, c.symbol, c.kind])?;
        let chunk_id = tx.last_insert_rowid();
        fts_stmt.execute(params![chunk_id, p.path, c.symbols, c.body, c.words])?;
        let (path, symbols) = names_row(&p.path, &c.symbols);
        names_stmt.execute(params![chunk_id, path, symbols])?;
    }
    let mut symbol_stmt = tx.prepare_cached(
        "INSERT INTO symbols (file_id, name, kind, line, end_line, signature) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for d in &p.definitions {
        symbol_stmt.execute(params![file_id, d.name, d.kind, d.start_line, d.end_line, d.signature])?;
    }
    Ok(())
}

fn touch(tx: &Transaction, id: i64, hash: &str, size: u64, mtime_ns: i64) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE files SET hash = ?2, size = ?3, mtime_ns = ?4 WHERE id = ?1",
        params![id, hash, size as i64, mtime_ns],
    )
    .map(|_| ())
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The root `.gitignore` (a watcher's paths are already filtered; this covers paths handed
/// over by a write through the API or an agent).
fn root_ignore(root: &Path) -> Gitignore {
    let mut builder = GitignoreBuilder::new(root);
    if let Some(e) = builder.add(root.join(".gitignore")) {
        tracing::debug!(error = %e, "no usable .gitignore");
    }
    builder.build().unwrap_or_else(|_| Gitignore::empty())
}

impl Index {
    fn known(&self) -> Result<HashMap<String, Known>> {
        self.read(|conn| {
            let mut stmt = conn.prepare("SELECT path, id, size, mtime_ns, hash FROM files")?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    Known {
                        id: r.get(1)?,
                        size: r.get::<_, i64>(2)? as u64,
                        mtime_ns: r.get(3)?,
                        hash: r.get(4)?,
                    },
                ))
            })?;
            rows.collect()
        })
    }

    /// The files the tree shows: `.git` and what `.gitignore` ignores left out; names that are
    /// not UTF-8 too (no API path can name them).
    fn walk(&self) -> Vec<Found> {
        let mut found: Vec<Found> = ignore::WalkBuilder::new(self.root())
            .hidden(false)
            .git_ignore(true)
            .git_exclude(true)
            .git_global(false)
            .require_git(false)
            .filter_entry(|e| e.file_name() != ".git")
            .build()
            .flatten()
            .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
            .filter_map(|e| {
                let relative = e.path().strip_prefix(self.root()).ok()?.to_str()?.replace('\\', "/");
                let meta = e.metadata().ok()?;
                Some(Found { path: relative, size: meta.len(), mtime_ns: mtime_ns(&meta) })
            })
            .collect();
        found.sort_by(|a, b| a.path.cmp(&b.path));
        found
    }

    /// A full pass: every file of the project is checked, changed ones re-indexed, vanished
    /// ones removed. `on_progress` hears about every 50 files; `cancel` stops between files.
    pub fn sync(&self, on_progress: &mut dyn FnMut(Progress), cancel: &AtomicBool) -> Result<SyncReport> {
        let root = self.root().to_path_buf();
        if !root.is_dir() {
            return Err(IndexError::Invalid(format!("the project folder {} does not exist", root.display())));
        }
        let found = self.walk();
        let mut known = self.known()?;
        let limits = self.inner.limits.clone();
        let mut report = SyncReport { files_total: found.len(), ..SyncReport::default() };
        on_progress(Progress { files_done: 0, files_total: found.len() });
        let wanted: Vec<Wanted> = found
            .iter()
            .map(|f| match known.get(&f.path) {
                Some(k) if k.size == f.size && k.mtime_ns == f.mtime_ns => Wanted::Skip,
                k => Wanted::Read(k.map(|k| k.hash.clone())),
            })
            .collect();
        // Set once the project's file limit is reached: nothing after is worth reading ahead.
        let full = AtomicBool::new(false);
        // A reader thread reads and parses the next window of files (on every core) while
        // this one writes the last: writing and parsing overlap. Reading ahead is free of
        // effects; what to do with each file is still decided here, in order.
        std::thread::scope(|scope| -> Result<()> {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Option<Read>>>(1);
            let (found_ref, wanted_ref, root_ref, full_ref) = (&found, &wanted, &root, &full);
            let max_file_bytes = limits.max_file_bytes;
            scope.spawn(move || {
                for (window, wanted) in found_ref.chunks(BATCH).zip(wanted_ref.chunks(BATCH)) {
                    let read = if cancel.load(Ordering::Relaxed) || full_ref.load(Ordering::Relaxed) {
                        Vec::new()
                    } else {
                        read_window(root_ref, window, wanted, max_file_bytes)
                    };
                    if tx.send(read).is_err() {
                        break;
                    }
                }
            });
            let (mut files, mut bytes) = (0usize, 0u64);
            let mut batch: Vec<(Option<i64>, Read)> = Vec::new();
            let mut ahead: Vec<Option<Read>> = Vec::new();
            for (i, file) in found.iter().enumerate() {
                if cancel.load(Ordering::Relaxed) {
                    report.cancelled = true;
                    break;
                }
                if i % BATCH == 0 {
                    // A reader that panicked (a grammar bug) leaves the files to be read here.
                    ahead = rx.recv().unwrap_or_default();
                }
                let prefetched = ahead.get_mut(i % BATCH).and_then(Option::take);
                let old = known.remove(&file.path);
                let over = file.size > limits.max_file_bytes;
                if !over && (files >= limits.max_files || bytes + file.size > limits.max_total_bytes) {
                    report.skipped_over_limit += 1;
                    if let Some(old) = old {
                        batch.push((Some(old.id), Read::Missing));
                    }
                } else if matches!(wanted[i], Wanted::Skip) {
                    report.unchanged += 1;
                    files += 1;
                    bytes += file.size;
                } else {
                    let read = match prefetched {
                        Some(read) => read,
                        None => read_file(
                            &root,
                            &file.path,
                            old.as_ref().map(|k| k.hash.as_str()),
                            limits.max_file_bytes,
                        ),
                    };
                    match &read {
                        Read::Binary => report.skipped_binary += 1,
                        Read::TooLarge => report.skipped_large += 1,
                        Read::Missing => {}
                        Read::Same { .. } => {
                            report.unchanged += 1;
                            files += 1;
                            bytes += file.size;
                        }
                        Read::Changed(_) => {
                            report.indexed += 1;
                            files += 1;
                            bytes += file.size;
                        }
                    }
                    match (&read, old) {
                        (Read::Binary | Read::TooLarge | Read::Missing, None) => {}
                        (_, old) => batch.push((old.map(|k| k.id), read)),
                    }
                }
                if files >= limits.max_files {
                    full.store(true, Ordering::Relaxed);
                }
                if batch.len() >= BATCH {
                    self.write_batch(std::mem::take(&mut batch))?;
                }
                if (i + 1) % 50 == 0 {
                    on_progress(Progress { files_done: i + 1, files_total: found.len() });
                }
            }
            if !report.cancelled {
                // What is indexed but no longer on disk (or now ignored) leaves the index.
                report.removed = known.len();
                batch.extend(std::mem::take(&mut known).into_values().map(|k| (Some(k.id), Read::Missing)));
            }
            self.write_batch(batch)
        })?;
        let counts = [
            ("skipped_binary", report.skipped_binary),
            ("skipped_large", report.skipped_large),
            ("skipped_over_limit", report.skipped_over_limit),
        ];
        self.write(|conn| {
            for (key, n) in counts {
                set_meta(conn, key, &n.to_string())?;
            }
            set_meta(conn, "updated_at", &now())
        })?;
        on_progress(Progress { files_done: found.len(), files_total: found.len() });
        Ok(report)
    }

    fn write_batch(&self, batch: Vec<(Option<i64>, Read)>) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.write(|conn| {
            let tx = conn.transaction()?;
            for (old, read) in &batch {
                match (old, read) {
                    (_, Read::Changed(p)) => store(&tx, *old, p)?,
                    (Some(id), Read::Same { hash, size, mtime_ns }) => {
                        touch(&tx, *id, hash, *size, *mtime_ns)?
                    }
                    (Some(id), Read::Missing | Read::Binary | Read::TooLarge) => remove(&tx, *id)?,
                    (None, _) => {}
                }
            }
            tx.commit()
        })
    }

    /// Brings the index up to date for `paths` (relative, with `/`): files or folders that
    /// changed, appeared or went away. Only files whose content hash moved are parsed again.
    pub fn update_paths(&self, paths: &[String]) -> Result<SyncReport> {
        let root = self.root().to_path_buf();
        let ignored = root_ignore(&root);
        let limits = self.inner.limits.clone();
        let mut report = SyncReport { files_total: paths.len(), ..SyncReport::default() };
        let mut batch = Vec::new();
        let indexed_files =
            self.read(|c| c.query_row("SELECT count(*) FROM files", [], |r| r.get::<_, i64>(0)))?;
        for path in paths {
            let path = path.trim_matches('/');
            if path.is_empty() || path.split('/').any(|c| c == ".git" || c == "..") {
                continue;
            }
            let full = root.join(path);
            let gone_folder = !full.exists() && {
                let prefix = format!("{path}/");
                self.read(|c| {
                    c.query_row(
                        "SELECT EXISTS (SELECT 1 FROM files WHERE substr(path, 1, length(?1)) = ?1)",
                        [&prefix],
                        |r| r.get::<_, bool>(0),
                    )
                })?
            };
            if full.is_dir() || gone_folder {
                // A folder: what is indexed under it is checked one by one, and what is new
                // in it is added.
                let prefix = format!("{path}/");
                let under: Vec<String> = self.read(|c| {
                    let mut stmt =
                        c.prepare("SELECT path FROM files WHERE substr(path, 1, length(?1)) = ?1")?;
                    let rows = stmt.query_map([&prefix], |r| r.get::<_, String>(0))?;
                    rows.collect()
                })?;
                let mut inner: Vec<String> = under;
                inner.extend(
                    ignore::WalkBuilder::new(&full)
                        .hidden(false)
                        .require_git(false)
                        .filter_entry(|e| e.file_name() != ".git")
                        .build()
                        .flatten()
                        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
                        .filter_map(|e| {
                            Some(e.path().strip_prefix(&root).ok()?.to_str()?.replace('\\', "/"))
                        }),
                );
                inner.sort();
                inner.dedup();
                let sub = self.update_paths(&inner)?;
                report.indexed += sub.indexed;
                report.removed += sub.removed;
                report.unchanged += sub.unchanged;
                continue;
            }
            let known = self.read(|c| {
                use rusqlite::OptionalExtension;
                c.query_row("SELECT id, size, mtime_ns, hash FROM files WHERE path = ?1", [path], |r| {
                    Ok(Known {
                        id: r.get(0)?,
                        size: r.get::<_, i64>(1)? as u64,
                        mtime_ns: r.get(2)?,
                        hash: r.get(3)?,
                    })
                })
                .optional()
            })?;
            let is_ignored = ignored.matched_path_or_any_parents(path, false).is_ignore();
            let read = if is_ignored {
                Read::Missing
            } else if known.is_none() && indexed_files as usize >= limits.max_files {
                report.skipped_over_limit += 1;
                continue;
            } else {
                read_file(&root, path, known.as_ref().map(|k| k.hash.as_str()), limits.max_file_bytes)
            };
            match &read {
                Read::Changed(_) => report.indexed += 1,
                Read::Same { .. } => report.unchanged += 1,
                Read::Missing if known.is_some() => report.removed += 1,
                Read::Binary => report.skipped_binary += 1,
                Read::TooLarge => report.skipped_large += 1,
                Read::Missing => {}
            }
            match (read, known) {
                (Read::Binary | Read::TooLarge | Read::Missing, None) => {}
                (read, known) => batch.push((known.map(|k| k.id), read)),
            }
        }
        let wrote = !batch.is_empty();
        self.write_batch(batch)?;
        if wrote {
            self.write(|conn| set_meta(conn, "updated_at", &now()))?;
        }
        Ok(report)
    }
}
