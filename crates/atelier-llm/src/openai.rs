//! OpenAI-compatible servers: `/v1/chat/completions` streamed as server-sent events, and
//! `/v1/models`. This covers vLLM, LM Studio, llama.cpp's server and DeepSeek (whose
//! `reasoning_content` is kept apart like Ollama's `thinking`). Tools go as `tools`; calls
//! arrive as `tool_calls` deltas assembled by `index` (arguments a JSON string in pieces,
//! several calls in one reply); results go back as `tool` messages with `tool_call_id`.

use std::collections::BTreeMap;

use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::key::ApiKey;
use crate::stream::{Emitter, check_status, http_client, send, with_retries};
use crate::think::ThinkSplitter;
use crate::tools::{
    Prepared, arguments_string, finish, new_call_id, parse_arguments, prepare, refuses_tools,
};
use crate::{
    ChatMessage, ChatRequest, Completion, Delta, LlmConfig, LlmError, ModelCapabilities, ModelInfo, Provider,
    Role, ToolCall, ToolMode,
};

/// A call being assembled from deltas.
#[derive(Default)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
}

/// The calls of one reply, by the `index` their deltas carry.
#[derive(Default)]
struct Calls {
    by_index: BTreeMap<u64, PartialCall>,
}

impl Calls {
    /// Adds one `tool_calls` delta. Servers that leave out `index` are followed by `id`: a
    /// new id starts a call, no id continues the last one.
    fn push(&mut self, delta: &Value) {
        let id = delta["id"].as_str().filter(|id| !id.is_empty());
        let index = match delta["index"].as_u64() {
            Some(index) => index,
            None => {
                let known = id.and_then(|id| self.by_index.iter().find(|(_, c)| c.id == id).map(|(i, _)| *i));
                let last = self.by_index.keys().next_back().copied();
                match (known, id, last) {
                    (Some(index), _, _) => index,
                    (None, None, Some(last)) => last,
                    (None, _, last) => last.map_or(0, |l| l + 1),
                }
            }
        };
        let call = self.by_index.entry(index).or_default();
        if let Some(id) = id {
            call.id = id.to_owned();
        }
        let function = &delta["function"];
        if let Some(name) = function["name"].as_str().filter(|n| !n.is_empty()) {
            // Names come whole in one delta; some servers repeat them in every delta.
            if name != call.name {
                call.name.push_str(name);
            }
        }
        match &function["arguments"] {
            Value::String(piece) => call.arguments.push_str(piece),
            // A few servers send the arguments as an object, whole.
            Value::Object(_) => call.arguments = function["arguments"].to_string(),
            _ => {}
        }
    }

    fn finish(self) -> Vec<ToolCall> {
        self.by_index
            .into_values()
            .filter(|c| !c.name.is_empty())
            .map(|c| ToolCall {
                id: if c.id.is_empty() { new_call_id() } else { c.id },
                name: c.name,
                arguments: parse_arguments(&c.arguments).unwrap_or(Value::String(c.arguments)),
            })
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct OpenAiCompatProvider {
    /// Ends in `/v1` (or whatever version path the server uses), without a trailing slash.
    endpoint: String,
    api_key: Option<ApiKey>,
    client: reqwest::Client,
    config: LlmConfig,
}

impl OpenAiCompatProvider {
    /// `base_url` may be the server's root (`http://host:8000`) or its API root
    /// (`http://host:8000/v1`).
    pub fn new(base_url: Url, api_key: Option<String>, config: LlmConfig) -> Result<Self, LlmError> {
        let mut endpoint = base_url.as_str().trim_end_matches('/').to_owned();
        // `http://host:8000` and `https://openrouter.ai/api` need `/v1`; a path that already
        // names a version (`/v1`, `/v1beta/openai`, `/api/v3`) is kept as given.
        let versioned = base_url.path().split('/').any(|segment| {
            segment.len() >= 2
                && segment.starts_with('v')
                && segment[1..].starts_with(|c: char| c.is_ascii_digit())
        });
        if !versioned {
            endpoint.push_str("/v1");
        }
        Ok(Self { client: http_client(&config)?, endpoint, api_key: api_key.map(ApiKey::new), config })
    }

    fn request(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.api_key {
            Some(key) => builder.bearer_auth(key.expose()),
            None => builder,
        }
    }

    fn body(req: &ChatRequest, prepared: &Prepared) -> Value {
        let messages: Vec<Value> = prepared.messages.iter().map(message_json).collect();
        let mut body = json!({
            "model": req.model,
            "messages": messages,
            "stream": true,
            "stream_options": { "include_usage": true },
        });
        if prepared.native {
            body["tools"] = prepared
                .tools
                .iter()
                .map(|t| {
                    json!({ "type": "function", "function": {
                        "name": t.name, "description": t.description, "parameters": t.input_schema } })
                })
                .collect();
        }
        if let Some(t) = req.temperature {
            body["temperature"] = json!(t);
        }
        if let Some(schema) = &req.format {
            body["response_format"] = json!({
                "type": "json_schema",
                "json_schema": { "name": "response", "schema": schema, "strict": true },
            });
        }
        body
    }

    async fn attempt(
        &self,
        req: &ChatRequest,
        body: &Value,
        cancel: &CancellationToken,
        emitter: &mut Emitter<'_>,
    ) -> Result<(), LlmError> {
        let request =
            self.request(self.client.post(format!("{}/chat/completions", self.endpoint)).json(body));
        let response = send(&self.endpoint, request, self.config.first_byte_timeout, cancel).await?;
        let response = check_status(&self.endpoint, &req.model, response).await?;
        let mut events = response.bytes_stream().eventsource();
        let mut splitter = ThinkSplitter::new();
        let mut calls = Calls::default();
        let mut wait = self.config.first_byte_timeout;
        let mut finished = false;
        loop {
            let next = tokio::select! {
                () = cancel.cancelled() => return Err(LlmError::Cancelled),
                next = tokio::time::timeout(wait, events.next()) => next,
            };
            wait = self.config.idle_timeout;
            let event = match next {
                Err(_) => {
                    return Err(LlmError::Timeout {
                        endpoint: self.endpoint.clone(),
                        what: "the next part of the reply",
                    });
                }
                Ok(None) if finished => break,
                Ok(None) => {
                    return Err(LlmError::Stream {
                        endpoint: self.endpoint.clone(),
                        message: "the connection closed before the reply finished".into(),
                    });
                }
                Ok(Some(Err(e))) => {
                    return Err(LlmError::Stream {
                        endpoint: self.endpoint.clone(),
                        message: format!("the connection broke: {e}"),
                    });
                }
                Ok(Some(Ok(event))) => event,
            };
            let data = event.data.trim();
            if data == "[DONE]" {
                break;
            }
            if data.is_empty() {
                continue;
            }
            let value: Value = serde_json::from_str(data).map_err(|e| LlmError::Stream {
                endpoint: self.endpoint.clone(),
                message: format!("the server sent an event that is not JSON ({e})"),
            })?;
            if let Some(error) = value.get("error") {
                let message =
                    error["message"].as_str().map(str::to_owned).unwrap_or_else(|| error.to_string());
                return Err(LlmError::Stream { endpoint: self.endpoint.clone(), message });
            }
            if let Some(choice) = value["choices"].get(0) {
                let delta = &choice["delta"];
                let reasoning = delta["reasoning_content"].as_str().or_else(|| delta["reasoning"].as_str());
                if let Some(r) = reasoning.filter(|r| !r.is_empty()) {
                    emitter.emit(Delta::Reasoning(r.to_owned()));
                }
                if let Some(content) = delta["content"].as_str().filter(|c| !c.is_empty()) {
                    splitter.push(content, &mut |d| emitter.emit(d));
                }
                for call in delta["tool_calls"].as_array().into_iter().flatten() {
                    calls.push(call);
                }
                if let Some(reason) = choice["finish_reason"].as_str() {
                    emitter.completion.done_reason = Some(reason.to_owned());
                    finished = true;
                }
            }
            if let Some(usage) = value.get("usage").filter(|u| u.is_object()) {
                emitter.completion.usage.prompt_tokens = usage["prompt_tokens"].as_u64().unwrap_or(0) as u32;
                emitter.completion.usage.completion_tokens =
                    usage["completion_tokens"].as_u64().unwrap_or(0) as u32;
            }
        }
        splitter.finish(&mut |d| emitter.emit(d));
        emitter.completion.tool_calls = calls.finish();
        Ok(())
    }

    /// Streams one request shaped by `prepared`, with retries.
    async fn run(
        &self,
        req: &ChatRequest,
        prepared: &Prepared,
        cancel: &CancellationToken,
        on_delta: &mut (dyn FnMut(Delta) + Send),
    ) -> Result<Completion, LlmError> {
        let body = Self::body(req, prepared);
        let body = &body;
        with_retries(&self.config, cancel, on_delta, |mut emitter| async move {
            let result = self.attempt(req, body, cancel, &mut emitter).await;
            (emitter, result)
        })
        .await
    }

    async fn models_json(&self) -> Result<Value, LlmError> {
        let never = CancellationToken::new();
        let request = self.request(self.client.get(format!("{}/models", self.endpoint)));
        let response = send(&self.endpoint, request, self.config.connect_timeout * 2, &never).await?;
        let response = check_status(&self.endpoint, "", response).await?;
        response
            .json()
            .await
            .map_err(|e| LlmError::Stream { endpoint: self.endpoint.clone(), message: e.to_string() })
    }
}

/// A message as the chat completions API takes it: an assistant turn's calls as `tool_calls`
/// (arguments a JSON string; `content` null when there is no text), a result as a `tool`
/// message answering its call.
fn message_json(message: &ChatMessage) -> Value {
    match message.role {
        Role::Assistant if !message.tool_calls.is_empty() => {
            let calls: Vec<Value> = message
                .tool_calls
                .iter()
                .map(|c| {
                    json!({ "id": c.id, "type": "function",
                            "function": { "name": c.name, "arguments": arguments_string(&c.arguments) } })
                })
                .collect();
            let content = if message.content.is_empty() { Value::Null } else { json!(message.content) };
            json!({ "role": "assistant", "content": content, "tool_calls": calls })
        }
        Role::Tool => {
            json!({ "role": "tool", "tool_call_id": message.tool_call_id, "content": message.content })
        }
        role => json!({ "role": role, "content": message.content }),
    }
}

/// What a `/v1/models` entry says about tools and the context window, where the server says
/// it: OpenRouter's `supported_parameters` and `context_length`, LM Studio's `capabilities`,
/// vLLM's `max_model_len`.
fn model_capabilities(entry: &Value) -> ModelCapabilities {
    let listed = |field: &str, names: &[&str]| {
        entry[field]
            .as_array()
            .map(|values| values.iter().any(|v| v.as_str().is_some_and(|v| names.contains(&v))))
    };
    let tools =
        listed("supported_parameters", &["tools"]).or_else(|| listed("capabilities", &["tool_use", "tools"]));
    let context_length = ["context_length", "max_model_len", "context_window"]
        .iter()
        .find_map(|field| entry[*field].as_u64())
        .map(|n| n.min(u64::from(u32::MAX)) as u32);
    // `Some(false)` only from a list of parameters or capabilities that leaves tools out.
    ModelCapabilities { tools, context_length }
}

#[async_trait::async_trait]
impl Provider for OpenAiCompatProvider {
    fn name(&self) -> &str {
        "openai"
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
        let (prepared, result) = match self.run(req, &prepared, cancel, on_delta).await {
            // llama.cpp without `--jinja`, vLLM without a tool parser: the tools go in the prompt.
            Err(e) if prepared.native && refuses_tools(&e) => {
                tracing::info!(model = %req.model, error = %e, "the server takes no native tools; describing them in the prompt");
                let text = prepare(req, ToolMode::Text);
                let result = self.run(req, &text, cancel, on_delta).await;
                (text, result)
            }
            other => (prepared, other),
        };
        let mut completion = result?;
        finish(&mut completion, req, &prepared.names);
        completion.usage.total_ms = started.elapsed().as_millis() as u64;
        Ok(completion)
    }

    async fn list_models(&self) -> Result<Vec<ModelInfo>, LlmError> {
        let list = self.models_json().await?;
        Ok(list["data"]
            .as_array()
            .map(|models| {
                models
                    .iter()
                    .filter_map(|m| m["id"].as_str())
                    .map(|id| ModelInfo {
                        name: id.to_owned(),
                        provider: "openai".into(),
                        size: None,
                        family: None,
                        quantization: None,
                        context_length: None,
                        display_name: None,
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn context_length(&self, _model: &str) -> Result<Option<u32>, LlmError> {
        Ok(None)
    }

    /// Unknown (`None`) unless the server's model list says; a server without a model list
    /// says nothing either.
    async fn capabilities(&self, model: &str) -> Result<ModelCapabilities, LlmError> {
        let list = match self.models_json().await {
            Ok(list) => list,
            Err(LlmError::Http { status: 404 | 405, .. }) => return Ok(ModelCapabilities::default()),
            Err(e) => return Err(e),
        };
        let entry = list["data"].as_array().into_iter().flatten().find(|m| m["id"] == model);
        Ok(entry.map(model_capabilities).unwrap_or_default())
    }

    async fn embed(&self, model: &str, input: &[String]) -> Result<Vec<Vec<f32>>, LlmError> {
        let key = self.api_key.as_ref().map(|k| k.expose());
        crate::embed::openai_embed(&self.client, &self.endpoint, key, &self.config, model, input).await
    }

    async fn embedding_models(&self) -> Result<Vec<String>, LlmError> {
        let names = self.model_names().await?;
        Ok(names.into_iter().filter(|n| crate::embed::looks_like_embedding_model(n)).collect())
    }

    async fn version(&self) -> Result<String, LlmError> {
        self.list_models().await?;
        Ok("openai-compatible".into())
    }
}
