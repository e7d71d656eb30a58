//! What Atelier's agents can do, in one place: the [`Registry`] of tools (built-in ones here;
//! MCP servers' and the code index's join it from atelier-core), the built-in tools
//! ([`builtin`]: list, read, search, write, edit files, run a command), and [`agent`], the one
//! loop that chat sessions and workflow agents share: the model calls tools, sees their
//! results, and decides again until it answers.
//!
//! The loop does not know where a tool comes from or how a command is confined: a tool is a
//! [`Tool`], and commands go through the [`CommandRunner`] its owner gives it.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

pub mod agent;
pub mod builtin;
pub mod context;
pub mod edit;
pub mod run;

pub use run::{CommandRunner, RunRequest, SandboxRunner};

/// What a tool does to the world, which decides whether it needs the person's approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// Looks only: always allowed.
    Read,
    /// Changes files inside the project: allowed (workflows and chats take checkpoints).
    Write,
    /// Runs a program: waits for approval unless the person allowed it.
    Run,
    /// Reaches another machine (MCP servers): waits for approval unless the server is trusted.
    Network,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Read => "read",
            Effect::Write => "write",
            Effect::Run => "run",
            Effect::Network => "network",
        }
    }
}

/// How a tool presents itself to the model and to the API (`tools.list`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub description: String,
    /// `builtin`, or `mcp:<server>`.
    pub source: String,
    pub effect: Effect,
    /// A JSON schema for the arguments (an object).
    pub input_schema: Value,
    /// Calls need no approval even though the effect would ask for it (a trusted MCP server).
    #[serde(default)]
    pub trusted: bool,
}

/// Whether a call ended well, as the model and the UI see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallStatus {
    Ok,
    Error,
    Denied,
}

impl CallStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Ok => "ok",
            CallStatus::Error => "error",
            CallStatus::Denied => "denied",
        }
    }
}

/// A tool's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolOutput {
    pub status: CallStatus,
    /// What the model reads (already cut to size by the tool where it knows better).
    pub content: String,
    /// Project files the call created or changed (relative paths), for `files.changed`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
}

impl ToolOutput {
    pub fn ok(content: impl Into<String>) -> Self {
        Self { status: CallStatus::Ok, content: content.into(), changed: Vec::new() }
    }

    /// A failure the model can act on: the message says what was wrong and what to do.
    pub fn error(content: impl Into<String>) -> Self {
        Self { status: CallStatus::Error, content: content.into(), changed: Vec::new() }
    }

    pub fn denied(content: impl Into<String>) -> Self {
        Self { status: CallStatus::Denied, content: content.into(), changed: Vec::new() }
    }
}

/// Where and how a call runs.
#[derive(Clone)]
pub struct ToolContext {
    /// The project folder; every path goes through atelier-files' resolver against it.
    pub root: PathBuf,
    /// Cancelled when the turn is cancelled: a running command is killed at once.
    pub cancel: CancellationToken,
    /// How commands are run (confined by the sandbox where the owner has one).
    pub runner: Arc<dyn CommandRunner>,
    /// The longest result handed back to the model, in characters (sized to its context window).
    pub max_result_chars: usize,
}

impl std::fmt::Debug for ToolContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolContext").field("root", &self.root).finish_non_exhaustive()
    }
}

/// One thing an agent can do.
#[async_trait::async_trait]
pub trait Tool: Send + Sync {
    fn info(&self) -> &ToolInfo;
    /// Runs the call. `output` receives what a running command prints, as it prints it. A
    /// failure the model can correct (a bad path, a failed match) is `Ok(ToolOutput::error)`;
    /// only what it cannot (the tool itself broke) is `Err`.
    async fn call(
        &self,
        ctx: &ToolContext,
        arguments: Value,
        output: &mut (dyn for<'s> FnMut(&'s str) + Send),
    ) -> Result<ToolOutput, ToolError>;
}

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("{0}")]
    Failed(String),
    #[error("cancelled")]
    Cancelled,
}

/// Every tool an agent may be offered: the built-in ones and those other parts add (MCP
/// servers' tools, the code index's). Cheap to clone; shared.
#[derive(Clone, Default)]
pub struct Registry {
    tools: Arc<RwLock<Vec<Arc<dyn Tool>>>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.list().iter().map(|t| t.name.clone())).finish()
    }
}

impl Registry {
    /// A registry holding the built-in tools.
    pub fn with_builtins() -> Registry {
        let registry = Registry::default();
        for tool in builtin::all() {
            registry.add(tool);
        }
        registry
    }

    /// Adds a tool, replacing one of the same name.
    pub fn add(&self, tool: Arc<dyn Tool>) {
        let mut tools = self.tools.write().unwrap_or_else(|p| p.into_inner());
        tools.retain(|t| t.info().name != tool.info().name);
        tools.push(tool);
    }

    /// Removes every tool from `source` (e.g. `mcp:files` when that server stops).
    pub fn remove_source(&self, source: &str) {
        self.tools.write().unwrap_or_else(|p| p.into_inner()).retain(|t| t.info().source != source);
    }

    pub fn get(&self, name: &str) -> Option<Arc<dyn Tool>> {
        self.tools.read().unwrap_or_else(|p| p.into_inner()).iter().find(|t| t.info().name == name).cloned()
    }

    /// Every tool's description, built-in ones first, then by name.
    pub fn list(&self) -> Vec<ToolInfo> {
        let mut out: Vec<ToolInfo> =
            self.tools.read().unwrap_or_else(|p| p.into_inner()).iter().map(|t| t.info().clone()).collect();
        out.sort_by(|a, b| {
            (a.source != "builtin", &a.source, &a.name).cmp(&(b.source != "builtin", &b.source, &b.name))
        });
        out
    }

    /// The tools whose effects are among `effects`, for an agent that may only do so much
    /// (a planner that only reads).
    pub fn select(&self, effects: &[Effect]) -> Vec<Arc<dyn Tool>> {
        let mut out: Vec<Arc<dyn Tool>> = self
            .tools
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|t| effects.contains(&t.info().effect))
            .cloned()
            .collect();
        out.sort_by(|a, b| a.info().name.cmp(&b.info().name));
        out
    }
}

/// Cuts a result to `max` characters: the start and the end, with a note in between saying
/// how much was left out and how to read more.
pub fn truncate_result(text: &str, max: usize, how_to_read_more: &str) -> String {
    let total = text.chars().count();
    if total <= max {
        return text.to_owned();
    }
    let head = max * 2 / 3;
    let tail = max.saturating_sub(head);
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(total - tail).collect();
    format!(
        "{start}\n[… {} characters left out of {total}; {how_to_read_more} …]\n{end}",
        total - head - tail
    )
}
