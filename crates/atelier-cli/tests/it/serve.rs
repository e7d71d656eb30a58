//! `atelier serve`: the contract's start-up lines, a chat through it, and a kill -9 in the
//! middle of a streamed reply that loses nothing acknowledged.

use std::time::Duration;

use atelier_testkit::{Reply, Scenario, TestLlm};
use serde_json::json;

use crate::support::{Ws, serve};

#[tokio::test]
async fn serve_prints_its_address_and_token_and_holds_a_chat() {
    let llm = TestLlm::start().await.expect("testkit");
    llm.push(Scenario::Reply(Reply::text("Hi from the model.")));
    let dir = tempfile::tempdir().expect("tempdir");
    let served = serve(dir.path(), &llm.url());
    assert!(served.base.starts_with("http://127.0.0.1:") && !served.base.ends_with(":0"), "{}", served.base);
    let stored = std::fs::read_to_string(dir.path().join("token")).expect("token kept in the data folder");
    assert_eq!(stored.trim(), served.token);

    let health: serde_json::Value = reqwest_like_get(&format!("{}/health", served.base)).await;
    assert_eq!(health["status"], "ok");

    let mut ws = Ws::connect(&served).await;
    let session = ws.call("sessions.create", json!({})).await;
    let sid = session["id"].as_str().expect("id").to_owned();
    ws.call("subscribe", json!({ "topics": [format!("session/{sid}")] })).await;
    ws.call("messages.send", json!({ "session_id": sid, "content": "hello" })).await;
    let done = ws.event_of("message.completed").await;
    assert_eq!(done["data"]["message"]["content"], "Hi from the model.");
    assert!(dir.path().join("logs").is_dir(), "logs go to the data folder");
}

/// A tiny HTTP GET without another client library: the server speaks plain HTTP/1.1.
async fn reqwest_like_get(url: &str) -> serde_json::Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("http url");
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).expect("path");
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut body = String::new();
    stream.read_to_string(&mut body).await.expect("read");
    let (head, json) = body.split_once("\r\n\r\n").expect("http response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    serde_json::from_str(json.trim()).unwrap_or_else(|e| panic!("{e}: {json}"))
}

#[tokio::test]
async fn kill_9_during_a_reply_keeps_the_message_and_the_partial_reply() {
    let llm = TestLlm::start().await.expect("testkit");
    llm.push(Scenario::Reply(Reply::repeat("chunk ", 2000).delay(Duration::from_millis(5))));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut served = serve(dir.path(), &llm.url());
    let mut ws = Ws::connect(&served).await;
    let session = ws.call("sessions.create", json!({})).await;
    let sid = session["id"].as_str().expect("id").to_owned();
    ws.call("subscribe", json!({ "topics": [format!("session/{sid}")] })).await;
    let sent = ws.call("messages.send", json!({ "session_id": sid, "content": "stream a lot" })).await;
    ws.event_of("message.delta").await;
    // Long enough for the ~100 ms saves to have written some of the reply.
    tokio::time::sleep(Duration::from_millis(400)).await;
    served.child.kill().expect("kill -9"); // SIGKILL on Unix
    served.child.wait().expect("reaped");
    drop(ws);

    let served = serve(dir.path(), &llm.url());
    let mut ws = Ws::connect(&served).await;
    let messages = ws.call("messages.list", json!({ "session_id": sid })).await;
    let messages = messages.as_array().expect("list");
    let user = messages.iter().find(|m| m["id"] == sent["user_message_id"]).expect("user message survived");
    assert_eq!(user["content"], "stream a lot");
    let reply = messages.iter().find(|m| m["id"] == sent["reply_id"]).expect("reply survived");
    assert_eq!(reply["status"], "interrupted");
    let partial = reply["content"].as_str().expect("text");
    assert!(partial.starts_with("chunk chunk"), "partial reply kept: {partial:?}");
    assert!(partial.len() < 6 * 2000);
    drop(served);

    let store = atelier_store::Store::open(&dir.path().join("atelier.db")).expect("open");
    assert_eq!(store.integrity_check().await.expect("check"), "ok");
}
