//! One MCP tool call through Atelier (`App::call_mcp_tool`, what agents use: the supervised
//! server, the stdout filter, the result conversion) against a direct rmcp client call to the
//! same stdio server (`@modelcontextprotocol/server-everything`'s `echo`), 1,000 calls each.
//! Goal: p50 within +1 ms.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use atelier_core::{App, ClientLimits, Config};
use atelier_llm::{LlmConfig, OllamaProvider};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::stats::summarize;

const WARM_UP: usize = 50;

fn everything() -> anyhow::Result<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/mcp-peers/node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    anyhow::ensure!(path.is_file(), "{} is missing: run `npm ci` in tests/mcp-peers", path.display());
    Ok(path.to_string_lossy().into_owned())
}

fn arguments(i: usize) -> serde_json::Map<String, serde_json::Value> {
    let mut map = serde_json::Map::new();
    map.insert("message".into(), json!(format!("call {i}")));
    map
}

async fn direct(index: &str, calls: usize) -> anyhow::Result<Vec<Duration>> {
    let mut child = tokio::process::Command::new("node")
        .args([index, "stdio"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let (stdout, stdin) = (child.stdout.take().context("stdout")?, child.stdin.take().context("stdin")?);
    let client = ().serve((stdout, stdin)).await?;
    let mut samples = Vec::with_capacity(calls);
    for i in 0..WARM_UP + calls {
        let params = CallToolRequestParams::new("echo").with_arguments(arguments(i));
        let started = Instant::now();
        let result = client.peer().call_tool(params).await?;
        let took = started.elapsed();
        anyhow::ensure!(!result.content.is_empty(), "echo answered nothing");
        if i >= WARM_UP {
            samples.push(took);
        }
    }
    client.cancel().await?;
    child.kill().await?;
    Ok(samples)
}

async fn through_atelier(index: &str, calls: usize) -> anyhow::Result<Vec<Duration>> {
    let dir = tempfile::tempdir()?;
    let provider = OllamaProvider::new("http://127.0.0.1:9".parse()?, LlmConfig::default())?;
    let app = App::start(Config::new(dir.path().to_path_buf(), Arc::new(provider))).await?;
    let client = app.connect(ClientLimits::local());
    let request = json!({ "jsonrpc": "2.0", "id": 1, "method": "mcp.add",
        "params": { "name": "bench", "command": "node", "args": [index, "stdio"] } });
    client.handle_text(&request.to_string()).await.context("no answer to mcp.add")?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !app.mcp_tools().iter().any(|t| t.server == "bench" && t.name == "echo") {
        anyhow::ensure!(Instant::now() < deadline, "the server was not ready within 30 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cancel = CancellationToken::new();
    let mut samples = Vec::with_capacity(calls);
    for i in 0..WARM_UP + calls {
        let started = Instant::now();
        let result =
            app.call_mcp_tool("bench", "echo", serde_json::Value::Object(arguments(i)), &cancel).await?;
        let took = started.elapsed();
        anyhow::ensure!(result.text.contains(&format!("call {i}")), "echo answered {}", result.text);
        if i >= WARM_UP {
            samples.push(took);
        }
    }
    app.shutdown().await;
    Ok(samples)
}

pub async fn run(calls: usize) -> anyhow::Result<()> {
    let index = everything()?;
    println!(
        "== mcp: `echo` on server-everything over stdio, {calls} calls each (after {WARM_UP} to warm up)"
    );
    let direct = summarize(direct(&index, calls).await?);
    println!("direct rmcp client   {direct}");
    let atelier = summarize(through_atelier(&index, calls).await?);
    println!("through Atelier      {atelier}");
    let delta = |a: Duration, b: Duration| (a.as_secs_f64() - b.as_secs_f64()) * 1e3;
    println!(
        "overhead             p50 {:+.3} ms, p99 {:+.3} ms (goal: p50 within +1 ms)",
        delta(atelier.p50, direct.p50),
        delta(atelier.p99, direct.p99)
    );
    Ok(())
}
