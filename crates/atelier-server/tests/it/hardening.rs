//! What an adversarial probe found in the server, reproduced over real TCP: a flood of
//! half-open connections that filled the process, WebSocket protocol errors answered by a
//! dropped connection instead of a close frame, `/health` naming models to anyone, and idle
//! WebSockets kept forever.

use std::time::{Duration, Instant};

use atelier_server::Limits;
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{RpcClient, Server, TOKEN, start, start_with};

/// A plain HTTP GET; the status code and body.
async fn get(server: &Server, path: &str, headers: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n{headers}\r\n", server.addr);
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut response))
        .await
        .expect("an answer within 10 s")
        .expect("read");
    let status = response.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

/// Whether the server closed the connection (EOF or reset) within `wait`.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 256];
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue, // e.g. a 408 before the close
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn a_half_open_header_flood_neither_starves_health_and_clients_nor_lasts() {
    let limits = Limits {
        header_timeout: Duration::from_millis(1500),
        max_connections: 48,
        reserved_for_clients: 8,
        ..Limits::default()
    };
    let server = start_with(limits).await;
    let mut flood = Vec::new();
    for _ in 0..300 {
        let mut stream = TcpStream::connect(server.addr).await.expect("connect");
        stream.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX: ").await.expect("write");
        flood.push(stream);
    }
    // While the flood is open: health answers and a person with the token gets in and is served.
    let (status, body) = get(&server, "/health", "").await;
    assert_eq!(status, 200, "{body}");
    let mut client = RpcClient::new(server.connect().await);
    assert_eq!(client.call("system.ping", json!({})).await["pong"], true);
    // More of the flood cannot push the authenticated client out.
    for _ in 0..100 {
        let mut stream = TcpStream::connect(server.addr).await.expect("connect");
        stream.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX: ").await.expect("write");
        flood.push(stream);
    }
    assert_eq!(client.call("system.ping", json!({})).await["pong"], true, "still served after more flood");
    // Every half-open connection is closed: the oldest to make room, the rest by the header timeout.
    let started = Instant::now();
    for (i, stream) in flood.iter_mut().enumerate() {
        assert!(closed_within(stream, Duration::from_secs(10)).await, "flood connection {i} is still open");
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(client.call("system.ping", json!({})).await["pong"], true);
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_by_the_header_timeout() {
    let limits = Limits { header_timeout: Duration::from_millis(500), ..Limits::default() };
    let server = start_with(limits).await;
    let mut silent = TcpStream::connect(server.addr).await.expect("connect");
    assert!(closed_within(&mut silent, Duration::from_secs(5)).await, "a silent connection is closed");
}

/// Opens a WebSocket by hand (so that frames a library would never send can be written) and
/// returns the stream after the 101.
async fn raw_websocket(server: &Server) -> TcpStream {
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    let request = format!(
        "GET /ws?token={TOKEN} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        server.addr
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).await.expect("read handshake");
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&head));
    stream
}

/// A client frame: FIN, `opcode`, masked with a zero key unless `masked` is false.
fn frame(opcode: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut out = vec![0x80 | opcode];
    let mask_bit = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n if n <= 0xffff => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        out.extend_from_slice(&[0, 0, 0, 0]); // a zero key leaves the payload as it is
    }
    out.extend_from_slice(payload);
    out
}

/// Reads server frames until a close frame; returns its code.
async fn close_code(stream: &mut TcpStream) -> u16 {
    let read = async {
        loop {
            let mut head = [0u8; 2];
            stream.read_exact(&mut head).await.expect("a frame, not a dropped connection (1006)");
            let len = match head[1] & 0x7f {
                126 => {
                    let mut n = [0u8; 2];
                    stream.read_exact(&mut n).await.expect("len");
                    u16::from_be_bytes(n) as usize
                }
                127 => {
                    let mut n = [0u8; 8];
                    stream.read_exact(&mut n).await.expect("len");
                    u64::from_be_bytes(n) as usize
                }
                n => n as usize,
            };
            let mut payload = vec![0u8; len];
            stream.read_exact(&mut payload).await.expect("payload");
            if head[0] & 0x0f == 0x8 {
                return u16::from_be_bytes([payload[0], payload[1]]);
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read).await.expect("a close frame within 10 s")
}

#[tokio::test]
async fn protocol_errors_are_closed_with_their_close_codes() {
    let server = start().await;
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("invalid UTF-8 in a text frame", frame(0x1, &[b'{', 0xff, 0xfe, b'}'], true), 1007),
        ("an unmasked client frame", frame(0x1, b"{}", false), 1002),
        ("an unknown opcode", frame(0x3, b"x", true), 1002),
        (
            "a frame over 4 MiB",
            {
                // Only the header of a 5 MiB frame: the size alone is refused.
                let mut f = vec![0x81, 0x80 | 127];
                f.extend_from_slice(&(5u64 * 1024 * 1024).to_be_bytes());
                f.extend_from_slice(&[0, 0, 0, 0]);
                f.extend_from_slice(&[b'x'; 1024]);
                f
            },
            1009,
        ),
    ];
    for (what, bytes, expected) in cases {
        let mut stream = raw_websocket(&server).await;
        stream.write_all(&bytes).await.expect("write frame");
        assert_eq!(close_code(&mut stream).await, expected, "{what}");
    }
    // The server serves others as before.
    let mut client = RpcClient::new(server.connect().await);
    assert_eq!(client.call("system.ping", json!({})).await["pong"], true);
}

#[tokio::test]
async fn health_without_the_token_names_no_models_or_versions() {
    let server = start().await;
    let (status, body) = get(&server, "/health", "").await;
    assert_eq!(status, 200);
    let health: Value = serde_json::from_str(&body).expect("JSON");
    assert!(health["status"].is_string());
    let names: Vec<&str> =
        health["checks"].as_array().expect("checks").iter().filter_map(|c| c["name"].as_str()).collect();
    assert!(names.contains(&"database"), "{names:?}");
    for secret in ["test-model", "0.12.0-testkit", &server.llm.url(), env!("CARGO_PKG_VERSION")] {
        assert!(!body.contains(secret), "/health without a token reveals {secret}: {body}");
    }
    for check in health["checks"].as_array().expect("checks") {
        assert!(check.get("detail").is_none(), "{check}");
    }
    // With the token (either way it may be given), the details are there.
    for (path, header) in [
        (format!("/health?token={TOKEN}"), String::new()),
        ("/health".to_owned(), format!("authorization: bearer {TOKEN}\r\n")),
    ] {
        let (status, body) = get(&server, &path, &header).await;
        assert_eq!(status, 200);
        assert!(body.contains("test-model"), "with the token the details name the models: {body}");
    }
}

#[tokio::test]
async fn an_idle_websocket_without_subscriptions_is_closed_and_a_subscribed_one_is_not() {
    let limits = Limits {
        idle_after: Duration::from_millis(600),
        ping_every: Duration::from_millis(200),
        ..Limits::default()
    };
    let server = start_with(limits).await;
    let mut idle = server.connect().await;
    let mut subscribed = RpcClient::new(server.connect().await);
    subscribed.call("subscribe", json!({ "topics": ["system"] })).await;
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match idle.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    })
    .await
    .expect("the idle connection is closed within 10 s");
    assert_eq!(closed, Some(1000), "closed normally, with a close frame");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(subscribed.call("system.ping", json!({})).await["pong"], true, "a subscriber stays");
}
