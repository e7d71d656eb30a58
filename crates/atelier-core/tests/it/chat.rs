//! A whole chat: sessions with their system and seed messages, streamed replies, reasoning kept
//! apart, failures that keep the person's message, Stop, and history across restarts.

use std::time::Duration;

use atelier_testkit::{Reply, Scenario};
use serde_json::json;

use crate::support::{Harness, call, events_until, rpc};

#[tokio::test]
async fn a_session_starts_with_the_agents_system_and_seed_messages() {
    let h = Harness::new().await;
    let client = h.client();
    let session = call(&client, "sessions.create", json!({})).await;
    assert_eq!(session["agent"], "assistant");
    let messages = call(&client, "messages.list", json!({ "session_id": session["id"] })).await;
    let messages = messages.as_array().expect("list");
    assert_eq!(messages[0]["role"], "system");
    assert!(messages[0]["content"].as_str().expect("text").contains("coding assistant"));
    assert_eq!(messages[1]["role"], "assistant");
    assert!(messages.len() >= 2);

    let unknown = rpc(&client, "sessions.create", json!({ "agent": "wizard" })).await;
    assert_eq!(unknown["error"]["data"]["kind"], "invalid_input");
    assert!(unknown["error"]["message"].as_str().expect("msg").contains("assistant"));
}

#[tokio::test]
async fn a_reply_streams_as_deltas_and_is_stored_complete() {
    let h = Harness::new().await;
    h.llm.push(Scenario::Reply(Reply::text("Hello there, how can I help?").thinking("The user greets me.")));
    let client = h.client();
    let session = call(&client, "sessions.create", json!({})).await;
    let sid = session["id"].as_str().expect("id").to_owned();
    call(&client, "subscribe", json!({ "topics": [format!("session/{sid}")] })).await;
    let sent = call(&client, "messages.send", json!({ "session_id": sid, "content": "hi" })).await;
    let reply_id = sent["reply_id"].as_str().expect("reply id").to_owned();

    let events = events_until(&client, "message.completed").await;
    let mut text = String::new();
    let mut reasoning = String::new();
    for e in &events {
        if e.event.kind == "message.delta" && e.event.data["message_id"] == reply_id.as_str() {
            let delta = e.event.data["delta"].as_str().expect("delta");
            if e.event.data["reasoning"] == true { reasoning.push_str(delta) } else { text.push_str(delta) }
        }
    }
    assert_eq!(text, "Hello there, how can I help?");
    assert_eq!(reasoning, "The user greets me.");
    let seqs: Vec<u64> = events.iter().map(|e| e.event.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "seq increases: {seqs:?}");
    let completed = &events.last().expect("completed").event.data["message"];
    assert_eq!(completed["status"], "complete");
    assert_eq!(completed["content"], "Hello there, how can I help?");
    assert_eq!(completed["reasoning"], "The user greets me.");

    let usage = events_until(&client, "context.usage").await;
    let usage = &usage.last().expect("usage").event.data;
    assert_eq!(usage["limit_tokens"], 8192);
    assert!(usage["used_tokens"].as_u64().expect("used") > 0);
    // A short chat asks for a small window, and says which.
    assert_eq!(usage["num_ctx"], 4096);

    let messages = call(&client, "messages.list", json!({ "session_id": sid })).await;
    let last = messages.as_array().expect("list").last().expect("reply").clone();
    assert_eq!(last["id"], reply_id.as_str());
    assert_eq!(last["content"], "Hello there, how can I help?");
    // The model saw the system message, the seed and the person's message, in order.
    let request = h.llm.requests().into_iter().rev().find(|r| r.path == "/api/chat").expect("chat request");
    assert_eq!(request.body["options"]["num_ctx"], 4096, "the window sent to Ollama");
    let roles: Vec<_> =
        request.body["messages"].as_array().expect("messages").iter().map(|m| m["role"].clone()).collect();
    assert_eq!(roles, vec![json!("system"), json!("assistant"), json!("user")]);
    let sessions = call(&client, "sessions.list", json!({})).await;
    assert_eq!(sessions[0]["title"], "hi", "the first message names the session");
}

#[tokio::test]
async fn an_unreachable_model_fails_the_reply_clearly_and_keeps_the_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Nothing listens on this port: the connection is refused.
    let app = crate::support::start_app(dir.path(), "http://127.0.0.1:9").await;
    let client = app.connect(atelier_core::ClientLimits::local());
    let session = call(&client, "sessions.create", json!({ "model": "llama3.2" })).await;
    let sid = session["id"].as_str().expect("id").to_owned();
    call(&client, "subscribe", json!({ "topics": [format!("session/{sid}")] })).await;
    let sent =
        call(&client, "messages.send", json!({ "session_id": sid, "content": "are you there?" })).await;
    let events = events_until(&client, "message.failed").await;
    let failed = &events.last().expect("failed").event.data;
    assert_eq!(failed["message_id"], sent["reply_id"]);
    assert_eq!(failed["error"]["kind"], "unavailable");
    assert_eq!(failed["error"]["retryable"], true);
    assert!(failed["error"]["message"].as_str().expect("msg").contains("OLLAMA_HOST"));
    let messages = call(&client, "messages.list", json!({ "session_id": sid })).await;
    let messages = messages.as_array().expect("list");
    let user = messages.iter().find(|m| m["id"] == sent["user_message_id"]).expect("user message kept");
    assert_eq!(user["content"], "are you there?");
    let reply = messages.iter().find(|m| m["id"] == sent["reply_id"]).expect("reply kept");
    assert_eq!(reply["status"], "failed");
    // Everything else keeps working.
    assert_eq!(call(&client, "system.ping", json!({})).await["pong"], true);
    let health = call(&client, "system.health", json!({})).await;
    assert_eq!(health["status"], "degraded");
}

#[tokio::test]
async fn a_failed_reply_is_retried_without_the_failed_text_and_kept_in_the_history() {
    let h = Harness::new().await;
    let client = h.client();
    h.llm.push(Scenario::ErrorLine { before: "half an ans".into(), error: "the model crashed".into() });
    h.llm.push(Scenario::Reply(Reply::text("Here I am.")));
    let session = call(&client, "sessions.create", json!({})).await;
    let sid = session["id"].as_str().expect("id").to_owned();
    call(&client, "subscribe", json!({ "topics": [format!("session/{sid}")] })).await;
    let sent =
        call(&client, "messages.send", json!({ "session_id": sid, "content": "are you there?" })).await;
    events_until(&client, "message.failed").await;

    let retried = call(&client, "messages.retry", json!({ "session_id": sid })).await;
    let reply_id = retried["reply_id"].as_str().expect("reply id").to_owned();
    assert_ne!(reply_id, sent["reply_id"].as_str().expect("first reply"));
    let events = events_until(&client, "message.completed").await;
    assert_eq!(events.last().expect("completed").event.data["message"]["content"], "Here I am.");
    // The model saw the question once and not the failed attempt's text.
    let asked = h.llm.requests().into_iter().rfind(|r| r.path == "/api/chat").expect("request");
    let asked = asked.body["messages"].to_string();
    assert_eq!(asked.matches("are you there?").count(), 1, "{asked}");
    assert!(!asked.contains("half an ans"), "{asked}");
    // Nothing is lost: the question, the failed reply and the new one, in order.
    let messages = call(&client, "messages.list", json!({ "session_id": sid })).await;
    let tail: Vec<_> =
        messages.as_array().expect("list").iter().rev().take(3).rev().map(|m| m["status"].clone()).collect();
    assert_eq!(tail, vec![json!("complete"), json!("failed"), json!("complete")]);

    let again = rpc(&client, "messages.retry", json!({ "session_id": sid })).await;
    assert_eq!(again["error"]["data"]["kind"], "conflict", "the last reply did not fail: {again}");
    let unknown = rpc(&client, "messages.retry", json!({ "session_id": "ses_nope" })).await;
    assert_eq!(unknown["error"]["data"]["kind"], "not_found");
}

#[tokio::test]
async fn a_session_is_renamed_and_keeps_its_name_after_the_first_message() {
    let h = Harness::new().await;
    let client = h.client();
    h.llm.push(Scenario::Reply(Reply::text("ok")));
    let session = call(&client, "sessions.create", json!({})).await;
    let sid = session["id"].as_str().expect("id").to_owned();
    let renamed = call(&client, "sessions.rename", json!({ "id": sid, "title": "  Parser work  " })).await;
    assert_eq!(renamed["title"], "Parser work");
    call(&client, "subscribe", json!({ "topics": [format!("session/{sid}")] })).await;
    call(&client, "messages.send", json!({ "session_id": sid, "content": "first message" })).await;
    events_until(&client, "message.completed").await;
    let listed = call(&client, "sessions.list", json!({})).await;
    let found =
        listed.as_array().expect("list").iter().find(|s| s["id"] == sid.as_str()).cloned().expect("listed");
    assert_eq!(found["title"], "Parser work", "the first message does not replace a chosen title");
    let empty = rpc(&client, "sessions.rename", json!({ "id": sid, "title": " " })).await;
    assert_eq!(empty["error"]["data"]["kind"], "invalid_input");
    let unknown = rpc(&client, "sessions.rename", json!({ "id": "ses_nope", "title": "x" })).await;
    assert_eq!(unknown["error"]["data"]["kind"], "not_found");
}

#[tokio::test]
async fn a_missing_model_says_how_to_pull_it() {
    let h = Harness::new().await;
    let client = h.client();
    let session = call(&client, "sessions.create", json!({ "model": "no-such-model" })).await;
    let sid = session["id"].as_str().expect("id").to_owned();
    call(&client, "subscribe", json!({ "topics": [format!("session/{sid}")] })).await;
    call(&client, "messages.send", json!({ "session_id": sid, "content": "hi" })).await;
    let events = events_until(&client, "message.failed").await;
    let error = &events.last().expect("failed").event.data["error"];
    assert_eq!(error["kind"], "not_found");
    assert!(error["message"].as_str().expect("msg").contains("ollama pull no-such-model"));
}

#[tokio::test]
async fn stop_keeps_the_partial_reply_as_interrupted() {
    let h = Harness::new().await;
    h.llm.push(Scenario::Reply(Reply::repeat("word ", 400).delay(Duration::from_millis(10))));
    let client = h.client();
    let session = call(&client, "sessions.create", json!({})).await;
    let sid = session["id"].as_str().expect("id").to_owned();
    call(&client, "subscribe", json!({ "topics": [format!("session/{sid}")] })).await;
    let sent = call(&client, "messages.send", json!({ "session_id": sid, "content": "count" })).await;
    events_until(&client, "message.delta").await;
    let busy = rpc(&client, "messages.send", json!({ "session_id": sid, "content": "again" })).await;
    assert_eq!(busy["error"]["data"]["kind"], "conflict", "one reply at a time: {busy}");
    assert_eq!(call(&client, "messages.stop", json!({ "session_id": sid })).await["stopped"], true);
    let events = events_until(&client, "message.completed").await;
    let message = &events.last().expect("completed").event.data["message"];
    assert_eq!(message["id"], sent["reply_id"]);
    assert_eq!(message["status"], "interrupted");
    let kept = message["content"].as_str().expect("content");
    assert!(kept.starts_with("word "), "partial text kept: {kept:?}");
    assert!(kept.len() < 400 * 5, "stopped before the end");
}

#[tokio::test]
async fn history_survives_a_restart_and_a_streaming_reply_becomes_interrupted() {
    let mut h = Harness::new().await;
    h.llm.push(Scenario::Reply(Reply::text("First answer.")));
    let client = h.client();
    let session = call(&client, "sessions.create", json!({})).await;
    let sid = session["id"].as_str().expect("id").to_owned();
    call(&client, "subscribe", json!({ "topics": [format!("session/{sid}")] })).await;
    call(&client, "messages.send", json!({ "session_id": sid, "content": "question one" })).await;
    events_until(&client, "message.completed").await;
    // A reply still streaming when the engine stops is saved as interrupted.
    h.llm.push(Scenario::Reply(Reply::repeat("slow ", 1000).delay(Duration::from_millis(5))));
    call(&client, "messages.send", json!({ "session_id": sid, "content": "question two" })).await;
    events_until(&client, "message.delta").await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    drop(client);
    h.restart().await;

    let client = h.client();
    let messages = call(&client, "messages.list", json!({ "session_id": sid })).await;
    let contents: Vec<_> =
        messages.as_array().expect("list").iter().map(|m| (m["role"].clone(), m["status"].clone())).collect();
    assert_eq!(contents.len(), 6, "system, seed, 2 questions, 2 replies: {contents:?}");
    let all = messages.as_array().expect("list");
    assert_eq!(all[2]["content"], "question one");
    assert_eq!(all[3]["content"], "First answer.");
    assert_eq!(all[4]["content"], "question two");
    assert_eq!(all[5]["status"], "interrupted");
    assert!(all[5]["content"].as_str().expect("text").starts_with("slow "));
    assert_eq!(h.app.store().integrity_check().await.expect("check"), "ok");
}

#[tokio::test]
async fn search_finds_messages_across_sessions() {
    let h = Harness::new().await;
    h.llm.push(Scenario::Reply(Reply::text("Use a borrow checker friendly design.")));
    let client = h.client();
    let session = call(&client, "sessions.create", json!({})).await;
    let sid = session["id"].as_str().expect("id").to_owned();
    call(&client, "subscribe", json!({ "topics": [format!("session/{sid}")] })).await;
    call(
        &client,
        "messages.send",
        json!({ "session_id": sid, "content": "How do I appease the borrow checker?" }),
    )
    .await;
    events_until(&client, "message.completed").await;
    let hits = call(&client, "messages.search", json!({ "query": "borrow checker" })).await;
    let hits = hits.as_array().expect("hits");
    assert_eq!(hits.len(), 2);
    assert!(hits.iter().all(|h| h["snippet"].as_str().expect("snippet").to_lowercase().contains("borrow")));
    let none = call(&client, "messages.search", json!({ "query": "\"unbalanced (" })).await;
    assert_eq!(none.as_array().expect("hits").len(), 0);
}
