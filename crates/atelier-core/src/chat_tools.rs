//! A chat whose agent uses tools: each reply is an agent loop (atelier-tools' `run_loop`). Every
//! model step is its own assistant message, streamed and stored like any reply, with the calls
//! it made; every result is a `tool` message, stored as it happens; a compaction is a message
//! of kind `summary`. After a crash the history is consistent: a call whose result never came
//! is answered "interrupted" when the history is read back, and the next message goes on from
//! there.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use atelier_llm::{ChatMessage, Completion, Delta, ToolCall, ToolMode};
use atelier_protocol::{
    ContextUsage, FailureInfo, MessageDelta, MessageEvent, MessageFailed, ToolCallEvent, ToolCallInfo,
    ToolOutputEvent, ToolResultEvent, ToolStatus, event_types as ev, to_value, topics,
};
use atelier_store::{MessageRole, MessageRow, MessageStatus as S, SessionRow, ToolParts};
use atelier_tools::agent::{Decision, Host, LoopConfig, LoopError, RecordedStep, run_loop};
use atelier_tools::{CallStatus, Effect, ToolInfo, ToolOutput};
use tokio_util::sync::CancellationToken;

use crate::App;
use crate::chat::{PERSIST_EVERY, message_row, message_to_api};
use crate::error::{CoreError, CoreResult};

/// The context window when the setting `max_context` names none.
pub const DEFAULT_MAX_CONTEXT: u32 = 32_768;

/// What an agent with tools is told besides its own system prompt.
fn tools_prompt(project: &str) -> String {
    format!(
        "You work in the project `{project}` and have tools to look at it and change it. Look before \
         you answer: list, read and search the files you need (paths are relative to the project) \
         rather than guessing. Change files with edit_file (small changes) or write_file (new files). \
         Run commands only when they help (tests, builds). When you are done, answer in plain text \
         without calling a tool."
    )
}

/// The conversation stored in `rows` as the model should see it: failed replies left out,
/// every call answered (a call whose result never came, because the app stopped, is answered
/// "interrupted"), results of calls not in the history dropped, and the newest summary standing
/// for the messages it covers.
pub(crate) fn history(rows: &[MessageRow]) -> Vec<ChatMessage> {
    history_with_ids(rows).into_iter().map(|(_, m)| m).collect()
}

/// [`history`], each message with the id of the stored message it comes from (`None` for a
/// summary and for the "interrupted" answer of a call without a result).
pub(crate) fn history_with_ids(rows: &[MessageRow]) -> Vec<(Option<String>, ChatMessage)> {
    let usable = |m: &&MessageRow| {
        m.tool.kind.is_none()
            && (m.status == S::Complete
                || (m.status == S::Interrupted && (!m.content.is_empty() || m.tool.calls.is_some())))
    };
    // The newest complete summary and where its coverage ends.
    let summary =
        rows.iter().rposition(|m| m.tool.kind.as_deref() == Some("summary") && m.status == S::Complete);
    let covered_until = summary.and_then(|i| {
        let until = rows[i].tool.covers_until.as_deref()?;
        rows.iter().position(|m| m.id == until)
    });
    let mut out: Vec<(Option<String>, ChatMessage)> = Vec::new();
    let mut start = 0;
    if let (Some(summary), Some(until)) = (summary, covered_until) {
        // Its head (system messages and the first user message) stays, as in the loop.
        let mut head = rows.iter().take_while(|m| m.role == MessageRole::System).count();
        if rows.get(head).is_some_and(|m| m.role == MessageRole::User) && head <= until {
            head += 1;
        }
        for row in rows[..head].iter().filter(usable) {
            out.push((Some(row.id.clone()), plain(row)));
        }
        out.push((None, atelier_tools::context::summary_message(&rows[summary].content)));
        start = until + 1;
    }
    let mut open_calls: Vec<ToolCall> = Vec::new();
    let close = |out: &mut Vec<(Option<String>, ChatMessage)>, open: &mut Vec<ToolCall>| {
        for call in open.drain(..) {
            out.push((
                None,
                ChatMessage::tool_result(
                    call.id,
                    call.name,
                    "the call was interrupted (the app stopped or the reply was stopped) and has no result",
                ),
            ));
        }
    };
    for row in rows[start..].iter().filter(usable) {
        match row.role {
            MessageRole::Tool => {
                let Some(call_id) = &row.tool.call_id else { continue };
                // A result whose call is not in the history (a summary covers it) is left out.
                let Some(i) = open_calls.iter().position(|c| &c.id == call_id) else { continue };
                let call = open_calls.remove(i);
                out.push((
                    Some(row.id.clone()),
                    ChatMessage::tool_result(call.id, call.name, row.content.clone()),
                ));
            }
            _ => {
                close(&mut out, &mut open_calls);
                let calls: Vec<ToolCall> =
                    row.tool.calls.as_deref().and_then(|c| serde_json::from_str(c).ok()).unwrap_or_default();
                if row.role == MessageRole::Assistant && !calls.is_empty() {
                    open_calls = calls.clone();
                    out.push((
                        Some(row.id.clone()),
                        ChatMessage::assistant_calls(row.content.clone(), calls),
                    ));
                } else {
                    out.push((Some(row.id.clone()), plain(row)));
                }
            }
        }
    }
    close(&mut out, &mut open_calls);
    out
}

fn plain(row: &MessageRow) -> ChatMessage {
    match row.role {
        MessageRole::System => ChatMessage::system(row.content.clone()),
        MessageRole::User => ChatMessage::user(row.content.clone()),
        MessageRole::Assistant => ChatMessage::assistant(row.content.clone()),
        MessageRole::Tool => ChatMessage::tool_result(
            row.tool.call_id.clone().unwrap_or_default(),
            row.tool.name.clone().unwrap_or_default(),
            row.content.clone(),
        ),
    }
}

pub(crate) fn status_to_api(status: CallStatus) -> ToolStatus {
    match status {
        CallStatus::Ok => ToolStatus::Ok,
        CallStatus::Error => ToolStatus::Error,
        CallStatus::Denied => ToolStatus::Denied,
    }
}

fn call_info(call: &ToolCall) -> ToolCallInfo {
    ToolCallInfo { id: call.id.clone(), name: call.name.clone(), arguments: call.arguments.clone() }
}

/// The chat's side of a loop: streams and stores each step and result.
struct ChatHost {
    app: App,
    session_id: String,
    project_id: String,
    root: std::path::PathBuf,
    topic: String,
    model: String,
    cancel: CancellationToken,
    allowed: Mutex<HashSet<String>>,
    state: Mutex<StepState>,
    /// The call announced and not yet answered (running, or waiting for approval).
    running: Mutex<Option<ToolCall>>,
    /// The checkpoint taken before the write now running, by the path it covers: listed under
    /// the chat's changes once the write has changed the file.
    before_write: Mutex<Option<(String, String)>>,
}

struct StepState {
    /// The assistant message of the step being streamed.
    row_id: String,
    content: String,
    reasoning: String,
    last_save: Instant,
    /// Whether the row is still `streaming` (not yet finished by `step_done`).
    open: bool,
    /// The stored messages of the conversation, in order (for a summary's coverage).
    ids: Vec<String>,
    /// The last step's prompt and reply tokens.
    usage: (u32, u32),
}

impl ChatHost {
    fn call_event(&self, call: &ToolCall, info: Option<&ToolInfo>, needs_approval: bool) -> ToolCallEvent {
        ToolCallEvent {
            message_id: Some(self.state().row_id.clone()),
            agent_id: None,
            call: call_info(call),
            needs_approval,
            effect: info.map(|i| crate::tools::effect_to_api(i.effect)),
        }
    }

    fn state(&self) -> MutexGuard<'_, StepState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn host_error(e: impl std::fmt::Display) -> LoopError {
        LoopError::Host(e.to_string())
    }

    async fn insert(&self, row: MessageRow) -> Result<(), LoopError> {
        self.app.store().insert_message(row.clone()).await.map_err(Self::host_error)?;
        self.state().ids.push(row.id.clone());
        self.app.bus().publish(
            &self.topic,
            ev::MESSAGE_CREATED,
            to_value(&MessageEvent { message: message_to_api(row) }),
        );
        Ok(())
    }
}

#[async_trait::async_trait]
impl Host for ChatHost {
    async fn before_step(&self, step: usize) -> Result<(), LoopError> {
        if step == 0 {
            return Ok(());
        }
        let mut row = message_row(&self.session_id, MessageRole::Assistant, "");
        row.status = S::Streaming;
        row.model = Some(self.model.clone());
        let id = row.id.clone();
        self.app.store().insert_message(row.clone()).await.map_err(Self::host_error)?;
        {
            let mut state = self.state();
            state.row_id = id;
            state.content.clear();
            state.reasoning.clear();
            state.open = true;
        }
        self.app.bus().publish(
            &self.topic,
            ev::MESSAGE_CREATED,
            to_value(&MessageEvent { message: message_to_api(row) }),
        );
        Ok(())
    }

    fn delta(&self, _step: usize, delta: &Delta) {
        let mut state = self.state();
        let (text, reasoning) = match delta {
            Delta::Content(t) => {
                state.content.push_str(t);
                (t.clone(), false)
            }
            Delta::Reasoning(t) => {
                state.reasoning.push_str(t);
                (t.clone(), true)
            }
        };
        let data = MessageDelta { message_id: state.row_id.clone(), delta: text, reasoning };
        self.app.bus().publish(&self.topic, ev::MESSAGE_DELTA, to_value(&data));
        if state.last_save.elapsed() >= PERSIST_EVERY {
            state.last_save = Instant::now();
            let (id, content, reasoning) =
                (state.row_id.clone(), state.content.clone(), state.reasoning.clone());
            self.app.store().write_detached(move |tx| {
                atelier_store::update_message_tx(tx, &id, &content, &reasoning, None, None)
            });
        }
    }

    async fn step_done(
        &self,
        _step: usize,
        recorded: &RecordedStep,
        completion: &Completion,
    ) -> Result<(), LoopError> {
        let id = self.state().row_id.clone();
        let (content, reasoning) = (recorded.message.content.clone(), completion.reasoning.clone());
        let calls = (!recorded.message.tool_calls.is_empty())
            .then(|| serde_json::to_string(&recorded.message.tool_calls).unwrap_or_else(|_| "[]".into()));
        let model = self.model.clone();
        let row_id = id.clone();
        self.app
            .store()
            .write(move |tx| {
                atelier_store::update_message_tx(tx, &row_id, &content, &reasoning, Some(S::Complete), None)?;
                atelier_store::set_message_model_tx(tx, &row_id, &model)?;
                if let Some(calls) = &calls {
                    atelier_store::set_message_tool_calls_tx(tx, &row_id, calls)?;
                }
                Ok(())
            })
            .await
            .map_err(Self::host_error)?;
        let usage = &completion.usage;
        self.app
            .store()
            .insert_usage(self.app.chat_usage(&self.model, &self.session_id, usage))
            .await
            .map_err(Self::host_error)?;
        {
            let mut state = self.state();
            state.open = false;
            state.ids.push(id.clone());
            state.usage = (usage.prompt_tokens, usage.completion_tokens);
        }
        let message = message_to_api(self.app.store().get_message(&id).await.map_err(Self::host_error)?);
        self.app.bus().publish(&self.topic, ev::MESSAGE_COMPLETED, to_value(&MessageEvent { message }));
        Ok(())
    }

    async fn compacted(&self, summary: &str, _replaced: usize, kept: usize) -> Result<(), LoopError> {
        let covers_until = {
            let state = self.state();
            // Counted from the newest stored message: messages of the loop's own (a note about
            // a malformed call) are not stored, so this errs towards covering fewer.
            state.ids.len().checked_sub(kept + 1).and_then(|i| state.ids.get(i).cloned())
        };
        let Some(covers_until) = covers_until else { return Ok(()) };
        // Not in `ids`: a summary never stands for another.
        self.app
            .store_summary(&self.session_id, &self.model, summary, covers_until)
            .await
            .map_err(Self::host_error)
    }

    fn call_started(&self, call: &ToolCall, info: Option<&ToolInfo>, needs_approval: bool) {
        *self.running.lock().unwrap_or_else(|p| p.into_inner()) = Some(call.clone());
        let event = self.call_event(call, info, needs_approval);
        self.app.bus().publish(&self.topic, ev::TOOL_CALL, to_value(&event));
    }

    async fn approve(&self, call: &ToolCall, info: &ToolInfo) -> Decision {
        let event = self.call_event(call, Some(info), true);
        let decision = self.app.wait_for_approval(&self.session_id, event, &self.cancel).await;
        if decision == Decision::AllowAlways {
            self.allowed.lock().unwrap_or_else(|p| p.into_inner()).insert(info.name.clone());
            if let Err(e) = self.app.allow_always(&self.project_id, &info.name).await {
                tracing::warn!(error = %e, "remembering an always-allowed tool");
            }
        }
        decision
    }

    fn allowed_always(&self, info: &ToolInfo) -> bool {
        self.allowed.lock().unwrap_or_else(|p| p.into_inner()).contains(&info.name)
    }

    async fn before_call(&self, _n: usize, call: &ToolCall, info: &ToolInfo) -> Result<(), LoopError> {
        // A chat's edits can be undone: a checkpoint of the file before it is written.
        if info.effect == Effect::Write
            && let Some(path) = call.arguments.get("path").and_then(|p| p.as_str()).map(str::to_owned)
        {
            let root = self.root.clone();
            let label = format!("before the agent changed {path}");
            let made =
                tokio::task::spawn_blocking(move || atelier_git::checkpoint_create(&root, &label, &[path]))
                    .await;
            match made {
                Ok(Ok(checkpoint)) => {
                    if let Some(path) = checkpoint.paths.first() {
                        *self.before_write.lock().unwrap_or_else(|p| p.into_inner()) =
                            Some((path.clone(), checkpoint.id.clone()));
                    }
                }
                // Not a git repository, or a path the tool will refuse: the call says so itself.
                Ok(Err(e)) => tracing::debug!(error = %e, "no checkpoint before an agent's write"),
                Err(e) => tracing::warn!(error = %e, "the checkpoint task failed"),
            }
        }
        Ok(())
    }

    fn output(&self, call_id: &str, delta: &str) {
        let event = ToolOutputEvent { call_id: call_id.to_owned(), delta: delta.to_owned(), agent_id: None };
        self.app.bus().publish(&self.topic, ev::TOOL_OUTPUT, to_value(&event));
    }

    async fn result(&self, _n: usize, call: &ToolCall, output: &ToolOutput) -> Result<(), LoopError> {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).take();
        let mut row = message_row(&self.session_id, MessageRole::Tool, &output.content);
        row.tool = ToolParts {
            call_id: Some(call.id.clone()),
            name: Some(call.name.clone()),
            status: Some(output.status.as_str().to_owned()),
            ..ToolParts::default()
        };
        let message_id = row.id.clone();
        self.insert(row).await?;
        let event = ToolResultEvent {
            call_id: call.id.clone(),
            status: status_to_api(output.status),
            content: output.content.clone(),
            agent_id: None,
            message_id: Some(message_id),
        };
        self.app.bus().publish(&self.topic, ev::TOOL_RESULT, to_value(&event));
        let before = self.before_write.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some((path, checkpoint)) = before
            && output.changed.contains(&path)
        {
            if let Err(e) = self.app.store().add_session_change(&self.session_id, &path, &checkpoint).await {
                tracing::warn!(error = %e, "remembering a chat's change");
            }
            self.app.publish_session_changes(&self.session_id).await;
        }
        if !output.changed.is_empty() {
            self.app.bus().publish(
                &topics::project(&self.project_id),
                "files.changed",
                serde_json::json!({ "paths": output.changed }),
            );
        }
        Ok(())
    }
}

impl App {
    /// Stores a summary standing for the messages up to `covers_until` and announces it.
    pub(crate) async fn store_summary(
        &self,
        session_id: &str,
        model: &str,
        summary: &str,
        covers_until: String,
    ) -> CoreResult<()> {
        let mut row = message_row(session_id, MessageRole::System, summary);
        row.tool = ToolParts {
            kind: Some("summary".into()),
            covers_until: Some(covers_until),
            ..ToolParts::default()
        };
        row.model = Some(model.to_owned());
        self.store().insert_message(row.clone()).await?;
        self.bus().publish(
            &topics::session(session_id),
            ev::MESSAGE_CREATED,
            to_value(&MessageEvent { message: message_to_api(row) }),
        );
        Ok(())
    }

    /// The context window a conversation with `model` gets: its context length within the
    /// setting `max_context` (default 32,768 tokens).
    pub(crate) async fn agent_window(&self, model: &str) -> u32 {
        let cap = self
            .setting("max_context")
            .await
            .ok()
            .flatten()
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(DEFAULT_MAX_CONTEXT);
        atelier_tools::context::window(self.context_length(model).await, cap)
    }

    /// One reply of a chat with tools: the loop from the stored history, each step stored
    /// and announced as it happens.
    pub(crate) async fn run_agent_reply(
        &self,
        session: SessionRow,
        reply: MessageRow,
        cancel: CancellationToken,
    ) {
        let topic = topics::session(&session.id);
        let host = match self.agent_host(&session, &reply, &topic, &cancel).await {
            Ok(host) => host,
            Err(e) => {
                self.fail_reply(&topic, &reply.id, String::new(), String::new(), e).await;
                return;
            }
        };
        let outcome = self.agent_loop(&session, &reply, &host).await;
        let (row_id, open, content, reasoning, usage) = {
            let state = host.state();
            (state.row_id.clone(), state.open, state.content.clone(), state.reasoning.clone(), state.usage)
        };
        match outcome {
            Ok((window, num_ctx, compacted)) => {
                let data = ContextUsage {
                    used_tokens: usage.0 + usage.1,
                    limit_tokens: window,
                    num_ctx: Some(num_ctx),
                    compacted,
                };
                self.bus().publish(&topic, ev::CONTEXT_USAGE, to_value(&data));
            }
            Err(LoopError::Cancelled) => {
                // A call stopped while it ran or waited gets its answer, so the history and
                // every client see how it ended.
                let running = host.running.lock().unwrap_or_else(|p| p.into_inner()).take();
                if let Some(call) = running {
                    let stopped = ToolOutput::error("stopped before it finished (the reply was stopped)");
                    if let Err(e) = host.result(0, &call, &stopped).await {
                        tracing::warn!(error = %e, "recording a stopped call");
                    }
                }
                if open {
                    let kept = self
                        .store()
                        .update_message(&row_id, content, reasoning, Some(S::Interrupted), None)
                        .await;
                    if let Err(e) = kept {
                        tracing::error!(error = %e, "saving a stopped reply");
                    }
                    if let Ok(row) = self.store().get_message(&row_id).await {
                        let message = message_to_api(row);
                        self.bus().publish(
                            &topic,
                            ev::MESSAGE_COMPLETED,
                            to_value(&MessageEvent { message }),
                        );
                    }
                }
            }
            Err(LoopError::Llm(e)) => {
                let target = if open { row_id } else { self.new_failed_row(&session.id).await };
                self.fail_reply(&topic, &target, content, reasoning, CoreError::Llm(e)).await;
            }
            Err(e @ (LoopError::Stopped(_) | LoopError::Host(_))) => {
                let target = if open { row_id } else { self.new_failed_row(&session.id).await };
                let (content, reasoning) = if open { (content, reasoning) } else { Default::default() };
                self.fail_reply(&topic, &target, content, reasoning, CoreError::Unavailable(e.to_string()))
                    .await;
            }
        }
    }

    async fn agent_host(
        &self,
        session: &SessionRow,
        reply: &MessageRow,
        topic: &str,
        cancel: &CancellationToken,
    ) -> CoreResult<ChatHost> {
        let project_id = session.project_id.clone().ok_or_else(|| {
            CoreError::InvalidInput(
                "a chat with tools needs a project; turn tools off or open a project".into(),
            )
        })?;
        let project = self.store().get_project(&project_id).await?;
        let model = match &session.model {
            Some(model) => model.clone(),
            None => self.default_model().await?,
        };
        let allowed: HashSet<String> = self.read_allowed(&project_id).await.into_iter().collect();
        Ok(ChatHost {
            app: self.clone(),
            session_id: session.id.clone(),
            project_id,
            root: std::path::PathBuf::from(project.path),
            topic: topic.to_owned(),
            model,
            cancel: cancel.clone(),
            allowed: Mutex::new(allowed),
            running: Mutex::new(None),
            before_write: Mutex::new(None),
            state: Mutex::new(StepState {
                row_id: reply.id.clone(),
                content: String::new(),
                reasoning: String::new(),
                last_save: Instant::now(),
                open: true,
                ids: Vec::new(),
                usage: (0, 0),
            }),
        })
    }

    /// Runs the loop; answers the window, the `num_ctx` of the last request and whether the
    /// conversation was compacted.
    async fn agent_loop(
        &self,
        session: &SessionRow,
        reply: &MessageRow,
        host: &ChatHost,
    ) -> Result<(u32, u32, bool), LoopError> {
        let err = |e: CoreError| match e {
            CoreError::Llm(e) => LoopError::Llm(e),
            other => LoopError::Host(other.user_message()),
        };
        let rows = self
            .store()
            .list_messages(&session.id, Some(reply.id.clone()), crate::chat::HISTORY_LIMIT)
            .await
            .map_err(|e| err(e.into()))?;
        host.state().ids = rows.iter().filter(|r| r.tool.kind.is_none()).map(|r| r.id.clone()).collect();
        let mut messages = history(&rows);
        let project = host.root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let at = messages.iter().take_while(|m| m.role == atelier_llm::Role::System).count();
        messages.insert(at, ChatMessage::system(tools_prompt(&project)));
        let window = self.agent_window(&host.model).await;
        let mode = match self.native_tools(&host.model).await {
            Some(false) => ToolMode::Text,
            _ => ToolMode::Native,
        };
        let auto_approve_run =
            self.setting("tools.auto_approve_run").await.ok().flatten().as_deref() == Some("true");
        let config = LoopConfig { mode, auto_approve_run, ..LoopConfig::new(host.model.clone(), window) };
        let registry = self.tools_for(Some(&host.project_id));
        let tools = registry.select(&[Effect::Read, Effect::Write, Effect::Run, Effect::Network]);
        let ctx = self.tool_context(&host.root, host.cancel.clone(), window);
        let result = run_loop(self.provider().as_ref(), &config, &tools, &ctx, host, messages).await?;
        let num_ctx = atelier_tools::context::needed(&result.messages, 0)
            .saturating_add(config.reply_reserve)
            .clamp(4096.min(window), window);
        Ok((window, num_ctx, result.compacted))
    }

    /// A new assistant message to carry a failure that came after the last step finished.
    async fn new_failed_row(&self, session_id: &str) -> String {
        let mut row = message_row(session_id, MessageRole::Assistant, "");
        row.status = S::Streaming;
        let id = row.id.clone();
        if let Err(e) = self.store().insert_message(row.clone()).await {
            tracing::error!(error = %e, "storing a failed reply");
        }
        self.bus().publish(
            &topics::session(session_id),
            ev::MESSAGE_CREATED,
            to_value(&MessageEvent { message: message_to_api(row) }),
        );
        id
    }

    /// Marks `reply_id` failed with `error`, keeping what streamed, and announces it.
    pub(crate) async fn fail_reply(
        &self,
        topic: &str,
        reply_id: &str,
        content: String,
        reasoning: String,
        error: CoreError,
    ) {
        let text = error.user_message();
        tracing::warn!(reply = reply_id, error = %error, "a reply failed");
        let saved = self
            .store()
            .update_message(reply_id, content, reasoning, Some(S::Failed), Some(text.clone()))
            .await;
        if let Err(e) = saved {
            tracing::error!(error = %e, "saving a failed reply");
        }
        let failed = MessageFailed {
            message_id: reply_id.to_owned(),
            error: FailureInfo { message: text, kind: error.kind(), retryable: error.retryable() },
        };
        self.bus().publish(topic, ev::MESSAGE_FAILED, to_value(&failed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(role: MessageRole, content: &str) -> MessageRow {
        message_row("ses", role, content)
    }

    #[test]
    fn a_call_without_a_result_is_answered_interrupted_and_stray_results_are_dropped() {
        let mut assistant = row(MessageRole::Assistant, "");
        assistant.tool.calls = Some(r#"[{"id":"c1","name":"read_file","arguments":{"path":"a"}}]"#.into());
        let mut stray = row(MessageRole::Tool, "old");
        stray.tool.call_id = Some("c0".into());
        let rows = vec![row(MessageRole::System, "sys"), row(MessageRole::User, "hi"), stray, assistant];
        let messages = history(&rows);
        assert_eq!(messages.len(), 4, "{messages:?}");
        assert_eq!(messages[2].tool_calls[0].id, "c1");
        assert_eq!(messages[3].tool_call_id.as_deref(), Some("c1"));
        assert!(messages[3].content.contains("interrupted"));
    }

    #[test]
    fn a_summary_stands_for_what_it_covers_and_the_head_stays() {
        let rows0 = vec![
            row(MessageRole::System, "sys"),
            row(MessageRole::User, "first"),
            row(MessageRole::Assistant, "old answer"),
            row(MessageRole::User, "second"),
            row(MessageRole::Assistant, "newer answer"),
        ];
        let mut summary = row(MessageRole::System, "they talked");
        summary.tool.kind = Some("summary".into());
        summary.tool.covers_until = Some(rows0[2].id.clone());
        let mut rows = rows0.clone();
        rows.push(summary);
        rows.push(row(MessageRole::User, "third"));
        let messages = history(&rows);
        let texts: Vec<&str> = messages.iter().map(|m| m.content.as_str()).collect();
        assert_eq!(texts[0], "sys");
        assert_eq!(texts[1], "first");
        assert!(texts[2].contains("they talked"));
        assert_eq!(&texts[3..], ["second", "newer answer", "third"]);
    }
}
