//! Memory given back after load: the release `atelier serve` binary (built beside this one)
//! against the testkit; its resident memory at start, after 2,000 connections come and go,
//! after 3,000 requests with hostile paths, and after a slow consumer that reads nothing while
//! a 50,000-token reply streams. Goal: idle after load ≤ 2× the start.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::Context;
use atelier_testkit::{Reply, Scenario, TestLlm};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn rss_mib(pid: u32) -> anyhow::Result<f64> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).context("reading /proc (Linux only)")?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmRSS")?;
    Ok(kib / 1024.0)
}

async fn request(ws: &mut Ws, id: u64, method: &str, params: Value) -> anyhow::Result<Value> {
    let text = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }).to_string();
    ws.send(Message::Text(text.into())).await?;
    loop {
        if let Message::Text(text) = ws.next().await.context("closed")?? {
            let value: Value = serde_json::from_str(text.as_str())?;
            if value["id"] == id {
                return Ok(value);
            }
        }
    }
}

/// RSS once it stops falling (allocators give memory back lazily): the lowest of a few looks.
async fn settled(pid: u32) -> anyhow::Result<f64> {
    let mut lowest = f64::MAX;
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        lowest = lowest.min(rss_mib(pid)?);
    }
    Ok(lowest)
}

pub async fn run() -> anyhow::Result<()> {
    println!("== memory of an idle `atelier serve` after load");
    let binary = std::env::current_exe()?.with_file_name("atelier");
    anyhow::ensure!(
        binary.exists(),
        "{} is missing: build it first (cargo build --release -p atelier-cli -p atelier-bench)",
        binary.display()
    );
    let llm = TestLlm::start().await?;
    let data = tempfile::tempdir()?;
    let mut child = Command::new(&binary)
        .args(["serve", "--bind", "127.0.0.1:0", "--token", "bench"])
        .env("ATELIER_DATA_DIR", data.path())
        .env("OLLAMA_HOST", llm.url())
        .env("ATELIER_LOG", "error")
        .env("ATELIER_KEYCHAIN_SERVICE", "dev.atelier.bench")
        .stdout(Stdio::piped())
        .spawn()
        .context("starting atelier serve")?;
    let pid = child.id();
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
    let base = line.trim().strip_prefix("listening on http://").context("listening line")?.to_owned();
    let url = format!("ws://{base}/ws?token=bench");
    let start = settled(pid).await?;
    println!("start: {start:.1} MiB");

    // 2,000 connections come and go, 100 at a time, each subscribing and asking something.
    for _ in 0..20 {
        let mut batch = Vec::new();
        for _ in 0..100 {
            let (mut ws, _) = tokio_tungstenite::connect_async(&url).await?;
            request(&mut ws, 1, "subscribe", json!({ "topics": ["system", "models"] })).await?;
            request(&mut ws, 2, "projects.list", json!({})).await?;
            batch.push(ws);
        }
        for mut ws in batch {
            ws.close(None).await?;
        }
    }
    let connections = settled(pid).await?;
    println!(
        "after 2,000 connections came and went: {connections:.1} MiB ({:.2}x start)",
        connections / start
    );

    // 3,000 requests with hostile paths, as the probe made: 50 clients at once, 60 each.
    let (mut ws, _) = tokio_tungstenite::connect_async(&url).await?;
    let project = request(&mut ws, 1, "projects.create", json!({ "name": "memory" })).await?;
    let project_id = project["result"]["id"].clone();
    drop(ws);
    let mut clients = tokio::task::JoinSet::new();
    for client in 0..50u64 {
        let (url, project_id) = (url.clone(), project_id.clone());
        clients.spawn(async move {
            let (mut ws, _) = tokio_tungstenite::connect_async(&url).await?;
            let long = "d/".repeat(400);
            let paths =
                ["../x", "/etc/passwd", "a\u{0}b", ".git/config", "con", long.as_str(), "ok/file.txt"];
            for i in 0..60u64 {
                let path = format!("{}{}", paths[(client + i) as usize % paths.len()], i % 50);
                let method = if i % 2 == 0 { "files.write" } else { "files.read" };
                let params = json!({ "project_id": project_id, "path": path, "content": "x".repeat(4096) });
                request(&mut ws, 10 + i, method, params).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = clients.join_next().await {
        done??;
    }
    let paths_rss = settled(pid).await?;
    println!("after 3,000 hostile path requests: {paths_rss:.1} MiB ({:.2}x start)", paths_rss / start);

    // A slow consumer: subscribed to a long reply it never reads, while another client follows it.
    llm.push(Scenario::Reply(Reply::repeat("flood ", 50_000)));
    let (mut slow, _) = tokio_tungstenite::connect_async(&url).await?;
    let session = request(&mut slow, 1, "sessions.create", json!({})).await?;
    let sid = session["result"]["id"].as_str().context("session id")?.to_owned();
    request(&mut slow, 2, "subscribe", json!({ "topics": [format!("session/{sid}")] })).await?;
    let (mut follower, _) = tokio_tungstenite::connect_async(&url).await?;
    request(&mut follower, 1, "subscribe", json!({ "topics": [format!("session/{sid}")] })).await?;
    request(&mut follower, 2, "messages.send", json!({ "session_id": sid, "content": "go" })).await?;
    loop {
        if let Message::Text(text) = follower.next().await.context("closed")??
            && text.as_str().contains("\"message.completed\"")
        {
            break;
        }
    }
    let during = rss_mib(pid)?;
    drop(slow);
    drop(follower);
    let slow_rss = settled(pid).await?;
    println!(
        "slow consumer: {during:.1} MiB while it lagged, {slow_rss:.1} MiB after it left ({:.2}x start; goal <= 2x)",
        slow_rss / start
    );
    child.kill()?;
    child.wait()?;
    Ok(())
}
