//! Full-text search: whatever the user types is safe, and hits are marked in the snippet.

use atelier_store::{MessageRole, MessageRow, Store};

use crate::{message, project, session, temp_store};

struct Corpus {
    store: Store,
    _dir: tempfile::TempDir,
    /// Message ids by a short name.
    ids: Vec<(&'static str, String)>,
}

impl Corpus {
    fn id(&self, name: &str) -> &str {
        self.ids.iter().find(|(n, _)| *n == name).map(|(_, id)| id.as_str()).unwrap()
    }

    fn name(&self, id: &str) -> &'static str {
        self.ids.iter().find(|(_, i)| i == id).map(|(n, _)| *n).unwrap()
    }

    /// Searches and returns the names of the hits, best first, after checking every snippet.
    async fn check(&self, query: &str, expect: &[&str]) {
        let hits = self.store.search_messages(query, None, 10).await.unwrap();
        let names: Vec<&str> = hits.iter().map(|(m, _)| self.name(&m.id)).collect();
        assert_eq!(names, expect, "search {query:?}");
        for (m, snippet) in &hits {
            assert!(snippet.contains('[') && snippet.contains(']'), "{query:?}: {snippet:?} ({m:?})");
        }
    }
}

async fn corpus() -> Corpus {
    let (dir, store) = temp_store();
    let s = session(None);
    let texts = [
        ("quote", r#"she said "hello" and left"#),
        ("or", "tea OR coffee, either works"),
        ("parens", "call f(x) then g(y)"),
        ("glob", "match files with src/*.rs"),
        ("cafe", "Meet me at the Café at noon"),
        ("japanese", "日本語 のテキスト"),
        ("rust", "Rust makes systems programming safer"),
        ("emoji", "ship it 🚀 today"),
    ];
    let rows: Vec<MessageRow> =
        texts.iter().map(|(_, text)| message(&s.id, MessageRole::User, text)).collect();
    let ids = texts.iter().zip(&rows).map(|((name, _), m)| (*name, m.id.clone())).collect();
    store.insert_session(s, rows).await.unwrap();
    Corpus { store, _dir: dir, ids }
}

#[tokio::test]
async fn hostile_input_never_errors() {
    let c = corpus().await;
    // Nothing searchable: no results, no error.
    for query in ["", "   ", "\"", "(", ")", "*", "\"\"", "-", "^", ":", "🚀", "NEAR(", "(*)"] {
        c.check(query, &[]).await;
    }
    // FTS5 syntax is searched for as plain words.
    c.check("OR", &["or"]).await;
    c.check("tea OR", &["or"]).await;
    c.check("a OR (", &[]).await;
    c.check("\"hello", &["quote"]).await;
    c.check("hello\"", &["quote"]).await;
    c.check("f(x)", &["parens"]).await;
    c.check("src/*.rs", &["glob"]).await;
    c.check("coffee*", &["or"]).await;
    c.check("content:rust", &[]).await;
    c.check("( OR *", &["or"]).await;
    c.check("NEAR(tea coffee)", &[]).await;
    c.check("-rust", &["rust"]).await;
}

#[tokio::test]
async fn words_are_anded_and_case_and_accents_are_ignored() {
    let c = corpus().await;
    c.check("rust safer", &["rust"]).await;
    c.check("rust coffee", &[]).await;
    c.check("RUST", &["rust"]).await;
    c.check("cafe", &["cafe"]).await;
    c.check("CAFÉ noon", &["cafe"]).await;
    c.check("日本語", &["japanese"]).await;
    c.check("ship 🚀", &["emoji"]).await;
}

#[tokio::test]
async fn the_snippet_marks_the_hits() {
    let c = corpus().await;
    let hits = c.store.search_messages("programming", None, 10).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].0.id, c.id("rust"));
    assert_eq!(hits[0].1, "Rust makes systems [programming] safer");
}

#[tokio::test]
async fn better_matches_come_first_and_limit_is_respected() {
    let (_dir, store) = temp_store();
    let s = session(None);
    let passing = message(
        &s.id,
        MessageRole::User,
        "a long message about many things, gardens and weather and trains, that mentions tokio once",
    );
    let focused = message(&s.id, MessageRole::Assistant, "tokio tokio: the tokio runtime");
    store.insert_session(s, vec![passing.clone(), focused.clone()]).await.unwrap();

    let hits = store.search_messages("tokio", None, 10).await.unwrap();
    let ids: Vec<&str> = hits.iter().map(|(m, _)| m.id.as_str()).collect();
    assert_eq!(ids, vec![focused.id.as_str(), passing.id.as_str()]);
    assert_eq!(hits[0].0, focused, "the full message comes back");
    assert_eq!(store.search_messages("tokio", None, 1).await.unwrap().len(), 1);
}

#[tokio::test]
async fn search_can_be_limited_to_one_project() {
    let (_dir, store) = temp_store();
    let (a, b) = (project("a"), project("b"));
    store.insert_project(a.clone()).await.unwrap();
    store.insert_project(b.clone()).await.unwrap();
    let (sa, sb, loose) = (session(Some(&a.id)), session(Some(&b.id)), session(None));
    let in_a = message(&sa.id, MessageRole::User, "deploy the service");
    let in_b = message(&sb.id, MessageRole::User, "deploy the website");
    let nowhere = message(&loose.id, MessageRole::User, "deploy nothing");
    store.insert_session(sa, vec![in_a.clone()]).await.unwrap();
    store.insert_session(sb, vec![in_b.clone()]).await.unwrap();
    store.insert_session(loose, vec![nowhere]).await.unwrap();

    let hits = store.search_messages("deploy", Some(a.id.clone()), 10).await.unwrap();
    assert_eq!(hits.iter().map(|(m, _)| m.id.clone()).collect::<Vec<_>>(), vec![in_a.id]);
    assert_eq!(store.search_messages("deploy", None, 10).await.unwrap().len(), 3);
    assert!(store.search_messages("deploy", Some("prj_none".into()), 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn search_follows_edits_to_a_message() {
    let (_dir, store) = temp_store();
    let s = session(None);
    let reply = message(&s.id, MessageRole::Assistant, "first draft about pumpkins");
    store.insert_session(s, vec![reply.clone()]).await.unwrap();

    store
        .update_message(&reply.id, "final answer about turnips".into(), String::new(), None, None)
        .await
        .unwrap();
    assert!(store.search_messages("pumpkins", None, 10).await.unwrap().is_empty());
    assert_eq!(store.search_messages("turnips", None, 10).await.unwrap().len(), 1);

    // Updating only the reasoning leaves the text (and its index entry) as it was.
    store
        .update_message(&reply.id, "final answer about turnips".into(), "hmm".into(), None, None)
        .await
        .unwrap();
    assert_eq!(store.search_messages("turnips", None, 10).await.unwrap().len(), 1);
    assert!(store.search_messages("hmm", None, 10).await.unwrap().is_empty(), "reasoning is not indexed");
    assert_eq!(store.integrity_check().await.unwrap(), "ok");
}

#[tokio::test]
async fn a_word_in_thousands_of_messages_still_finds_the_best_recent_ones() {
    let (_dir, store) = temp_store();
    let s = session(None);
    store.insert_session(s.clone(), Vec::new()).await.unwrap();
    let mut rows: Vec<MessageRow> = (0..3000)
        .map(|i| message(&s.id, MessageRole::User, &format!("status update {i}: the build is green")))
        .collect();
    let best = message(&s.id, MessageRole::Assistant, "build build build");
    rows.push(best.clone());
    let bulk = store.clone();
    tokio::task::spawn_blocking(move || bulk.insert_messages_bulk_blocking(rows)).await.unwrap().unwrap();

    let hits = store.search_messages("build", None, 20).await.unwrap();
    assert_eq!(hits.len(), 20);
    assert_eq!(hits[0].0.id, best.id);
    assert_eq!(hits[0].1, "[build] [build] [build]");
}
