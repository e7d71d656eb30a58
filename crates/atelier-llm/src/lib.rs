//! Atelier's model providers behind one [`Provider`] trait: Ollama's native API, Anthropic's
//! Messages API, Google's Gemini API, and any OpenAI-compatible server (OpenAI, DeepSeek, vLLM,
//! LM Studio, llama.cpp's server), and an [`EndpointPool`] of several such servers. Each streams,
//! cancels within milliseconds, retries what is worth retrying, and keeps a model's reasoning
//! apart from its reply.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

mod anthropic;
pub mod embed;
mod gemini;
mod host;
mod key;
mod ollama;
mod openai;
mod pool;
mod stream;
mod think;

pub use anthropic::AnthropicProvider;
pub use gemini::GeminiProvider;
pub use host::{ollama_host_from_env, parse_ollama_host};
pub use ollama::OllamaProvider;
pub use openai::OpenAiCompatProvider;
pub use pool::{EndpointPool, EndpointStatus, PoolConfig};
pub use think::ThinkSplitter;
/// Base URLs are `url::Url`s; re-exported so callers need no `url` dependency of their own.
pub use url::Url;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

#[derive(Debug, Clone, Default)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<ChatMessage>,
    /// A JSON schema the reply must follow (Ollama `format`, OpenAI `response_format`).
    pub format: Option<serde_json::Value>,
    pub num_ctx: Option<u32>,
    pub temperature: Option<f32>,
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
    pub content: String,
    pub reasoning: String,
    pub usage: Usage,
    pub done_reason: Option<String>,
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
/// since Anthropic and Gemini take the system prompt apart and expect turns to alternate.
pub(crate) struct Conversation {
    pub system: String,
    pub turns: Vec<(Role, String)>,
}

impl Conversation {
    pub fn new(messages: &[ChatMessage]) -> Conversation {
        let mut system: Vec<&str> = Vec::new();
        let mut turns: Vec<(Role, String)> = Vec::new();
        for message in messages {
            if message.content.is_empty() {
                continue;
            }
            match (message.role, turns.last_mut()) {
                (Role::System, _) => system.push(&message.content),
                (role, Some((last, text))) if *last == role => {
                    text.push_str("\n\n");
                    text.push_str(&message.content);
                }
                (role, _) => turns.push((role, message.content.clone())),
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
    let chars: usize = messages.iter().map(|m| m.content.chars().count()).sum();
    let tokens = chars.div_ceil(3) + messages.len() * 8;
    u32::try_from(tokens).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(chars: usize) -> Vec<ChatMessage> {
        vec![ChatMessage { role: Role::User, content: "x".repeat(chars) }]
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
