//! Method params, results and event payloads. Optional params default when absent; unknown
//! fields are ignored so that newer clients keep working against older servers.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

/// `{}`: the result of methods that only report success.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct Empty {}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct Pong {
    pub pong: bool,
}

// ---------------------------------------------------------------- system

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, TS)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Ok,
    Degraded,
    Down,
}

/// One health check. `detail` is for a person and names no paths or secrets.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct HealthCheck {
    pub name: String,
    pub status: HealthStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct Health {
    pub status: HealthStatus,
    pub checks: Vec<HealthCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct SystemMetrics {
    pub cpu_percent: f32,
    pub memory_used_bytes: u64,
    pub memory_total_bytes: u64,
    pub active_workflows: u64,
    pub active_agents: u64,
    pub connected_clients: u64,
    pub uptime_s: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct CoordinatorMetrics {
    pub total_messages: u64,
    pub total_workflows: u64,
    pub registered_agents: u64,
    pub healthy_agents: u64,
    pub active_workflows: u64,
}

// ---------------------------------------------------------------- projects

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub path: String,
    pub created_at: String,
    /// When it was archived (`projects.archive`, or by age): hidden from `projects.list`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<String>,
    /// When `projects.get` last opened it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct ProjectsCreate {
    pub name: String,
    #[serde(default)]
    pub path: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct ProjectsImport {
    pub path: String,
    #[serde(default)]
    pub name: Option<String>,
    /// Copy the folder into Atelier's data folder and make the copy the project.
    #[serde(default)]
    pub copy: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct IdParams {
    pub id: String,
}

/// `project.import_progress` on `system` while `projects.import` copies a folder.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct ImportProgress {
    pub path: String,
    pub files_done: u64,
    pub files_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct ProjectsExport {
    pub id: String,
    /// Where the zip is written: an absolute path whose folder exists. An existing file there
    /// is replaced only once the new archive is complete.
    pub path: String,
    /// Also include what `.gitignore` ignores (`.git` is always left out).
    #[serde(default)]
    pub include_ignored: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct ProjectExported {
    pub path: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct ProjectsDelete {
    pub id: String,
    #[serde(default)]
    pub delete_files: bool,
}

// ---------------------------------------------------------------- sessions and messages

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct Session {
    pub id: String,
    pub project_id: Option<String>,
    pub agent: String,
    pub title: String,
    pub created_at: String,
    /// The model this session talks to; `null` means the default model at each send.
    #[serde(default)]
    pub model: Option<String>,
    /// Whether the session's agent may use tools (an agent loop): API v1.1.
    #[serde(default)]
    pub tools: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct SessionsCreate {
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub agent: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    /// An agent loop with tools (default false).
    #[serde(default)]
    pub tools: Option<bool>,
}

/// `sessions.update`: what to change; absent fields stay. `model` `""` goes back to the default.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct SessionsUpdate {
    pub id: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub agent: Option<String>,
    #[serde(default)]
    pub tools: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct SessionsList {
    #[serde(default)]
    pub project_id: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, TS)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    /// A tool's result, answering one call of the assistant message before it (API v1.1).
    Tool,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, TS)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    Complete,
    Streaming,
    Interrupted,
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct Message {
    pub id: String,
    pub session_id: String,
    pub role: Role,
    pub content: String,
    pub status: MessageStatus,
    pub created_at: String,
    /// The model's reasoning (`<think>` or a `thinking` field), kept apart from the reply.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reasoning: String,
    /// Why a `failed` reply failed, for a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// An assistant message's tool calls (API v1.1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCallInfo>,
    /// A `tool` message: the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// A `tool` message: the tool's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A `tool` message: how the call ended (`status` stays the message's own state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_status: Option<ToolStatus>,
    /// `summary` for a summary that stands for older messages in the model's context (they stay
    /// in the history and in search); absent for ordinary messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

// ---------------------------------------------------------------- tools (API v1.1)

/// One tool call a model made.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct ToolCallInfo {
    pub id: String,
    pub name: String,
    pub arguments: Value,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, TS)]
#[serde(rename_all = "lowercase")]
pub enum ToolStatus {
    Ok,
    Error,
    Denied,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, TS)]
#[serde(rename_all = "lowercase")]
pub enum ToolEffect {
    Read,
    Write,
    Run,
    Network,
}

/// A tool an agent may be offered (`tools.list`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct ToolDescription {
    pub name: String,
    pub description: String,
    /// `builtin`, or `mcp:<server>`.
    pub source: String,
    pub effect: ToolEffect,
    pub input_schema: Value,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct ToolsList {
    #[serde(default)]
    pub project_id: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, TS)]
#[serde(rename_all = "snake_case")]
pub enum ToolDecision {
    Allow,
    Deny,
    AllowAlways,
}

/// `tools.pending`: the calls of a session waiting for approval.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ToolsPending {
    pub session_id: String,
}

/// `tools.approve`: the person's answer to a call that waits.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ToolsApprove {
    pub call_id: String,
    pub decision: ToolDecision,
}

/// `tools.allowed` / `tools.revoke`: the tools a project allows without asking.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct ToolsAllowed {
    pub project_id: String,
    #[serde(default)]
    pub tool: Option<String>,
}

/// `tool.call`: a call about to run, or waiting for approval when `needs_approval`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct ToolCallEvent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    pub call: ToolCallInfo,
    pub needs_approval: bool,
    /// `read`/`write`/`run`/`network`, when the tool is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<ToolEffect>,
}

/// `tool.output`: what a running command printed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct ToolOutputEvent {
    pub call_id: String,
    pub delta: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
}

/// `tool.result`: how a call ended.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct ToolResultEvent {
    pub call_id: String,
    pub status: ToolStatus,
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// The stored `tool` message (chat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct MessagesList {
    pub session_id: String,
    #[serde(default)]
    pub before: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct MessagesSend {
    pub session_id: String,
    pub content: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct MessagesSent {
    pub user_message_id: String,
    pub reply_id: String,
}

/// `sessions.rename`: a session's new title.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct SessionsRename {
    pub id: String,
    pub title: String,
}

/// `messages.retry`: writes a new reply in a session whose last reply failed.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct MessagesRetry {
    pub session_id: String,
}

/// What `messages.retry` answers: the new reply, which streams like any other.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct MessagesRetried {
    pub reply_id: String,
}

/// `messages.stop`: stops the reply that is streaming in a session (the UI's Stop button).
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct MessagesStop {
    pub session_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct MessagesSearch {
    pub query: String,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct SearchHit {
    pub message: Message,
    pub snippet: String,
}

// ---------------------------------------------------------------- workflows and agents

/// An agent of a workflow. `metrics`: `message_count`, `error_count`, `error_rate`,
/// `avg_execution_ms`, `tokens_in`, `tokens_out`, `context_used`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct Agent {
    pub id: String,
    pub role: String,
    pub name: String,
    pub parent_id: Option<String>,
    pub status: String,
    pub task: String,
    pub metrics: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct Workflow {
    pub id: String,
    pub project_id: String,
    pub request: String,
    pub state: String,
    pub progress: f64,
    pub created_at: String,
    #[serde(default)]
    pub stage: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agents: Option<Vec<Agent>>,
    /// The usage ledger rolled up for this workflow (with `workflows.get`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<WorkflowUsage>,
    /// The files written so far, in the order they were first written (with `workflows.get`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<WrittenFile>>,
    /// The changes waiting for the person's review (with `workflows.get`, in state `reviewing`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<WorkflowReview>,
}

/// What a workflow in `reviewing` shows the person (`review.ready`, `workflows.get`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct WorkflowReview {
    pub files: Vec<FileChange>,
}

/// A file an agent changed: its text before (`null`: it did not exist) and after (`null`:
/// removed), the unified diff (3 lines of context), its hunks in the diff's order, and counts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct FileChange {
    pub path: String,
    pub diff: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub hunks: Vec<DiffHunk>,
    #[serde(default)]
    pub additions: u32,
    #[serde(default)]
    pub deletions: u32,
}

/// One hunk of a [`FileChange`]: 1-based line ranges in the old and new text.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct DiffHunk {
    pub index: u32,
    pub old_start: u32,
    pub old_lines: u32,
    pub new_start: u32,
    pub new_lines: u32,
}

/// A file accepted in a review: whole (its path) or only the hunks listed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[serde(untagged)]
pub enum ReviewAccept {
    Whole(String),
    Hunks { path: String, hunks: Vec<u32> },
}

/// `workflows.review`: every file of the review named once.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct WorkflowsReview {
    pub id: String,
    #[serde(default)]
    pub accept: Vec<ReviewAccept>,
    #[serde(default)]
    pub reject: Vec<String>,
}

/// `review.done`: what was kept and put back; `undo` restores the agents' version of it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct ReviewDone {
    pub accepted: Vec<String>,
    #[serde(default)]
    pub partial: Vec<String>,
    pub rejected: Vec<String>,
    #[serde(default)]
    pub undo: Option<String>,
}

/// A file a chat's agent changed that the person has not kept or undone yet.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct SessionChange {
    pub path: String,
    /// The snapshot of the file before the chat's first edit of it.
    pub checkpoint_id: String,
    pub additions: u32,
    pub deletions: u32,
    pub diff: String,
}

/// `sessions.changes`.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct SessionsChanges {
    pub session_id: String,
}

/// `sessions.keep` / `sessions.revert`: the files named, or every changed file.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct SessionsChangePaths {
    pub session_id: String,
    #[serde(default)]
    pub paths: Option<Vec<String>>,
}

/// `session.changes` on `session/<id>`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct SessionChangesEvent {
    pub files: Vec<SessionChange>,
}

/// A file a workflow has written: its path in the project and its size after its latest write
/// (a fix round's included).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct WrittenFile {
    pub path: String,
    pub bytes: u64,
}

/// Model calls and tokens of one agent, one module, or a whole workflow.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct UsageLine {
    /// The agent id or module name (empty for the workflow's total).
    pub key: String,
    pub calls: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct WorkflowUsage {
    pub total: UsageLine,
    pub by_agent: Vec<UsageLine>,
    /// The master's calls count under the module `plan`.
    pub by_module: Vec<UsageLine>,
    /// Coders' SEARCH/REPLACE replies per model: how many came, how many applied (API v1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edits: Option<Vec<EditShare>>,
}

/// How well a model writes SEARCH/REPLACE edits: replies with edits, and those that applied
/// (the others were asked again for the whole file).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, TS)]
pub struct EditShare {
    pub model: String,
    pub attempted: u32,
    pub well_formed: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct WorkflowsStart {
    pub project_id: String,
    pub request: String,
    #[serde(default)]
    pub options: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct WorkflowsControl {
    pub id: String,
    pub action: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct WorkflowsApprove {
    pub id: String,
    #[serde(default)]
    pub plan: Option<Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct WorkflowsList {
    #[serde(default)]
    pub project_id: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct AgentsList {
    #[serde(default)]
    pub workflow_id: Option<String>,
}

// ---------------------------------------------------------------- files

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct FilesTree {
    pub project_id: String,
    #[serde(default)]
    pub path: Option<String>,
}

/// One entry of `files.tree`: `kind` is `file` or `dir`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct FileEntry {
    pub path: String,
    pub kind: String,
    pub size: u64,
    /// `true` when the name on disk is not UTF-8: `path` shows it with U+FFFD and it cannot be
    /// opened through the API until renamed. Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub non_utf8_name: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct FilesRead {
    pub project_id: String,
    pub path: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct FileContent {
    pub content: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct FilesWrite {
    pub project_id: String,
    pub path: String,
    pub content: String,
}

// ---------------------------------------------------------------- git

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct ProjectParams {
    pub project_id: String,
}

/// `index` and `worktree` use `git status --porcelain=v2`'s letters: `.` unchanged, `M`, `A`,
/// `D`, `R`, `T`, `U` (conflict); an untracked file is `?` in both.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct GitStatusEntry {
    pub path: String,
    pub index: String,
    pub worktree: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct GitStatus {
    pub branch: String,
    pub entries: Vec<GitStatusEntry>,
}

/// `git.show`: a file as it was at a revision.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct GitShow {
    pub project_id: String,
    pub rev: String,
    pub path: String,
}

/// `git.show`'s result: `content` is `null` when the file did not exist at that revision.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct GitShown {
    pub content: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct GitDiff {
    pub project_id: String,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub staged: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct GitPaths {
    pub project_id: String,
    pub paths: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct GitCommit {
    pub project_id: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct GitLog {
    pub project_id: String,
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct GitLogEntry {
    pub commit: String,
    pub summary: String,
    pub author: String,
    pub time: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct GitBranch {
    pub name: String,
    pub current: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct GitRemote {
    pub project_id: String,
    #[serde(default)]
    pub remote: Option<String>,
    #[serde(default)]
    pub branch: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct GitCheckout {
    pub project_id: String,
    pub branch: String,
    #[serde(default)]
    pub create: bool,
}

// ---------------------------------------------------------------- terminals

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct TerminalsOpen {
    pub project_id: String,
    pub cols: u16,
    pub rows: u16,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct TerminalOpened {
    pub terminal_id: String,
}

/// One of a project's open terminals (`terminals.list`), oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct TerminalInfo {
    pub terminal_id: String,
    pub cols: u16,
    pub rows: u16,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct TerminalsWrite {
    pub terminal_id: String,
    pub data: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct TerminalsResize {
    pub terminal_id: String,
    pub cols: u16,
    pub rows: u16,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct TerminalId {
    pub terminal_id: String,
}

/// `terminals.scrollback`: the last 1 MiB of output; `offset` is where it ends, so output
/// events with `offset` below it are already included.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct TerminalScrollback {
    pub data_b64: String,
    pub offset: u64,
}

// ---------------------------------------------------------------- checkpoints

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct Checkpoint {
    pub id: String,
    pub label: String,
    pub time: String,
    pub paths: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct CheckpointsRestore {
    pub project_id: String,
    pub id: String,
}

/// `checkpoints.restore`: the checkpoint taken just before the restore; restoring it undoes it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct CheckpointRestored {
    pub undo: Checkpoint,
}

// ---------------------------------------------------------------- models

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct ModelsList {
    #[serde(default)]
    pub provider: Option<String>,
}

/// `settings.set`: `value` `null` (or empty) clears the setting.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct SettingsSet {
    pub key: String,
    #[serde(default)]
    pub value: Option<String>,
}

/// `settings.set_key`: stores a provider's API key in the OS keychain. `Debug` never prints
/// the key.
#[derive(Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct SettingsSetKey {
    /// `openai`, `anthropic`, `gemini` or `deepseek`.
    pub provider: String,
    pub key: String,
}

impl std::fmt::Debug for SettingsSetKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SettingsSetKey")
            .field("provider", &self.provider)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// `settings.delete_key`.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct SettingsDeleteKey {
    pub provider: String,
}

/// One provider's entry in `settings.get`'s `api_keys`: whether a key is stored in the OS
/// keychain, and whether its environment variable is set (it wins over the stored key).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct ApiKeyStatus {
    pub key_stored: bool,
    pub env_set: bool,
}

/// `sandbox.status`: the sandbox commands agents run go through, as Settings shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct SandboxStatus {
    /// The setting `sandbox`: `auto`, `bubblewrap`, `container` or `off`.
    pub setting: String,
    /// The mode in force: `bubblewrap`, `landlock`, `seatbelt`, `container`, `none`; `null` when
    /// the sandbox asked for cannot start (then commands do not run; `error` says why).
    pub mode: Option<String>,
    /// The container engine in container mode (`podman`, `docker`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// As the `sandbox` check of `system.health`.
    pub status: HealthStatus,
    /// A sentence naming the mode and what it confines.
    pub summary: String,
    /// When weaker than possible: how to get a stronger sandbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
    /// Why the sandbox asked for cannot start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the memory limit is enforced as in this mode.
    pub memory: String,
    /// The setting `sandbox.network`.
    pub network: bool,
    /// The folders readable inside (the setting `sandbox.allow_read`, else the defaults that exist).
    pub allow_read: Vec<String>,
    /// The setting `sandbox.memory_mb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mb: Option<u64>,
}

/// `models.pull`, `models.pull_cancel`, `models.delete`.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct ModelName {
    pub name: String,
}

/// `model.pull_progress` on `models`. `status` is the server's step (`pulling manifest`,
/// `pulling <digest>`, `verifying sha256 digest`, `writing manifest`, `success`), or Atelier's
/// `cancelled` / `error` at the end.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct ModelPullProgress {
    pub name: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<FailureInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct Model {
    pub name: String,
    pub provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_length: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantization: Option<String>,
    /// What a probe found the model can do, once probed (`models.probe`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<ModelProbe>,
}

/// What a model can do, probed once and remembered (`models.probe`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct ModelProbe {
    pub name: String,
    #[serde(default)]
    pub context_length: Option<u32>,
    /// `native` (the server passes tools), `text` (it writes a call in the text format when
    /// asked), `none` (neither), `unknown` (the self-test did not finish).
    pub tools: String,
    pub probed_at: String,
    /// Why the model is a poor choice for agents, and which one would do.
    #[serde(default)]
    pub warning: Option<String>,
}

/// `models.probe`.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct ModelsProbe {
    pub name: String,
    /// Probe again rather than answer what is remembered.
    #[serde(default)]
    pub refresh: Option<bool>,
}

/// `models.recommended`: coding models for this machine, best first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct ModelsRecommended {
    pub memory_bytes: u64,
    pub free_memory_bytes: u64,
    #[serde(default)]
    pub vram_bytes: Option<u64>,
    pub models: Vec<RecommendedModel>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct RecommendedModel {
    /// The name to pull (`models.pull`).
    pub name: String,
    pub label: String,
    /// Parameters, e.g. `7.6B`.
    pub params: String,
    /// Download size.
    pub size_bytes: u64,
    /// Whether it fits this machine's free memory (or its GPU).
    pub fits: bool,
    pub installed: bool,
    pub reason: String,
    /// Large enough to follow an agent's tool format reliably.
    pub agent_ready: bool,
}

// ---------------------------------------------------------------- MCP servers (API v1.1)

/// A tool an MCP server offers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct McpTool {
    pub name: String,
    pub description: String,
    /// The JSON Schema of its arguments, as the server gives it.
    #[serde(default)]
    pub input_schema: Value,
}

/// An MCP server as `mcp.list` shows it. `env` and header values are never shown: only their
/// names (the values live in the OS keychain).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct McpServer {
    pub name: String,
    /// `stdio` or `http`.
    pub transport: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub enabled: bool,
    /// `starting`, `ready`, `error` or `stopped`.
    pub status: String,
    /// What went wrong last, for a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub tools: Vec<McpTool>,
    pub restarts: u32,
    /// Its tools' calls need no approval.
    pub trusted: bool,
    /// A stdio server runs in the sandbox.
    pub sandbox: bool,
    /// Set for a project's server (it runs in the project's folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// `user` (added or imported by a person) or `project_file` (found in a project's
    /// `.mcp.json`, never started until enabled).
    pub origin: String,
    /// The names of its environment variables and headers.
    pub env_keys: Vec<String>,
    pub header_keys: Vec<String>,
    /// The last lines of its stderr.
    pub stderr_tail: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

/// `mcp.list`: with `project_id`, that project's `.mcp.json` is read first (its servers are
/// shown, disabled, until the person enables them).
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct McpList {
    #[serde(default)]
    pub project_id: Option<String>,
}

/// `mcp.add`: a `command` (stdio) or a `url` (Streamable HTTP). `Debug` never prints `env`
/// or header values.
#[derive(Clone, Default, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct McpAdd {
    pub name: String,
    #[serde(default)]
    pub command: Option<String>,
    #[serde(default)]
    pub args: Option<Vec<String>>,
    #[serde(default)]
    pub env: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub headers: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    pub project_id: Option<String>,
    /// Default false: its tools' calls need approval.
    #[serde(default)]
    pub trusted: Option<bool>,
    /// Default true for a project's server, false otherwise.
    #[serde(default)]
    pub sandbox: Option<bool>,
    /// Default true (started at once).
    #[serde(default)]
    pub enabled: Option<bool>,
}

impl std::fmt::Debug for McpAdd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = |m: &Option<std::collections::BTreeMap<String, String>>| {
            m.as_ref().map(|m| m.keys().cloned().collect::<Vec<_>>())
        };
        f.debug_struct("McpAdd")
            .field("name", &self.name)
            .field("command", &self.command)
            .field("args", &self.args)
            .field("env", &keys(&self.env))
            .field("url", &self.url)
            .field("headers", &keys(&self.headers))
            .field("project_id", &self.project_id)
            .finish_non_exhaustive()
    }
}

/// `mcp.remove`, `mcp.restart`.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct McpName {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct McpSetEnabled {
    pub name: String,
    pub enabled: bool,
}

/// `mcp.update`: changes a server's switches.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct McpUpdate {
    pub name: String,
    #[serde(default)]
    pub trusted: Option<bool>,
    #[serde(default)]
    pub sandbox: Option<bool>,
}

/// `mcp.import`: the JSON other MCP clients keep (`{"mcpServers": {...}}`), as text. With
/// `project_id` the servers become that project's. `Debug` never prints the JSON (it holds
/// secrets).
#[derive(Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct McpImport {
    pub json: String,
    #[serde(default)]
    pub project_id: Option<String>,
}

impl std::fmt::Debug for McpImport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpImport")
            .field("json", &"<redacted>")
            .field("project_id", &self.project_id)
            .finish()
    }
}

/// `mcp.server_status` on `mcp`: a server changed (status, error, tools, restarts).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct McpServerStatus {
    pub server: McpServer,
}

/// `mcp.server_health` on `mcp`: a ping, every 30 s while someone subscribes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct McpServerHealth {
    pub name: String,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `mcp.tools_changed` on `mcp`: a server's tools, after it started or said they changed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct McpToolsChanged {
    pub name: String,
    pub tools: Vec<McpTool>,
}

// ---------------------------------------------------------------- subscriptions

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct Subscribe {
    pub topics: Vec<String>,
    #[serde(default)]
    pub after_seq: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct Subscribed {
    pub last_seq: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct Unsubscribe {
    pub topics: Vec<String>,
}

// ---------------------------------------------------------------- event payloads

/// `stream.gap`: events `from_seq..=to_seq` of the subscribed topics are no longer retained (or
/// were dropped because the subscriber fell behind). Refetch state (e.g. `messages.list`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct StreamGap {
    pub from_seq: u64,
    pub to_seq: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct MessageEvent {
    pub message: Message,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct MessageDelta {
    pub message_id: String,
    pub delta: String,
    /// `true` when the delta is reasoning text rather than reply text.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reasoning: bool,
}

/// The error carried by `message.failed`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct FailureInfo {
    pub message: String,
    pub kind: crate::ErrorKind,
    pub retryable: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct MessageFailed {
    pub message_id: String,
    pub error: FailureInfo,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct ContextUsage {
    pub used_tokens: u32,
    pub limit_tokens: u32,
    /// The context window asked of the model for this reply (Ollama's `num_ctx`): room for the
    /// conversation and the reply, rounded up to 2,048, at least 4,096, at most `limit_tokens`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_ctx: Option<u32>,
    /// The conversation was compacted for this reply: older turns were replaced by a summary.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub compacted: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct Notification {
    pub level: String,
    pub message: String,
}

// ---------------------------------------------------------------- code index (API v1.1)

/// `index.status`: what a project's code index holds and how it searches. `state` is
/// `idle` (not opened yet), `indexing`, `ready` or `error`; `mode` is `hybrid` (keywords and
/// embeddings) or `keyword`. `message` says in words why the mode is what it is, or what went
/// wrong; `limit` says what the project's size limit left out.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct IndexStatus {
    pub state: String,
    pub files: u64,
    pub chunks: u64,
    pub embedded_chunks: u64,
    pub mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding_model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Definitions found.
    #[serde(default)]
    pub symbols: u64,
    /// Files left out at the last full pass.
    #[serde(default)]
    pub skipped_binary: u64,
    #[serde(default)]
    pub skipped_large: u64,
    #[serde(default)]
    pub skipped_over_limit: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct CodeSearch {
    pub project_id: String,
    pub query: String,
    #[serde(default)]
    pub limit: Option<u32>,
    /// `auto` (default: hybrid when there are embeddings), `keyword` or `semantic`.
    #[serde(default)]
    pub mode: Option<String>,
}

/// One `code.search` result: a chunk of a file (lines 1-based, inclusive). `line` is where
/// `snippet` starts, the place to open the file at.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct CodeHit {
    pub path: String,
    pub start_line: u32,
    pub end_line: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    pub line: u32,
    pub snippet: String,
    pub score: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct CodeSymbols {
    pub project_id: String,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}

/// One definition of `code.symbols`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct CodeSymbol {
    pub path: String,
    pub name: String,
    pub kind: String,
    pub line: u32,
    pub end_line: u32,
    pub signature: String,
}

/// `code.repo_map`: the project's most important definitions for a request, as prompt text.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct CodeRepoMap {
    pub project_id: String,
    /// Paths and names (identifiers) the map should favour.
    #[serde(default)]
    pub focus: Vec<String>,
    #[serde(default)]
    pub budget_tokens: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct RepoMap {
    pub map: String,
    pub tokens: u32,
}

/// `index.progress` on `project/<id>`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct IndexProgress {
    pub files_done: u64,
    pub files_total: u64,
}

/// `index.ready` on `project/<id>`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct IndexReady {
    pub status: IndexStatus,
}

/// Event type names, as they appear in an event's `type`.
pub mod event_types {
    pub const STREAM_GAP: &str = "stream.gap";
    pub const MESSAGE_CREATED: &str = "message.created";
    pub const MESSAGE_DELTA: &str = "message.delta";
    pub const MESSAGE_COMPLETED: &str = "message.completed";
    pub const MESSAGE_FAILED: &str = "message.failed";
    pub const CONTEXT_USAGE: &str = "context.usage";
    pub const SESSION_CREATED: &str = "session.created";
    pub const SESSION_DELETED: &str = "session.deleted";
    pub const PROJECT_CREATED: &str = "project.created";
    pub const PROJECT_DELETED: &str = "project.deleted";
    /// On `projects`: projects were archived by age (read the list again).
    pub const PROJECTS_CHANGED: &str = "projects.changed";
    pub const SYSTEM_METRICS: &str = "system.metrics";
    pub const SYSTEM_HEALTH: &str = "system.health";
    pub const NOTIFICATION: &str = "notification";
    pub const PROJECT_IMPORT_PROGRESS: &str = "project.import_progress";
    pub const MODEL_PULL_PROGRESS: &str = "model.pull_progress";
    pub const MODELS_CHANGED: &str = "models.changed";
    pub const INDEX_PROGRESS: &str = "index.progress";
    pub const INDEX_READY: &str = "index.ready";
    pub const MCP_SERVER_STATUS: &str = "mcp.server_status";
    pub const MCP_SERVER_HEALTH: &str = "mcp.server_health";
    pub const MCP_TOOLS_CHANGED: &str = "mcp.tools_changed";
    pub const TOOL_CALL: &str = "tool.call";
    pub const TOOL_OUTPUT: &str = "tool.output";
    pub const TOOL_RESULT: &str = "tool.result";
    pub const SESSION_UPDATED: &str = "session.updated";
    pub const SESSION_CHANGES: &str = "session.changes";
    pub const REVIEW_READY: &str = "review.ready";
    pub const REVIEW_DONE: &str = "review.done";
}

/// Topic names.
pub mod topics {
    pub const SYSTEM: &str = "system";
    pub const COORDINATOR: &str = "coordinator";
    pub const MODELS: &str = "models";
    /// MCP servers: `mcp.server_status`, `mcp.server_health`, `mcp.tools_changed`.
    pub const MCP: &str = "mcp";
    /// The list of projects: `projects.changed` when some were archived by age.
    pub const PROJECTS: &str = "projects";

    pub fn session(id: &str) -> String {
        format!("session/{id}")
    }

    pub fn project(id: &str) -> String {
        format!("project/{id}")
    }

    pub fn workflow(id: &str) -> String {
        format!("workflow/{id}")
    }

    /// Whether `topic` has a known shape: a fixed name or `<kind>/<id>` with a non-empty id.
    pub fn is_valid(topic: &str) -> bool {
        match topic.split_once('/') {
            None => matches!(topic, SYSTEM | COORDINATOR | MODELS | MCP | PROJECTS),
            Some((kind, id)) => {
                matches!(kind, "session" | "project" | "workflow" | "agent" | "terminal")
                    && !id.is_empty()
                    && id.len() <= 128
                    && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            }
        }
    }
}

/// Converts a result to a JSON value. Serializing these plain types (string keys, no
/// non-finite floats) cannot fail; should it ever, the caller gets `null` rather than a crash.
pub fn to_value<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::topics;

    #[test]
    fn the_mcp_topic_is_a_topic() {
        assert!(topics::is_valid(topics::MCP));
        assert!(!topics::is_valid("mcp/x"));
    }
}
