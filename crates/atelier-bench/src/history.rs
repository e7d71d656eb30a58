//! History: a database with a million messages; the latest 100 of a session, an append with its
//! commit, and a full-text search, each timed through the store's async API as the engine uses it.

use std::time::Instant;

use atelier_store::{MessageRole, MessageRow, MessageStatus, SessionRow, Store, new_id, now};
use rand::Rng;
use rand::seq::IndexedRandom;

use crate::stats::summarize;

pub(crate) const SESSIONS: usize = 1_000;

pub(crate) fn vocabulary() -> Vec<String> {
    let onsets = ["b", "c", "d", "f", "g", "l", "m", "n", "p", "r", "s", "t", "v", "z", "st", "tr"];
    let vowels = ["a", "e", "i", "o", "u", "ai", "ou"];
    let codas = ["", "n", "r", "s", "t", "x", "ck"];
    let mut words = Vec::new();
    for o in onsets {
        for v in vowels {
            for c in codas {
                words.push(format!("{o}{v}{c}"));
            }
        }
    }
    words
}

pub(crate) fn message(session: &str, words: &[String], rng: &mut impl Rng) -> MessageRow {
    let n = rng.random_range(8..60);
    let content: Vec<&str> = (0..n).map(|_| words.choose(rng).map(String::as_str).unwrap_or("x")).collect();
    let time = now();
    MessageRow {
        id: new_id("msg"),
        session_id: session.to_owned(),
        role: if rng.random_bool(0.5) { MessageRole::User } else { MessageRole::Assistant },
        content: content.join(" "),
        reasoning: String::new(),
        status: MessageStatus::Complete,
        error: None,
        model: None,
        created_at: time.clone(),
        updated_at: time,
        tool: Default::default(),
    }
}

/// `SESSIONS` empty sessions, for the messages to go into; their ids.
pub(crate) async fn sessions(store: &Store) -> anyhow::Result<Vec<String>> {
    let mut sessions = Vec::new();
    for i in 0..SESSIONS {
        let session = SessionRow {
            id: new_id("ses"),
            project_id: None,
            agent: "assistant".into(),
            title: format!("session {i}"),
            model: None,
            created_at: now(),
            tools: false,
        };
        sessions.push(session.id.clone());
        store.insert_session(session, Vec::new()).await?;
    }
    Ok(sessions)
}

pub async fn run(total: usize) -> anyhow::Result<()> {
    println!("== history: {total} messages in {SESSIONS} sessions");
    let dir = tempfile::tempdir()?;
    let store = Store::open(&dir.path().join("atelier.db"))?;
    let words = vocabulary();
    let mut rng = rand::rng();
    let sessions = sessions(&store).await?;
    let started = Instant::now();
    let per_batch = 10_000;
    let mut done = 0;
    while done < total {
        let batch: Vec<MessageRow> = (0..per_batch.min(total - done))
            .map(|i| message(&sessions[(done + i) % SESSIONS], &words, &mut rng))
            .collect();
        done += batch.len();
        let s = store.clone();
        tokio::task::spawn_blocking(move || s.insert_messages_bulk_blocking(batch)).await??;
    }
    let size = std::fs::metadata(dir.path().join("atelier.db"))?.len();
    println!(
        "seeded in {:.1} s ({:.0} MiB on disk)",
        started.elapsed().as_secs_f64(),
        size as f64 / (1024.0 * 1024.0)
    );

    let mut latest = Vec::new();
    for _ in 0..2_000 {
        let session = sessions.choose(&mut rng).cloned().unwrap_or_default();
        let t = Instant::now();
        let rows = store.list_messages(&session, None, 100).await?;
        latest.push(t.elapsed());
        anyhow::ensure!(rows.len() == 100, "expected 100 messages, got {}", rows.len());
    }
    println!("latest 100 of a session: {} (goal p99 <= 1 ms)", summarize(latest));

    let mut appends = Vec::new();
    for _ in 0..2_000 {
        let session = sessions.choose(&mut rng).cloned().unwrap_or_default();
        let row = message(&session, &words, &mut rng);
        let t = Instant::now();
        store.insert_message(row).await?;
        appends.push(t.elapsed());
    }
    println!("append with commit: {} (goal p99 <= 2 ms)", summarize(appends));

    let mut searches = Vec::new();
    let mut hits = 0;
    for _ in 0..300 {
        let query = format!(
            "{} {}",
            words.choose(&mut rng).map(String::as_str).unwrap_or("a"),
            words.choose(&mut rng).map(String::as_str).unwrap_or("b")
        );
        let t = Instant::now();
        hits += store.search_messages(&query, None, 20).await?.len();
        searches.push(t.elapsed());
    }
    println!("full-text search (2 words, top 20): {} (goal p99 <= 50 ms); {hits} hits", summarize(searches));
    store.close();
    Ok(())
}
