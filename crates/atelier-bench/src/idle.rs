//! Idle WebSocket connections: the server runs in a child process; the parent opens N
//! connections, makes one request on each, and reads the child's resident memory before and
//! after. Prints the memory each idle connection costs.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use atelier_core::{App, Config};
use atelier_llm::{LlmConfig, OllamaProvider};
use atelier_server::ServerConfig;
use futures::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

fn raise_fd_limit(want: u64) -> anyhow::Result<u64> {
    let (soft, hard) = rlimit::Resource::NOFILE.get()?;
    let target = want.min(hard);
    if soft < target {
        rlimit::Resource::NOFILE.set(target, hard)?;
    }
    Ok(target)
}

fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).context("reading /proc (Linux only)")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmRSS")
}

/// The child: the engine and server on 127.0.0.1:0; prints the port; runs until killed.
pub async fn serve_child() -> anyhow::Result<()> {
    raise_fd_limit(65_536)?;
    let dir = tempfile::tempdir()?;
    let provider = OllamaProvider::new("http://127.0.0.1:9".parse()?, LlmConfig::default())?;
    let app = App::start(Config::new(dir.path().to_path_buf(), Arc::new(provider))).await?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    println!("{addr}");
    atelier_server::serve(listener, app, ServerConfig::new(addr, "bench".into()), CancellationToken::new())
        .await?;
    Ok(())
}

pub async fn run(count: usize) -> anyhow::Result<()> {
    println!("== idle WebSocket connections: {count}");
    let limit = raise_fd_limit(65_536)?;
    anyhow::ensure!(
        limit as usize > count + 100,
        "open-file limit {limit} is too low for {count} connections"
    );
    let mut child = Command::new(std::env::current_exe()?)
        .arg("serve-child")
        .stdout(Stdio::piped())
        .spawn()
        .context("starting the server process")?;
    let pid = child.id();
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
    let addr = line.trim().to_owned();
    let url = format!("ws://{addr}/ws?token=bench");

    // Warm up: a few connections come and go so one-time allocations are not counted.
    for _ in 0..20 {
        let (mut ws, _) = tokio_tungstenite::connect_async(&url).await?;
        ping(&mut ws).await?;
        ws.close(None).await?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib(pid)?;
    let mut open = Vec::with_capacity(count);
    for _ in 0..count {
        let (mut ws, _) = tokio_tungstenite::connect_async(&url).await?;
        ping(&mut ws).await?;
        open.push(ws);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_kib(pid)?;
    let per = (after.saturating_sub(before)) as f64 * 1024.0 / count as f64;
    println!(
        "server RSS {:.1} MiB before, {:.1} MiB with {count} idle connections: {:.1} KiB per connection (goal <= 16 KiB)",
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        per / 1024.0
    );
    drop(open);
    child.kill()?;
    child.wait()?;
    Ok(())
}

async fn ping(
    ws: &mut tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
) -> anyhow::Result<()> {
    ws.send(Message::Text(r#"{"jsonrpc":"2.0","id":1,"method":"system.ping"}"#.into())).await?;
    loop {
        match ws.next().await.context("closed")?? {
            Message::Text(_) => return Ok(()),
            _ => continue,
        }
    }
}
