//! Shared set-up: an engine on a temporary data folder talking to a testkit model server.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use atelier_core::{App, Client, ClientLimits, Config, Published};
use atelier_llm::{LlmConfig, OllamaProvider};
use atelier_testkit::TestLlm;
use serde_json::{Value, json};

pub struct Harness {
    pub app: App,
    pub llm: TestLlm,
    pub dir: tempfile::TempDir,
}

pub fn llm_config() -> LlmConfig {
    LlmConfig {
        connect_timeout: Duration::from_secs(2),
        first_byte_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(5),
        max_retries: 2,
        retry_min_delay: Duration::from_millis(10),
        retry_max_delay: Duration::from_millis(50),
    }
}

pub async fn start_app(dir: &Path, llm_url: &str) -> App {
    let provider = OllamaProvider::new(llm_url.parse().expect("url"), llm_config()).expect("provider");
    App::start(Config::new(dir.to_path_buf(), Arc::new(provider))).await.expect("app starts")
}

impl Harness {
    pub async fn new() -> Harness {
        let llm = TestLlm::start().await.expect("testkit");
        let dir = tempfile::tempdir().expect("tempdir");
        let app = start_app(dir.path(), &llm.url()).await;
        Harness { app, llm, dir }
    }

    /// Stops the engine and starts a new one on the same data folder.
    pub async fn restart(&mut self) {
        self.app.shutdown().await;
        self.app = start_app(self.dir.path(), &self.llm.url()).await;
    }

    pub fn client(&self) -> Client {
        self.app.connect(ClientLimits::local())
    }
}

/// One JSON-RPC call; returns the whole response object.
pub async fn rpc(client: &Client, method: &str, params: Value) -> Value {
    let request = json!({ "jsonrpc": "2.0", "id": "t", "method": method, "params": params });
    let text = client.handle_text(&request.to_string()).await.expect("a response");
    serde_json::from_str(&text).expect("response is JSON")
}

/// The result of a call that must succeed.
pub async fn call(client: &Client, method: &str, params: Value) -> Value {
    let response = rpc(client, method, params).await;
    assert!(response.get("error").is_none(), "{method} failed: {response}");
    response["result"].clone()
}

/// Waits for the next event (at most 10 s).
pub async fn next_event(client: &Client) -> Arc<Published> {
    tokio::time::timeout(Duration::from_secs(10), client.next_event())
        .await
        .expect("an event within 10 s")
        .expect("client open")
}

/// Collects events until one of type `kind` arrives; returns them all, that one last.
pub async fn events_until(client: &Client, kind: &str) -> Vec<Arc<Published>> {
    let mut seen = Vec::new();
    loop {
        let event = next_event(client).await;
        let done = event.event.kind == kind;
        seen.push(event);
        if done {
            return seen;
        }
    }
}
