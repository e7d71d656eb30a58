//! A scripted model server for tests and benchmarks: it speaks Ollama's native API and the
//! OpenAI-compatible API on `127.0.0.1:0` and plays [`Scenario`]s, including the faults real
//! model servers have (errors mid-stream, 503s, dropped connections, hangs). No product code
//! path uses it.

use std::collections::VecDeque;
use std::net::SocketAddr;
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

/// A reply streamed token by token.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    pub tokens: Vec<String>,
    /// Reasoning streamed before the reply (Ollama `thinking`, OpenAI `reasoning_content`).
    pub thinking: Vec<String>,
    pub token_delay: Duration,
    /// Write each line in two or more TCP writes, split mid-line (and mid-character when the
    /// line has a multi-byte character).
    pub split_lines: bool,
    pub prompt_tokens: u32,
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
}

/// What the server does with one chat request.
#[derive(Debug, Clone)]
pub enum Scenario {
    Reply(Reply),
    /// HTTP 200, streams `before` as tokens, then an error line (Ollama `{"error": …}`, or an
    /// OpenAI SSE `{"error": {"message": …}}` event).
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
}

impl TestModel {
    pub fn new(name: &str, context_length: u32) -> TestModel {
        TestModel {
            name: name.to_owned(),
            size: 1_234_567_890,
            context_length,
            family: "llama".to_owned(),
            quantization: "Q4_K_M".to_owned(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub path: String,
    pub body: Value,
}

struct Script {
    /// Scenarios chosen by what the last user message contains; checked before the queue.
    routes: Vec<(String, Scenario)>,
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
}

#[derive(Clone)]
struct Shared {
    script: Arc<Mutex<Script>>,
    /// Cancelled at shutdown: ends open streams and hanging requests.
    stop: stop::Stop,
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
            })),
            stop: stop::Stop::default(),
        };
        let app = Router::new()
            .route("/api/chat", post(ollama_chat))
            .route("/api/tags", get(ollama_tags))
            .route("/api/show", post(ollama_show))
            .route("/api/pull", post(ollama_pull))
            .route("/api/delete", axum::routing::delete(ollama_delete))
            .route("/api/version", get(|| async { axum::Json(json!({ "version": "0.12.0-testkit" })) }))
            .route("/v1/chat/completions", post(openai_chat))
            .route("/v1/models", get(openai_models))
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
        self.shared.script().routes.push((needle.to_owned(), scenario));
    }

    /// Replaces the scenario of the route for `needle` (adding the route if there is none).
    pub fn route_replace(&self, needle: &str, scenario: Scenario) {
        let mut script = self.shared.script();
        match script.routes.iter_mut().find(|(n, _)| n == needle) {
            Some(route) => route.1 = scenario,
            None => script.routes.push((needle.to_owned(), scenario)),
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

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.script().requests.clone()
    }

    pub fn chat_requests(&self) -> usize {
        self.shared.script().chat_requests
    }

    /// Stops listening and ends open streams and hanging requests.
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
    let path = request.uri().path().to_owned();
    let bytes = axum::body::to_bytes(request.into_body(), 64 * 1024 * 1024).await.unwrap_or_default();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    shared.script().requests.push(RecordedRequest { path, body: body.clone() });
    body
}

fn next_scenario(shared: &Shared, body: &Value) -> Scenario {
    let mut script = shared.script();
    script.chat_requests += 1;
    let last = last_user_message(body);
    if let Some((_, scenario)) = script.routes.iter().find(|(needle, _)| last.contains(needle.as_str())) {
        return scenario.clone();
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

fn last_user_message(body: &Value) -> String {
    body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// What a stream sends, independent of the wire format.
enum Piece {
    Thinking(String),
    Content(String),
}

struct Plan {
    pieces: Vec<Piece>,
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
    let simple = |pieces, end| Plan { pieces, delay: Duration::ZERO, split: false, prompt_tokens: 12, end };
    match scenario {
        Scenario::Reply(r) => {
            let mut pieces: Vec<Piece> = r.thinking.into_iter().map(Piece::Thinking).collect();
            pieces.extend(r.tokens.into_iter().map(Piece::Content));
            Ok(Plan {
                pieces,
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
    fn piece(&self, piece: &Piece) -> String;
    fn done(&self, prompt_tokens: u32, completion: u32) -> String;
    fn error(&self, message: &str) -> String;
    const CONTENT_TYPE: &'static str;
}

struct Ollama {
    model: String,
}

impl Format for Ollama {
    const CONTENT_TYPE: &'static str = "application/x-ndjson";

    fn piece(&self, piece: &Piece) -> String {
        let message = match piece {
            Piece::Thinking(t) => json!({ "role": "assistant", "content": "", "thinking": t }),
            Piece::Content(t) => json!({ "role": "assistant", "content": t }),
        };
        let line = json!({ "model": self.model, "created_at": "2026-01-01T00:00:00Z", "message": message, "done": false });
        format!("{line}\n")
    }

    fn done(&self, prompt_tokens: u32, completion: u32) -> String {
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

    fn error(&self, message: &str) -> String {
        format!("{}\n", json!({ "error": message }))
    }
}

struct OpenAi {
    model: String,
    usage: bool,
}

impl Format for OpenAi {
    const CONTENT_TYPE: &'static str = "text/event-stream";

    fn piece(&self, piece: &Piece) -> String {
        let delta = match piece {
            Piece::Thinking(t) => json!({ "role": "assistant", "reasoning_content": t }),
            Piece::Content(t) => json!({ "role": "assistant", "content": t }),
        };
        let chunk = json!({
            "id": "chatcmpl-testkit", "object": "chat.completion.chunk", "created": 1_767_225_600,
            "model": self.model, "choices": [{ "index": 0, "delta": delta, "finish_reason": null }],
        });
        format!("data: {chunk}\n\n")
    }

    fn done(&self, prompt_tokens: u32, completion: u32) -> String {
        let finish = json!({
            "id": "chatcmpl-testkit", "object": "chat.completion.chunk", "created": 1_767_225_600,
            "model": self.model, "choices": [{ "index": 0, "delta": {}, "finish_reason": "stop" }],
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

    fn error(&self, message: &str) -> String {
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

fn stream_body<F: Format>(format: F, plan: Plan, stop: stop::Stop) -> Body {
    // A small channel keeps memory flat for huge replies; the producer waits for the client.
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(64);
    tokio::spawn(async move {
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
        let mut count = 0u32;
        for piece in &plan.pieces {
            if !plan.delay.is_zero() {
                tokio::time::sleep(plan.delay).await;
            }
            if !send(format.piece(piece)).await {
                return;
            }
            count += 1;
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

async fn ollama_chat(State(shared): State<Shared>, request: Request) -> Response {
    let body = read_json(&shared, request).await;
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    if !model_known(&shared, &model) {
        let error = json!({ "error": format!("model \"{model}\" not found, try pulling it first") });
        return (StatusCode::NOT_FOUND, axum::Json(error)).into_response();
    }
    let scenario = next_scenario(&shared, &body);
    if matches!(scenario, Scenario::Hang) {
        return hang(&shared.stop).await;
    }
    let plan = match plan(scenario, &body) {
        Ok(plan) => plan,
        Err(response) => return *response,
    };
    let format = Ollama { model };
    if body["stream"] == false {
        return whole_reply(&format, plan);
    }
    streaming_response(Ollama::CONTENT_TYPE, stream_body(format, plan, shared.stop.clone()))
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
    axum::Json(json!({
        "modelfile": "", "parameters": "", "template": "{{ .Prompt }}",
        "details": { "format": "gguf", "family": model.family, "quantization_level": model.quantization },
        "model_info": info,
    }))
    .into_response()
}

async fn openai_chat(State(shared): State<Shared>, request: Request) -> Response {
    let body = read_json(&shared, request).await;
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    if !model_known(&shared, &model) {
        let error = json!({ "error": { "message": format!("The model `{model}` does not exist"), "type": "invalid_request_error", "code": "model_not_found" } });
        return (StatusCode::NOT_FOUND, axum::Json(error)).into_response();
    }
    let scenario = next_scenario(&shared, &body);
    if matches!(scenario, Scenario::Hang) {
        return hang(&shared.stop).await;
    }
    let plan = match plan(scenario, &body) {
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
        return axum::Json(json!({
            "id": "chatcmpl-testkit", "object": "chat.completion", "created": 1_767_225_600, "model": model,
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": content }, "finish_reason": "stop" }],
            "usage": { "prompt_tokens": plan.prompt_tokens, "completion_tokens": plan.pieces.len(),
                       "total_tokens": plan.prompt_tokens as usize + plan.pieces.len() },
        }))
        .into_response();
    }
    let usage = body["stream_options"]["include_usage"] == true;
    let format = OpenAi { model, usage };
    streaming_response(OpenAi::CONTENT_TYPE, stream_body(format, plan, shared.stop.clone()))
}

async fn openai_models(State(shared): State<Shared>) -> Response {
    let data: Vec<Value> = shared
        .script()
        .models
        .iter()
        .map(|m| json!({ "id": m.name, "object": "model", "created": 1_767_225_600, "owned_by": "testkit" }))
        .collect();
    axum::Json(json!({ "object": "list", "data": data })).into_response()
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
