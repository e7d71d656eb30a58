//! A scripted model server for tests and benchmarks: it speaks Ollama's native API, the
//! OpenAI-compatible API, Anthropic's Messages API and Google's Gemini API on `127.0.0.1:0`
//! and plays [`Scenario`]s, including the faults real model servers have (errors mid-stream,
//! 503s, dropped connections, hangs, refused keys). Replies can call tools in each wire's own
//! shape ([`Reply::with_calls`]), [`dialect_text`] writes calls the way models print them as
//! text, and routes can follow an agent loop ([`TestLlm::route_sequence`]). No product code
//! path uses it.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::Stream;
use serde_json::{Value, json};
use tokio::sync::mpsc;

mod corpus;

pub use corpus::{CorpusTool, Sample, corpus_tools, dialect_corpus};

pub mod embed;

/// A reply streamed token by token.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    pub tokens: Vec<String>,
    /// Reasoning streamed before the reply (Ollama `thinking`, OpenAI `reasoning_content`,
    /// Anthropic `thinking_delta`, Gemini parts with `"thought": true`).
    pub thinking: Vec<String>,
    pub token_delay: Duration,
    /// Write each line in two or more TCP writes, split mid-line (and mid-character when the
    /// line has a multi-byte character).
    pub split_lines: bool,
    pub prompt_tokens: u32,
    /// Tool calls made after the tokens, in the wire's native shape: Ollama's whole
    /// `tool_calls`, OpenAI `tool_calls` deltas by index (arguments split over several chunks,
    /// two calls interleaved), Anthropic `tool_use` blocks with `input_json_delta` pieces,
    /// Gemini `functionCall` parts.
    pub tool_calls: Vec<TestCall>,
    /// Stop forever half way through the calls (after the first half of their chunks).
    pub stall_in_calls: bool,
}

/// A tool call a scripted reply makes. Without an id, the wires that carry one (OpenAI,
/// Anthropic) get `call_testkit_<n>` / `toolu_testkit_<n>`; Ollama and Gemini send none.
#[derive(Debug, Clone, PartialEq)]
pub struct TestCall {
    pub id: Option<String>,
    pub name: String,
    pub arguments: Value,
}

impl TestCall {
    pub fn new(name: &str, arguments: Value) -> TestCall {
        TestCall { id: None, name: name.to_owned(), arguments }
    }

    pub fn id(mut self, id: &str) -> TestCall {
        self.id = Some(id.to_owned());
        self
    }
}

/// Splits text into word-ish tokens that keep their leading space: "a b" -> ["a", " b"].
fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        if c.is_whitespace() && !current.is_empty() && !current.chars().all(char::is_whitespace) {
            tokens.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

impl Reply {
    pub fn text(s: &str) -> Reply {
        Reply { tokens: tokenize(s), prompt_tokens: 12, ..Reply::default() }
    }

    pub fn repeat(token: &str, n: usize) -> Reply {
        Reply { tokens: vec![token.to_owned(); n], prompt_tokens: 12, ..Reply::default() }
    }

    pub fn delay(mut self, delay: Duration) -> Reply {
        self.token_delay = delay;
        self
    }

    pub fn split_lines(mut self) -> Reply {
        self.split_lines = true;
        self
    }

    pub fn thinking(mut self, text: &str) -> Reply {
        self.thinking = tokenize(text);
        self
    }

    pub fn prompt_tokens(mut self, n: u32) -> Reply {
        self.prompt_tokens = n;
        self
    }

    /// A reply that only calls tools.
    pub fn tool_calls(calls: Vec<TestCall>) -> Reply {
        Reply { tool_calls: calls, prompt_tokens: 12, ..Reply::default() }
    }

    /// These tool calls after the reply's text.
    pub fn with_calls(mut self, calls: Vec<TestCall>) -> Reply {
        self.tool_calls = calls;
        self
    }

    /// Stops half way through the calls and never finishes (for cancelling mid-call).
    pub fn stall_in_calls(mut self) -> Reply {
        self.stall_in_calls = true;
        self
    }
}

/// How models write a tool call as text, for [`dialect_text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Hermes, Qwen 2.5: `<tool_call>{"name": …, "arguments": …}</tool_call>`.
    Hermes,
    /// Qwen3-Coder: `<tool_call><function=NAME><parameter=P>…</parameter></function></tool_call>`.
    Qwen3Coder,
    /// Llama 3.1: `<|python_tag|>{"name": …, "parameters": …}<|eom_id|>`.
    Llama3PythonTag,
    /// Llama 3.x without the tag: a bare `{"name": …, "parameters": …}`.
    Llama3Json,
    /// Mistral v0.3: `[TOOL_CALLS][{"name": …, "arguments": …}]`.
    MistralArray,
    /// Mistral (2025 tokenizers): `[TOOL_CALLS]NAME[ARGS]{…}`.
    MistralArgs,
    /// DeepSeek V3 / R1: `<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME` and a
    /// ```json fence.
    DeepSeek,
    /// DeepSeek V3.1: `<｜tool▁call▁begin｜>NAME<｜tool▁sep｜>{…}`.
    DeepSeekV31,
    /// A ```json fence holding `{"name": …, "arguments": …}`.
    JsonFence,
}

impl Dialect {
    pub const ALL: [Dialect; 9] = [
        Dialect::Hermes,
        Dialect::Qwen3Coder,
        Dialect::Llama3PythonTag,
        Dialect::Llama3Json,
        Dialect::MistralArray,
        Dialect::MistralArgs,
        Dialect::DeepSeek,
        Dialect::DeepSeekV31,
        Dialect::JsonFence,
    ];
}

/// A call of `name` with `arguments` (an object) written the way `dialect`'s models print it.
pub fn dialect_text(dialect: Dialect, name: &str, arguments: &Value) -> String {
    let args = arguments.to_string();
    match dialect {
        Dialect::Hermes => {
            format!("<tool_call>\n{}\n</tool_call>", json!({ "name": name, "arguments": arguments }))
        }
        Dialect::Qwen3Coder => {
            let mut out = format!("<tool_call>\n<function={name}>\n");
            for (key, value) in arguments.as_object().into_iter().flatten() {
                let text = match value {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                out.push_str(&format!("<parameter={key}>\n{text}\n</parameter>\n"));
            }
            out.push_str("</function>\n</tool_call>");
            out
        }
        Dialect::Llama3PythonTag => {
            format!("<|python_tag|>{}<|eom_id|>", json!({ "name": name, "parameters": arguments }))
        }
        Dialect::Llama3Json => json!({ "name": name, "parameters": arguments }).to_string(),
        Dialect::MistralArray => format!("[TOOL_CALLS][{}]", json!({ "name": name, "arguments": arguments })),
        Dialect::MistralArgs => format!("[TOOL_CALLS]{name}[ARGS]{args}"),
        Dialect::DeepSeek => format!(
            "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>{name}\n```json\n{args}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>"
        ),
        Dialect::DeepSeekV31 => format!(
            "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>{name}<｜tool▁sep｜>{args}<｜tool▁call▁end｜><｜tool▁calls▁end｜>"
        ),
        Dialect::JsonFence => {
            format!("```json\n{}\n```", json!({ "name": name, "arguments": arguments }))
        }
    }
}

/// Where a route looks for its needle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// The last user message's text (what [`TestLlm::route`] matches).
    LastUser,
    /// The last message of the conversation whatever its role, a tool result's content
    /// included (Anthropic's `tool_result` blocks, Gemini's `functionResponse` parts).
    LastMessage,
    /// Any message of the conversation, the system prompt included.
    Anywhere,
}

/// A route: the scenarios played for requests whose text contains `needle`, one after another,
/// the last repeating.
#[derive(Debug, Clone)]
struct Route {
    needle: String,
    on: Match,
    scenarios: Vec<Scenario>,
    next: usize,
}

impl Route {
    fn take(&mut self) -> Option<Scenario> {
        let scenario = self.scenarios.get(self.next.min(self.scenarios.len().checked_sub(1)?)).cloned();
        self.next = (self.next + 1).min(self.scenarios.len().saturating_sub(1));
        scenario
    }
}

/// What the server does with one chat request.
#[derive(Debug, Clone)]
pub enum Scenario {
    Reply(Reply),
    /// HTTP 200, streams `before` as tokens, then an error line (Ollama `{"error": …}`, an
    /// OpenAI SSE `{"error": {"message": …}}` event, Anthropic's `event: error` — an
    /// `overloaded_error` when the text says "overloaded" — or Gemini's `{"error": {…}}`).
    ErrorLine {
        before: String,
        error: String,
    },
    /// Answers with this status and body (and `Retry-After` seconds when given), no stream.
    Status {
        status: u16,
        body: String,
        retry_after: Option<u64>,
    },
    /// Streams `before` as tokens, then drops the connection without finishing the body.
    DropAfter {
        before: String,
    },
    /// Accepts the request and never answers.
    Hang,
    /// Answers 200, streams `before`, then stalls forever without closing.
    StallAfter {
        before: String,
    },
    /// Replies "echo: <content of the last user message>".
    Echo,
}

#[derive(Debug, Clone)]
pub struct TestModel {
    pub name: String,
    pub size: u64,
    pub context_length: u32,
    pub family: String,
    pub quantization: String,
    /// Whether the model takes tools natively: `/api/show` lists `tools` among its
    /// `capabilities`, and without it a chat with `tools` is refused as Ollama and vLLM do.
    pub tools: bool,
}

impl TestModel {
    pub fn new(name: &str, context_length: u32) -> TestModel {
        TestModel {
            name: name.to_owned(),
            size: 1_234_567_890,
            context_length,
            family: "llama".to_owned(),
            quantization: "Q4_K_M".to_owned(),
            tools: true,
        }
    }

    pub fn tools(mut self, tools: bool) -> TestModel {
        self.tools = tools;
        self
    }
}

#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub path: String,
    /// The query string without `?` (empty when there is none).
    pub query: String,
    /// Header names in lower case.
    pub headers: BTreeMap<String, String>,
    pub body: Value,
}

impl RecordedRequest {
    /// A header's value; `name` in any case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }
}

struct Script {
    /// Scenarios chosen by what a request's messages contain; checked before the queue.
    routes: Vec<Route>,
    queue: VecDeque<Scenario>,
    default: Scenario,
    models: Vec<TestModel>,
    /// What `/api/pull` can download; a pulled model joins `models`.
    registry: Vec<TestModel>,
    /// The pause between two pull progress lines.
    pull_delay: Duration,
    /// Bytes of an interrupted pull, where the next pull of that model resumes.
    partial_pulls: std::collections::HashMap<String, u64>,
    requests: Vec<RecordedRequest>,
    chat_requests: usize,
    /// When set, the OpenAI, Anthropic and Gemini routes refuse any other key as those services do.
    required_key: Option<String>,
}

#[derive(Clone)]
struct Shared {
    script: Arc<Mutex<Script>>,
    /// Cancelled at shutdown: ends open streams and hanging requests.
    stop: stop::Stop,
    streams: Arc<Streams>,
}

/// Replies being streamed now, and the most there ever were at once: what a test of a
/// client's concurrency limit looks at.
#[derive(Default)]
struct Streams {
    now: AtomicUsize,
    most: AtomicUsize,
}

/// Counts one streaming reply for as long as it lives.
struct Streaming(Arc<Streams>);

impl Streaming {
    fn start(streams: &Arc<Streams>) -> Streaming {
        let now = streams.now.fetch_add(1, Ordering::SeqCst) + 1;
        streams.most.fetch_max(now, Ordering::SeqCst);
        Streaming(streams.clone())
    }
}

impl Drop for Streaming {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Shared {
    fn script(&self) -> MutexGuard<'_, Script> {
        self.script.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running scripted server.
pub struct TestLlm {
    addr: SocketAddr,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for TestLlm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestLlm").field("addr", &self.addr).finish()
    }
}

impl TestLlm {
    pub async fn start() -> std::io::Result<TestLlm> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    pub async fn start_on(addr: SocketAddr) -> std::io::Result<TestLlm> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Shared {
            script: Arc::new(Mutex::new(Script {
                routes: Vec::new(),
                queue: VecDeque::new(),
                default: Scenario::Echo,
                models: vec![TestModel::new("test-model", 8192)],
                registry: Vec::new(),
                pull_delay: Duration::from_millis(5),
                partial_pulls: std::collections::HashMap::new(),
                requests: Vec::new(),
                chat_requests: 0,
                required_key: None,
            })),
            stop: stop::Stop::default(),
            streams: Arc::default(),
        };
        let app = Router::new()
            .route("/api/chat", post(ollama_chat))
            .route("/api/tags", get(ollama_tags))
            .route("/api/show", post(ollama_show))
            .route("/api/pull", post(ollama_pull))
            .route("/api/delete", axum::routing::delete(ollama_delete))
            .route("/api/version", get(|| async { axum::Json(json!({ "version": "0.12.0-testkit" })) }))
            .route("/api/embed", post(embed::ollama_embed))
            .route("/v1/embeddings", post(embed::openai_embeddings))
            .route("/v1/chat/completions", post(openai_chat))
            .route("/v1/models", get(v1_models))
            .route("/v1/messages", post(anthropic_messages))
            .route("/v1beta/models", get(gemini_models))
            .route("/v1beta/models/{model_action}", post(gemini_generate).get(gemini_model))
            .with_state(shared.clone());
        let stop = shared.stop.clone();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move { stop.wait().await });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "testkit server stopped");
            }
        });
        Ok(TestLlm { addr, shared, task })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queues a scenario for the next chat request (first in, first out).
    pub fn push(&self, scenario: Scenario) {
        self.shared.script().queue.push_back(scenario);
    }

    /// Answers every chat whose last user message contains `needle` with `scenario` (the first
    /// matching route wins; routes are checked before the queue). For agents that call in
    /// parallel, where queue order would be a race.
    pub fn route(&self, needle: &str, scenario: Scenario) {
        self.route_on(Match::LastUser, needle, scenario);
    }

    /// Like [`TestLlm::route`], looking for `needle` where `on` says.
    pub fn route_on(&self, on: Match, needle: &str, scenario: Scenario) {
        self.route_sequence(on, needle, vec![scenario]);
    }

    /// Plays `scenarios` for the requests that match, one each, the last repeating: an agent
    /// loop's steps (a call, then after its result another call, then the answer).
    pub fn route_sequence(&self, on: Match, needle: &str, scenarios: Vec<Scenario>) {
        self.shared.script().routes.push(Route { needle: needle.to_owned(), on, scenarios, next: 0 });
    }

    /// Replaces the scenario of the route for `needle` (adding the route if there is none).
    pub fn route_replace(&self, needle: &str, scenario: Scenario) {
        let mut script = self.shared.script();
        match script.routes.iter_mut().find(|r| r.needle == needle) {
            Some(route) => {
                route.scenarios = vec![scenario];
                route.next = 0;
            }
            None => script.routes.push(Route {
                needle: needle.to_owned(),
                on: Match::LastUser,
                scenarios: vec![scenario],
                next: 0,
            }),
        }
    }

    /// The scenario used when the queue is empty (initially [`Scenario::Echo`]).
    pub fn set_default(&self, scenario: Scenario) {
        self.shared.script().default = scenario;
    }

    pub fn set_models(&self, models: Vec<TestModel>) {
        self.shared.script().models = models;
    }

    /// Models `/api/pull` can download (in 10 progress steps, `delay` apart).
    pub fn set_registry(&self, models: Vec<TestModel>, delay: Duration) {
        let mut script = self.shared.script();
        script.registry = models;
        script.pull_delay = delay;
    }

    /// The names of the models `/api/tags` lists now.
    pub fn model_names(&self) -> Vec<String> {
        self.shared.script().models.iter().map(|m| m.name.clone()).collect()
    }

    /// With `Some(key)`, the OpenAI, Anthropic and Gemini routes answer any request without
    /// that key (`Authorization: Bearer`, `x-api-key`, `x-goog-api-key` or `?key=`) the way
    /// the real service does; `None` accepts anything. Ollama has no keys.
    pub fn require_key(&self, key: Option<&str>) {
        self.shared.script().required_key = key.map(str::to_owned);
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.script().requests.clone()
    }

    /// The bodies of the chat requests received so far (any wire), oldest first.
    pub fn chat_bodies(&self) -> Vec<Value> {
        self.shared
            .script()
            .requests
            .iter()
            .filter(|r| {
                matches!(r.path.as_str(), "/api/chat" | "/v1/chat/completions" | "/v1/messages")
                    || r.path.ends_with(":streamGenerateContent")
            })
            .map(|r| r.body.clone())
            .collect()
    }

    /// Chat requests received so far (on any API).
    pub fn chat_requests(&self) -> usize {
        self.shared.script().chat_requests
    }

    /// Replies streaming right now.
    pub fn streams_now(&self) -> usize {
        self.shared.streams.now.load(Ordering::SeqCst)
    }

    /// The most replies that were streaming at the same moment since the server started.
    pub fn streams_most(&self) -> usize {
        self.shared.streams.most.load(Ordering::SeqCst)
    }

    /// Stops listening and ends open streams and hanging requests; a reply being streamed
    /// breaks off mid-body, as when a model server dies.
    pub async fn shutdown(self) {
        self.shared.stop.trigger();
        self.task.abort();
        // Give the aborted server a moment to close its sockets before the caller goes on.
        tokio::task::yield_now().await;
    }
}

impl Drop for TestLlm {
    fn drop(&mut self) {
        self.shared.stop.trigger();
        self.task.abort();
    }
}

async fn read_json(shared: &Shared, request: Request) -> Value {
    read_request(shared, request).await.body
}

/// Reads and records a request.
async fn read_request(shared: &Shared, request: Request) -> RecordedRequest {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let headers = request
        .headers()
        .iter()
        .map(|(name, value)| {
            (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned())
        })
        .collect();
    let bytes = axum::body::to_bytes(request.into_body(), 64 * 1024 * 1024).await.unwrap_or_default();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let recorded = RecordedRequest { path, query, headers, body };
    shared.script().requests.push(recorded.clone());
    recorded
}

/// Which service's rules and error shapes a route follows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Api {
    OpenAi,
    Anthropic,
    Gemini,
}

/// The answer the real service gives a request without the required key, if it lacks it.
fn key_refusal(shared: &Shared, api: Api, request: &RecordedRequest) -> Option<Response> {
    let required = shared.script().required_key.clone()?;
    let query_key = request.query.split('&').find_map(|pair| pair.strip_prefix("key="));
    let given = match api {
        Api::OpenAi => request.header("authorization").and_then(|v| v.strip_prefix("Bearer ")),
        Api::Anthropic => request.header("x-api-key"),
        Api::Gemini => request.header("x-goog-api-key").or(query_key),
    };
    if given == Some(required.as_str()) {
        return None;
    }
    let (status, body) = match api {
        Api::OpenAi => (
            StatusCode::UNAUTHORIZED,
            json!({ "error": { "message": "Incorrect API key provided", "type": "invalid_request_error",
                               "param": null, "code": "invalid_api_key" } }),
        ),
        Api::Anthropic => (
            StatusCode::UNAUTHORIZED,
            json!({ "type": "error", "error": { "type": "authentication_error", "message": "invalid x-api-key" } }),
        ),
        Api::Gemini => (
            StatusCode::BAD_REQUEST,
            json!({ "error": { "code": 400, "message": "API key not valid. Please pass a valid API key.",
                               "status": "INVALID_ARGUMENT" } }),
        ),
    };
    Some((status, axum::Json(body)).into_response())
}

fn next_scenario(shared: &Shared, body: &Value) -> Scenario {
    let mut script = shared.script();
    script.chat_requests += 1;
    let last_user = last_user_message(body);
    let mut last = None;
    let mut anywhere = None;
    for route in script.routes.iter_mut() {
        let haystack = match route.on {
            Match::LastUser => &last_user,
            Match::LastMessage => last.get_or_insert_with(|| last_message(body)),
            Match::Anywhere => anywhere.get_or_insert_with(|| all_messages(body)),
        };
        if haystack.contains(route.needle.as_str())
            && let Some(scenario) = route.take()
        {
            return scenario;
        }
    }
    match script.queue.pop_front() {
        Some(s) => s,
        None => script.default.clone(),
    }
}

fn model_known(shared: &Shared, name: &str) -> bool {
    let script = shared.script();
    script.models.iter().any(|m| m.name == name || format!("{}:latest", m.name) == name)
}

fn model_takes_tools(shared: &Shared, name: &str) -> bool {
    let script = shared.script();
    script.models.iter().any(|m| (m.name == name || format!("{}:latest", m.name) == name) && m.tools)
}

/// The text of the last user message: `messages[].content` (a string, or Anthropic's content
/// blocks) or Gemini's `contents[].parts[].text`.
fn last_user_message(body: &Value) -> String {
    let text_of = |blocks: &Value, field: &str| -> String {
        blocks
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join(field)
    };
    if let Some(contents) = body["contents"].as_array() {
        return contents
            .iter()
            .rev()
            .find(|c| c["role"] == "user" || c.get("role").is_none())
            .map(|c| text_of(&c["parts"], ""))
            .unwrap_or_default();
    }
    body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .map(|m| match m["content"].as_str() {
            Some(text) => text.to_owned(),
            None => text_of(&m["content"], "\n"),
        })
        .unwrap_or_default()
}

/// The text of one message of any wire: its content (a string, or the text of its blocks and
/// the content of its `tool_result` blocks) or Gemini's parts (text, and `functionResponse`
/// responses: their `content` when it is text, else their JSON).
fn message_text(message: &Value) -> String {
    let mut pieces: Vec<String> = Vec::new();
    if let Some(text) = message["content"].as_str() {
        pieces.push(text.to_owned());
    }
    for block in message["content"].as_array().into_iter().flatten() {
        if let Some(text) = block["text"].as_str() {
            pieces.push(text.to_owned());
        }
        if block["type"] == "tool_result" {
            match &block["content"] {
                Value::String(text) => pieces.push(text.clone()),
                Value::Array(inner) => {
                    pieces.extend(inner.iter().filter_map(|b| b["text"].as_str().map(str::to_owned)))
                }
                _ => {}
            }
        }
    }
    for part in message["parts"].as_array().into_iter().flatten() {
        if let Some(text) = part["text"].as_str() {
            pieces.push(text.to_owned());
        }
        let response = &part["functionResponse"]["response"];
        match &response["content"] {
            Value::String(text) => pieces.push(text.clone()),
            _ if !response.is_null() => pieces.push(response.to_string()),
            _ => {}
        }
    }
    pieces.join("\n")
}

fn messages_of(body: &Value) -> Vec<Value> {
    let list = if body["contents"].is_array() { &body["contents"] } else { &body["messages"] };
    list.as_array().cloned().unwrap_or_default()
}

/// The text of the last message, whatever its role.
fn last_message(body: &Value) -> String {
    messages_of(body).last().map(message_text).unwrap_or_default()
}

/// Every message's text, the system prompt (Anthropic's `system`, Gemini's
/// `systemInstruction`) first.
fn all_messages(body: &Value) -> String {
    let mut out = match &body["system"] {
        Value::String(system) => system.clone(),
        _ => String::new(),
    };
    out.push_str(&message_text(&body["systemInstruction"]));
    for message in messages_of(body) {
        out.push('\n');
        out.push_str(&message_text(&message));
    }
    out
}

/// What a stream sends, independent of the wire format.
enum Piece {
    Thinking(String),
    Content(String),
}

struct Plan {
    pieces: Vec<Piece>,
    calls: Vec<TestCall>,
    stall_in_calls: bool,
    delay: Duration,
    split: bool,
    prompt_tokens: u32,
    end: End,
}

enum End {
    Done,
    Error(String),
    Drop,
    Stall,
}

/// Turns a scenario into a stream plan, or an immediate response.
fn plan(scenario: Scenario, body: &Value) -> Result<Plan, Box<Response>> {
    let tokens = |s: &str| tokenize(s).into_iter().map(Piece::Content).collect::<Vec<_>>();
    let simple = |pieces, end| Plan {
        pieces,
        calls: Vec::new(),
        stall_in_calls: false,
        delay: Duration::ZERO,
        split: false,
        prompt_tokens: 12,
        end,
    };
    match scenario {
        Scenario::Reply(r) => {
            let mut pieces: Vec<Piece> = r.thinking.into_iter().map(Piece::Thinking).collect();
            pieces.extend(r.tokens.into_iter().map(Piece::Content));
            Ok(Plan {
                pieces,
                calls: r.tool_calls,
                stall_in_calls: r.stall_in_calls,
                delay: r.token_delay,
                split: r.split_lines,
                prompt_tokens: r.prompt_tokens,
                end: End::Done,
            })
        }
        Scenario::Echo => Ok(simple(tokens(&format!("echo: {}", last_user_message(body))), End::Done)),
        Scenario::ErrorLine { before, error } => Ok(simple(tokens(&before), End::Error(error))),
        Scenario::DropAfter { before } => Ok(simple(tokens(&before), End::Drop)),
        Scenario::StallAfter { before } => Ok(simple(tokens(&before), End::Stall)),
        Scenario::Status { status, body, retry_after } => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = (code, body).into_response();
            if let Some(secs) = retry_after {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            Err(Box::new(response))
        }
        Scenario::Hang => Err(Box::new(StatusCode::NO_CONTENT.into_response())),
    }
}

/// How a wire format renders a stream.
trait Format: Send + 'static {
    /// What comes before the first piece (Anthropic's `message_start`).
    fn start(&mut self, _prompt_tokens: u32) -> String {
        String::new()
    }
    fn piece(&mut self, piece: &Piece) -> String;
    /// The writes that carry `calls`, each sent on its own (with the reply's delay between).
    fn calls(&mut self, calls: &[TestCall]) -> Vec<String>;
    fn done(&mut self, prompt_tokens: u32, completion: u32) -> String;
    fn error(&mut self, message: &str) -> String;
    const CONTENT_TYPE: &'static str;
}

struct Ollama {
    model: String,
}

/// `arguments` as text in `n` pieces of about equal size (cut at character boundaries).
fn pieces_of(text: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let size = chars.len().div_ceil(n.max(1)).max(1);
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

fn call_id(call: &TestCall, prefix: &str, n: usize) -> String {
    call.id.clone().unwrap_or_else(|| format!("{prefix}_testkit_{n}"))
}

impl Format for Ollama {
    const CONTENT_TYPE: &'static str = "application/x-ndjson";

    fn piece(&mut self, piece: &Piece) -> String {
        let message = match piece {
            Piece::Thinking(t) => json!({ "role": "assistant", "content": "", "thinking": t }),
            Piece::Content(t) => json!({ "role": "assistant", "content": t }),
        };
        let line = json!({ "model": self.model, "created_at": "2026-01-01T00:00:00Z", "message": message, "done": false });
        format!("{line}\n")
    }

    /// Ollama sends the calls whole, all in one line, arguments as objects.
    fn calls(&mut self, calls: &[TestCall]) -> Vec<String> {
        let message = json!({ "role": "assistant", "content": "", "tool_calls": ollama_calls(calls) });
        let line = json!({ "model": self.model, "created_at": "2026-01-01T00:00:00Z", "message": message, "done": false });
        vec![format!("{line}\n")]
    }

    fn done(&mut self, prompt_tokens: u32, completion: u32) -> String {
        let line = json!({
            "model": self.model, "created_at": "2026-01-01T00:00:00Z",
            "message": { "role": "assistant", "content": "" },
            "done": true, "done_reason": "stop",
            "total_duration": 120_000_000u64, "load_duration": 10_000_000u64,
            "prompt_eval_count": prompt_tokens, "prompt_eval_duration": 20_000_000u64,
            "eval_count": completion, "eval_duration": 90_000_000u64,
        });
        format!("{line}\n")
    }

    fn error(&mut self, message: &str) -> String {
        format!("{}\n", json!({ "error": message }))
    }
}

fn ollama_calls(calls: &[TestCall]) -> Vec<Value> {
    calls
        .iter()
        .enumerate()
        .map(|(index, call)| {
            let mut out =
                json!({ "function": { "index": index, "name": call.name, "arguments": call.arguments } });
            if let Some(id) = &call.id {
                out["id"] = json!(id);
            }
            out
        })
        .collect()
}

struct OpenAi {
    model: String,
    usage: bool,
    called: bool,
}

impl OpenAi {
    fn chunk(&self, delta: Value) -> String {
        let chunk = json!({
            "id": "chatcmpl-testkit", "object": "chat.completion.chunk", "created": 1_767_225_600,
            "model": self.model, "choices": [{ "index": 0, "delta": delta, "finish_reason": null }],
        });
        format!("data: {chunk}\n\n")
    }
}

impl Format for OpenAi {
    const CONTENT_TYPE: &'static str = "text/event-stream";

    fn piece(&mut self, piece: &Piece) -> String {
        let delta = match piece {
            Piece::Thinking(t) => json!({ "role": "assistant", "reasoning_content": t }),
            Piece::Content(t) => json!({ "role": "assistant", "content": t }),
        };
        self.chunk(delta)
    }

    /// Each call's head (index, id, name) first, then its arguments string in three pieces,
    /// the calls' pieces interleaved, as servers streaming parallel calls do.
    fn calls(&mut self, calls: &[TestCall]) -> Vec<String> {
        self.called = true;
        let mut out = Vec::new();
        for (index, call) in calls.iter().enumerate() {
            let head = json!({ "index": index, "id": call_id(call, "call", index), "type": "function",
                               "function": { "name": call.name, "arguments": "" } });
            out.push(self.chunk(json!({ "role": "assistant", "content": null, "tool_calls": [head] })));
        }
        let pieces: Vec<Vec<String>> = calls.iter().map(|c| pieces_of(&c.arguments.to_string(), 3)).collect();
        let most = pieces.iter().map(Vec::len).max().unwrap_or(0);
        for round in 0..most {
            for (index, call_pieces) in pieces.iter().enumerate() {
                if let Some(piece) = call_pieces.get(round) {
                    let delta = json!({ "index": index, "function": { "arguments": piece } });
                    out.push(self.chunk(json!({ "tool_calls": [delta] })));
                }
            }
        }
        out
    }

    fn done(&mut self, prompt_tokens: u32, completion: u32) -> String {
        let reason = if self.called { "tool_calls" } else { "stop" };
        let finish = json!({
            "id": "chatcmpl-testkit", "object": "chat.completion.chunk", "created": 1_767_225_600,
            "model": self.model, "choices": [{ "index": 0, "delta": {}, "finish_reason": reason }],
        });
        let mut out = format!("data: {finish}\n\n");
        if self.usage {
            let usage = json!({
                "id": "chatcmpl-testkit", "object": "chat.completion.chunk", "created": 1_767_225_600,
                "model": self.model, "choices": [],
                "usage": { "prompt_tokens": prompt_tokens, "completion_tokens": completion,
                           "total_tokens": prompt_tokens + completion },
            });
            out.push_str(&format!("data: {usage}\n\n"));
        }
        out.push_str("data: [DONE]\n\n");
        out
    }

    fn error(&mut self, message: &str) -> String {
        format!("data: {}\n\n", json!({ "error": { "message": message, "type": "server_error" } }))
    }
}

/// Splits a line into two parts, mid-character when it has a multi-byte one.
fn split_in_two(line: &[u8]) -> (Bytes, Bytes) {
    let mut cut = line.len() / 2;
    if let Some(i) = line.iter().position(|b| *b >= 0x80) {
        cut = i + 1;
    }
    let cut = cut.clamp(1, line.len().saturating_sub(1).max(1)).min(line.len());
    (Bytes::copy_from_slice(&line[..cut]), Bytes::copy_from_slice(&line[cut..]))
}

fn stream_body<F: Format>(mut format: F, plan: Plan, shared: &Shared) -> Body {
    // A small channel keeps memory flat for huge replies; the producer waits for the client.
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(64);
    let stop = shared.stop.clone();
    let streaming = Streaming::start(&shared.streams);
    tokio::spawn(async move {
        let _streaming = streaming;
        let send = |text: String| {
            let tx = tx.clone();
            let split = plan.split;
            async move {
                if split && text.len() > 1 {
                    let (a, b) = split_in_two(text.as_bytes());
                    if tx.send(Ok(a)).await.is_err() {
                        return false;
                    }
                    tokio::task::yield_now().await;
                    tx.send(Ok(b)).await.is_ok()
                } else {
                    tx.send(Ok(Bytes::from(text))).await.is_ok()
                }
            }
        };
        let start = format.start(plan.prompt_tokens);
        if !start.is_empty() && !send(start).await {
            return;
        }
        let mut count = 0u32;
        for piece in &plan.pieces {
            if !plan.delay.is_zero() {
                tokio::select! {
                    () = tokio::time::sleep(plan.delay) => {}
                    () = stop.wait() => {
                        // Killed mid-reply: the body breaks off, as a dying server's would.
                        if let Err(e) = tx.send(Err(std::io::Error::other("the testkit stopped"))).await {
                            tracing::debug!(error = %e, "client already gone");
                        }
                        return;
                    }
                }
            }
            if !send(format.piece(piece)).await {
                return;
            }
            count += 1;
        }
        if !plan.calls.is_empty() {
            let chunks = format.calls(&plan.calls);
            let keep = if plan.stall_in_calls { chunks.len().div_ceil(2) } else { chunks.len() };
            for chunk in chunks.into_iter().take(keep) {
                if !plan.delay.is_zero() {
                    tokio::select! {
                        () = tokio::time::sleep(plan.delay) => {}
                        () = stop.wait() => return,
                    }
                }
                if !send(chunk).await {
                    return;
                }
                count += 1;
            }
            if plan.stall_in_calls {
                stop.wait().await;
                return;
            }
        }
        match plan.end {
            End::Done => {
                send(format.done(plan.prompt_tokens, count)).await;
            }
            End::Error(message) => {
                send(format.error(&message)).await;
            }
            End::Drop => {
                // Let what was sent reach the client first, as a real server dying mid-reply
                // would have; then an error item makes hyper abort the connection mid-body.
                tokio::time::sleep(Duration::from_millis(50)).await;
                if let Err(e) = tx.send(Err(std::io::Error::other("dropped by the testkit"))).await {
                    tracing::debug!(error = %e, "client already gone");
                }
            }
            End::Stall => {
                stop.wait().await;
            }
        }
    });
    Body::from_stream(ReceiverStream { rx })
}

struct ReceiverStream {
    rx: mpsc::Receiver<Result<Bytes, std::io::Error>>,
}

impl Stream for ReceiverStream {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

fn streaming_response(content_type: &'static str, body: Body) -> Response {
    let mut response = Response::new(body);
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

async fn hang(stop: &stop::Stop) -> Response {
    stop.wait().await;
    StatusCode::SERVICE_UNAVAILABLE.into_response()
}

/// The next scripted reply for a chat request, whatever its wire format: a plan to stream, or
/// the response to give instead (a scripted error; a hang answered only when the server stops).
async fn scripted_plan(shared: &Shared, body: &Value) -> Result<Plan, Box<Response>> {
    let scenario = next_scenario(shared, body);
    if matches!(scenario, Scenario::Hang) {
        return Err(Box::new(hang(&shared.stop).await));
    }
    plan(scenario, body)
}

async fn ollama_chat(State(shared): State<Shared>, request: Request) -> Response {
    let body = read_json(&shared, request).await;
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    if !model_known(&shared, &model) {
        let error = json!({ "error": format!("model \"{model}\" not found, try pulling it first") });
        return (StatusCode::NOT_FOUND, axum::Json(error)).into_response();
    }
    if body["tools"].as_array().is_some_and(|t| !t.is_empty()) && !model_takes_tools(&shared, &model) {
        let error = json!({ "error": format!("registry.ollama.ai/library/{model} does not support tools") });
        return (StatusCode::BAD_REQUEST, axum::Json(error)).into_response();
    }
    let plan = match scripted_plan(&shared, &body).await {
        Ok(plan) => plan,
        Err(response) => return *response,
    };
    let format = Ollama { model };
    if body["stream"] == false {
        return whole_reply(&format, plan);
    }
    streaming_response(Ollama::CONTENT_TYPE, stream_body(format, plan, &shared))
}

/// `"stream": false`: one JSON object with the whole reply.
fn whole_reply(format: &Ollama, plan: Plan) -> Response {
    let mut content = String::new();
    let mut thinking = String::new();
    for piece in &plan.pieces {
        match piece {
            Piece::Content(t) => content.push_str(t),
            Piece::Thinking(t) => thinking.push_str(t),
        }
    }
    if let End::Error(message) = plan.end {
        return (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({ "error": message }))).into_response();
    }
    let mut message = json!({ "role": "assistant", "content": content });
    if !thinking.is_empty() {
        message["thinking"] = json!(thinking);
    }
    if !plan.calls.is_empty() {
        message["tool_calls"] = json!(ollama_calls(&plan.calls));
    }
    axum::Json(json!({
        "model": format.model, "created_at": "2026-01-01T00:00:00Z", "message": message,
        "done": true, "done_reason": "stop", "prompt_eval_count": plan.prompt_tokens,
        "eval_count": plan.pieces.len(), "total_duration": 120_000_000u64,
    }))
    .into_response()
}

async fn ollama_tags(State(shared): State<Shared>) -> Response {
    let models: Vec<Value> = shared
        .script()
        .models
        .iter()
        .map(|m| {
            json!({
                "name": m.name, "model": m.name, "modified_at": "2026-01-01T00:00:00Z", "size": m.size,
                "digest": "0123456789abcdef",
                "details": { "format": "gguf", "family": m.family, "families": [m.family],
                             "parameter_size": "8.0B", "quantization_level": m.quantization },
            })
        })
        .collect();
    axum::Json(json!({ "models": models })).into_response()
}

/// `/api/pull`: Ollama's progress lines; an unknown model ends in Ollama's error line. An
/// interrupted pull resumes where it stopped.
async fn ollama_pull(State(shared): State<Shared>, request: Request) -> Response {
    let body = read_json(&shared, request).await;
    let name = body["model"].as_str().or_else(|| body["name"].as_str()).unwrap_or_default().to_owned();
    let (model, delay, start) = {
        let script = shared.script();
        let model = script.registry.iter().find(|m| m.name == name).cloned();
        (model, script.pull_delay, script.partial_pulls.get(&name).copied().unwrap_or(0))
    };
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let line = |v: Value| Ok::<_, std::io::Error>(Bytes::from(format!("{v}\n")));
    tokio::spawn(async move {
        if tx.send(line(json!({ "status": "pulling manifest" }))).await.is_err() {
            return;
        }
        let Some(model) = model else {
            let error = json!({ "error": "pull model manifest: file does not exist" });
            tx.send(line(error)).await.ok();
            return;
        };
        let digest = "sha256:6a0746a1ec1aef3e7ec53868f220ff6e389f6f8ef87a01d77c96807de94ca2aa";
        let total = model.size;
        let step = total.div_ceil(10).max(1);
        let mut completed = start;
        while completed < total {
            tokio::time::sleep(delay).await;
            completed = (completed + step).min(total);
            let progress = json!({ "status": format!("pulling {}", &digest[7..19]), "digest": digest,
                                   "total": total, "completed": completed });
            if tx.send(line(progress)).await.is_err() {
                return;
            }
            shared.script().partial_pulls.insert(model.name.clone(), completed);
        }
        for status in ["verifying sha256 digest", "writing manifest", "success"] {
            if status == "success" {
                let mut script = shared.script();
                script.partial_pulls.remove(&model.name);
                script.models.retain(|m| m.name != model.name);
                script.models.push(model.clone());
            }
            if tx.send(line(json!({ "status": status }))).await.is_err() {
                return;
            }
        }
    });
    Body::from_stream(ReceiverStream { rx }).into_response()
}

/// `/api/delete`: 200 with no body, or 404 for a model that is not there.
async fn ollama_delete(State(shared): State<Shared>, request: Request) -> Response {
    let body = read_json(&shared, request).await;
    let name = body["model"].as_str().or_else(|| body["name"].as_str()).unwrap_or_default().to_owned();
    let mut script = shared.script();
    let before = script.models.len();
    script.models.retain(|m| m.name != name);
    if script.models.len() == before {
        return (StatusCode::NOT_FOUND, axum::Json(json!({ "error": format!("model '{name}' not found") })))
            .into_response();
    }
    StatusCode::OK.into_response()
}

async fn ollama_show(State(shared): State<Shared>, request: Request) -> Response {
    let body = read_json(&shared, request).await;
    let name = body["model"].as_str().or_else(|| body["name"].as_str()).unwrap_or_default().to_owned();
    let script = shared.script();
    let Some(model) = script.models.iter().find(|m| m.name == name || format!("{}:latest", m.name) == name)
    else {
        return (StatusCode::NOT_FOUND, axum::Json(json!({ "error": format!("model '{name}' not found") })))
            .into_response();
    };
    let mut info = serde_json::Map::new();
    info.insert("general.architecture".into(), json!(model.family));
    info.insert(format!("{}.context_length", model.family), json!(model.context_length));
    // An embedding model only embeds; a chat model completes, and takes tools unless told not to.
    let capabilities = if model.is_embedding() {
        embed::capabilities(model)
    } else if model.tools {
        json!(["completion", "tools"])
    } else {
        json!(["completion"])
    };
    axum::Json(json!({
        "modelfile": "", "parameters": "", "template": "{{ .Prompt }}",
        "details": { "format": "gguf", "family": model.family, "quantization_level": model.quantization },
        "model_info": info, "capabilities": capabilities,
    }))
    .into_response()
}

async fn openai_chat(State(shared): State<Shared>, request: Request) -> Response {
    let recorded = read_request(&shared, request).await;
    if let Some(refusal) = key_refusal(&shared, Api::OpenAi, &recorded) {
        return refusal;
    }
    let body = recorded.body;
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    if !model_known(&shared, &model) {
        let error = json!({ "error": { "message": format!("The model `{model}` does not exist"), "type": "invalid_request_error", "code": "model_not_found" } });
        return (StatusCode::NOT_FOUND, axum::Json(error)).into_response();
    }
    if body["tools"].as_array().is_some_and(|t| !t.is_empty()) && !model_takes_tools(&shared, &model) {
        // vLLM started without a tool parser answers so.
        let error = json!({ "error": { "message": "\"auto\" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set",
                                       "type": "BadRequestError", "code": 400 } });
        return (StatusCode::BAD_REQUEST, axum::Json(error)).into_response();
    }
    let plan = match scripted_plan(&shared, &body).await {
        Ok(plan) => plan,
        Err(response) => return *response,
    };
    if body["stream"] != true {
        let content: String = plan
            .pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Content(t) => Some(t.as_str()),
                Piece::Thinking(_) => None,
            })
            .collect();
        let mut message = json!({ "role": "assistant", "content": content });
        let mut finish = "stop";
        if !plan.calls.is_empty() {
            finish = "tool_calls";
            message["tool_calls"] = plan
                .calls
                .iter()
                .enumerate()
                .map(|(n, c)| {
                    json!({ "id": call_id(c, "call", n), "type": "function",
                                      "function": { "name": c.name, "arguments": c.arguments.to_string() } })
                })
                .collect();
        }
        return axum::Json(json!({
            "id": "chatcmpl-testkit", "object": "chat.completion", "created": 1_767_225_600, "model": model,
            "choices": [{ "index": 0, "message": message, "finish_reason": finish }],
            "usage": { "prompt_tokens": plan.prompt_tokens, "completion_tokens": plan.pieces.len(),
                       "total_tokens": plan.prompt_tokens as usize + plan.pieces.len() },
        }))
        .into_response();
    }
    let usage = body["stream_options"]["include_usage"] == true;
    let format = OpenAi { model, usage, called: false };
    streaming_response(OpenAi::CONTENT_TYPE, stream_body(format, plan, &shared))
}

/// `/v1/models` is both OpenAI's and Anthropic's list; the answer is a superset of the two
/// shapes. A request with `anthropic-version` or `x-api-key` is checked as Anthropic's.
async fn v1_models(State(shared): State<Shared>, request: Request) -> Response {
    let recorded = read_request(&shared, request).await;
    let api = if recorded.header("anthropic-version").is_some() || recorded.header("x-api-key").is_some() {
        Api::Anthropic
    } else {
        Api::OpenAi
    };
    if let Some(refusal) = key_refusal(&shared, api, &recorded) {
        return refusal;
    }
    let data: Vec<Value> = shared
        .script()
        .models
        .iter()
        .map(|m| {
            json!({ "id": m.name, "object": "model", "created": 1_767_225_600, "owned_by": "testkit",
                    "type": "model", "display_name": display_name(&m.name),
                    "created_at": "2026-01-01T00:00:00Z" })
        })
        .collect();
    let first = data.first().map(|m| m["id"].clone()).unwrap_or(Value::Null);
    let last = data.last().map(|m| m["id"].clone()).unwrap_or(Value::Null);
    axum::Json(
        json!({ "object": "list", "data": data, "has_more": false, "first_id": first, "last_id": last }),
    )
    .into_response()
}

/// "claude-test-model" -> "Claude Test Model".
fn display_name(name: &str) -> String {
    name.split(['-', '_'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map(|c| c.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Anthropic's Messages API streaming format, event by event as Anthropic documents it.
struct Anthropic {
    model: String,
    /// The open content block: its index and whether it holds thinking.
    block: Option<(usize, bool)>,
    blocks: usize,
    called: bool,
}

fn sse_event(name: &str, data: &Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

impl Anthropic {
    fn close_block(&mut self) -> String {
        let Some((index, thinking)) = self.block.take() else { return String::new() };
        let mut out = String::new();
        if thinking {
            let signature = json!({ "type": "signature_delta", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3h" });
            out.push_str(&sse_event(
                "content_block_delta",
                &json!({ "type": "content_block_delta", "index": index, "delta": signature }),
            ));
        }
        out.push_str(&sse_event(
            "content_block_stop",
            &json!({ "type": "content_block_stop", "index": index }),
        ));
        out
    }
}

impl Format for Anthropic {
    const CONTENT_TYPE: &'static str = "text/event-stream";

    fn start(&mut self, prompt_tokens: u32) -> String {
        let message = json!({
            "id": "msg_testkit", "type": "message", "role": "assistant", "model": self.model,
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": { "input_tokens": prompt_tokens, "output_tokens": 1 },
        });
        let mut out = sse_event("message_start", &json!({ "type": "message_start", "message": message }));
        out.push_str(&sse_event("ping", &json!({ "type": "ping" })));
        out
    }

    fn piece(&mut self, piece: &Piece) -> String {
        let (thinking, text) = match piece {
            Piece::Thinking(t) => (true, t),
            Piece::Content(t) => (false, t),
        };
        let mut out = String::new();
        let index = match self.block {
            Some((index, open_thinking)) if open_thinking == thinking => index,
            _ => {
                out.push_str(&self.close_block());
                let index = self.blocks;
                self.blocks += 1;
                self.block = Some((index, thinking));
                let block = if thinking {
                    json!({ "type": "thinking", "thinking": "", "signature": "" })
                } else {
                    json!({ "type": "text", "text": "" })
                };
                out.push_str(&sse_event(
                    "content_block_start",
                    &json!({ "type": "content_block_start", "index": index, "content_block": block }),
                ));
                index
            }
        };
        let delta = if thinking {
            json!({ "type": "thinking_delta", "thinking": text })
        } else {
            json!({ "type": "text_delta", "text": text })
        };
        out.push_str(&sse_event(
            "content_block_delta",
            &json!({ "type": "content_block_delta", "index": index, "delta": delta }),
        ));
        out
    }

    /// Per call a `tool_use` block: its start (empty `input`), the input JSON in pieces
    /// (`input_json_delta`, the first one empty as Anthropic sends it), its stop.
    fn calls(&mut self, calls: &[TestCall]) -> Vec<String> {
        self.called = true;
        let mut out = Vec::new();
        let close = self.close_block();
        if !close.is_empty() {
            out.push(close);
        }
        for (n, call) in calls.iter().enumerate() {
            let index = self.blocks;
            self.blocks += 1;
            let block = json!({ "type": "tool_use", "id": call_id(call, "toolu", n), "name": call.name, "input": {} });
            out.push(sse_event(
                "content_block_start",
                &json!({ "type": "content_block_start", "index": index, "content_block": block }),
            ));
            let mut pieces = vec![String::new()];
            pieces.extend(pieces_of(&call.arguments.to_string(), 3));
            for piece in pieces {
                let delta = json!({ "type": "input_json_delta", "partial_json": piece });
                out.push(sse_event(
                    "content_block_delta",
                    &json!({ "type": "content_block_delta", "index": index, "delta": delta }),
                ));
            }
            out.push(sse_event(
                "content_block_stop",
                &json!({ "type": "content_block_stop", "index": index }),
            ));
        }
        out
    }

    fn done(&mut self, _prompt_tokens: u32, completion: u32) -> String {
        let mut out = self.close_block();
        let reason = if self.called { "tool_use" } else { "end_turn" };
        out.push_str(&sse_event(
            "message_delta",
            &json!({ "type": "message_delta", "delta": { "stop_reason": reason, "stop_sequence": null },
                     "usage": { "output_tokens": completion } }),
        ));
        out.push_str(&sse_event("message_stop", &json!({ "type": "message_stop" })));
        out
    }

    fn error(&mut self, message: &str) -> String {
        let kind = if message.to_ascii_lowercase().contains("overloaded") {
            "overloaded_error"
        } else {
            "api_error"
        };
        sse_event("error", &json!({ "type": "error", "error": { "type": kind, "message": message } }))
    }
}

/// `POST /v1/messages`: Anthropic's Messages API.
async fn anthropic_messages(State(shared): State<Shared>, request: Request) -> Response {
    let recorded = read_request(&shared, request).await;
    let invalid = |message: &str| {
        let error =
            json!({ "type": "error", "error": { "type": "invalid_request_error", "message": message } });
        (StatusCode::BAD_REQUEST, axum::Json(error)).into_response()
    };
    if recorded.header("anthropic-version").is_none() {
        return invalid("anthropic-version: header is required");
    }
    if let Some(refusal) = key_refusal(&shared, Api::Anthropic, &recorded) {
        return refusal;
    }
    let body = recorded.body;
    if !body["max_tokens"].is_u64() {
        return invalid("max_tokens: Field required");
    }
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    if !model_known(&shared, &model) {
        let error = json!({ "type": "error", "error": { "type": "not_found_error", "message": format!("model: {model}") } });
        return (StatusCode::NOT_FOUND, axum::Json(error)).into_response();
    }
    let plan = match scripted_plan(&shared, &body).await {
        Ok(plan) => plan,
        Err(response) => return *response,
    };
    if body["stream"] != true {
        let mut content = Vec::new();
        let thinking: String = plan
            .pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Thinking(t) => Some(t.as_str()),
                Piece::Content(_) => None,
            })
            .collect();
        let text: String = plan
            .pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Content(t) => Some(t.as_str()),
                Piece::Thinking(_) => None,
            })
            .collect();
        if !thinking.is_empty() {
            content.push(json!({ "type": "thinking", "thinking": thinking, "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3h" }));
        }
        content.push(json!({ "type": "text", "text": text }));
        for (n, call) in plan.calls.iter().enumerate() {
            content.push(json!({ "type": "tool_use", "id": call_id(call, "toolu", n), "name": call.name,
                                 "input": call.arguments }));
        }
        let stop_reason = if plan.calls.is_empty() { "end_turn" } else { "tool_use" };
        return axum::Json(json!({
            "id": "msg_testkit", "type": "message", "role": "assistant", "model": model, "content": content,
            "stop_reason": stop_reason, "stop_sequence": null,
            "usage": { "input_tokens": plan.prompt_tokens, "output_tokens": plan.pieces.len() },
        }))
        .into_response();
    }
    let format = Anthropic { model, block: None, blocks: 0, called: false };
    streaming_response(Anthropic::CONTENT_TYPE, stream_body(format, plan, &shared))
}

/// Gemini's `streamGenerateContent?alt=sse`: each event a whole `GenerateContentResponse`,
/// events separated by CRLF as Google's servers send them.
struct Gemini {
    model: String,
    prompt_tokens: u32,
    thoughts: u32,
    content: u32,
}

impl Gemini {
    fn event(&self, candidate: Value, usage: Value) -> String {
        let response = json!({ "candidates": [candidate], "usageMetadata": usage,
                               "modelVersion": self.model, "responseId": "testkit-response" });
        format!("data: {response}\r\n\r\n")
    }
}

impl Format for Gemini {
    const CONTENT_TYPE: &'static str = "text/event-stream";

    fn start(&mut self, prompt_tokens: u32) -> String {
        self.prompt_tokens = prompt_tokens;
        String::new()
    }

    fn piece(&mut self, piece: &Piece) -> String {
        let part = match piece {
            Piece::Thinking(t) => {
                self.thoughts += 1;
                json!({ "text": t, "thought": true })
            }
            Piece::Content(t) => {
                self.content += 1;
                json!({ "text": t })
            }
        };
        let candidate = json!({ "content": { "parts": [part], "role": "model" }, "index": 0 });
        let usage = json!({ "promptTokenCount": self.prompt_tokens, "totalTokenCount": self.prompt_tokens });
        self.event(candidate, usage)
    }

    /// The calls as `functionCall` parts of one response, whole, as Gemini sends parallel
    /// calls; the first carries a `thoughtSignature` as thinking models' calls do.
    fn calls(&mut self, calls: &[TestCall]) -> Vec<String> {
        let parts: Vec<Value> = calls
            .iter()
            .enumerate()
            .map(|(n, call)| {
                let mut part = json!({ "functionCall": { "name": call.name, "args": call.arguments } });
                if let Some(id) = &call.id {
                    part["functionCall"]["id"] = json!(id);
                }
                if n == 0 {
                    part["thoughtSignature"] = json!(format!("sig-{}", call.name));
                }
                part
            })
            .collect();
        self.content += calls.len() as u32;
        let candidate = json!({ "content": { "parts": parts, "role": "model" }, "index": 0 });
        let usage = json!({ "promptTokenCount": self.prompt_tokens, "totalTokenCount": self.prompt_tokens });
        vec![self.event(candidate, usage)]
    }

    fn done(&mut self, prompt_tokens: u32, _completion: u32) -> String {
        let candidate = json!({ "content": { "parts": [{ "text": "" }], "role": "model" }, "finishReason": "STOP", "index": 0 });
        let mut usage = json!({ "promptTokenCount": prompt_tokens, "candidatesTokenCount": self.content,
                                "totalTokenCount": prompt_tokens + self.content + self.thoughts });
        if self.thoughts > 0 {
            usage["thoughtsTokenCount"] = json!(self.thoughts);
        }
        self.event(candidate, usage)
    }

    fn error(&mut self, message: &str) -> String {
        format!(
            "data: {}\r\n\r\n",
            json!({ "error": { "code": 500, "message": message, "status": "INTERNAL" } })
        )
    }
}

fn gemini_error(status: StatusCode, message: &str, code: &str) -> Response {
    let error = json!({ "error": { "code": status.as_u16(), "message": message, "status": code } });
    (status, axum::Json(error)).into_response()
}

fn gemini_model_json(m: &TestModel) -> Value {
    json!({
        "name": format!("models/{}", m.name), "version": "001", "displayName": display_name(&m.name),
        "description": "A testkit model", "inputTokenLimit": m.context_length, "outputTokenLimit": 8192,
        "supportedGenerationMethods": ["generateContent", "countTokens"],
    })
}

/// `GET /v1beta/models`.
async fn gemini_models(State(shared): State<Shared>, request: Request) -> Response {
    let recorded = read_request(&shared, request).await;
    if let Some(refusal) = key_refusal(&shared, Api::Gemini, &recorded) {
        return refusal;
    }
    let models: Vec<Value> = shared.script().models.iter().map(gemini_model_json).collect();
    axum::Json(json!({ "models": models })).into_response()
}

/// `GET /v1beta/models/{model}`.
async fn gemini_model(
    State(shared): State<Shared>,
    axum::extract::Path(name): axum::extract::Path<String>,
    request: Request,
) -> Response {
    let recorded = read_request(&shared, request).await;
    if let Some(refusal) = key_refusal(&shared, Api::Gemini, &recorded) {
        return refusal;
    }
    let found = shared.script().models.iter().find(|m| m.name == name).map(gemini_model_json);
    match found {
        Some(model) => axum::Json(model).into_response(),
        None => gemini_error(
            StatusCode::NOT_FOUND,
            &format!(
                "models/{name} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods."
            ),
            "NOT_FOUND",
        ),
    }
}

/// `POST /v1beta/models/{model}:streamGenerateContent?alt=sse`.
async fn gemini_generate(
    State(shared): State<Shared>,
    axum::extract::Path(model_action): axum::extract::Path<String>,
    request: Request,
) -> Response {
    let recorded = read_request(&shared, request).await;
    if let Some(refusal) = key_refusal(&shared, Api::Gemini, &recorded) {
        return refusal;
    }
    let Some((model, action)) = model_action.split_once(':') else {
        return gemini_error(
            StatusCode::NOT_FOUND,
            "The requested URL was not found on this server.",
            "NOT_FOUND",
        );
    };
    if action != "streamGenerateContent" {
        return gemini_error(
            StatusCode::NOT_FOUND,
            &format!("the testkit does not serve `{action}`"),
            "NOT_FOUND",
        );
    }
    if !recorded.query.split('&').any(|pair| pair == "alt=sse") {
        return gemini_error(
            StatusCode::BAD_REQUEST,
            "the testkit serves only alt=sse streams",
            "INVALID_ARGUMENT",
        );
    }
    let body = recorded.body;
    if !body["contents"].is_array() {
        return gemini_error(
            StatusCode::BAD_REQUEST,
            "* GenerateContentRequest.contents: contents is not specified",
            "INVALID_ARGUMENT",
        );
    }
    if !model_known(&shared, model) {
        return gemini_error(
            StatusCode::NOT_FOUND,
            &format!(
                "models/{model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods."
            ),
            "NOT_FOUND",
        );
    }
    let plan = match scripted_plan(&shared, &body).await {
        Ok(plan) => plan,
        Err(response) => return *response,
    };
    let format = Gemini { model: model.to_owned(), prompt_tokens: 0, thoughts: 0, content: 0 };
    streaming_response(Gemini::CONTENT_TYPE, stream_body(format, plan, &shared))
}

/// A one-shot stop signal that any number of tasks can wait on.
mod stop {
    use tokio::sync::watch;

    #[derive(Clone)]
    pub struct Stop {
        tx: std::sync::Arc<watch::Sender<bool>>,
    }

    impl Default for Stop {
        fn default() -> Self {
            Self { tx: std::sync::Arc::new(watch::channel(false).0) }
        }
    }

    impl Stop {
        pub fn trigger(&self) {
            self.tx.send_replace(true);
        }

        pub async fn wait(&self) {
            let mut rx = self.tx.subscribe();
            if rx.wait_for(|stopped| *stopped).await.is_err() {
                // The sender lives in self, so this cannot happen; waiting forever is the
                // meaning of "stop never came".
                std::future::pending::<()>().await;
            }
        }
    }
}
