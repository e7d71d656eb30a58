//! OpenAI-compatible servers: SSE streaming, reasoning_content, usage, keys and errors.

use atelier_llm::{LlmError, OpenAiCompatProvider, Provider};
use atelier_testkit::{Reply, Scenario, TestLlm};

use crate::{chat, config, request};

async fn setup(key: Option<&str>) -> (TestLlm, OpenAiCompatProvider) {
    let llm = TestLlm::start().await.expect("testkit");
    let provider =
        OpenAiCompatProvider::new(llm.url().parse().expect("url"), key.map(str::to_owned), config())
            .expect("provider");
    (llm, provider)
}

#[tokio::test]
async fn a_reply_with_reasoning_and_usage_streams_over_sse() {
    let (llm, provider) = setup(Some("sk-test")).await;
    llm.push(Scenario::Reply(Reply::text("Use a HashMap.").thinking("Lookup by key.").prompt_tokens(21)));
    let out = chat(&provider, &request("test-model", "which map?")).await;
    let completion = out.result.expect("reply");
    assert_eq!(out.content, "Use a HashMap.");
    assert_eq!(out.reasoning, "Lookup by key.");
    assert_eq!(completion.usage.prompt_tokens, 21);
    assert_eq!(completion.usage.completion_tokens, 6);
    let sent = llm.requests().into_iter().find(|r| r.path == "/v1/chat/completions").expect("request");
    assert_eq!(sent.body["stream"], true);
    assert_eq!(sent.body["stream_options"]["include_usage"], true);
}

#[tokio::test]
async fn split_lines_and_mid_stream_errors() {
    let (llm, provider) = setup(None).await;
    llm.push(Scenario::Reply(Reply::text("naïve café").split_lines()));
    let out = chat(&provider, &request("test-model", "q")).await;
    out.result.expect("reply");
    assert_eq!(out.content, "naïve café");

    llm.push(Scenario::ErrorLine { before: "so far".into(), error: "context length exceeded".into() });
    let out = chat(&provider, &request("test-model", "q")).await;
    assert_eq!(out.content, "so far");
    assert!(
        matches!(out.result, Err(LlmError::Stream { ref message, .. }) if message.contains("context length"))
    );
}

#[tokio::test]
async fn a_503_is_retried_and_a_revoked_key_is_not() {
    let (llm, provider) = setup(Some("sk-test")).await;
    llm.push(Scenario::Status {
        status: 503,
        body: "{\"error\":{\"message\":\"overloaded\"}}".into(),
        retry_after: None,
    });
    llm.push(Scenario::Reply(Reply::text("fine")));
    assert_eq!(chat(&provider, &request("test-model", "q")).await.result.expect("retried").content, "fine");

    llm.push(Scenario::Status {
        status: 401,
        body: "{\"error\":{\"message\":\"invalid api key\"}}".into(),
        retry_after: None,
    });
    let before = llm.chat_requests();
    let out = chat(&provider, &request("test-model", "q")).await;
    assert!(matches!(out.result, Err(LlmError::Unauthorized { .. })), "{:?}", out.result);
    assert_eq!(llm.chat_requests(), before + 1, "a refused key is not retried");
}

#[tokio::test]
async fn models_and_a_missing_model() {
    let (_llm, provider) = setup(None).await;
    let models = provider.list_models().await.expect("models");
    assert_eq!(models[0].name, "test-model");
    assert_eq!(provider.version().await.expect("reachable"), "openai-compatible");
    let out = chat(&provider, &request("gpt-nope", "q")).await;
    assert!(matches!(out.result, Err(LlmError::ModelNotFound { .. })), "{:?}", out.result);
}

#[test]
fn base_urls_get_v1_unless_they_name_a_version() {
    let cases = [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000/v1"),
        ("http://127.0.0.1:8000/v1/", "http://127.0.0.1:8000/v1"),
        ("https://openrouter.ai/api", "https://openrouter.ai/api/v1"),
        (
            "https://generativelanguage.googleapis.com/v1beta/openai",
            "https://generativelanguage.googleapis.com/v1beta/openai",
        ),
    ];
    for (base, want) in cases {
        let provider =
            OpenAiCompatProvider::new(base.parse().expect("url"), None, crate::config()).expect("provider");
        assert_eq!(provider.endpoint(), want, "{base}");
    }
}

#[tokio::test]
async fn a_wrong_key_is_refused_once_and_the_key_never_shows() {
    let (llm, provider) = setup(Some("sk-wrong")).await;
    llm.require_key(Some("sk-right"));
    let out = chat(&provider, &request("test-model", "q")).await;
    let error = out.result.expect_err("refused");
    assert!(matches!(error, LlmError::Unauthorized { .. }), "{error:?}");
    assert_eq!(crate::requests_to(&llm, "/v1/chat/completions"), 1, "no retry storm");
    let sent = llm.requests().into_iter().find(|r| r.path == "/v1/chat/completions").expect("request");
    assert_eq!(sent.header("authorization"), Some("Bearer sk-wrong"));
    let debug = format!("{provider:?}");
    assert!(!debug.contains("sk-wrong") && debug.contains("<redacted>"), "{debug}");

    let (llm, provider) = setup(Some("sk-right")).await;
    llm.require_key(Some("sk-right"));
    assert_eq!(
        chat(&provider, &request("test-model", "hi")).await.result.expect("reply").content,
        "echo: hi"
    );
}
