//! JSON-RPC 2.0 for every transport: a [`Client`] takes request text (one request or a batch)
//! and returns response text, and hands out the events of the topics it subscribed to.
//!
//! Any input gets an answer: text that is not JSON, not a request, an unknown method or params
//! of the wrong shape each get an error object with a `kind`, and the client stays usable.

use std::num::NonZeroU32;
use std::sync::Arc;

use atelier_protocol::{
    AgentsList, CheckpointRestored, CheckpointsRestore, CodeRepoMap, CodeSearch, CodeSymbols, Empty,
    FileContent, FilesRead, FilesTree, FilesWrite, GitCheckout, GitCommit, GitDiff, GitLog, GitPaths,
    GitRemote, GitShow, GitShown, IdParams, McpAdd, McpImport, McpList, McpName, McpSetEnabled, McpUpdate,
    MessagesList, MessagesRetried, MessagesRetry, MessagesSearch, MessagesSend, MessagesStop, ModelName,
    ModelsList, Pong, ProjectParams, ProjectsCreate, ProjectsDelete, ProjectsExport, ProjectsImport,
    Response, RpcError, SessionsChangePaths, SessionsChanges, SessionsCreate, SessionsList, SessionsRename,
    SessionsUpdate, SettingsDeleteKey, SettingsSet, SettingsSetKey, Subscribe, Subscribed, TerminalId,
    TerminalOpened, TerminalsOpen, TerminalsResize, TerminalsWrite, ToolsAllowed, ToolsApprove, ToolsList,
    ToolsPending, Unsubscribe, WorkflowsApprove, WorkflowsControl, WorkflowsList, WorkflowsReview,
    WorkflowsStart, to_value, topics,
};
use atelier_protocol::{
    BackupRestored, FilesCreate, FilesDelete, FilesRename, FilesReplace, FilesSearch, GitCommitDetails,
    ProjectsCleaned, ProjectsCleanup, ProjectsList,
};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::App;
use crate::bus::{Published, Subscriber};
use crate::error::CoreError;

const REMOTE_PER_MINUTE: u32 = 1200;
const REMOTE_BURST: u32 = 200;
/// What one client may do: remote clients are limited, the desktop window is not.
#[derive(Debug, Clone)]
pub struct ClientLimits {
    /// Requests per minute and burst size; `None` for no limit.
    pub rate: Option<(NonZeroU32, NonZeroU32)>,
    pub max_topics: usize,
    /// Events queued for the client before the oldest undelivered become a `stream.gap`.
    pub queue_capacity: usize,
}

impl ClientLimits {
    /// For a remote client: 1,200 requests per 60 s with bursts of 200, 64 topics. Generous
    /// enough for a person typing into a terminal (a request per keystroke batch) and a UI
    /// opening a workspace, tight enough that a runaway script cannot starve the engine.
    pub fn remote() -> Self {
        Self {
            rate: NonZeroU32::new(REMOTE_PER_MINUTE).zip(NonZeroU32::new(REMOTE_BURST)),
            max_topics: 64,
            queue_capacity: 4096,
        }
    }

    /// For an in-process client (the desktop window, the CLI).
    pub fn local() -> Self {
        Self { rate: None, max_topics: 4096, queue_capacity: 16_384 }
    }
}

/// One connected client.
pub struct Client {
    app: App,
    id: u64,
    subscriber: Subscriber,
    limiter: Option<DefaultDirectRateLimiter>,
    max_topics: usize,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("id", &self.id).finish_non_exhaustive()
    }
}

type RpcResult = Result<Value, RpcError>;

fn params<T: DeserializeOwned>(method: &str, params: Value) -> Result<T, RpcError> {
    serde_json::from_value(params)
        .map_err(|e| RpcError::invalid_params(format!("invalid params for {method}: {e}")))
}

fn ok<T: serde::Serialize>(value: T) -> RpcResult {
    Ok(to_value(&value))
}

impl Client {
    pub(crate) fn new(app: App, id: u64, limits: ClientLimits) -> Self {
        let subscriber = app.bus().subscriber(limits.queue_capacity);
        let limiter = limits
            .rate
            .map(|(per_minute, burst)| RateLimiter::direct(Quota::per_minute(per_minute).allow_burst(burst)));
        Self { app, id, subscriber, limiter, max_topics: limits.max_topics }
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    /// Waits for the next event of this client's topics; `None` once closed.
    pub async fn next_event(&self) -> Option<Arc<Published>> {
        self.subscriber.recv().await
    }

    /// The next queued event, without waiting.
    pub fn try_next_event(&self) -> Option<Arc<Published>> {
        self.subscriber.try_recv()
    }

    /// Hands each event of this client's topics, as its JSON text, to `send` until `send`
    /// says the receiver is gone or the client is closed: how an in-process shell (the desktop
    /// app's IPC channel) receives what a WebSocket would.
    pub async fn forward_events(&self, mut send: impl FnMut(String) -> bool) {
        while let Some(event) = self.next_event().await {
            if !send(event.json.clone()) {
                break;
            }
        }
    }

    /// How many topics the client subscribes to now.
    pub fn topic_count(&self) -> usize {
        self.subscriber.topic_count_with(&[])
    }

    /// Ends `next_event` (the connection is going away).
    pub fn close(&self) {
        self.subscriber.close();
    }

    /// Answers raw bytes (a binary frame): they must be UTF-8 JSON.
    pub async fn handle_bytes(&self, bytes: &[u8]) -> Option<String> {
        match std::str::from_utf8(bytes) {
            Ok(text) => self.handle_text(text).await,
            Err(e) => Some(encode(&Response::err(
                Value::Null,
                RpcError::parse_error(format!("the message is not valid UTF-8: {e}")),
            ))),
        }
    }

    /// Answers one JSON-RPC message (a request, a notification or a batch). `None` when
    /// nothing is to be sent back (notifications only).
    pub async fn handle_text(&self, text: &str) -> Option<String> {
        let value: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                return Some(encode(&Response::err(
                    Value::Null,
                    RpcError::parse_error(format!("the message is not valid JSON: {e}")),
                )));
            }
        };
        match value {
            Value::Array(items) if items.is_empty() => Some(encode(&Response::err(
                Value::Null,
                RpcError::invalid_request("an empty batch is not a request"),
            ))),
            Value::Array(items) => {
                let mut responses = Vec::new();
                for item in items {
                    if let Some(response) = self.handle_one(item).await {
                        responses.push(response);
                    }
                }
                (!responses.is_empty()).then(|| encode(&responses))
            }
            other => self.handle_one(other).await.map(|r| encode(&r)),
        }
    }

    async fn handle_one(&self, value: Value) -> Option<Response> {
        let Value::Object(mut request) = value else {
            return Some(Response::err(
                Value::Null,
                RpcError::invalid_request("a request must be a JSON object"),
            ));
        };
        let id = request.remove("id");
        // A notification is a *valid* request without an id; an invalid one is answered (with
        // `"id": null`) as JSON-RPC 2.0 asks, so a client learns its message went nowhere.
        let envelope_ok = request.get("jsonrpc").and_then(Value::as_str) == Some("2.0")
            && matches!(request.get("method"), Some(Value::String(_)));
        let is_notification = id.is_none() && envelope_ok;
        let id = id.unwrap_or(Value::Null);
        if !matches!(id, Value::String(_) | Value::Number(_) | Value::Null) {
            return Some(Response::err(
                Value::Null,
                RpcError::invalid_request("`id` must be a string, a number or null"),
            ));
        }
        let error = |e: RpcError| (!is_notification).then(|| Response::err(id.clone(), e));
        if request.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            return error(RpcError::invalid_request("`jsonrpc` must be \"2.0\""));
        }
        let Some(Value::String(method)) = request.remove("method") else {
            return error(RpcError::invalid_request("`method` must be a string"));
        };
        let params = match request.remove("params") {
            None | Some(Value::Null) => Value::Object(Default::default()),
            Some(p @ Value::Object(_)) => p,
            Some(_) => return error(RpcError::invalid_params("params must be an object")),
        };
        if let Some(limiter) = &self.limiter
            && let Err(not_until) = limiter.check()
        {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            return error(RpcError::new(
                atelier_protocol::ErrorKind::RateLimited,
                format!(
                    "too many requests ({REMOTE_PER_MINUTE} per minute, bursts of {REMOTE_BURST}); retry in {} ms",
                    wait.as_millis().max(1)
                ),
            ));
        }
        let result = self.call(&method, params).await;
        if is_notification {
            return None;
        }
        Some(match result {
            Ok(value) => Response::ok(id, value),
            Err(e) => Response::err(id, e),
        })
    }

    /// Routes one method call. Each arm parses params, calls one App function, and converts.
    async fn call(&self, method: &str, p: Value) -> RpcResult {
        let app = &self.app;
        match method {
            "system.ping" => ok(Pong { pong: true }),
            "system.health" => ok(app.health().await),
            "system.metrics" => ok(app.metrics().await),
            "projects.create" => {
                let p: ProjectsCreate = params(method, p)?;
                ok(app.create_project(&p.name, p.path).await?)
            }
            "projects.import" => {
                let p: ProjectsImport = params(method, p)?;
                ok(app.import_project(&p.path, p.name, p.copy.unwrap_or(false)).await?)
            }
            "projects.export" => {
                let p: ProjectsExport = params(method, p)?;
                ok(app.export_project_to(&p.id, &p.path, p.include_ignored).await?)
            }
            "projects.list" => {
                let p: ProjectsList = params(method, p)?;
                ok(app.list_projects(p.include_archived.unwrap_or(false)).await?)
            }
            "projects.archive" => {
                let p: IdParams = params(method, p)?;
                ok(app.archive_project(&p.id).await?)
            }
            "projects.unarchive" => {
                let p: IdParams = params(method, p)?;
                ok(app.unarchive_project(&p.id).await?)
            }
            "projects.cleanup_preview" => ok(app.cleanup_preview(chrono::Utc::now()).await?),
            "projects.cleanup" => {
                let p: ProjectsCleanup = params(method, p)?;
                ok(ProjectsCleaned { removed: app.cleanup_projects(&p.ids, chrono::Utc::now()).await? })
            }
            "backups.create" => ok(app.create_backup().await?),
            "backups.list" => ok(app.list_backups().await?),
            "backups.restore" => {
                let p: IdParams = params(method, p)?;
                ok(BackupRestored { kept: app.restore_backup(&p.id).await? })
            }
            "projects.get" => {
                let p: IdParams = params(method, p)?;
                ok(app.get_project(&p.id).await?)
            }
            "projects.delete" => {
                let p: ProjectsDelete = params(method, p)?;
                app.delete_project(&p.id, p.delete_files).await?;
                ok(Empty {})
            }
            "sessions.create" => {
                let p: SessionsCreate = params(method, p)?;
                ok(app.create_session(p.project_id, p.agent, p.model, p.tools.unwrap_or(false)).await?)
            }
            "sessions.update" => {
                let p: SessionsUpdate = params(method, p)?;
                ok(app.update_session(p).await?)
            }
            "tools.list" => {
                let p: ToolsList = params(method, p)?;
                ok(app.list_tools(p.project_id).await?)
            }
            "tools.approve" => {
                let p: ToolsApprove = params(method, p)?;
                app.approve_tool(&p.call_id, p.decision)?;
                ok(Empty {})
            }
            "tools.pending" => {
                let p: ToolsPending = params(method, p)?;
                ok(app.pending_tools(&p.session_id).await?)
            }
            "tools.allowed" => {
                let p: ToolsAllowed = params(method, p)?;
                ok(app.allowed_tools(&p.project_id).await?)
            }
            "tools.revoke" => {
                let p: ToolsAllowed = params(method, p)?;
                app.revoke_tool(&p.project_id, p.tool.as_deref()).await?;
                ok(Empty {})
            }
            "sessions.changes" => {
                let p: SessionsChanges = params(method, p)?;
                ok(app.session_changes(&p.session_id).await?)
            }
            "sessions.keep" => {
                let p: SessionsChangePaths = params(method, p)?;
                app.keep_session_changes(&p.session_id, p.paths).await?;
                ok(Empty {})
            }
            "sessions.revert" => {
                let p: SessionsChangePaths = params(method, p)?;
                ok(atelier_protocol::CheckpointRestored {
                    undo: app.revert_session_changes(&p.session_id, p.paths).await?,
                })
            }
            "sessions.list" => {
                let p: SessionsList = params(method, p)?;
                ok(app.list_sessions(p.project_id).await?)
            }
            "sessions.rename" => {
                let p: SessionsRename = params(method, p)?;
                ok(app.rename_session(&p.id, &p.title).await?)
            }
            "sessions.delete" => {
                let p: IdParams = params(method, p)?;
                app.delete_session(&p.id).await?;
                ok(Empty {})
            }
            "messages.list" => {
                let p: MessagesList = params(method, p)?;
                ok(app.list_messages(&p.session_id, p.before, p.limit).await?)
            }
            "messages.send" => {
                let p: MessagesSend = params(method, p)?;
                ok(app.send_message(&p.session_id, p.content).await?)
            }
            "messages.retry" => {
                let p: MessagesRetry = params(method, p)?;
                ok(MessagesRetried { reply_id: app.retry_reply(&p.session_id).await? })
            }
            "messages.stop" => {
                let p: MessagesStop = params(method, p)?;
                ok(serde_json::json!({ "stopped": app.stop_reply(&p.session_id).await? }))
            }
            "messages.search" => {
                let p: MessagesSearch = params(method, p)?;
                ok(app.search_messages(&p.query, p.project_id, p.limit).await?)
            }
            "workflows.start" => {
                let p: WorkflowsStart = params(method, p)?;
                ok(app.start_workflow(&p.project_id, &p.request, p.options).await?)
            }
            "workflows.control" => {
                let p: WorkflowsControl = params(method, p)?;
                ok(app.control_workflow(&p.id, &p.action).await?)
            }
            "workflows.approve_plan" => {
                let p: WorkflowsApprove = params(method, p)?;
                ok(app.approve_plan(&p.id, p.plan).await?)
            }
            "workflows.review" => {
                let p: WorkflowsReview = params(method, p)?;
                ok(app.review_workflow(&p.id, p.accept, p.reject).await?)
            }
            "workflows.get" => {
                let p: IdParams = params(method, p)?;
                ok(app.get_workflow(&p.id).await?)
            }
            "workflows.list" => {
                let p: WorkflowsList = params(method, p)?;
                ok(app.list_workflows(p.project_id).await?)
            }
            "agents.list" => {
                let p: AgentsList = params(method, p)?;
                ok(app.list_agents(p.workflow_id).await?)
            }
            "coordinator.metrics" => ok(app.coordinator_metrics().await?),
            "files.tree" => {
                let p: FilesTree = params(method, p)?;
                ok(app.files_tree(&p.project_id, p.path).await?)
            }
            "files.read" => {
                let p: FilesRead = params(method, p)?;
                ok(FileContent { content: app.files_read(&p.project_id, p.path).await? })
            }
            "files.write" => {
                let p: FilesWrite = params(method, p)?;
                app.files_write(&p.project_id, p.path, p.content).await?;
                ok(Empty {})
            }
            "files.create" => {
                let p: FilesCreate = params(method, p)?;
                app.files_create(&p.project_id, p.path, &p.kind, p.content).await?;
                ok(Empty {})
            }
            "files.rename" => {
                let p: FilesRename = params(method, p)?;
                ok(app.files_rename(&p.project_id, p.from, p.to).await?)
            }
            "files.delete" => {
                let p: FilesDelete = params(method, p)?;
                ok(app.files_delete(&p.project_id, p.path).await?)
            }
            "files.search" => {
                let p: FilesSearch = params(method, p)?;
                ok(app.files_search(p).await?)
            }
            "files.replace" => {
                let p: FilesReplace = params(method, p)?;
                ok(app.files_replace(p).await?)
            }
            "index.status" => {
                let p: ProjectParams = params(method, p)?;
                ok(app.index_status(&p.project_id).await?)
            }
            "index.rebuild" => {
                let p: ProjectParams = params(method, p)?;
                app.index_rebuild(&p.project_id).await?;
                ok(Empty {})
            }
            "code.search" => {
                let p: CodeSearch = params(method, p)?;
                ok(app.code_search(&p.project_id, &p.query, p.limit, p.mode.as_deref()).await?)
            }
            "code.symbols" => {
                let p: CodeSymbols = params(method, p)?;
                ok(app.code_symbols(&p.project_id, p.path, p.query, p.limit).await?)
            }
            "code.repo_map" => {
                let p: CodeRepoMap = params(method, p)?;
                let map = app.repo_map(&p.project_id, &p.focus, p.budget_tokens.map(|b| b as usize)).await?;
                let tokens = atelier_index::estimate_tokens(&map) as u32;
                ok(atelier_protocol::RepoMap { map, tokens })
            }
            "git.status" => {
                let p: ProjectParams = params(method, p)?;
                ok(app.git_status(&p.project_id).await?)
            }
            "git.diff" => {
                let p: GitDiff = params(method, p)?;
                ok(serde_json::json!({ "diff": app.git_diff(&p.project_id, p.path, p.staged).await? }))
            }
            "git.show" => {
                let p: GitShow = params(method, p)?;
                ok(GitShown { content: app.git_show(&p.project_id, p.rev, p.path).await? })
            }
            "git.commit_details" => {
                let p: GitCommitDetails = params(method, p)?;
                ok(app.git_commit_details(&p.project_id, p.commit).await?)
            }
            "git.stage" | "git.unstage" => {
                let p: GitPaths = params(method, p)?;
                app.git_stage(&p.project_id, p.paths, method == "git.stage").await?;
                ok(Empty {})
            }
            "git.discard" => {
                let p: GitPaths = params(method, p)?;
                ok(CheckpointRestored { undo: app.git_discard(&p.project_id, p.paths).await? })
            }
            "git.commit" => {
                let p: GitCommit = params(method, p)?;
                ok(serde_json::json!({ "commit": app.git_commit(&p.project_id, p.message).await? }))
            }
            "git.log" => {
                let p: GitLog = params(method, p)?;
                ok(app.git_log(&p.project_id, p.limit).await?)
            }
            "git.branches" => {
                let p: ProjectParams = params(method, p)?;
                ok(app.git_branches(&p.project_id).await?)
            }
            "git.push" | "git.pull" => {
                let p: GitRemote = params(method, p)?;
                if method == "git.push" {
                    app.git_push(&p.project_id, p.remote, p.branch).await?;
                } else {
                    app.git_pull(&p.project_id, p.remote, p.branch).await?;
                }
                ok(Empty {})
            }
            "git.checkout" => {
                let p: GitCheckout = params(method, p)?;
                app.git_checkout(&p.project_id, p.branch, p.create).await?;
                ok(Empty {})
            }
            "terminals.list" => {
                let p: ProjectParams = params(method, p)?;
                ok(app.list_terminals(&p.project_id).await?)
            }
            "terminals.open" => {
                let p: TerminalsOpen = params(method, p)?;
                ok(TerminalOpened { terminal_id: app.open_terminal(&p.project_id, p.cols, p.rows).await? })
            }
            "terminals.write" => {
                let p: TerminalsWrite = params(method, p)?;
                app.write_terminal(&p.terminal_id, &p.data)?;
                ok(Empty {})
            }
            "terminals.resize" => {
                let p: TerminalsResize = params(method, p)?;
                app.resize_terminal(&p.terminal_id, p.cols, p.rows)?;
                ok(Empty {})
            }
            "terminals.close" => {
                let p: TerminalId = params(method, p)?;
                app.close_terminal(&p.terminal_id)?;
                ok(Empty {})
            }
            "terminals.scrollback" => {
                let p: TerminalId = params(method, p)?;
                ok(app.terminal_scrollback(&p.terminal_id)?)
            }
            "checkpoints.list" => {
                let p: ProjectParams = params(method, p)?;
                ok(app.list_checkpoints(&p.project_id).await?)
            }
            "checkpoints.restore" => {
                let p: CheckpointsRestore = params(method, p)?;
                ok(CheckpointRestored { undo: app.restore_checkpoint(&p.project_id, p.id).await? })
            }
            "settings.get" => ok(app.settings_view().await?),
            "sandbox.status" => ok(app.sandbox_status()),
            "settings.set" => {
                let p: SettingsSet = params(method, p)?;
                app.set_setting(&p.key, p.value).await?;
                ok(app.settings_view().await?)
            }
            "settings.set_key" => {
                let p: SettingsSetKey = params(method, p)?;
                app.set_api_key(&p.provider, &p.key).await?;
                ok(app.settings_view().await?)
            }
            "settings.delete_key" => {
                let p: SettingsDeleteKey = params(method, p)?;
                app.delete_api_key(&p.provider).await?;
                ok(app.settings_view().await?)
            }
            "models.list" => {
                let p: ModelsList = params(method, p)?;
                ok(app.list_models(p.provider.as_deref()).await?)
            }
            "models.recommended" => ok(app.recommended_models().await?),
            "models.probe" => {
                let p: atelier_protocol::ModelsProbe = params(method, p)?;
                ok(app.probe_model(&p.name, p.refresh.unwrap_or(false)).await?)
            }
            "models.pull" => {
                let p: ModelName = params(method, p)?;
                ok(app.pull_model(&p.name)?)
            }
            "models.pull_cancel" => {
                let p: ModelName = params(method, p)?;
                ok(app.cancel_pull(&p.name)?)
            }
            "models.delete" => {
                let p: ModelName = params(method, p)?;
                ok(app.delete_model(&p.name).await?)
            }
            "mcp.list" => {
                let p: McpList = params(method, p)?;
                ok(app.mcp_list(p.project_id.as_deref()).await?)
            }
            "mcp.add" => {
                let p: McpAdd = params(method, p)?;
                ok(app.mcp_add(p).await?)
            }
            "mcp.remove" => {
                let p: McpName = params(method, p)?;
                app.mcp_remove(&p.name).await?;
                ok(Empty {})
            }
            "mcp.restart" => {
                let p: McpName = params(method, p)?;
                ok(app.mcp_restart(&p.name).await?)
            }
            "mcp.set_enabled" => {
                let p: McpSetEnabled = params(method, p)?;
                ok(app.mcp_set_enabled(&p.name, p.enabled).await?)
            }
            "mcp.update" => {
                let p: McpUpdate = params(method, p)?;
                ok(app.mcp_update(&p.name, p.trusted, p.sandbox).await?)
            }
            "mcp.import" => {
                let p: McpImport = params(method, p)?;
                ok(app.mcp_import(&p.json, p.project_id).await?)
            }
            "subscribe" => {
                let p: Subscribe = params(method, p)?;
                self.subscribe(p).await
            }
            "unsubscribe" => {
                let p: Unsubscribe = params(method, p)?;
                self.subscriber.unsubscribe(&p.topics);
                ok(Empty {})
            }
            _ => Err(RpcError::method_not_found(method)),
        }
    }

    async fn subscribe(&self, p: Subscribe) -> RpcResult {
        if let Some(bad) = p.topics.iter().find(|t| !topics::is_valid(t)) {
            return Err(RpcError::invalid_params(format!(
                "unknown topic `{}`; topics are system, coordinator, models, mcp, projects, or \
                 session/<id>, project/<id>, workflow/<id>, agent/<id>, terminal/<id>",
                bad.chars().take(140).collect::<String>()
            )));
        }
        if self.subscriber.topic_count_with(&p.topics) > self.max_topics {
            return Err(CoreError::InvalidInput(format!(
                "a client may subscribe to at most {} topics; unsubscribe from some first",
                self.max_topics
            ))
            .into());
        }
        let last_seq = self.subscriber.subscribe(&p.topics, p.after_seq);
        for project in p.topics.iter().filter_map(|t| t.strip_prefix("project/")) {
            self.app.watch_project(project).await;
            // Opening a project shows the servers its `.mcp.json` names (disabled).
            if let Err(e) = self.app.discover_project_mcp(project).await {
                tracing::debug!(project, error = %e, "reading a project's .mcp.json");
            }
        }
        ok(Subscribed { last_seq })
    }
}

fn encode<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| {
        r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"response could not be encoded","data":{"kind":"internal","retryable":false}}}"#.to_owned()
    })
}
