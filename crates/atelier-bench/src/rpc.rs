//! One JSON-RPC call through the engine's in-process client, as the UI makes it: the result, or
//! the error as a failure of the benchmark.

use anyhow::Context;
use serde_json::{Value, json};

pub async fn call(client: &atelier_core::Client, method: &str, params: Value) -> anyhow::Result<Value> {
    let request = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
    let text = client.handle_text(&request.to_string()).await.context("no answer")?;
    let mut v: Value = serde_json::from_str(&text)?;
    anyhow::ensure!(v.get("error").is_none(), "{method}: {v}");
    Ok(v["result"].take())
}
