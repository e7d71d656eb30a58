//! Anthropic's Messages API: the SSE event stream, thinking kept apart, usage, the request
//! shape, refused keys, rate limits, overloads, broken streams, cancellation and models.

use std::time::{Duration, Instant};

use atelier_llm::{AnthropicProvider, LlmError, Provider};
use atelier_testkit::{Reply, Scenario, TestLlm, TestModel};

use crate::{chat, config, request, requests_to};

const KEY: &str = "sk-ant-test-key";
const MODEL: &str = "claude-test";

async fn setup(key: &str) -> (TestLlm, AnthropicProvider) {
    let llm = TestLlm::start().await.expect("testkit");
    llm.set_models(vec![TestModel::new(MODEL, 200_000)]);
    llm.require_key(Some(KEY));
    let provider =
        AnthropicProvider::new(llm.url().parse().expect("url"), key.to_owned(), config()).expect("provider");
    (llm, provider)
}

#[tokio::test]
async fn a_reply_streams_with_thinking_kept_apart_and_usage() {
    let (llm, provider) = setup(KEY).await;
    llm.push(Scenario::Reply(
        Reply::text("Use a BTreeMap.").thinking("Ordered keys needed.").prompt_tokens(31),
    ));
    let out = chat(&provider, &request(MODEL, "which map?")).await;
    let completion = out.result.expect("reply");
    assert_eq!(out.content, "Use a BTreeMap.");
    assert_eq!(out.reasoning, "Ordered keys needed.");
    assert_eq!(completion.content, "Use a BTreeMap.");
    assert!(out.deltas >= 6, "streamed in pieces, not at once");
    assert_eq!(completion.usage.prompt_tokens, 31);
    assert_eq!(completion.usage.completion_tokens, 6);
    assert_eq!(completion.done_reason.as_deref(), Some("stop"));
}

#[tokio::test]
async fn the_request_has_anthropics_shape() {
    let (llm, provider) = setup(KEY).await;
    let mut req = request(MODEL, "hello");
    req.messages.push(atelier_llm::ChatMessage::assistant("hi"));
    req.messages.push(atelier_llm::ChatMessage::user("again"));
    req.temperature = Some(0.5);
    chat(&provider, &req).await.result.expect("reply");
    let sent = llm.requests().into_iter().find(|r| r.path == "/v1/messages").expect("request");
    assert_eq!(sent.header("x-api-key"), Some(KEY));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert!(sent.header("authorization").is_none(), "the key goes in x-api-key only");
    assert_eq!(sent.body["model"], MODEL);
    assert_eq!(sent.body["stream"], true);
    assert_eq!(sent.body["max_tokens"], 8192);
    assert_eq!(sent.body["temperature"], 0.5);
    assert_eq!(sent.body["system"], "be brief", "system messages go in `system`, not in `messages`");
    let roles: Vec<&str> = sent.body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["role"].as_str().expect("role"))
        .collect();
    assert_eq!(roles, ["user", "assistant", "user"]);
    assert_eq!(sent.body["messages"][2]["content"], "again");
}

#[tokio::test]
async fn a_wrong_key_is_unauthorized_after_one_request() {
    let (llm, provider) = setup("sk-ant-wrong").await;
    let out = chat(&provider, &request(MODEL, "q")).await;
    let error = out.result.expect_err("refused");
    assert!(matches!(error, LlmError::Unauthorized { .. }), "{error:?}");
    assert!(!error.retryable());
    assert!(!error.to_string().contains("sk-ant-wrong"), "{error}");
    assert_eq!(requests_to(&llm, "/v1/messages"), 1, "no retry storm");
    assert!(matches!(provider.list_models().await, Err(LlmError::Unauthorized { .. })));
}

#[tokio::test]
async fn a_429_is_retried_after_retry_after() {
    let (llm, provider) = setup(KEY).await;
    let limited = r#"{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}"#;
    llm.push(Scenario::Status { status: 429, body: limited.into(), retry_after: Some(1) });
    llm.push(Scenario::Reply(Reply::text("after the wait")));
    let started = Instant::now();
    let out = chat(&provider, &request(MODEL, "q")).await;
    assert_eq!(out.result.expect("retried").content, "after the wait");
    assert_eq!(llm.chat_requests(), 2);
    assert!(started.elapsed() >= Duration::from_secs(1), "honoured Retry-After: 1");
}

#[tokio::test]
async fn overloads_before_the_first_token_are_retried() {
    let (llm, provider) = setup(KEY).await;
    let overloaded = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    llm.push(Scenario::Status { status: 503, body: "upstream connect error".into(), retry_after: None });
    llm.push(Scenario::Status { status: 529, body: overloaded.into(), retry_after: None });
    // An `error` event in the stream before any text: also retried.
    llm.push(Scenario::ErrorLine { before: String::new(), error: "Overloaded".into() });
    llm.push(Scenario::Reply(Reply::text("finally")));
    let out = chat(&provider, &request(MODEL, "q")).await;
    assert_eq!(out.result.expect("retried").content, "finally");
    assert_eq!(llm.chat_requests(), 4);
}

#[tokio::test]
async fn a_break_mid_stream_keeps_the_partial_text_and_is_not_retried() {
    let (llm, provider) = setup(KEY).await;
    llm.push(Scenario::DropAfter { before: "half an ans".into() });
    let out = chat(&provider, &request(MODEL, "q")).await;
    assert_eq!(out.content, "half an ans");
    assert!(matches!(out.result, Err(LlmError::Stream { .. })), "{:?}", out.result);

    llm.push(Scenario::ErrorLine { before: "so far".into(), error: "Overloaded".into() });
    let before = llm.chat_requests();
    let out = chat(&provider, &request(MODEL, "q")).await;
    assert_eq!(out.content, "so far");
    assert!(matches!(out.result, Err(LlmError::Stream { ref message, .. }) if message == "Overloaded"));
    assert_eq!(llm.chat_requests(), before + 1, "not retried after text went out");
}

#[tokio::test]
async fn split_events_and_a_stalled_stream() {
    let (llm, provider) = setup(KEY).await;
    crate::split_events_and_a_stalled_stream(&llm, &provider, MODEL).await;
}

#[tokio::test]
async fn cancelling_stops_the_stream() {
    let (llm, provider) = setup(KEY).await;
    crate::cancelling_stops_the_stream(&llm, &provider, MODEL).await;
}

#[tokio::test]
async fn an_unknown_model_is_not_found_and_not_retried() {
    let (llm, provider) = setup(KEY).await;
    let out = chat(&provider, &request("claude-nope", "q")).await;
    assert!(matches!(out.result, Err(LlmError::ModelNotFound { ref model }) if model == "claude-nope"));
    assert_eq!(requests_to(&llm, "/v1/messages"), 1);
}

#[tokio::test]
async fn models_version_and_echo() {
    let (llm, provider) = setup(KEY).await;
    llm.set_models(vec![
        TestModel::new("claude-sonnet-test", 200_000),
        TestModel::new("claude-haiku-test", 200_000),
    ]);
    let models = provider.list_models().await.expect("models");
    let names: Vec<&str> = models.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["claude-sonnet-test", "claude-haiku-test"]);
    assert_eq!(models[0].provider, "anthropic");
    assert_eq!(models[0].display_name.as_deref(), Some("Claude Sonnet Test"));
    assert_eq!(models[0].context_length, Some(200_000));
    let listed = llm.requests().into_iter().find(|r| r.path == "/v1/models").expect("request");
    assert_eq!(listed.header("x-api-key"), Some(KEY));
    assert_eq!(provider.version().await.expect("reachable"), "anthropic");

    let out = chat(&provider, &request("claude-haiku-test", "ping")).await;
    assert_eq!(out.result.expect("echo").content, "echo: ping");
}

#[tokio::test]
async fn the_key_never_shows_in_debug_output() {
    let (_llm, provider) = setup(KEY).await;
    let debug = format!("{provider:?}");
    assert!(!debug.contains(KEY), "{debug}");
    assert!(debug.contains("<redacted>"), "{debug}");
}
