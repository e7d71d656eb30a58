//! Tool calling on all four wires against the testkit over real HTTP: tools sent in each
//! wire's shape, streamed calls assembled (arguments split over chunks, two calls in one
//! reply), results sent back in each wire's shape, names mapped on the wire and back,
//! cancelling mid-call, the text fallback, and what each provider says of a model's tools.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use atelier_llm::{
    AnthropicProvider, ChatMessage, ChatRequest, Delta, EndpointPool, GeminiProvider, LlmConfig, LlmError,
    OllamaProvider, OpenAiCompatProvider, PoolConfig, Provider, Role, ToolCall, ToolMode, ToolSpec,
};
use atelier_testkit::{Dialect, Match, Reply, Scenario, TestCall, TestLlm, TestModel, dialect_text};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::{chat, config};

const MODEL: &str = "test-model";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    Ollama,
    OpenAi,
    Anthropic,
    Gemini,
}

const WIRES: [Wire; 4] = [Wire::Ollama, Wire::OpenAi, Wire::Anthropic, Wire::Gemini];

fn provider(wire: Wire, llm: &TestLlm) -> Arc<dyn Provider> {
    let url = llm.url().parse().expect("url");
    match wire {
        Wire::Ollama => Arc::new(OllamaProvider::new(url, config()).expect("provider")),
        Wire::OpenAi => Arc::new(OpenAiCompatProvider::new(url, None, config()).expect("provider")),
        Wire::Anthropic => Arc::new(AnthropicProvider::new(url, "key".into(), config()).expect("provider")),
        Wire::Gemini => Arc::new(GeminiProvider::new(url, "key".into(), config()).expect("provider")),
    }
}

async fn setup(wire: Wire) -> (TestLlm, Arc<dyn Provider>) {
    let llm = TestLlm::start().await.expect("testkit");
    let provider = provider(wire, &llm);
    (llm, provider)
}

fn read_file() -> ToolSpec {
    ToolSpec {
        name: "read_file".into(),
        description: "Read a file of the project.".into(),
        input_schema: json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "path": { "type": "string", "description": "Relative path" },
                "start_line": { "type": ["integer", "null"], "minimum": 1 }
            },
            "required": ["path"],
            "additionalProperties": false
        }),
    }
}

fn list_files() -> ToolSpec {
    ToolSpec {
        name: "list_files".into(),
        description: "List files under a folder.".into(),
        input_schema: json!({ "type": "object", "properties": { "path": { "type": "string" } } }),
    }
}

fn tools_request(tools: Vec<ToolSpec>, messages: Vec<ChatMessage>) -> ChatRequest {
    ChatRequest { model: MODEL.into(), messages, tools, ..ChatRequest::default() }
}

fn ask(text: &str) -> Vec<ChatMessage> {
    vec![ChatMessage::system("You are a coding agent."), ChatMessage::user(text)]
}

/// The tools as the recorded request carries them: `(name, schema)` in the wire's own fields.
fn wire_tools(wire: Wire, body: &Value) -> Vec<(String, Value)> {
    let list = match wire {
        Wire::Ollama | Wire::OpenAi => body["tools"].as_array().cloned().unwrap_or_default(),
        Wire::Anthropic => body["tools"].as_array().cloned().unwrap_or_default(),
        Wire::Gemini => body["tools"][0]["functionDeclarations"].as_array().cloned().unwrap_or_default(),
    };
    list.iter()
        .map(|t| match wire {
            Wire::Ollama | Wire::OpenAi => {
                assert_eq!(t["type"], "function", "{t}");
                (
                    t["function"]["name"].as_str().unwrap_or_default().to_owned(),
                    t["function"]["parameters"].clone(),
                )
            }
            Wire::Anthropic => (t["name"].as_str().unwrap_or_default().to_owned(), t["input_schema"].clone()),
            Wire::Gemini => (t["name"].as_str().unwrap_or_default().to_owned(), t["parameters"].clone()),
        })
        .collect()
}

fn last_body(llm: &TestLlm) -> Value {
    llm.chat_bodies().pop().expect("a chat request")
}

#[tokio::test]
async fn tools_go_on_each_wire_in_its_shape() {
    for wire in WIRES {
        let (llm, provider) = setup(wire).await;
        llm.push(Scenario::Reply(Reply::text("No tool needed.")));
        let req = tools_request(vec![read_file(), list_files()], ask("hi"));
        let out = chat(provider.as_ref(), &req).await;
        let completion = out.result.expect("reply");
        assert_eq!(completion.content, "No tool needed.", "{wire:?}");
        assert!(completion.tool_calls.is_empty());
        let body = last_body(&llm);
        let tools = wire_tools(wire, &body);
        let names: Vec<&str> = tools.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["read_file", "list_files"], "{wire:?}: {body}");
        let schema = &tools[0].1;
        assert_eq!(schema["properties"]["path"]["type"], "string", "{wire:?}");
        assert_eq!(schema["required"], json!(["path"]), "{wire:?}");
        if wire == Wire::Gemini {
            // Gemini refuses these keywords: they are cut, and a type list becomes `nullable`.
            assert!(
                schema.get("$schema").is_none() && schema.get("additionalProperties").is_none(),
                "{schema}"
            );
            assert_eq!(
                schema["properties"]["start_line"],
                json!({ "type": "integer", "nullable": true, "minimum": 1 })
            );
        } else {
            assert_eq!(schema, &read_file().input_schema, "{wire:?}: other wires take the schema as it is");
        }
    }
}

#[tokio::test]
async fn a_streamed_reply_with_two_calls_is_assembled_on_each_wire() {
    let first = json!({ "path": "src/lib.rs", "start_line": 3 });
    let second = json!({ "path": "tests/ünïcode dir" });
    for wire in WIRES {
        let (llm, provider) = setup(wire).await;
        llm.push(Scenario::Reply(
            Reply::text("Let me look at both.")
                .with_calls(vec![
                    TestCall::new("read_file", first.clone()),
                    TestCall::new("list_files", second.clone()),
                ])
                .split_lines()
                .prompt_tokens(321),
        ));
        let req = tools_request(vec![read_file(), list_files()], ask("what is in src?"));
        let out = chat(provider.as_ref(), &req).await;
        let completion = out.result.expect("reply");
        // The text streamed as it came; the calls are whole, in order, with their arguments.
        assert_eq!(out.content, "Let me look at both.", "{wire:?}");
        assert_eq!(completion.content, "Let me look at both.", "{wire:?}");
        let calls: Vec<(&str, &Value)> =
            completion.tool_calls.iter().map(|c| (c.name.as_str(), &c.arguments)).collect();
        assert_eq!(calls, [("read_file", &first), ("list_files", &second)], "{wire:?}");
        let ids: HashSet<&str> = completion.tool_calls.iter().map(|c| c.id.as_str()).collect();
        assert!(
            ids.len() == 2 && !ids.contains(""),
            "{wire:?}: ids unique, generated where missing: {ids:?}"
        );
        assert_eq!(completion.done_reason.as_deref(), Some("tool_calls"), "{wire:?}");
        assert_eq!(completion.usage.prompt_tokens, 321, "{wire:?}: the prompt's size stays accurate");
        assert!(completion.malformed_calls.is_empty());
    }
}

#[tokio::test]
async fn openai_arguments_arrive_in_pieces_interleaved_by_index() {
    let (llm, provider) = setup(Wire::OpenAi).await;
    llm.push(Scenario::Reply(Reply::tool_calls(vec![
        TestCall::new("read_file", json!({ "path": "a-rather-long-path/to/some/file.rs" })).id("call_A"),
        TestCall::new("read_file", json!({ "path": "another/long/path/mod.rs" })).id("call_B"),
    ])));
    let req = tools_request(vec![read_file()], ask("read both"));
    let completion = chat(provider.as_ref(), &req).await.result.expect("reply");
    let got: Vec<(&str, &Value)> =
        completion.tool_calls.iter().map(|c| (c.id.as_str(), &c.arguments)).collect();
    assert_eq!(
        got,
        [
            ("call_A", &json!({ "path": "a-rather-long-path/to/some/file.rs" })),
            ("call_B", &json!({ "path": "another/long/path/mod.rs" }))
        ],
        "the server's ids are kept and each call's pieces joined by index"
    );
}

/// The turn after two calls: the user's question, the assistant's calls, both results.
fn after_two_calls() -> Vec<ChatMessage> {
    let mut messages = ask("what does lib.rs export?");
    messages.push(ChatMessage::assistant_calls(
        "Reading.",
        vec![
            ToolCall {
                id: "call_1".into(),
                name: "read_file".into(),
                arguments: json!({ "path": "src/lib.rs" }),
            },
            ToolCall { id: "call_2".into(), name: "list_files".into(), arguments: json!({ "path": "src" }) },
        ],
    ));
    messages.push(ChatMessage::tool_result("call_1", "read_file", "pub fn answer() -> u32 { 42 }"));
    messages.push(ChatMessage::tool_result("call_2", "list_files", "src/lib.rs\nsrc/main.rs"));
    messages
}

#[tokio::test]
async fn tool_results_go_back_in_each_wires_shape() {
    for wire in WIRES {
        let (llm, provider) = setup(wire).await;
        // The answer is scripted on the last message's content: the second tool result.
        llm.route_on(
            Match::LastMessage,
            "src/main.rs",
            Scenario::Reply(Reply::text("lib.rs exports answer().")),
        );
        let req = tools_request(vec![read_file(), list_files()], after_two_calls());
        let completion = chat(provider.as_ref(), &req).await.result.expect("reply");
        assert_eq!(completion.content, "lib.rs exports answer().", "{wire:?}: the route saw the tool result");
        let body = last_body(&llm);
        match wire {
            Wire::Ollama => {
                let m = &body["messages"];
                assert_eq!(m[2]["role"], "assistant");
                assert_eq!(m[2]["content"], "Reading.");
                assert_eq!(m[2]["tool_calls"][0]["function"]["name"], "read_file");
                assert_eq!(m[2]["tool_calls"][0]["function"]["arguments"], json!({ "path": "src/lib.rs" }));
                assert_eq!(
                    m[3],
                    json!({ "role": "tool", "content": "pub fn answer() -> u32 { 42 }",
                                         "tool_name": "read_file", "tool_call_id": "call_1" })
                );
                assert_eq!(m[4]["tool_name"], "list_files");
            }
            Wire::OpenAi => {
                let m = &body["messages"];
                assert_eq!(
                    m[2]["tool_calls"][1],
                    json!({ "id": "call_2", "type": "function",
                    "function": { "name": "list_files", "arguments": "{\"path\":\"src\"}" } })
                );
                assert_eq!(
                    m[3],
                    json!({ "role": "tool", "tool_call_id": "call_1", "content": "pub fn answer() -> u32 { 42 }" })
                );
                assert_eq!(m[4]["tool_call_id"], "call_2");
            }
            Wire::Anthropic => {
                let m = body["messages"].as_array().expect("messages");
                let roles: Vec<&str> = m.iter().filter_map(|t| t["role"].as_str()).collect();
                assert_eq!(roles, ["user", "assistant", "user"], "turns alternate: {body}");
                assert_eq!(m[1]["content"][0], json!({ "type": "text", "text": "Reading." }));
                assert_eq!(
                    m[1]["content"][1],
                    json!({ "type": "tool_use", "id": "call_1", "name": "read_file",
                                                       "input": { "path": "src/lib.rs" } })
                );
                assert_eq!(
                    m[2]["content"][0],
                    json!({ "type": "tool_result", "tool_use_id": "call_1",
                                                       "content": "pub fn answer() -> u32 { 42 }" })
                );
                assert_eq!(m[2]["content"][1]["tool_use_id"], "call_2");
            }
            Wire::Gemini => {
                let c = body["contents"].as_array().expect("contents");
                let roles: Vec<&str> = c.iter().filter_map(|t| t["role"].as_str()).collect();
                assert_eq!(roles, ["user", "model", "user"], "{body}");
                assert_eq!(
                    c[1]["parts"][1]["functionCall"],
                    json!({ "name": "read_file", "args": { "path": "src/lib.rs" } })
                );
                // A call whose signature is unknown goes back with the documented skip value.
                assert_eq!(c[1]["parts"][1]["thoughtSignature"], "skip_thought_signature_validator");
                assert_eq!(
                    c[2]["parts"][0]["functionResponse"],
                    json!({ "name": "read_file",
                    "response": { "content": "pub fn answer() -> u32 { 42 }" } })
                );
            }
        }
    }
}

#[tokio::test]
async fn an_agent_loop_runs_on_each_wire_with_a_route_sequence() {
    for wire in WIRES {
        let (llm, provider) = setup(wire).await;
        // Step 1 calls read_file; step 2, whatever the conversation holds by then, answers.
        llm.route_sequence(
            Match::Anywhere,
            "what does lib.rs export",
            vec![
                Scenario::Reply(Reply::tool_calls(vec![TestCall::new(
                    "read_file",
                    json!({ "path": "src/lib.rs" }),
                )])),
                Scenario::Reply(Reply::text("It exports answer().")),
            ],
        );
        let tools = vec![read_file()];
        let mut messages = ask("what does lib.rs export?");
        let first = chat(provider.as_ref(), &tools_request(tools.clone(), messages.clone()))
            .await
            .result
            .expect("step 1");
        assert_eq!(first.tool_calls.len(), 1, "{wire:?}");
        let call = first.tool_calls[0].clone();
        messages.push(ChatMessage::assistant_calls(first.content, first.tool_calls));
        messages.push(ChatMessage::tool_result(&call.id, &call.name, "pub fn answer() -> u32 { 42 }"));
        let second = chat(provider.as_ref(), &tools_request(tools, messages)).await.result.expect("step 2");
        assert_eq!(second.content, "It exports answer().", "{wire:?}");
        assert!(second.tool_calls.is_empty());
        // Gemini: the call went back with the signature the server gave it.
        if wire == Wire::Gemini {
            let body = last_body(&llm);
            assert_eq!(body["contents"][1]["parts"][0]["thoughtSignature"], "sig-read_file", "{body}");
        }
    }
}

#[tokio::test]
async fn names_that_no_wire_accepts_are_mapped_and_mapped_back() {
    let tool = ToolSpec { name: "fs.read_file".into(), ..read_file() };
    let valid = regex_like_valid;
    for wire in WIRES {
        let (llm, provider) = setup(wire).await;
        // What name did the wire get? Ask once, then let the server call that name.
        llm.push(Scenario::Reply(Reply::text("ok")));
        chat(provider.as_ref(), &tools_request(vec![tool.clone()], ask("hi"))).await.result.expect("reply");
        let wire_name = wire_tools(wire, &last_body(&llm))[0].0.clone();
        assert!(valid(&wire_name) && wire_name != "fs.read_file", "{wire:?}: {wire_name}");

        llm.push(Scenario::Reply(Reply::tool_calls(vec![TestCall::new(&wire_name, json!({ "path": "a" }))])));
        let completion = chat(provider.as_ref(), &tools_request(vec![tool.clone()], ask("read a")))
            .await
            .result
            .expect("reply");
        assert_eq!(completion.tool_calls[0].name, "fs.read_file", "{wire:?}: callers see the original name");

        // The call and its result go back under the wire name.
        let mut messages = ask("read a");
        messages.push(ChatMessage::assistant_calls("", completion.tool_calls.clone()));
        messages.push(ChatMessage::tool_result(
            &completion.tool_calls[0].id,
            "fs.read_file",
            "contents of a",
        ));
        llm.push(Scenario::Reply(Reply::text("done")));
        chat(provider.as_ref(), &tools_request(vec![tool.clone()], messages)).await.result.expect("reply");
        let body = last_body(&llm).to_string();
        assert!(!body.contains("fs.read_file"), "{wire:?}: the original name never goes on the wire: {body}");
        assert!(body.contains(&wire_name));
    }
}

/// `^[a-zA-Z_][a-zA-Z0-9_-]{0,63}$`.
fn regex_like_valid(name: &str) -> bool {
    name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[tokio::test]
async fn cancelling_mid_call_stops_at_once_and_a_stalled_call_times_out_on_each_wire() {
    for wire in WIRES {
        let (llm, provider) = setup(wire).await;
        let calls = vec![
            TestCall::new("read_file", json!({ "path": "src/a.rs" })),
            TestCall::new("list_files", json!({ "path": "src" })),
        ];
        let req = tools_request(vec![read_file(), list_files()], ask("go"));

        // The reply stops half way through its calls (sent right after the text); the caller
        // cancels a moment after the text arrived, while it waits for the rest.
        llm.push(Scenario::Reply(Reply::text("Reading.").with_calls(calls.clone()).stall_in_calls()));
        let cancel = CancellationToken::new();
        let mut content = String::new();
        let mut armed = false;
        let result = provider
            .chat(&req, &cancel, &mut |delta| {
                if let Delta::Content(text) = delta {
                    content.push_str(&text);
                }
                if !armed {
                    armed = true;
                    let trigger = cancel.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(150)).await;
                        trigger.cancel();
                    });
                }
            })
            .await;
        assert_eq!(content, "Reading.", "{wire:?}");
        assert!(matches!(result, Err(LlmError::Cancelled)), "{wire:?}: {result:?}");

        // Nobody cancels: the stall ends in a timeout, never in half a call.
        llm.push(Scenario::Reply(Reply::text("Reading.").with_calls(calls).stall_in_calls()));
        let out = chat(provider.as_ref(), &req).await;
        assert!(matches!(out.result, Err(LlmError::Timeout { .. })), "{wire:?}: {:?}", out.result);
    }
}

#[tokio::test]
async fn calls_written_as_text_in_a_native_reply_are_read_on_each_wire() {
    for wire in WIRES {
        let (llm, provider) = setup(wire).await;
        let call = dialect_text(Dialect::Hermes, "read_file", &json!({ "path": "Cargo.toml" }));
        llm.push(Scenario::Reply(Reply::text(&format!("I'll read the manifest.\n{call}"))));
        let req = tools_request(vec![read_file()], ask("deps?"));
        let out = chat(provider.as_ref(), &req).await;
        let completion = out.result.expect("reply");
        assert!(out.content.contains("<tool_call>"), "{wire:?}: the text streamed as it came");
        assert_eq!(
            completion.content, "I'll read the manifest.",
            "{wire:?}: the call is cut from the content"
        );
        assert_eq!(completion.tool_calls.len(), 1);
        assert_eq!(completion.tool_calls[0].name, "read_file");
        assert_eq!(completion.tool_calls[0].arguments, json!({ "path": "Cargo.toml" }));
        assert!(completion.tool_calls[0].id.starts_with("call_"));
        assert_eq!(completion.done_reason.as_deref(), Some("tool_calls"));
    }
}

#[tokio::test]
async fn text_mode_puts_nothing_tool_related_on_the_wire() {
    for wire in WIRES {
        let (llm, provider) = setup(wire).await;
        let reply = dialect_text(Dialect::Qwen3Coder, "list_files", &json!({ "path": "docs" }));
        llm.push(Scenario::Reply(Reply::text(&reply)));
        let mut req = tools_request(vec![read_file(), list_files()], after_two_calls());
        req.tool_mode = ToolMode::Text;
        let completion = chat(provider.as_ref(), &req).await.result.expect("reply");
        assert_eq!(completion.tool_calls.len(), 1, "{wire:?}");
        assert_eq!(completion.tool_calls[0].name, "list_files");
        assert_eq!(completion.tool_calls[0].arguments, json!({ "path": "docs" }));
        assert_eq!(completion.content, "");

        let body = last_body(&llm);
        let text = body.to_string();
        for native in [
            "\"tools\"",
            "tool_calls",
            "tool_use",
            "tool_result\"",
            "functionCall",
            "functionResponse",
            "\"role\":\"tool\"",
        ] {
            assert!(!text.contains(native), "{wire:?}: `{native}` on the wire in text mode: {text}");
        }
        // The tools are described in the system prompt; history is written as text.
        let system = match wire {
            Wire::Ollama | Wire::OpenAi => {
                body["messages"][0]["content"].as_str().unwrap_or_default().to_owned()
            }
            Wire::Anthropic => body["system"].as_str().unwrap_or_default().to_owned(),
            Wire::Gemini => {
                body["systemInstruction"]["parts"][0]["text"].as_str().unwrap_or_default().to_owned()
            }
        };
        assert!(system.starts_with("You are a coding agent."), "{wire:?}: {system}");
        assert!(system.contains("<tool_call>") && system.contains("## read_file"), "{wire:?}: {system}");
        assert!(text.contains("<tool_result name=\\\"read_file\\\">"), "{wire:?}: {text}");
        assert!(
            text.contains("{\\\"name\\\": \\\"list_files\\\""),
            "{wire:?}: earlier calls as text: {text}"
        );
    }
}

#[tokio::test]
async fn a_model_without_native_tools_is_asked_again_with_tools_in_the_prompt() {
    for wire in [Wire::Ollama, Wire::OpenAi] {
        let (llm, provider) = setup(wire).await;
        llm.set_models(vec![TestModel::new(MODEL, 8192).tools(false)]);
        let reply = dialect_text(Dialect::Hermes, "read_file", &json!({ "path": "a.md" }));
        llm.push(Scenario::Reply(Reply::text(&reply)));
        let req = tools_request(vec![read_file()], ask("read a.md"));
        let completion = chat(provider.as_ref(), &req).await.result.expect("reply");
        assert_eq!(completion.tool_calls.len(), 1, "{wire:?}");
        assert_eq!(completion.tool_calls[0].arguments, json!({ "path": "a.md" }));
        let bodies = llm.chat_bodies();
        assert_eq!(bodies.len(), 2, "{wire:?}: refused once natively, then sent as text");
        assert!(bodies[0]["tools"].is_array() && bodies[1].get("tools").is_none(), "{wire:?}");
        assert!(bodies[1]["messages"][0]["content"].as_str().unwrap_or_default().contains("<tool_call>"));
    }
}

#[tokio::test]
async fn history_with_calls_but_no_tools_offered_is_sent_as_text() {
    for wire in WIRES {
        let (llm, provider) = setup(wire).await;
        llm.push(Scenario::Reply(Reply::text("ok")));
        // Tools switched off for this turn: the earlier calls must not break the request.
        let req = tools_request(Vec::new(), after_two_calls());
        chat(provider.as_ref(), &req).await.result.expect("reply");
        let text = last_body(&llm).to_string();
        assert!(
            !text.contains("tool_use") && !text.contains("functionCall") && !text.contains("\"tool_calls\""),
            "{wire:?}: {text}"
        );
        assert!(text.contains("pub fn answer"), "{wire:?}: the results are still there: {text}");
    }
}

#[tokio::test]
async fn unpaired_calls_and_results_are_written_as_text() {
    // A crash left a call without its result, and a compaction a result without its call.
    let mut messages = ask("go");
    messages.push(ChatMessage::assistant_calls(
        "",
        vec![ToolCall { id: "lost".into(), name: "read_file".into(), arguments: json!({ "path": "x" }) }],
    ));
    messages.push(ChatMessage::user("are you there?"));
    messages.push(ChatMessage::tool_result("orphan", "read_file", "old result"));
    for wire in [Wire::OpenAi, Wire::Anthropic] {
        let (llm, provider) = setup(wire).await;
        llm.push(Scenario::Reply(Reply::text("yes")));
        chat(provider.as_ref(), &tools_request(vec![read_file()], messages.clone()))
            .await
            .result
            .expect("reply");
        let text = last_body(&llm).to_string();
        assert!(!text.contains("\"lost\"") && !text.contains("\"orphan\""), "{wire:?}: {text}");
        assert!(text.contains("old result") && text.contains("<tool_call>"), "{wire:?}: {text}");
    }
}

#[tokio::test]
async fn capabilities_say_whether_a_model_takes_tools() {
    let llm = TestLlm::start().await.expect("testkit");
    llm.set_models(vec![
        TestModel::new("qwen3:8b", 40_960),
        TestModel::new("gemma:2b", 8192).tools(false),
        TestModel::new("gemini-2.5-flash", 1_048_576),
    ]);
    let ollama = provider(Wire::Ollama, &llm);
    let caps = ollama.capabilities("qwen3:8b").await.expect("caps");
    assert_eq!((caps.tools, caps.context_length), (Some(true), Some(40_960)));
    let caps = ollama.capabilities("gemma:2b").await.expect("caps");
    assert_eq!((caps.tools, caps.context_length), (Some(false), Some(8192)));
    assert!(matches!(ollama.capabilities("nope").await, Err(LlmError::ModelNotFound { .. })));

    let caps = provider(Wire::OpenAi, &llm).capabilities("qwen3:8b").await.expect("caps");
    assert_eq!(caps.tools, None, "an OpenAI-compatible server that does not say leaves it unknown");
    let caps = provider(Wire::Anthropic, &llm).capabilities("claude-sonnet-4-5").await.expect("caps");
    assert_eq!((caps.tools, caps.context_length), (Some(true), Some(200_000)));
    let caps = provider(Wire::Gemini, &llm).capabilities("gemini-2.5-flash").await.expect("caps");
    assert_eq!((caps.tools, caps.context_length), (Some(true), Some(1_048_576)));

    // A pool asks its members.
    let pool = EndpointPool::from_spec(
        &llm.url(),
        None,
        LlmConfig { max_retries: 0, ..config() },
        PoolConfig::default(),
    )
    .expect("pool");
    let caps = pool.capabilities("gemma:2b").await.expect("caps");
    assert_eq!(caps.tools, Some(false));
}

#[tokio::test]
async fn the_pool_passes_tools_and_calls_through() {
    let a = TestLlm::start().await.expect("testkit");
    let b = TestLlm::start().await.expect("testkit");
    let reply = Scenario::Reply(Reply::tool_calls(vec![TestCall::new("read_file", json!({ "path": "p" }))]));
    a.set_default(reply.clone());
    b.set_default(reply);
    let spec = format!("{}, openai+{}/v1", a.url(), b.url());
    let pool =
        EndpointPool::from_spec(&spec, None, LlmConfig { max_retries: 0, ..config() }, PoolConfig::default())
            .expect("pool");
    for _ in 0..4 {
        let completion =
            chat(&pool, &tools_request(vec![read_file()], ask("p?"))).await.result.expect("reply");
        assert_eq!(completion.tool_calls[0].name, "read_file");
        assert_eq!(completion.tool_calls[0].arguments, json!({ "path": "p" }));
    }
    assert!(a.chat_requests() > 0 && b.chat_requests() > 0, "both members served");
    for body in a.chat_bodies().into_iter().chain(b.chat_bodies()) {
        assert_eq!(body["tools"][0]["function"]["name"], "read_file");
    }
}

#[test]
fn a_tool_result_message_keeps_its_fields_and_plain_ones_serialize_as_before() {
    let plain = serde_json::to_value(ChatMessage::user("hi")).expect("json");
    assert_eq!(plain, json!({ "role": "user", "content": "hi" }));
    let result = ChatMessage::tool_result("call_1", "read_file", "text");
    assert_eq!(result.role, Role::Tool);
    let value = serde_json::to_value(&result).expect("json");
    assert_eq!(
        value,
        json!({ "role": "tool", "content": "text", "tool_call_id": "call_1", "tool_name": "read_file" })
    );
    let back: ChatMessage = serde_json::from_value(value).expect("back");
    assert_eq!(back, result);
    let old: ChatMessage =
        serde_json::from_value(json!({ "role": "assistant", "content": "x" })).expect("old rows");
    assert!(old.tool_calls.is_empty() && old.tool_call_id.is_none());
}
