//! The workspace essentials through the API: file operations and their undo, find and replace
//! in files (judged against a plain scan of the same tree), commit details, archiving by age
//! with a simulated clock, cleanup, and backups under concurrent writes.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::support::{Harness, call, rpc};

async fn project(h: &Harness) -> (atelier_core::Client, String, PathBuf) {
    let client = h.client();
    let project = call(&client, "projects.create", json!({ "name": "ws" })).await;
    let id = project["id"].as_str().expect("id").to_owned();
    let root = PathBuf::from(project["path"].as_str().expect("path"));
    (client, id, root)
}

fn kind(response: &Value) -> &str {
    response["error"]["data"]["kind"].as_str().unwrap_or("no error")
}

#[tokio::test]
async fn create_rename_and_delete_files_and_folders_each_undone_by_its_checkpoint() {
    let h = Harness::new().await;
    let (client, id, root) = project(&h).await;
    call(
        &client,
        "files.create",
        json!({ "project_id": id, "path": "src/a.txt", "kind": "file", "content": "alpha\n" }),
    )
    .await;
    call(&client, "files.create", json!({ "project_id": id, "path": "docs", "kind": "dir" })).await;
    assert_eq!(std::fs::read_to_string(root.join("src/a.txt")).unwrap(), "alpha\n");
    assert!(root.join("docs").is_dir());
    let again =
        rpc(&client, "files.create", json!({ "project_id": id, "path": "src/a.txt", "kind": "file" })).await;
    assert_eq!(kind(&again), "conflict", "{again}");
    assert_eq!(
        std::fs::read_to_string(root.join("src/a.txt")).unwrap(),
        "alpha\n",
        "an existing file is kept"
    );

    // A file renamed, then back through its checkpoint.
    let renamed =
        call(&client, "files.rename", json!({ "project_id": id, "from": "src/a.txt", "to": "lib/b.txt" }))
            .await;
    assert!(!root.join("src/a.txt").exists());
    assert_eq!(std::fs::read_to_string(root.join("lib/b.txt")).unwrap(), "alpha\n");
    call(&client, "checkpoints.restore", json!({ "project_id": id, "id": renamed["undo"]["id"] })).await;
    assert_eq!(std::fs::read_to_string(root.join("src/a.txt")).unwrap(), "alpha\n");
    assert!(!root.join("lib/b.txt").exists(), "undoing a rename removes the new name");

    // A folder with files in it.
    call(&client, "files.write", json!({ "project_id": id, "path": "src/deep/c.txt", "content": "gamma\n" }))
        .await;
    let moved = call(&client, "files.rename", json!({ "project_id": id, "from": "src", "to": "code" })).await;
    assert_eq!(std::fs::read_to_string(root.join("code/deep/c.txt")).unwrap(), "gamma\n");
    assert!(!root.join("src").exists());
    call(&client, "checkpoints.restore", json!({ "project_id": id, "id": moved["undo"]["id"] })).await;
    assert_eq!(std::fs::read_to_string(root.join("src/deep/c.txt")).unwrap(), "gamma\n");
    assert_eq!(std::fs::read_to_string(root.join("src/a.txt")).unwrap(), "alpha\n");
    assert!(!root.join("code/deep/c.txt").exists());

    // A rename onto an existing path is a conflict and changes nothing.
    std::fs::write(root.join("taken.txt"), "mine\n").unwrap();
    let clash =
        rpc(&client, "files.rename", json!({ "project_id": id, "from": "src/a.txt", "to": "taken.txt" }))
            .await;
    assert_eq!(kind(&clash), "conflict", "{clash}");
    assert_eq!(std::fs::read_to_string(root.join("taken.txt")).unwrap(), "mine\n");
    assert!(root.join("src/a.txt").exists());

    // Deleting a folder, then undoing it.
    let deleted = call(&client, "files.delete", json!({ "project_id": id, "path": "src" })).await;
    assert!(!root.join("src").exists());
    assert_eq!(deleted["skipped"], json!([]));
    let mut covered: Vec<String> =
        deleted["undo"]["paths"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_owned()).collect();
    covered.sort();
    assert_eq!(covered, vec!["src/a.txt", "src/deep/c.txt"]);
    call(&client, "checkpoints.restore", json!({ "project_id": id, "id": deleted["undo"]["id"] })).await;
    assert_eq!(std::fs::read_to_string(root.join("src/deep/c.txt")).unwrap(), "gamma\n");
    assert_eq!(std::fs::read_to_string(root.join("src/a.txt")).unwrap(), "alpha\n");
    let missing = rpc(&client, "files.delete", json!({ "project_id": id, "path": "nope.txt" })).await;
    assert_eq!(kind(&missing), "not_found", "{missing}");
}

#[tokio::test]
async fn file_operations_refuse_paths_outside_the_project() {
    let h = Harness::new().await;
    let (client, id, root) = project(&h).await;
    let outside = h.dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("keep.txt"), "outside\n").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
    std::fs::write(root.join("in.txt"), "in\n").unwrap();
    let cases = [
        ("files.create", json!({ "path": "../x.txt", "kind": "file" })),
        ("files.create", json!({ "path": "/tmp/x.txt", "kind": "file" })),
        ("files.create", json!({ "path": "link/x.txt", "kind": "file" })),
        ("files.create", json!({ "path": ".git/x", "kind": "file" })),
        ("files.create", json!({ "path": "a.txt", "kind": "socket" })),
        ("files.rename", json!({ "from": "in.txt", "to": "../in.txt" })),
        ("files.rename", json!({ "from": "in.txt", "to": "link/in.txt" })),
        ("files.rename", json!({ "from": "link/keep.txt", "to": "stolen.txt" })),
        ("files.delete", json!({ "path": "link/keep.txt" })),
        ("files.delete", json!({ "path": ".." })),
        ("files.delete", json!({ "path": "." })),
    ];
    for (method, mut params) in cases {
        params["project_id"] = json!(id);
        let response = rpc(&client, method, params.clone()).await;
        assert_eq!(kind(&response), "invalid_input", "{method} {params}: {response}");
    }
    assert_eq!(std::fs::read_to_string(outside.join("keep.txt")).unwrap(), "outside\n");
    assert!(!outside.join("x.txt").exists() && !outside.join("in.txt").exists());
    assert!(root.join("in.txt").exists());
    // Deleting the link removes the link, never what it points to.
    #[cfg(unix)]
    {
        call(&client, "files.delete", json!({ "project_id": id, "path": "link" })).await;
        assert!(outside.join("keep.txt").exists());
    }
}

/// What find in files should find, by walking the tree here: every file outside `.git` and the
/// ignored `target/`, not binary, each line tested with `matches`.
fn plain_scan(root: &Path, matches: &dyn Fn(&str) -> bool) -> Vec<(String, u64)> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if name == ".git" || (dir == root && name == "target") {
                continue;
            }
            if path.is_dir() { walk(&path, root, out) } else { out.push(path) }
        }
    }
    let mut files = Vec::new();
    walk(root, root, &mut files);
    let mut found = Vec::new();
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        if bytes.contains(&0) {
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        let relative = file.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
        for (n, line) in text.lines().enumerate() {
            if matches(line) {
                found.push((relative.clone(), n as u64 + 1));
            }
        }
    }
    found.sort();
    found
}

#[tokio::test]
async fn find_in_files_finds_what_a_plain_scan_of_the_tree_finds() {
    let h = Harness::new().await;
    let (client, id, root) = project(&h).await;
    std::fs::write(root.join(".gitignore"), "target/\n").unwrap();
    let words = ["Widget", "widget", "gadget", "use std::io;", "WIDGETS", "fn widget_test() {}"];
    for i in 0..120 {
        let dir = root.join(format!("m{}/n{}", i % 7, i % 3));
        std::fs::create_dir_all(&dir).unwrap();
        let text: String =
            (0..(i % 13 + 3)).map(|j| format!("{} line {j}\n", words[(i + j) % words.len()])).collect();
        std::fs::write(dir.join(format!("f{i}.rs")), text).unwrap();
    }
    std::fs::create_dir_all(root.join("target")).unwrap();
    std::fs::write(root.join("target/out.rs"), "widget in an ignored file\n").unwrap();
    std::fs::write(root.join("blob.bin"), b"widget\0binary").unwrap();

    let ours = |result: &Value| -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = result["matches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["path"].as_str().unwrap().to_owned(), m["line"].as_u64().unwrap()))
            .collect();
        v.sort();
        v
    };
    let search = |params: Value| {
        let client = &client;
        let id = id.clone();
        async move {
            let mut params = params;
            params["project_id"] = json!(id);
            params["limit"] = json!(10_000);
            call(client, "files.search", params).await
        }
    };
    // Case-sensitive plain text.
    let found = search(json!({ "query": "widget", "case_sensitive": true })).await;
    assert_eq!(ours(&found), plain_scan(&root, &|l| l.contains("widget")));
    assert!(!found["truncated"].as_bool().unwrap());
    assert_eq!(found["files_searched"], 122, "120 files, .gitignore and blob.bin; not target/ nor .git");
    // Smart case: lower-case text matches any case.
    let found = search(json!({ "query": "widget" })).await;
    assert_eq!(ours(&found), plain_scan(&root, &|l| l.to_lowercase().contains("widget")));
    // A regex anchored at the line's start.
    let found = search(json!({ "query": "^use \\w+::", "regex": true })).await;
    assert_eq!(ours(&found), plain_scan(&root, &|l| l.starts_with("use std::")));
    // A glob limits the files.
    let found = search(json!({ "query": "gadget", "glob": "m1/**" })).await;
    assert_eq!(
        ours(&found),
        plain_scan(&root, &|l| l.contains("gadget"))
            .into_iter()
            .filter(|(p, _)| p.starts_with("m1/"))
            .collect::<Vec<_>>()
    );
    // The column is where the match starts, and the line's text is given.
    let found = search(json!({ "query": "widget_test", "case_sensitive": true })).await;
    let first = &found["matches"][0];
    assert_eq!(first["column"], 4);
    assert!(first["text"].as_str().unwrap().starts_with("fn widget_test"));
    // A limit truncates.
    let mut small = json!({ "project_id": id, "query": "line", "limit": 5 });
    small["limit"] = json!(5);
    let limited = call(&client, "files.search", small).await;
    assert_eq!(limited["matches"].as_array().unwrap().len(), 5);
    assert_eq!(limited["truncated"], true);
    // A regex that does not compile names the problem.
    let bad = rpc(&client, "files.search", json!({ "project_id": id, "query": "fn (", "regex": true })).await;
    assert_eq!(kind(&bad), "invalid_input", "{bad}");
    let message = bad["error"]["message"].as_str().unwrap();
    assert!(message.contains("does not compile") && message.contains("unclosed group"), "{message}");
}

#[tokio::test]
async fn replace_previews_writes_only_the_ticked_files_with_captures_and_is_undone() {
    let h = Harness::new().await;
    let (client, id, root) = project(&h).await;
    std::fs::write(root.join("a.rs"), "let old_name = 1;\nprint(old_name);\n").unwrap();
    std::fs::write(root.join("b.rs"), "old_name + old_name\n").unwrap();
    std::fs::write(root.join("c.rs"), "nothing here\n").unwrap();
    let params = json!({ "project_id": id, "query": "old_(\\w+)", "replacement": "new_${1}_x", "regex": true, "case_sensitive": true });
    let mut preview = params.clone();
    preview["preview"] = json!(true);
    let planned = call(&client, "files.replace", preview).await;
    assert!(planned.get("undo").is_none(), "a preview takes no checkpoint");
    let files = planned["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!((files[0]["path"].as_str(), files[0]["replacements"].as_u64()), (Some("a.rs"), Some(2)));
    assert_eq!((files[1]["path"].as_str(), files[1]["replacements"].as_u64()), (Some("b.rs"), Some(2)));
    let diff = files[0]["diff"].as_str().unwrap();
    assert!(
        diff.contains("--- a/a.rs")
            && diff.contains("-let old_name = 1;")
            && diff.contains("+let new_name_x = 1;"),
        "{diff}"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("a.rs")).unwrap(),
        "let old_name = 1;\nprint(old_name);\n",
        "a preview writes nothing"
    );

    // Only a.rs ticked.
    let mut apply = params.clone();
    apply["paths"] = json!(["a.rs"]);
    let done = call(&client, "files.replace", apply).await;
    assert_eq!(done["files"].as_array().unwrap().len(), 1);
    assert_eq!(
        std::fs::read_to_string(root.join("a.rs")).unwrap(),
        "let new_name_x = 1;\nprint(new_name_x);\n"
    );
    assert_eq!(std::fs::read_to_string(root.join("b.rs")).unwrap(), "old_name + old_name\n");
    call(&client, "checkpoints.restore", json!({ "project_id": id, "id": done["undo"]["id"] })).await;
    assert_eq!(std::fs::read_to_string(root.join("a.rs")).unwrap(), "let old_name = 1;\nprint(old_name);\n");

    // Plain text: `$1` is taken literally.
    let plain =
        call(&client, "files.replace", json!({ "project_id": id, "query": "old_name", "replacement": "$1" }))
            .await;
    assert_eq!(plain["files"].as_array().unwrap().len(), 2);
    assert_eq!(std::fs::read_to_string(root.join("b.rs")).unwrap(), "$1 + $1\n");
    let bad = rpc(
        &client,
        "files.replace",
        json!({ "project_id": id, "query": "[a-", "replacement": "x", "regex": true }),
    )
    .await;
    assert_eq!(kind(&bad), "invalid_input", "{bad}");
}

#[tokio::test]
async fn commit_details_list_the_files_a_commit_changed() {
    let h = Harness::new().await;
    let (client, id, _root) = project(&h).await;
    call(&client, "files.write", json!({ "project_id": id, "path": "a.txt", "content": "1\n2\n3\n" })).await;
    call(&client, "git.stage", json!({ "project_id": id, "paths": ["a.txt"] })).await;
    call(&client, "git.commit", json!({ "project_id": id, "message": "first" })).await;
    call(&client, "files.write", json!({ "project_id": id, "path": "a.txt", "content": "1\ntwo\n3\n4\n" }))
        .await;
    call(&client, "git.stage", json!({ "project_id": id, "paths": ["a.txt"] })).await;
    let commit = call(&client, "git.commit", json!({ "project_id": id, "message": "second\n\nbody" })).await;
    let details =
        call(&client, "git.commit_details", json!({ "project_id": id, "commit": commit["commit"] })).await;
    assert_eq!(details["summary"], "second");
    assert_eq!(details["parents"].as_array().unwrap().len(), 1);
    assert_eq!(
        details["files"],
        json!([{ "path": "a.txt", "status": "modified", "additions": 2, "deletions": 1 }])
    );
    let bad = rpc(&client, "git.commit_details", json!({ "project_id": id, "commit": "no-such-rev" })).await;
    assert_ne!(kind(&bad), "internal", "{bad}");
}
