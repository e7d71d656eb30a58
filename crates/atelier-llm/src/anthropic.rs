//! Anthropic's Messages API: `POST /v1/messages` streamed as server-sent events
//! (`message_start`, `content_block_*`, `message_delta`, `message_stop`, `ping`, `error`), and
//! `GET /v1/models`. Extended thinking arrives as `thinking_delta`s and is kept apart. Tools go
//! as `tools`; calls arrive as `tool_use` blocks whose input streams as `input_json_delta`
//! pieces; results go back as `tool_result` blocks at the start of the next user turn.

use std::collections::BTreeMap;

use eventsource_stream::Eventsource;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::key::{ApiKey, header_value};
use crate::stream::{Emitter, Failure, cut_short, http_client, next_event, send, with_retries};
use crate::tools::{Prepared, arguments_object, finish, new_call_id, parse_arguments, prepare};
use crate::{
    ChatRequest, Completion, Conversation, Delta, LlmConfig, LlmError, ModelCapabilities, ModelInfo, Part,
    Provider, Role, ToolCall,
};

/// A `tool_use` block being streamed: its id, name and the input's JSON pieces so far.
struct PartialUse {
    id: String,
    name: String,
    json: String,
    /// The input given whole in `content_block_start`, used when no pieces follow.
    start_input: Value,
}

/// The API version every request names; the event format below is this version's.
const API_VERSION: &str = "2023-06-01";
/// Anthropic requires a reply limit on every request.
pub const DEFAULT_MAX_TOKENS: u32 = 8192;
/// Every Claude model since Claude 3 has a 200k-token window (larger ones only on request).
const CLAUDE_CONTEXT: u32 = 200_000;

#[derive(Debug, Clone)]
pub struct AnthropicProvider {
    /// The server's root (`https://api.anthropic.com`), without a trailing slash.
    endpoint: String,
    api_key: ApiKey,
    max_tokens: u32,
    client: reqwest::Client,
    config: LlmConfig,
}

impl AnthropicProvider {
    pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";

    /// `base_url` is the server's root; a trailing `/v1` is tolerated.
    pub fn new(base_url: Url, api_key: String, config: LlmConfig) -> Result<Self, LlmError> {
        let root = base_url.as_str().trim_end_matches('/');
        let endpoint = root.strip_suffix("/v1").unwrap_or(root).to_owned();
        Ok(Self {
            client: http_client(&config)?,
            endpoint,
            api_key: ApiKey::new(api_key),
            max_tokens: DEFAULT_MAX_TOKENS,
            config,
        })
    }

    /// The most tokens a reply may have (Anthropic's required `max_tokens`).
    pub fn with_max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = max_tokens.max(1);
        self
    }

    fn request(&self, builder: reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder, LlmError> {
        Ok(builder.header("x-api-key", header_value(&self.api_key)?).header("anthropic-version", API_VERSION))
    }

    fn body(&self, req: &ChatRequest, prepared: &Prepared) -> Value {
        let conversation = Conversation::new(&prepared.messages);
        let messages: Vec<Value> = conversation
            .turns
            .iter()
            .map(|turn| {
                let role = if turn.role == Role::Assistant { "assistant" } else { "user" };
                let content = match turn.only_text() {
                    Some(text) => json!(text),
                    None => turn.parts.iter().map(block_json).collect(),
                };
                json!({ "role": role, "content": content })
            })
            .collect();
        let mut system = conversation.system;
        // The Messages API has no JSON-schema mode; the schema goes into the instructions and
        // the caller validates the reply as it does for every provider.
        if let Some(schema) = &req.format {
            if !system.is_empty() {
                system.push_str("\n\n");
            }
            system.push_str(&format!(
                "Reply with one JSON value that follows this JSON schema, and nothing else:\n{schema}"
            ));
        }
        let mut body = json!({
            "model": req.model,
            "max_tokens": self.max_tokens,
            "messages": messages,
            "stream": true,
        });
        if !system.is_empty() {
            body["system"] = json!(system);
        }
        if let Some(t) = req.temperature {
            body["temperature"] = json!(t);
        }
        if prepared.native {
            body["tools"] = prepared
                .tools
                .iter()
                .map(|t| json!({ "name": t.name, "description": t.description, "input_schema": object_schema(&t.input_schema) }))
                .collect();
        }
        body
    }

    /// A non-success answer: Anthropic's `{"type":"error","error":{"type":…}}` names the
    /// problem more exactly than the status does.
    async fn check(&self, model: &str, response: reqwest::Response) -> Result<reqwest::Response, LlmError> {
        if response.status().is_success() {
            return Ok(response);
        }
        let failure = Failure::read(response).await;
        let kind = serde_json::from_str::<Value>(&failure.body)
            .ok()
            .and_then(|v| v["error"]["type"].as_str().map(str::to_owned))
            .unwrap_or_default();
        Err(match kind.as_str() {
            "authentication_error" | "permission_error" => {
                LlmError::Unauthorized { endpoint: self.endpoint.clone() }
            }
            "not_found_error" if !model.is_empty() => LlmError::ModelNotFound { model: model.to_owned() },
            _ => failure.into_error(&self.endpoint, model),
        })
    }

    /// An `error` event in the stream. Overload and server errors are worth another try (before
    /// anything was shown); the others will not get better.
    fn stream_error(&self, model: &str, value: &Value) -> LlmError {
        let error = &value["error"];
        let message = error["message"].as_str().map(str::to_owned).unwrap_or_else(|| error.to_string());
        let endpoint = self.endpoint.clone();
        match error["type"].as_str().unwrap_or_default() {
            "authentication_error" | "permission_error" => LlmError::Unauthorized { endpoint },
            "not_found_error" => LlmError::ModelNotFound { model: model.to_owned() },
            "invalid_request_error" => LlmError::Http { endpoint, status: 400, body: message },
            _ => LlmError::Stream { endpoint, message },
        }
    }

    async fn attempt(
        &self,
        req: &ChatRequest,
        body: &Value,
        cancel: &CancellationToken,
        emitter: &mut Emitter<'_>,
    ) -> Result<(), LlmError> {
        let request = self.request(self.client.post(format!("{}/v1/messages", self.endpoint)).json(body))?;
        let response = send(&self.endpoint, request, self.config.first_byte_timeout, cancel).await?;
        let response = self.check(&req.model, response).await?;
        let mut events = response.bytes_stream().eventsource();
        let mut wait = self.config.first_byte_timeout;
        let mut uses: BTreeMap<u64, PartialUse> = BTreeMap::new();
        loop {
            let Some(event) = next_event(&self.endpoint, &mut events, wait, cancel).await? else {
                return Err(cut_short(&self.endpoint));
            };
            wait = self.config.idle_timeout;
            let data = event.data.trim();
            if data.is_empty() {
                continue;
            }
            let value: Value = match serde_json::from_str(data) {
                Ok(value) => value,
                Err(e) => {
                    tracing::debug!(event = %event.event, error = %e, "skipping an event that is not JSON");
                    continue;
                }
            };
            // The data's `type` is authoritative; the SSE event name is the fallback.
            let kind = value["type"].as_str().unwrap_or(event.event.as_str());
            match kind {
                "message_start" => {
                    let usage = &value["message"]["usage"];
                    emitter.completion.usage.prompt_tokens = prompt_tokens(usage);
                    if let Some(n) = usage["output_tokens"].as_u64() {
                        emitter.completion.usage.completion_tokens = n as u32;
                    }
                }
                "content_block_start" => {
                    let block = &value["content_block"];
                    match block["type"].as_str() {
                        Some("text") => emit(emitter, Delta::Content, &block["text"]),
                        Some("thinking") => emit(emitter, Delta::Reasoning, &block["thinking"]),
                        Some("tool_use") => {
                            let index = value["index"].as_u64().unwrap_or(uses.len() as u64);
                            uses.insert(
                                index,
                                PartialUse {
                                    id: block["id"].as_str().unwrap_or_default().to_owned(),
                                    name: block["name"].as_str().unwrap_or_default().to_owned(),
                                    json: String::new(),
                                    start_input: block["input"].clone(),
                                },
                            );
                        }
                        _ => {}
                    }
                }
                "content_block_delta" => {
                    let delta = &value["delta"];
                    match delta["type"].as_str() {
                        Some("text_delta") => emit(emitter, Delta::Content, &delta["text"]),
                        Some("thinking_delta") => emit(emitter, Delta::Reasoning, &delta["thinking"]),
                        Some("input_json_delta") => {
                            let index = value["index"].as_u64();
                            let call = match index {
                                Some(index) => uses.get_mut(&index),
                                None => uses.values_mut().next_back(),
                            };
                            if let (Some(call), Some(piece)) = (call, delta["partial_json"].as_str()) {
                                call.json.push_str(piece);
                            }
                        }
                        // signature_delta, citations_delta: nothing to show.
                        _ => {}
                    }
                }
                "message_delta" => {
                    if let Some(reason) = value["delta"]["stop_reason"].as_str() {
                        emitter.completion.done_reason = Some(stop_reason(reason));
                    }
                    let usage = &value["usage"];
                    // `output_tokens` here is the running total, not an increment.
                    if let Some(n) = usage["output_tokens"].as_u64() {
                        emitter.completion.usage.completion_tokens = n as u32;
                    }
                    let prompt = prompt_tokens(usage);
                    if prompt > 0 {
                        emitter.completion.usage.prompt_tokens = prompt;
                    }
                }
                "message_stop" => {
                    emitter.completion.tool_calls =
                        std::mem::take(&mut uses).into_values().map(finish_use).collect();
                    return Ok(());
                }
                "error" => return Err(self.stream_error(&req.model, &value)),
                // ping, content_block_stop, and event types added later.
                _ => {}
            }
        }
    }

    /// Streams one request shaped by `prepared`, with retries.
    async fn run(
        &self,
        req: &ChatRequest,
        prepared: &Prepared,
        cancel: &CancellationToken,
        on_delta: &mut (dyn FnMut(Delta) + Send),
    ) -> Result<Completion, LlmError> {
        let body = self.body(req, prepared);
        let body = &body;
        with_retries(&self.config, cancel, on_delta, |mut emitter| async move {
            let result = self.attempt(req, body, cancel, &mut emitter).await;
            (emitter, result)
        })
        .await
    }

    async fn get(&self, path: &str) -> Result<Value, LlmError> {
        let never = CancellationToken::new();
        let request = self.request(self.client.get(format!("{}{path}", self.endpoint)))?;
        let response = send(&self.endpoint, request, self.config.connect_timeout * 2, &never).await?;
        let response = self.check("", response).await?;
        response
            .json()
            .await
            .map_err(|e| LlmError::Stream { endpoint: self.endpoint.clone(), message: e.to_string() })
    }
}

/// A finished `tool_use` block as a call: its input pieces read as JSON (leniently), or the
/// input given whole.
fn finish_use(call: PartialUse) -> ToolCall {
    let arguments = if call.json.trim().is_empty() {
        match call.start_input {
            Value::Object(_) => call.start_input,
            _ => json!({}),
        }
    } else {
        parse_arguments(&call.json).unwrap_or(Value::String(call.json))
    };
    let id = if call.id.is_empty() { new_call_id() } else { call.id };
    ToolCall { id, name: call.name, arguments }
}

/// One content block of a turn that holds more than text.
fn block_json(part: &Part) -> Value {
    match part {
        Part::Text(text) => json!({ "type": "text", "text": text }),
        Part::Call(call) => json!({ "type": "tool_use", "id": block_id(&call.id), "name": call.name,
                                    "input": arguments_object(&call.arguments) }),
        Part::Result { call_id, content, .. } => {
            let mut block = json!({ "type": "tool_result", "tool_use_id": block_id(call_id) });
            if !content.is_empty() {
                block["content"] = json!(content);
            }
            block
        }
    }
}

/// Anthropic takes ids of `[a-zA-Z0-9_-]` only; ids from other servers are made so, the same
/// way for a call and its result.
fn block_id(id: &str) -> String {
    let id: String =
        id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    if id.is_empty() { "call".into() } else { id }
}

/// `input_schema` must be an object schema; anything else is wrapped so the request stands.
fn object_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(map) if map.get("type").and_then(Value::as_str) == Some("object") => schema.clone(),
        Value::Object(map) if !map.contains_key("type") => {
            let mut schema = map.clone();
            schema.insert("type".into(), json!("object"));
            Value::Object(schema)
        }
        _ => json!({ "type": "object" }),
    }
}

fn emit(emitter: &mut Emitter<'_>, kind: fn(String) -> Delta, text: &Value) {
    if let Some(text) = text.as_str().filter(|t| !t.is_empty()) {
        emitter.emit(kind(text.to_owned()));
    }
}

/// Input tokens, counting those read from or written to the prompt cache (the prompt's size).
fn prompt_tokens(usage: &Value) -> u32 {
    ["input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"]
        .iter()
        .filter_map(|field| usage[*field].as_u64())
        .sum::<u64>()
        .min(u64::from(u32::MAX)) as u32
}

/// Anthropic's stop reasons in the words the other providers use.
fn stop_reason(reason: &str) -> String {
    match reason {
        "end_turn" | "stop_sequence" => "stop".into(),
        "max_tokens" => "length".into(),
        "tool_use" => "tool_calls".into(),
        other => other.to_owned(),
    }
}

#[async_trait::async_trait]
impl Provider for AnthropicProvider {
    fn name(&self) -> &str {
        "anthropic"
    }

    fn endpoint(&self) -> &str {
        &self.endpoint
    }

    async fn chat(
        &self,
        req: &ChatRequest,
        cancel: &CancellationToken,
        on_delta: &mut (dyn FnMut(Delta) + Send),
    ) -> Result<Completion, LlmError> {
        if req.model.trim().is_empty() {
            return Err(LlmError::InvalidRequest("no model was given".into()));
        }
        let started = std::time::Instant::now();
        let prepared = prepare(req, req.tool_mode);
        let mut completion = self.run(req, &prepared, cancel, on_delta).await?;
        finish(&mut completion, req, &prepared.names);
        completion.usage.total_ms = started.elapsed().as_millis() as u64;
        Ok(completion)
    }

    async fn list_models(&self) -> Result<Vec<ModelInfo>, LlmError> {
        let list = self.get("/v1/models?limit=1000").await?;
        Ok(list["data"]
            .as_array()
            .map(|models| {
                models
                    .iter()
                    .filter_map(|m| {
                        let id = m["id"].as_str()?;
                        Some(ModelInfo {
                            name: id.to_owned(),
                            provider: "anthropic".into(),
                            size: None,
                            family: None,
                            quantization: None,
                            context_length: known_context(id),
                            display_name: m["display_name"].as_str().map(str::to_owned),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn context_length(&self, model: &str) -> Result<Option<u32>, LlmError> {
        Ok(known_context(model))
    }

    /// Every Claude model takes tools.
    async fn capabilities(&self, model: &str) -> Result<ModelCapabilities, LlmError> {
        Ok(ModelCapabilities { tools: Some(true), context_length: known_context(model) })
    }

    async fn version(&self) -> Result<String, LlmError> {
        self.get("/v1/models?limit=1").await?;
        Ok("anthropic".into())
    }
}

fn known_context(model: &str) -> Option<u32> {
    model.starts_with("claude-").then_some(CLAUDE_CONTEXT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChatMessage;

    #[test]
    fn system_messages_are_joined_and_turns_alternate() {
        let provider =
            AnthropicProvider::new("http://x/v1/".parse().expect("url"), "k".into(), LlmConfig::default())
                .expect("provider");
        assert_eq!(provider.endpoint(), "http://x");
        let message = |role, content: &str| ChatMessage::new(role, content);
        let req = ChatRequest {
            model: "claude-x".into(),
            messages: vec![
                message(Role::System, "one"),
                message(Role::User, "a"),
                message(Role::System, "two"),
                message(Role::User, "b"),
                message(Role::Assistant, ""),
                message(Role::Assistant, "c"),
            ],
            ..ChatRequest::default()
        };
        let body = provider.body(&req, &prepare(&req, req.tool_mode));
        assert_eq!(body["system"], "one\n\ntwo");
        assert_eq!(
            body["messages"],
            json!([{ "role": "user", "content": "a\n\nb" }, { "role": "assistant", "content": "c" }])
        );
        assert_eq!(body["max_tokens"], DEFAULT_MAX_TOKENS);
        assert!(body.get("temperature").is_none());
    }
}
