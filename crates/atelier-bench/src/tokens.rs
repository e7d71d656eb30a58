//! Token pipeline: a model server streams deltas as fast as it can (and then at a steady pace)
//! through the engine and the WebSocket server to a client. Prints throughput and the latency
//! each token gains between the model server writing it and the client reading it.
//!
//! The model server here is a minimal Ollama `/api/chat` written for this benchmark: every token
//! carries the microsecond it was written, so the client can measure the added latency.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use atelier_core::{App, Config};
use atelier_llm::{LlmConfig, OllamaProvider};
use atelier_server::ServerConfig;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::stats::summarize;

/// What the next chat request streams: how many tokens, and the pause between them.
struct Plan {
    tokens: AtomicU64,
    pause_us: AtomicU64,
}

fn micros(base: Instant) -> u64 {
    base.elapsed().as_micros() as u64
}

async fn model_server(listener: TcpListener, plan: Arc<Plan>, base: Instant) {
    while let Ok((stream, _)) = listener.accept().await {
        let plan = plan.clone();
        tokio::spawn(async move {
            if let Err(e) = answer(stream, &plan, base).await {
                eprintln!("bench model server: {e:#}");
            }
        });
    }
}

async fn answer(mut stream: TcpStream, plan: &Plan, base: Instant) -> anyhow::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = stream.read(&mut chunk).await?;
        anyhow::ensure!(n > 0, "client closed");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        anyhow::ensure!(n > 0, "client closed");
        buf.extend_from_slice(&chunk[..n]);
    }
    if !head.starts_with("POST /api/chat") {
        let body = r#"{"error":"not found"}"#;
        let response = format!(
            "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(response.as_bytes()).await?;
        return Ok(());
    }
    stream
        .write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/x-ndjson\r\ntransfer-encoding: chunked\r\n\r\n",
        )
        .await?;
    let tokens = plan.tokens.load(Ordering::Relaxed);
    let pause = Duration::from_micros(plan.pause_us.load(Ordering::Relaxed));
    for _ in 0..tokens {
        let line = format!(
            "{{\"model\":\"bench\",\"created_at\":\"2026-01-01T00:00:00Z\",\"message\":{{\"role\":\"assistant\",\"content\":\"{}|\"}},\"done\":false}}\n",
            micros(base)
        );
        stream.write_all(format!("{:x}\r\n{line}\r\n", line.len()).as_bytes()).await?;
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
    let last = format!(
        "{{\"model\":\"bench\",\"created_at\":\"2026-01-01T00:00:00Z\",\"message\":{{\"role\":\"assistant\",\"content\":\"\"}},\"done\":true,\"done_reason\":\"stop\",\"prompt_eval_count\":10,\"eval_count\":{tokens}}}\n"
    );
    stream.write_all(format!("{:x}\r\n{last}\r\n0\r\n\r\n", last.len()).as_bytes()).await?;
    stream.flush().await?;
    Ok(())
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

async fn call(ws: &mut Ws, id: u64, method: &str, params: Value) -> anyhow::Result<Value> {
    let request = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
    ws.send(Message::Text(request.to_string().into())).await?;
    loop {
        let frame = ws.next().await.context("connection closed")??;
        if let Message::Text(text) = frame {
            let v: Value = serde_json::from_str(text.as_str())?;
            if v["id"] == id {
                anyhow::ensure!(v.get("error").is_none(), "{method}: {v}");
                return Ok(v["result"].clone());
            }
        }
    }
}

struct RunResult {
    /// Tokens whose latency was measured (stamped tokens only).
    deltas: usize,
    /// `message.delta` events received.
    events: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    gaps: usize,
}

async fn one_run(ws: &mut Ws, sid: &str, id: &mut u64, base: Instant) -> anyhow::Result<RunResult> {
    *id += 1;
    call(ws, *id, "messages.send", json!({ "session_id": sid, "content": "go" })).await?;
    let mut latencies = Vec::new();
    let mut first: Option<Instant> = None;
    let mut gaps = 0;
    let mut events = 0;
    loop {
        let frame = ws.next().await.context("connection closed")??;
        let Message::Text(text) = frame else { continue };
        let v: Value = serde_json::from_str(text.as_str())?;
        match v["params"]["type"].as_str() {
            Some("message.delta") => {
                events += 1;
                let now = micros(base);
                first.get_or_insert_with(Instant::now);
                let delta = v["params"]["data"]["delta"].as_str().unwrap_or_default();
                for stamp in delta.split('|').filter(|s| !s.is_empty()) {
                    if let Ok(sent) = stamp.parse::<u64>() {
                        latencies.push(Duration::from_micros(now.saturating_sub(sent)));
                    }
                }
            }
            Some("stream.gap") => gaps += 1,
            Some("message.completed") | Some("message.failed") => break,
            _ => {}
        }
    }
    let elapsed = first.map(|f| f.elapsed()).unwrap_or_default();
    Ok(RunResult { deltas: latencies.len(), events, elapsed, latencies, gaps })
}

pub async fn run() -> anyhow::Result<()> {
    println!("== token pipeline: model server -> engine -> WebSocket client");
    let base = Instant::now();
    let plan = Arc::new(Plan { tokens: AtomicU64::new(0), pause_us: AtomicU64::new(0) });
    let model_listener = TcpListener::bind("127.0.0.1:0").await?;
    let model_addr = model_listener.local_addr()?;
    tokio::spawn(model_server(model_listener, plan.clone(), base));

    let mut stack = Stack::start(&format!("http://{model_addr}")).await?;
    let (ws, sid, id) = (&mut stack.ws, stack.sid.clone(), &mut stack.next_id);
    // Warm-up: connections, caches, allocator.
    plan.tokens.store(2_000, Ordering::Relaxed);
    one_run(ws, &sid, id, base).await?;

    plan.tokens.store(100_000, Ordering::Relaxed);
    let result = one_run(ws, &sid, id, base).await?;
    let rate = result.deltas as f64 / result.elapsed.as_secs_f64();
    println!(
        "as fast as possible: {} deltas in {:.3} s = {:.0} deltas/s (goal >= 50,000); gaps: {}",
        result.deltas,
        result.elapsed.as_secs_f64(),
        rate,
        result.gaps
    );
    println!("  latency under full load: {}", summarize(result.latencies));

    plan.tokens.store(5_000, Ordering::Relaxed);
    plan.pause_us.store(500, Ordering::Relaxed);
    let paced = one_run(ws, &sid, id, base).await?;
    println!(
        "steady stream ({} deltas, one per ~0.5 ms): added latency {} (goal p99 <= 2 ms)",
        paced.deltas,
        summarize(paced.latencies)
    );
    stack.stop().await?;
    testkit_run().await
}

/// The same pipeline fed by the testkit (`Reply::repeat`, no delay): throughput only, since
/// its tokens carry no timestamps.
async fn testkit_run() -> anyhow::Result<()> {
    let llm = atelier_testkit::TestLlm::start().await?;
    llm.set_default(atelier_testkit::Scenario::Reply(atelier_testkit::Reply::repeat("tok ", 100_000)));
    let mut stack = Stack::start(&llm.url()).await?;
    let (ws, sid, id) = (&mut stack.ws, stack.sid.clone(), &mut stack.next_id);
    let base = Instant::now();
    let result = one_run(ws, &sid, id, base).await?;
    println!(
        "testkit as the model server: {} deltas in {:.3} s = {:.0} deltas/s (goal >= 50,000); gaps: {}",
        result.events,
        result.elapsed.as_secs_f64(),
        result.events as f64 / result.elapsed.as_secs_f64(),
        result.gaps
    );
    stack.stop().await
}

/// The engine and the WebSocket server on loopback, with a client subscribed to one session.
struct Stack {
    app: App,
    ws: Ws,
    sid: String,
    next_id: u64,
    shutdown: CancellationToken,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Stack {
    async fn start(model_url: &str) -> anyhow::Result<Stack> {
        let dir = tempfile::tempdir()?;
        let provider = OllamaProvider::new(model_url.parse()?, LlmConfig::default())?;
        let app = App::start(Config::new(dir.path().to_path_buf(), Arc::new(provider))).await?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr: SocketAddr = listener.local_addr()?;
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(atelier_server::serve(
            listener,
            app.clone(),
            ServerConfig::new(addr, "bench".into()),
            shutdown.clone(),
        ));
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws?token=bench")).await?;
        let session = call(&mut ws, 1, "sessions.create", json!({ "model": "test-model" })).await?;
        let sid = session["id"].as_str().context("session id")?.to_owned();
        call(&mut ws, 2, "subscribe", json!({ "topics": [format!("session/{sid}")] })).await?;
        Ok(Stack { app, ws, sid, next_id: 2, shutdown, server, _dir: dir })
    }

    async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.server.await??;
        self.app.shutdown().await;
        Ok(())
    }
}
