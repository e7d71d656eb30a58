//! Google's Gemini API: `POST /v1beta/models/{model}:streamGenerateContent?alt=sse`, each
//! server-sent event a whole `GenerateContentResponse`; and `GET /v1beta/models`. Parts marked
//! `"thought": true` are the model's reasoning and are kept apart. Tools go as
//! `functionDeclarations` (their schemas cut to the subset Gemini accepts); calls arrive whole
//! as `functionCall` parts; results go back as `functionResponse` parts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eventsource_stream::Eventsource;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::key::{ApiKey, header_value};
use crate::stream::{Emitter, Failure, cut_short, http_client, next_event, send, with_retries};
use crate::tools::{Prepared, arguments_object, finish, new_call_id, prepare};
use crate::{
    ChatRequest, Completion, Conversation, Delta, LlmConfig, LlmError, ModelCapabilities, ModelInfo, Part,
    Provider, Role, ToolCall,
};

/// What Gemini documents for a call whose thought signature is not known (a history from
/// another model, or from before a restart): it skips the check instead of refusing the turn.
const SKIP_SIGNATURE: &str = "skip_thought_signature_validator";
/// Signatures kept in memory; past this the oldest are forgotten (their calls then go back with
/// [`SKIP_SIGNATURE`]).
const MAX_SIGNATURES: usize = 4096;

#[derive(Debug, Clone)]
pub struct GeminiProvider {
    /// The server's root (`https://generativelanguage.googleapis.com`), no trailing slash.
    endpoint: String,
    api_key: ApiKey,
    client: reqwest::Client,
    config: LlmConfig,
    /// The `thoughtSignature` Gemini gave each call, by call id: thinking models (Gemini 3)
    /// refuse a history whose calls come back without theirs.
    signatures: Arc<Mutex<Signatures>>,
}

#[derive(Debug, Default)]
struct Signatures {
    by_call: HashMap<String, String>,
    order: std::collections::VecDeque<String>,
}

impl Signatures {
    fn remember(&mut self, call_id: &str, signature: &str) {
        if self.by_call.insert(call_id.to_owned(), signature.to_owned()).is_none() {
            self.order.push_back(call_id.to_owned());
        }
        while self.order.len() > MAX_SIGNATURES {
            if let Some(old) = self.order.pop_front() {
                self.by_call.remove(&old);
            }
        }
    }
}

impl GeminiProvider {
    pub const DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com";

    /// `base_url` is the server's root; a trailing `/v1beta` is tolerated.
    pub fn new(base_url: Url, api_key: String, config: LlmConfig) -> Result<Self, LlmError> {
        let root = base_url.as_str().trim_end_matches('/');
        let endpoint = root.strip_suffix("/v1beta").unwrap_or(root).to_owned();
        Ok(Self {
            client: http_client(&config)?,
            endpoint,
            api_key: ApiKey::new(api_key),
            config,
            signatures: Arc::default(),
        })
    }

    fn signatures(&self) -> std::sync::MutexGuard<'_, Signatures> {
        self.signatures.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn request(&self, builder: reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder, LlmError> {
        Ok(builder.header("x-goog-api-key", header_value(&self.api_key)?))
    }

    fn body(&self, req: &ChatRequest, prepared: &Prepared) -> Value {
        let conversation = Conversation::new(&prepared.messages);
        let signatures = self.signatures();
        let contents: Vec<Value> = conversation
            .turns
            .iter()
            .map(|turn| {
                let role = if turn.role == Role::Assistant { "model" } else { "user" };
                let mut first_call = true;
                let parts: Vec<Value> = turn
                    .parts
                    .iter()
                    .map(|part| match part {
                        Part::Text(text) => json!({ "text": text }),
                        Part::Call(call) => {
                            let mut part = json!({ "functionCall": {
                                "name": call.name, "args": arguments_object(&call.arguments) } });
                            // Only the first call of a turn carries a signature.
                            let signature = signatures.by_call.get(&call.id).map(String::as_str);
                            if let Some(signature) = signature.or(first_call.then_some(SKIP_SIGNATURE)) {
                                part["thoughtSignature"] = json!(signature);
                            }
                            first_call = false;
                            part
                        }
                        Part::Result { name, content, .. } => json!({ "functionResponse": {
                            "name": name, "response": { "content": content } } }),
                    })
                    .collect();
                json!({ "role": role, "parts": parts })
            })
            .collect();
        drop(signatures);
        let mut body = json!({ "contents": contents });
        if prepared.native {
            let declarations: Vec<Value> = prepared
                .tools
                .iter()
                .map(|t| {
                    let mut declaration = json!({ "name": t.name, "description": t.description });
                    let parameters = gemini_schema(&t.input_schema);
                    // A tool without arguments has no `parameters`: an OBJECT without
                    // properties is refused.
                    if parameters["properties"].as_object().is_some_and(|p| !p.is_empty()) {
                        declaration["parameters"] = parameters;
                    }
                    declaration
                })
                .collect();
            body["tools"] = json!([{ "functionDeclarations": declarations }]);
        }
        if !conversation.system.is_empty() {
            body["systemInstruction"] = json!({ "parts": [{ "text": conversation.system }] });
        }
        let mut generation = serde_json::Map::new();
        if let Some(t) = req.temperature {
            generation.insert("temperature".into(), json!(t));
        }
        if let Some(schema) = &req.format {
            generation.insert("responseMimeType".into(), json!("application/json"));
            generation.insert("responseJsonSchema".into(), schema.clone());
        }
        if !generation.is_empty() {
            body["generationConfig"] = Value::Object(generation);
        }
        body
    }

    /// Gemini's `{"error": {"code", "message", "status"}}`: a bad key is a 400 there, and a
    /// rate limit says when to come back in its details rather than in `Retry-After`.
    async fn check(&self, model: &str, response: reqwest::Response) -> Result<reqwest::Response, LlmError> {
        if response.status().is_success() {
            return Ok(response);
        }
        let mut failure = Failure::read(response).await;
        let error = serde_json::from_str::<Value>(&failure.body).ok().map(|v| v["error"].clone());
        let error = error.unwrap_or(Value::Null);
        if key_refused(&error) {
            return Err(LlmError::Unauthorized { endpoint: self.endpoint.clone() });
        }
        if failure.status == 429 && failure.retry_after.is_none() {
            failure.retry_after = retry_delay(&error);
        }
        Err(failure.into_error(&self.endpoint, model))
    }

    /// `models/gemini-2.5-flash` and `gemini-2.5-flash` both name the same model.
    fn model_path(model: &str) -> Result<String, LlmError> {
        let name = model.trim().trim_start_matches("models/");
        let safe = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !safe {
            return Err(LlmError::InvalidRequest(format!("`{model}` is not a Gemini model name")));
        }
        Ok(format!("models/{name}"))
    }

    async fn attempt(
        &self,
        req: &ChatRequest,
        url: &str,
        body: &Value,
        cancel: &CancellationToken,
        emitter: &mut Emitter<'_>,
    ) -> Result<(), LlmError> {
        let request = self.request(self.client.post(url).json(body))?;
        let response = send(&self.endpoint, request, self.config.first_byte_timeout, cancel).await?;
        let response = self.check(&req.model, response).await?;
        let mut events = response.bytes_stream().eventsource();
        let mut wait = self.config.first_byte_timeout;
        let mut finished = false;
        loop {
            let Some(event) = next_event(&self.endpoint, &mut events, wait, cancel).await? else {
                // Gemini ends the stream after the chunk with a finishReason; nothing else
                // marks the end.
                return if finished { Ok(()) } else { Err(cut_short(&self.endpoint)) };
            };
            wait = self.config.idle_timeout;
            let data = event.data.trim();
            if data.is_empty() {
                continue;
            }
            let value: Value = match serde_json::from_str(data) {
                Ok(value) => value,
                Err(e) => {
                    tracing::debug!(error = %e, "skipping an event that is not JSON");
                    continue;
                }
            };
            if let Some(error) = value.get("error") {
                let message =
                    error["message"].as_str().map(str::to_owned).unwrap_or_else(|| error.to_string());
                return Err(LlmError::Stream { endpoint: self.endpoint.clone(), message });
            }
            if let Some(reason) = value["promptFeedback"]["blockReason"].as_str() {
                return Err(LlmError::InvalidRequest(format!("Gemini refused the prompt ({reason})")));
            }
            let candidate = &value["candidates"][0];
            for part in candidate["content"]["parts"].as_array().into_iter().flatten() {
                if let Some(call) = part.get("functionCall") {
                    let id = call["id"]
                        .as_str()
                        .filter(|id| !id.is_empty())
                        .map_or_else(new_call_id, str::to_owned);
                    // Gemini 3 puts the signature beside the call; 2.x inside it.
                    let signature =
                        part["thoughtSignature"].as_str().or_else(|| call["thoughtSignature"].as_str());
                    if let Some(signature) = signature {
                        self.signatures().remember(&id, signature);
                    }
                    let arguments = match &call["args"] {
                        Value::Object(_) => call["args"].clone(),
                        _ => json!({}),
                    };
                    let name = call["name"].as_str().unwrap_or_default().to_owned();
                    emitter.completion.tool_calls.push(ToolCall { id, name, arguments });
                    continue;
                }
                let Some(text) = part["text"].as_str().filter(|t| !t.is_empty()) else { continue };
                if part["thought"] == true {
                    emitter.emit(Delta::Reasoning(text.to_owned()));
                } else {
                    emitter.emit(Delta::Content(text.to_owned()));
                }
            }
            if let Some(reason) = candidate["finishReason"].as_str() {
                emitter.completion.done_reason = Some(finish_reason(reason));
                finished = true;
            }
            let usage = &value["usageMetadata"];
            if let Some(n) = usage["promptTokenCount"].as_u64() {
                emitter.completion.usage.prompt_tokens = n as u32;
            }
            // Thinking tokens are counted apart from the reply's; both were generated.
            let generated = usage["candidatesTokenCount"].as_u64().unwrap_or(0)
                + usage["thoughtsTokenCount"].as_u64().unwrap_or(0);
            if generated > 0 {
                emitter.completion.usage.completion_tokens = generated as u32;
            }
        }
    }

    /// Streams one request shaped by `prepared`, with retries.
    async fn run(
        &self,
        req: &ChatRequest,
        url: &str,
        prepared: &Prepared,
        cancel: &CancellationToken,
        on_delta: &mut (dyn FnMut(Delta) + Send),
    ) -> Result<Completion, LlmError> {
        let body = self.body(req, prepared);
        let body = &body;
        with_retries(&self.config, cancel, on_delta, |mut emitter| async move {
            let result = self.attempt(req, url, body, cancel, &mut emitter).await;
            (emitter, result)
        })
        .await
    }

    async fn get(&self, path: &str, model: &str) -> Result<Value, LlmError> {
        let never = CancellationToken::new();
        let request = self.request(self.client.get(format!("{}/v1beta/{path}", self.endpoint)))?;
        let response = send(&self.endpoint, request, self.config.connect_timeout * 2, &never).await?;
        let response = self.check(model, response).await?;
        response
            .json()
            .await
            .map_err(|e| LlmError::Stream { endpoint: self.endpoint.clone(), message: e.to_string() })
    }
}

/// A missing or wrong key: Gemini answers 400 INVALID_ARGUMENT "API key not valid" (with
/// reason `API_KEY_INVALID`), not 401.
fn key_refused(error: &Value) -> bool {
    let message = error["message"].as_str().unwrap_or_default().to_ascii_lowercase();
    let reason_invalid = error["details"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|d| d["reason"].as_str().is_some_and(|r| r.starts_with("API_KEY_")));
    reason_invalid || message.contains("api key not valid") || message.contains("api key expired")
}

/// The `RetryInfo` detail of a 429: `{"@type": "…RetryInfo", "retryDelay": "37s"}`.
fn retry_delay(error: &Value) -> Option<Duration> {
    error["details"].as_array()?.iter().find_map(|d| {
        let delay = d["retryDelay"].as_str()?.strip_suffix('s')?;
        let secs: f64 = delay.parse().ok()?;
        (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.ceil()))
    })
}

/// Gemini's finish reasons in the words the other providers use.
fn finish_reason(reason: &str) -> String {
    match reason {
        "STOP" => "stop".into(),
        "MAX_TOKENS" => "length".into(),
        other => other.to_ascii_lowercase(),
    }
}

fn model_info(m: &Value) -> Option<ModelInfo> {
    let name = m["name"].as_str()?;
    Some(ModelInfo {
        name: name.trim_start_matches("models/").to_owned(),
        provider: "gemini".into(),
        size: None,
        family: None,
        quantization: None,
        context_length: m["inputTokenLimit"].as_u64().map(|n| n.min(u64::from(u32::MAX)) as u32),
        display_name: m["displayName"].as_str().map(str::to_owned),
    })
}

#[async_trait::async_trait]
impl Provider for GeminiProvider {
    fn name(&self) -> &str {
        "gemini"
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
        let url = format!(
            "{}/v1beta/{}:streamGenerateContent?alt=sse",
            self.endpoint,
            Self::model_path(&req.model)?
        );
        let started = std::time::Instant::now();
        let prepared = prepare(req, req.tool_mode);
        let mut completion = self.run(req, &url, &prepared, cancel, on_delta).await?;
        finish(&mut completion, req, &prepared.names);
        completion.usage.total_ms = started.elapsed().as_millis() as u64;
        Ok(completion)
    }

    async fn list_models(&self) -> Result<Vec<ModelInfo>, LlmError> {
        let list = self.get("models?pageSize=1000", "").await?;
        Ok(list["models"]
            .as_array()
            .into_iter()
            .flatten()
            // Embedding and other models that cannot chat are left out.
            .filter(|m| match m["supportedGenerationMethods"].as_array() {
                Some(methods) => methods.iter().any(|x| x == "generateContent"),
                None => true,
            })
            .filter_map(model_info)
            .collect())
    }

    async fn context_length(&self, model: &str) -> Result<Option<u32>, LlmError> {
        let info = self.get(&Self::model_path(model)?, model).await?;
        Ok(model_info(&info).and_then(|m| m.context_length))
    }

    /// Every Gemini chat model takes tools; the context window is the model's input limit.
    async fn capabilities(&self, model: &str) -> Result<ModelCapabilities, LlmError> {
        Ok(ModelCapabilities { tools: Some(true), context_length: self.context_length(model).await? })
    }

    async fn version(&self) -> Result<String, LlmError> {
        self.get("models?pageSize=1", "").await?;
        Ok("gemini".into())
    }
}

/// A JSON schema cut to the OpenAPI subset Gemini's `parameters` accepts: `type` (a list with
/// `null` becomes `nullable`), `format` where Gemini knows it, `description`, `nullable`,
/// string `enum`s (and a string `const`), `items`, `properties`, `required` (only properties
/// that exist), `anyOf` (and `oneOf` as `anyOf`), and the item and number bounds. Gemini
/// refuses the rest (`additionalProperties`, `$schema`, `$ref`, `default`, `examples`, …).
pub(crate) fn gemini_schema(schema: &Value) -> Value {
    let Value::Object(map) = schema else { return json!({ "type": "string" }) };
    let mut out = serde_json::Map::new();
    let mut nullable = map.get("nullable").and_then(Value::as_bool).unwrap_or(false);
    let ty = match map.get("type") {
        Some(Value::String(t)) => Some(t.clone()),
        Some(Value::Array(types)) => {
            nullable |= types.iter().any(|t| t == "null");
            types.iter().filter_map(Value::as_str).find(|t| *t != "null").map(str::to_owned)
        }
        _ if map.contains_key("properties") => Some("object".into()),
        _ if map.contains_key("items") => Some("array".into()),
        _ => {
            // An `enum` or `const` without a type: the type of its values (Gemini's `enum` is
            // for strings only; other values keep just their type).
            let values: Vec<&Value> = match (map.get("enum"), map.get("const")) {
                (Some(Value::Array(values)), _) => values.iter().collect(),
                (_, Some(value)) => vec![value],
                _ => Vec::new(),
            };
            let all = |f: fn(&Value) -> bool| !values.is_empty() && values.iter().all(|v| f(v));
            if all(Value::is_string) {
                Some("string".into())
            } else if all(|v| v.is_i64() || v.is_u64()) {
                Some("integer".into())
            } else if all(Value::is_number) {
                Some("number".into())
            } else if all(Value::is_boolean) {
                Some("boolean".into())
            } else {
                None
            }
        }
    };
    if let Some(ty) = &ty {
        out.insert("type".into(), json!(ty));
    }
    if nullable {
        out.insert("nullable".into(), json!(true));
    }
    if let Some(description) = map.get("description").filter(|d| d.is_string()) {
        out.insert("description".into(), description.clone());
    }
    let known_format = match (ty.as_deref(), map.get("format").and_then(Value::as_str)) {
        (Some("string"), Some(f @ ("enum" | "date-time"))) => Some(f),
        (Some("number"), Some(f @ ("float" | "double"))) => Some(f),
        (Some("integer"), Some(f @ ("int32" | "int64"))) => Some(f),
        _ => None,
    };
    if let Some(format) = known_format {
        out.insert("format".into(), json!(format));
    }
    let strings = |values: &Vec<Value>| values.iter().all(Value::is_string);
    match (map.get("enum"), map.get("const")) {
        (Some(Value::Array(values)), _) if !values.is_empty() && strings(values) => {
            out.insert("enum".into(), Value::Array(values.clone()));
        }
        (_, Some(Value::String(value))) => {
            out.insert("enum".into(), json!([value]));
        }
        _ => {}
    }
    if let Some(items) = map.get("items").filter(|i| i.is_object()) {
        out.insert("items".into(), gemini_schema(items));
    }
    if let Some(Value::Object(properties)) = map.get("properties")
        && !properties.is_empty()
    {
        let properties: serde_json::Map<String, Value> =
            properties.iter().map(|(name, p)| (name.clone(), gemini_schema(p))).collect();
        if let Some(Value::Array(required)) = map.get("required") {
            let required: Vec<Value> = required
                .iter()
                .filter(|r| r.as_str().is_some_and(|r| properties.contains_key(r)))
                .cloned()
                .collect();
            if !required.is_empty() {
                out.insert("required".into(), Value::Array(required));
            }
        }
        out.insert("properties".into(), Value::Object(properties));
    }
    if let Some(Value::Array(options)) = map.get("anyOf").or_else(|| map.get("oneOf")) {
        // A `null` option is what `nullable` says.
        let (nulls, options): (Vec<&Value>, Vec<&Value>) = options.iter().partition(|o| o["type"] == "null");
        if !nulls.is_empty() {
            out.insert("nullable".into(), json!(true));
        }
        match options.as_slice() {
            [only] if ty.is_none() => {
                for (key, value) in gemini_schema(only).as_object().into_iter().flatten() {
                    out.entry(key.clone()).or_insert_with(|| value.clone());
                }
            }
            [] => {}
            many => {
                out.insert("anyOf".into(), many.iter().map(|o| gemini_schema(o)).collect());
            }
        }
    }
    for bound in ["minItems", "maxItems", "minimum", "maximum"] {
        if let Some(value) = map.get(bound).filter(|v| v.is_number()) {
            out.insert(bound.into(), value.clone());
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_are_read_for_keys_and_retry_delays() {
        let bad_key = json!({ "code": 400, "message": "API key not valid. Please pass a valid API key.",
                              "status": "INVALID_ARGUMENT" });
        assert!(key_refused(&bad_key));
        let bad_request =
            json!({ "code": 400, "message": "Invalid JSON payload", "status": "INVALID_ARGUMENT" });
        assert!(!key_refused(&bad_request));
        let quota = json!({ "code": 429, "status": "RESOURCE_EXHAUSTED", "details": [
            { "@type": "type.googleapis.com/google.rpc.QuotaFailure" },
            { "@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "36.5s" } ] });
        assert_eq!(retry_delay(&quota), Some(Duration::from_secs(37)));
        assert_eq!(
            GeminiProvider::model_path("models/gemini-2.5-flash").expect("ok"),
            "models/gemini-2.5-flash"
        );
        assert!(GeminiProvider::model_path("../x?y").is_err());
    }

    #[test]
    fn schemas_are_cut_to_what_gemini_accepts() {
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "path": { "type": "string", "format": "uri", "default": "." },
                "mode": { "const": "fast" },
                "limit": { "type": ["integer", "null"], "exclusiveMinimum": 0, "maximum": 10 },
                "tags": { "type": "array", "items": { "type": "string", "examples": ["a"] } },
                "target": { "oneOf": [{ "type": "string" }, { "type": "null" }] },
                "either": { "anyOf": [{ "type": "string" }, { "type": "integer" }] },
                "empty": { "type": "object", "properties": {} },
                "level": { "enum": [1, 2] }
            },
            "required": ["path", "missing"]
        });
        assert_eq!(
            gemini_schema(&schema),
            json!({
                "type": "object",
                "properties": {
                    "path": { "type": "string" },
                    "mode": { "type": "string", "enum": ["fast"] },
                    "limit": { "type": "integer", "nullable": true, "maximum": 10 },
                    "tags": { "type": "array", "items": { "type": "string" } },
                    "target": { "type": "string", "nullable": true },
                    "either": { "anyOf": [{ "type": "string" }, { "type": "integer" }] },
                    "empty": { "type": "object" },
                    "level": { "type": "integer" }
                },
                "required": ["path"]
            })
        );
    }
}
