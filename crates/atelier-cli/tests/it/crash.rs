//! kill -9 of `atelier serve` at random moments of a workflow: after a restart the workflow
//! finishes with identical files and exactly one commit, and no recorded model call is made
//! again. 20 runs; 100 with RUN_SLOW_TESTS=1.

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use atelier_testkit::{RecordedRequest, Reply, Scenario, TestLlm};
use serde_json::json;

use crate::support::{Ws, serve};

const REQUEST: &str = "CRASHTEST build four files";
const FILES: [&str; 4] = ["a.txt", "b.txt", "dir/c.txt", "dir/d.txt"];

fn content(path: &str) -> String {
    format!("content of {path}\nline two of {path}\n")
}

fn script(llm: &TestLlm) {
    let delay = Duration::from_millis(4);
    llm.route("Your module:", Scenario::Reply(Reply::text("Each file holds two lines.").delay(delay)));
    for path in FILES {
        llm.route(
            &format!("Write the file `{path}`"),
            Scenario::Reply(Reply::text(&format!("```\n{}```", content(path))).delay(delay)),
        );
    }
    let files: Vec<_> = FILES.iter().map(|p| json!({ "path": p, "purpose": "holds text" })).collect();
    let plan = json!({ "summary": "Add four files", "modules": [
        { "name": "top", "responsibility": "top-level files", "files": files[..2] },
        { "name": "dir", "responsibility": "files in dir", "files": files[2..] },
    ]});
    llm.route(REQUEST, Scenario::Reply(Reply::text(&plan.to_string()).delay(delay)));
}

/// The step key a request to the testkit was for.
fn key_of(request: &RecordedRequest) -> String {
    let last = request.body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default();
    if let Some(rest) = last.split("Write the file `").nth(1) {
        return format!("coder:{}", rest.split('`').next().unwrap_or_default());
    }
    if let Some(rest) = last.split("Your module: ").nth(1) {
        return format!("manager:{}", rest.split(' ').next().unwrap_or_default());
    }
    "plan".into()
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git").args(args).current_dir(dir).output().expect("git");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let path = entry.path();
            if entry.file_name() == ".git" {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).expect("inside").to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

async fn one_run(run: u64) {
    let llm = TestLlm::start().await.expect("testkit");
    script(&llm);
    let data = tempfile::tempdir().expect("data");
    let mut served = serve(data.path(), &llm.url());
    let mut ws = Ws::connect(&served).await;
    let project = ws.call("projects.create", json!({ "name": "crash" })).await;
    let root = std::path::PathBuf::from(project["path"].as_str().expect("path"));
    let options = json!({ "model": "test-model", "max_parallel": 2 });
    let wf = ws
        .call(
            "workflows.start",
            json!({ "project_id": project["id"], "request": REQUEST, "options": options }),
        )
        .await;
    let id = wf["id"].as_str().expect("id").to_owned();
    // Moments spread over the workflow (about 0.4 s), a different one each run.
    let wait = (run * 7 % 20) * 20 + (run / 20) * 3;
    tokio::time::sleep(Duration::from_millis(wait)).await;
    served.child.kill().expect("kill -9");
    served.child.wait().expect("reaped");
    drop(ws);
    let requests_at_kill = llm.requests().len();

    let store = atelier_store::Store::open(&data.path().join("atelier.db")).expect("db");
    let recorded: HashSet<String> =
        store.list_steps(&id).await.expect("steps").into_iter().map(|(k, _)| k).collect();
    store.close();
    drop(store);
    println!("run {run}: killed after {wait} ms with {} steps recorded", recorded.len());

    let served = serve(data.path(), &llm.url());
    let mut ws = Ws::connect(&served).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let state = loop {
        let wf = ws.call("workflows.get", json!({ "id": id })).await;
        let state = wf["state"].as_str().unwrap_or_default().to_owned();
        if ["completed", "failed", "cancelled"].contains(&state.as_str()) || Instant::now() > deadline {
            break (state, wf);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(state.0, "completed", "run {run} (killed after {wait} ms): {}", state.1);
    for path in FILES {
        assert_eq!(
            std::fs::read_to_string(root.join(path)).expect("file"),
            content(path),
            "run {run}: {path}"
        );
    }
    let mut expected: Vec<String> = FILES.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(files_in(&root), expected, "run {run}: no stray files");
    assert_eq!(git(&root, &["log", "--format=%s"]), "Add four files", "run {run}: exactly one commit");
    assert!(
        Command::new("git").args(["fsck", "--strict"]).current_dir(&root).status().expect("fsck").success()
    );
    let repeated: Vec<String> = llm.requests()[requests_at_kill..]
        .iter()
        .filter(|r| r.path == "/api/chat")
        .map(key_of)
        .filter(|k| recorded.contains(k))
        .collect();
    assert!(
        repeated.is_empty(),
        "run {run} (killed after {wait} ms): recorded calls made again: {repeated:?}"
    );
    drop(served);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_moments_resumes_without_repeating_work() {
    let runs =
        if std::env::var("RUN_SLOW_TESTS").is_ok_and(|v| !v.is_empty() && v != "0") { 100 } else { 20 };
    for run in 0..runs {
        one_run(run).await;
    }
}
