// Generated from crates/atelier-protocol by ts-rs; do not edit.
// Regenerate: ATELIER_UPDATE_TS=1 cargo test -p atelier-protocol --test typescript

export type Agent = { id: string, role: string, name: string, parent_id?: string | null, status: string, task: string, metrics: JsonValue, };

export type AgentsList = { workflow_id?: string | null, };

export type ApiKeyStatus = { key_stored: boolean, env_set: boolean, };

export type Backup = { id: string, path: string, bytes: number, time: string, };

export type BackupRestored = { kept: Backup, };

export type Checkpoint = { id: string, label: string, time: string, paths: Array<string>, };

export type CheckpointRestored = { undo: Checkpoint, };

export type CheckpointsRestore = { project_id: string, id: string, };

export type CleanupCandidate = { project_id: string, name: string, path: string, archived_at: string, sessions: number, messages: number, workflows: number, };

export type CodeHit = { path: string, start_line: number, end_line: number, symbol?: string | null, line: number, snippet: string, score: number, };

export type CodeRepoMap = { project_id: string, 
/**
 * Paths and names (identifiers) the map should favour.
 */
focus: Array<string>, budget_tokens?: number | null, };

export type CodeSearch = { project_id: string, query: string, limit?: number | null, 
/**
 * `auto` (default: hybrid when there are embeddings), `keyword` or `semantic`.
 */
mode?: string | null, };

export type CodeSymbol = { path: string, name: string, kind: string, line: number, end_line: number, signature: string, };

export type CodeSymbols = { project_id: string, path?: string | null, query?: string | null, limit?: number | null, };

export type CommitDetails = { commit: string, summary: string, message: string, author: string, time: string, parents: Array<string>, files: Array<CommitFile>, };

export type CommitFile = { path: string, status: string, additions: number, deletions: number, old_path?: string | null, binary: boolean, };

export type ContextUsage = { used_tokens: number, limit_tokens: number, 
/**
 * The context window asked of the model for this reply (Ollama's `num_ctx`): room for the
 * conversation and the reply, rounded up to 2,048, at least 4,096, at most `limit_tokens`.
 */
num_ctx?: number | null, 
/**
 * The conversation was compacted for this reply: older turns were replaced by a summary.
 */
compacted: boolean, };

export type CoordinatorMetrics = { total_messages: number, total_workflows: number, registered_agents: number, healthy_agents: number, active_workflows: number, };

export type DiffHunk = { index: number, old_start: number, old_lines: number, new_start: number, new_lines: number, };

export type EditShare = { model: string, attempted: number, well_formed: number, };

export type Empty = Record<symbol, never>;

export type ErrorData = { kind: ErrorKind, retryable: boolean, };

export type ErrorKind = "invalid_input" | "not_found" | "conflict" | "unauthorized" | "rate_limited" | "unavailable" | "cancelled" | "internal";

export type Event = { seq: number, topic: string, type: string, time: string, data: JsonValue, };

export type EventNotification = { jsonrpc: string, method: string, params: Event, };

export type FailureInfo = { message: string, kind: ErrorKind, retryable: boolean, };

export type FileChange = { path: string, diff: string, before?: string | null, after?: string | null, hunks: Array<DiffHunk>, additions: number, deletions: number, };

export type FileContent = { content: string, };

export type FileEntry = { path: string, kind: string, size: number, 
/**
 * `true` when the name on disk is not UTF-8: `path` shows it with U+FFFD and it cannot be
 * opened through the API until renamed. Absent otherwise.
 */
non_utf8_name?: boolean | null, };

export type FileMatch = { path: string, line: number, column: number, text: string, };

export type FilesCreate = { project_id: string, path: string, kind: string, content?: string | null, };

export type FilesDelete = { project_id: string, path: string, };

export type FilesDeleted = { undo: Checkpoint, skipped: Array<string>, };

export type FilesFound = { matches: Array<FileMatch>, truncated: boolean, files_searched: number, };

export type FilesRead = { project_id: string, path: string, };

export type FilesRename = { project_id: string, from: string, to: string, };

export type FilesRenamed = { undo: Checkpoint, };

export type FilesReplace = { project_id: string, query: string, replacement: string, regex?: boolean | null, case_sensitive?: boolean | null, glob?: string | null, paths?: Array<string> | null, preview?: boolean | null, };

export type FilesReplaced = { files: Array<ReplacedFile>, undo?: Checkpoint | null, };

export type FilesSearch = { project_id: string, query: string, regex?: boolean | null, case_sensitive?: boolean | null, glob?: string | null, limit?: number | null, };

export type FilesTree = { project_id: string, path?: string | null, };

export type FilesWrite = { project_id: string, path: string, content: string, };

export type GitBranch = { name: string, current: boolean, };

export type GitCheckout = { project_id: string, branch: string, create: boolean, };

export type GitCommit = { project_id: string, message: string, };

export type GitCommitDetails = { project_id: string, commit: string, };

export type GitDiff = { project_id: string, path?: string | null, staged: boolean, };

export type GitLog = { project_id: string, limit?: number | null, };

export type GitLogEntry = { commit: string, summary: string, author: string, time: string, };

export type GitPaths = { project_id: string, paths: Array<string>, };

export type GitRemote = { project_id: string, remote?: string | null, branch?: string | null, };

export type GitShow = { project_id: string, rev: string, path: string, };

export type GitShown = { content?: string | null, };

export type GitStatus = { branch: string, entries: Array<GitStatusEntry>, };

export type GitStatusEntry = { path: string, index: string, worktree: string, };

export type Health = { status: HealthStatus, checks: Array<HealthCheck>, version?: string | null, };

export type HealthCheck = { name: string, status: HealthStatus, detail?: string | null, };

export type HealthStatus = "ok" | "degraded" | "down";

export type IdParams = { id: string, };

export type ImportProgress = { path: string, files_done: number, files_total: number, bytes_done: number, bytes_total: number, };

export type IndexProgress = { files_done: number, files_total: number, };

export type IndexReady = { status: IndexStatus, };

export type IndexStatus = { state: string, files: number, chunks: number, embedded_chunks: number, mode: string, embedding_model?: string | null, updated_at?: string | null, 
/**
 * Definitions found.
 */
symbols: number, 
/**
 * Files left out at the last full pass.
 */
skipped_binary: number, skipped_large: number, skipped_over_limit: number, limit?: string | null, message?: string | null, error?: string | null, };

export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]: JsonValue } | null;

export type McpAdd = { name: string, command?: string | null, args?: Array<string> | null, env?: { [key in string]: string } | null, url?: string | null, headers?: { [key in string]: string } | null, project_id?: string | null, 
/**
 * Default false: its tools' calls need approval.
 */
trusted?: boolean | null, 
/**
 * Default true for a project's server, false otherwise.
 */
sandbox?: boolean | null, 
/**
 * Default true (started at once).
 */
enabled?: boolean | null, };

export type McpImport = { json: string, project_id?: string | null, };

export type McpList = { project_id?: string | null, };

export type McpName = { name: string, };

export type McpServer = { name: string, 
/**
 * `stdio` or `http`.
 */
transport: string, command?: string | null, args?: Array<string> | null, url?: string | null, enabled: boolean, 
/**
 * `starting`, `ready`, `error` or `stopped`.
 */
status: string, 
/**
 * What went wrong last, for a person.
 */
error?: string | null, tools: Array<McpTool>, restarts: number, 
/**
 * Its tools' calls need no approval.
 */
trusted: boolean, 
/**
 * A stdio server runs in the sandbox.
 */
sandbox: boolean, 
/**
 * Set for a project's server (it runs in the project's folder).
 */
project_id?: string | null, 
/**
 * `user` (added or imported by a person) or `project_file` (found in a project's
 * `.mcp.json`, never started until enabled).
 */
origin: string, 
/**
 * The names of its environment variables and headers.
 */
env_keys: Array<string>, header_keys: Array<string>, 
/**
 * The last lines of its stderr.
 */
stderr_tail: Array<string>, pid?: number | null, };

export type McpServerHealth = { name: string, ok: boolean, latency_ms?: number | null, error?: string | null, };

export type McpServerStatus = { server: McpServer, };

export type McpSetEnabled = { name: string, enabled: boolean, };

export type McpTool = { name: string, description: string, 
/**
 * The JSON Schema of its arguments, as the server gives it.
 */
input_schema: JsonValue, };

export type McpToolsChanged = { name: string, tools: Array<McpTool>, };

export type McpUpdate = { name: string, trusted?: boolean | null, sandbox?: boolean | null, };

export type Message = { id: string, session_id: string, role: Role, content: string, status: MessageStatus, created_at: string, 
/**
 * The model's reasoning (`<think>` or a `thinking` field), kept apart from the reply.
 */
reasoning: string, 
/**
 * Why a `failed` reply failed, for a person.
 */
error?: string | null, model?: string | null, 
/**
 * An assistant message's tool calls (API v1.1).
 */
tool_calls: Array<ToolCallInfo>, 
/**
 * A `tool` message: the call it answers.
 */
tool_call_id?: string | null, 
/**
 * A `tool` message: the tool's name.
 */
name?: string | null, 
/**
 * A `tool` message: how the call ended (`status` stays the message's own state).
 */
tool_status?: ToolStatus | null, 
/**
 * `summary` for a summary that stands for older messages in the model's context (they stay
 * in the history and in search); absent for ordinary messages.
 */
kind?: string | null, };

export type MessageDelta = { message_id: string, delta: string, 
/**
 * `true` when the delta is reasoning text rather than reply text.
 */
reasoning: boolean, };

export type MessageEvent = { message: Message, };

export type MessageFailed = { message_id: string, error: FailureInfo, };

export type MessageStatus = "complete" | "streaming" | "interrupted" | "failed";

export type MessagesList = { session_id: string, before?: string | null, limit?: number | null, };

export type MessagesRetried = { reply_id: string, };

export type MessagesRetry = { session_id: string, };

export type MessagesSearch = { query: string, project_id?: string | null, limit?: number | null, };

export type MessagesSend = { session_id: string, content: string, };

export type MessagesSent = { user_message_id: string, reply_id: string, };

export type MessagesStop = { session_id: string, };

export type Model = { name: string, provider: string, size?: number | null, context_length?: number | null, family?: string | null, quantization?: string | null, 
/**
 * What a probe found the model can do, once probed (`models.probe`).
 */
probe?: ModelProbe | null, };

export type ModelName = { name: string, };

export type ModelProbe = { name: string, context_length?: number | null, 
/**
 * `native` (the server passes tools), `text` (it writes a call in the text format when
 * asked), `none` (neither), `unknown` (the self-test did not finish).
 */
tools: string, probed_at: string, 
/**
 * Why the model is a poor choice for agents, and which one would do.
 */
warning?: string | null, };

export type ModelPullProgress = { name: string, status: string, completed?: number | null, total?: number | null, error?: FailureInfo | null, };

export type ModelsList = { provider?: string | null, };

export type ModelsProbe = { name: string, 
/**
 * Probe again rather than answer what is remembered.
 */
refresh?: boolean | null, };

export type ModelsRecommended = { memory_bytes: number, free_memory_bytes: number, vram_bytes?: number | null, models: Array<RecommendedModel>, };

export type Notification = { level: string, message: string, };

export type Pong = { pong: boolean, };

export type Project = { id: string, name: string, path: string, created_at: string, 
/**
 * When it was archived (`projects.archive`, or by age): hidden from `projects.list`.
 */
archived_at?: string | null, 
/**
 * When `projects.get` last opened it.
 */
opened_at?: string | null, };

export type ProjectExported = { path: string, bytes: number, };

export type ProjectParams = { project_id: string, };

export type ProjectsCleaned = { removed: Array<string>, };

export type ProjectsCleanup = { ids: Array<string>, };

export type ProjectsCreate = { name: string, path?: string | null, };

export type ProjectsDelete = { id: string, delete_files: boolean, };

export type ProjectsExport = { id: string, 
/**
 * Where the zip is written: an absolute path whose folder exists. An existing file there
 * is replaced only once the new archive is complete.
 */
path: string, 
/**
 * Also include what `.gitignore` ignores (`.git` is always left out).
 */
include_ignored: boolean, };

export type ProjectsImport = { path: string, name?: string | null, 
/**
 * Copy the folder into Atelier's data folder and make the copy the project.
 */
copy?: boolean | null, };

export type ProjectsList = { include_archived?: boolean | null, };

export type RecommendedModel = { 
/**
 * The name to pull (`models.pull`).
 */
name: string, label: string, 
/**
 * Parameters, e.g. `7.6B`.
 */
params: string, 
/**
 * Download size.
 */
size_bytes: number, 
/**
 * Whether it fits this machine's free memory (or its GPU).
 */
fits: boolean, installed: boolean, reason: string, 
/**
 * Large enough to follow an agent's tool format reliably.
 */
agent_ready: boolean, };

export type ReplacedFile = { path: string, replacements: number, diff: string, };

export type RepoMap = { map: string, tokens: number, };

export type Response = { jsonrpc: string, id: JsonValue, result?: JsonValue | null, error?: RpcError | null, };

export type ReviewAccept = string | { path: string, hunks: Array<number>, };

export type ReviewDone = { accepted: Array<string>, partial: Array<string>, rejected: Array<string>, undo?: string | null, };

export type Role = "system" | "user" | "assistant" | "tool";

export type RpcError = { code: number, message: string, data: ErrorData, };

export type SandboxStatus = { 
/**
 * The setting `sandbox`: `auto`, `bubblewrap`, `container` or `off`.
 */
setting: string, 
/**
 * The mode in force: `bubblewrap`, `landlock`, `seatbelt`, `container`, `none`; `null` when
 * the sandbox asked for cannot start (then commands do not run; `error` says why).
 */
mode?: string | null, 
/**
 * The container engine in container mode (`podman`, `docker`).
 */
engine?: string | null, 
/**
 * As the `sandbox` check of `system.health`.
 */
status: HealthStatus, 
/**
 * A sentence naming the mode and what it confines.
 */
summary: string, 
/**
 * When weaker than possible: how to get a stronger sandbox.
 */
advice?: string | null, 
/**
 * Why the sandbox asked for cannot start.
 */
error?: string | null, 
/**
 * What the memory limit is enforced as in this mode.
 */
memory: string, 
/**
 * The setting `sandbox.network`.
 */
network: boolean, 
/**
 * The folders readable inside (the setting `sandbox.allow_read`, else the defaults that exist).
 */
allow_read: Array<string>, 
/**
 * The setting `sandbox.memory_mb`.
 */
memory_mb?: number | null, };

export type SearchHit = { message: Message, snippet: string, };

export type Session = { id: string, project_id?: string | null, agent: string, title: string, created_at: string, 
/**
 * The model this session talks to; `null` means the default model at each send.
 */
model?: string | null, 
/**
 * Whether the session's agent may use tools (an agent loop): API v1.1.
 */
tools: boolean, };

export type SessionChange = { path: string, 
/**
 * The snapshot of the file before the chat's first edit of it.
 */
checkpoint_id: string, additions: number, deletions: number, diff: string, };

export type SessionChangesEvent = { files: Array<SessionChange>, };

export type SessionsChangePaths = { session_id: string, paths?: Array<string> | null, };

export type SessionsChanges = { session_id: string, };

export type SessionsCreate = { project_id?: string | null, agent?: string | null, model?: string | null, 
/**
 * An agent loop with tools (default false).
 */
tools?: boolean | null, };

export type SessionsList = { project_id?: string | null, };

export type SessionsRename = { id: string, title: string, };

export type SessionsUpdate = { id: string, title?: string | null, model?: string | null, agent?: string | null, tools?: boolean | null, };

export type SettingsDeleteKey = { provider: string, };

export type SettingsSet = { key: string, value?: string | null, };

export type SettingsSetKey = { 
/**
 * `openai`, `anthropic`, `gemini` or `deepseek`.
 */
provider: string, key: string, };

export type StreamGap = { from_seq: number, to_seq: number, };

export type Subscribe = { topics: Array<string>, after_seq?: number | null, };

export type Subscribed = { last_seq: number, };

export type SystemMetrics = { cpu_percent: number, memory_used_bytes: number, memory_total_bytes: number, active_workflows: number, active_agents: number, connected_clients: number, uptime_s: number, };

export type TerminalId = { terminal_id: string, };

export type TerminalInfo = { terminal_id: string, cols: number, rows: number, };

export type TerminalOpened = { terminal_id: string, };

export type TerminalScrollback = { data_b64: string, offset: number, };

export type TerminalsOpen = { project_id: string, cols: number, rows: number, };

export type TerminalsResize = { terminal_id: string, cols: number, rows: number, };

export type TerminalsWrite = { terminal_id: string, data: string, };

export type ToolCallEvent = { message_id?: string | null, agent_id?: string | null, call: ToolCallInfo, needs_approval: boolean, 
/**
 * `read`/`write`/`run`/`network`, when the tool is known.
 */
effect?: ToolEffect | null, };

export type ToolCallInfo = { id: string, name: string, arguments: JsonValue, };

export type ToolDecision = "allow" | "deny" | "allow_always";

export type ToolDescription = { name: string, description: string, 
/**
 * `builtin`, or `mcp:<server>`.
 */
source: string, effect: ToolEffect, input_schema: JsonValue, };

export type ToolEffect = "read" | "write" | "run" | "network";

export type ToolOutputEvent = { call_id: string, delta: string, agent_id?: string | null, };

export type ToolResultEvent = { call_id: string, status: ToolStatus, content: string, agent_id?: string | null, 
/**
 * The stored `tool` message (chat).
 */
message_id?: string | null, };

export type ToolStatus = "ok" | "error" | "denied";

export type ToolsAllowed = { project_id: string, tool?: string | null, };

export type ToolsApprove = { call_id: string, decision: ToolDecision, };

export type ToolsList = { project_id?: string | null, };

export type ToolsPending = { session_id: string, };

export type Unsubscribe = { topics: Array<string>, };

export type UsageLine = { 
/**
 * The agent id or module name (empty for the workflow's total).
 */
key: string, calls: number, prompt_tokens: number, completion_tokens: number, };

export type Workflow = { id: string, project_id: string, request: string, state: string, progress: number, created_at: string, stage: string, plan?: JsonValue | null, summary?: string | null, commit?: string | null, error?: string | null, agents?: Array<Agent> | null, 
/**
 * The usage ledger rolled up for this workflow (with `workflows.get`).
 */
usage?: WorkflowUsage | null, 
/**
 * The files written so far, in the order they were first written (with `workflows.get`).
 */
files?: Array<WrittenFile> | null, 
/**
 * The changes waiting for the person's review (with `workflows.get`, in state `reviewing`).
 */
review?: WorkflowReview | null, };

export type WorkflowReview = { files: Array<FileChange>, };

export type WorkflowUsage = { total: UsageLine, by_agent: Array<UsageLine>, 
/**
 * The master's calls count under the module `plan`.
 */
by_module: Array<UsageLine>, 
/**
 * Coders' SEARCH/REPLACE replies per model: how many came, how many applied (API v1.1).
 */
edits?: Array<EditShare> | null, };

export type WorkflowsApprove = { id: string, plan?: JsonValue | null, };

export type WorkflowsControl = { id: string, action: string, };

export type WorkflowsList = { project_id?: string | null, };

export type WorkflowsReview = { id: string, accept: Array<ReviewAccept>, reject: Array<string>, };

export type WorkflowsStart = { project_id: string, request: string, options?: JsonValue | null, };

export type WrittenFile = { path: string, bytes: number, };
