//! OpenAI-compatible servers: `/v1/chat/completions` streamed as server-sent events, and
//! `/v1/models`. This covers vLLM, LM Studio, llama.cpp's server and DeepSeek (whose
//! `reasoning_content` is kept apart like Ollama's `thinking`).

use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::key::ApiKey;
use crate::stream::{Emitter, check_status, http_client, send, with_retries};
use crate::think::ThinkSplitter;
use crate::{ChatRequest, Completion, Delta, LlmConfig, LlmError, ModelInfo, Provider};

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

    fn body(req: &ChatRequest) -> Value {
        let mut body = json!({
            "model": req.model,
            "messages": req.messages,
            "stream": true,
            "stream_options": { "include_usage": true },
        });
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
        Ok(())
    }
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
        let body = Self::body(req);
        let body = &body;
        let mut completion = with_retries(&self.config, cancel, on_delta, |mut emitter| async move {
            let result = self.attempt(req, body, cancel, &mut emitter).await;
            (emitter, result)
        })
        .await?;
        completion.usage.total_ms = started.elapsed().as_millis() as u64;
        Ok(completion)
    }

    async fn list_models(&self) -> Result<Vec<ModelInfo>, LlmError> {
        let never = CancellationToken::new();
        let request = self.request(self.client.get(format!("{}/models", self.endpoint)));
        let response = send(&self.endpoint, request, self.config.connect_timeout * 2, &never).await?;
        let response = check_status(&self.endpoint, "", response).await?;
        let list: Value = response
            .json()
            .await
            .map_err(|e| LlmError::Stream { endpoint: self.endpoint.clone(), message: e.to_string() })?;
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
