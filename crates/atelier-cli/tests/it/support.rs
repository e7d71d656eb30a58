//! Running the `atelier` binary, and a minimal WebSocket JSON-RPC client for it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

pub fn atelier(data_dir: &Path, llm_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_atelier"));
    cmd.env("ATELIER_DATA_DIR", data_dir)
        .env("OLLAMA_HOST", llm_url)
        .env_remove("ATELIER_MODEL")
        .env_remove("ATELIER_TOKEN")
        .env_remove("ATELIER_OPENAI_BASE_URL")
        .env_remove("ATELIER_PROVIDER")
        .env_remove("ATELIER_ENDPOINTS")
        .env_remove("ATELIER_ENDPOINT_CONCURRENCY")
        .env("ATELIER_KEYCHAIN_SERVICE", "dev.atelier.cli-tests")
        .env("ATELIER_LOG", "warn");
    cmd
}

pub struct Served {
    pub child: Child,
    pub base: String,
    pub token: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Err(e) = self.child.kill() {
            eprintln!("server already gone: {e}");
        }
        if let Err(e) = self.child.wait() {
            eprintln!("waiting for the server: {e}");
        }
    }
}

/// Starts `atelier serve --bind 127.0.0.1:0` and reads the two lines it prints.
pub fn serve(data_dir: &Path, llm_url: &str) -> Served {
    let mut child = atelier(data_dir, llm_url)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("atelier serve starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    lines.read_line(&mut first).expect("first line");
    let mut second = String::new();
    lines.read_line(&mut second).expect("second line");
    let base = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected: {first:?}"))
        .to_owned();
    let token = second
        .trim()
        .strip_prefix(&format!("open {base}/#token="))
        .unwrap_or_else(|| panic!("unexpected: {second:?}"))
        .to_owned();
    Served { child, base, token }
}

pub struct Ws {
    ws: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    next_id: u64,
    pub events: Vec<Value>,
}

impl Ws {
    pub async fn connect(served: &Served) -> Ws {
        let url = format!("{}/ws?token={}", served.base.replace("http://", "ws://"), served.token);
        let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("connect");
        Ws { ws, next_id: 1, events: Vec::new() }
    }

    async fn frame(&mut self) -> Value {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(10), self.ws.next())
                .await
                .expect("frame in time")
                .expect("open")
                .expect("ok");
            if let Message::Text(text) = msg {
                return serde_json::from_str(text.as_str()).expect("json");
            }
        }
    }

    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let request = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
        self.ws.send(Message::Text(request.to_string().into())).await.expect("send");
        loop {
            let frame = self.frame().await;
            if frame["method"] == "event" {
                self.events.push(frame["params"].clone());
            } else if frame["id"] == id {
                assert!(frame.get("error").is_none(), "{method}: {frame}");
                return frame["result"].clone();
            }
        }
    }

    pub async fn event_of(&mut self, kind: &str) -> Value {
        while !self.events.is_empty() {
            let event = self.events.remove(0);
            if event["type"] == kind {
                return event;
            }
        }
        loop {
            let frame = self.frame().await;
            if frame["method"] == "event" && frame["params"]["type"] == kind {
                return frame["params"].clone();
            }
        }
    }
}
