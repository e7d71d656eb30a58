//! Chats whose agent uses tools, through the API as the UI drives them: a model that reads a
//! file and answers with what only that file says, every step and result stored, approval
//! (allow, deny, always, revoke), a checkpoint before an agent's edit, a stop while a call
//! waits that leaves a history the next message goes on from, and the API's checks.

use std::sync::Arc;

use atelier_core::{Client, Published};
use atelier_testkit::{Match, Reply, Scenario, TestCall};
use serde_json::{Value, json};

use crate::support::{Harness, call, next_event, rpc};

fn calls(name: &str, args: Value) -> Scenario {
    Scenario::Reply(Reply::tool_calls(vec![TestCall::new(name, args)]))
}

fn answer(text: &str) -> Scenario {
    Scenario::Reply(Reply::text(text))
}

/// A project holding `notes.txt`, committed, and a chat with tools in it, subscribed.
async fn chat_with_tools(h: &Harness) -> (Client, String, String, std::path::PathBuf) {
    let client = h.client();
    let project = call(&client, "projects.create", json!({ "name": "tools" })).await;
    let id = project["id"].as_str().expect("id").to_owned();
    let root = std::path::PathBuf::from(project["path"].as_str().expect("path"));
    call(
        &client,
        "files.write",
        json!({ "project_id": id, "path": "notes.txt", "content": "The code is PURPLE-OTTER-42.\n" }),
    )
    .await;
    call(&client, "git.stage", json!({ "project_id": id, "paths": ["notes.txt"] })).await;
    call(&client, "git.commit", json!({ "project_id": id, "message": "notes" })).await;
    let session = call(&client, "sessions.create", json!({ "project_id": id, "tools": true })).await;
    assert_eq!(session["tools"], true);
    let sid = session["id"].as_str().expect("id").to_owned();
    call(&client, "subscribe", json!({ "topics": [format!("session/{sid}")] })).await;
    (client, id, sid, root)
}

/// Events until the reply ends: a completed step without calls, a failure, or a stop.
async fn until_answer(client: &Client) -> Vec<Arc<Published>> {
    let mut seen = Vec::new();
    loop {
        let event = next_event(client).await;
        let data = &event.event.data;
        let done = match event.event.kind.as_str() {
            "message.completed" => {
                data["message"]["role"] == "assistant"
                    && (data["message"]["tool_calls"].as_array().is_none_or(Vec::is_empty)
                        || data["message"]["status"] == "interrupted")
            }
            "message.failed" => true,
            _ => false,
        };
        seen.push(event);
        if done {
            return seen;
        }
    }
}

/// Waits for a `tool.call` event and returns its data.
async fn next_call(client: &Client) -> Value {
    loop {
        let event = next_event(client).await;
        if event.event.kind == "tool.call" {
            return event.event.data.clone();
        }
    }
}

fn kinds(events: &[Arc<Published>]) -> Vec<String> {
    events.iter().map(|e| e.event.kind.clone()).filter(|k| k != "message.delta").collect()
}

#[tokio::test]
async fn an_agent_reads_a_file_and_answers_with_what_only_it_holds_and_every_step_is_stored() {
    let h = Harness::new().await;
    let (client, _id, sid, _root) = chat_with_tools(&h).await;
    h.llm.route_sequence(Match::LastMessage, "PURPLE-OTTER-42", vec![answer("The code is PURPLE-OTTER-42.")]);
    h.llm.route_sequence(
        Match::LastUser,
        "what is the code",
        vec![calls("read_file", json!({ "path": "notes.txt" }))],
    );
    call(&client, "messages.send", json!({ "session_id": sid, "content": "what is the code in my notes?" }))
        .await;
    let events = until_answer(&client).await;
    let kinds = kinds(&events);
    for expected in ["tool.call", "tool.result", "message.created", "message.completed"] {
        assert!(kinds.contains(&expected.to_owned()), "{expected} in {kinds:?}");
    }
    let call_event = events.iter().find(|e| e.event.kind == "tool.call").expect("tool.call");
    assert_eq!(call_event.event.data["call"]["name"], "read_file");
    assert_eq!(call_event.event.data["needs_approval"], false, "reading needs no approval");
    assert_eq!(call_event.event.data["effect"], "read");

    let messages = call(&client, "messages.list", json!({ "session_id": sid })).await;
    let messages = messages.as_array().expect("list");
    let n = messages.len();
    let (step, result, last) = (&messages[n - 3], &messages[n - 2], &messages[n - 1]);
    assert_eq!(step["role"], "assistant");
    assert_eq!(step["tool_calls"][0]["name"], "read_file");
    assert_eq!(step["tool_calls"][0]["arguments"]["path"], "notes.txt");
    assert_eq!(result["role"], "tool");
    assert_eq!(result["tool_call_id"], step["tool_calls"][0]["id"]);
    assert_eq!(result["name"], "read_file");
    assert_eq!(result["tool_status"], "ok");
    assert!(result["content"].as_str().expect("text").contains("PURPLE-OTTER-42"));
    assert_eq!(last["content"], "The code is PURPLE-OTTER-42.");
    assert_eq!(last["status"], "complete");

    // The model got the call and its result back on the wire.
    let last = h.llm.chat_bodies().last().cloned().expect("a request");
    let wire = last["messages"].as_array().expect("messages").clone();
    assert_eq!(wire[wire.len() - 1]["role"], "tool");
    assert!(last["tools"].as_array().is_some_and(|t| t.iter().any(|t| t["function"]["name"] == "read_file")));
    // And the stored history reads back the same after a restart (no duplicate, no orphan).
    let mut h = h;
    h.restart().await;
    let client = h.client();
    h.llm.route_on(Match::LastUser, "and again", answer("Still PURPLE-OTTER-42."));
    call(&client, "subscribe", json!({ "topics": [format!("session/{sid}")] })).await;
    call(&client, "messages.send", json!({ "session_id": sid, "content": "and again?" })).await;
    until_answer(&client).await;
    let body = h.llm.chat_bodies().last().cloned().expect("a request");
    let roles: Vec<&str> =
        body["messages"].as_array().expect("m").iter().filter_map(|m| m["role"].as_str()).collect();
    let tool_at = roles.iter().position(|r| *r == "tool").expect("the tool result is in the history");
    assert_eq!(roles[tool_at - 1], "assistant", "the result follows its call: {roles:?}");
}

#[tokio::test]
async fn commands_wait_for_approval_and_allow_deny_always_and_revoke_work() {
    let h = Harness::new().await;
    let (client, id, sid, _root) = chat_with_tools(&h).await;
    h.llm.route_sequence(Match::LastMessage, "did not allow", vec![answer("Not run.")]);
    h.llm.route_sequence(Match::LastMessage, "exited with code 0", vec![answer("It printed ran-ok.")]);
    h.llm.route_sequence(
        Match::LastUser,
        "run it",
        vec![calls("run_command", json!({ "command": "echo ran-ok" }))],
    );

    // Allow: the output streams and the answer uses it.
    call(&client, "messages.send", json!({ "session_id": sid, "content": "run it" })).await;
    let waiting = next_call(&client).await;
    assert_eq!(waiting["needs_approval"], true);
    assert_eq!(waiting["effect"], "run");
    let call_id = waiting["call"]["id"].as_str().expect("id").to_owned();
    assert_eq!(h.app.approvals_waiting(), 1);
    // A client that opens the chat now (or reloads) learns what waits.
    let pending = call(&h.client(), "tools.pending", json!({ "session_id": sid })).await;
    assert_eq!(pending[0]["call"]["id"], call_id.as_str(), "{pending}");
    assert_eq!(pending[0]["needs_approval"], true);
    call(&client, "tools.approve", json!({ "call_id": call_id, "decision": "allow" })).await;
    let events = until_answer(&client).await;
    let output: String = events
        .iter()
        .filter(|e| e.event.kind == "tool.output")
        .filter_map(|e| e.event.data["delta"].as_str().map(str::to_owned))
        .collect();
    assert!(output.contains("ran-ok"), "the command's output streamed: {output:?}");
    let last = events.last().expect("end");
    assert_eq!(last.event.data["message"]["content"], "It printed ran-ok.");

    // Deny: the model is told, the command never runs.
    call(&client, "messages.send", json!({ "session_id": sid, "content": "run it" })).await;
    let waiting = next_call(&client).await;
    let call_id = waiting["call"]["id"].as_str().expect("id").to_owned();
    call(&client, "tools.approve", json!({ "call_id": call_id, "decision": "deny" })).await;
    let events = until_answer(&client).await;
    let result = events.iter().find(|e| e.event.kind == "tool.result").expect("result");
    assert_eq!(result.event.data["status"], "denied");
    assert!(!events.iter().any(|e| e.event.kind == "tool.output"), "a denied command never runs");
    assert_eq!(events.last().expect("end").event.data["message"]["content"], "Not run.");

    // Always: remembered for the project; the next call does not ask.
    call(&client, "messages.send", json!({ "session_id": sid, "content": "run it" })).await;
    let waiting = next_call(&client).await;
    let call_id = waiting["call"]["id"].as_str().expect("id").to_owned();
    call(&client, "tools.approve", json!({ "call_id": call_id, "decision": "allow_always" })).await;
    until_answer(&client).await;
    assert_eq!(call(&client, "tools.allowed", json!({ "project_id": id })).await, json!(["run_command"]));
    call(&client, "messages.send", json!({ "session_id": sid, "content": "run it" })).await;
    let asked = next_call(&client).await;
    // Where commands run unconfined (no sandbox here), they always ask.
    let confined = h.app.sandbox().is_ok_and(|s| s.mode().is_confined());
    assert_eq!(asked["needs_approval"], !confined, "{asked}");
    if !confined {
        let call_id = asked["call"]["id"].as_str().expect("id").to_owned();
        call(&client, "tools.approve", json!({ "call_id": call_id, "decision": "allow" })).await;
    }
    until_answer(&client).await;

    // Revoke: asked again.
    call(&client, "tools.revoke", json!({ "project_id": id, "tool": "run_command" })).await;
    assert_eq!(call(&client, "tools.allowed", json!({ "project_id": id })).await, json!([]));
    call(&client, "messages.send", json!({ "session_id": sid, "content": "run it" })).await;
    let asked = next_call(&client).await;
    assert_eq!(asked["needs_approval"], true);
    let call_id = asked["call"]["id"].as_str().expect("id").to_owned();
    call(&client, "tools.approve", json!({ "call_id": call_id, "decision": "deny" })).await;
    until_answer(&client).await;

    // Answering a call that no longer waits says so.
    let late = rpc(&client, "tools.approve", json!({ "call_id": call_id, "decision": "allow" })).await;
    assert_eq!(late["error"]["data"]["kind"], "not_found", "{late}");
    let bad = rpc(&client, "tools.approve", json!({ "call_id": "x", "decision": "maybe" })).await;
    assert_eq!(bad["error"]["data"]["kind"], "invalid_input", "{bad}");
}

#[tokio::test]
async fn an_agents_edit_is_checkpointed_first_and_can_be_undone() {
    let h = Harness::new().await;
    let (client, id, sid, root) = chat_with_tools(&h).await;
    h.llm.route_sequence(Match::LastMessage, "edited `notes.txt`", vec![answer("Changed.")]);
    h.llm.route_sequence(
        Match::LastUser,
        "change the code",
        vec![calls(
            "edit_file",
            json!({ "path": "notes.txt", "search": "PURPLE-OTTER-42", "replace": "GREEN-FOX-7" }),
        )],
    );
    call(&client, "messages.send", json!({ "session_id": sid, "content": "change the code" })).await;
    let events = until_answer(&client).await;
    let end = &events.last().expect("end").event;
    let results: Vec<String> =
        events.iter().filter(|e| e.event.kind == "tool.result").map(|e| e.event.data.to_string()).collect();
    assert_eq!(end.data["message"]["content"], "Changed.", "{}: {} {results:?}", end.kind, end.data);
    assert_eq!(std::fs::read_to_string(root.join("notes.txt")).expect("read"), "The code is GREEN-FOX-7.\n");
    let checkpoints = call(&client, "checkpoints.list", json!({ "project_id": id })).await;
    let checkpoint = checkpoints
        .as_array()
        .expect("list")
        .iter()
        .find(|c| c["label"].as_str().is_some_and(|l| l.contains("before the agent changed notes.txt")))
        .cloned()
        .unwrap_or_else(|| panic!("a checkpoint before the edit: {checkpoints}"));
    call(&client, "checkpoints.restore", json!({ "project_id": id, "id": checkpoint["id"] })).await;
    assert_eq!(
        std::fs::read_to_string(root.join("notes.txt")).expect("read"),
        "The code is PURPLE-OTTER-42.\n"
    );
}

#[tokio::test]
async fn a_chats_changes_are_listed_and_each_can_be_kept_or_undone() {
    let h = Harness::new().await;
    let (client, id, sid, root) = chat_with_tools(&h).await;
    h.llm.route_sequence(Match::LastMessage, "`todo.txt`", vec![answer("Done.")]);
    h.llm.route_sequence(
        Match::LastUser,
        "two edits",
        vec![
            calls(
                "edit_file",
                json!({ "path": "notes.txt", "search": "PURPLE-OTTER-42", "replace": "GREEN-FOX-7" }),
            ),
            calls("write_file", json!({ "path": "todo.txt", "content": "buy milk\n" })),
        ],
    );
    assert_eq!(call(&client, "sessions.changes", json!({ "session_id": sid })).await, json!([]));
    call(&client, "messages.send", json!({ "session_id": sid, "content": "two edits" })).await;
    let events = until_answer(&client).await;
    let announced: Vec<&Value> =
        events.iter().filter(|e| e.event.kind == "session.changes").map(|e| &e.event.data).collect();
    assert!(!announced.is_empty(), "the changes are announced as they happen: {:?}", kinds(&events));
    let changes = call(&client, "sessions.changes", json!({ "session_id": sid })).await;
    let paths: Vec<&str> =
        changes.as_array().expect("list").iter().map(|c| c["path"].as_str().expect("path")).collect();
    assert_eq!(paths, ["notes.txt", "todo.txt"], "{changes}");
    assert_eq!((changes[0]["additions"].as_u64(), changes[0]["deletions"].as_u64()), (Some(1), Some(1)));
    assert!(changes[0]["diff"].as_str().expect("diff").contains("+The code is GREEN-FOX-7."), "{changes}");
    assert!(changes[1]["diff"].as_str().expect("diff").starts_with("--- /dev/null"), "{changes}");

    // A path that is not among the changes is refused and nothing changes.
    let bad = rpc(&client, "sessions.revert", json!({ "session_id": sid, "paths": ["../x"] })).await;
    assert_eq!(bad["error"]["data"]["kind"], "invalid_input", "{bad}");

    // Undo the edit of notes.txt: it is back as before the chat; the new file stays listed.
    let undone = call(&client, "sessions.revert", json!({ "session_id": sid, "paths": ["notes.txt"] })).await;
    assert_eq!(
        std::fs::read_to_string(root.join("notes.txt")).expect("read"),
        "The code is PURPLE-OTTER-42.\n"
    );
    let left = call(&client, "sessions.changes", json!({ "session_id": sid })).await;
    assert_eq!(left.as_array().expect("list").len(), 1, "{left}");
    assert_eq!(left[0]["path"], "todo.txt");
    // The undo itself can be undone.
    call(&client, "checkpoints.restore", json!({ "project_id": id, "id": undone["undo"]["id"] })).await;
    assert_eq!(std::fs::read_to_string(root.join("notes.txt")).expect("read"), "The code is GREEN-FOX-7.\n");

    // Keep the new file: it stays on disk and leaves the list.
    call(&client, "sessions.keep", json!({ "session_id": sid, "paths": ["todo.txt"] })).await;
    assert_eq!(call(&client, "sessions.changes", json!({ "session_id": sid })).await, json!([]));
    assert_eq!(std::fs::read_to_string(root.join("todo.txt")).expect("read"), "buy milk\n");
}

#[tokio::test]
async fn a_stop_while_a_call_waits_answers_it_and_the_next_message_goes_on() {
    let mut h = Harness::new().await;
    let (client, _id, sid, _root) = chat_with_tools(&h).await;
    h.llm.route_sequence(
        Match::LastUser,
        "run it",
        vec![calls("run_command", json!({ "command": "echo never" }))],
    );
    call(&client, "messages.send", json!({ "session_id": sid, "content": "run it" })).await;
    let waiting = next_call(&client).await;
    assert_eq!(waiting["needs_approval"], true);
    let call_id = waiting["call"]["id"].as_str().expect("id").to_owned();
    // Stop: the waiting call is answered, for the history and for every client.
    call(&client, "messages.stop", json!({ "session_id": sid })).await;
    let result = loop {
        let e = next_event(&client).await;
        if e.event.kind == "tool.result" {
            break e.event.data.clone();
        }
    };
    assert_eq!(
        (result["call_id"].as_str(), result["status"].as_str()),
        (Some(call_id.as_str()), Some("error"))
    );
    assert!(result["content"].as_str().expect("text").contains("stopped"), "{result}");
    assert_eq!(h.app.approvals_waiting(), 0);

    // After a restart, the next message goes on from that history.
    h.restart().await;
    let client = h.client();
    call(&client, "subscribe", json!({ "topics": [format!("session/{sid}")] })).await;
    h.llm.route_on(Match::LastUser, "what happened", answer("The command was stopped."));
    call(&client, "messages.send", json!({ "session_id": sid, "content": "what happened?" })).await;
    let events = until_answer(&client).await;
    assert_eq!(events.last().expect("end").event.data["message"]["content"], "The command was stopped.");
    let body = h.llm.chat_bodies().last().cloned().expect("a request");
    let messages = body["messages"].as_array().expect("messages");
    let answered = messages.iter().find(|m| m["role"] == "tool").expect("the call is answered on the wire");
    assert!(answered["content"].as_str().expect("text").contains("stopped"), "{answered}");
    let stored = call(&client, "messages.list", json!({ "session_id": sid })).await;
    assert!(
        stored.as_array().expect("list").iter().all(|m| m["status"] != "streaming"),
        "nothing is left streaming"
    );
}

#[tokio::test]
async fn the_api_checks_sessions_with_tools_and_lists_the_tools() {
    let h = Harness::new().await;
    let client = h.client();
    let no_project = rpc(&client, "sessions.create", json!({ "tools": true })).await;
    assert_eq!(no_project["error"]["data"]["kind"], "invalid_input", "{no_project}");
    assert!(no_project["error"]["message"].as_str().expect("msg").contains("project"));

    let (client, id, sid, _root) = chat_with_tools(&h).await;
    let updated =
        call(&client, "sessions.update", json!({ "id": sid, "tools": false, "model": "other-model" })).await;
    assert_eq!((updated["tools"].clone(), updated["model"].clone()), (json!(false), json!("other-model")));
    let event = loop {
        let e = next_event(&client).await;
        if e.event.kind == "session.updated" {
            break e;
        }
    };
    assert_eq!(event.event.data["session"]["model"], "other-model");
    let back = call(&client, "sessions.update", json!({ "id": sid, "model": "", "tools": true })).await;
    assert_eq!((back["tools"].clone(), back["model"].clone()), (json!(true), Value::Null));
    let bad = rpc(&client, "sessions.update", json!({ "id": sid, "agent": "wizard" })).await;
    assert_eq!(bad["error"]["data"]["kind"], "invalid_input");
    let missing = rpc(&client, "sessions.update", json!({ "id": "ses_nope", "tools": true })).await;
    assert_eq!(missing["error"]["data"]["kind"], "not_found");

    let tools = call(&client, "tools.list", json!({ "project_id": id })).await;
    let tools = tools.as_array().expect("list");
    let effect = |name: &str| tools.iter().find(|t| t["name"] == name).map(|t| t["effect"].clone());
    for (name, expected) in [
        ("list_files", "read"),
        ("read_file", "read"),
        ("find_in_files", "read"),
        ("search_code", "read"),
        ("repo_map", "read"),
        ("write_file", "write"),
        ("edit_file", "write"),
        ("run_command", "run"),
    ] {
        assert_eq!(effect(name), Some(json!(expected)), "{name}");
    }
    assert!(tools.iter().all(|t| t["source"] == "builtin" && t["input_schema"]["type"] == "object"));
    let unknown = rpc(&client, "tools.list", json!({ "project_id": "prj_nope" })).await;
    assert_eq!(unknown["error"]["data"]["kind"], "not_found");
}

#[tokio::test]
async fn a_long_plain_chat_is_compacted_with_a_summary_never_cut_silently() {
    let h = Harness::new().await;
    h.llm.set_models(vec![atelier_testkit::TestModel::new("test-model", 8192)]);
    h.llm.route_on(Match::Anywhere, "You summarise the middle", answer("SUMMARY-OF-THE-OLD-TURNS"));
    h.llm.set_default(answer("noted"));
    let client = h.client();
    let session = call(&client, "sessions.create", json!({ "model": "test-model" })).await;
    let sid = session["id"].as_str().expect("id").to_owned();
    call(&client, "subscribe", json!({ "topics": [format!("session/{sid}")] })).await;
    // Each message about 1,500 tokens: with 2,048 kept for the reply, the third passes 80% of
    // the 8,192-token window.
    let mut compacted = None;
    for i in 0..5 {
        let text = format!("MARKER-{i} {}", "words that fill the context window ".repeat(170));
        call(&client, "messages.send", json!({ "session_id": sid, "content": text })).await;
        let events = until_answer(&client).await;
        let usage = loop {
            let e = next_event(&client).await;
            if e.event.kind == "context.usage" {
                break e.event.data.clone();
            }
        };
        if usage["compacted"] == true && compacted.is_none() {
            compacted = Some((i, events));
        }
    }
    let (at, events) = compacted.expect("the chat was compacted");
    assert!(at >= 2, "not before the window filled (at message {at})");
    let summary = events
        .iter()
        .find(|e| e.event.kind == "message.created" && e.event.data["message"]["kind"] == "summary")
        .expect("the summary is announced as a message");
    assert_eq!(summary.event.data["message"]["content"], "SUMMARY-OF-THE-OLD-TURNS");
    // The last request: the system prompt and the summary, not the oldest turn; every request
    // fitted its window.
    let bodies = h.llm.chat_bodies();
    let last = bodies.last().expect("a request").to_string();
    assert!(last.contains("SUMMARY-OF-THE-OLD-TURNS") && last.contains("MARKER-4"));
    assert!(!last.contains("MARKER-0 "), "the oldest turn is summarised, not sent");
    assert!(bodies.iter().all(|b| b["options"]["num_ctx"].as_u64().is_some_and(|n| n <= 8192)));
    // Nothing is lost: the history and search still have the oldest turn.
    let all = call(&client, "messages.list", json!({ "session_id": sid, "limit": 100 })).await;
    assert!(all.to_string().contains("MARKER-0 "));
}
