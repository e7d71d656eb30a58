//! The event bus as a subscriber sees it: replay after a seq exactly once and in order, gaps
//! said out loud, and a slow subscriber that never grows memory or stalls others.

use std::time::Duration;

use atelier_core::bus::TOPIC_REPLAY;
use serde_json::json;

use crate::support::{Harness, call, next_event};

#[tokio::test]
async fn resubscribing_after_a_seq_replays_exactly_the_missed_events_in_order() {
    let h = Harness::new().await;
    let bus = h.app.bus();
    let first = h.client();
    call(&first, "subscribe", json!({ "topics": ["session/a", "session/b"] })).await;
    for i in 0..10 {
        bus.publish(if i % 2 == 0 { "session/a" } else { "session/b" }, "test.tick", json!({ "i": i }));
    }
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(next_event(&first).await.event.seq);
    }
    let last_seen = *seen.last().expect("some");
    drop(first);
    for i in 10..15 {
        bus.publish("session/a", "test.tick", json!({ "i": i }));
    }
    bus.publish("session/other", "test.tick", json!({}));

    let again = h.client();
    call(&again, "subscribe", json!({ "topics": ["session/a", "session/b"], "after_seq": last_seen })).await;
    let mut replayed = Vec::new();
    while let Some(e) = again.try_next_event() {
        replayed.push(e);
    }
    let is: Vec<i64> = replayed.iter().map(|e| e.event.data["i"].as_i64().expect("i")).collect();
    assert_eq!(is, (4..15).collect::<Vec<_>>(), "every missed event once, in order");
    assert!(replayed.iter().all(|e| e.event.seq > last_seen));
    assert!(replayed.iter().all(|e| e.event.kind != "stream.gap"));
}

#[tokio::test]
async fn asking_for_events_no_longer_retained_starts_with_a_gap() {
    let h = Harness::new().await;
    let bus = h.app.bus();
    let start = bus.last_seq();
    for i in 0..(TOPIC_REPLAY + 10) {
        bus.publish("session/long", "test.tick", json!({ "i": i }));
    }
    let client = h.client();
    call(&client, "subscribe", json!({ "topics": ["session/long"], "after_seq": start })).await;
    let gap = next_event(&client).await;
    assert_eq!(gap.event.kind, "stream.gap");
    assert_eq!(gap.event.data["from_seq"], start + 1);
    assert_eq!(gap.event.data["to_seq"], start + 10);
    let next = next_event(&client).await;
    assert_eq!(next.event.data["i"], 10, "then the oldest retained event");
}

#[tokio::test]
async fn a_subscriber_that_falls_behind_gets_a_gap_not_unbounded_memory() {
    let h = Harness::new().await;
    let bus = h.app.bus();
    let slow = h
        .app
        .connect(atelier_core::ClientLimits { queue_capacity: 8, ..atelier_core::ClientLimits::local() });
    let fast = h.client();
    call(&slow, "subscribe", json!({ "topics": ["session/flood"] })).await;
    call(&fast, "subscribe", json!({ "topics": ["session/flood"] })).await;
    let first = bus.last_seq() + 1;
    for i in 0..100 {
        bus.publish("session/flood", "test.tick", json!({ "i": i }));
    }
    // The fast subscriber got everything.
    for i in 0..100 {
        assert_eq!(next_event(&fast).await.event.data["i"], i);
    }
    // The slow one got what fit, then an explicit gap for the rest.
    let mut got = Vec::new();
    while let Some(e) = slow.try_next_event() {
        got.push(e);
    }
    assert_eq!(got.len(), 9, "8 queued + 1 gap");
    assert_eq!(got[0].event.seq, first);
    let gap = got.last().expect("gap");
    assert_eq!(gap.event.kind, "stream.gap");
    assert_eq!(gap.event.data["from_seq"], first + 8);
    assert_eq!(gap.event.data["to_seq"], first + 99);
    // After catching up it receives new events again.
    bus.publish("session/flood", "test.tick", json!({ "i": 100 }));
    let next =
        tokio::time::timeout(Duration::from_secs(2), slow.next_event()).await.expect("event").expect("open");
    assert_eq!(next.event.data["i"], 100);
}

#[tokio::test]
async fn durable_events_replay_after_a_restart_behind_a_gap() {
    let mut h = Harness::new().await;
    let client = h.client();
    let session = call(&client, "sessions.create", json!({})).await;
    let sid = session["id"].as_str().expect("id").to_owned();
    drop(client);
    // Ephemeral events (never stored) take seqs too; a client keeps the highest it saw.
    for i in 0..50 {
        h.app.bus().publish("terminal/t1", "terminal.output", json!({ "i": i }));
    }
    let before = h.app.bus().last_seq();
    h.restart().await;
    let after = h.app.bus().publish(&format!("session/{sid}"), "test.tick", json!({}));
    assert!(after > before, "a seq after a restart is past every seq handed out before: {after} vs {before}");
    let client = h.client();
    call(&client, "subscribe", json!({ "topics": [format!("session/{sid}")], "after_seq": 0 })).await;
    let mut kinds = Vec::new();
    while let Some(e) = client.try_next_event() {
        kinds.push(e.event.kind.clone());
    }
    assert_eq!(kinds.first().map(String::as_str), Some("stream.gap"));
    assert!(kinds.contains(&"session.created".to_owned()));
    assert!(kinds.iter().filter(|k| *k == "message.created").count() >= 2);
}
