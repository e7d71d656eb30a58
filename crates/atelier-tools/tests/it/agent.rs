//! The agent loop against the testkit's model server: a model that reads a file and answers
//! with what only that file says, approval that allows and denies, the loop guard, malformed
//! calls, the step cap, cancellation during a command, and compaction of a long conversation.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use atelier_llm::{ChatMessage, Completion, Delta, LlmConfig, OllamaProvider, Role, ToolCall};
use atelier_testkit::{Match, Reply, Scenario, TestCall, TestLlm};
use atelier_tools::agent::{Decision, Host, LoopConfig, LoopError, RecordedStep, run_loop};
use atelier_tools::{Effect, Registry, ToolContext, ToolInfo, ToolOutput};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// Records what the loop told its owner, and answers approvals as told.
struct TestHost {
    decision: Decision,
    events: Mutex<Vec<String>>,
    results: Mutex<Vec<(String, ToolOutput)>>,
    streamed: Mutex<String>,
}

impl TestHost {
    fn new(decision: Decision) -> TestHost {
        TestHost {
            decision,
            events: Mutex::new(Vec::new()),
            results: Mutex::new(Vec::new()),
            streamed: Mutex::new(String::new()),
        }
    }

    fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }

    fn results(&self) -> Vec<(String, ToolOutput)> {
        self.results.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl Host for TestHost {
    fn delta(&self, _step: usize, delta: &Delta) {
        if let Delta::Content(text) = delta {
            self.streamed.lock().unwrap().push_str(text);
        }
    }

    async fn step_done(
        &self,
        step: usize,
        recorded: &RecordedStep,
        _c: &Completion,
    ) -> Result<(), LoopError> {
        self.events.lock().unwrap().push(format!("step {step}: {} calls", recorded.message.tool_calls.len()));
        Ok(())
    }

    fn call_started(&self, call: &ToolCall, _info: Option<&ToolInfo>, needs_approval: bool) {
        self.events.lock().unwrap().push(format!("call {} approval={needs_approval}", call.name));
    }

    async fn approve(&self, call: &ToolCall, _info: &ToolInfo) -> Decision {
        self.events.lock().unwrap().push(format!("asked {}", call.name));
        self.decision
    }

    fn output(&self, _call_id: &str, delta: &str) {
        self.events.lock().unwrap().push(format!("output {}", delta.trim()));
    }

    async fn result(&self, _n: usize, call: &ToolCall, output: &ToolOutput) -> Result<(), LoopError> {
        self.results.lock().unwrap().push((call.name.clone(), output.clone()));
        Ok(())
    }
}

fn fast() -> LlmConfig {
    LlmConfig {
        connect_timeout: Duration::from_secs(2),
        first_byte_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(5),
        max_retries: 0,
        ..LlmConfig::default()
    }
}

async fn setup() -> (TestLlm, OllamaProvider, tempfile::TempDir, ToolContext) {
    let llm = TestLlm::start().await.unwrap();
    let provider = OllamaProvider::new(llm.url().parse().unwrap(), fast()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("p");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("notes.txt"), "The launch code is PURPLE-OTTER-42.\n").unwrap();
    let ctx = ToolContext {
        runner: crate::runner(&root),
        root,
        cancel: CancellationToken::new(),
        max_result_chars: 8000,
    };
    (llm, provider, dir, ctx)
}

fn task(text: &str) -> Vec<ChatMessage> {
    vec![ChatMessage::system("You are a coding agent. Use the tools."), ChatMessage::user(text)]
}

fn call(name: &str, args: serde_json::Value) -> Scenario {
    Scenario::Reply(Reply::tool_calls(vec![TestCall::new(name, args)]))
}

fn answer(text: &str) -> Scenario {
    Scenario::Reply(Reply::text(text))
}

#[tokio::test]
async fn a_model_reads_a_file_and_answers_with_what_only_that_file_holds() {
    let (llm, provider, _dir, ctx) = setup().await;
    // The answer is only given once the file's text came back as a tool result.
    llm.route_sequence(Match::LastMessage, "PURPLE-OTTER-42", vec![answer("The code is PURPLE-OTTER-42.")]);
    llm.route_sequence(
        Match::LastUser,
        "launch code",
        vec![call("read_file", json!({ "path": "notes.txt" }))],
    );
    let host = TestHost::new(Decision::Deny);
    let tools = Registry::with_builtins().select(&[Effect::Read]);
    let result = run_loop(
        &provider,
        &LoopConfig::new("test-model", 8192),
        &tools,
        &ctx,
        &host,
        task("What is the launch code?"),
    )
    .await
    .unwrap();
    assert_eq!(result.answer, "The code is PURPLE-OTTER-42.");
    assert_eq!((result.calls, result.tool_calls), (2, 1));
    let results = host.results();
    assert_eq!(results[0].0, "read_file");
    assert!(results[0].1.content.contains("PURPLE-OTTER-42"));
    // The second request carried the call and its result back to the model.
    let bodies = llm.chat_bodies();
    let last = bodies.last().unwrap()["messages"].as_array().unwrap().clone();
    assert_eq!(last[last.len() - 1]["role"], "tool");
    assert!(last[last.len() - 2]["tool_calls"].is_array());
    assert!(host.events().contains(&"call read_file approval=false".to_owned()));
}

#[tokio::test]
async fn run_waits_for_approval_and_a_denial_is_told_to_the_model() {
    let (llm, provider, _dir, ctx) = setup().await;
    llm.route_sequence(Match::LastMessage, "did not allow", vec![answer("I could not run it.")]);
    llm.route_sequence(Match::LastMessage, "exited with code 0", vec![answer("It printed ran-ok.")]);
    llm.route_sequence(
        Match::LastUser,
        "run it",
        vec![call("run_command", json!({ "command": "echo ran-ok" }))],
    );
    let tools = Registry::with_builtins().select(&[Effect::Read, Effect::Run]);
    let config = LoopConfig::new("test-model", 8192);

    let allow = TestHost::new(Decision::Allow);
    let result = run_loop(&provider, &config, &tools, &ctx, &allow, task("run it")).await.unwrap();
    assert_eq!(result.answer, "It printed ran-ok.");
    let events = allow.events();
    assert!(events.contains(&"call run_command approval=true".to_owned()), "{events:?}");
    assert!(events.contains(&"asked run_command".to_owned()));
    assert!(events.iter().any(|e| e == "output ran-ok"), "output streamed: {events:?}");

    let deny = TestHost::new(Decision::Deny);
    let result = run_loop(&provider, &config, &tools, &ctx, &deny, task("run it")).await.unwrap();
    assert_eq!(result.answer, "I could not run it.");
    let (_, output) = &deny.results()[0];
    assert_eq!(output.status, atelier_tools::CallStatus::Denied);
    assert!(!deny.events().iter().any(|e| e.starts_with("output")), "a denied command never runs");

    // With auto-approve on (and a sandbox in force), nothing is asked.
    let auto = TestHost::new(Decision::Deny);
    let config = LoopConfig { auto_approve_run: true, ..config };
    let result = run_loop(&provider, &config, &tools, &ctx, &auto, task("run it")).await.unwrap();
    if ctx.runner.confined() {
        assert_eq!(result.answer, "It printed ran-ok.");
        assert!(!auto.events().iter().any(|e| e.starts_with("asked")));
    } else {
        assert_eq!(result.answer, "I could not run it.", "unconfined commands always ask");
    }
}

#[tokio::test]
async fn the_same_call_a_third_time_is_refused_and_a_fourth_stops_the_loop() {
    let (llm, provider, _dir, ctx) = setup().await;
    llm.set_default(call("read_file", json!({ "path": "notes.txt" })));
    let host = TestHost::new(Decision::Deny);
    let tools = Registry::with_builtins().select(&[Effect::Read]);
    let error = run_loop(&provider, &LoopConfig::new("test-model", 8192), &tools, &ctx, &host, task("loop"))
        .await
        .unwrap_err();
    assert!(matches!(&error, LoopError::Stopped(why) if why.contains("same arguments")), "{error}");
    let results = host.results();
    assert_eq!(results.len(), 4);
    assert!(results[2].1.content.starts_with("refused: you already called"), "{}", results[2].1.content);
    assert_eq!(llm.chat_requests(), 4, "the loop stopped at the fourth repeat");
}

#[tokio::test]
async fn unknown_tools_and_bad_arguments_are_errors_the_model_can_fix_and_three_in_a_row_stop() {
    let (llm, provider, _dir, ctx) = setup().await;
    llm.route_sequence(
        Match::LastUser,
        "fix",
        vec![
            call("read_fil", json!({ "path": "notes.txt" })),
            call("read_file", json!({ "file": "notes.txt" })),
            call("read_file", json!({ "path": "notes.txt" })),
            answer("PURPLE"),
        ],
    );
    let host = TestHost::new(Decision::Deny);
    let tools = Registry::with_builtins().select(&[Effect::Read]);
    let result = run_loop(&provider, &LoopConfig::new("test-model", 8192), &tools, &ctx, &host, task("fix"))
        .await
        .unwrap();
    assert_eq!(result.answer, "PURPLE");
    let results = host.results();
    assert!(results[0].1.content.contains("there is no tool `read_fil`"), "{}", results[0].1.content);
    assert!(results[0].1.content.contains("read_file"), "the tools are named");
    assert!(results[1].1.content.contains("lacks `path`"), "{}", results[1].1.content);

    llm.set_default(call("nope", json!({})));
    let host = TestHost::new(Decision::Deny);
    let error = run_loop(&provider, &LoopConfig::new("test-model", 8192), &tools, &ctx, &host, task("bad"))
        .await
        .unwrap_err();
    assert!(matches!(&error, LoopError::Stopped(why) if why.contains("3 tool calls in a row")), "{error}");
}

#[tokio::test]
async fn the_step_cap_ends_a_loop_that_never_answers() {
    let (llm, provider, _dir, ctx) = setup().await;
    // Different arguments each time: not the loop guard, the cap.
    let steps: Vec<Scenario> = (1..=10)
        .map(|i| call("read_file", json!({ "path": "notes.txt", "start_line": 1, "end_line": i })))
        .collect();
    llm.route_sequence(Match::LastUser, "wander", steps);
    let host = TestHost::new(Decision::Deny);
    let tools = Registry::with_builtins().select(&[Effect::Read]);
    let config = LoopConfig { max_steps: 5, ..LoopConfig::new("test-model", 8192) };
    let error = run_loop(&provider, &config, &tools, &ctx, &host, task("wander")).await.unwrap_err();
    assert!(matches!(&error, LoopError::Stopped(why) if why.contains("5 steps")), "{error}");
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn cancel_during_a_command_stops_the_loop_and_leaves_no_process() {
    let (llm, provider, _dir, ctx) = setup().await;
    let marker = format!("sleep 7{}", std::process::id() % 1000 + 1000);
    llm.set_default(call("run_command", json!({ "command": format!("{marker} & {marker}; wait") })));
    let host = TestHost::new(Decision::Allow);
    let tools = Registry::with_builtins().select(&[Effect::Run]);
    let cancel = ctx.cancel.clone();
    let config = LoopConfig::new("test-model", 8192);
    let running = async { run_loop(&provider, &config, &tools, &ctx, &host, task("sleep")).await };
    let stopper = async {
        // Until the command runs.
        for _ in 0..100 {
            if crate::run::running(&marker) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let at = Instant::now();
        cancel.cancel();
        at
    };
    let (result, cancelled_at) = tokio::join!(running, stopper);
    println!("the loop ended {:?} after the cancel", cancelled_at.elapsed());
    assert!(matches!(result, Err(LoopError::Cancelled)), "{result:?}");
    assert!(crate::run::gone_soon(&marker).await, "no process of the command is left");
}

#[tokio::test]
async fn a_long_conversation_is_compacted_keeping_the_system_message_the_task_and_the_newest_turns() {
    let (llm, provider, _dir, ctx) = setup().await;
    let big: String = (1..=300).map(|i| format!("filler line {i} with some words in it\n")).collect();
    std::fs::write(ctx.root.join("big.txt"), &big).unwrap();
    llm.route_on(Match::Anywhere, "summarise the middle", answer("SUMMARY: big.txt was read three times."));
    // Anywhere: after the compaction the last user message is the summary; the task stays.
    llm.route_sequence(
        Match::Anywhere,
        "read a lot",
        vec![
            call("read_file", json!({ "path": "big.txt", "start_line": 1 })),
            call("read_file", json!({ "path": "big.txt", "start_line": 2 })),
            call("read_file", json!({ "path": "big.txt", "start_line": 3 })),
            call("read_file", json!({ "path": "notes.txt" })),
            answer("done"),
        ],
    );
    let host = TestHost::new(Decision::Deny);
    let tools = Registry::with_builtins().select(&[Effect::Read]);
    // A small window: three pages of big.txt do not fit in it.
    let config = LoopConfig { reply_reserve: 512, ..LoopConfig::new("test-model", 8192) };
    let result = run_loop(&provider, &config, &tools, &ctx, &host, task("read a lot")).await.unwrap();
    assert_eq!(result.answer, "done");
    assert!(result.compacted);
    let messages = &result.messages;
    assert_eq!(messages[0].role, Role::System);
    assert_eq!(messages[1].content, "read a lot", "the task stays");
    assert!(messages.iter().any(|m| m.content.contains("SUMMARY: big.txt was read three times.")));
    assert_eq!(messages.last().unwrap().content, "done", "the newest turns stay");
    assert!(messages.iter().any(|m| m.content.contains("PURPLE-OTTER-42")), "the newest result stays whole");
    // Every request fitted the window it asked for.
    for body in llm.chat_bodies() {
        let num_ctx = body["options"]["num_ctx"].as_u64().unwrap_or(0);
        assert!(num_ctx > 0 && num_ctx <= 8192, "num_ctx {num_ctx}");
    }
}
