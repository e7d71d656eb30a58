//! Bad input never hurts: each malformed request gets a JSON-RPC error with its kind, and the
//! client keeps being served.

use serde_json::{Value, json};

use atelier_testkit::{Reply, Scenario};

use crate::support::{Harness, call, rpc};

fn check(response: &str, code: i64, kind: &str) -> Value {
    let v: Value = serde_json::from_str(response).expect("JSON response");
    assert_eq!(v["jsonrpc"], "2.0");
    assert_eq!(v["error"]["code"], code, "{response}");
    assert_eq!(v["error"]["data"]["kind"], kind, "{response}");
    assert!(!v["error"]["message"].as_str().expect("message").is_empty());
    v
}

#[tokio::test]
async fn bad_requests_get_errors_with_their_kind() {
    let h = Harness::new().await;
    let client = h.client();
    let cases: &[(&str, i64, &str)] = &[
        ("{not json", -32700, "invalid_input"),
        ("", -32700, "invalid_input"),
        ("[]", -32600, "invalid_input"),
        ("42", -32600, "invalid_input"),
        (r#"{"jsonrpc":"1.0","id":1,"method":"system.ping"}"#, -32600, "invalid_input"),
        (r#"{"jsonrpc":"2.0","id":1}"#, -32600, "invalid_input"),
        (r#"{"jsonrpc":"2.0","id":{"x":1},"method":"system.ping"}"#, -32600, "invalid_input"),
        (r#"{"jsonrpc":"2.0","id":1,"method":"no.such"}"#, -32601, "not_found"),
        (r#"{"jsonrpc":"2.0","id":1,"method":"projects.get","params":[1]}"#, -32602, "invalid_input"),
        (r#"{"jsonrpc":"2.0","id":1,"method":"projects.get","params":{"id":7}}"#, -32602, "invalid_input"),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"messages.send","params":{"session_id":"x"}}"#,
            -32602,
            "invalid_input",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"projects.get","params":{"id":"prj_nope"}}"#,
            -32001,
            "not_found",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"messages.list","params":{"session_id":"ses_nope"}}"#,
            -32001,
            "not_found",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"messages.send","params":{"session_id":"ses_nope","content":"hi"}}"#,
            -32001,
            "not_found",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"topics":["nonsense/../x"]}}"#,
            -32602,
            "invalid_input",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"projects.create","params":{"name":"  "}}"#,
            -32007,
            "invalid_input",
        ),
    ];
    for (input, code, kind) in cases {
        let response = client.handle_text(input).await.unwrap_or_else(|| panic!("no answer to {input:?}"));
        check(&response, *code, kind);
    }
    let invalid_utf8 = client.handle_bytes(&[b'{', 0xff, 0xfe, b'}']).await.expect("answer");
    check(&invalid_utf8, -32700, "invalid_input");
    // The client still works after all that.
    assert_eq!(call(&client, "system.ping", json!({})).await["pong"], true);
}

#[tokio::test]
async fn batches_answer_each_request_and_skip_notifications() {
    let h = Harness::new().await;
    let client = h.client();
    let batch = json!([
        { "jsonrpc": "2.0", "id": 1, "method": "system.ping" },
        { "jsonrpc": "2.0", "method": "system.ping" },
        { "jsonrpc": "2.0", "id": 2, "method": "nope" },
        7
    ]);
    let response: Value =
        serde_json::from_str(&client.handle_text(&batch.to_string()).await.expect("answer")).expect("json");
    let items = response.as_array().expect("batch answer");
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["result"]["pong"], true);
    assert_eq!(items[1]["error"]["code"], -32601);
    assert_eq!(items[2]["error"]["code"], -32600);
    let only_notifications = json!([{ "jsonrpc": "2.0", "method": "system.ping" }]);
    assert!(client.handle_text(&only_notifications.to_string()).await.is_none());
}

#[tokio::test]
async fn remote_clients_are_rate_limited_and_topic_limited_without_hurting_others() {
    let h = Harness::new().await;
    let remote = h.app.connect(atelier_core::ClientLimits::remote());
    let other = h.app.connect(atelier_core::ClientLimits::remote());
    let ping = r#"{"jsonrpc":"2.0","id":1,"method":"system.ping"}"#;
    let mut limited = None;
    for i in 0..400 {
        let v: Value = serde_json::from_str(&remote.handle_text(ping).await.expect("answer")).expect("json");
        if v.get("error").is_some() {
            limited = Some((i, v));
            break;
        }
    }
    let (at, v) = limited.expect("rate limited within 400 quick requests");
    assert!((200..=202).contains(&at), "the burst is 200 (limited at {at})");
    assert_eq!(v["error"]["data"]["kind"], "rate_limited");
    assert_eq!(v["error"]["data"]["retryable"], true);
    assert_eq!(call(&other, "system.ping", json!({})).await["pong"], true, "others are unaffected");

    let topics: Vec<String> = (0..65).map(|i| format!("session/s{i}")).collect();
    let sub = json!({ "jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": { "topics": topics } });
    let v: Value =
        serde_json::from_str(&other.handle_text(&sub.to_string()).await.expect("answer")).expect("json");
    assert_eq!(v["error"]["data"]["kind"], "invalid_input");
    assert!(v["error"]["message"].as_str().expect("msg").contains("64"));
}

#[tokio::test]
async fn projects_are_folders_with_git_repositories() {
    let h = Harness::new().await;
    let client = h.client();
    let project = call(&client, "projects.create", json!({ "name": "My App" })).await;
    let path = std::path::PathBuf::from(project["path"].as_str().expect("path"));
    assert!(path.join(".git").is_dir(), "a git repository was created");
    assert!(path.ends_with("projects/my-app"));
    assert_eq!(call(&client, "projects.list", json!({})).await.as_array().expect("list").len(), 1);
    assert_eq!(call(&client, "projects.get", json!({ "id": project["id"] })).await["name"], "My App");

    let taken = tempfile::tempdir().expect("dir");
    std::fs::write(taken.path().join("file.txt"), "x").expect("write");
    let conflict =
        crate::support::rpc(&client, "projects.create", json!({ "name": "x", "path": taken.path() })).await;
    assert_eq!(conflict["error"]["data"]["kind"], "conflict");

    let session = call(&client, "sessions.create", json!({ "project_id": project["id"] })).await;
    call(&client, "projects.delete", json!({ "id": project["id"], "delete_files": true })).await;
    assert!(!path.exists(), "files deleted on request");
    let gone = crate::support::rpc(&client, "messages.list", json!({ "session_id": session["id"] })).await;
    assert_eq!(gone["error"]["data"]["kind"], "not_found", "its sessions went with it");
}

fn git_cli(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn an_existing_folder_is_imported_in_place_or_as_a_copy() {
    let h = Harness::new().await;
    let client = h.client();
    let outside = tempfile::tempdir().expect("dir");
    let original = outside.path().canonicalize().expect("canonical").join("legacy-app");
    std::fs::create_dir_all(original.join("src")).expect("mkdir");
    std::fs::write(original.join("src/lib.rs"), "pub fn old() {}\n").expect("write");
    std::fs::write(original.join(".gitignore"), "target/\n").expect("write");
    std::fs::create_dir_all(original.join("target")).expect("mkdir");
    std::fs::write(original.join("target/cache.bin"), vec![1u8; 100_000]).expect("write");
    git_cli(&original, &["init", "-q", "-b", "main"]);
    git_cli(&original, &["add", "-A"]);
    git_cli(&original, &["commit", "-q", "-m", "history that must survive"]);

    let in_place = call(&client, "projects.import", json!({ "path": original })).await;
    assert_eq!(in_place["path"], json!(original), "adopted where it is");
    assert_eq!(in_place["name"], "legacy-app");
    let again = call(&client, "projects.import", json!({ "path": original })).await;
    assert_eq!(again["id"], in_place["id"], "importing twice gives the same project");

    call(&client, "subscribe", json!({ "topics": ["system"] })).await;
    let copied =
        call(&client, "projects.import", json!({ "path": original, "name": "Legacy copy", "copy": true }))
            .await;
    let copy = std::path::PathBuf::from(copied["path"].as_str().expect("path"));
    assert!(
        copy.starts_with(h.dir.path().canonicalize().expect("data dir")) || copy.starts_with(h.dir.path())
    );
    assert!(copy.ends_with("projects/legacy-copy"), "{}", copy.display());
    assert_ne!(copied["id"], in_place["id"]);
    assert_eq!(std::fs::read_to_string(copy.join("src/lib.rs")).expect("copied"), "pub fn old() {}\n");
    assert_eq!(std::fs::read(copy.join("target/cache.bin")).expect("ignored files too").len(), 100_000);
    assert!(git_cli(&copy, &["log", "--format=%s"]).contains("history that must survive"));
    git_cli(&copy, &["fsck", "--strict"]);
    let mut last = None;
    while let Ok(Some(event)) =
        tokio::time::timeout(std::time::Duration::from_millis(500), client.next_event()).await
    {
        if event.event.kind == "project.import_progress" {
            last = Some(event.event.data.clone());
        }
    }
    let last = last.expect("progress was announced");
    assert_eq!(last["files_done"], last["files_total"], "{last}");
    assert_eq!(last["bytes_done"], last["bytes_total"], "{last}");

    // Writing in the copy leaves the original alone.
    call(
        &client,
        "files.write",
        json!({ "project_id": copied["id"], "path": "src/lib.rs", "content": "pub fn new() {}\n" }),
    )
    .await;
    assert_eq!(std::fs::read_to_string(original.join("src/lib.rs")).expect("read"), "pub fn old() {}\n");

    let missing = crate::support::rpc(
        &client,
        "projects.import",
        json!({ "path": original.join("nope"), "copy": true }),
    )
    .await;
    assert_eq!(missing["error"]["data"]["kind"], "invalid_input", "{missing}");
    let count = call(&client, "projects.list", json!({})).await.as_array().expect("list").len();
    assert_eq!(count, 2, "a failed import adds nothing");
}

#[tokio::test]
async fn files_are_read_and_written_inside_the_project_only() {
    let h = Harness::new().await;
    let client = h.client();
    let project = call(&client, "projects.create", json!({ "name": "files" })).await;
    let pid = project["id"].clone();
    call(&client, "subscribe", json!({ "topics": [format!("project/{}", pid.as_str().expect("id"))] })).await;
    call(
        &client,
        "files.write",
        json!({ "project_id": pid, "path": "src/lib.rs", "content": "pub fn f() {}\n" }),
    )
    .await;
    let changed = crate::support::events_until(&client, "files.changed").await;
    assert_eq!(changed.last().expect("event").event.data["paths"][0], "src/lib.rs");
    assert_eq!(
        call(&client, "files.read", json!({ "project_id": pid, "path": "src/lib.rs" })).await["content"],
        "pub fn f() {}\n"
    );
    let tree = call(&client, "files.tree", json!({ "project_id": pid })).await;
    let entries: Vec<_> =
        tree.as_array().expect("tree").iter().map(|e| (e["path"].clone(), e["kind"].clone())).collect();
    assert_eq!(entries, vec![(json!("src"), json!("dir")), (json!("src/lib.rs"), json!("file"))]);
    for bad in ["../escape.txt", "/etc/passwd", ".git/config"] {
        let refused = crate::support::rpc(
            &client,
            "files.write",
            json!({ "project_id": pid, "path": bad, "content": "x" }),
        )
        .await;
        assert_eq!(refused["error"]["data"]["kind"], "invalid_input", "{bad}: {refused}");
    }
    let missing =
        crate::support::rpc(&client, "files.read", json!({ "project_id": pid, "path": "nope.txt" })).await;
    assert_eq!(missing["error"]["data"]["kind"], "not_found");
}

#[tokio::test]
async fn git_through_the_api_makes_commits_git_accepts() {
    let h = Harness::new().await;
    let client = h.client();
    let project = call(&client, "projects.create", json!({ "name": "repo" })).await;
    let pid = project["id"].clone();
    let root = std::path::PathBuf::from(project["path"].as_str().expect("path"));
    call(&client, "subscribe", json!({ "topics": [format!("project/{}", pid.as_str().expect("id"))] })).await;
    call(&client, "files.write", json!({ "project_id": pid, "path": "a.txt", "content": "a\n" })).await;
    call(&client, "files.write", json!({ "project_id": pid, "path": "b.txt", "content": "b\n" })).await;
    let status = call(&client, "git.status", json!({ "project_id": pid })).await;
    assert_eq!(status["branch"], "main");
    assert_eq!(status["entries"][0], json!({ "path": "a.txt", "index": "?", "worktree": "?" }));

    let nothing =
        crate::support::rpc(&client, "git.commit", json!({ "project_id": pid, "message": "x" })).await;
    assert_eq!(nothing["error"]["data"]["kind"], "conflict", "nothing staged: {nothing}");
    let escape =
        crate::support::rpc(&client, "git.stage", json!({ "project_id": pid, "paths": ["../x"] })).await;
    assert_eq!(escape["error"]["data"]["kind"], "invalid_input");

    call(&client, "git.stage", json!({ "project_id": pid, "paths": ["a.txt"] })).await;
    let staged = call(&client, "git.diff", json!({ "project_id": pid, "staged": true })).await;
    assert!(staged["diff"].as_str().expect("diff").contains("+a"), "{staged}");
    let commit = call(&client, "git.commit", json!({ "project_id": pid, "message": "Add a" })).await;
    crate::support::events_until(&client, "git.changed").await;
    let log = call(&client, "git.log", json!({ "project_id": pid })).await;
    assert_eq!(log[0]["commit"], commit["commit"]);
    assert_eq!(log[0]["summary"], "Add a");
    assert!(log[0]["time"].as_str().expect("time").ends_with('Z'));
    let fsck = std::process::Command::new("git")
        .args(["fsck", "--strict"])
        .current_dir(&root)
        .status()
        .expect("git");
    assert!(fsck.success());
    let left = call(&client, "git.status", json!({ "project_id": pid })).await;
    assert_eq!(left["entries"].as_array().expect("entries").len(), 1, "b.txt is still untracked");

    // Discarding: a.txt back to the commit, untracked b.txt gone; the returned checkpoint undoes it.
    std::fs::write(root.join("a.txt"), "changed\n").expect("write");
    let discarded =
        call(&client, "git.discard", json!({ "project_id": pid, "paths": ["a.txt", "b.txt"] })).await;
    assert_eq!(std::fs::read_to_string(root.join("a.txt")).expect("a"), "a\n");
    assert!(!root.join("b.txt").exists());
    let clean = call(&client, "git.status", json!({ "project_id": pid })).await;
    assert_eq!(clean["entries"], json!([]), "{clean}");
    let undo = json!({ "project_id": pid, "id": discarded["undo"]["id"] });
    call(&client, "checkpoints.restore", undo).await;
    assert_eq!(std::fs::read_to_string(root.join("a.txt")).expect("a"), "changed\n");
    assert!(root.join("b.txt").exists(), "the undo brings the untracked file back");
    std::fs::write(root.join("a.txt"), "a\n").expect("as committed again");
    for bad in [json!([]), json!(["../x"])] {
        let refused =
            crate::support::rpc(&client, "git.discard", json!({ "project_id": pid, "paths": bad })).await;
        assert_eq!(refused["error"]["data"]["kind"], "invalid_input", "{refused}");
    }

    // A file as a commit left it, and before it (what a workflow's diff view shows).
    let sha = commit["commit"].as_str().expect("sha");
    let show = |rev: String, path: &str| {
        let client = &client;
        let (pid, path) = (pid.clone(), path.to_owned());
        async move {
            crate::support::rpc(client, "git.show", json!({ "project_id": pid, "rev": rev, "path": path }))
                .await
        }
    };
    assert_eq!(show(sha.to_owned(), "a.txt").await["result"]["content"], "a\n");
    assert_eq!(
        show(format!("{sha}^"), "a.txt").await["result"]["content"],
        json!(null),
        "the first commit has no parent"
    );
    assert_eq!(
        show(sha.to_owned(), "b.txt").await["result"]["content"],
        json!(null),
        "b.txt was not committed"
    );
    assert_eq!(show("no-such-rev".to_owned(), "a.txt").await["error"]["data"]["kind"], "not_found");
    assert_eq!(show(sha.to_owned(), "../etc/passwd").await["error"]["data"]["kind"], "invalid_input");

    call(&client, "git.checkout", json!({ "project_id": pid, "branch": "feature", "create": true })).await;
    let branches = call(&client, "git.branches", json!({ "project_id": pid })).await;
    assert_eq!(
        branches,
        json!([{ "name": "feature", "current": true }, { "name": "main", "current": false }])
    );
    let bad =
        crate::support::rpc(&client, "git.checkout", json!({ "project_id": pid, "branch": "nope" })).await;
    assert_eq!(bad["error"]["data"]["kind"], "not_found", "{bad}");
}

fn decode(b64: &serde_json::Value) -> String {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64.as_str().expect("b64")).expect("base64");
    String::from_utf8_lossy(&bytes).into_owned()
}

#[tokio::test]
async fn a_terminal_runs_a_real_shell_and_replays_its_screen() {
    let h = Harness::new().await;
    let client = h.client();
    let project = call(&client, "projects.create", json!({ "name": "term" })).await;
    let opened =
        call(&client, "terminals.open", json!({ "project_id": project["id"], "cols": 80, "rows": 24 })).await;
    let tid = opened["terminal_id"].as_str().expect("id").to_owned();
    // A second window finds the shell it did not open, with its size.
    let second = h.client();
    let listed = call(&second, "terminals.list", json!({ "project_id": project["id"] })).await;
    assert_eq!(listed, json!([{ "terminal_id": tid, "cols": 80, "rows": 24 }]));
    call(&client, "terminals.resize", json!({ "terminal_id": tid, "cols": 100, "rows": 30 })).await;
    let listed = call(&second, "terminals.list", json!({ "project_id": project["id"] })).await;
    assert_eq!(listed[0]["cols"], 100, "the list shows the size after a resize: {listed}");
    let other = call(&client, "projects.create", json!({ "name": "other" })).await;
    assert_eq!(call(&second, "terminals.list", json!({ "project_id": other["id"] })).await, json!([]));
    call(&client, "subscribe", json!({ "topics": [format!("terminal/{tid}")] })).await;
    call(&client, "terminals.write", json!({ "terminal_id": tid, "data": "echo hi-$((20+1))\n" })).await;
    let mut seen = String::new();
    while !seen.contains("hi-21") {
        let event = crate::support::next_event(&client).await;
        if event.event.kind == "terminal.output" {
            seen.push_str(&decode(&event.event.data["data_b64"]));
        }
    }
    let scrollback = call(&client, "terminals.scrollback", json!({ "terminal_id": tid })).await;
    assert!(decode(&scrollback["data_b64"]).contains("hi-21"), "a reattaching client gets its screen back");
    assert!(scrollback["offset"].as_u64().expect("offset") >= seen.len() as u64);
    let bad = crate::support::rpc(
        &client,
        "terminals.resize",
        json!({ "terminal_id": tid, "cols": 0, "rows": 10 }),
    )
    .await;
    assert_eq!(bad["error"]["data"]["kind"], "invalid_input");
    call(&client, "terminals.close", json!({ "terminal_id": tid })).await;
    crate::support::events_until(&client, "terminal.exited").await;
    let gone =
        crate::support::rpc(&client, "terminals.write", json!({ "terminal_id": tid, "data": "x" })).await;
    assert_eq!(gone["error"]["data"]["kind"], "not_found", "writes to a closed terminal are refused");
    assert_eq!(call(&client, "terminals.list", json!({ "project_id": project["id"] })).await, json!([]));
}

#[tokio::test]
async fn a_project_is_exported_to_a_chosen_file_that_unzip_accepts() {
    let h = Harness::new().await;
    let client = h.client();
    let project = call(&client, "projects.create", json!({ "name": "exported" })).await;
    let pid = project["id"].as_str().expect("id");
    let root = std::path::PathBuf::from(project["path"].as_str().expect("path"));
    std::fs::write(root.join("main.rs"), "fn main() {}\n").expect("write");
    std::fs::write(root.join(".gitignore"), "build/\n").expect("write");
    std::fs::create_dir(root.join("build")).expect("mkdir");
    std::fs::write(root.join("build/out.bin"), "x").expect("write");
    let out = tempfile::tempdir().expect("tempdir");
    let dest = out.path().join("exported.zip");
    std::fs::write(&dest, "an older export").expect("write");
    let done =
        call(&client, "projects.export", json!({ "id": pid, "path": dest.to_str().expect("utf-8") })).await;
    assert_eq!(done["bytes"].as_u64(), Some(std::fs::metadata(&dest).expect("meta").len()));
    let test = std::process::Command::new("unzip").arg("-l").arg(&dest).output().expect("unzip");
    let listing = String::from_utf8_lossy(&test.stdout);
    assert!(test.status.success() && listing.contains("main.rs"), "{listing}");
    assert!(
        !listing.contains("out.bin") && !listing.contains(".git/"),
        "ignored files and .git stay out: {listing}"
    );
    let with_ignored = call(
        &client,
        "projects.export",
        json!({ "id": pid, "path": dest.to_str().expect("utf-8"), "include_ignored": true }),
    )
    .await;
    assert!(with_ignored["bytes"].as_u64() > done["bytes"].as_u64());
    let listing = std::process::Command::new("unzip").arg("-l").arg(&dest).output().expect("unzip");
    assert!(String::from_utf8_lossy(&listing.stdout).contains("build/out.bin"));

    for (path, expect) in [
        ("relative.zip", "must be absolute"),
        ("/no/such/folder/x.zip", "folder does not exist"),
        (out.path().to_str().expect("utf-8"), "is a folder"),
    ] {
        let bad = crate::support::rpc(&client, "projects.export", json!({ "id": pid, "path": path })).await;
        assert_eq!(bad["error"]["data"]["kind"], "invalid_input", "{path}: {bad}");
        assert!(bad["error"]["message"].as_str().is_some_and(|m| m.contains(expect)), "{path}: {bad}");
    }
    let unknown = crate::support::rpc(
        &client,
        "projects.export",
        json!({ "id": "nope", "path": out.path().join("n.zip").to_str().expect("utf-8") }),
    )
    .await;
    assert_eq!(unknown["error"]["data"]["kind"], "not_found");
    let names: Vec<_> =
        std::fs::read_dir(out.path()).expect("ls").map(|e| e.expect("entry").file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("exported.zip")], "no temporary files are left behind");
}

#[tokio::test]
async fn an_outside_edit_is_announced_to_the_projects_subscribers() {
    let h = Harness::new().await;
    let client = h.client();
    let project = call(&client, "projects.create", json!({ "name": "watched" })).await;
    let root = std::path::PathBuf::from(project["path"].as_str().expect("path"));
    call(
        &client,
        "subscribe",
        json!({ "topics": [format!("project/{}", project["id"].as_str().expect("id"))] }),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    std::fs::write(root.join("from-vim.txt"), "edited elsewhere\n").expect("write");
    loop {
        let event = crate::support::next_event(&client).await;
        if event.event.kind == "files.changed"
            && event.event.data["paths"].as_array().expect("paths").contains(&json!("from-vim.txt"))
        {
            break;
        }
    }
}

#[tokio::test]
async fn push_and_pull_through_the_api() {
    let h = Harness::new().await;
    let client = h.client();
    let project = call(&client, "projects.create", json!({ "name": "pushy" })).await;
    let pid = project["id"].clone();
    let root = std::path::PathBuf::from(project["path"].as_str().expect("path"));
    let no_remote = crate::support::rpc(&client, "git.push", json!({ "project_id": pid })).await;
    assert_eq!(no_remote["error"]["data"]["kind"], "not_found", "{no_remote}");
    let remote = h.dir.path().join("remote.git");
    let git = |dir: &std::path::Path, args: &[&str]| {
        let out = std::process::Command::new("git").args(args).current_dir(dir).output().expect("git");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    std::fs::create_dir_all(&remote).expect("mkdir");
    git(&remote, &["init", "-q", "--bare", "-b", "main"]);
    git(&root, &["remote", "add", "origin", remote.to_str().expect("utf8")]);
    call(&client, "files.write", json!({ "project_id": pid, "path": "a.txt", "content": "a\n" })).await;
    call(&client, "git.stage", json!({ "project_id": pid, "paths": ["a.txt"] })).await;
    call(&client, "git.commit", json!({ "project_id": pid, "message": "Pushed" })).await;
    call(&client, "git.push", json!({ "project_id": pid })).await;
    assert_eq!(git(&remote, &["log", "--format=%s", "main"]).trim(), "Pushed");
    call(&client, "git.pull", json!({ "project_id": pid })).await;
}

#[tokio::test]
async fn models_are_pulled_with_progress_cancelled_resumed_and_deleted() {
    use atelier_testkit::TestModel;
    let h = Harness::new().await;
    let mut big = TestModel::new("qwen2.5-coder:7b", 32_768);
    big.size = 10_000_000;
    h.llm.set_registry(vec![big], std::time::Duration::from_millis(30));
    let client = h.client();
    call(&client, "subscribe", json!({ "topics": ["models"] })).await;

    // Cancel part-way: the download stops and says so.
    call(&client, "models.pull", json!({ "name": "qwen2.5-coder:7b" })).await;
    let twice = crate::support::rpc(&client, "models.pull", json!({ "name": "qwen2.5-coder:7b" })).await;
    assert_eq!(twice["error"]["data"]["kind"], "conflict", "one pull of a model at a time");
    let mut interrupted_at = 0;
    loop {
        let event = crate::support::next_event(&client).await;
        let data = &event.event.data;
        if data["completed"].as_u64().unwrap_or(0) >= 3_000_000 && interrupted_at == 0 {
            interrupted_at = data["completed"].as_u64().unwrap_or(0);
            call(&client, "models.pull_cancel", json!({ "name": "qwen2.5-coder:7b" })).await;
        }
        if data["status"] == "cancelled" {
            break;
        }
        assert_ne!(data["status"], "success", "cancelled before the end");
    }
    assert!(!h.llm.model_names().contains(&"qwen2.5-coder:7b".to_owned()));

    // Pulling again resumes where it stopped and ends with the model listed.
    call(&client, "models.pull", json!({ "name": "qwen2.5-coder:7b" })).await;
    let mut first_completed = None;
    let events = crate::support::events_until(&client, "models.changed").await;
    for event in &events {
        if let Some(done) = event.event.data["completed"].as_u64() {
            first_completed.get_or_insert(done);
        }
    }
    assert!(first_completed.expect("progress with sizes") > interrupted_at, "resumed, not restarted");
    let statuses: Vec<_> = events.iter().filter_map(|e| e.event.data["status"].as_str()).collect();
    assert!(statuses.ends_with(&["verifying sha256 digest", "writing manifest", "success"]), "{statuses:?}");
    let models = call(&client, "models.list", json!({})).await;
    let pulled = models.as_array().expect("list").iter().find(|m| m["name"] == "qwen2.5-coder:7b");
    assert_eq!(pulled.expect("listed after the pull")["context_length"], 32_768);
    let ollama = call(&client, "models.list", json!({ "provider": "ollama" })).await;
    assert_eq!(ollama, models, "every model here is Ollama's");
    let none = call(&client, "models.list", json!({ "provider": "anthropic" })).await;
    assert_eq!(none, json!([]), "another provider's models only");

    // A model that does not exist: a clear error at the end of its progress.
    call(&client, "models.pull", json!({ "name": "no-such-model" })).await;
    let failed = loop {
        let event = crate::support::next_event(&client).await;
        if event.event.data["status"] == "error" {
            break event.event.data.clone();
        }
    };
    assert_eq!(failed["error"]["kind"], "not_found", "{failed}");
    assert!(failed["error"]["message"].as_str().expect("message").contains("Check the name"), "{failed}");

    call(&client, "models.delete", json!({ "name": "qwen2.5-coder:7b" })).await;
    assert_eq!(crate::support::next_event(&client).await.event.kind, "models.changed");
    assert!(!h.llm.model_names().contains(&"qwen2.5-coder:7b".to_owned()));
    let again = crate::support::rpc(&client, "models.delete", json!({ "name": "qwen2.5-coder:7b" })).await;
    assert_eq!(again["error"]["data"]["kind"], "not_found", "{again}");
    let bad = crate::support::rpc(&client, "models.pull", json!({ "name": "two words" })).await;
    assert_eq!(bad["error"]["data"]["kind"], "invalid_input");
}

#[tokio::test]
async fn models_are_recommended_by_memory_and_probed_once() {
    let h = Harness::new().await;
    h.llm.set_models(vec![
        atelier_testkit::TestModel::new("qwen2.5-coder:7b", 32_768),
        atelier_testkit::TestModel::new("tiny-coder:1.5b", 2_048).tools(false),
    ]);
    let client = h.client();
    let recommended = call(&client, "models.recommended", json!({})).await;
    assert!(recommended["memory_bytes"].as_u64().expect("memory") > 0, "{recommended}");
    let models = recommended["models"].as_array().expect("models");
    assert_eq!(models.len(), 4, "{recommended}");
    let seven = models.iter().find(|m| m["name"] == "qwen2.5-coder:7b").expect("7b");
    assert_eq!(seven["installed"], true, "an installed model is marked");
    assert!(models.iter().all(|m| m["size_bytes"].as_u64().is_some_and(|s| s > 0) && m["reason"] != ""));

    // Native tools and the context length, from the server; no model call needed.
    let before = h.llm.chat_requests();
    let probe = call(&client, "models.probe", json!({ "name": "qwen2.5-coder:7b" })).await;
    assert_eq!(
        (probe["tools"].as_str(), probe["context_length"].as_u64()),
        (Some("native"), Some(32_768)),
        "{probe}"
    );
    assert_eq!(probe["warning"], Value::Null);
    assert_eq!(h.llm.chat_requests(), before);

    // No native tools: a short self-test, read with the chats' text-call parser.
    h.llm.push(Scenario::Reply(Reply::text(
        "<tool_call>\n{\"name\": \"echo\", \"arguments\": {\"text\": \"ping\"}}\n</tool_call>",
    )));
    let probe = call(&client, "models.probe", json!({ "name": "tiny-coder:1.5b" })).await;
    assert_eq!(probe["tools"], "text", "{probe}");
    let warning = probe["warning"].as_str().expect("a small model is warned about");
    assert!(warning.contains("small for agents"), "{warning}");
    assert_eq!(h.llm.chat_requests(), before + 1);
    // Remembered: asked again, no new call; listed with the model.
    let again = call(&client, "models.probe", json!({ "name": "tiny-coder:1.5b" })).await;
    assert_eq!(again, probe);
    assert_eq!(h.llm.chat_requests(), before + 1);
    let listed = call(&client, "models.list", json!({})).await;
    let tiny =
        listed.as_array().expect("list").iter().find(|m| m["name"] == "tiny-coder:1.5b").expect("tiny");
    assert_eq!(tiny["probe"]["tools"], "text");

    // A model that answers without a call does not follow the format.
    h.llm.push(Scenario::Reply(Reply::text("Sure! ping")));
    let probe = call(&client, "models.probe", json!({ "name": "tiny-coder:1.5b", "refresh": true })).await;
    assert_eq!(probe["tools"], "none", "{probe}");
    assert!(probe["warning"].as_str().is_some_and(|w| w.contains("does not call tools")), "{probe}");
    let bad = rpc(&client, "models.probe", json!({ "name": "" })).await;
    assert_eq!(bad["error"]["data"]["kind"], "invalid_input", "{bad}");
}

#[tokio::test]
async fn the_model_server_chosen_in_settings_is_used_at_once_and_survives_a_restart() {
    let mut h = Harness::new().await;
    let other = atelier_testkit::TestLlm::start().await.expect("a second model server");
    other.set_models(vec![atelier_testkit::TestModel::new("other-model:7b", 16_384)]);
    let client = h.client();
    let names = |models: &Value| -> Vec<String> {
        models
            .as_array()
            .expect("list")
            .iter()
            .map(|m| m["name"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(names(&call(&client, "models.list", json!({})).await), ["test-model"]);

    // A server that cannot be used is refused, and nothing changes.
    let bad = rpc(&client, "settings.set", json!({ "key": "model_server", "value": "ftp://nowhere" })).await;
    assert_eq!(bad["error"]["data"]["kind"], "invalid_input", "{bad}");
    assert_eq!(names(&call(&client, "models.list", json!({})).await), ["test-model"]);

    // Another Ollama server: its models at once, and chats go there.
    call(&client, "subscribe", json!({ "topics": ["models"] })).await;
    call(&client, "settings.set", json!({ "key": "model_server", "value": other.url() })).await;
    crate::support::events_until(&client, "models.changed").await;
    assert_eq!(names(&call(&client, "models.list", json!({})).await), ["other-model:7b"]);
    let health = call(&client, "system.health", json!({})).await;
    assert!(health.to_string().contains("models: other-model:7b"), "health checks the new server: {health}");

    // Kept across a restart.
    h.restart().await;
    let client = h.client();
    assert_eq!(names(&call(&client, "models.list", json!({})).await), ["other-model:7b"]);
    // Cleared: back to the server Atelier was started with.
    call(&client, "settings.set", json!({ "key": "model_server", "value": "" })).await;
    assert_eq!(names(&call(&client, "models.list", json!({})).await), ["test-model"]);
}
