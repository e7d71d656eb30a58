//! A server on 127.0.0.1:0 backed by a real engine and the testkit, and a WebSocket client.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use atelier_core::{App, Config};
use atelier_llm::{LlmConfig, OllamaProvider};
use atelier_server::{Limits, ServerConfig};
use atelier_testkit::TestLlm;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

pub const TOKEN: &str = "test-token";

pub struct Server {
    pub addr: SocketAddr,
    pub app: App,
    pub llm: TestLlm,
    pub shutdown: CancellationToken,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

pub async fn start() -> Server {
    start_with(Limits::default()).await
}

pub async fn start_with(limits: Limits) -> Server {
    let llm = TestLlm::start().await.expect("testkit");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = LlmConfig {
        connect_timeout: Duration::from_secs(2),
        first_byte_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(5),
        max_retries: 1,
        retry_min_delay: Duration::from_millis(10),
        retry_max_delay: Duration::from_millis(20),
    };
    let provider = OllamaProvider::new(llm.url().parse().expect("url"), config).expect("provider");
    let app = App::start(Config::new(dir.path().to_path_buf(), Arc::new(provider))).await.expect("app");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut server_config = ServerConfig::new(addr, TOKEN.into());
    server_config.limits = limits;
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(atelier_server::serve(listener, app.clone(), server_config, shutdown.clone()));
    Server { addr, app, llm, shutdown, task, _dir: dir }
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

impl Server {
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws?token={TOKEN}", self.addr)
    }

    pub async fn connect(&self) -> Ws {
        let (ws, _) = tokio_tungstenite::connect_async(self.ws_url()).await.expect("ws connect");
        ws
    }

    /// The HTTP status of an upgrade attempt with extra headers (and an optional query).
    pub async fn upgrade_status(&self, query: &str, headers: &[(&str, &str)]) -> u16 {
        let mut request = format!("ws://{}/ws{query}", self.addr).into_client_request().expect("request");
        for (name, value) in headers {
            request.headers_mut().insert(
                tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                value.parse().expect("value"),
            );
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((_, response)) => response.status().as_u16(),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
            Err(e) => panic!("unexpected upgrade error: {e}"),
        }
    }
}

/// A JSON-RPC client over one WebSocket that sets events aside while waiting for responses.
pub struct RpcClient {
    pub ws: Ws,
    pub events: Vec<Value>,
    next_id: u64,
}

impl RpcClient {
    pub fn new(ws: Ws) -> Self {
        Self { ws, events: Vec::new(), next_id: 1 }
    }

    pub async fn send_text(&mut self, text: String) {
        self.ws.send(Message::Text(text.into())).await.expect("send");
    }

    /// The next text frame as JSON (10 s at most).
    pub async fn recv(&mut self) -> Value {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(10), self.ws.next())
                .await
                .expect("a frame within 10 s")
                .expect("connection open")
                .expect("frame ok");
            match frame {
                Message::Text(text) => return serde_json::from_str(text.as_str()).expect("JSON frame"),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// Sends a request and returns its response; events arriving meanwhile go to `events`.
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send_text(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }).to_string())
            .await;
        loop {
            let frame = self.recv().await;
            if frame["method"] == "event" {
                self.events.push(frame["params"].clone());
            } else if frame["id"] == id {
                return frame;
            }
        }
    }

    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        let response = self.request(method, params).await;
        assert!(response.get("error").is_none(), "{method} failed: {response}");
        response["result"].clone()
    }

    /// The next event (set-aside ones first).
    pub async fn event(&mut self) -> Value {
        if !self.events.is_empty() {
            return self.events.remove(0);
        }
        loop {
            let frame = self.recv().await;
            if frame["method"] == "event" {
                return frame["params"].clone();
            }
        }
    }

    pub async fn event_of(&mut self, kind: &str) -> Value {
        loop {
            let event = self.event().await;
            if event["type"] == kind {
                return event;
            }
        }
    }
}
