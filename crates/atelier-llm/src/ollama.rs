//! Ollama's native API: `/api/chat` streamed as NDJSON (tools as `tools`, calls arriving whole
//! in `message.tool_calls`, results sent back as `tool` messages), `/api/tags`, `/api/show`
//! (context length and capabilities), `/api/version`, and model management: `/api/pull`
//! (streamed progress) and `/api/delete`.

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::stream::{
    Emitter, check_status, http_client, looks_like_missing_model, next_chunk, send, with_retries,
};
use crate::think::ThinkSplitter;
use crate::tools::{
    Prepared, arguments_object, finish, new_call_id, parse_arguments, prepare, refuses_tools,
};
use crate::{
    ChatMessage, ChatRequest, Completion, Delta, LlmConfig, LlmError, ModelCapabilities, ModelInfo, Provider,
    PullProgress, Role, ToolCall, ToolMode, Usage,
};

#[derive(Debug, Clone)]
pub struct OllamaProvider {
    base: Url,
    endpoint: String,
    client: reqwest::Client,
    config: LlmConfig,
}

fn ns_to_ms(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0) / 1_000_000
}

impl OllamaProvider {
    pub fn new(base_url: Url, config: LlmConfig) -> Result<Self, LlmError> {
        let endpoint = base_url.as_str().trim_end_matches('/').to_owned();
        Ok(Self { client: http_client(&config)?, base: base_url, endpoint, config })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.endpoint)
    }

    fn body(req: &ChatRequest, prepared: &Prepared) -> Value {
        let messages: Vec<Value> = prepared.messages.iter().map(message_json).collect();
        let mut body = json!({ "model": req.model, "messages": messages, "stream": true });
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
        let mut options = serde_json::Map::new();
        if let Some(n) = req.num_ctx {
            options.insert("num_ctx".into(), json!(n));
        }
        if let Some(t) = req.temperature {
            options.insert("temperature".into(), json!(t));
        }
        if !options.is_empty() {
            body["options"] = Value::Object(options);
        }
        if let Some(format) = &req.format {
            body["format"] = format.clone();
        }
        body
    }

    /// One attempt: sends the request and streams the reply into `emitter`.
    async fn attempt(
        &self,
        req: &ChatRequest,
        body: &Value,
        cancel: &CancellationToken,
        emitter: &mut Emitter<'_>,
    ) -> Result<(), LlmError> {
        let request = self.client.post(self.url("/api/chat")).json(body);
        let response = send(&self.endpoint, request, self.config.first_byte_timeout, cancel).await?;
        let response = check_status(&self.endpoint, &req.model, response).await?;
        let mut stream = response.bytes_stream();
        let mut buffer: Vec<u8> = Vec::new();
        let mut splitter = ThinkSplitter::new();
        let mut wait = self.config.first_byte_timeout;
        loop {
            let Some(chunk) = next_chunk(&self.endpoint, &mut stream, wait, cancel).await? else {
                return Err(LlmError::Stream {
                    endpoint: self.endpoint.clone(),
                    message: "the connection closed before the reply finished".into(),
                });
            };
            wait = self.config.idle_timeout;
            buffer.extend_from_slice(&chunk);
            // Lines may arrive split across chunks (even inside a UTF-8 character): only
            // complete lines are parsed.
            while let Some(pos) = buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buffer.drain(..=pos).collect();
                if self.line(req, &line, &mut splitter, emitter)? {
                    return Ok(());
                }
            }
        }
    }

    /// Handles one NDJSON line; `Ok(true)` at the final (`done`) line.
    fn line(
        &self,
        req: &ChatRequest,
        line: &[u8],
        splitter: &mut ThinkSplitter,
        emitter: &mut Emitter<'_>,
    ) -> Result<bool, LlmError> {
        let text = String::from_utf8_lossy(line);
        let text = text.trim();
        if text.is_empty() {
            return Ok(false);
        }
        let value: Value = serde_json::from_str(text).map_err(|e| LlmError::Stream {
            endpoint: self.endpoint.clone(),
            message: format!("the server sent a line that is not JSON ({e})"),
        })?;
        if let Some(error) = value.get("error") {
            let message = error.as_str().map(str::to_owned).unwrap_or_else(|| error.to_string());
            if looks_like_missing_model(&message) && !emitter.emitted {
                return Err(LlmError::ModelNotFound { model: req.model.clone() });
            }
            return Err(LlmError::Stream { endpoint: self.endpoint.clone(), message });
        }
        let message = &value["message"];
        if let Some(thinking) = message["thinking"].as_str().filter(|t| !t.is_empty()) {
            emitter.emit(Delta::Reasoning(thinking.to_owned()));
        }
        if let Some(content) = message["content"].as_str().filter(|t| !t.is_empty()) {
            splitter.push(content, &mut |d| emitter.emit(d));
        }
        // Calls arrive whole, usually in a line of their own before the last.
        for call in message["tool_calls"].as_array().into_iter().flatten() {
            let function = &call["function"];
            let arguments = match &function["arguments"] {
                Value::String(raw) => parse_arguments(raw).unwrap_or_else(|_| Value::String(raw.clone())),
                Value::Null => json!({}),
                other => other.clone(),
            };
            let id = call["id"].as_str().filter(|id| !id.is_empty()).map_or_else(new_call_id, str::to_owned);
            let name = function["name"].as_str().unwrap_or_default().to_owned();
            emitter.completion.tool_calls.push(ToolCall { id, name, arguments });
        }
        if value["done"] == true {
            splitter.finish(&mut |d| emitter.emit(d));
            emitter.completion.usage = Usage {
                prompt_tokens: value["prompt_eval_count"].as_u64().unwrap_or(0) as u32,
                completion_tokens: value["eval_count"].as_u64().unwrap_or(0) as u32,
                total_ms: ns_to_ms(&value["total_duration"]),
                load_ms: ns_to_ms(&value["load_duration"]),
                prompt_eval_ms: ns_to_ms(&value["prompt_eval_duration"]),
                eval_ms: ns_to_ms(&value["eval_duration"]),
            };
            emitter.completion.done_reason = value["done_reason"].as_str().map(str::to_owned);
            return Ok(true);
        }
        Ok(false)
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

    /// `/api/show` for `model`.
    async fn show(&self, model: &str) -> Result<Value, LlmError> {
        let never = CancellationToken::new();
        let request = self.client.post(self.url("/api/show")).json(&json!({ "model": model }));
        let response = send(&self.endpoint, request, self.config.connect_timeout * 2, &never).await?;
        let response = check_status(&self.endpoint, model, response).await?;
        response
            .json()
            .await
            .map_err(|e| LlmError::Stream { endpoint: self.endpoint.clone(), message: e.to_string() })
    }

    async fn get_json(&self, path: &str, model: &str) -> Result<Value, LlmError> {
        let never = CancellationToken::new();
        let request = self.client.get(self.url(path));
        let response = send(&self.endpoint, request, self.config.connect_timeout * 2, &never).await?;
        let response = check_status(&self.endpoint, model, response).await?;
        response
            .json()
            .await
            .map_err(|e| LlmError::Stream { endpoint: self.endpoint.clone(), message: e.to_string() })
    }
}

#[async_trait::async_trait]
impl Provider for OllamaProvider {
    fn name(&self) -> &str {
        "ollama"
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
        let prepared = prepare(req, req.tool_mode);
        let (prepared, result) = match self.run(req, &prepared, cancel, on_delta).await {
            // A model without tool support is asked again with the tools in its prompt.
            Err(e) if prepared.native && refuses_tools(&e) => {
                tracing::info!(model = %req.model, error = %e, "the model takes no native tools; describing them in the prompt");
                let text = prepare(req, ToolMode::Text);
                let result = self.run(req, &text, cancel, on_delta).await;
                (text, result)
            }
            other => (prepared, other),
        };
        let mut completion = result?;
        finish(&mut completion, req, &prepared.names);
        Ok(completion)
    }

    async fn list_models(&self) -> Result<Vec<ModelInfo>, LlmError> {
        let tags = self.get_json("/api/tags", "").await?;
        let models = tags["models"].as_array().cloned().unwrap_or_default();
        let infos = models.iter().map(|m| async move {
            let name = m["name"].as_str().unwrap_or_default().to_owned();
            let context_length = self.context_length(&name).await.ok().flatten();
            ModelInfo {
                provider: "ollama".into(),
                size: m["size"].as_u64(),
                family: m["details"]["family"].as_str().map(str::to_owned),
                quantization: m["details"]["quantization_level"].as_str().map(str::to_owned),
                context_length,
                display_name: None,
                name,
            }
        });
        Ok(futures::future::join_all(infos).await)
    }

    /// `/api/tags` alone, without a `/api/show` per model.
    async fn model_names(&self) -> Result<Vec<String>, LlmError> {
        let tags = self.get_json("/api/tags", "").await?;
        let models = tags["models"].as_array().cloned().unwrap_or_default();
        Ok(models.iter().filter_map(|m| m["name"].as_str().map(str::to_owned)).collect())
    }

    async fn context_length(&self, model: &str) -> Result<Option<u32>, LlmError> {
        Ok(show_context_length(&self.show(model).await?))
    }

    /// `/api/show`'s `capabilities` (Ollama 0.6+): `tools` among them means native tools.
    /// Older servers do not say (`None`).
    async fn capabilities(&self, model: &str) -> Result<ModelCapabilities, LlmError> {
        let show = self.show(model).await?;
        let tools = show["capabilities"].as_array().map(|c| c.iter().any(|x| x == "tools"));
        Ok(ModelCapabilities { tools, context_length: show_context_length(&show) })
    }

    async fn version(&self) -> Result<String, LlmError> {
        let v = self.get_json("/api/version", "").await?;
        Ok(v["version"].as_str().unwrap_or("unknown").to_owned())
    }

    async fn pull_model(
        &self,
        name: &str,
        cancel: &CancellationToken,
        on_progress: &mut (dyn FnMut(PullProgress) + Send),
    ) -> Result<(), LlmError> {
        if name.trim().is_empty() {
            return Err(LlmError::InvalidRequest("no model name was given".into()));
        }
        let request = self.client.post(self.url("/api/pull")).json(&json!({ "model": name, "stream": true }));
        let response = send(&self.endpoint, request, self.config.first_byte_timeout, cancel).await?;
        let response = check_status(&self.endpoint, name, response).await?;
        let mut stream = response.bytes_stream();
        let mut buffer: Vec<u8> = Vec::new();
        loop {
            // Large layers can go quiet while the server verifies them: the first-byte timeout
            // (minutes), not the chat idle timeout, bounds a silence.
            let Some(chunk) =
                next_chunk(&self.endpoint, &mut stream, self.config.first_byte_timeout, cancel).await?
            else {
                return Err(LlmError::Stream {
                    endpoint: self.endpoint.clone(),
                    message: format!("the download of `{name}` broke off; pull again to resume it"),
                });
            };
            buffer.extend_from_slice(&chunk);
            while let Some(pos) = buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buffer.drain(..=pos).collect();
                let text = String::from_utf8_lossy(&line);
                let Ok(value) = serde_json::from_str::<Value>(text.trim()) else { continue };
                if let Some(error) = value.get("error") {
                    let message = error.as_str().map(str::to_owned).unwrap_or_else(|| error.to_string());
                    let m = message.to_ascii_lowercase();
                    if m.contains("does not exist") || m.contains("not found") {
                        return Err(LlmError::ModelNotFound { model: name.to_owned() });
                    }
                    return Err(LlmError::Stream { endpoint: self.endpoint.clone(), message });
                }
                let status = value["status"].as_str().unwrap_or_default().to_owned();
                let done = status == "success";
                on_progress(PullProgress {
                    status,
                    digest: value["digest"].as_str().map(str::to_owned),
                    completed: value["completed"].as_u64(),
                    total: value["total"].as_u64(),
                });
                if done {
                    return Ok(());
                }
            }
        }
    }

    async fn embed(&self, model: &str, input: &[String]) -> Result<Vec<Vec<f32>>, LlmError> {
        crate::embed::ollama_embed(&self.client, &self.endpoint, &self.config, model, input).await
    }

    async fn embedding_models(&self) -> Result<Vec<String>, LlmError> {
        let names = self.model_names().await?;
        crate::embed::ollama_embedding_models(&self.client, &self.endpoint, &self.config, names).await
    }

    async fn delete_model(&self, name: &str) -> Result<(), LlmError> {
        let never = CancellationToken::new();
        let request = self.client.delete(self.url("/api/delete")).json(&json!({ "model": name }));
        let response = send(&self.endpoint, request, self.config.connect_timeout * 2, &never).await?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Err(LlmError::ModelNotFound { model: name.to_owned() });
        }
        check_status(&self.endpoint, name, response).await.map(|_| ())
    }
}

/// `model_info`'s `<architecture>.context_length`.
fn show_context_length(show: &Value) -> Option<u32> {
    let length = show["model_info"].as_object().and_then(|info| {
        info.iter().find(|(k, _)| k.ends_with(".context_length")).and_then(|(_, v)| v.as_u64())
    });
    length.map(|n| n.min(u64::from(u32::MAX)) as u32)
}

/// A message as `/api/chat` takes it: calls with their arguments as an object, results as
/// `tool` messages naming their tool (and the call, which newer servers read).
fn message_json(message: &ChatMessage) -> Value {
    let mut out = json!({ "role": message.role, "content": message.content });
    if !message.tool_calls.is_empty() {
        out["tool_calls"] = message
            .tool_calls
            .iter()
            .enumerate()
            .map(|(index, call)| {
                json!({ "id": call.id, "function": {
                    "index": index, "name": call.name, "arguments": arguments_object(&call.arguments) } })
            })
            .collect();
    }
    if message.role == Role::Tool {
        if let Some(name) = &message.tool_name {
            out["tool_name"] = json!(name);
        }
        if let Some(id) = &message.tool_call_id {
            out["tool_call_id"] = json!(id);
        }
    }
    out
}

impl OllamaProvider {
    /// The base URL this provider talks to.
    pub fn base_url(&self) -> &Url {
        &self.base
    }
}
