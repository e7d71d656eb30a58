//! What an adversarial probe found, each reproduced through the API: checkpoint restores that
//! wrote or deleted outside the project through a folder swapped for a symlink, panics and
//! `internal` answers on odd paths and ids, messages that named the project's absolute path,
//! and invalid requests without an id that got no answer.

use serde_json::{Value, json};

use crate::support::{Harness, call, rpc};

/// A project with a first commit, and a folder outside it.
async fn project(h: &Harness) -> (atelier_core::Client, String, std::path::PathBuf, std::path::PathBuf) {
    let client = h.client();
    let project = call(&client, "projects.create", json!({ "name": "probe" })).await;
    let id = project["id"].as_str().expect("id").to_owned();
    let root = std::path::PathBuf::from(project["path"].as_str().expect("path"));
    let outside = h.dir.path().join("outside");
    std::fs::create_dir_all(&outside).expect("outside folder");
    (client, id, root, outside)
}

fn error_kind(response: &Value) -> &str {
    response["error"]["data"]["kind"].as_str().unwrap_or_else(|| panic!("an error: {response}"))
}

/// Replaces the folder `name` in `root` with a symlink to `target`.
#[cfg(unix)]
fn swap_for_link(root: &std::path::Path, name: &str, target: &std::path::Path) {
    std::fs::remove_dir_all(root.join(name)).expect("remove folder");
    std::os::unix::fs::symlink(target, root.join(name)).expect("symlink");
}

#[cfg(unix)]
#[tokio::test]
async fn a_checkpoint_restore_never_writes_through_a_folder_swapped_for_a_symlink() {
    let h = Harness::new().await;
    let (client, id, root, outside) = project(&h).await;
    std::fs::write(outside.join("f.txt"), "the outside file\n").expect("outside file");
    call(&client, "files.write", json!({ "project_id": id, "path": "d/f.txt", "content": "one\n" })).await;
    call(&client, "git.stage", json!({ "project_id": id, "paths": ["d/f.txt"] })).await;
    call(&client, "git.commit", json!({ "project_id": id, "message": "first" })).await;
    call(&client, "files.write", json!({ "project_id": id, "path": "d/f.txt", "content": "two\n" })).await;
    let discarded = call(&client, "git.discard", json!({ "project_id": id, "paths": ["d/f.txt"] })).await;
    assert_eq!(std::fs::read_to_string(root.join("d/f.txt")).expect("read"), "one\n");

    swap_for_link(&root, "d", &outside);
    let write =
        rpc(&client, "files.write", json!({ "project_id": id, "path": "d/f.txt", "content": "x" })).await;
    assert_eq!(error_kind(&write), "invalid_input", "{write}");
    let restore =
        rpc(&client, "checkpoints.restore", json!({ "project_id": id, "id": discarded["undo"]["id"] })).await;
    assert_eq!(error_kind(&restore), "invalid_input", "{restore}");
    let message = restore["error"]["message"].as_str().expect("message");
    assert!(message.contains("symbolic link"), "the refusal says why: {message}");
    assert_eq!(
        std::fs::read_to_string(outside.join("f.txt")).expect("outside file"),
        "the outside file\n",
        "the file outside the project is untouched"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_checkpoint_restore_never_deletes_through_a_folder_swapped_for_a_symlink() {
    let h = Harness::new().await;
    let (client, id, root, outside) = project(&h).await;
    call(&client, "files.write", json!({ "project_id": id, "path": "e/new.txt", "content": "new\n" })).await;
    let c1 = call(&client, "git.discard", json!({ "project_id": id, "paths": ["e/new.txt"] })).await;
    assert!(!root.join("e/new.txt").exists(), "a new file is removed by a discard");
    let restored =
        call(&client, "checkpoints.restore", json!({ "project_id": id, "id": c1["undo"]["id"] })).await;
    assert_eq!(std::fs::read_to_string(root.join("e/new.txt")).expect("restored"), "new\n");

    std::fs::write(outside.join("new.txt"), "precious\n").expect("outside file");
    swap_for_link(&root, "e", &outside);
    let restore =
        rpc(&client, "checkpoints.restore", json!({ "project_id": id, "id": restored["undo"]["id"] })).await;
    assert_eq!(error_kind(&restore), "invalid_input", "{restore}");
    assert_eq!(
        std::fs::read_to_string(outside.join("new.txt")).expect("the outside file is still there"),
        "precious\n"
    );
}

#[tokio::test]
async fn odd_paths_ids_and_names_are_invalid_input_without_the_projects_path() {
    let h = Harness::new().await;
    let (client, id, root, _outside) = project(&h).await;
    call(&client, "files.write", json!({ "project_id": id, "path": "a.txt", "content": "a\n" })).await;
    let long_name = "n".repeat(300);
    let long_path = vec!["dir"; 1500].join("/");
    let cases: Vec<(&str, Value, &str)> = vec![
        ("git.discard", json!({ "paths": ["."] }), "invalid_input"),
        ("git.discard", json!({ "paths": [""] }), "invalid_input"),
        ("git.discard", json!({ "paths": ["./"] }), "invalid_input"),
        ("git.stage", json!({ "paths": ["."] }), "invalid_input"),
        ("git.diff", json!({ "path": "a\u{0}b" }), "invalid_input"),
        ("git.diff", json!({ "path": "../x" }), "invalid_input"),
        ("git.diff", json!({ "path": "/etc/passwd" }), "invalid_input"),
        ("git.diff", json!({ "path": ".git/config" }), "invalid_input"),
        ("files.read", json!({ "path": long_name }), "invalid_input"),
        ("files.read", json!({ "path": long_path }), "invalid_input"),
        ("files.write", json!({ "path": long_name, "content": "x" }), "invalid_input"),
        ("files.write", json!({ "path": long_path, "content": "x" }), "invalid_input"),
        ("checkpoints.restore", json!({ "id": "not-an-id" }), "invalid_input"),
        ("checkpoints.restore", json!({ "id": "" }), "invalid_input"),
        ("checkpoints.restore", json!({ "id": "../../etc" }), "invalid_input"),
        ("checkpoints.restore", json!({ "id": "0".repeat(40) }), "not_found"),
        ("checkpoints.restore", json!({ "id": "a".repeat(40) }), "not_found"),
        ("git.checkout", json!({ "branch": "HEAD" }), "invalid_input"),
        ("git.checkout", json!({ "branch": "a\u{0}b" }), "invalid_input"),
        ("git.checkout", json!({ "branch": "a..b" }), "invalid_input"),
        ("git.checkout", json!({ "branch": "nope", "create": false }), "not_found"),
    ];
    for (method, mut params, kind) in cases {
        params["project_id"] = json!(id);
        let response = rpc(&client, method, params.clone()).await;
        assert_eq!(error_kind(&response), kind, "{method} {params}: {response}");
        let message = response["error"]["message"].as_str().expect("message");
        for secret in [root.to_string_lossy(), h.dir.path().to_string_lossy()] {
            assert!(!message.contains(secret.as_ref()), "{method} {params} names a local path: {message}");
        }
    }
    // Nothing above changed the project, and it still works.
    assert_eq!(std::fs::read_to_string(root.join("a.txt")).expect("a.txt"), "a\n");
    let status = call(&client, "git.status", json!({ "project_id": id })).await;
    assert_eq!(status["entries"][0]["path"], "a.txt");
}

#[tokio::test]
async fn invalid_requests_without_an_id_are_answered_with_a_null_id() {
    let h = Harness::new().await;
    let client = h.client();
    for input in
        [r#"{}"#, r#"{"jsonrpc":"2.0"}"#, r#"{"jsonrpc":"2.0","method":5}"#, r#"{"method":"system.ping"}"#]
    {
        let text = client.handle_text(input).await.unwrap_or_else(|| panic!("no answer to {input}"));
        let response: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(response["id"], Value::Null, "{input}: {text}");
        assert_eq!(response["error"]["code"], -32600, "{input}: {text}");
    }
    let text = client.handle_text(r#"[{}]"#).await.expect("a batch of one invalid request is answered");
    let response: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(response[0]["error"]["code"], -32600, "{text}");
    assert_eq!(response[0]["id"], Value::Null, "{text}");
    // A valid notification still gets no answer.
    assert!(client.handle_text(r#"{"jsonrpc":"2.0","method":"system.ping"}"#).await.is_none());
}

#[tokio::test]
async fn projects_created_per_minute_are_capped_over_all_clients() {
    let h = Harness::new().await;
    let (first, second) = (h.client(), h.client());
    for i in 0..30 {
        let client = if i % 2 == 0 { &first } else { &second };
        call(client, "projects.create", json!({ "name": format!("p{i}") })).await;
    }
    let refused = rpc(&second, "projects.create", json!({ "name": "one too many" })).await;
    assert_eq!(error_kind(&refused), "rate_limited", "{refused}");
    assert_eq!(refused["error"]["data"]["retryable"], true);
    let listed = call(&first, "projects.list", json!({})).await;
    assert_eq!(listed.as_array().expect("list").len(), 30, "nothing half-made by the refusal");
}
