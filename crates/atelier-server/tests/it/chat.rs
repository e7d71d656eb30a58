//! A whole chat as a third-party WebSocket client holds it, and reconnection with `after_seq`.

use atelier_testkit::{Reply, Scenario};
use serde_json::json;

use crate::support::{RpcClient, start};

#[tokio::test]
async fn a_whole_chat_over_the_websocket() {
    let server = start().await;
    server.llm.push(Scenario::Reply(Reply::text("Rust is a systems language.").split_lines()));
    let mut client = RpcClient::new(server.connect().await);
    assert_eq!(client.call("system.ping", json!({})).await["pong"], true);
    let project = client.call("projects.create", json!({ "name": "demo" })).await;
    let session = client.call("sessions.create", json!({ "project_id": project["id"] })).await;
    let sid = session["id"].as_str().expect("id").to_owned();
    let subscribed = client.call("subscribe", json!({ "topics": [format!("session/{sid}")] })).await;
    assert!(subscribed["last_seq"].as_u64().is_some());
    let sent = client.call("messages.send", json!({ "session_id": sid, "content": "What is Rust?" })).await;

    let mut text = String::new();
    let mut last_seq = 0;
    loop {
        let event = client.event().await;
        let seq = event["seq"].as_u64().expect("seq");
        assert!(seq > last_seq, "events arrive in seq order");
        last_seq = seq;
        match event["type"].as_str().expect("type") {
            "message.delta" => text.push_str(event["data"]["delta"].as_str().expect("delta")),
            "message.completed" => {
                assert_eq!(event["data"]["message"]["id"], sent["reply_id"]);
                break;
            }
            _ => {}
        }
    }
    assert_eq!(text, "Rust is a systems language.");
    let messages = client.call("messages.list", json!({ "session_id": sid })).await;
    let last = &messages.as_array().expect("list").last().expect("reply").clone();
    assert_eq!(last["content"], "Rust is a systems language.");
    assert_eq!(last["status"], "complete");
    let hits =
        client.call("messages.search", json!({ "query": "systems", "project_id": project["id"] })).await;
    assert_eq!(hits.as_array().expect("hits").len(), 1);
}

#[tokio::test]
async fn a_reconnecting_client_gets_exactly_the_missed_events() {
    let server = start().await;
    let mut first = RpcClient::new(server.connect().await);
    let session = first.call("sessions.create", json!({})).await;
    let sid = session["id"].as_str().expect("id").to_owned();
    let topic = format!("session/{sid}");
    first.call("subscribe", json!({ "topics": [topic] })).await;
    server.llm.push(Scenario::Reply(Reply::text("one two three")));
    first.call("messages.send", json!({ "session_id": sid, "content": "first" })).await;
    let done = first.event_of("message.completed").await;
    let seen_up_to = done["seq"].as_u64().expect("seq");
    first.ws.close(None).await.expect("close");

    // While disconnected, another client chats in the same session.
    let mut other = RpcClient::new(server.connect().await);
    server.llm.push(Scenario::Reply(Reply::text("four five")));
    other.call("subscribe", json!({ "topics": [topic] })).await;
    other.call("messages.send", json!({ "session_id": sid, "content": "second" })).await;
    other.event_of("message.completed").await;

    let mut back = RpcClient::new(server.connect().await);
    back.call("subscribe", json!({ "topics": [topic], "after_seq": seen_up_to })).await;
    let mut seqs = Vec::new();
    let mut text = String::new();
    loop {
        let event = back.event().await;
        assert_ne!(event["type"], "stream.gap");
        seqs.push(event["seq"].as_u64().expect("seq"));
        if event["type"] == "message.delta" {
            text.push_str(event["data"]["delta"].as_str().expect("delta"));
        }
        if event["type"] == "message.completed" {
            break;
        }
    }
    assert!(seqs.iter().all(|&s| s > seen_up_to), "nothing already seen is replayed: {seqs:?}");
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order, no duplicates: {seqs:?}");
    assert_eq!(text, "four five");
}
