//! The code index of each project (atelier-index): opened when a project is opened (someone
//! subscribes to `project/<id>`), created or imported, or first searched; built by a worker
//! thread of its own (one per open project, parsing one file at a time so the machine's cores
//! stay free), kept fresh from the watcher and from writes through the API and workflows, and
//! embedded when the model server has an embedding model. `index.*` and `code.*` answer here.
//!
//! Mode: `hybrid` while chunks have embeddings of a working model, else `keyword`; the status's
//! `message` says which and why. An embedding server that fails never fails a search: the
//! search answers by keywords and the status says so.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use atelier_index::{Index, Limits, Mode};
use atelier_llm::Provider;
use atelier_protocol::{
    CodeHit, CodeSymbol, IndexProgress, IndexStatus, event_types as ev, to_value, topics,
};

use crate::App;
use crate::bus::EventBus;
use crate::error::{CoreError, CoreResult};

/// Chunks embedded per request to the model server.
const EMBED_BATCH: usize = 32;
/// The most characters of a chunk sent to be embedded (small embedding models have small
/// windows; the start of a definition says the most).
const EMBED_CHARS: usize = 2_000;
/// After an embedding failure, the worker waits this long before trying again.
const EMBED_RETRY: Duration = Duration::from_secs(60);
/// How long a search waits for its query's embedding before answering by keywords.
const QUERY_EMBED_TIMEOUT: Duration = Duration::from_secs(5);
/// `index.progress` at most this often.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);
/// How long the master waits for a project's first index pass before planning without it.
const MAP_WAIT: Duration = Duration::from_secs(20);

impl From<atelier_index::IndexError> for CoreError {
    fn from(e: atelier_index::IndexError) -> Self {
        match e {
            atelier_index::IndexError::Invalid(m) => CoreError::InvalidInput(m),
            other => CoreError::Internal(other.to_string()),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

enum Job {
    Sync,
    Rebuild,
    Paths(Vec<String>),
    Embed,
    Stop,
}

/// Where embeddings stand for a project.
#[derive(Debug, Clone)]
enum Embedding {
    /// Not looked at yet.
    Unknown,
    /// No model to use, and why.
    Off(String),
    Model(String),
    Failed {
        model: Option<String>,
        error: String,
        at: Instant,
    },
}

struct Live {
    state: &'static str,
    error: Option<String>,
    embedding: Embedding,
}

/// One open project's index and its worker.
pub(crate) struct ProjectIndex {
    id: String,
    index: Index,
    jobs: Mutex<Sender<Job>>,
    live: Mutex<Live>,
    cancel: AtomicBool,
    /// True once the first full pass of this run has finished.
    ready: tokio::sync::watch::Sender<bool>,
    worker: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl ProjectIndex {
    fn send(&self, job: Job) {
        if lock(&self.jobs).send(job).is_err() {
            tracing::debug!(project = %self.id, "the index worker has stopped");
        }
    }

    fn live(&self) -> MutexGuard<'_, Live> {
        lock(&self.live)
    }
}

/// The open indexes and what their workers share.
pub(crate) struct Indexes {
    dir: PathBuf,
    bus: EventBus,
    provider: Arc<dyn Provider>,
    runtime: tokio::runtime::Handle,
    open: Mutex<HashMap<String, Arc<ProjectIndex>>>,
    /// The `embedding_model` setting: a model name, `off`, or `None` for the server's first.
    embedding_setting: Mutex<Option<String>>,
    limits: Limits,
    /// One opening at a time: two would migrate a new index file at once.
    opening: tokio::sync::Mutex<()>,
}

impl Indexes {
    pub(crate) fn new(data_dir: &Path, bus: EventBus, provider: Arc<dyn Provider>) -> Indexes {
        Indexes {
            dir: data_dir.join("index"),
            bus,
            provider,
            runtime: tokio::runtime::Handle::current(),
            open: Mutex::new(HashMap::new()),
            embedding_setting: Mutex::new(None),
            limits: Limits::default(),
            opening: tokio::sync::Mutex::new(()),
        }
    }

    fn get(&self, project_id: &str) -> Option<Arc<ProjectIndex>> {
        lock(&self.open).get(project_id).cloned()
    }

    /// Hands changed paths to the project's index, if it is open (an index opened later
    /// catches up by itself: its first pass compares every file).
    pub(crate) fn paths_changed(&self, project_id: &str, paths: Vec<String>) {
        if let Some(p) = self.get(project_id)
            && !paths.is_empty()
        {
            p.send(Job::Paths(paths));
        }
    }

    pub(crate) fn set_embedding_setting(&self, value: Option<String>) {
        *lock(&self.embedding_setting) = value;
        for p in lock(&self.open).values() {
            p.live().embedding = Embedding::Unknown;
            p.send(Job::Embed);
        }
    }

    /// Stops every worker (at shutdown).
    pub(crate) fn stop_all(&self) {
        let all: Vec<Arc<ProjectIndex>> = lock(&self.open).drain().map(|(_, p)| p).collect();
        for p in &all {
            p.cancel.store(true, Ordering::Relaxed);
            p.send(Job::Stop);
        }
        for p in all {
            if let Some(handle) = lock(&p.worker).take()
                && handle.join().is_err()
            {
                tracing::warn!(project = %p.id, "the index worker panicked");
            }
        }
    }

    fn status(&self, p: &ProjectIndex) -> CoreResult<IndexStatus> {
        let counts = p.index.counts()?;
        let live = p.live();
        let (mode, message) = match &live.embedding {
            Embedding::Model(model) if counts.embedded_chunks > 0 => {
                let note = (counts.embedded_chunks < counts.chunks).then(|| {
                    format!(
                        "embedding with {model}: {} of {} chunks so far",
                        counts.embedded_chunks, counts.chunks
                    )
                });
                ("hybrid", note)
            }
            Embedding::Model(model) => {
                ("keyword", Some(format!("keyword mode until the first chunks are embedded with {model}")))
            }
            Embedding::Off(reason) => ("keyword", Some(format!("keyword mode: {reason}"))),
            Embedding::Failed { model, error, .. } => (
                "keyword",
                Some(format!(
                    "keyword mode: the embedding model{} failed ({error}); searching by keywords until it answers again",
                    model.as_deref().map(|m| format!(" {m}")).unwrap_or_default()
                )),
            ),
            Embedding::Unknown => ("keyword", None),
        };
        let limit = (counts.skipped_over_limit > 0).then(|| {
            format!(
                "{} files were left out: a project's index holds at most {} files and {} MiB of text",
                counts.skipped_over_limit,
                self.limits.max_files,
                self.limits.max_total_bytes / (1024 * 1024)
            )
        });
        Ok(IndexStatus {
            state: live.state.to_owned(),
            files: counts.files,
            chunks: counts.chunks,
            embedded_chunks: counts.embedded_chunks,
            mode: mode.to_owned(),
            embedding_model: match &live.embedding {
                Embedding::Model(m) => Some(m.clone()),
                _ => counts.embedding_model.clone().filter(|_| counts.embedded_chunks > 0),
            },
            updated_at: counts.updated_at,
            symbols: counts.symbols,
            skipped_binary: counts.skipped_binary,
            skipped_large: counts.skipped_large,
            skipped_over_limit: counts.skipped_over_limit,
            limit,
            message,
            error: live.error.clone(),
        })
    }
}

/// The worker's view of its project.
struct Worker {
    indexes: Arc<Indexes>,
    project: Arc<ProjectIndex>,
}

impl Worker {
    fn topic(&self) -> String {
        topics::project(&self.project.id)
    }

    fn run(self, jobs: Receiver<Job>) {
        let mut backlog: Vec<Job> = Vec::new();
        let mut embed_wanted = false;
        loop {
            if backlog.is_empty() {
                // With embedding left to do, look for new work now and then; otherwise wait.
                let next = if embed_wanted {
                    match jobs.try_recv() {
                        Ok(job) => Some(job),
                        Err(std::sync::mpsc::TryRecvError::Empty) => None,
                        Err(std::sync::mpsc::TryRecvError::Disconnected) => return,
                    }
                } else {
                    match jobs.recv() {
                        Ok(job) => Some(job),
                        Err(_) => return,
                    }
                };
                backlog.extend(next);
            }
            backlog.extend(jobs.try_iter());
            let batch = std::mem::take(&mut backlog);
            if batch.iter().any(|j| matches!(j, Job::Stop)) || self.project.cancel.load(Ordering::Relaxed) {
                return;
            }
            let rebuild = batch.iter().any(|j| matches!(j, Job::Rebuild));
            let full = rebuild || batch.iter().any(|j| matches!(j, Job::Sync));
            let mut paths = BTreeSet::new();
            for job in &batch {
                match job {
                    Job::Paths(p) => paths.extend(p.iter().cloned()),
                    Job::Embed => embed_wanted = true,
                    _ => {}
                }
            }
            if full {
                self.full_pass(rebuild);
                embed_wanted = true;
            } else if !paths.is_empty() {
                let paths: Vec<String> = paths.into_iter().collect();
                match self.project.index.update_paths(&paths) {
                    Ok(report) => {
                        if report.indexed + report.removed > 0 {
                            embed_wanted = true;
                        }
                        self.indexes.bus.publish(
                            &self.topic(),
                            "index.updated",
                            serde_json::json!({ "paths": paths, "indexed": report.indexed, "removed": report.removed }),
                        );
                    }
                    Err(e) => {
                        tracing::warn!(project = %self.project.id, error = %e, "updating the code index")
                    }
                }
            }
            if embed_wanted {
                embed_wanted = self.embed_some();
            }
        }
    }

    fn full_pass(&self, rebuild: bool) {
        self.project.live().state = "indexing";
        self.project.live().error = None;
        let topic = self.topic();
        let bus = self.indexes.bus.clone();
        let mut last = Instant::now() - PROGRESS_EVERY;
        let mut on_progress = |p: atelier_index::Progress| {
            if last.elapsed() >= PROGRESS_EVERY || p.files_done == p.files_total {
                last = Instant::now();
                let progress =
                    IndexProgress { files_done: p.files_done as u64, files_total: p.files_total as u64 };
                bus.publish(&topic, ev::INDEX_PROGRESS, to_value(&progress));
            }
        };
        let cleared = if rebuild { self.project.index.clear() } else { Ok(()) };
        let result = cleared.and_then(|()| self.project.index.sync(&mut on_progress, &self.project.cancel));
        match result {
            Ok(report) => {
                tracing::info!(project = %self.project.id, ?report, "code index pass done");
                self.project.live().state = "ready";
            }
            Err(e) => {
                tracing::warn!(project = %self.project.id, error = %e, "code index pass failed");
                let mut live = self.project.live();
                live.state = "error";
                live.error = Some(e.to_string());
            }
        }
        // Decided before the announcement, so that it says which mode searches use.
        self.model();
        self.project.ready.send_replace(true);
        self.announce();
    }

    fn announce(&self) {
        match self.indexes.status(&self.project) {
            Ok(status) => {
                self.indexes.bus.publish(
                    &self.topic(),
                    ev::INDEX_READY,
                    to_value(&atelier_protocol::IndexReady { status }),
                );
            }
            Err(e) => tracing::warn!(project = %self.project.id, error = %e, "reading the index status"),
        }
    }

    /// The embedding model to use now, deciding it when not known yet. `None` when there is
    /// none or it failed recently.
    fn model(&self) -> Option<String> {
        let current = self.project.live().embedding.clone();
        match current {
            Embedding::Model(m) => return Some(m),
            Embedding::Off(_) => return None,
            Embedding::Failed { at, .. } if at.elapsed() < EMBED_RETRY => return None,
            Embedding::Failed { .. } | Embedding::Unknown => {}
        }
        let setting = lock(&self.indexes.embedding_setting).clone();
        let decided = match setting.as_deref().map(str::trim) {
            Some("off" | "none") => Embedding::Off("embeddings are switched off (setting embedding_model is `off`)".into()),
            Some(model) if !model.is_empty() => Embedding::Model(model.to_owned()),
            _ => match self.indexes.runtime.block_on(self.indexes.provider.embedding_models()) {
                Ok(models) => match models.into_iter().next() {
                    Some(m) => Embedding::Model(m),
                    None => Embedding::Off(
                        "the model server has no embedding model; with Ollama, `ollama pull nomic-embed-text` \
                         (or set embedding_model) turns on hybrid search"
                            .into(),
                    ),
                },
                Err(e) => Embedding::Failed { model: None, error: e.to_string(), at: Instant::now() },
            },
        };
        let model = match &decided {
            Embedding::Model(m) => Some(m.clone()),
            _ => None,
        };
        self.project.live().embedding = decided;
        if let Some(m) = &model
            && let Err(e) = self.project.index.set_embedding_model(m)
        {
            tracing::warn!(project = %self.project.id, error = %e, "switching the embedding model");
        }
        model
    }

    /// Embeds one batch of chunks that have none. `true` while more are left.
    fn embed_some(&self) -> bool {
        let Some(model) = self.model() else { return false };
        let pending = match self.project.index.pending_embeddings(EMBED_BATCH, EMBED_CHARS) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(project = %self.project.id, error = %e, "reading chunks to embed");
                return false;
            }
        };
        if pending.is_empty() {
            return false;
        }
        let texts: Vec<String> = pending.iter().map(|(_, t)| t.clone()).collect();
        match self.indexes.runtime.block_on(self.indexes.provider.embed(&model, &texts)) {
            Ok(vectors) => {
                let items: Vec<(i64, Vec<f32>)> = pending.iter().map(|(id, _)| *id).zip(vectors).collect();
                if let Err(e) = self.project.index.store_embeddings(&items) {
                    tracing::warn!(project = %self.project.id, error = %e, "storing embeddings");
                    return false;
                }
                if pending.len() < EMBED_BATCH {
                    // That was the last of them: say the mode may have changed.
                    self.announce();
                    return false;
                }
                true
            }
            Err(e) => {
                tracing::warn!(project = %self.project.id, model, error = %e, "embedding failed; keyword search only");
                self.project.live().embedding =
                    Embedding::Failed { model: Some(model), error: e.to_string(), at: Instant::now() };
                self.announce();
                false
            }
        }
    }
}

/// Files and names a text mentions: words with `/` or a file extension are paths, other
/// identifier-like words names.
pub(crate) fn focus_of(text: &str) -> (Vec<String>, Vec<String>) {
    let mut files = Vec::new();
    let mut names = Vec::new();
    for word in text.split(|c: char| !(c.is_alphanumeric() || "/._-".contains(c))) {
        let word = word.trim_matches(|c: char| c == '.' || c == '-');
        if word.len() < 3 {
            continue;
        }
        let has_ext = word.rsplit_once('.').is_some_and(|(stem, ext)| {
            !stem.is_empty() && (1..=5).contains(&ext.len()) && ext.chars().all(|c| c.is_ascii_alphanumeric())
        });
        if word.contains('/') || has_ext {
            files.push(word.to_owned());
        } else if word.chars().next().is_some_and(char::is_alphabetic) {
            names.push(word.to_owned());
        }
    }
    files.dedup();
    names.dedup();
    (files, names)
}

impl App {
    pub(crate) fn indexes(&self) -> &Arc<Indexes> {
        &self.inner.indexes
    }

    /// The project's index, opened (and its first pass started) if it is not yet.
    pub(crate) async fn open_index(&self, project_id: &str) -> CoreResult<Arc<ProjectIndex>> {
        if let Some(p) = self.indexes().get(project_id) {
            return Ok(p);
        }
        let _opening = self.indexes().opening.lock().await;
        if let Some(p) = self.indexes().get(project_id) {
            return Ok(p);
        }
        let project = self.store().get_project(project_id).await?;
        let indexes = self.indexes().clone();
        let (id, root) = (project.id.clone(), PathBuf::from(&project.path));
        let db = indexes.dir.join(format!("{id}.db"));
        let limits = indexes.limits.clone();
        let index = tokio::task::spawn_blocking(move || Index::open(&db, &root, limits))
            .await
            .map_err(|e| CoreError::Internal(format!("index task failed: {e}")))??;
        let (tx, rx) = channel();
        let project = Arc::new(ProjectIndex {
            id: id.clone(),
            index,
            jobs: Mutex::new(tx),
            live: Mutex::new(Live { state: "indexing", error: None, embedding: Embedding::Unknown }),
            cancel: AtomicBool::new(false),
            ready: tokio::sync::watch::channel(false).0,
            worker: Mutex::new(None),
        });
        {
            let mut open = lock(&indexes.open);
            if let Some(existing) = open.get(&id) {
                return Ok(existing.clone());
            }
            open.insert(id.clone(), project.clone());
        }
        let worker = Worker { indexes: indexes.clone(), project: project.clone() };
        let handle = std::thread::Builder::new()
            .name(format!("index-{id}"))
            .spawn(move || worker.run(rx))
            .map_err(|e| CoreError::io("starting the index worker", e))?;
        *lock(&project.worker) = Some(handle);
        project.send(Job::Sync);
        Ok(project)
    }

    /// Opens the index in the background (callers that only want it to start).
    pub(crate) fn start_index(&self, project_id: &str) {
        let (app, id) = (self.clone(), project_id.to_owned());
        self.spawn(async move {
            if let Err(e) = app.open_index(&id).await {
                tracing::warn!(project = %id, error = %e, "cannot open the code index");
            }
        });
    }

    /// Tells the project's index that `paths` (relative, with `/`) changed on disk: for writes
    /// that no watcher sees (tools, scripts). Cheap; the work happens on the index's thread.
    pub fn index_paths_changed(&self, project_id: &str, paths: Vec<String>) {
        self.indexes().paths_changed(project_id, paths);
    }

    /// Stops a deleted project's index and removes its file.
    pub(crate) async fn drop_index(&self, project_id: &str) {
        self.stop_index(project_id, true).await;
    }

    /// Stops an archived project's index work; its file stays for when it is opened again.
    pub(crate) async fn close_index(&self, project_id: &str) {
        self.stop_index(project_id, false).await;
    }

    async fn stop_index(&self, project_id: &str, remove: bool) {
        let project = lock(&self.indexes().open).remove(project_id);
        let db = self.indexes().dir.join(format!("{project_id}.db"));
        let result = tokio::task::spawn_blocking(move || {
            if let Some(p) = project {
                p.cancel.store(true, Ordering::Relaxed);
                p.send(Job::Stop);
                if let Some(handle) = lock(&p.worker).take()
                    && handle.join().is_err()
                {
                    tracing::warn!("the index worker panicked");
                }
            }
            for suffix in ["", "-wal", "-shm"].into_iter().filter(|_| remove) {
                let file = PathBuf::from(format!("{}{suffix}", db.display()));
                match std::fs::remove_file(&file) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => tracing::warn!(file = %file.display(), error = %e, "removing the code index"),
                }
            }
        })
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "index removal task failed");
        }
    }

    pub async fn index_status(&self, project_id: &str) -> CoreResult<IndexStatus> {
        let p = self.open_index(project_id).await?;
        let indexes = self.indexes().clone();
        tokio::task::spawn_blocking(move || indexes.status(&p))
            .await
            .map_err(|e| CoreError::Internal(format!("index task failed: {e}")))?
    }

    /// Reads every file again (and embeds anew); progress as events.
    pub async fn index_rebuild(&self, project_id: &str) -> CoreResult<()> {
        let p = self.open_index(project_id).await?;
        {
            let mut live = p.live();
            live.embedding = Embedding::Unknown;
            live.state = "indexing";
        }
        p.send(Job::Rebuild);
        Ok(())
    }

    /// The best chunks for `query`: `mode` `auto` (hybrid when embeddings are there),
    /// `keyword` or `semantic`. Never fails for the query's sake: any text gives results or
    /// none, and an embedding server that fails gives keyword results (the status says so).
    pub async fn code_search(
        &self,
        project_id: &str,
        query: &str,
        limit: Option<u32>,
        mode: Option<&str>,
    ) -> CoreResult<Vec<CodeHit>> {
        let wanted = match mode.unwrap_or("auto") {
            "auto" | "" => Mode::Hybrid,
            "keyword" => Mode::Keyword,
            "semantic" => Mode::Semantic,
            other => {
                return Err(CoreError::InvalidInput(format!(
                    "`{}` is not a search mode; use auto, keyword or semantic",
                    other.chars().take(40).collect::<String>()
                )));
            }
        };
        let limit = limit.unwrap_or(20).clamp(1, 200) as usize;
        let p = self.open_index(project_id).await?;
        let vector = if wanted == Mode::Keyword { None } else { self.query_vector(&p, query).await };
        let (index, query) = (p.index.clone(), query.to_owned());
        let hits =
            tokio::task::spawn_blocking(move || index.search(&query, limit, wanted, vector.as_deref()))
                .await
                .map_err(|e| CoreError::Internal(format!("search task failed: {e}")))??;
        Ok(hits
            .into_iter()
            .map(|h| CodeHit {
                path: h.path,
                start_line: h.start_line,
                end_line: h.end_line,
                symbol: h.symbol,
                line: h.line,
                snippet: h.snippet,
                score: h.score,
            })
            .collect())
    }

    /// The query's embedding when the project has embeddings of a working model; `None` (and
    /// the status says why) otherwise.
    async fn query_vector(&self, p: &Arc<ProjectIndex>, query: &str) -> Option<Vec<f32>> {
        let model = match &p.live().embedding {
            Embedding::Model(m) => m.clone(),
            _ => return None,
        };
        if query.trim().is_empty() {
            return None;
        }
        let text: String = query.chars().take(EMBED_CHARS).collect();
        let provider = self.provider().clone();
        let answer = tokio::time::timeout(QUERY_EMBED_TIMEOUT, provider.embed(&model, &[text])).await;
        let error = match answer {
            Ok(Ok(mut vectors)) if vectors.len() == 1 => return vectors.pop(),
            Ok(Ok(_)) => "the server answered no embedding".to_owned(),
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {} s", QUERY_EMBED_TIMEOUT.as_secs()),
        };
        tracing::warn!(project = %p.id, model, error, "query embedding failed; keyword search");
        p.live().embedding = Embedding::Failed { model: Some(model), error, at: Instant::now() };
        None
    }

    /// The project's definitions: of one file, or matching `query` (part of a name, any
    /// spelling), best matches first.
    pub async fn code_symbols(
        &self,
        project_id: &str,
        path: Option<String>,
        query: Option<String>,
        limit: Option<u32>,
    ) -> CoreResult<Vec<CodeSymbol>> {
        let p = self.open_index(project_id).await?;
        let limit = limit.unwrap_or(200).clamp(1, 5_000) as usize;
        let index = p.index.clone();
        let rows =
            tokio::task::spawn_blocking(move || index.symbols(path.as_deref(), query.as_deref(), limit))
                .await
                .map_err(|e| CoreError::Internal(format!("symbols task failed: {e}")))??;
        Ok(rows
            .into_iter()
            .map(|s| CodeSymbol {
                path: s.path,
                name: s.name,
                kind: s.kind,
                line: s.line,
                end_line: s.end_line,
                signature: s.signature,
            })
            .collect())
    }

    /// The repo map for a prompt: the project's most important definitions, favouring the
    /// paths and names in `focus` (a request's words will do), within `budget_tokens` (default
    /// 1,500). Empty while nothing is indexed.
    pub async fn repo_map(
        &self,
        project_id: &str,
        focus: &[String],
        budget_tokens: Option<usize>,
    ) -> CoreResult<String> {
        let p = self.open_index(project_id).await?;
        let (files, names) = focus_of(&focus.join(" "));
        let budget = budget_tokens.unwrap_or(atelier_index::DEFAULT_BUDGET_TOKENS).clamp(50, 50_000);
        let index = p.index.clone();
        Ok(tokio::task::spawn_blocking(move || index.repo_map(&files, &names, budget))
            .await
            .map_err(|e| CoreError::Internal(format!("repo map task failed: {e}")))??)
    }
}

/// The master's repo map, from the app's index: waits (a while) for a project's first pass.
pub(crate) struct IndexKnowledge(pub std::sync::Weak<crate::Inner>);

impl atelier_agents::Knowledge for IndexKnowledge {
    fn repo_map(
        &self,
        project_id: String,
        request: String,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<String>> + Send>> {
        let inner = self.0.upgrade();
        Box::pin(async move {
            let app = App { inner: inner? };
            let p = app.open_index(&project_id).await.ok()?;
            let mut ready = p.ready.subscribe();
            if tokio::time::timeout(MAP_WAIT, ready.wait_for(|r| *r)).await.is_err() {
                tracing::info!(project = %project_id, "planning before the code index is complete");
            }
            match app.repo_map(&project_id, &[request], None).await {
                Ok(map) => Some(map),
                Err(e) => {
                    tracing::warn!(project = %project_id, error = %e, "no repo map for the master");
                    None
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::focus_of;

    #[test]
    fn a_request_names_files_and_identifiers() {
        let (files, names) =
            focus_of("Make choose_num_ctx in crates/llm/src/lib.rs return more; see README.md.");
        assert_eq!(files, ["crates/llm/src/lib.rs", "README.md"]);
        assert!(names.contains(&"choose_num_ctx".to_owned()), "{names:?}");
        assert!(names.contains(&"Make".to_owned()));
        assert!(!names.iter().any(|n| n.len() < 3));
    }
}
