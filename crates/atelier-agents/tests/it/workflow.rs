//! Whole workflows against the testkit: files written and committed, events, control, and a
//! crash in the middle that loses nothing and repeats no model call.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atelier_agents::{Confine, Engine, Events, Options};
use atelier_llm::{LlmConfig, OllamaProvider};
use atelier_sandbox::{Policy, Sandbox, SandboxSetting};
use atelier_store::{ProjectRow, Store, new_id, now};
use atelier_testkit::{Reply, Scenario, TestLlm};
use serde_json::Value;

#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<(String, String, Value)>>,
}

impl Events for Recorder {
    fn publish(&self, topic: &str, kind: &str, data: Value) {
        self.events.lock().unwrap().push((topic.to_owned(), kind.to_owned(), data));
    }
}

impl Recorder {
    fn kinds(&self) -> Vec<String> {
        self.events.lock().unwrap().iter().map(|(_, k, _)| k.clone()).collect()
    }
}

const PLAN: &str = r#"Here is my plan:
```json
{"summary": "Add a greeting CLI", "modules": [
  {"name": "cli", "responsibility": "the binary", "files": [{"path": "src/main.rs", "purpose": "entry point", "dependencies": ["src/greet.rs"]}]},
  {"name": "greet", "responsibility": "greetings", "files": [{"path": "src/greet.rs", "purpose": "greet()"}, {"path": "README.md", "purpose": "docs"}]}
]}
```"#;

fn script(llm: &TestLlm, delay: Duration) {
    llm.route("Your module:", Scenario::Reply(Reply::text("Keep it simple.")));
    llm.route(
        "Write the file `src/main.rs`",
        Scenario::Reply(
            Reply::text("```rust\nmod greet;\n\nfn main() {\n    greet::greet();\n}\n```").delay(delay),
        ),
    );
    llm.route(
        "Write the file `src/greet.rs`",
        Scenario::Reply(
            Reply::text("<think>easy</think>\n```\npub fn greet() {\n    println!(\"hello\");\n}\n```")
                .delay(delay),
        ),
    );
    llm.route(
        "Write the file `README.md`",
        Scenario::Reply(Reply::text("```markdown\n# Greeter\n```").delay(delay)),
    );
    llm.push(Scenario::Reply(Reply::text(PLAN)));
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Setup {
    _dir: tempfile::TempDir,
    root: PathBuf,
    db: PathBuf,
    project: String,
}

async fn setup() -> (Setup, Store) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("project");
    std::fs::create_dir_all(&root).unwrap();
    atelier_git::ensure_repository(&root).unwrap();
    let db = dir.path().join("atelier.db");
    let store = Store::open(&db).unwrap();
    let project = ProjectRow {
        id: new_id("prj"),
        name: "p".into(),
        path: root.to_string_lossy().into(),
        created_at: now(),
    };
    store.insert_project(project.clone()).await.unwrap();
    (Setup { _dir: dir, root, db, project: project.id }, store)
}

/// The real bubblewrap sandbox, with nothing but the project allowed, as checks run in it.
fn bubblewrap() -> Arc<dyn Confine> {
    let sandbox = Arc::new(Sandbox::detect(SandboxSetting::Bubblewrap).expect("bubblewrap works here"));
    Arc::new(move |project: &Path| -> Result<(Arc<Sandbox>, Policy), String> {
        Ok((sandbox.clone(), Policy::new(project)))
    })
}

fn engine(store: &Store, llm: &TestLlm, events: Arc<Recorder>) -> Engine {
    engine_in(store, llm, events, bubblewrap())
}

fn engine_in(store: &Store, llm: &TestLlm, events: Arc<Recorder>, confine: Arc<dyn Confine>) -> Engine {
    let provider = OllamaProvider::new(llm.url().parse().unwrap(), LlmConfig::default()).unwrap();
    Engine::new(store.clone(), Arc::new(provider), events, Some("test-model".into()), confine)
}

async fn wait_for_state(store: &Store, id: &str, states: &[&str]) -> String {
    for _ in 0..600 {
        let state = store.get_workflow(id).await.unwrap().state;
        if states.contains(&state.as_str()) {
            return state;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("workflow never reached {states:?}");
}

#[tokio::test]
async fn a_workflow_plans_writes_every_file_and_commits_once() {
    let (s, store) = setup().await;
    let llm = TestLlm::start().await.unwrap();
    script(&llm, Duration::ZERO);
    let events = Arc::new(Recorder::default());
    let engine = engine(&store, &llm, events.clone());
    let wf = engine.start(&s.project, s.root.clone(), "add a greeting CLI", no_tools()).await.unwrap();
    assert_eq!(
        wait_for_state(&store, &wf.id, &["completed", "failed"]).await,
        "completed",
        "{:?}",
        store.get_workflow(&wf.id).await.unwrap().error
    );

    assert_eq!(
        std::fs::read_to_string(s.root.join("src/greet.rs")).unwrap(),
        "pub fn greet() {\n    println!(\"hello\");\n}\n"
    );
    assert!(std::fs::read_to_string(s.root.join("src/main.rs")).unwrap().contains("greet::greet();"));
    assert_eq!(std::fs::read_to_string(s.root.join("README.md")).unwrap(), "# Greeter\n");
    assert_eq!(git(&s.root, &["log", "--format=%s"]).trim(), "Add a greeting CLI");
    git(&s.root, &["fsck", "--strict"]);
    let row = store.get_workflow(&wf.id).await.unwrap();
    assert_eq!(row.progress, 1.0);
    assert_eq!(row.commit_id.as_deref(), Some(git(&s.root, &["rev-parse", "HEAD"]).trim()));

    // Saved first, announced right after.
    for _ in 0..200 {
        if events.kinds().iter().any(|k| k == "workflow.completed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let kinds = events.kinds();
    for kind in [
        "plan.ready",
        "file.delta",
        "file.written",
        "agent.status",
        "workflow.progress",
        "workflow.completed",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} event in {kinds:?}");
    }
    let agents = store.list_agents(Some(wf.id.clone())).await.unwrap();
    let roles: Vec<&str> = agents.iter().map(|a| a.role.as_str()).collect();
    assert_eq!(roles.iter().filter(|r| **r == "master").count(), 1);
    assert_eq!(roles.iter().filter(|r| **r == "manager").count(), 2);
    assert_eq!(roles.iter().filter(|r| **r == "coder").count(), 3);
    assert!(agents.iter().all(|a| a.status == "done"), "{agents:?}");
    assert_eq!(llm.chat_requests(), 1 + 2 + 3, "one plan, two managers, three coders");
}

#[tokio::test]
async fn an_invalid_plan_gets_one_repair_round() {
    let (s, store) = setup().await;
    let bad = r#"{"summary": "x", "modules": [{"name": "m", "responsibility": "r", "files": [{"path": "../escape.rs", "purpose": "p"}]}]}"#;
    // The bad plan is queued first, the good one (from `script`) after it.
    let fresh = TestLlm::start().await.unwrap();
    fresh.push(Scenario::Reply(Reply::text(bad)));
    script(&fresh, Duration::ZERO);
    let engine = engine(&store, &fresh, Arc::new(Recorder::default()));
    let wf = engine.start(&s.project, s.root.clone(), "greet", no_tools()).await.unwrap();
    assert_eq!(wait_for_state(&store, &wf.id, &["completed", "failed"]).await, "completed");
    let repair = fresh.requests().into_iter().filter(|r| r.path == "/api/chat").nth(1).unwrap();
    let last =
        repair.body["messages"].as_array().unwrap().last().unwrap()["content"].as_str().unwrap().to_owned();
    assert!(last.contains("leaves the project"), "the validation error is fed back: {last}");
}

#[tokio::test]
async fn cancel_stops_at_once_and_keeps_written_files() {
    let (s, store) = setup().await;
    let llm = TestLlm::start().await.unwrap();
    script(&llm, Duration::from_millis(50));
    let events = Arc::new(Recorder::default());
    let engine = engine(&store, &llm, events.clone());
    let options = Options { max_parallel: 1, ..no_tools() };
    let wf = engine.start(&s.project, s.root.clone(), "greet", options).await.unwrap();
    for _ in 0..500 {
        if store.list_steps(&wf.id).await.unwrap().iter().any(|(k, _)| k.starts_with("written:")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = std::time::Instant::now();
    engine.control(&wf.id, "cancel").await.unwrap();
    assert_eq!(wait_for_state(&store, &wf.id, &["cancelled", "completed", "failed"]).await, "cancelled");
    println!("cancel to persisted state: {:?}", started.elapsed());
    let written: Vec<String> = store
        .list_steps(&wf.id)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|(k, _)| k.strip_prefix("written:").map(str::to_owned))
        .collect();
    assert!(!written.is_empty() && written.len() < 3, "cancelled part way: {written:?}");
    for path in &written {
        assert!(s.root.join(path).is_file(), "{path} stays after cancel");
    }
    // The state is saved first, then announced with the list of files kept.
    let mut listed = None;
    for _ in 0..200 {
        listed = events
            .events
            .lock()
            .unwrap()
            .iter()
            .find(|(_, k, _)| k == "workflow.cancelled")
            .map(|(_, _, d)| d.clone());
        if listed.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        listed.expect("workflow.cancelled")["files"].as_array().unwrap().len(),
        written.len(),
        "the event lists them"
    );
    assert!(!s.root.join(".git/refs/heads/main").exists(), "a cancelled workflow does not commit");
}

#[tokio::test]
async fn pause_then_resume_completes() {
    let (s, store) = setup().await;
    let llm = TestLlm::start().await.unwrap();
    script(&llm, Duration::from_millis(30));
    let engine = engine(&store, &llm, Arc::new(Recorder::default()));
    let wf = engine
        .start(&s.project, s.root.clone(), "greet", Options { max_parallel: 1, ..no_tools() })
        .await
        .unwrap();
    wait_for_state(&store, &wf.id, &["running"]).await;
    engine.control(&wf.id, "pause").await.unwrap();
    assert_eq!(wait_for_state(&store, &wf.id, &["paused", "completed"]).await, "paused");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(store.get_workflow(&wf.id).await.unwrap().state, "paused", "nothing runs while paused");
    engine.control(&wf.id, "resume").await.unwrap();
    assert_eq!(wait_for_state(&store, &wf.id, &["completed", "failed"]).await, "completed");
    assert_eq!(git(&s.root, &["log", "--format=%s"]).trim(), "Add a greeting CLI");
}

#[test]
fn a_crash_mid_workflow_resumes_without_repeating_model_calls() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (s, store, llm) = rt.block_on(async {
        let (s, store) = setup().await;
        let llm = TestLlm::start().await.unwrap();
        (s, store, llm)
    });
    // The testkit keeps serving from a runtime of its own; the engine's runtime is the one
    // that "crashes".
    let llm_rt = rt;
    script(&llm, Duration::from_millis(40));
    let crashing = tokio::runtime::Runtime::new().unwrap();
    let wf_id = crashing.block_on(async {
        let engine = engine(&store, &llm, Arc::new(Recorder::default()));
        let wf = engine
            .start(&s.project, s.root.clone(), "greet", Options { max_parallel: 1, ..no_tools() })
            .await
            .unwrap();
        // Wait until some but not all files are written.
        for _ in 0..500 {
            let steps = store.list_steps(&wf.id).await.unwrap();
            if steps.iter().any(|(k, _)| k.starts_with("written:")) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        wf.id
    });
    crashing.shutdown_background();
    // The dropped runtime's worker threads finish the poll they are in, and the store's writer
    // thread its queue: let both settle before reading what the crash left.
    std::thread::sleep(Duration::from_millis(300));
    let calls_before = llm.chat_requests();
    let recorded: Vec<String> =
        llm_rt.block_on(store.list_steps(&wf_id)).unwrap().into_iter().map(|(k, _)| k).collect();
    assert!(recorded.contains(&"plan".to_owned()) && recorded.iter().any(|k| k.starts_with("written:")));
    assert!(!recorded.contains(&"commit".to_owned()), "crashed before the end: {recorded:?}");
    drop(store);

    llm_rt.block_on(async {
        let store = Store::open(&s.db).unwrap();
        let engine = engine(&store, &llm, Arc::new(Recorder::default()));
        let roots = HashMap::from([(s.project.clone(), s.root.clone())]);
        assert_eq!(engine.resume_unfinished(&roots, false).await.unwrap(), 1);
        assert_eq!(wait_for_state(&store, &wf_id, &["completed", "failed"]).await, "completed");
        let coder_calls_recorded = recorded
            .iter()
            .filter(|k| k.starts_with("coder:") || k.starts_with("manager:") || *k == "plan")
            .count();
        let total_calls = 1 + 2 + 3;
        assert_eq!(
            llm.chat_requests(),
            calls_before + (total_calls - coder_calls_recorded),
            "only calls without a recorded result were made again"
        );
        assert_eq!(git(&s.root, &["log", "--format=%s"]).trim(), "Add a greeting CLI", "exactly one commit");
        assert!(std::fs::read_to_string(s.root.join("src/main.rs")).unwrap().contains("greet::greet();"));
    });
}

#[tokio::test]
async fn coders_overlap_and_broken_replies_are_retried() {
    let (s, store) = setup().await;
    let llm = TestLlm::start().await.unwrap();
    // The first reply for greet.rs breaks off mid-stream; the step is tried again.
    llm.push(Scenario::Reply(Reply::text(PLAN)));
    llm.route("Your module:", Scenario::Reply(Reply::text("spec")));
    let slow = Duration::from_millis(60);
    llm.route(
        "Write the file `src/main.rs`",
        Scenario::Reply(Reply::text("```\nfn main() {}\n```").delay(slow)),
    );
    llm.route("Write the file `README.md`", Scenario::Reply(Reply::text("```\n# R\n```").delay(slow)));
    llm.route(
        "Write the file `src/greet.rs`",
        Scenario::ErrorLine { before: "pub fn gr".into(), error: "connection reset by peer".into() },
    );
    let events = Arc::new(Recorder::default());
    let engine = engine(&store, &llm, events.clone());
    let wf = engine
        .start(&s.project, s.root.clone(), "greet", Options { max_parallel: 3, ..no_tools() })
        .await
        .unwrap();
    // Let the broken file fail once, then give it a good reply.
    for _ in 0..200 {
        if llm.requests().iter().any(|r| r.body.to_string().contains("Write the file `src/greet.rs`")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    llm.route_replace(
        "Write the file `src/greet.rs`",
        Scenario::Reply(Reply::text("```\npub fn greet() {}\n```")),
    );
    assert_eq!(
        wait_for_state(&store, &wf.id, &["completed", "failed"]).await,
        "completed",
        "{:?}",
        store.get_workflow(&wf.id).await.unwrap().error
    );
    assert_eq!(std::fs::read_to_string(s.root.join("src/greet.rs")).unwrap(), "pub fn greet() {}\n");

    // Coders overlapped: a second coder was busy before the first one finished.
    let events = events.events.lock().unwrap();
    let mut busy = std::collections::HashSet::new();
    let mut max_busy = 0;
    for (_, kind, data) in events.iter() {
        if kind == "agent.status" && data["agent"]["role"] == "coder" {
            let id = data["agent"]["id"].as_str().unwrap().to_owned();
            if data["agent"]["status"] == "busy" {
                busy.insert(id);
            } else {
                busy.remove(&id);
            }
            max_busy = max_busy.max(busy.len());
        }
    }
    assert!(max_busy >= 2, "coders ran one after another (max {max_busy} at once)");
}

fn one_file_plan(verify: Option<&str>) -> String {
    serde_json::json!({ "summary": "One file", "verify": verify, "modules": [
        { "name": "m", "responsibility": "r", "files": [{ "path": "src/main.rs", "purpose": "p" }] }
    ]})
    .to_string()
}

#[tokio::test]
async fn a_failing_check_goes_back_to_the_coder_until_it_passes() {
    let (s, store) = setup().await;
    let llm = TestLlm::start().await.unwrap();
    llm.push(Scenario::Reply(Reply::text(&one_file_plan(Some("grep fixed src/main.rs")))));
    llm.route("Your module:", Scenario::Reply(Reply::text("spec")));
    llm.route("The check `", Scenario::Reply(Reply::text("```\nfixed\n```")));
    llm.route("Write the file `src/main.rs`", Scenario::Reply(Reply::text("```\nbroken\n```")));
    let events = Arc::new(Recorder::default());
    let engine = engine(&store, &llm, events.clone());
    // The plan's check runs once the person has approved the plan.
    let options = Options { approve_plan: true, ..no_tools() };
    let wf = engine.start(&s.project, s.root.clone(), "x", options).await.unwrap();
    assert_eq!(wait_for_state(&store, &wf.id, &["awaiting_approval"]).await, "awaiting_approval");
    engine.approve(&wf.id, None).await.unwrap();
    assert_eq!(wait_for_state(&store, &wf.id, &["completed", "failed"]).await, "completed");
    assert_eq!(std::fs::read_to_string(s.root.join("src/main.rs")).unwrap(), "fixed\n");
    let rounds: Vec<bool> = events
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, k, _)| k == "verify.output")
        .map(|(_, _, d)| d["ok"].as_bool().unwrap())
        .collect();
    assert_eq!(rounds, vec![false, true], "failed once, fixed, passed");
    let streamed = events
        .events
        .lock()
        .unwrap()
        .iter()
        .any(|(_, k, d)| k == "verify.line" && d["line"] == "fixed" && d["round"] == 1);
    assert!(streamed, "the check's output is streamed line by line");
    assert_eq!(git(&s.root, &["show", "HEAD:src/main.rs"]).trim(), "fixed", "the fixed file is committed");
    assert_eq!(
        atelier_agents::written_files(&store, &wf.id).await.unwrap(),
        vec![("src/main.rs".to_owned(), "fixed\n".len() as u64)],
        "listed once, with the size after the fix (not the broken first version's)"
    );
}

#[tokio::test]
async fn a_check_the_model_proposed_is_not_run_unless_the_plan_was_approved() {
    let (s, store) = setup().await;
    let llm = TestLlm::start().await.unwrap();
    llm.push(Scenario::Reply(Reply::text(&one_file_plan(Some("touch proposed-check-ran")))));
    llm.route("Your module:", Scenario::Reply(Reply::text("spec")));
    llm.route("Write the file", Scenario::Reply(Reply::text("```\nx\n```")));
    let events = Arc::new(Recorder::default());
    let engine = engine(&store, &llm, events.clone());
    let wf = engine.start(&s.project, s.root.clone(), "x", no_tools()).await.unwrap();
    assert_eq!(wait_for_state(&store, &wf.id, &["completed", "failed"]).await, "completed");
    assert!(!s.root.join("proposed-check-ran").exists(), "the model's command ran without approval");
    let skipped: Vec<Value> = events
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, k, _)| k == "verify.skipped")
        .map(|(_, _, d)| d.clone())
        .collect();
    assert_eq!(skipped.len(), 1, "the person is told the check was not run");
    assert_eq!(skipped[0]["command"], "touch proposed-check-ran");
    assert!(skipped[0]["reason"].as_str().unwrap().contains("approve"), "{}", skipped[0]);
}

#[tokio::test]
async fn a_check_that_never_passes_fails_the_workflow_after_the_fix_rounds() {
    let (s, store) = setup().await;
    let llm = TestLlm::start().await.unwrap();
    llm.push(Scenario::Reply(Reply::text(&one_file_plan(None))));
    llm.route("Your module:", Scenario::Reply(Reply::text("spec")));
    llm.route("The check `", Scenario::Reply(Reply::text("```\nstill\n```")));
    llm.route("Write the file", Scenario::Reply(Reply::text("```\nx\n```")));
    let engine = engine(&store, &llm, Arc::new(Recorder::default()));
    let options = Options { max_fix_rounds: 1, verify: Some("exit 1".into()), ..no_tools() };
    let wf = engine.start(&s.project, s.root.clone(), "x", options).await.unwrap();
    assert_eq!(wait_for_state(&store, &wf.id, &["completed", "failed"]).await, "failed");
    let error = store.get_workflow(&wf.id).await.unwrap().error.unwrap();
    assert!(error.contains("still fails after 1 fix rounds"), "{error}");
}

#[tokio::test]
async fn the_check_runs_in_the_sandbox_and_cannot_write_outside_the_project() {
    let (s, store) = setup().await;
    let llm = TestLlm::start().await.unwrap();
    llm.push(Scenario::Reply(Reply::text(&one_file_plan(None))));
    llm.route("Your module:", Scenario::Reply(Reply::text("spec")));
    llm.route("Write the file", Scenario::Reply(Reply::text("```\nx\n```")));
    let events = Arc::new(Recorder::default());
    let engine = engine(&store, &llm, events.clone());
    let beside = s.root.parent().unwrap().join("escaped-by-check");
    let in_system = PathBuf::from(format!("/usr/local/escaped-by-check-{}", std::process::id()));
    let check = format!("touch {}; echo $ATELIER_SANDBOX; touch {}", beside.display(), in_system.display());
    let options = Options { max_fix_rounds: 0, verify: Some(check), ..no_tools() };
    let wf = engine.start(&s.project, s.root.clone(), "x", options).await.unwrap();
    let state = wait_for_state(&store, &wf.id, &["completed", "failed"]).await;
    let escaped = (beside.exists(), in_system.exists());
    std::fs::remove_file(&in_system).ok();
    assert_eq!(escaped, (false, false), "the check wrote outside the project");
    assert_eq!(state, "failed", "writing into the read-only system fails the check");
    let outputs: Vec<Value> = events
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, k, _)| k == "verify.output")
        .map(|(_, _, d)| d.clone())
        .collect();
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0]["sandbox"], "bubblewrap", "the output says where the check ran");
    let output = outputs[0]["output"].as_str().unwrap();
    assert!(output.contains("bubblewrap") && output.contains("Read-only file system"), "{output}");
    let said = events.events.lock().unwrap().iter().any(|(_, k, d)| {
        k == "workflow.progress" && d["message"].as_str().is_some_and(|m| m.contains("(bubblewrap)"))
    });
    assert!(said, "the progress line names the sandbox");
}

#[tokio::test]
async fn a_sandbox_that_cannot_start_fails_the_check_instead_of_running_it_unconfined() {
    let (s, store) = setup().await;
    let llm = TestLlm::start().await.unwrap();
    llm.push(Scenario::Reply(Reply::text(&one_file_plan(None))));
    llm.route("Your module:", Scenario::Reply(Reply::text("spec")));
    llm.route("Write the file", Scenario::Reply(Reply::text("```\nx\n```")));
    let unavailable: Arc<dyn Confine> = Arc::new(|_: &Path| -> Result<(Arc<Sandbox>, Policy), String> {
        Err("the bubblewrap sandbox cannot run here: bubblewrap (`bwrap`) is not installed".into())
    });
    let engine = engine_in(&store, &llm, Arc::new(Recorder::default()), unavailable);
    let options = Options { verify: Some("touch check-ran".into()), ..no_tools() };
    let wf = engine.start(&s.project, s.root.clone(), "x", options).await.unwrap();
    assert_eq!(wait_for_state(&store, &wf.id, &["completed", "failed"]).await, "failed");
    assert!(!s.root.join("check-ran").exists(), "the check ran without its sandbox");
    let error = store.get_workflow(&wf.id).await.unwrap().error.unwrap();
    assert!(error.contains("the check cannot run") && error.contains("not installed"), "{error}");
}

#[tokio::test]
async fn an_empty_reply_is_asked_again_and_a_budget_stops_a_looping_model() {
    let (s, store) = setup().await;
    let llm = TestLlm::start().await.unwrap();
    llm.push(Scenario::Reply(Reply::text(&one_file_plan(None))));
    llm.push(Scenario::Reply(Reply::text("spec")));
    llm.push(Scenario::Reply(Reply::text("")));
    llm.push(Scenario::Reply(Reply::text("```\nfn main() {}\n```")));
    let first = engine(&store, &llm, Arc::new(Recorder::default()));
    let wf = first.start(&s.project, s.root.clone(), "x", no_tools()).await.unwrap();
    assert_eq!(wait_for_state(&store, &wf.id, &["completed", "failed"]).await, "completed");
    assert_eq!(std::fs::read_to_string(s.root.join("src/main.rs")).unwrap(), "fn main() {}\n");
    assert_eq!(llm.chat_requests(), 4, "the empty reply was asked again once");

    // A model that only ever answers with nothing is stopped by the call budget.
    let llm = TestLlm::start().await.unwrap();
    llm.push(Scenario::Reply(Reply::text(&one_file_plan(None))));
    llm.set_default(Scenario::Reply(Reply::text("")));
    let looping = engine(&store, &llm, Arc::new(Recorder::default()));
    let budget = atelier_agents::Budget { max_calls: 5, ..atelier_agents::Budget::default() };
    let wf = looping.start(&s.project, s.root.clone(), "x", Options { budget, ..no_tools() }).await.unwrap();
    assert_eq!(wait_for_state(&store, &wf.id, &["completed", "failed"]).await, "failed");
    let error = store.get_workflow(&wf.id).await.unwrap().error.unwrap();
    assert!(error.contains("budget") && error.contains("5 model calls"), "{error}");
    assert_eq!(llm.chat_requests(), 5);
}

/// The options of the tests above: one model call per agent, as before agents had tools (the
/// loop with tools is tested in `workflow_tools`).
fn no_tools() -> Options {
    Options { tools: false, ..Options::default() }
}

const TOOLS_PLAN: &str = r#"{"summary": "Shout hello", "modules": [
  {"name": "cli", "responsibility": "the binary", "files": [{"path": "src/main.rs", "purpose": "prints shout(hello)", "dependencies": ["src/lib.rs"]}]}
]}"#;

/// The master looks (list, read) before it plans; the coder reads what its file uses, then
/// writes it. Each step of each loop is a separate request, so `delay` spreads them out.
fn tools_script(llm: &TestLlm, delay: Duration) {
    use atelier_testkit::{Match, TestCall};
    let call = |name: &str, args: Value| {
        Scenario::Reply(Reply::tool_calls(vec![TestCall::new(name, args)]).delay(delay))
    };
    llm.route_sequence(
        Match::Anywhere,
        "about to plan a change",
        vec![
            call("list_files", serde_json::json!({})),
            call("read_file", serde_json::json!({ "path": "src/lib.rs" })),
            Scenario::Reply(Reply::text("Notes: src/lib.rs defines shout(s) -> String.").delay(delay)),
        ],
    );
    llm.route_on(Match::Anywhere, "planning a change", Scenario::Reply(Reply::text(TOOLS_PLAN).delay(delay)));
    llm.route("Your module:", Scenario::Reply(Reply::text("Use shout.").delay(delay)));
    llm.route_sequence(
        Match::Anywhere,
        "Write the file `src/main.rs`",
        vec![
            call("read_file", serde_json::json!({ "path": "src/lib.rs" })),
            Scenario::Reply(
                Reply::text("```rust\nfn main() {\n    println!(\"{}\", p::shout(\"hello\"));\n}\n```")
                    .delay(delay),
            ),
        ],
    );
}

async fn tools_setup() -> (Setup, Store) {
    let (s, store) = setup().await;
    std::fs::create_dir_all(s.root.join("src")).unwrap();
    std::fs::write(s.root.join("src/lib.rs"), "pub fn shout(s: &str) -> String {\n    s.to_uppercase()\n}\n")
        .unwrap();
    (s, store)
}

#[tokio::test]
async fn the_master_explores_and_coders_read_before_they_write() {
    let (s, store) = tools_setup().await;
    let llm = TestLlm::start().await.unwrap();
    tools_script(&llm, Duration::ZERO);
    let events = Arc::new(Recorder::default());
    let engine = engine(&store, &llm, events.clone());
    let wf = engine.start(&s.project, s.root.clone(), "shout hello", Options::default()).await.unwrap();
    assert_eq!(wait_for_state(&store, &wf.id, &["completed", "failed"]).await, "completed");
    assert!(std::fs::read_to_string(s.root.join("src/main.rs")).unwrap().contains("p::shout(\"hello\")"));

    // The plan was made with what the master found.
    let bodies = llm.chat_bodies();
    let plan = bodies.iter().find(|b| b.to_string().contains("planning a change")).expect("the plan request");
    assert!(plan.to_string().contains("Notes: src/lib.rs defines shout"), "the notes reach the planner");
    // The coder's last request carried the file it read.
    let coder = bodies.iter().rev().find(|b| b.to_string().contains("Write the file `src/main.rs`")).unwrap();
    assert!(coder.to_string().contains("s.to_uppercase()"), "the coder saw src/lib.rs");
    assert!(coder["tools"].as_array().is_some_and(|t| !t.is_empty()), "tools are offered");

    // Each call shows in its agent's lane; the agents only had read tools.
    let recorded = events.events.lock().unwrap().clone();
    let calls: Vec<(String, String)> = recorded
        .iter()
        .filter(|(_, kind, _)| kind == "tool.call")
        .map(|(_, _, d)| {
            (d["agent_id"].as_str().unwrap().to_owned(), d["call"]["name"].as_str().unwrap().to_owned())
        })
        .collect();
    assert!(
        calls.iter().any(|(agent, name)| agent.ends_with("-master") && name == "list_files"),
        "{calls:?}"
    );
    assert!(calls.iter().any(|(agent, name)| agent.contains("-coder-") && name == "read_file"), "{calls:?}");
    assert!(recorded.iter().filter(|(_, k, _)| k == "tool.result").all(|(_, _, d)| d["status"] == "ok"));
    // The file streamed from the step that wrote it (step 1), not the one that read.
    assert!(recorded.iter().any(|(_, k, d)| k == "file.delta" && d["step"] == 1));

    let steps: Vec<String> = store.list_steps(&wf.id).await.unwrap().into_iter().map(|(k, _)| k).collect();
    for key in [
        "explore#0",
        "explore#2",
        "tool:explore:1",
        "tool:explore:2",
        "explore",
        "coder:src/main.rs#1",
        "tool:coder:src/main.rs:1",
    ] {
        assert!(steps.contains(&key.to_owned()), "{key} recorded: {steps:?}");
    }
}

#[test]
fn a_crash_during_agent_loops_resumes_without_repeating_a_step_or_a_call() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (s, store, llm) = rt.block_on(async {
        let (s, store) = tools_setup().await;
        let llm = TestLlm::start().await.unwrap();
        (s, store, llm)
    });
    tools_script(&llm, Duration::from_millis(40));
    let crashing = tokio::runtime::Runtime::new().unwrap();
    let wf_id = crashing.block_on(async {
        let engine = engine(&store, &llm, Arc::new(Recorder::default()));
        let wf = engine.start(&s.project, s.root.clone(), "shout", Options::default()).await.unwrap();
        // Until the master's loop is half done.
        for _ in 0..500 {
            let steps = store.list_steps(&wf.id).await.unwrap();
            if steps.iter().any(|(k, _)| k == "tool:explore:1") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        wf.id
    });
    crashing.shutdown_background();
    std::thread::sleep(Duration::from_millis(300));
    let calls_before = llm.chat_requests();
    let recorded: Vec<String> =
        rt.block_on(store.list_steps(&wf_id)).unwrap().into_iter().map(|(k, _)| k).collect();
    assert!(recorded.contains(&"tool:explore:1".to_owned()), "{recorded:?}");
    assert!(!recorded.contains(&"explore".to_owned()), "crashed inside the loop: {recorded:?}");
    drop(store);

    rt.block_on(async {
        let store = Store::open(&s.db).unwrap();
        let events = Arc::new(Recorder::default());
        let engine = engine(&store, &llm, events.clone());
        let roots = HashMap::from([(s.project.clone(), s.root.clone())]);
        assert_eq!(engine.resume_unfinished(&roots, false).await.unwrap(), 1);
        assert_eq!(wait_for_state(&store, &wf_id, &["completed", "failed"]).await, "completed");
        // Every request after the resume made a step that was not recorded before the crash:
        // no recorded step was asked again. (A step in flight at the crash is asked again.)
        let model_step = |k: &String| k.contains('#') || k == "plan" || k.starts_with("manager:");
        let after: Vec<String> =
            store.list_steps(&wf_id).await.unwrap().into_iter().map(|(k, _)| k).filter(model_step).collect();
        let new_steps = after.iter().filter(|k| !recorded.contains(k)).count();
        assert_eq!(
            llm.chat_requests() - calls_before,
            new_steps,
            "no recorded step was asked again: {after:?}"
        );
        assert!(recorded.iter().filter(|k| model_step(k)).all(|k| after.contains(k)));
        // The recorded tool call was replayed, not run again: no `tool.call` for it.
        let again: Vec<Value> = events
            .events
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, k, d)| {
                k == "tool.call" && d["agent_id"].as_str().is_some_and(|a| a.ends_with("-master"))
            })
            .map(|(_, _, d)| d["call"]["name"].clone())
            .collect();
        assert!(!again.contains(&Value::from("list_files")), "the recorded call ran again: {again:?}");
        assert!(std::fs::read_to_string(s.root.join("src/main.rs")).unwrap().contains("p::shout"));
    });
}

#[tokio::test]
async fn edits_that_do_not_apply_are_asked_again_as_a_whole_file_and_counted() {
    use atelier_testkit::Match;
    let (s, store) = setup().await;
    std::fs::create_dir_all(s.root.join("src")).unwrap();
    let big: String = (1..=100).map(|i| format!("pub const C{i}: u32 = {i};\n")).collect();
    std::fs::write(s.root.join("src/big.rs"), &big).unwrap();
    let llm = TestLlm::start().await.unwrap();
    llm.push(Scenario::Reply(Reply::text(
        r#"{"summary": "Change C50", "modules": [{"name": "consts", "responsibility": "constants", "files": [{"path": "src/big.rs", "purpose": "C50 is 5000"}]}]}"#,
    )));
    llm.route("Your module:", Scenario::Reply(Reply::text("Only C50 changes.")));
    let fixed = big.replace("pub const C50: u32 = 50;", "pub const C50: u32 = 5000;");
    llm.route_sequence(
        Match::Anywhere,
        "Write the file `src/big.rs`",
        vec![
            // The search text is not in the file (a model's near miss).
            Scenario::Reply(Reply::text(
                "<<<<<<< SEARCH\npub const C50: u32 = 49;\n=======\npub const C50: u32 = 5000;\n>>>>>>> REPLACE\n",
            )),
            Scenario::Reply(Reply::text(&format!("```rust\n{fixed}```"))),
        ],
    );
    let engine = engine(&store, &llm, Arc::new(Recorder::default()));
    let wf = engine.start(&s.project, s.root.clone(), "C50 is 5000", no_tools()).await.unwrap();
    assert_eq!(wait_for_state(&store, &wf.id, &["completed", "failed"]).await, "completed");
    assert_eq!(std::fs::read_to_string(s.root.join("src/big.rs")).unwrap(), fixed);
    let steps: HashMap<String, String> = store.list_steps(&wf.id).await.unwrap().into_iter().collect();
    assert_eq!(steps.get("edit:src/big.rs").map(String::as_str), Some("failed"), "{steps:?}");
    assert!(steps.contains_key("coder:src/big.rs:whole"));
    let last = llm.chat_bodies().last().cloned().unwrap().to_string();
    assert!(
        last.contains("Those edits cannot be applied") && last.contains("closest lines"),
        "the reason is told"
    );
}

#[tokio::test]
async fn a_coder_may_run_the_persons_check_in_the_sandbox_and_sees_its_output() {
    use atelier_testkit::{Match, TestCall};
    let (s, store) = tools_setup().await;
    let llm = TestLlm::start().await.unwrap();
    llm.route_sequence(
        Match::Anywhere,
        "about to plan a change",
        vec![Scenario::Reply(Reply::text("Notes: one file."))],
    );
    llm.route_on(Match::Anywhere, "planning a change", Scenario::Reply(Reply::text(TOOLS_PLAN)));
    llm.route("Your module:", Scenario::Reply(Reply::text("Use shout.")));
    llm.route_sequence(
        Match::Anywhere,
        "Write the file `src/main.rs`",
        vec![
            Scenario::Reply(Reply::tool_calls(vec![TestCall::new("run_check", serde_json::json!({}))])),
            Scenario::Reply(Reply::text("```rust\nfn main() {}\n```")),
        ],
    );
    let events = Arc::new(Recorder::default());
    let engine = engine(&store, &llm, events.clone());
    let options = Options {
        verify: Some("echo checked-by-$(whoami) && test -f src/lib.rs".into()),
        ..Options::default()
    };
    let wf = engine.start(&s.project, s.root.clone(), "shout", options).await.unwrap();
    assert_eq!(wait_for_state(&store, &wf.id, &["completed", "failed"]).await, "completed");
    let recorded = events.events.lock().unwrap().clone();
    let result = recorded
        .iter()
        .find(|(_, k, d)| {
            k == "tool.result" && d["content"].as_str().is_some_and(|c| c.contains("checked-by-"))
        })
        .map(|(_, _, d)| d.clone())
        .expect("the check's output came back to the coder");
    assert_eq!(result["status"], "ok", "{result}");
    assert!(result["content"].as_str().unwrap().contains("(ran in bubblewrap"), "confined: {result}");
    let call =
        recorded.iter().find(|(_, k, d)| k == "tool.call" && d["call"]["name"] == "run_check").unwrap();
    assert_eq!(call.2["needs_approval"], false, "the person's own check needs no more approval");
    // Recorded, so a resumed workflow would not run it again.
    let steps: Vec<String> = store.list_steps(&wf.id).await.unwrap().into_iter().map(|(k, _)| k).collect();
    assert!(steps.contains(&"tool:coder:src/main.rs:1".to_owned()), "{steps:?}");
}

fn numbered(n: usize) -> String {
    (1..=n).map(|i| format!("line {i}\n")).collect()
}

#[test]
fn a_reviewed_workflow_commits_only_what_was_accepted_and_its_review_survives_a_restart() {
    let llm_rt = tokio::runtime::Runtime::new().unwrap();
    let (s, store, llm) = llm_rt.block_on(async {
        let (s, store) = setup().await;
        let llm = TestLlm::start().await.unwrap();
        (s, store, llm)
    });
    std::fs::create_dir_all(s.root.join("src")).unwrap();
    std::fs::write(s.root.join("src/lib.rs"), numbered(40)).unwrap();
    git(&s.root, &["add", "."]);
    git(&s.root, &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"]);
    let plan = serde_json::json!({"summary": "Reword", "modules": [{"name": "m", "responsibility": "r", "files": [
        {"path": "src/lib.rs", "purpose": "reword two lines"}, {"path": "notes.md", "purpose": "notes"}]}]});
    llm.push(Scenario::Reply(Reply::text(&plan.to_string())));
    llm.route("Your module:", Scenario::Reply(Reply::text("spec")));
    let agents_version =
        numbered(40).replace("line 3\n", "line three\n").replace("line 30\n", "line thirty\n");
    llm.route(
        "Write the file `src/lib.rs`",
        Scenario::Reply(Reply::text(&format!("```rust\n{agents_version}```"))),
    );
    llm.route("Write the file `notes.md`", Scenario::Reply(Reply::text("```\nnotes\n```")));
    let options = Options { review: true, ..no_tools() };

    // First run: it waits for the review with nothing committed; then the app "crashes".
    let crashing = tokio::runtime::Runtime::new().unwrap();
    let events = Arc::new(Recorder::default());
    let wf_id = crashing.block_on(async {
        let engine = engine(&store, &llm, events.clone());
        let wf = engine.start(&s.project, s.root.clone(), "reword", options).await.unwrap();
        assert_eq!(wait_for_state(&store, &wf.id, &["reviewing", "failed"]).await, "reviewing");
        wf.id
    });
    assert_eq!(
        git(&s.root, &["log", "--format=%s"]).trim(),
        "init",
        "nothing is committed before the review"
    );
    let ready: Vec<Value> = events
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, k, _)| k == "review.ready")
        .map(|(_, _, d)| d.clone())
        .collect();
    assert_eq!(ready.len(), 1);
    let files = ready[0]["files"].as_array().unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["notes.md", "src/lib.rs"]);
    assert_eq!(files[0]["before"], Value::Null, "a new file has no before");
    assert_eq!(files[1]["hunks"].as_array().unwrap().len(), 2, "two edits far apart are two hunks");
    crashing.shutdown_background();
    std::thread::sleep(Duration::from_millis(300));
    let calls = llm.chat_requests();
    drop(store);

    llm_rt.block_on(async {
        let store = Store::open(&s.db).unwrap();
        let events = Arc::new(Recorder::default());
        let engine = engine(&store, &llm, events.clone());
        let roots = HashMap::from([(s.project.clone(), s.root.clone())]);
        assert_eq!(engine.resume_unfinished(&roots, false).await.unwrap(), 1);
        // The review is offered again, without a model call and without the check again.
        for _ in 0..200 {
            if events.kinds().iter().any(|k| k == "review.ready") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(store.get_workflow(&wf_id).await.unwrap().state, "reviewing");
        assert_eq!(llm.chat_requests(), calls, "no model call is made again for the review");
        let pending = atelier_agents::pending_review(&store, &wf_id).await.unwrap().unwrap();
        assert_eq!(pending.len(), 2);

        // A decision must name every file, and only files of the review.
        let undecided = atelier_agents::Decision {
            accept: vec![atelier_agents::Accepted::Whole("notes.md".into())],
            reject: vec![],
        };
        let err = engine.review(&wf_id, undecided).await.unwrap_err().to_string();
        assert!(err.contains("undecided: src/lib.rs"), "{err}");
        let stranger = atelier_agents::Decision {
            accept: vec![atelier_agents::Accepted::Whole("../etc/passwd".into())],
            reject: vec!["notes.md".into(), "src/lib.rs".into()],
        };
        assert!(
            engine.review(&wf_id, stranger).await.unwrap_err().to_string().contains("not one of the files")
        );

        // Keep the first hunk of lib.rs, reject its second and the new file.
        let decision = atelier_agents::Decision {
            accept: vec![atelier_agents::Accepted::Hunks { path: "src/lib.rs".into(), hunks: vec![0] }],
            reject: vec!["notes.md".into()],
        };
        engine.review(&wf_id, decision).await.unwrap();
        assert_eq!(wait_for_state(&store, &wf_id, &["completed", "failed"]).await, "completed");
        let kept = numbered(40).replace("line 3\n", "line three\n");
        assert_eq!(std::fs::read_to_string(s.root.join("src/lib.rs")).unwrap(), kept);
        assert!(!s.root.join("notes.md").exists(), "the rejected new file is gone");
        assert_eq!(git(&s.root, &["log", "--format=%s"]).trim(), "Reword\ninit");
        assert_eq!(git(&s.root, &["show", "--name-only", "--format=", "HEAD"]).trim(), "src/lib.rs");
        assert_eq!(git(&s.root, &["show", "HEAD:src/lib.rs"]), kept, "only the accepted hunk is committed");

        // The rejection can be undone: the agents' version comes back.
        let done = events
            .events
            .lock()
            .unwrap()
            .iter()
            .find(|(_, k, _)| k == "review.done")
            .map(|(_, _, d)| d.clone());
        let done = done.expect("review.done");
        assert_eq!(done["partial"], serde_json::json!(["src/lib.rs"]));
        assert_eq!(done["rejected"], serde_json::json!(["notes.md"]));
        let undo = done["undo"].as_str().expect("an undo checkpoint").to_owned();
        atelier_git::checkpoint_restore(&s.root, &undo).unwrap();
        assert_eq!(std::fs::read_to_string(s.root.join("src/lib.rs")).unwrap(), agents_version);
        assert_eq!(std::fs::read_to_string(s.root.join("notes.md")).unwrap(), "notes\n");
    });
}
