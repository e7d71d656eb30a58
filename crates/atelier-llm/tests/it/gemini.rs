//! Google's Gemini API: `streamGenerateContent?alt=sse`, thought parts kept apart, usage, the
//! request shape, refused keys, rate limits, server errors, broken streams, cancellation and
//! models.

use std::time::{Duration, Instant};

use atelier_llm::{ChatMessage, GeminiProvider, LlmError, Provider};
use atelier_testkit::{Reply, Scenario, TestLlm, TestModel};

use crate::{chat, config, request, requests_to};

const KEY: &str = "AIza-test-key";
const MODEL: &str = "gemini-test";
const PATH: &str = "/v1beta/models/gemini-test:streamGenerateContent";

async fn setup(key: &str) -> (TestLlm, GeminiProvider) {
    let llm = TestLlm::start().await.expect("testkit");
    llm.set_models(vec![TestModel::new(MODEL, 1_048_576)]);
    llm.require_key(Some(KEY));
    let provider =
        GeminiProvider::new(llm.url().parse().expect("url"), key.to_owned(), config()).expect("provider");
    (llm, provider)
}

#[tokio::test]
async fn a_reply_streams_with_thoughts_kept_apart_and_usage() {
    let (llm, provider) = setup(KEY).await;
    llm.push(Scenario::Reply(Reply::text("Use a Vec.").thinking("Small and ordered.").prompt_tokens(17)));
    let out = chat(&provider, &request(MODEL, "which collection?")).await;
    let completion = out.result.expect("reply");
    assert_eq!(out.content, "Use a Vec.");
    assert_eq!(out.reasoning, "Small and ordered.");
    assert!(out.deltas >= 6, "streamed in pieces, not at once");
    assert_eq!(completion.usage.prompt_tokens, 17);
    assert_eq!(completion.usage.completion_tokens, 6, "reply and thought tokens");
    assert_eq!(completion.done_reason.as_deref(), Some("stop"));
}

#[tokio::test]
async fn the_request_has_geminis_shape() {
    let (llm, provider) = setup(KEY).await;
    let mut req = request(MODEL, "hello");
    req.messages.push(ChatMessage::assistant("hi"));
    req.messages.push(ChatMessage::user("again"));
    req.temperature = Some(0.25);
    chat(&provider, &req).await.result.expect("reply");
    let sent = llm.requests().into_iter().find(|r| r.path == PATH).expect("request");
    assert_eq!(sent.query, "alt=sse");
    assert_eq!(sent.header("x-goog-api-key"), Some(KEY));
    assert!(sent.header("authorization").is_none(), "the key goes in x-goog-api-key only");
    assert_eq!(sent.body["systemInstruction"]["parts"][0]["text"], "be brief");
    let roles: Vec<&str> = sent.body["contents"]
        .as_array()
        .expect("contents")
        .iter()
        .map(|c| c["role"].as_str().expect("role"))
        .collect();
    assert_eq!(roles, ["user", "model", "user"], "no system turn; assistant is `model`");
    assert_eq!(sent.body["contents"][2]["parts"][0]["text"], "again");
    assert_eq!(sent.body["generationConfig"]["temperature"], 0.25);
}

#[tokio::test]
async fn a_wrong_key_is_unauthorized_after_one_request() {
    let (llm, provider) = setup("AIza-wrong").await;
    let out = chat(&provider, &request(MODEL, "q")).await;
    let error = out.result.expect_err("refused");
    assert!(matches!(error, LlmError::Unauthorized { .. }), "Gemini's 400 for a bad key: {error:?}");
    assert!(!error.to_string().contains("AIza-wrong"), "{error}");
    assert_eq!(requests_to(&llm, PATH), 1, "no retry storm");
    assert!(matches!(provider.list_models().await, Err(LlmError::Unauthorized { .. })));
}

#[tokio::test]
async fn a_429_is_retried_after_retry_after() {
    let (llm, provider) = setup(KEY).await;
    let exhausted = r#"{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}"#;
    llm.push(Scenario::Status { status: 429, body: exhausted.into(), retry_after: Some(1) });
    llm.push(Scenario::Reply(Reply::text("after the wait")));
    let started = Instant::now();
    let out = chat(&provider, &request(MODEL, "q")).await;
    assert_eq!(out.result.expect("retried").content, "after the wait");
    assert_eq!(llm.chat_requests(), 2);
    assert!(started.elapsed() >= Duration::from_secs(1), "honoured Retry-After: 1");
}

#[tokio::test]
async fn server_errors_before_the_first_token_are_retried() {
    let (llm, provider) = setup(KEY).await;
    let unavailable = r#"{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}"#;
    llm.push(Scenario::Status { status: 503, body: unavailable.into(), retry_after: None });
    llm.push(Scenario::ErrorLine { before: String::new(), error: "An internal error has occurred.".into() });
    llm.push(Scenario::Reply(Reply::text("finally")));
    let out = chat(&provider, &request(MODEL, "q")).await;
    assert_eq!(out.result.expect("retried").content, "finally");
    assert_eq!(llm.chat_requests(), 3);
}

#[tokio::test]
async fn a_break_mid_stream_keeps_the_partial_text() {
    let (llm, provider) = setup(KEY).await;
    llm.push(Scenario::DropAfter { before: "half an ans".into() });
    let out = chat(&provider, &request(MODEL, "q")).await;
    assert_eq!(out.content, "half an ans");
    let error = out.result.expect_err("broken");
    assert!(matches!(error, LlmError::Stream { .. }), "{error:?}");
    assert_eq!(llm.chat_requests(), 1, "not retried after text went out");

    llm.push(Scenario::ErrorLine {
        before: "so far".into(),
        error: "An internal error has occurred.".into(),
    });
    let out = chat(&provider, &request(MODEL, "q")).await;
    assert_eq!(out.content, "so far");
    assert!(
        matches!(out.result, Err(LlmError::Stream { ref message, .. }) if message.contains("internal error"))
    );
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
    let out = chat(&provider, &request("gemini-nope", "q")).await;
    assert!(matches!(out.result, Err(LlmError::ModelNotFound { ref model }) if model == "gemini-nope"));
    assert_eq!(requests_to(&llm, "/v1beta/models/gemini-nope:streamGenerateContent"), 1);
    assert!(matches!(provider.context_length("gemini-nope").await, Err(LlmError::ModelNotFound { .. })));
}

#[tokio::test]
async fn models_context_length_version_and_echo() {
    let (llm, provider) = setup(KEY).await;
    llm.set_models(vec![
        TestModel::new("gemini-pro-test", 1_048_576),
        TestModel::new("gemini-flash-test", 32_768),
    ]);
    let models = provider.list_models().await.expect("models");
    let names: Vec<&str> = models.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["gemini-pro-test", "gemini-flash-test"], "without the `models/` prefix");
    assert_eq!(models[1].context_length, Some(32_768));
    assert_eq!(models[1].display_name.as_deref(), Some("Gemini Flash Test"));
    assert_eq!(provider.context_length("models/gemini-flash-test").await.expect("model"), Some(32_768));
    assert_eq!(provider.version().await.expect("reachable"), "gemini");

    let out = chat(&provider, &request("gemini-flash-test", "ping")).await;
    assert_eq!(out.result.expect("echo").content, "echo: ping");
}

#[tokio::test]
async fn the_key_never_shows_in_debug_output() {
    let (_llm, provider) = setup(KEY).await;
    let debug = format!("{provider:?}");
    assert!(!debug.contains(KEY), "{debug}");
    assert!(debug.contains("<redacted>"), "{debug}");
}
