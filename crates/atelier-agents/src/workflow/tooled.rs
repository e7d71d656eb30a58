//! A workflow agent's turn as an agent loop (atelier-tools' `run_loop`) with read tools: the
//! master explores the project before it plans, coders read what their file depends on before
//! they write it.
//!
//! Durable like every other step: each model step is recorded under `<key>#<n>` and each tool
//! result under `tool:<key>:<n>` before the loop goes on, so a resumed workflow replays them and
//! never repeats a recorded call; the final answer is recorded under `<key>` as a plain call's
//! reply is. A pause cancels the step in flight; the loop then runs again from what was
//! recorded.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use atelier_llm::{ChatMessage, Completion, Delta, ToolCall};
use atelier_store::AgentRow;
use atelier_tools::agent::{Decision, Host, LoopConfig, LoopError, RecordedStep, run_loop};
use atelier_tools::{CallStatus, Effect, Registry, Tool, ToolContext, ToolInfo, ToolOutput};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::{Result, Run, STEP_RETRIES, WorkflowError, update_metrics};

/// The tools a workflow agent gets: it looks, it does not change anything (its file is written
/// by the workflow); with `check`, it may also run that command (see [`RunCheck`]).
pub(super) fn agent_tools(check: Option<String>) -> Vec<Arc<dyn Tool>> {
    let registry = Registry::with_builtins();
    let mut tools = registry.select(&[Effect::Read]);
    if let (Some(command), Some(run)) = (check, registry.get("run_command")) {
        tools.push(Arc::new(RunCheck::new(command, run)));
    }
    tools
}

/// `run_check`: the workflow's check command (the person's own, or the plan's they approved),
/// for a coder that wants to see it pass before it answers. Confined like the check itself; no
/// other command can be run this way.
struct RunCheck {
    info: ToolInfo,
    command: String,
    /// The built-in `run_command`, which does the running.
    run: Arc<dyn Tool>,
}

impl RunCheck {
    fn new(command: String, run: Arc<dyn Tool>) -> RunCheck {
        RunCheck {
            info: ToolInfo {
                name: "run_check".into(),
                description: format!(
                    "Run the workflow's check command `{command}` in the project (the files written so far \
                     included) and see its output and exit code. No arguments."
                ),
                source: "builtin".into(),
                effect: Effect::Run,
                input_schema: json!({ "type": "object", "properties": {} }),
                trusted: false,
            },
            command,
            run,
        }
    }
}

#[async_trait::async_trait]
impl Tool for RunCheck {
    fn info(&self) -> &ToolInfo {
        &self.info
    }

    async fn call(
        &self,
        ctx: &ToolContext,
        _arguments: serde_json::Value,
        output: &mut (dyn for<'s> FnMut(&'s str) + Send),
    ) -> std::result::Result<ToolOutput, atelier_tools::ToolError> {
        let timeout = super::CHECK_TIMEOUT.as_secs();
        self.run.call(ctx, json!({ "command": self.command, "timeout_s": timeout }), output).await
    }
}

/// The largest window a workflow agent uses (the setting `max_context` is the app's; the
/// engine keeps to the same default).
const MAX_CONTEXT: u32 = 32_768;

struct WorkflowHost<'a> {
    run: &'a Run,
    key: &'a str,
    agent: Mutex<AgentRow>,
    stream_path: Option<&'a str>,
    started: Mutex<Instant>,
    /// Why the workflow itself stopped the loop (a spent budget).
    stop: Mutex<Option<WorkflowError>>,
}

impl WorkflowHost<'_> {
    fn agent_id(&self) -> String {
        self.agent.lock().unwrap_or_else(|p| p.into_inner()).id.clone()
    }

    fn host_error(e: impl std::fmt::Display) -> LoopError {
        LoopError::Host(e.to_string())
    }
}

#[async_trait::async_trait]
impl Host for WorkflowHost<'_> {
    async fn before_step(&self, _step: usize) -> std::result::Result<(), LoopError> {
        // Waits while paused; a cancel or a spent budget stops the loop.
        let checked = match self.run.checkpoint().await {
            Ok(()) => self.run.check_budget(),
            Err(e) => Err(e),
        };
        match checked {
            Ok(()) => {}
            Err(WorkflowError::Cancelled) => return Err(LoopError::Cancelled),
            Err(e) => {
                let why = e.to_string();
                *self.stop.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                return Err(LoopError::Stopped(why));
            }
        }
        *self.started.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        let agent = {
            let mut agent = self.agent.lock().unwrap_or_else(|p| p.into_inner());
            agent.status = "busy".into();
            agent.clone()
        };
        self.run.agent(&agent).await.map_err(Self::host_error)
    }

    fn delta(&self, step: usize, delta: &Delta) {
        if let (Some(path), Delta::Content(text)) = (self.stream_path, delta) {
            // `step`: a new step's text replaces what the last one streamed (a step that
            // called tools is not the file).
            self.run.publish(
                "file.delta",
                json!({ "agent_id": self.agent_id(), "path": path, "delta": text, "step": step }),
            );
        }
    }

    async fn recorded_step(&self, step: usize) -> Option<RecordedStep> {
        let id = self.run.id();
        let text = self.run.store().get_step(&id, &format!("{}#{step}", self.key)).await.ok()??;
        serde_json::from_str(&text).ok()
    }

    async fn step_done(
        &self,
        step: usize,
        recorded: &RecordedStep,
        completion: &Completion,
    ) -> std::result::Result<(), LoopError> {
        let id = self.run.id();
        let text = serde_json::to_string(recorded).map_err(Self::host_error)?;
        self.run
            .store()
            .record_step(&id, &format!("{}#{step}", self.key), text)
            .await
            .map_err(Self::host_error)?;
        {
            let mut usage = self.run.usage.lock().unwrap_or_else(|p| p.into_inner());
            usage.0 += u64::from(completion.usage.prompt_tokens + completion.usage.completion_tokens);
            usage.1 += 1;
        }
        let elapsed = self.started.lock().unwrap_or_else(|p| p.into_inner()).elapsed().as_millis() as u64;
        let agent = {
            let mut agent = self.agent.lock().unwrap_or_else(|p| p.into_inner());
            update_metrics(&mut agent, &completion.usage, elapsed, false, self.run.context_limit);
            agent.status = "idle".into();
            agent.clone()
        };
        self.run.agent(&agent).await.map_err(Self::host_error)?;
        self.run
            .store()
            .insert_usage(self.run.usage_row(&self.run.model_for(&agent.role), &agent.id, &completion.usage))
            .await
            .map_err(Self::host_error)
    }

    async fn recorded_result(&self, n: usize, _call: &ToolCall) -> Option<ToolOutput> {
        let id = self.run.id();
        let text = self.run.store().get_step(&id, &format!("tool:{}:{n}", self.key)).await.ok()??;
        serde_json::from_str(&text).ok()
    }

    fn call_started(&self, call: &ToolCall, info: Option<&ToolInfo>, needs_approval: bool) {
        self.run.publish(
            "tool.call",
            json!({
                "agent_id": self.agent_id(),
                "call": { "id": call.id, "name": call.name, "arguments": call.arguments },
                "needs_approval": needs_approval,
                "effect": info.map(|i| i.effect.as_str()),
            }),
        );
    }

    async fn approve(&self, _call: &ToolCall, _info: &ToolInfo) -> Decision {
        // Workflow agents are only given tools that need no approval.
        Decision::Deny
    }

    fn output(&self, call_id: &str, delta: &str) {
        self.run.publish(
            "tool.output",
            json!({ "agent_id": self.agent_id(), "call_id": call_id, "delta": delta }),
        );
    }

    async fn result(
        &self,
        n: usize,
        call: &ToolCall,
        output: &ToolOutput,
    ) -> std::result::Result<(), LoopError> {
        let id = self.run.id();
        let text = serde_json::to_string(output).map_err(Self::host_error)?;
        self.run
            .store()
            .record_step(&id, &format!("tool:{}:{n}", self.key), text)
            .await
            .map_err(Self::host_error)?;
        let status = match output.status {
            CallStatus::Ok => "ok",
            CallStatus::Error => "error",
            CallStatus::Denied => "denied",
        };
        self.run.publish(
            "tool.result",
            json!({ "agent_id": self.agent_id(), "call_id": call.id, "status": status, "content": output.content }),
        );
        Ok(())
    }
}

impl Run {
    /// Like [`Run::call`], as an agent loop with `tools`: the final answer is returned (and
    /// recorded under `key`); a recorded answer is returned without calling.
    pub(super) async fn call_with_tools(
        &self,
        key: &str,
        agent: &mut AgentRow,
        messages: Vec<ChatMessage>,
        tools: &[Arc<dyn Tool>],
        stream_path: Option<&str>,
    ) -> Result<String> {
        let id = self.id();
        if let Some(recorded) = self.store().get_step(&id, key).await? {
            return Ok(recorded);
        }
        let model = self.model_for(&agent.role);
        let window = atelier_tools::context::window(self.context_limit, MAX_CONTEXT);
        // The only command a workflow agent is offered is the approved check (`RunCheck`): it
        // runs without asking where the sandbox confines it, and never unconfined unasked.
        let config = LoopConfig { auto_approve_run: true, ..LoopConfig::new(model, window) };
        let (sandbox, policy) = self.engine.inner.confine.sandbox(&self.root).ok().unzip();
        let mut failures = 0;
        loop {
            let (token, watcher) = self.step_token();
            let runner: Arc<dyn atelier_tools::CommandRunner> = match (&sandbox, &policy) {
                (Some(sandbox), Some(policy)) => Arc::new(atelier_tools::SandboxRunner {
                    sandbox: sandbox.clone(),
                    policy: policy.clone(),
                }),
                _ => Arc::new(NoCommands),
            };
            let ctx = ToolContext {
                root: self.root.clone(),
                cancel: token,
                runner,
                max_result_chars: (window as usize * 7 / 6).clamp(2_000, 60_000),
            };
            let host = WorkflowHost {
                run: self,
                key,
                agent: Mutex::new(agent.clone()),
                stream_path,
                started: Mutex::new(Instant::now()),
                stop: Mutex::new(None),
            };
            let outcome =
                run_loop(self.engine.inner.provider.as_ref(), &config, tools, &ctx, &host, messages.clone())
                    .await;
            watcher.abort();
            if let Some(stop) = host.stop.lock().unwrap_or_else(|p| p.into_inner()).take() {
                return Err(stop);
            }
            *agent = host.agent.into_inner().unwrap_or_else(|p| p.into_inner());
            match outcome {
                Ok(result) if result.answer.trim().is_empty() => {
                    return Err(WorkflowError::Plan(format!("the {} answered with nothing", agent.role)));
                }
                Ok(result) => {
                    self.store().record_step(&id, key, result.answer.clone()).await?;
                    return Ok(self.store().get_step(&id, key).await?.unwrap_or(result.answer));
                }
                // A pause: the loop runs again on resume from what was recorded.
                Err(LoopError::Cancelled) if !self.control.cancel.is_cancelled() => {
                    agent.status = "paused".into();
                    self.agent(agent).await?;
                    continue;
                }
                Err(LoopError::Cancelled) => return Err(WorkflowError::Cancelled),
                Err(LoopError::Llm(e)) if e.retryable() && failures < STEP_RETRIES => {
                    failures += 1;
                    agent.status = "waiting".into();
                    self.agent(agent).await?;
                    let wait = std::time::Duration::from_millis(500 << failures);
                    tracing::info!(workflow = %id, key, error = %e, "retrying an agent loop");
                    tokio::select! {
                        () = self.control.cancel.cancelled() => return Err(WorkflowError::Cancelled),
                        () = tokio::time::sleep(wait) => {}
                    }
                }
                Err(LoopError::Llm(e)) => {
                    agent.status = "error".into();
                    self.agent(agent).await?;
                    return Err(e.into());
                }
                Err(e @ (LoopError::Stopped(_) | LoopError::Host(_))) => {
                    agent.status = "error".into();
                    self.agent(agent).await?;
                    return Err(WorkflowError::Plan(format!("the {} stopped: {e}", agent.role)));
                }
            }
        }
    }
}

/// For a workflow whose sandbox cannot start: read tools work, commands do not.
struct NoCommands;

#[async_trait::async_trait]
impl atelier_tools::CommandRunner for NoCommands {
    async fn run(
        &self,
        _request: atelier_tools::RunRequest,
        _cancel: &CancellationToken,
        _on_output: &mut (dyn for<'b> FnMut(&'b [u8]) + Send),
    ) -> std::result::Result<atelier_sandbox::RunOutcome, String> {
        Err("commands cannot run: the sandbox is not available".into())
    }

    fn confined(&self) -> bool {
        false
    }
}
