//! Limits and bad input: oversized frames, invalid UTF-8 and garbage get errors; a slow or
//! misbehaving client never stops another from being served.

use std::time::{Duration, Instant};

use atelier_server::Limits;
use atelier_testkit::{Reply, Scenario};
use futures::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{RpcClient, start, start_with};

#[tokio::test]
async fn bad_frames_get_errors_and_the_connection_lives_on() {
    let server = start().await;
    let mut client = RpcClient::new(server.connect().await);
    let cases: Vec<(Message, i64, &str)> = vec![
        (Message::Text("{nope".into()), -32700, "invalid_input"),
        (
            Message::Text(r#"{"jsonrpc":"2.0","id":1,"method":"projects.get","params":{"id":5}}"#.into()),
            -32602,
            "invalid_input",
        ),
        (Message::Text(r#"{"jsonrpc":"2.0","id":1,"method":"what.ever"}"#.into()), -32601, "not_found"),
        (Message::Binary(vec![0xff, 0xfe, 0x00].into()), -32700, "invalid_input"),
        (
            Message::Text(format!(r#"{{"pad":"{}"}}"#, "x".repeat(1024 * 1024 + 10)).into()),
            -32600,
            "invalid_input",
        ),
    ];
    for (frame, code, kind) in cases {
        client.ws.send(frame).await.expect("send");
        let response = client.recv().await;
        assert_eq!(response["error"]["code"], code, "{response}");
        assert_eq!(response["error"]["data"]["kind"], kind, "{response}");
    }
    assert_eq!(client.call("system.ping", json!({})).await["pong"], true, "still served");
}

#[tokio::test]
async fn one_client_flooding_or_hanging_does_not_stall_another() {
    let server = start().await;
    // A client that subscribes to a busy topic and never reads.
    let mut stalled = RpcClient::new(server.connect().await);
    let session = stalled.call("sessions.create", json!({})).await;
    let sid = session["id"].as_str().expect("id").to_owned();
    stalled.call("subscribe", json!({ "topics": [format!("session/{sid}")] })).await;
    server.llm.push(Scenario::Reply(Reply::repeat("flood ", 50_000)));
    let mut active = RpcClient::new(server.connect().await);
    active.call("subscribe", json!({ "topics": [format!("session/{sid}")] })).await;
    active.call("messages.send", json!({ "session_id": sid, "content": "go" })).await;
    // The active client follows the whole reply while the stalled one reads nothing.
    let done = tokio::time::timeout(Duration::from_secs(60), active.event_of("message.completed"))
        .await
        .expect("completed");
    assert_eq!(done["data"]["message"]["content"].as_str().expect("text").len(), 6 * 50_000);
    let started = Instant::now();
    assert_eq!(active.call("system.ping", json!({})).await["pong"], true);
    assert!(started.elapsed() < Duration::from_secs(5));
    // When the stalled client finally reads, it learns what it missed through a gap.
    let mut saw_gap = false;
    for _ in 0..20_000 {
        let event = stalled.event().await;
        if event["type"] == "stream.gap" {
            saw_gap = true;
            break;
        }
    }
    assert!(saw_gap, "the stalled client is told it fell behind");
}

#[tokio::test]
async fn silent_peers_are_dropped() {
    use futures::StreamExt;
    let limits = Limits {
        ping_every: Duration::from_millis(100),
        dead_after: Duration::from_millis(300),
        ..Limits::default()
    };
    let server = start_with(limits).await;
    let ws = server.connect().await;
    // Never read: tungstenite answers pings only while reading, so this peer goes silent.
    let (_sink, mut stream) = ws.split();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let mut closed = false;
    loop {
        match tokio::time::timeout(Duration::from_secs(2), stream.next()).await {
            Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => {
                closed = true;
                break;
            }
            Ok(Some(Ok(_))) => continue,
            Err(_) => break,
        }
    }
    assert!(closed, "the server hung up on a peer that stopped answering");
}
