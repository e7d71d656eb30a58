//! Atelier's model providers behind one [`Provider`] trait: Ollama's native API, Anthropic's
//! Messages API, Google's Gemini API, and any OpenAI-compatible server (OpenAI, DeepSeek, vLLM,
//! LM Studio, llama.cpp's server), and an [`EndpointPool`] of several such servers. Each streams,
//! cancels within milliseconds, retries what is worth retrying, and keeps a model's reasoning
//! apart from its reply. Tools go on each wire in its own shape ([`ToolMode::Native`]) or are
//! described in the system prompt ([`ToolMode::Text`]); calls a model writes as text are read
//! back by [`parse_text_tool_calls`] whatever the mode.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

mod anthropic;
mod dialect;
pub mod embed;
mod gemini;
mod host;
mod key;
mod ollama;
mod openai;
mod pool;
mod stream;
mod think;
mod tools;

pub use anthropic::AnthropicProvider;
pub use dialect::{TextCalls, parse_text_tool_calls};
pub use gemini::GeminiProvider;
pub use host::{ollama_host_from_env, parse_ollama_host};
pub use ollama::OllamaProvider;
pub use openai::OpenAiCompatProvider;
pub use pool::{EndpointPool, EndpointStatus, PoolConfig};
pub use think::ThinkSplitter;
pub use tools::{new_call_id, tools_system_prompt};
/// Base URLs are `url::Url`s; re-exported so callers need no `url` dependency of their own.
pub use url::Url;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    /// A tool's result, answering one call of the assistant turn before it.
    Tool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
    /// Assistant turns: the tools it called (may be non-empty with empty content).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// Role::Tool: the call this message answers, and that tool's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
}

impl ChatMessage {
    /// A message of `role` with text only.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self { role, content: content.into(), tool_calls: Vec::new(), tool_call_id: None, tool_name: None }
    }

    pub fn system(text: impl Into<String>) -> Self {
        Self::new(Role::System, text)
    }

    pub fn user(text: impl Into<String>) -> Self {
        Self::new(Role::User, text)
    }

    pub fn assistant(text: impl Into<String>) -> Self {
        Self::new(Role::Assistant, text)
    }

    /// An assistant turn that called tools (its text may be empty).
    pub fn assistant_calls(text: impl Into<String>, calls: Vec<ToolCall>) -> Self {
        Self { tool_calls: calls, ..Self::new(Role::Assistant, text) }
    }

    /// The result of the call `call_id` of the tool `name`.
    pub fn tool_result(
        call_id: impl Into<String>,
        name: impl Into<String>,
        content: impl Into<String>,
    ) -> Self {
        Self {
            tool_call_id: Some(call_id.into()),
            tool_name: Some(name.into()),
            ..Self::new(Role::Tool, content)
        }
    }
}

/// A call of a tool by the model. `name` is always the tool's own name (never the wire name a
/// provider had to use), `id` is unique (generated when the server gives none).
/// `arguments` is the JSON object the model gave; when a server sent arguments that cannot be
/// read as JSON even leniently, it is the raw text as a JSON string, so the caller can tell
/// the model what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: serde_json::Value,
}

/// A tool offered to the model: its name (any text; mapped to a valid wire name per request),
/// what it does, and a JSON schema of its arguments (an object schema).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub input_schema: serde_json::Value,
}

/// How tools reach the model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolMode {
    /// In the wire format's own tool fields. A server that answers that the model cannot use
    /// tools gets the same request once more in [`ToolMode::Text`].
    #[default]
    Native,
    /// Nothing tool-related on the wire: the tools are described in the system prompt
    /// ([`tools_system_prompt`]) and earlier calls and results are written as text.
    Text,
}

#[derive(Debug, Clone, Default)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<ChatMessage>,
    /// A JSON schema the reply must follow (Ollama `format`, OpenAI `response_format`).
    pub format: Option<serde_json::Value>,
    pub num_ctx: Option<u32>,
    pub temperature: Option<f32>,
    /// Tools the model may call; empty for none.
    pub tools: Vec<ToolSpec>,
    pub tool_mode: ToolMode,
}

/// What a provider knows about a model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ModelCapabilities {
    /// Whether the model takes tools natively; `None` when the server does not say.
    pub tools: Option<bool>,
    pub context_length: Option<u32>,
}

/// A piece of a streamed reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delta {
    Content(String),
    Reasoning(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub total_ms: u64,
    pub load_ms: u64,
    pub prompt_eval_ms: u64,
    pub eval_ms: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Completion {
    /// The reply's text. When tools were offered and the model wrote its calls as text, the
    /// calls are cut out of it (they were streamed as deltas all the same).
    pub content: String,
    pub reasoning: String,
    pub usage: Usage,
    /// `stop`, `length` (the reply hit its limit: a call in it may be cut short),
    /// `tool_calls`, or what else the server said.
    pub done_reason: Option<String>,
    /// The tools the model called, native or written as text, in order, with tools' own names.
    pub tool_calls: Vec<ToolCall>,
    /// What looked like a tool call in the text but could not be read, each with why: for the
    /// caller to tell the model, never to drop silently.
    pub malformed_calls: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    pub name: String,
    pub provider: String,
    pub size: Option<u64>,
    pub family: Option<String>,
    pub quantization: Option<String>,
    pub context_length: Option<u32>,
    /// The name people know the model by (Anthropic's `display_name`, Gemini's `displayName`).
    pub display_name: Option<String>,
}

/// One step of a model download (Ollama's `/api/pull` lines).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullProgress {
    /// `pulling manifest`, `pulling <digest>`, `verifying sha256 digest`, `writing manifest`,
    /// `success`.
    pub status: String,
    pub digest: Option<String>,
    pub completed: Option<u64>,
    pub total: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct LlmConfig {
    pub connect_timeout: Duration,
    /// Until the first byte of a reply: generous, a model may have to load first.
    pub first_byte_timeout: Duration,
    /// Between two chunks of a streaming reply.
    pub idle_timeout: Duration,
    pub max_retries: usize,
    pub retry_min_delay: Duration,
    pub retry_max_delay: Duration,
}

impl Default for LlmConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            first_byte_timeout: Duration::from_secs(300),
            idle_timeout: Duration::from_secs(60),
            max_retries: 3,
            retry_min_delay: Duration::from_millis(250),
            retry_max_delay: Duration::from_secs(8),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("cannot reach the model server at {endpoint}: {reason}")]
    Unreachable { endpoint: String, reason: String },
    #[error("the model server at {endpoint} did not answer in time (waiting for {what})")]
    Timeout { endpoint: String, what: &'static str },
    #[error("model `{model}` not found")]
    ModelNotFound { model: String },
    #[error("the model server at {endpoint} refused the API key")]
    Unauthorized { endpoint: String },
    #[error("the model server at {endpoint} is limiting requests; try again later")]
    RateLimited { endpoint: String, retry_after: Option<Duration> },
    #[error("the model server at {endpoint} answered HTTP {status}: {body}")]
    Http { endpoint: String, status: u16, body: String },
    #[error("the reply from {endpoint} broke off: {message}")]
    Stream { endpoint: String, message: String },
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    InvalidRequest(String),
}

impl LlmError {
    /// Whether trying again may help.
    pub fn retryable(&self) -> bool {
        match self {
            LlmError::Unreachable { .. }
            | LlmError::Timeout { .. }
            | LlmError::RateLimited { .. }
            | LlmError::Stream { .. } => true,
            LlmError::Http { status, .. } => *status >= 500 || *status == 408,
            LlmError::ModelNotFound { .. }
            | LlmError::Unauthorized { .. }
            | LlmError::Cancelled
            | LlmError::InvalidRequest(_) => false,
        }
    }
}

#[async_trait::async_trait]
pub trait Provider: Send + Sync + std::fmt::Debug {
    /// `ollama`, `openai`, `anthropic` or `gemini`.
    fn name(&self) -> &str;
    /// The base URL, for messages and health (a pool's: its members', joined by commas).
    fn endpoint(&self) -> &str;
    /// The pool, when this provider is one: its members and what it knows of each.
    fn pool(&self) -> Option<&EndpointPool> {
        None
    }
    /// Streams one chat completion; deltas go to `on_delta` as they arrive. Cancelling
    /// `cancel` aborts the HTTP request at once and returns `Err(Cancelled)`. Errors before the
    /// first delta (connect failures, 503/429/5xx, timeouts) are retried with backoff.
    async fn chat(
        &self,
        req: &ChatRequest,
        cancel: &CancellationToken,
        on_delta: &mut (dyn FnMut(Delta) + Send),
    ) -> Result<Completion, LlmError>;
    async fn list_models(&self) -> Result<Vec<ModelInfo>, LlmError>;
    /// The names of the models the server has: what a health check needs, and cheaper than
    /// [`Provider::list_models`] where that asks about each model.
    async fn model_names(&self) -> Result<Vec<String>, LlmError> {
        Ok(self.list_models().await?.into_iter().map(|m| m.name).collect())
    }
    /// The model's context window in tokens, when the server says.
    async fn context_length(&self, model: &str) -> Result<Option<u32>, LlmError>;
    /// Whether the model takes tools natively, and its context window, as far as the server
    /// says: what the caller needs to choose a [`ToolMode`]. Every provider here answers for
    /// itself; the default (tools unknown) is for wrappers such as a benchmark's timer.
    async fn capabilities(&self, model: &str) -> Result<ModelCapabilities, LlmError> {
        Ok(ModelCapabilities { tools: None, context_length: self.context_length(model).await? })
    }
    /// The server's version; also a cheap reachability probe.
    async fn version(&self) -> Result<String, LlmError>;
    /// Downloads a model, reporting each step; cancelling stops the download (a later pull
    /// resumes it where the server supports that, as Ollama does).
    async fn pull_model(
        &self,
        name: &str,
        _cancel: &CancellationToken,
        _on_progress: &mut (dyn FnMut(PullProgress) + Send),
    ) -> Result<(), LlmError> {
        Err(LlmError::InvalidRequest(format!(
            "{} servers cannot download `{name}` through Atelier; add models with the server's own tools",
            self.name()
        )))
    }
    /// Removes a downloaded model.
    async fn delete_model(&self, name: &str) -> Result<(), LlmError> {
        Err(LlmError::InvalidRequest(format!(
            "{} servers cannot remove `{name}` through Atelier; use the server's own tools",
            self.name()
        )))
    }
    /// Embeds each text of `input` with the embedding `model`: one vector per text, in order
    /// (at most [`embed::MAX_BATCH`] texts a call). Providers without embeddings refuse.
    async fn embed(&self, model: &str, _input: &[String]) -> Result<Vec<Vec<f32>>, LlmError> {
        Err(LlmError::InvalidRequest(format!(
            "{} servers do not make embeddings through Atelier (asked for `{model}`)",
            self.name()
        )))
    }
    /// The server's models that make embeddings, in the server's order (empty when the
    /// provider has none Atelier can use).
    async fn embedding_models(&self) -> Result<Vec<String>, LlmError> {
        Ok(Vec::new())
    }
}

/// A chat as the cloud APIs want it: the system messages joined into one instruction, and the
/// rest as alternating turns (consecutive messages of one role merged, empty ones dropped),
/// since Anthropic and Gemini take the system prompt apart and expect turns to alternate. Tool
/// calls stay in their assistant turn; tool results join the user turn after it (first in
/// it, as Anthropic wants them).
pub(crate) struct Conversation {
    pub system: String,
    pub turns: Vec<Turn>,
}

/// One turn: `role` is `User` or `Assistant`.
pub(crate) struct Turn {
    pub role: Role,
    pub parts: Vec<Part>,
}

pub(crate) enum Part {
    Text(String),
    Call(ToolCall),
    Result { call_id: String, name: String, content: String },
}

impl Turn {
    /// The turn's text when it holds nothing else.
    pub fn only_text(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [Part::Text(text)] => Some(text),
            _ => None,
        }
    }
}

impl Conversation {
    pub fn new(messages: &[ChatMessage]) -> Conversation {
        let mut system: Vec<&str> = Vec::new();
        let mut turns: Vec<Turn> = Vec::new();
        for message in messages {
            let mut parts = Vec::new();
            let role = match message.role {
                Role::System => {
                    if !message.content.is_empty() {
                        system.push(&message.content);
                    }
                    continue;
                }
                Role::Tool => {
                    parts.push(Part::Result {
                        call_id: message.tool_call_id.clone().unwrap_or_default(),
                        name: message.tool_name.clone().unwrap_or_default(),
                        content: message.content.clone(),
                    });
                    Role::User
                }
                role => {
                    if !message.content.is_empty() {
                        parts.push(Part::Text(message.content.clone()));
                    }
                    parts.extend(message.tool_calls.iter().cloned().map(Part::Call));
                    role
                }
            };
            if parts.is_empty() {
                continue;
            }
            match turns.last_mut() {
                Some(last) if last.role == role => last.parts.extend(parts),
                _ => turns.push(Turn { role, parts }),
            }
        }
        for turn in &mut turns {
            // Results first (stable), then adjacent texts joined.
            let (results, rest): (Vec<Part>, Vec<Part>) =
                std::mem::take(&mut turn.parts).into_iter().partition(|p| matches!(p, Part::Result { .. }));
            for part in results.into_iter().chain(rest) {
                match (turn.parts.last_mut(), part) {
                    (Some(Part::Text(text)), Part::Text(more)) => {
                        text.push_str("\n\n");
                        text.push_str(&more);
                    }
                    (_, part) => turn.parts.push(part),
                }
            }
        }
        Conversation { system: system.join("\n\n"), turns }
    }
}

/// The context window to ask a model for: room for the prompt (estimated from its length) and
/// `reply_tokens`, rounded up to a multiple of 2,048, at least 4,096 and at most the model's
/// context length. Short chats then don't reserve a huge buffer, and long ones are not cut
/// to the server's small default.
pub fn choose_num_ctx(messages: &[ChatMessage], reply_tokens: u32, model_context: Option<u32>) -> u32 {
    let wanted = estimate_tokens(messages).saturating_add(reply_tokens);
    let rounded = wanted.div_ceil(2048).saturating_mul(2048).max(4096);
    match model_context {
        Some(limit) if limit > 0 => rounded.min(limit),
        _ => rounded,
    }
}

/// A generous estimate of a prompt's tokens (about 3 characters a token, plus a few per
/// message for the chat template): better to reserve a little too much than to truncate.
pub fn estimate_tokens(messages: &[ChatMessage]) -> u32 {
    let chars: usize = messages
        .iter()
        .map(|m| {
            let calls: usize =
                m.tool_calls.iter().map(|c| c.name.len() + c.arguments.to_string().chars().count()).sum();
            m.content.chars().count() + calls
        })
        .sum();
    let tokens = chars.div_ceil(3) + messages.len() * 8;
    u32::try_from(tokens).unwrap_or(u32::MAX)
}

/// The same estimate for tool definitions, which take room in the prompt on every wire (and
/// in the system prompt in [`ToolMode::Text`]).
pub fn estimate_tool_tokens(tools: &[ToolSpec]) -> u32 {
    let chars: usize = tools
        .iter()
        .map(|t| t.name.len() + t.description.chars().count() + t.input_schema.to_string().chars().count())
        .sum();
    u32::try_from(chars.div_ceil(3) + tools.len() * 12).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(chars: usize) -> Vec<ChatMessage> {
        vec![ChatMessage::user("x".repeat(chars))]
    }

    #[test]
    fn tool_results_join_the_next_user_turn_first() {
        let call = ToolCall { id: "c1".into(), name: "t".into(), arguments: serde_json::json!({}) };
        let messages = vec![
            ChatMessage::system("s"),
            ChatMessage::user("q"),
            ChatMessage::assistant_calls("", vec![call]),
            ChatMessage::user("also this"),
            ChatMessage::tool_result("c1", "t", "r"),
            ChatMessage::user("and that"),
        ];
        let conversation = Conversation::new(&messages);
        let roles: Vec<Role> = conversation.turns.iter().map(|t| t.role).collect();
        assert_eq!(roles, [Role::User, Role::Assistant, Role::User]);
        let last = &conversation.turns[2].parts;
        assert!(matches!(&last[0], Part::Result { call_id, .. } if call_id == "c1"));
        assert!(matches!(&last[1], Part::Text(t) if t == "also this\n\nand that"));
        assert_eq!(conversation.turns[0].only_text(), Some("q"));
    }

    #[test]
    fn num_ctx_fits_the_conversation_within_the_model() {
        // A short chat does not reserve a huge buffer on a 128k model.
        assert_eq!(choose_num_ctx(&user(100), 2048, Some(131_072)), 4096);
        // A long one gets room for itself and the reply, in steps of 2,048.
        let n = choose_num_ctx(&user(60_000), 2048, Some(131_072));
        assert!(n >= 20_000 + 2048 && n.is_multiple_of(2048) && n < 24_576, "{n}");
        // Never more than the model has.
        assert_eq!(choose_num_ctx(&user(1_000_000), 2048, Some(32_768)), 32_768);
        // Unknown context length: sized to the conversation.
        assert_eq!(choose_num_ctx(&user(30_000), 2048, None), 12_288);
    }
}
