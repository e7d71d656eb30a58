//! The workflow engine: a master plans, managers refine each module, coders write each file in
//! parallel, an optional check runs, and the result is committed — durably and under control.
//!
//! Durability: every step has an idempotency key (`plan`, `manager:<module>`, `coder:<path>`,
//! `written:<path>`, `fix:<round>:<path>`, `rewritten:<round>:<path>`, `commit`). A model
//! call's result is recorded under its key before its effect (writing a file, committing) is
//! applied. A resumed or retried workflow reuses every recorded result, so no recorded model
//! call is made again and no effect is applied twice.
//!
//! Control: `pause` cancels the calls in flight (they run again on resume) and starts no new
//! step; `cancel` aborts everything and ends the workflow; files already written stay.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use atelier_llm::{ChatMessage, ChatRequest, Delta, LlmError, Provider};
use atelier_sandbox::{Policy, RunSpec, Sandbox};
use atelier_store::{AgentRow, Store, StoreError, WorkflowRow, new_id, now};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, watch};
use tokio_util::sync::CancellationToken;

use crate::plan::{self, Plan};
use crate::{edit, extract};

mod prompt;
mod review;
mod tooled;

pub use prompt::project_context;
pub use review::{Accepted, Decision, FileChange, Hunk, apply_hunks, change, pending_review};

/// Where the workflow's check command runs: the app's sandbox and the person's policy for a
/// project (the settings `sandbox.*`). An error says why no command can run now (the sandbox
/// asked for cannot start); the check then fails with it, never running unconfined instead.
pub trait Confine: Send + Sync + 'static {
    fn sandbox(&self, project: &Path) -> Result<(Arc<Sandbox>, Policy), String>;
}

impl<F> Confine for F
where
    F: Fn(&Path) -> Result<(Arc<Sandbox>, Policy), String> + Send + Sync + 'static,
{
    fn sandbox(&self, project: &Path) -> Result<(Arc<Sandbox>, Policy), String> {
        self(project)
    }
}

/// How long a check may run before it is stopped (and counts as failed).
const CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);
/// How much of a check's output is kept (and shown to the coders who fix it).
const CHECK_OUTPUT_CAP: usize = 256 * 1024;

/// Where the engine announces what happens; the app publishes these on its event bus.
pub trait Events: Send + Sync + 'static {
    fn publish(&self, topic: &str, kind: &str, data: Value);
}

/// What the app knows about a project beyond its files, for the master's context: the repo map
/// (its most used definitions for the request). The app provides it from its code index, so
/// this crate does not depend on the index.
pub trait Knowledge: Send + Sync + 'static {
    /// The repo map for `request`, ready for a prompt; `None` when there is none.
    fn repo_map(
        &self,
        project_id: String,
        request: String,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<String>> + Send>>;
}

/// Limits that stop a looping model with a clear reason.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Budget {
    pub max_tokens: u64,
    pub max_calls: u32,
    pub max_seconds: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Self { max_tokens: 2_000_000, max_calls: 400, max_seconds: 3_600 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Options {
    /// Wait in `awaiting_approval` until the plan is approved.
    pub approve_plan: bool,
    /// How many coders write at once.
    pub max_parallel: usize,
    /// A command that checks the result; the plan's `verify` when absent.
    pub verify: Option<String>,
    pub max_fix_rounds: u32,
    pub model: Option<String>,
    /// A model per agent role (`master`, `manager`, `coder`), e.g. a strong one to plan and a
    /// fast one to write; roles not named use `model`.
    pub models: std::collections::BTreeMap<String, String>,
    pub budget: Budget,
    /// The master explores the project with read tools before it plans, and coders read the
    /// files they depend on before they write (an agent loop each). Default on.
    pub tools: bool,
    /// Wait in `reviewing` after the coders and the check until the person accepts or rejects
    /// each file (or hunk); only what was accepted is committed.
    pub review: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            approve_plan: false,
            max_parallel: 4,
            verify: None,
            max_fix_rounds: 2,
            model: None,
            models: Default::default(),
            budget: Budget::default(),
            tools: true,
            review: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error("workflow `{0}` not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Llm(#[from] LlmError),
    #[error("the plan is not usable: {0}")]
    Plan(String),
    #[error("the budget is spent: {0}")]
    Budget(String),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error(transparent)]
    Git(#[from] atelier_git::GitError),
    #[error("cancelled")]
    Cancelled,
    /// The check could not run confined (the sandbox cannot start, or refused the command).
    #[error("the check cannot run: {0}")]
    Sandbox(String),
}

impl WorkflowError {
    pub fn retryable(&self) -> bool {
        match self {
            WorkflowError::Llm(e) => e.retryable(),
            _ => false,
        }
    }
}

type Result<T, E = WorkflowError> = std::result::Result<T, E>;

/// How often a step whose model call failed in a retryable way is tried again (the provider
/// already retried errors before the first token; these are replies that broke off).
const STEP_RETRIES: u32 = 3;

/// A running workflow's controls.
struct Control {
    cancel: CancellationToken,
    paused: watch::Sender<bool>,
    /// Calls in flight use a child of this; pausing cancels it and puts a fresh one in its place.
    epoch: Mutex<CancellationToken>,
    approval: watch::Sender<Option<Option<Plan>>>,
    review: watch::Sender<Option<review::Decision>>,
}

impl Control {
    fn epoch(&self) -> MutexGuard<'_, CancellationToken> {
        self.epoch.lock().unwrap_or_else(|p| p.into_inner())
    }
}

struct Inner {
    store: Store,
    provider: Arc<dyn Provider>,
    events: Arc<dyn Events>,
    default_model: Option<String>,
    confine: Arc<dyn Confine>,
    running: Mutex<HashMap<String, Arc<Control>>>,
    knowledge: std::sync::OnceLock<Arc<dyn Knowledge>>,
}

/// Starts, controls and resumes workflows. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

/// The parts of a workflow a run needs.
struct Run {
    engine: Engine,
    control: Arc<Control>,
    row: Mutex<WorkflowRow>,
    options: Options,
    root: PathBuf,
    model: String,
    started: Instant,
    usage: Mutex<(u64, u32)>,
    master: AgentRow,
    /// The model's context window, when the server says; shown beside each agent's use.
    context_limit: Option<u32>,
}

pub fn topic(workflow_id: &str) -> String {
    format!("workflow/{workflow_id}")
}

impl Engine {
    pub fn new(
        store: Store,
        provider: Arc<dyn Provider>,
        events: Arc<dyn Events>,
        default_model: Option<String>,
        confine: Arc<dyn Confine>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                provider,
                events,
                default_model,
                confine,
                running: Mutex::new(HashMap::new()),
                knowledge: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Gives the master the app's knowledge of projects (once; later calls are ignored).
    pub fn set_knowledge(&self, knowledge: Arc<dyn Knowledge>) {
        if self.inner.knowledge.set(knowledge).is_err() {
            tracing::debug!("the engine's knowledge was already set");
        }
    }

    fn running(&self) -> MutexGuard<'_, HashMap<String, Arc<Control>>> {
        self.inner.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many workflows are running now.
    pub fn active(&self) -> usize {
        self.running().len()
    }

    /// Records a new workflow and runs it in the background.
    pub async fn start(
        &self,
        project_id: &str,
        root: PathBuf,
        request: &str,
        options: Options,
    ) -> Result<WorkflowRow> {
        if request.trim().is_empty() {
            return Err(WorkflowError::Invalid("the request is empty".into()));
        }
        if let Some(role) =
            options.models.keys().find(|r| !["master", "manager", "coder"].contains(&r.as_str()))
        {
            return Err(WorkflowError::Invalid(format!(
                "`{role}` is not an agent role; models can be chosen for master, manager and coder"
            )));
        }
        let options = Options { max_parallel: options.max_parallel.clamp(1, 32), ..options };
        let row = WorkflowRow {
            id: new_id("wf"),
            project_id: project_id.to_owned(),
            request: request.to_owned(),
            options: serde_json::to_string(&options).unwrap_or_else(|_| "{}".into()),
            state: "planning".into(),
            stage: "plan".into(),
            progress: 0.0,
            plan: None,
            summary: None,
            commit_id: None,
            error: None,
            created_at: now(),
            updated_at: now(),
        };
        self.inner.store.insert_workflow(row.clone()).await?;
        self.launch(row.clone(), root, false);
        Ok(row)
    }

    /// At start-up: runs again every workflow that had not finished (or leaves it paused).
    pub async fn resume_unfinished(&self, roots: &HashMap<String, PathBuf>, paused: bool) -> Result<usize> {
        let rows = self.inner.store.unfinished_workflows().await?;
        let mut n = 0;
        for row in rows {
            let Some(root) = roots.get(&row.project_id) else { continue };
            if self.launch(row, root.clone(), paused) {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Starts the run task of `row`; `false` (and nothing started) when it already runs.
    fn launch(&self, row: WorkflowRow, root: PathBuf, paused: bool) -> bool {
        let control = Arc::new(Control {
            cancel: CancellationToken::new(),
            paused: watch::channel(paused).0,
            epoch: Mutex::new(CancellationToken::new()),
            approval: watch::channel(None).0,
            review: watch::channel(None).0,
        });
        {
            let mut running = self.running();
            if running.contains_key(&row.id) {
                return false;
            }
            running.insert(row.id.clone(), control.clone());
        }
        let engine = self.clone();
        tokio::spawn(async move {
            let id = row.id.clone();
            engine.drive(row, root, control).await;
            engine.running().remove(&id);
        });
        true
    }

    /// Runs a failed workflow again from where it failed: every recorded step (the plan, its
    /// approval, each model call, each file written) is reused, so only the step that failed and
    /// those after it run. The budget starts afresh. Anything but a failed workflow is a conflict.
    pub async fn retry(&self, id: &str, root: PathBuf) -> Result<WorkflowRow> {
        let mut row = self.inner.store.get_workflow(id).await.map_err(|e| match e {
            StoreError::NotFound { .. } => WorkflowError::NotFound(id.to_owned()),
            other => other.into(),
        })?;
        if row.state != "failed" || self.running().contains_key(id) {
            return Err(WorkflowError::Conflict(format!(
                "workflow {id} is {}; only a failed workflow can be retried",
                row.state
            )));
        }
        row.state = "running".into();
        row.error = None;
        row.updated_at = now();
        self.inner.store.update_workflow(row.clone()).await?;
        self.inner.events.publish(&topic(id), "workflow.state", json!({ "state": "running" }));
        if !self.launch(row.clone(), root, false) {
            return Err(WorkflowError::Conflict(format!("workflow {id} is already being retried")));
        }
        Ok(row)
    }

    pub async fn control(&self, id: &str, action: &str) -> Result<WorkflowRow> {
        let control = self.running().get(id).cloned();
        let row = self.inner.store.get_workflow(id).await.map_err(|e| match e {
            StoreError::NotFound { .. } => WorkflowError::NotFound(id.to_owned()),
            other => other.into(),
        })?;
        let Some(control) = control else {
            let hint = if row.state == "failed" { " (retry runs it again from where it failed)" } else { "" };
            return Err(WorkflowError::Conflict(format!(
                "workflow {id} is {}; it cannot be {action}d{hint}",
                row.state
            )));
        };
        match action {
            "pause" => {
                control.paused.send_replace(true);
                let mut epoch = control.epoch();
                epoch.cancel();
                *epoch = CancellationToken::new();
            }
            "resume" => {
                control.paused.send_replace(false);
            }
            "cancel" => control.cancel.cancel(),
            other => {
                return Err(WorkflowError::Invalid(format!(
                    "unknown action `{other}`; use pause, resume or cancel (or retry, for a failed workflow)"
                )));
            }
        }
        // The run task records the state change; give it a moment so the answer reflects it.
        tokio::task::yield_now().await;
        Ok(self.inner.store.get_workflow(id).await?)
    }

    /// The person's decision on a workflow waiting in `reviewing`: every file of the review
    /// named once, accepted (whole or some hunks) or rejected.
    pub async fn review(&self, id: &str, decision: review::Decision) -> Result<()> {
        let row = self.inner.store.get_workflow(id).await.map_err(|e| match e {
            StoreError::NotFound { .. } => WorkflowError::NotFound(id.to_owned()),
            other => other.into(),
        })?;
        let control = self.running().get(id).cloned();
        let files = pending_review(&self.inner.store, id).await?;
        let (Some(control), Some(files), "reviewing") = (control, files, row.state.as_str()) else {
            return Err(WorkflowError::Conflict(format!(
                "workflow {id} is {}; only a workflow in review takes a review",
                row.state
            )));
        };
        review::validate(&files, &decision).map_err(WorkflowError::Invalid)?;
        control.review.send_replace(Some(decision));
        Ok(())
    }

    /// Approves the plan of a workflow waiting for it, optionally replacing it with an edited one.
    pub async fn approve(&self, id: &str, edited: Option<Plan>) -> Result<()> {
        let control =
            self.running().get(id).cloned().ok_or_else(|| WorkflowError::NotFound(id.to_owned()))?;
        if let Some(plan) = &edited {
            plan::validate(plan).map_err(|e| WorkflowError::Invalid(e.to_string()))?;
        }
        control.approval.send_replace(Some(edited));
        Ok(())
    }

    async fn drive(&self, row: WorkflowRow, root: PathBuf, control: Arc<Control>) {
        let id = row.id.clone();
        let options: Options = serde_json::from_str(&row.options).unwrap_or_default();
        let model = match options.model.clone().or_else(|| self.inner.default_model.clone()) {
            Some(model) => Ok(model),
            None => match self.inner.provider.list_models().await {
                Ok(models) => models.into_iter().next().map(|m| m.name).ok_or_else(|| {
                    WorkflowError::Llm(LlmError::InvalidRequest(
                        "the model server has no models; pull one first".into(),
                    ))
                }),
                Err(e) => Err(e.into()),
            },
        };
        let master = AgentRow {
            id: format!("{id}-master"),
            workflow_id: id.clone(),
            role: "master".into(),
            name: "Master".into(),
            parent_id: None,
            status: "idle".into(),
            task: String::new(),
            metrics: "{}".into(),
            created_at: now(),
            updated_at: now(),
        };
        let context_limit = match &model {
            Ok(model) => self.inner.provider.context_length(model).await.ok().flatten(),
            Err(_) => None,
        };
        let run = Arc::new(Run {
            context_limit,
            engine: self.clone(),
            control,
            row: Mutex::new(row),
            options,
            root,
            model: model.as_ref().cloned().unwrap_or_default(),
            started: Instant::now(),
            usage: Mutex::new((0, 0)),
            master,
        });
        let outcome = match model {
            Ok(_) => run.clone().execute().await,
            Err(e) => Err(e),
        };
        if let Err(e) = run.finish(outcome).await {
            tracing::error!(workflow = %id, error = %e, "saving the end of a workflow");
        }
    }
}

impl Run {
    /// The model an agent of `role` uses: its role's model, else the workflow's.
    fn model_for(&self, role: &str) -> String {
        self.options
            .models
            .get(role)
            .filter(|m| !m.trim().is_empty())
            .cloned()
            .unwrap_or_else(|| self.model.clone())
    }

    fn row(&self) -> MutexGuard<'_, WorkflowRow> {
        self.row.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn id(&self) -> String {
        self.row().id.clone()
    }

    fn store(&self) -> &Store {
        &self.engine.inner.store
    }

    fn publish(&self, kind: &str, data: Value) {
        self.engine.inner.events.publish(&topic(&self.id()), kind, data);
    }

    async fn save(&self) -> Result<()> {
        let row = self.row().clone();
        self.store().update_workflow(row).await?;
        Ok(())
    }

    async fn set_state(&self, state: &str) -> Result<()> {
        {
            let mut row = self.row();
            if row.state == state {
                return Ok(());
            }
            row.state = state.to_owned();
        }
        self.save().await?;
        self.publish("workflow.state", json!({ "state": state }));
        Ok(())
    }

    async fn progress(&self, progress: f64, stage: &str, message: String) -> Result<()> {
        {
            let mut row = self.row();
            row.progress = progress.clamp(0.0, 1.0);
            row.stage = stage.to_owned();
        }
        self.save().await?;
        self.publish(
            "workflow.progress",
            json!({ "progress": progress, "stage": stage, "message": message }),
        );
        Ok(())
    }

    async fn agent(&self, agent: &AgentRow) -> Result<()> {
        let mut agent = agent.clone();
        agent.updated_at = now();
        self.store().upsert_agent(agent.clone()).await?;
        let data = json!({ "agent": agent_json(&agent) });
        self.engine.inner.events.publish(&format!("agent/{}", agent.id), "agent.status", data.clone());
        self.publish("agent.status", data);
        Ok(())
    }

    /// Waits while paused; fails when cancelled.
    async fn checkpoint(&self) -> Result<()> {
        let mut paused = self.control.paused.subscribe();
        if *paused.borrow() {
            self.set_state("paused").await?;
            tokio::select! {
                () = self.control.cancel.cancelled() => return Err(WorkflowError::Cancelled),
                changed = paused.wait_for(|p| !*p) => { changed.map_err(|_| WorkflowError::Cancelled)?; }
            }
            let resumed = if self.row().plan.is_some() { "running" } else { "planning" };
            self.set_state(resumed).await?;
        }
        if self.control.cancel.is_cancelled() { Err(WorkflowError::Cancelled) } else { Ok(()) }
    }

    fn check_budget(&self) -> Result<()> {
        let budget = &self.options.budget;
        let (tokens, calls) = *self.usage.lock().unwrap_or_else(|p| p.into_inner());
        if tokens > budget.max_tokens {
            return Err(WorkflowError::Budget(format!(
                "{tokens} tokens used, the limit is {}",
                budget.max_tokens
            )));
        }
        if calls >= budget.max_calls {
            return Err(WorkflowError::Budget(format!(
                "{calls} model calls made, the limit is {}",
                budget.max_calls
            )));
        }
        if self.started.elapsed().as_secs() > budget.max_seconds {
            return Err(WorkflowError::Budget(format!("running for more than {} s", budget.max_seconds)));
        }
        Ok(())
    }

    /// A token for one step: cancelled by a pause (the step runs again on resume) or a cancel.
    fn step_token(&self) -> (CancellationToken, tokio::task::JoinHandle<()>) {
        let epoch = self.control.epoch().child_token();
        let cancel = self.control.cancel.clone();
        let token = CancellationToken::new();
        let both = token.clone();
        let watcher = tokio::spawn(async move {
            tokio::select! {
                () = epoch.cancelled() => {}
                () = cancel.cancelled() => {}
            }
            both.cancel();
        });
        (token, watcher)
    }

    /// The usage ledger's line for one model call of `agent_id`.
    fn usage_row(&self, model: &str, agent_id: &str, usage: &atelier_llm::Usage) -> atelier_store::UsageRow {
        atelier_store::UsageRow {
            id: new_id("use"),
            provider: self.engine.inner.provider.name().to_owned(),
            model: model.to_owned(),
            session_id: None,
            workflow_id: Some(self.id()),
            agent_id: Some(agent_id.to_owned()),
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            total_ms: usage.total_ms,
            load_ms: usage.load_ms,
            prompt_eval_ms: usage.prompt_eval_ms,
            eval_ms: usage.eval_ms,
            created_at: now(),
        }
    }

    /// One model call, recorded under `key`. A recorded result is returned without calling.
    /// A call interrupted by pause runs again once resumed.
    async fn call(
        &self,
        key: &str,
        agent: &mut AgentRow,
        messages: Vec<ChatMessage>,
        format: Option<Value>,
        stream_path: Option<&str>,
    ) -> Result<String> {
        let id = self.id();
        if let Some(recorded) = self.store().get_step(&id, key).await? {
            return Ok(recorded);
        }
        let mut failures = 0;
        loop {
            self.checkpoint().await?;
            self.check_budget()?;
            let (token, watcher) = self.step_token();
            agent.status = "busy".into();
            self.agent(agent).await?;
            let model = self.model_for(&agent.role);
            let request = ChatRequest {
                model: model.clone(),
                messages: messages.clone(),
                format: format.clone(),
                // Room for the prompt and a whole file in reply.
                num_ctx: Some(atelier_llm::choose_num_ctx(&messages, 8192, self.context_limit)),
                temperature: None,
                ..ChatRequest::default()
            };
            let started = Instant::now();
            let mut on_delta = |delta: Delta| {
                if let (Some(path), Delta::Content(text)) = (stream_path, &delta) {
                    self.publish("file.delta", json!({ "agent_id": agent.id, "path": path, "delta": text }));
                }
            };
            let result = self.engine.inner.provider.chat(&request, &token, &mut on_delta).await;
            watcher.abort();
            let elapsed = started.elapsed().as_millis() as u64;
            match result {
                Ok(completion) => {
                    {
                        let mut usage = self.usage.lock().unwrap_or_else(|p| p.into_inner());
                        usage.0 +=
                            u64::from(completion.usage.prompt_tokens + completion.usage.completion_tokens);
                        usage.1 += 1;
                    }
                    update_metrics(agent, &completion.usage, elapsed, false, self.context_limit);
                    agent.status = "idle".into();
                    self.agent(agent).await?;
                    self.store().insert_usage(self.usage_row(&model, &agent.id, &completion.usage)).await?;
                    if completion.content.trim().is_empty() {
                        // An empty reply is worth one more try, but counts against the budget.
                        continue;
                    }
                    self.store().record_step(&id, key, completion.content.clone()).await?;
                    return Ok(self.store().get_step(&id, key).await?.unwrap_or(completion.content));
                }
                Err(LlmError::Cancelled) if !self.control.cancel.is_cancelled() => {
                    agent.status = "paused".into();
                    self.agent(agent).await?;
                    continue;
                }
                Err(LlmError::Cancelled) => return Err(WorkflowError::Cancelled),
                Err(e) => {
                    update_metrics(agent, &Default::default(), elapsed, true, self.context_limit);
                    // Nothing of this call was recorded, so running it again is safe: a reply that
                    // broke off mid-stream or a server that kept answering 503 gets more tries.
                    if e.retryable() && failures < STEP_RETRIES {
                        failures += 1;
                        agent.status = "waiting".into();
                        self.agent(agent).await?;
                        let wait = std::time::Duration::from_millis(500 << failures);
                        tracing::info!(workflow = %id, key, error = %e, "retrying a step");
                        tokio::select! {
                            () = self.control.cancel.cancelled() => return Err(WorkflowError::Cancelled),
                            () = tokio::time::sleep(wait) => {}
                        }
                        continue;
                    }
                    agent.status = "error".into();
                    self.agent(agent).await?;
                    return Err(e.into());
                }
            }
        }
    }

    async fn execute(self: Arc<Self>) -> Result<()> {
        let mut master = self.master.clone();
        self.agent(&master).await?;
        let request = self.row().request.clone();
        // 1. Plan.
        let plan = self.plan(&mut master, &request).await?;
        // 2. Approval.
        let plan = self.approval(plan).await?;
        master.status = "done".into();
        self.agent(&master).await?;
        self.set_state("running").await?;
        // 3. Managers, one per module, in parallel.
        let total_files: usize = plan.modules.iter().map(|m| m.files.len()).sum();
        self.progress(
            0.05,
            "refine",
            format!("{} managers refine {} modules", plan.modules.len(), plan.modules.len()),
        )
        .await?;
        let specs = self.clone().managers(&plan, &request).await?;
        // A snapshot of every planned file before anything is written: the person's undo.
        let planned: Vec<String> =
            plan.modules.iter().flat_map(|m| m.files.iter().map(|f| f.path.clone())).collect();
        self.checkpoint_step("checkpoint:before", format!("Before: {}", plan.summary), planned).await?;
        // 4. Coders, one per file, in parallel up to max_parallel.
        self.progress(0.1, "write", format!("writing {total_files} files")).await?;
        let written = self.clone().coders(&plan, &request, &specs).await?;
        // 5. Verify: the person's command, or the plan's once the person has approved the plan.
        // A command the model wrote is never run on this machine unseen.
        let command = self.approved_check(&plan);
        if let (None, Some(proposed)) = (&command, &plan.verify) {
            self.publish(
                "verify.skipped",
                json!({
                    "command": proposed,
                    "reason": "nobody approved the plan; give it as the check command, or approve \
                               the plan first, to have it run",
                }),
            );
        }
        if let Some(command) = command
            && self.store().get_step(&self.id(), "verified").await?.is_none()
        {
            self.set_state("verifying").await?;
            self.verify(&command, &written).await?;
            // A workflow resumed during its review does not run the check again.
            self.store().record_step(&self.id(), "verified", command.clone()).await?;
            self.set_state("running").await?;
        }
        // 6. Review: the person keeps what they accept; the rest is put back.
        let written = if self.options.review { self.review(&plan, written).await? } else { written };
        // 7. Commit.
        self.progress(0.98, "commit", "committing".into()).await?;
        let commit = self.commit(&plan, &written).await?;
        self.checkpoint_step("checkpoint:after", format!("After: {}", plan.summary), written.clone()).await?;
        {
            let mut row = self.row();
            row.summary = Some(plan.summary.clone());
            row.commit_id = commit.clone();
            row.progress = 1.0;
        }
        // Saved (with the commit) before it is announced.
        self.set_state("completed").await?;
        self.publish(
            "workflow.completed",
            json!({ "summary": plan.summary, "commit": commit, "files": written }),
        );
        Ok(())
    }

    async fn plan(&self, master: &mut AgentRow, request: &str) -> Result<Plan> {
        if let Some(plan) = self.row().plan.clone() {
            // Planned (and perhaps approved) in an earlier run.
            if let Ok(plan) = serde_json::from_str::<Plan>(&plan) {
                return Ok(plan);
            }
        }
        master.task = "planning".into();
        self.progress(0.0, "plan", "the master is planning".into()).await?;
        let (root, request_text) = (self.root.clone(), request.to_owned());
        let context = tokio::task::spawn_blocking(move || prompt::project_context(&root, &request_text))
            .await
            .map_err(|e| WorkflowError::Io {
                context: "reading the project".into(),
                source: std::io::Error::other(e),
            })?;
        let mut context = context;
        if let Some(knowledge) = self.engine.inner.knowledge.get() {
            let project_id = self.row().project_id.clone();
            if let Some(map) =
                knowledge.repo_map(project_id, request.to_owned()).await.filter(|m| !m.trim().is_empty())
            {
                context.push_str(
                    "\nRepo map (the project's most used definitions for this request, by file, with their line numbers):\n",
                );
                context.push_str(&map);
            }
        }
        if self.options.tools {
            // The master looks before it plans; what it found goes into the plan's context.
            master.task = "exploring the project".into();
            let notes = self
                .call_with_tools(
                    "explore",
                    master,
                    prompt::explore(request, &context),
                    &tooled::agent_tools(None),
                    None,
                )
                .await?;
            context.push_str("\nWhat you found when you explored the project:\n");
            context.push_str(&notes);
            master.task = "planning".into();
        }
        let messages = prompt::master(request, &context);
        let schema = Some(plan::plan_schema());
        let reply = self.call("plan", master, messages.clone(), schema.clone(), None).await?;
        let plan = match parse_plan(&reply) {
            Ok(plan) => plan,
            Err(error) => {
                tracing::info!(workflow = %self.id(), %error, "the plan was invalid; asking once more");
                let again = self
                    .call("plan:repair", master, prompt::repair(messages, &reply, &error), schema, None)
                    .await?;
                parse_plan(&again).map_err(WorkflowError::Plan)?
            }
        };
        self.row().plan = serde_json::to_string(&plan).ok();
        self.save().await?;
        self.publish("plan.ready", json!({ "plan": plan }));
        Ok(plan)
    }

    async fn approval(&self, plan: Plan) -> Result<Plan> {
        let id = self.id();
        if !self.options.approve_plan || self.store().get_step(&id, "approved").await?.is_some() {
            return Ok(plan);
        }
        self.set_state("awaiting_approval").await?;
        let mut approval = self.control.approval.subscribe();
        let decision = tokio::select! {
            () = self.control.cancel.cancelled() => return Err(WorkflowError::Cancelled),
            decided = approval.wait_for(Option::is_some) => decided.map_err(|_| WorkflowError::Cancelled)?.clone(),
        };
        let plan = match decision.flatten() {
            Some(edited) => plan::validate(&edited).map_err(|e| WorkflowError::Plan(e.to_string()))?,
            None => plan,
        };
        let text = serde_json::to_string(&plan).unwrap_or_default();
        self.store().record_step(&id, "approved", text.clone()).await?;
        self.row().plan = Some(text);
        self.save().await?;
        Ok(plan)
    }

    async fn managers(self: Arc<Self>, plan: &Plan, request: &str) -> Result<HashMap<String, String>> {
        let mut tasks = tokio::task::JoinSet::new();
        for module in plan.modules.clone() {
            let run = self.clone();
            let (plan, request) = (plan.clone(), request.to_owned());
            tasks.spawn(async move {
                let mut agent =
                    run.sub_agent("manager", &module.name, &run.master.id, &module.responsibility);
                let spec = run
                    .call(
                        &format!("manager:{}", module.name),
                        &mut agent,
                        prompt::manager(&request, &plan, &module),
                        None,
                        None,
                    )
                    .await?;
                agent.status = "done".into();
                run.agent(&agent).await?;
                Ok::<_, WorkflowError>((module.name.clone(), spec))
            });
        }
        let mut specs = HashMap::new();
        while let Some(joined) = tasks.join_next().await {
            let (name, spec) = joined.map_err(|e| WorkflowError::Io {
                context: "a manager task".into(),
                source: std::io::Error::other(e),
            })??;
            specs.insert(name, spec);
        }
        Ok(specs)
    }

    fn sub_agent(&self, role: &str, name: &str, parent: &str, task: &str) -> AgentRow {
        let id = self.id();
        let slug: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
        AgentRow {
            id: format!("{id}-{role}-{slug}"),
            workflow_id: id,
            role: role.into(),
            name: name.into(),
            parent_id: Some(parent.to_owned()),
            status: "idle".into(),
            task: task.into(),
            metrics: "{}".into(),
            created_at: now(),
            updated_at: now(),
        }
    }

    async fn coders(
        self: Arc<Self>,
        plan: &Plan,
        request: &str,
        specs: &HashMap<String, String>,
    ) -> Result<Vec<String>> {
        let limit = Arc::new(Semaphore::new(self.options.max_parallel));
        let total: usize = plan.modules.iter().map(|m| m.files.len()).sum();
        let done = Arc::new(Mutex::new(0usize));
        let mut tasks = tokio::task::JoinSet::new();
        for module in &plan.modules {
            let manager_id = self.sub_agent("manager", &module.name, "", "").id;
            for file in module.files.clone() {
                let (run, limit, done) = (self.clone(), limit.clone(), done.clone());
                let (plan, request) = (plan.clone(), request.to_owned());
                let spec = specs.get(&module.name).cloned().unwrap_or_default();
                let manager_id = manager_id.clone();
                tasks.spawn(async move {
                    let _permit = limit.acquire_owned().await.map_err(|_| WorkflowError::Cancelled)?;
                    run.write_file(&plan, &request, &file, &spec, &manager_id).await?;
                    let finished = {
                        let mut done = done.lock().unwrap_or_else(|p| p.into_inner());
                        *done += 1;
                        *done
                    };
                    let progress = 0.1 + 0.85 * finished as f64 / total.max(1) as f64;
                    run.progress(progress, "write", format!("{finished} of {total} files written")).await?;
                    Ok::<_, WorkflowError>(file.path.clone())
                });
            }
        }
        let mut written = Vec::new();
        let mut first_error = None;
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Ok(path)) => written.push(path),
                Ok(Err(e)) => {
                    if first_error.is_none() {
                        // One failed file fails the workflow; stop the others' calls too.
                        self.control.cancel.cancel();
                        first_error = Some(e);
                    }
                }
                Err(e) => {
                    first_error = first_error.or(Some(WorkflowError::Io {
                        context: "a coder task".into(),
                        source: std::io::Error::other(e),
                    }))
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        written.sort();
        Ok(written)
    }

    async fn write_file(
        &self,
        plan: &Plan,
        request: &str,
        file: &plan::PlanFile,
        spec: &str,
        manager_id: &str,
    ) -> Result<()> {
        let id = self.id();
        let written_key = format!("written:{}", file.path);
        if self.store().get_step(&id, &written_key).await?.is_some() {
            return Ok(());
        }
        let mut agent = self.sub_agent("coder", &file.path, manager_id, &format!("writing {}", file.path));
        let target = self.root.join(&file.path);
        let existing = tokio::fs::read_to_string(&target).await.ok();
        let key = format!("coder:{}", file.path);
        let reply = if self.options.tools {
            let messages = prompt::coder_with_tools(request, plan, file, spec, existing.as_deref());
            // The check the person gave (or approved with the plan) may be run by a coder too.
            let tools = tooled::agent_tools(self.approved_check(plan));
            self.call_with_tools(&key, &mut agent, messages, &tools, Some(&file.path)).await?
        } else {
            let messages = prompt::coder(request, plan, file, spec, existing.as_deref());
            self.call(&key, &mut agent, messages, None, Some(&file.path)).await?
        };
        let content = match file_content(&reply, &file.path, existing.as_deref()) {
            Ok(content) => {
                if has_edits(&reply) {
                    self.store().record_step(&id, &format!("edit:{}", file.path), "ok".into()).await?;
                }
                content
            }
            // SEARCH/REPLACE blocks that do not apply: the whole file instead, once (small
            // models often get a line of the search text wrong). Counted for `edits` in usage.
            Err(error) if existing.is_some() && has_edits(&reply) => {
                self.store().record_step(&id, &format!("edit:{}", file.path), "failed".into()).await?;
                let messages = prompt::whole_file(
                    prompt::coder(request, plan, file, spec, existing.as_deref()),
                    &reply,
                    &error,
                );
                let again = self
                    .call(&format!("coder:{}:whole", file.path), &mut agent, messages, None, Some(&file.path))
                    .await?;
                file_content(&again, &file.path, None).map_err(WorkflowError::Plan)?
            }
            Err(error) => return Err(WorkflowError::Plan(error)),
        };
        write_atomically(&self.root, &file.path, &content).await?;
        self.store().record_step(&id, &written_key, content.len().to_string()).await?;
        self.publish(
            "file.written",
            json!({ "agent_id": agent.id, "path": file.path, "bytes": content.len() }),
        );
        agent.status = "done".into();
        self.agent(&agent).await?;
        Ok(())
    }

    /// The check command a person gave or approved: theirs, else the plan's once they approved
    /// the plan. A command only the model wrote is never run.
    fn approved_check(&self, plan: &Plan) -> Option<String> {
        match (&self.options.verify, &plan.verify) {
            (Some(own), _) => Some(own.clone()),
            (None, Some(proposed)) if self.options.approve_plan => Some(proposed.clone()),
            _ => None,
        }
    }

    async fn verify(&self, command: &str, written: &[String]) -> Result<()> {
        for round in 0..=self.options.max_fix_rounds {
            self.checkpoint().await?;
            let (sandbox, policy) =
                self.engine.inner.confine.sandbox(&self.root).map_err(WorkflowError::Sandbox)?;
            let place = sandbox.mode().to_string();
            self.progress(0.95, "verify", format!("running `{command}` ({place})")).await?;
            let on_line = |line: &str| self.publish("verify.line", json!({ "round": round, "line": line }));
            let (ok, output) = run_check(&sandbox, policy, command, &self.control.cancel, &on_line).await?;
            self.publish(
                "verify.output",
                json!({ "round": round, "ok": ok, "output": output, "sandbox": sandbox.mode().name() }),
            );
            if ok {
                return Ok(());
            }
            if round == self.options.max_fix_rounds {
                return Err(WorkflowError::Plan(format!("`{command}` still fails after {round} fix rounds")));
            }
            // Every written file the output names goes back to a coder.
            let named: Vec<&String> = written.iter().filter(|p| output.contains(p.as_str())).collect();
            let targets: Vec<&String> = if named.is_empty() { written.iter().collect() } else { named };
            for path in targets {
                let mut agent = self.sub_agent("coder", path, &self.master.id, &format!("fixing {path}"));
                let current = tokio::fs::read_to_string(self.root.join(path)).await.unwrap_or_default();
                let key = format!("fix:{round}:{path}");
                let reply = self
                    .call(&key, &mut agent, prompt::fix(path, &current, command, &output), None, Some(path))
                    .await?;
                let content = file_content(&reply, path, Some(&current)).map_err(WorkflowError::Plan)?;
                write_atomically(&self.root, path, &content).await?;
                let id = self.id();
                self.store()
                    .record_step(&id, &format!("rewritten:{round}:{path}"), content.len().to_string())
                    .await?;
                self.publish(
                    "file.written",
                    json!({ "agent_id": agent.id, "path": path, "bytes": content.len() }),
                );
            }
        }
        Ok(())
    }

    /// Records a checkpoint of `paths` once (a resumed workflow does not take it again).
    async fn checkpoint_step(&self, key: &str, label: String, paths: Vec<String>) -> Result<()> {
        let id = self.id();
        if self.store().get_step(&id, key).await?.is_some() {
            return Ok(());
        }
        let root = self.root.clone();
        let checkpoint =
            tokio::task::spawn_blocking(move || atelier_git::checkpoint_create(&root, &label, &paths))
                .await
                .map_err(|e| WorkflowError::Io {
                    context: "the checkpoint task".into(),
                    source: std::io::Error::other(e),
                })??;
        self.store().record_step(&id, key, checkpoint.id).await?;
        Ok(())
    }

    async fn commit(&self, plan: &Plan, written: &[String]) -> Result<Option<String>> {
        let id = self.id();
        if let Some(recorded) = self.store().get_step(&id, "commit").await? {
            return Ok(Some(recorded).filter(|c| !c.is_empty()));
        }
        // Marked before git is touched: if this run dies inside the commit, the next one knows
        // the lock files it finds are its own and that HEAD may already hold the commit.
        let interrupted = !self.store().record_step(&id, "commit:started", now()).await?;
        let (root, paths, message) = (self.root.clone(), written.to_vec(), plan.summary.clone());
        let committed = tokio::task::spawn_blocking(move || {
            if interrupted {
                let removed = atelier_git::clear_stale_locks(&root);
                if !removed.is_empty() {
                    tracing::warn!(?removed, "removed git locks left by an interrupted commit");
                }
            }
            match atelier_git::commit_paths(&root, &paths, &message) {
                Err(atelier_git::GitError::NothingToCommit { .. }) if interrupted => {
                    // The interrupted run got as far as the commit: it is HEAD.
                    Ok(atelier_git::head_commit(&root)?
                        .filter(|(_, summary)| *summary == message)
                        .map(|(id, _)| id))
                }
                Err(atelier_git::GitError::NothingToCommit { .. }) => Ok(None),
                other => other.map(Some),
            }
        })
        .await
        .map_err(|e| WorkflowError::Io {
            context: "the commit task".into(),
            source: std::io::Error::other(e),
        })?;
        let commit = committed?;
        self.store().record_step(&id, "commit", commit.clone().unwrap_or_default()).await?;
        Ok(commit)
    }

    async fn finish(&self, outcome: Result<()>) -> Result<()> {
        match outcome {
            Ok(()) => self.set_state("completed").await,
            Err(WorkflowError::Cancelled) => {
                self.set_state("cancelled").await?;
                let written: Vec<String> = written_files(self.store(), &self.id())
                    .await?
                    .into_iter()
                    .map(|(path, _)| path)
                    .collect();
                self.publish("workflow.cancelled", json!({ "files": written }));
                Ok(())
            }
            Err(e) => {
                let message = e.to_string();
                self.row().error = Some(message.clone());
                self.set_state("failed").await?;
                self.publish("workflow.failed", json!({ "error": message, "retryable": e.retryable() }));
                Ok(())
            }
        }
    }
}

fn parse_plan(reply: &str) -> std::result::Result<Plan, String> {
    let text = extract::strip_reasoning(reply);
    let value = extract::extract_json(&text).map_err(|e| e.to_string())?;
    let plan: Plan =
        serde_json::from_value(value).map_err(|e| format!("the JSON does not have the plan's shape: {e}"))?;
    plan::validate(&plan).map_err(|e| e.to_string())
}

/// The new content of a file from a coder's reply: search/replace edits on an existing file,
/// else the code block.
/// Whether a coder's reply is SEARCH/REPLACE blocks rather than a whole file.
fn has_edits(reply: &str) -> bool {
    extract::strip_reasoning(reply).lines().any(|l| {
        let t = l.trim();
        (5..=9).contains(&t.chars().take_while(|&c| c == '<').count()) && t.contains("SEARCH")
    })
}

fn file_content(reply: &str, path: &str, existing: Option<&str>) -> std::result::Result<String, String> {
    let text = extract::strip_reasoning(reply);
    if let Some(current) = existing
        && has_edits(reply)
    {
        let edits = edit::parse_edits(&text).map_err(|e| format!("{path}: {e}"))?;
        return edit::apply_edits(current, &edits).map_err(|e| format!("{path}: {e}"));
    }
    extract::extract_code(&text, path).map_err(|e| format!("{path}: {e}"))
}

/// Writes through atelier-files' one safe path resolver and its atomic write (a temporary file
/// and a rename), so a half-written file never lands and nothing is written outside.
async fn write_atomically(root: &Path, relative: &str, content: &str) -> Result<()> {
    let (root, relative, content) = (root.to_path_buf(), relative.to_owned(), content.to_owned());
    tokio::task::spawn_blocking(move || atelier_files::write(&root, &relative, &content))
        .await
        .map_err(|e| WorkflowError::Io {
            context: "a file write task".into(),
            source: std::io::Error::other(e),
        })?
        .map_err(|e| match e {
            atelier_files::FilesError::Io { path, source } => WorkflowError::Io { context: path, source },
            other => WorkflowError::Plan(other.to_string()),
        })
}

/// Runs a check in the sandbox, without stdin, with a time limit; its output goes to `on_line`
/// line by line as it comes. Returns whether it passed and its output (capped).
async fn run_check(
    sandbox: &Sandbox,
    policy: Policy,
    command: &str,
    cancel: &CancellationToken,
    on_line: &(dyn Fn(&str) + Send + Sync),
) -> Result<(bool, String)> {
    let spec = RunSpec {
        command: command.to_owned(),
        policy,
        timeout: CHECK_TIMEOUT,
        output_cap: CHECK_OUTPUT_CAP,
        env: Vec::new(),
    };
    let mut partial: Vec<u8> = Vec::new();
    let mut on_output = |chunk: &[u8]| {
        partial.extend_from_slice(chunk);
        while let Some(end) = partial.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = partial.drain(..=end).collect();
            on_line(String::from_utf8_lossy(&line[..line.len() - 1]).trim_end_matches('\r'));
        }
    };
    let outcome =
        sandbox.run(spec, cancel, &mut on_output).await.map_err(|e| WorkflowError::Sandbox(e.to_string()))?;
    if !partial.is_empty() {
        on_line(&String::from_utf8_lossy(&partial));
    }
    if outcome.cancelled {
        return Err(WorkflowError::Cancelled);
    }
    let mut text = outcome.output.clone();
    if outcome.truncated_bytes > 0 {
        text.push_str(&format!("\n[{} more bytes of output not kept]\n", outcome.truncated_bytes));
    }
    if outcome.timed_out {
        text.push_str(&format!("\n`{command}` did not finish within {} s\n", CHECK_TIMEOUT.as_secs()));
    }
    Ok((outcome.success(), text))
}

fn update_metrics(
    agent: &mut AgentRow,
    usage: &atelier_llm::Usage,
    elapsed_ms: u64,
    failed: bool,
    limit: Option<u32>,
) {
    let mut m: Value = serde_json::from_str(&agent.metrics).unwrap_or_else(|_| json!({}));
    let messages = m["message_count"].as_u64().unwrap_or(0) + 1;
    let errors = m["error_count"].as_u64().unwrap_or(0) + u64::from(failed);
    let total_ms = m["total_ms"].as_u64().unwrap_or(0) + elapsed_ms;
    m = json!({
        "message_count": messages,
        "error_count": errors,
        "error_rate": errors as f64 / messages as f64,
        "total_ms": total_ms,
        "avg_execution_ms": total_ms / messages,
        "tokens_in": m["tokens_in"].as_u64().unwrap_or(0) + u64::from(usage.prompt_tokens),
        "tokens_out": m["tokens_out"].as_u64().unwrap_or(0) + u64::from(usage.completion_tokens),
        "context_used": usage.prompt_tokens + usage.completion_tokens,
        "context_limit": limit,
    });
    agent.metrics = m.to_string();
}

/// An agent as the API shows it.
pub fn agent_json(agent: &AgentRow) -> Value {
    json!({
        "id": agent.id,
        "role": agent.role,
        "name": agent.name,
        "parent_id": agent.parent_id,
        "status": agent.status,
        "task": agent.task,
        "metrics": serde_json::from_str::<Value>(&agent.metrics).unwrap_or_else(|_| json!({})),
    })
}

/// The files a workflow has written so far as `(path, bytes)`, in the order they were first
/// written, each with its latest size: a `written:<path>` step holds the size a coder wrote, a
/// `rewritten:<round>:<path>` step the size after that fix round.
pub async fn written_files(
    store: &Store,
    workflow_id: &str,
) -> std::result::Result<Vec<(String, u64)>, StoreError> {
    let steps = store.list_steps(workflow_id).await?;
    let size = |bytes: &str| bytes.parse().unwrap_or(0);
    let mut files: Vec<(String, u64)> = steps
        .iter()
        .filter_map(|(key, bytes)| Some((key.strip_prefix("written:")?.to_owned(), size(bytes))))
        .collect();
    let mut rewrites: Vec<(u32, &str, u64)> = steps
        .iter()
        .filter_map(|(key, bytes)| {
            let (round, path) = key.strip_prefix("rewritten:")?.split_once(':')?;
            Some((round.parse().ok()?, path, size(bytes)))
        })
        .collect();
    rewrites.sort_by_key(|(round, _, _)| *round);
    for (_, path, bytes) in rewrites {
        if let Some(file) = files.iter_mut().find(|(p, _)| p == path) {
            file.1 = bytes;
        }
    }
    Ok(files)
}
