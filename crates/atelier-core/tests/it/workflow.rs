//! Workflows through the API: start with plan approval, watch the events, get the result.

use atelier_core::Client;
use atelier_testkit::{Reply, Scenario};
use serde_json::{Value, json};

use crate::support::{Harness, call, events_until, next_event, rpc};

const PLAN: &str = r#"{"summary": "Add hello", "modules": [{"name": "app", "responsibility": "the program",
  "files": [{"path": "hello.py", "purpose": "prints hello"}, {"path": "test_hello.py", "purpose": "tests it"}]}]}"#;

#[tokio::test]
async fn a_workflow_waits_for_approval_then_writes_and_commits() {
    let h = Harness::new().await;
    h.llm.route("Your module:", Scenario::Reply(Reply::text("hello.py prints; test checks.")));
    h.llm.route("Write the file `hello.py`", Scenario::Reply(Reply::text("```python\nprint('hello')\n```")));
    h.llm.route(
        "Write the file `test_hello.py`",
        Scenario::Reply(Reply::text("```python\nimport hello\n```")),
    );
    h.llm.push(Scenario::Reply(Reply::text(PLAN)));
    let client = h.client();
    let project = call(&client, "projects.create", json!({ "name": "hello" })).await;
    let started = call(
        &client,
        "workflows.start",
        json!({ "project_id": project["id"], "request": "print hello", "options": { "approve_plan": true, "model": "test-model", "tools": false } }),
    )
    .await;
    let id = started["id"].as_str().expect("id").to_owned();
    call(&client, "subscribe", json!({ "topics": [format!("workflow/{id}")], "after_seq": 0 })).await;
    let events = events_until(&client, "plan.ready").await;
    let plan = &events.last().expect("plan").event.data["plan"];
    assert_eq!(plan["modules"][0]["files"][1]["path"], "test_hello.py");
    let waiting = loop {
        let wf = call(&client, "workflows.get", json!({ "id": id })).await;
        if wf["state"] == "awaiting_approval" {
            break wf;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(waiting["agents"][0]["role"], "master");

    // Approve an edited plan: only hello.py.
    let mut edited = plan.clone();
    edited["modules"][0]["files"].as_array_mut().expect("files").truncate(1);
    call(&client, "workflows.approve_plan", json!({ "id": id, "plan": edited })).await;
    let events = events_until(&client, "workflow.completed").await;
    assert!(events.iter().any(|e| e.event.kind == "file.written" && e.event.data["path"] == "hello.py"));
    let done = &events.last().expect("completed").event.data;
    assert_eq!(done["summary"], "Add hello");
    let path = std::path::PathBuf::from(project["path"].as_str().expect("path"));
    assert_eq!(std::fs::read_to_string(path.join("hello.py")).expect("written"), "print('hello')\n");
    assert!(!path.join("test_hello.py").exists(), "the edited plan was followed");

    let wf = loop {
        let wf = call(&client, "workflows.get", json!({ "id": id })).await;
        if wf["state"] == "completed" {
            break wf;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(wf["commit"], done["commit"]);
    assert_eq!(wf["files"], json!([{ "path": "hello.py", "bytes": 15 }]));
    assert_eq!(wf["agents"].as_array().expect("agents").len(), 3, "master, manager, coder");
    let usage = &wf["usage"];
    assert_eq!(usage["total"]["calls"], 3, "plan, manager, coder: {usage}");
    let modules: Vec<_> = usage["by_module"]
        .as_array()
        .expect("modules")
        .iter()
        .map(|m| (m["key"].clone(), m["calls"].clone()))
        .collect();
    assert_eq!(
        modules,
        vec![(json!("app"), json!(2)), (json!("plan"), json!(1))],
        "the coder counts under its manager's module"
    );
    assert_eq!(usage["by_agent"].as_array().expect("agents").len(), 3);
    let listed = call(&client, "workflows.list", json!({ "project_id": project["id"] })).await;
    assert_eq!(listed[0]["id"], id.as_str());
    let metrics = call(&client, "coordinator.metrics", json!({})).await;
    assert_eq!(metrics["total_workflows"], 1);
    assert_eq!(metrics["registered_agents"], 3);
    // Checkpoints before and after; restoring "before" takes hello.py away, undoing brings it back.
    let checkpoints = call(&client, "checkpoints.list", json!({ "project_id": project["id"] })).await;
    let labels: Vec<_> = checkpoints.as_array().expect("list").iter().map(|c| c["label"].clone()).collect();
    assert_eq!(labels, vec![json!("After: Add hello"), json!("Before: Add hello")]);
    let before = checkpoints[1]["id"].clone();
    let restored =
        call(&client, "checkpoints.restore", json!({ "project_id": project["id"], "id": before })).await;
    assert!(!path.join("hello.py").exists(), "restored to before the workflow");
    call(
        &client,
        "checkpoints.restore",
        json!({ "project_id": project["id"], "id": restored["undo"]["id"] }),
    )
    .await;
    assert_eq!(std::fs::read_to_string(path.join("hello.py")).expect("back"), "print('hello')\n");
    let agents = call(&client, "agents.list", json!({ "workflow_id": id })).await;
    assert!(
        agents.as_array().expect("agents").iter().all(|a| a["metrics"]["message_count"].as_u64().is_some())
    );
}

/// Scripts the plan (PLAN), its manager and `hello.py`'s coder, with `test_hello` for the other
/// file; creates project `name`, starts the workflow and subscribes to it. Returns the project
/// and the workflow id.
async fn start_hello(h: &Harness, client: &Client, name: &str, test_hello: Scenario) -> (Value, String) {
    h.llm.route("Your module:", Scenario::Reply(Reply::text("hello.py prints; test checks.")));
    h.llm.route("Write the file `hello.py`", Scenario::Reply(Reply::text("```python\nprint('hello')\n```")));
    h.llm.route("Write the file `test_hello.py`", test_hello);
    h.llm.push(Scenario::Reply(Reply::text(PLAN)));
    let project = call(client, "projects.create", json!({ "name": name })).await;
    let started = call(
        client,
        "workflows.start",
        json!({ "project_id": project["id"], "request": "print hello", "options": { "model": "test-model" } }),
    )
    .await;
    let id = started["id"].as_str().expect("id").to_owned();
    call(client, "subscribe", json!({ "topics": [format!("workflow/{id}")], "after_seq": 0 })).await;
    (project, id)
}

#[tokio::test]
async fn a_running_workflow_opened_later_lists_the_files_written_so_far() {
    let h = Harness::new().await;
    let client = h.client();
    let (_, id) = start_hello(&h, &client, "half", Scenario::Hang).await;
    loop {
        let event = next_event(&client).await;
        if event.event.kind == "file.written" {
            assert_eq!(event.event.data["path"], "hello.py");
            break;
        }
    }

    // Another client opening the workflow now sees the written file, not the one still coming.
    let other = h.client();
    let wf = call(&other, "workflows.get", json!({ "id": id })).await;
    assert_eq!(wf["state"], "running");
    assert_eq!(wf["files"], json!([{ "path": "hello.py", "bytes": 15 }]));

    call(&client, "workflows.control", json!({ "id": id, "action": "cancel" })).await;
    events_until(&client, "workflow.cancelled").await;
    let wf = call(&other, "workflows.get", json!({ "id": id })).await;
    assert_eq!(wf["state"], "cancelled");
    assert_eq!(wf["files"], json!([{ "path": "hello.py", "bytes": 15 }]), "kept after cancelling");
}

#[tokio::test]
async fn a_failed_workflow_is_retried_from_where_it_failed() {
    let h = Harness::new().await;
    let client = h.client();
    let refused =
        Scenario::Status { status: 400, body: r#"{"error":"bad request"}"#.into(), retry_after: None };
    let (project, id) = start_hello(&h, &client, "retry", refused).await;
    events_until(&client, "workflow.failed").await;
    let resumed = rpc(&client, "workflows.control", json!({ "id": id, "action": "resume" })).await;
    assert_eq!(resumed["error"]["data"]["kind"], "conflict");
    assert!(resumed["error"]["message"].as_str().expect("message").contains("retry"), "{resumed}");

    // The model works again: retrying makes only the calls that had not succeeded.
    let before = h.llm.requests().len();
    h.llm.route_replace(
        "Write the file `test_hello.py`",
        Scenario::Reply(Reply::text("```python\nimport hello\n```")),
    );
    let retried = call(&client, "workflows.control", json!({ "id": id, "action": "retry" })).await;
    assert_eq!(retried["state"], "running");
    assert!(retried.get("error").is_none(), "the old error is cleared: {retried}");
    let events = events_until(&client, "workflow.completed").await;
    assert_eq!(events[0].event.kind, "workflow.state", "clients hear that it runs again");
    let again: Vec<String> = h.llm.requests()[before..]
        .iter()
        .filter(|r| r.path == "/api/chat")
        .map(|r| r.body.to_string())
        .collect();
    assert!(
        !again.is_empty() && again.iter().all(|b| b.contains("Write the file")),
        "planning or a manager ran again"
    );
    assert!(again.iter().any(|b| b.contains("Write the file `test_hello.py`")));
    let path = std::path::PathBuf::from(project["path"].as_str().expect("path"));
    assert_eq!(std::fs::read_to_string(path.join("test_hello.py")).expect("written"), "import hello\n");
    let wf = call(&client, "workflows.get", json!({ "id": id })).await;
    assert_eq!(wf["state"], "completed");
    assert_eq!(wf["files"].as_array().expect("files").len(), 2);

    let twice = rpc(&client, "workflows.control", json!({ "id": id, "action": "retry" })).await;
    assert_eq!(twice["error"]["data"]["kind"], "conflict");
    assert!(
        twice["error"]["message"].as_str().expect("message").contains("only a failed workflow"),
        "{twice}"
    );
    let unknown = rpc(&client, "workflows.control", json!({ "id": "wf_nope", "action": "retry" })).await;
    assert_eq!(unknown["error"]["data"]["kind"], "not_found");
}

#[tokio::test]
async fn workflow_errors_name_the_problem() {
    let h = Harness::new().await;
    let client = h.client();
    let missing = rpc(&client, "workflows.start", json!({ "project_id": "prj_nope", "request": "x" })).await;
    assert_eq!(missing["error"]["data"]["kind"], "not_found");
    let project = call(&client, "projects.create", json!({ "name": "p" })).await;
    let empty = rpc(&client, "workflows.start", json!({ "project_id": project["id"], "request": " " })).await;
    assert_eq!(empty["error"]["data"]["kind"], "invalid_input");
    let bad_options = rpc(
        &client,
        "workflows.start",
        json!({ "project_id": project["id"], "request": "x", "options": { "max_parallel": "lots" } }),
    )
    .await;
    assert_eq!(bad_options["error"]["data"]["kind"], "invalid_input");
    let unknown = rpc(&client, "workflows.control", json!({ "id": "wf_nope", "action": "pause" })).await;
    assert_eq!(unknown["error"]["data"]["kind"], "not_found");
}

#[tokio::test]
async fn metrics_are_pushed_every_two_seconds_to_whoever_subscribes() {
    let h = Harness::new().await;
    let client = h.client();
    call(&client, "subscribe", json!({ "topics": ["system", "coordinator"] })).await;
    let mut kinds = std::collections::HashSet::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(6);
    while kinds.len() < 2 && std::time::Instant::now() < deadline {
        let event = crate::support::next_event(&client).await;
        if event.event.kind == "system.metrics" {
            assert!(event.event.data["memory_total_bytes"].as_u64().expect("memory") > 0);
            assert_eq!(event.event.data["connected_clients"], 1);
        }
        kinds.insert(event.event.kind.clone());
    }
    assert!(kinds.contains("system.metrics") && kinds.contains("coordinator.metrics"), "{kinds:?}");
}

#[tokio::test]
async fn each_agent_role_can_use_its_own_model_from_settings_or_the_request() {
    use atelier_testkit::TestModel;
    let h = Harness::new().await;
    h.llm.set_models(vec![
        TestModel::new("test-model", 8192),
        TestModel::new("big-planner", 32_768),
        TestModel::new("fast-coder", 8192),
    ]);
    h.llm.route("Your module:", Scenario::Reply(Reply::text("Keep it small.")));
    h.llm.route("Write the file `hello.py`", Scenario::Reply(Reply::text("```python\nprint('hello')\n```")));
    h.llm.push(Scenario::Reply(Reply::text(
        r#"{"summary": "Add hello", "modules": [{"name": "app", "responsibility": "the program", "files": [{"path": "hello.py", "purpose": "prints hello"}]}]}"#,
    )));
    let client = h.client();
    let bad = rpc(&client, "settings.set", json!({ "key": "api_key", "value": "x" })).await;
    assert_eq!(bad["error"]["data"]["kind"], "invalid_input", "only known settings: {bad}");
    for (key, value) in [("server.port", "seventy"), ("server.port", "70000"), ("server.public", "yes")] {
        let bad = rpc(&client, "settings.set", json!({ "key": key, "value": value })).await;
        assert_eq!(bad["error"]["data"]["kind"], "invalid_input", "{key}={value}: {bad}");
    }
    let server = call(&client, "settings.set", json!({ "key": "server.port", "value": "8123" })).await;
    assert_eq!(server["server.port"], "8123");
    let settings =
        call(&client, "settings.set", json!({ "key": "model.coder", "value": "fast-coder" })).await;
    assert_eq!(settings["model.coder"], "fast-coder");
    assert_eq!(settings["model.master"], json!(null));

    let project = call(&client, "projects.create", json!({ "name": "roles" })).await;
    let wrong = rpc(
        &client,
        "workflows.start",
        json!({ "project_id": project["id"], "request": "x", "options": { "models": { "boss": "m" } } }),
    )
    .await;
    assert_eq!(wrong["error"]["data"]["kind"], "invalid_input", "{wrong}");
    let started = call(
        &client,
        "workflows.start",
        json!({ "project_id": project["id"], "request": "print hello",
                "options": { "model": "test-model", "models": { "master": "big-planner" } } }),
    )
    .await;
    let id = started["id"].as_str().expect("id").to_owned();
    call(&client, "subscribe", json!({ "topics": [format!("workflow/{id}")], "after_seq": 0 })).await;
    events_until(&client, "workflow.completed").await;

    let model_of = |needle: &str| {
        let request = h.llm.requests().into_iter().find(|r| {
            r.path == "/api/chat"
                && r.body["messages"].as_array().is_some_and(|ms| {
                    ms.last().and_then(|m| m["content"].as_str()).is_some_and(|c| c.contains(needle))
                })
        });
        request.expect(needle).body["model"].clone()
    };
    assert_eq!(model_of("Request:\nprint hello"), "big-planner", "the master's model from the request");
    assert_eq!(model_of("Your module:"), "test-model", "managers use the workflow's model");
    assert_eq!(model_of("Write the file `hello.py`"), "fast-coder", "coders use Settings' coder model");
}

#[tokio::test]
async fn with_the_review_setting_a_workflow_waits_for_the_review_and_commits_what_was_accepted() {
    let h = Harness::new().await;
    h.llm.route("Your module:", Scenario::Reply(Reply::text("spec")));
    h.llm.route("Write the file `hello.py`", Scenario::Reply(Reply::text("```python\nprint('hello')\n```")));
    h.llm.route(
        "Write the file `test_hello.py`",
        Scenario::Reply(Reply::text("```python\nimport hello\n```")),
    );
    h.llm.push(Scenario::Reply(Reply::text(PLAN)));
    let client = h.client();
    call(&client, "settings.set", json!({ "key": "workflows.review", "value": "true" })).await;
    let project = call(&client, "projects.create", json!({ "name": "review" })).await;
    let started = call(
        &client,
        "workflows.start",
        json!({ "project_id": project["id"], "request": "print hello", "options": { "model": "test-model", "tools": false } }),
    )
    .await;
    let id = started["id"].as_str().expect("id").to_owned();
    call(&client, "subscribe", json!({ "topics": [format!("workflow/{id}")], "after_seq": 0 })).await;
    let events = events_until(&client, "review.ready").await;
    let ready = &events.last().expect("ready").event.data;
    assert_eq!(ready["files"].as_array().expect("files").len(), 2, "{ready}");
    let wf = call(&client, "workflows.get", json!({ "id": id })).await;
    assert_eq!(wf["state"], "reviewing");
    assert_eq!(wf["review"]["files"][0]["path"], "hello.py", "a UI opened later sees the review: {wf}");
    assert_eq!(wf["review"]["files"][0]["hunks"][0]["new_lines"], 1);

    let undecided = rpc(&client, "workflows.review", json!({ "id": id, "accept": ["hello.py"] })).await;
    assert_eq!(undecided["error"]["data"]["kind"], "invalid_input", "{undecided}");
    let reviewed = call(
        &client,
        "workflows.review",
        json!({ "id": id, "accept": [{ "path": "hello.py", "hunks": [0] }], "reject": ["test_hello.py"] }),
    )
    .await;
    assert_ne!(reviewed["state"], "reviewing");
    let done = events_until(&client, "workflow.completed").await;
    assert!(
        done.iter()
            .any(|e| e.event.kind == "review.done" && e.event.data["rejected"] == json!(["test_hello.py"]))
    );
    let root = std::path::PathBuf::from(project["path"].as_str().expect("path"));
    assert!(root.join("hello.py").exists() && !root.join("test_hello.py").exists());
    let late = rpc(&client, "workflows.review", json!({ "id": id, "accept": ["hello.py"] })).await;
    assert_eq!(late["error"]["data"]["kind"], "conflict", "{late}");
    let theme = rpc(&client, "settings.set", json!({ "key": "ui.theme", "value": "purple" })).await;
    assert_eq!(theme["error"]["data"]["kind"], "invalid_input", "{theme}");
}
