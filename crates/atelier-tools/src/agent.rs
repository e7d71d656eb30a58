//! The one agent loop, used by chat sessions with tools and by every workflow agent: the model
//! answers or calls tools; each call is checked, approved where it must be, run, and its result
//! goes back to the model; until it answers. Its owner (a chat, a workflow) is a [`Host`]: it
//! streams what the model writes, records each step durably, and decides approvals.
//!
//! What stops a loop, each with a clear reason: the step cap (default 25), a model that repeats
//! the same call with the same arguments (the third time is refused with a note, a fourth stops
//! the loop), three malformed calls in a row, cancellation.

use std::collections::HashMap;
use std::sync::Arc;

use atelier_llm::{
    ChatMessage, ChatRequest, Completion, Delta, LlmError, Provider, ToolCall, ToolMode, ToolSpec,
};
use serde_json::Value;

use crate::{CallStatus, Effect, Tool, ToolContext, ToolError, ToolInfo, ToolOutput, context};

/// How one loop runs.
#[derive(Debug, Clone)]
pub struct LoopConfig {
    pub model: String,
    pub mode: ToolMode,
    /// Model steps before the loop gives up.
    pub max_steps: usize,
    /// The context window in tokens (the model's, within the memory cap).
    pub window: u32,
    /// Tokens kept free for the reply.
    pub reply_reserve: u32,
    pub temperature: Option<f32>,
    /// Whether `run` calls go ahead without asking.
    pub auto_approve_run: bool,
}

impl LoopConfig {
    pub fn new(model: impl Into<String>, window: u32) -> Self {
        Self {
            model: model.into(),
            mode: ToolMode::Native,
            max_steps: 25,
            window,
            reply_reserve: 2048,
            temperature: None,
            auto_approve_run: false,
        }
    }
}

/// The person's answer to a call that waits for approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny,
    /// Allow, and do not ask again for this tool in this project.
    AllowAlways,
}

/// Why a loop ended without an answer.
#[derive(Debug, thiserror::Error)]
pub enum LoopError {
    #[error(transparent)]
    Llm(#[from] LlmError),
    #[error("the agent stopped: {0}")]
    Stopped(String),
    #[error("cancelled")]
    Cancelled,
    /// The host could not record or announce a step (the database, say).
    #[error("{0}")]
    Host(String),
}

/// What a loop produced.
#[derive(Debug, Clone, Default)]
pub struct LoopResult {
    /// The model's final answer (its text, calls cut out).
    pub answer: String,
    pub reasoning: String,
    /// Model calls made (recorded steps replayed are not counted).
    pub calls: usize,
    /// Tool calls executed (replayed ones are not counted).
    pub tool_calls: usize,
    /// Whether the conversation was compacted on the way.
    pub compacted: bool,
    /// The conversation as it ended (for a caller that goes on from it).
    pub messages: Vec<ChatMessage>,
    /// Tokens of the last request (prompt), for `context.usage`.
    pub last_prompt_tokens: u32,
}

/// A recorded model step.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RecordedStep {
    pub message: ChatMessage,
    #[serde(default)]
    pub malformed: Vec<String>,
}

/// The loop's owner.
#[async_trait::async_trait]
pub trait Host: Send + Sync {
    /// Before each model step: waits while paused, checks budgets; an error stops the loop.
    async fn before_step(&self, _step: usize) -> Result<(), LoopError> {
        Ok(())
    }
    /// A streamed piece of step `step`'s reply.
    fn delta(&self, step: usize, delta: &Delta);
    /// A step recorded in an earlier run (a resumed workflow): used instead of calling the model.
    async fn recorded_step(&self, _step: usize) -> Option<RecordedStep> {
        None
    }
    /// A model step finished: record it (before any of its calls runs).
    async fn step_done(
        &self,
        step: usize,
        recorded: &RecordedStep,
        completion: &Completion,
    ) -> Result<(), LoopError>;
    /// The conversation was compacted: the summary, how many messages it replaced, and how
    /// many of the newest messages were kept after it.
    async fn compacted(&self, _summary: &str, _replaced: usize, _kept: usize) -> Result<(), LoopError> {
        Ok(())
    }
    /// A call's result recorded in an earlier run (or an interrupted one's note): used instead
    /// of running the call again.
    async fn recorded_result(&self, _n: usize, _call: &ToolCall) -> Option<ToolOutput> {
        None
    }
    /// A call is about to be shown (and, when `needs_approval`, waits for [`Host::approve`]).
    fn call_started(&self, call: &ToolCall, info: Option<&ToolInfo>, needs_approval: bool);
    /// Asks the person; cancellation of the turn must end the wait (answer `Deny`).
    async fn approve(&self, call: &ToolCall, info: &ToolInfo) -> Decision;
    /// Whether the person allowed this tool for good (no question asked).
    fn allowed_always(&self, _info: &ToolInfo) -> bool {
        false
    }
    /// Right before an approved call runs (a chat takes a checkpoint of a file to be written; a
    /// workflow marks the call started).
    async fn before_call(&self, _n: usize, _call: &ToolCall, _info: &ToolInfo) -> Result<(), LoopError> {
        Ok(())
    }
    /// What a running command prints.
    fn output(&self, call_id: &str, delta: &str);
    /// A call's result: record it and announce it.
    async fn result(&self, n: usize, call: &ToolCall, output: &ToolOutput) -> Result<(), LoopError>;
}

/// The three-strikes rule for calls the model wrote wrong.
const MALFORMED_LIMIT: usize = 3;
/// The same call with the same arguments this many times is refused; once more stops the loop.
const REPEAT_LIMIT: usize = 3;

/// One loop: from `messages` (system, history, the task), with `tools`, until an answer.
pub async fn run_loop(
    provider: &dyn Provider,
    config: &LoopConfig,
    tools: &[Arc<dyn Tool>],
    ctx: &ToolContext,
    host: &dyn Host,
    messages: Vec<ChatMessage>,
) -> Result<LoopResult, LoopError> {
    let specs: Vec<ToolSpec> = tools
        .iter()
        .map(|t| ToolSpec {
            name: t.info().name.clone(),
            description: t.info().description.clone(),
            input_schema: t.info().input_schema.clone(),
        })
        .collect();
    let tool_tokens = atelier_llm::estimate_tool_tokens(&specs);
    let mut messages = messages;
    let mut result = LoopResult::default();
    let mut repeats: HashMap<String, usize> = HashMap::new();
    let mut malformed_in_row = 0usize;
    let mut call_number = 0usize;
    for step in 0..config.max_steps {
        if ctx.cancel.is_cancelled() {
            return Err(LoopError::Cancelled);
        }
        let recorded = host.recorded_step(step).await;
        if recorded.is_none() && context::over(&messages, tool_tokens, config.reply_reserve, config.window) {
            fit(provider, config, &mut messages, tool_tokens, ctx, host, &mut result).await?;
        }
        host.before_step(step).await?;
        let recorded = match recorded {
            Some(recorded) => recorded,
            None => {
                let request = ChatRequest {
                    model: config.model.clone(),
                    num_ctx: Some(
                        context::needed(&messages, tool_tokens)
                            .saturating_add(config.reply_reserve)
                            .div_ceil(2048)
                            .saturating_mul(2048)
                            .clamp(4096.min(config.window), config.window),
                    ),
                    messages: messages.clone(),
                    tools: specs.clone(),
                    tool_mode: config.mode,
                    temperature: config.temperature,
                    format: None,
                };
                let completion = provider
                    .chat(&request, &ctx.cancel, &mut |d| host.delta(step, &d))
                    .await
                    .map_err(|e| match e {
                        LlmError::Cancelled => LoopError::Cancelled,
                        other => LoopError::Llm(other),
                    })?;
                result.calls += 1;
                result.last_prompt_tokens = completion.usage.prompt_tokens;
                result.reasoning = completion.reasoning.clone();
                let recorded = RecordedStep {
                    message: ChatMessage::assistant_calls(
                        completion.content.clone(),
                        completion.tool_calls.clone(),
                    ),
                    malformed: completion.malformed_calls.clone(),
                };
                host.step_done(step, &recorded, &completion).await?;
                recorded
            }
        };
        let RecordedStep { message, malformed } = recorded;
        let calls = message.tool_calls.clone();
        messages.push(message.clone());
        if calls.is_empty() {
            if malformed.is_empty() {
                result.answer = message.content;
                result.messages = messages;
                return Ok(result);
            }
            // It meant to call a tool but wrote the call so it could not be read.
            malformed_in_row += 1;
            if malformed_in_row >= MALFORMED_LIMIT {
                return Err(LoopError::Stopped(format!(
                    "{MALFORMED_LIMIT} tool calls in a row could not be read ({})",
                    malformed.join("; ")
                )));
            }
            messages.push(ChatMessage::user(format!(
                "Your tool call could not be read: {}. Write it again exactly in the tool-call format, \
                 with the arguments as a JSON object.",
                malformed.join("; ")
            )));
            continue;
        }
        for call in calls {
            call_number += 1;
            let (output, verdict) = match host.recorded_result(call_number, &call).await {
                Some(output) => (output, Verdict::Ran),
                None => {
                    let (output, verdict) =
                        execute(tools, ctx, host, config, call_number, &call, &mut repeats).await?;
                    if verdict == Verdict::Ran && output.status != CallStatus::Denied {
                        result.tool_calls += 1;
                    }
                    host.result(call_number, &call, &output).await?;
                    (output, verdict)
                }
            };
            if verdict == Verdict::Malformed {
                malformed_in_row += 1;
            } else {
                malformed_in_row = 0;
            }
            messages.push(ChatMessage::tool_result(
                call.id.clone(),
                call.name.clone(),
                output.content.clone(),
            ));
            if verdict == Verdict::Stop {
                return Err(LoopError::Stopped(format!(
                    "it called `{}` with the same arguments again after being told not to",
                    call.name
                )));
            }
            if malformed_in_row >= MALFORMED_LIMIT {
                return Err(LoopError::Stopped(format!(
                    "{MALFORMED_LIMIT} tool calls in a row were malformed; the last: {}",
                    output.content
                )));
            }
        }
    }
    Err(LoopError::Stopped(format!(
        "it took {} steps without giving an answer (the step limit)",
        config.max_steps
    )))
}

/// What became of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// It ran (or was refused for a reason other than its form).
    Ran,
    /// The model wrote it wrong: an unknown tool, unusable arguments.
    Malformed,
    /// A repeat after the refusal: the loop ends.
    Stop,
}

/// Makes the conversation fit: a summary of the middle, else over-long messages cut.
async fn fit(
    provider: &dyn Provider,
    config: &LoopConfig,
    messages: &mut Vec<ChatMessage>,
    tool_tokens: u32,
    ctx: &ToolContext,
    host: &dyn Host,
    result: &mut LoopResult,
) -> Result<(), LoopError> {
    let compacted = context::compact(provider, &config.model, messages, config.window, &ctx.cancel)
        .await
        .map_err(|e| match e {
            LlmError::Cancelled => LoopError::Cancelled,
            other => LoopError::Llm(other),
        })?;
    if let Some(compacted) = compacted {
        host.compacted(&compacted.summary, compacted.replaced, compacted.kept).await?;
        *messages = compacted.messages;
        result.compacted = true;
    }
    // Still too big (one huge message): cut long messages, said in the text itself.
    let mut max_chars = (config.window as usize).saturating_mul(3) / 2;
    while context::over(messages, tool_tokens, config.reply_reserve, config.window) && max_chars > 500 {
        context::cut_long(messages, max_chars);
        result.compacted = true;
        max_chars /= 2;
    }
    Ok(())
}

/// Checks, approves and runs one call. Returns its output and what became of it.
async fn execute(
    tools: &[Arc<dyn Tool>],
    ctx: &ToolContext,
    host: &dyn Host,
    config: &LoopConfig,
    n: usize,
    call: &ToolCall,
    repeats: &mut HashMap<String, usize>,
) -> Result<(ToolOutput, Verdict), LoopError> {
    let Some(tool) = tools.iter().find(|t| t.info().name == call.name) else {
        host.call_started(call, None, false);
        let names: Vec<&str> = tools.iter().map(|t| t.info().name.as_str()).collect();
        return Ok((
            ToolOutput::error(format!(
                "there is no tool `{}`; the tools are: {}",
                call.name,
                names.join(", ")
            )),
            Verdict::Malformed,
        ));
    };
    let info = tool.info();
    let arguments = match arguments(&call.arguments, &info.input_schema) {
        Ok(arguments) => arguments,
        Err(problem) => {
            host.call_started(call, Some(info), false);
            return Ok((
                ToolOutput::error(format!("the call of `{}` was not usable: {problem}", call.name)),
                Verdict::Malformed,
            ));
        }
    };
    let key = format!("{}\u{0}{}", call.name, arguments);
    let count = repeats.entry(key).or_insert(0);
    *count += 1;
    if *count > REPEAT_LIMIT {
        host.call_started(call, Some(info), false);
        return Ok((
            ToolOutput::error(format!(
                "refused again: `{}` was called with the same arguments {} times; the agent is stopped",
                call.name, *count
            )),
            Verdict::Stop,
        ));
    }
    if *count == REPEAT_LIMIT {
        host.call_started(call, Some(info), false);
        return Ok((
            ToolOutput::error(format!(
                "refused: you already called `{}` with these exact arguments twice, and the result is \
                 above. Use it, try something different, or give your answer.",
                call.name
            )),
            Verdict::Ran,
        ));
    }
    let needs_approval = match info.effect {
        Effect::Read | Effect::Write => false,
        // Unconfined commands (no sandbox on this platform, or the person turned it off)
        // always ask, whatever was allowed before.
        Effect::Run => !ctx.runner.confined() || (!config.auto_approve_run && !host.allowed_always(info)),
        Effect::Network => !info.trusted && !host.allowed_always(info),
    };
    host.call_started(call, Some(info), needs_approval);
    if needs_approval {
        tokio::select! {
            decision = host.approve(call, info) => {
                // A wait ended by the turn's cancel (or the app stopping) is not the person's no.
                if ctx.cancel.is_cancelled() {
                    return Err(LoopError::Cancelled);
                }
                if decision == Decision::Deny {
                    return Ok((ToolOutput::denied(format!(
                        "the person did not allow this call of `{}`; do not try it again — find another \
                         way, or explain in your answer what you would have run",
                        call.name
                    )), Verdict::Ran));
                }
            }
            () = ctx.cancel.cancelled() => return Err(LoopError::Cancelled),
        }
    }
    if ctx.cancel.is_cancelled() {
        return Err(LoopError::Cancelled);
    }
    host.before_call(n, call, info).await?;
    let call_id = call.id.clone();
    let mut on_output = |delta: &str| host.output(&call_id, delta);
    match tool.call(ctx, arguments, &mut on_output).await {
        Ok(mut output) => {
            output.content = crate::truncate_result(
                &output.content,
                ctx.max_result_chars,
                "ask for a smaller part (a line range, a narrower search)",
            );
            Ok((output, Verdict::Ran))
        }
        Err(ToolError::Cancelled) => Err(LoopError::Cancelled),
        Err(ToolError::Failed(message)) => Ok((ToolOutput::error(message), Verdict::Ran)),
    }
}

/// The arguments as an object, checked against the schema's `required` list. Arguments that
/// came as a JSON string (some models double-encode) are decoded.
fn arguments(given: &Value, schema: &Value) -> Result<Value, String> {
    let object = match given {
        Value::Object(_) => given.clone(),
        Value::Null => Value::Object(Default::default()),
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(value @ Value::Object(_)) => value,
            _ => {
                let shown: String = text.chars().take(200).collect();
                return Err(format!("the arguments are not a JSON object: {shown}"));
            }
        },
        other => return Err(format!("the arguments must be a JSON object, not {other}")),
    };
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        let missing: Vec<&str> = required
            .iter()
            .filter_map(Value::as_str)
            .filter(|name| object.get(*name).is_none_or(Value::is_null))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "it lacks {}",
                missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    Ok(object)
}
