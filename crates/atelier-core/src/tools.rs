//! What agents can do, as the App offers it: atelier-tools' registry with the built-in tools,
//! the code index's `search_code` and `repo_map`, and every ready MCP server's tools
//! (`<server>.<tool>`); commands run in the sandbox the settings ask for; calls that wait for
//! the person are answered through `tools.approve`, and "always allow" is remembered per
//! project (`tools.allowed`, `tools.revoke`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use atelier_protocol::{ToolCallEvent, ToolDecision, ToolDescription, ToolEffect};
use atelier_tools::agent::Decision;
use atelier_tools::{
    CommandRunner, Effect, Registry, RunRequest, Tool, ToolContext, ToolError, ToolInfo, ToolOutput,
};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::App;
use crate::error::{CoreError, CoreResult};

/// Calls waiting for the person's answer, by call id.
#[derive(Default)]
pub(crate) struct Approvals {
    waiting: Mutex<HashMap<String, Waiting>>,
}

/// A call that waits: who answers it, and how it was announced (for `tools.pending`).
struct Waiting {
    answer: oneshot::Sender<Decision>,
    session_id: String,
    event: ToolCallEvent,
}

impl Approvals {
    fn waiting(&self) -> std::sync::MutexGuard<'_, HashMap<String, Waiting>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The setting (not listed in Settings: written by "Always allow") that holds a project's
/// tools allowed without asking, as a JSON array of names.
fn allowed_key(project_id: &str) -> String {
    format!("tools.allowed/{project_id}")
}

pub(crate) fn effect_to_api(effect: Effect) -> ToolEffect {
    match effect {
        Effect::Read => ToolEffect::Read,
        Effect::Write => ToolEffect::Write,
        Effect::Run => ToolEffect::Run,
        Effect::Network => ToolEffect::Network,
    }
}

impl App {
    /// The tools an agent working in `project_id` may be offered: the built-in ones, the code
    /// index's (when there is a project), and the ready MCP servers'.
    pub fn tools_for(&self, project_id: Option<&str>) -> Registry {
        let registry = Registry::with_builtins();
        if let Some(project) = project_id {
            // The index answers `search_code`; the built-in word ranking stands in when it cannot.
            if let Some(fallback) = registry.get("search_code") {
                registry.add(Arc::new(IndexSearch::new(self.clone(), project, fallback)));
            }
            registry.add(Arc::new(RepoMapTool::new(self.clone(), project)));
        }
        for entry in self.mcp_tools() {
            registry.add(Arc::new(McpTool::new(self.clone(), entry)));
        }
        registry
    }

    /// `tools.list`.
    pub async fn list_tools(&self, project_id: Option<String>) -> CoreResult<Vec<ToolDescription>> {
        if let Some(project) = &project_id {
            self.store().get_project(project).await?;
        }
        Ok(self
            .tools_for(project_id.as_deref())
            .list()
            .into_iter()
            .map(|t| ToolDescription {
                name: t.name,
                description: t.description,
                source: t.source,
                effect: effect_to_api(t.effect),
                input_schema: t.input_schema,
            })
            .collect())
    }

    /// `tools.approve`: answers a call that waits.
    pub fn approve_tool(&self, call_id: &str, decision: ToolDecision) -> CoreResult<()> {
        // NotFound's message shortens long ids.
        let sender = self.inner.approvals.waiting().remove(call_id).ok_or_else(|| CoreError::NotFound {
            what: "tool call waiting for approval",
            id: call_id.to_owned(),
        })?;
        let decision = match decision {
            ToolDecision::Allow => Decision::Allow,
            ToolDecision::Deny => Decision::Deny,
            ToolDecision::AllowAlways => Decision::AllowAlways,
        };
        // The loop may have been cancelled in the meantime: then nobody waits any more.
        if sender.answer.send(decision).is_err() {
            tracing::debug!(call_id, "the call was no longer waiting");
        }
        Ok(())
    }

    /// Waits for the person's answer to the call `event` announced in `session_id`; a cancel
    /// of the turn ends the wait (the loop then stops).
    pub(crate) async fn wait_for_approval(
        &self,
        session_id: &str,
        event: ToolCallEvent,
        cancel: &CancellationToken,
    ) -> Decision {
        let (tx, rx) = oneshot::channel();
        let call_id = event.call.id.clone();
        let waiting = Waiting { answer: tx, session_id: session_id.to_owned(), event };
        self.inner.approvals.waiting().insert(call_id.clone(), waiting);
        // Gone from the waiting list however the wait ends, dropped by a cancelled loop too.
        let _forget = Forget { approvals: &self.inner.approvals, call_id: &call_id };
        let decision = tokio::select! {
            answer = rx => answer.unwrap_or(Decision::Deny),
            () = cancel.cancelled() => Decision::Deny,
            () = self.inner.shutdown.cancelled() => Decision::Deny,
        };
        decision
    }

    /// `tools.pending`: the calls of a session that wait for approval now, as `tool.call`
    /// announced them (for a client that opens the chat later, or reloads).
    pub async fn pending_tools(&self, session_id: &str) -> CoreResult<Vec<ToolCallEvent>> {
        self.store().get_session(session_id).await?;
        Ok(self
            .inner
            .approvals
            .waiting()
            .values()
            .filter(|w| w.session_id == session_id)
            .map(|w| w.event.clone())
            .collect())
    }

    /// Calls waiting for approval now (health, tests).
    pub fn approvals_waiting(&self) -> usize {
        self.inner.approvals.waiting().len()
    }

    /// `tools.allowed`: the tools `project_id` runs without asking.
    pub async fn allowed_tools(&self, project_id: &str) -> CoreResult<Vec<String>> {
        self.store().get_project(project_id).await?;
        Ok(self.read_allowed(project_id).await)
    }

    pub(crate) async fn read_allowed(&self, project_id: &str) -> Vec<String> {
        match self.store().get_setting(&allowed_key(project_id)).await {
            Ok(Some(text)) => serde_json::from_str(&text).unwrap_or_default(),
            Ok(None) => Vec::new(),
            Err(e) => {
                tracing::warn!(error = %e, "reading the tools allowed always");
                Vec::new()
            }
        }
    }

    /// Remembers "always allow `tool` in `project_id`".
    pub(crate) async fn allow_always(&self, project_id: &str, tool: &str) -> CoreResult<()> {
        let mut allowed = self.read_allowed(project_id).await;
        if !allowed.iter().any(|t| t == tool) {
            allowed.push(tool.to_owned());
            allowed.sort();
            self.store().set_setting(&allowed_key(project_id), to_json(&allowed)).await?;
        }
        Ok(())
    }

    /// `tools.revoke`: asks again before `tool` runs in `project_id` (all tools when `None`).
    pub async fn revoke_tool(&self, project_id: &str, tool: Option<&str>) -> CoreResult<()> {
        self.store().get_project(project_id).await?;
        let mut allowed = self.read_allowed(project_id).await;
        match tool {
            Some(tool) => {
                let before = allowed.len();
                allowed.retain(|t| t != tool);
                if allowed.len() == before {
                    return Err(CoreError::NotFound { what: "tool allowed always", id: tool.to_owned() });
                }
            }
            None => allowed.clear(),
        }
        self.store().set_setting(&allowed_key(project_id), to_json(&allowed)).await?;
        Ok(())
    }

    /// Where and how an agent's tools run in the project folder `root`.
    pub(crate) fn tool_context(&self, root: &Path, cancel: CancellationToken, window: u32) -> ToolContext {
        ToolContext {
            root: root.to_path_buf(),
            cancel,
            runner: Arc::new(SettingsRunner { app: self.clone(), root: root.to_path_buf() }),
            // About a third of the window for one result (3.5 characters a token).
            max_result_chars: (window as usize * 7 / 6).clamp(2_000, 60_000),
        }
    }
}

/// Removes a call from the waiting list when its wait ends or is dropped.
struct Forget<'a> {
    approvals: &'a Approvals,
    call_id: &'a str,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.approvals.waiting().remove(self.call_id);
    }
}

fn to_json(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".to_owned())
}

/// Runs commands in the sandbox the settings ask for at the moment of the run.
struct SettingsRunner {
    app: App,
    root: PathBuf,
}

#[async_trait::async_trait]
impl CommandRunner for SettingsRunner {
    async fn run(
        &self,
        request: RunRequest,
        cancel: &CancellationToken,
        on_output: &mut (dyn for<'b> FnMut(&'b [u8]) + Send),
    ) -> Result<atelier_sandbox::RunOutcome, String> {
        let (sandbox, policy) = self.app.sandbox_for(&self.root).map_err(|e| e.user_message())?;
        atelier_tools::SandboxRunner { sandbox, policy }.run(request, cancel, on_output).await
    }

    fn confined(&self) -> bool {
        self.app.sandbox().is_ok_and(|s| s.mode().is_confined())
    }
}

/// `search_code` on the project's code index (hybrid or keyword ranking); where the index
/// cannot answer, the built-in word ranking does, and the result says so.
struct IndexSearch {
    app: App,
    project_id: String,
    info: ToolInfo,
    fallback: Arc<dyn Tool>,
}

impl IndexSearch {
    fn new(app: App, project_id: &str, fallback: Arc<dyn Tool>) -> IndexSearch {
        let mut info = fallback.info().clone();
        info.description = "Find the code that deals with something, by meaning or by name (e.g. `where the \
                            config file is parsed`, `chooseNumCtx`): the best matching functions and \
                            classes with their file and lines."
            .into();
        IndexSearch { app, project_id: project_id.to_owned(), info, fallback }
    }
}

#[async_trait::async_trait]
impl Tool for IndexSearch {
    fn info(&self) -> &ToolInfo {
        &self.info
    }

    async fn call(
        &self,
        ctx: &ToolContext,
        arguments: Value,
        output: &mut (dyn for<'s> FnMut(&'s str) + Send),
    ) -> Result<ToolOutput, ToolError> {
        let Some(query) =
            arguments.get("query").and_then(Value::as_str).map(str::trim).filter(|q| !q.is_empty())
        else {
            return Ok(ToolOutput::error("the argument `query` is missing: say what to look for"));
        };
        match self.app.code_search(&self.project_id, query, Some(10), None).await {
            Ok(hits) if hits.is_empty() => {
                Ok(ToolOutput::ok(format!("Nothing in the index matches `{query}`.")))
            }
            Ok(hits) => {
                let mut out = String::new();
                for hit in hits {
                    let symbol = hit.symbol.map(|s| format!(" {s}")).unwrap_or_default();
                    out.push_str(&format!("{}:{}-{}{symbol}\n", hit.path, hit.start_line, hit.end_line));
                    for line in hit.snippet.lines().take(8) {
                        out.push_str(&format!("    {line}\n"));
                    }
                }
                Ok(ToolOutput::ok(atelier_tools::truncate_result(
                    &out,
                    ctx.max_result_chars,
                    "ask a narrower question",
                )))
            }
            Err(e) => {
                tracing::debug!(error = %e, "the code index could not answer; ranking by words");
                let mut result = self.fallback.call(ctx, arguments, output).await?;
                result.content =
                    format!("(the code index is not ready: ranked by words)\n{}", result.content);
                Ok(result)
            }
        }
    }
}

/// `repo_map`: the project's files with their most important definitions, ranked by how much
/// the rest of the project uses them.
struct RepoMapTool {
    app: App,
    project_id: String,
    info: ToolInfo,
}

impl RepoMapTool {
    fn new(app: App, project_id: &str) -> RepoMapTool {
        RepoMapTool {
            app,
            project_id: project_id.to_owned(),
            info: ToolInfo {
                name: "repo_map".into(),
                description: "A map of the project: its files with their most important definitions, ranked \
                              by how much the rest of the project uses them. `focus`: file paths or names \
                              to center the map on."
                    .into(),
                source: "builtin".into(),
                effect: Effect::Read,
                input_schema: json!({ "type": "object", "properties": {
                    "focus": { "type": "array", "items": { "type": "string" } }
                } }),
                trusted: false,
            },
        }
    }
}

#[async_trait::async_trait]
impl Tool for RepoMapTool {
    fn info(&self) -> &ToolInfo {
        &self.info
    }

    async fn call(
        &self,
        ctx: &ToolContext,
        arguments: Value,
        _output: &mut (dyn for<'s> FnMut(&'s str) + Send),
    ) -> Result<ToolOutput, ToolError> {
        let focus: Vec<String> = match arguments.get("focus") {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            Some(Value::String(one)) => {
                one.split([',', ' ']).filter(|s| !s.is_empty()).map(str::to_owned).collect()
            }
            _ => Vec::new(),
        };
        let budget = (ctx.max_result_chars / 4).clamp(500, 4000);
        match self.app.repo_map(&self.project_id, &focus, Some(budget)).await {
            Ok(map) if map.trim().is_empty() => {
                Ok(ToolOutput::ok("The project has no code the map can show yet."))
            }
            Ok(map) => Ok(ToolOutput::ok(map)),
            Err(e) => Ok(ToolOutput::error(format!(
                "the repo map is not available: {}; list_files shows the files",
                e.user_message()
            ))),
        }
    }
}

/// A tool of an MCP server, as `<server>.<tool>`.
struct McpTool {
    app: App,
    server: String,
    tool: String,
    info: ToolInfo,
}

impl McpTool {
    fn new(app: App, entry: crate::mcp::McpToolEntry) -> McpTool {
        let mut schema = entry.input_schema;
        if !schema.is_object() {
            schema = json!({ "type": "object" });
        }
        McpTool {
            info: ToolInfo {
                name: format!("{}.{}", entry.server, entry.name),
                description: entry.description,
                source: format!("mcp:{}", entry.server),
                effect: Effect::Network,
                input_schema: schema,
                trusted: entry.trusted,
            },
            app,
            server: entry.server,
            tool: entry.name,
        }
    }
}

#[async_trait::async_trait]
impl Tool for McpTool {
    fn info(&self) -> &ToolInfo {
        &self.info
    }

    async fn call(
        &self,
        ctx: &ToolContext,
        arguments: Value,
        _output: &mut (dyn for<'s> FnMut(&'s str) + Send),
    ) -> Result<ToolOutput, ToolError> {
        match self.app.call_mcp_tool(&self.server, &self.tool, arguments, &ctx.cancel).await {
            Ok(result) => {
                let mut text = result.text;
                for media in &result.media {
                    text.push_str(&format!("\n[{media}]"));
                }
                for resource in &result.resources {
                    text.push_str(&format!("\n[resource {resource}]"));
                }
                Ok(if result.is_error { ToolOutput::error(text) } else { ToolOutput::ok(text) })
            }
            Err(_) if ctx.cancel.is_cancelled() => Err(ToolError::Cancelled),
            Err(e) => Ok(ToolOutput::error(format!(
                "the MCP server `{}` failed: {}",
                self.server,
                e.user_message()
            ))),
        }
    }
}
