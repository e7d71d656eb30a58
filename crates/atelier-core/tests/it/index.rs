//! The code index through the API: built when a project is opened, kept fresh by the watcher
//! and by writes, searched by keywords or hybrid, removed with its project, and given to the
//! workflow master as a repo map.

use std::time::Duration;

use atelier_core::Client;
use atelier_testkit::TestModel;
use serde_json::{Value, json};

use crate::support::{Harness, call, events_until, next_event, rpc};

const LIB: &str =
    "pub fn choose_num_ctx(tokens: u32) -> u32 {\n    tokens.max(4096)\n}\n\npub fn unused_helper() {}\n";
const MAIN: &str = "fn main() {\n    let n = lib::choose_num_ctx(10);\n    println!(\"{n}\");\n}\n";

/// A folder with a small Rust project, imported and opened (subscribed); returns its id once
/// the first index pass is announced.
async fn open_project(h: &Harness, client: &Client) -> String {
    let root = h.dir.path().join("work");
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(root.join("src/lib.rs"), LIB).unwrap();
    std::fs::write(root.join("src/main.rs"), MAIN).unwrap();
    let project = call(client, "projects.import", json!({ "path": root.to_string_lossy() })).await;
    let id = project["id"].as_str().unwrap().to_owned();
    call(client, "subscribe", json!({ "topics": [format!("project/{id}")] })).await;
    let ready = events_until(client, "index.ready").await;
    let status = &ready.last().unwrap().event.data["status"];
    assert_eq!(status["state"], "ready", "{status}");
    assert_eq!(status["files"], 2, "{status}");
    id
}

async fn search(client: &Client, id: &str, query: &str, mode: &str) -> Vec<Value> {
    let hits = call(client, "code.search", json!({ "project_id": id, "query": query, "mode": mode })).await;
    hits.as_array().unwrap().clone()
}

/// Waits for `index.updated` naming `path`.
async fn updated(client: &Client, path: &str) {
    loop {
        let event = next_event(client).await;
        if event.event.kind == "index.updated"
            && event.event.data["paths"].as_array().unwrap().iter().any(|p| p == path)
        {
            return;
        }
    }
}

#[tokio::test]
async fn an_outside_edit_shows_in_search_and_a_deleted_file_leaves() {
    let h = Harness::new().await;
    let client = h.client();
    let id = open_project(&h, &client).await;
    let hits = search(&client, &id, "chooseNumCtx", "auto").await;
    assert_eq!(hits[0]["path"], "src/lib.rs", "{hits:?}");
    assert_eq!(hits[0]["symbol"], "choose_num_ctx");
    assert_eq!(hits[0]["start_line"], 1);
    assert!(hits[0]["snippet"].as_str().unwrap().contains("tokens.max(4096)"));

    // Another program writes a file: the watcher's event updates the index.
    let root = h.dir.path().join("work");
    std::fs::write(root.join("src/net.rs"), "pub fn open_socket_listener() {}\n").unwrap();
    updated(&client, "src/net.rs").await;
    let hits = search(&client, &id, "open socket listener", "keyword").await;
    assert_eq!(hits[0]["path"], "src/net.rs", "{hits:?}");

    std::fs::remove_file(root.join("src/net.rs")).unwrap();
    updated(&client, "src/net.rs").await;
    assert!(search(&client, &id, "open socket listener", "keyword").await.is_empty());

    // A write through the API is indexed too.
    call(
        &client,
        "files.write",
        json!({ "project_id": id, "path": "src/api.rs", "content": "pub fn written_by_api() {}\n" }),
    )
    .await;
    updated(&client, "src/api.rs").await;
    assert_eq!(search(&client, &id, "written_by_api", "keyword").await[0]["path"], "src/api.rs");

    let symbols = call(&client, "code.symbols", json!({ "project_id": id, "path": "src/lib.rs" })).await;
    assert_eq!(symbols[0]["name"], "choose_num_ctx");
    assert_eq!(symbols[0]["kind"], "function");
    assert_eq!(symbols[0]["line"], 1);
    assert_eq!(symbols[1]["name"], "unused_helper");
    assert_eq!(symbols[1]["line"], 5);
    let found = call(&client, "code.symbols", json!({ "project_id": id, "query": "numctx" })).await;
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
}

#[tokio::test]
async fn files_changed_while_nothing_watched_are_caught_at_the_next_open() {
    let mut h = Harness::new().await;
    let client = h.client();
    let id = open_project(&h, &client).await;
    drop(client);
    h.restart().await;
    let root = h.dir.path().join("work");
    std::fs::write(root.join("src/lib.rs"), "pub fn renamed_while_closed() {}\n").unwrap();
    let client = h.client();
    call(&client, "subscribe", json!({ "topics": [format!("project/{id}")] })).await;
    events_until(&client, "index.ready").await;
    assert_eq!(search(&client, &id, "renamed while closed", "keyword").await[0]["path"], "src/lib.rs");
    assert!(search(&client, &id, "unused_helper", "keyword").await.is_empty());
}

#[tokio::test]
async fn any_query_gives_results_or_nothing_and_a_bad_mode_is_explained() {
    let h = Harness::new().await;
    let client = h.client();
    let id = open_project(&h, &client).await;
    let long = "ctx ".repeat(2_500);
    for query in ["", "!!!", "\"", "NEAR(a b)", "choose OR", "*", long.as_str(), "a:b -c ^d"] {
        let response = rpc(&client, "code.search", json!({ "project_id": id, "query": query })).await;
        assert!(response["result"].is_array(), "{query:?}: {response}");
    }
    assert!(!search(&client, &id, &long, "auto").await.is_empty());
    let response =
        rpc(&client, "code.search", json!({ "project_id": id, "query": "x", "mode": "fuzzy" })).await;
    assert_eq!(response["error"]["data"]["kind"], "invalid_input", "{response}");
    let response = rpc(&client, "code.search", json!({ "project_id": "prj_missing", "query": "x" })).await;
    assert_eq!(response["error"]["data"]["kind"], "not_found", "{response}");
}

#[tokio::test]
async fn keyword_mode_without_an_embedding_model_says_how_to_get_one() {
    let h = Harness::new().await;
    let client = h.client();
    let id = open_project(&h, &client).await;
    let status = call(&client, "index.status", json!({ "project_id": id })).await;
    assert_eq!(status["mode"], "keyword", "{status}");
    assert!(status["message"].as_str().unwrap().contains("ollama pull nomic-embed-text"), "{status}");
    assert_eq!(status["embedded_chunks"], 0);
}

/// Polls `index.status` until `check` holds (at most 20 s).
async fn status_until(client: &Client, id: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let status = call(client, "index.status", json!({ "project_id": id })).await;
        if check(&status) {
            return status;
        }
        assert!(tokio::time::Instant::now() < deadline, "status never matched: {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn hybrid_mode_with_an_embedding_model_falls_back_to_keywords_when_it_fails() {
    let h = Harness::new().await;
    h.llm.set_models(vec![TestModel::new("test-model", 8192), TestModel::embedding("nomic-embed-text")]);
    let client = h.client();
    let id = open_project(&h, &client).await;
    let status =
        status_until(&client, &id, |s| s["mode"] == "hybrid" && s["embedded_chunks"] == s["chunks"]).await;
    assert_eq!(status["embedding_model"], "nomic-embed-text", "{status}");
    assert!(h.llm.requests().iter().any(|r| r.path == "/api/embed"));
    // Semantic search finds by the query's embedding (the testkit's are bags of words).
    let hits = search(&client, &id, "choose num ctx tokens", "semantic").await;
    assert_eq!(hits[0]["path"], "src/lib.rs", "{hits:?}");
    let hits = search(&client, &id, "chooseNumCtx", "auto").await;
    assert_eq!(hits[0]["path"], "src/lib.rs", "{hits:?}");

    // The server loses its embedding model: searches still answer, by keywords, and the
    // status says why.
    h.llm.set_models(vec![TestModel::new("test-model", 8192)]);
    let hits = search(&client, &id, "chooseNumCtx", "auto").await;
    assert_eq!(hits[0]["path"], "src/lib.rs", "{hits:?}");
    let status = call(&client, "index.status", json!({ "project_id": id })).await;
    assert_eq!(status["mode"], "keyword", "{status}");
    assert!(status["message"].as_str().unwrap().contains("failed"), "{status}");
}

#[tokio::test]
async fn deleting_a_project_removes_its_index_and_rebuild_reads_everything_again() {
    let h = Harness::new().await;
    let client = h.client();
    let id = open_project(&h, &client).await;
    call(&client, "index.rebuild", json!({ "project_id": id })).await;
    let events = events_until(&client, "index.ready").await;
    assert!(events.iter().any(|e| e.event.kind == "index.progress" && e.event.data["files_total"] == 2));
    assert_eq!(events.last().unwrap().event.data["status"]["files"], 2);
    let file = h.dir.path().join("index").join(format!("{id}.db"));
    assert!(file.exists());
    call(&client, "projects.delete", json!({ "id": id })).await;
    assert!(!file.exists(), "the index file is gone with its project");
}

#[tokio::test]
async fn the_repo_map_fits_its_budget_and_reaches_the_master() {
    let h = Harness::new().await;
    let client = h.client();
    let id = open_project(&h, &client).await;
    let map =
        call(&client, "code.repo_map", json!({ "project_id": id, "focus": [], "budget_tokens": 1500 })).await;
    let text = map["map"].as_str().unwrap();
    assert!(map["tokens"].as_u64().unwrap() <= 1500);
    let used = text.find("choose_num_ctx").expect(text);
    let unused = text.find("unused_helper").expect(text);
    assert!(used < unused, "{text}");

    // The master's prompt carries the map.
    call(
        &client,
        "workflows.start",
        json!({ "project_id": id, "request": "make choose_num_ctx return at least 8192" }),
    )
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let asked = h.llm.requests().into_iter().find(|r| r.path == "/api/chat");
        if let Some(request) = asked {
            let prompt = request.body["messages"].to_string();
            assert!(prompt.contains("Repo map"), "{prompt}");
            assert!(prompt.contains("pub fn choose_num_ctx(tokens: u32) -> u32 {"), "{prompt}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the master was never asked");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_created_project_indexes_what_is_written_into_it_later() {
    let h = Harness::new().await;
    let client = h.client();
    let project = call(&client, "projects.create", json!({ "name": "fresh" })).await;
    let id = project["id"].as_str().unwrap().to_owned();
    call(&client, "subscribe", json!({ "topics": [format!("project/{id}")] })).await;
    let root = std::path::PathBuf::from(project["path"].as_str().unwrap());
    tokio::time::sleep(Duration::from_millis(300)).await;
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(root.join("src/deep.rs"), "// filler\npub fn locate_the_needle() -> u32 {\n    42\n}\n")
        .unwrap();
    updated(&client, "src/deep.rs").await;
    let hits = search(&client, &id, "locateTheNeedle", "auto").await;
    assert_eq!(hits[0]["path"], "src/deep.rs", "{hits:?}");
}
