//! Ollama's native API: replies, reasoning, split lines, models and context length.

use atelier_llm::Provider;
use atelier_testkit::{Reply, Scenario, TestModel};

use crate::{chat, request, setup};

#[tokio::test]
async fn a_whole_reply_streams_token_by_token_with_usage() {
    let (llm, provider) = setup().await;
    llm.push(Scenario::Reply(Reply::text("The answer is 42.").prompt_tokens(33)));
    let out = chat(&provider, &request("test-model", "question")).await;
    let completion = out.result.expect("reply");
    assert_eq!(out.content, "The answer is 42.");
    assert_eq!(completion.content, "The answer is 42.");
    assert!(out.deltas >= 4, "streamed in pieces, not at once");
    assert_eq!(completion.usage.prompt_tokens, 33);
    assert_eq!(completion.usage.completion_tokens, 4);
    assert_eq!(completion.usage.total_ms, 120);
    assert_eq!(completion.done_reason.as_deref(), Some("stop"));
    let sent = llm.requests().into_iter().find(|r| r.path == "/api/chat").expect("request");
    assert_eq!(sent.body["stream"], true);
    assert_eq!(sent.body["messages"][1]["content"], "question");
}

#[tokio::test]
async fn options_and_json_schema_are_sent() {
    let (llm, provider) = setup().await;
    let mut req = request("test-model", "plan");
    req.num_ctx = Some(4096);
    req.temperature = Some(0.2);
    req.format = Some(serde_json::json!({ "type": "object" }));
    chat(&provider, &req).await.result.expect("reply");
    let sent = llm.requests().into_iter().find(|r| r.path == "/api/chat").expect("request");
    assert_eq!(sent.body["options"]["num_ctx"], 4096);
    assert_eq!(sent.body["format"]["type"], "object");
}

#[tokio::test]
async fn reasoning_from_the_thinking_field_and_from_think_tags_is_kept_apart() {
    let (llm, provider) = setup().await;
    llm.push(Scenario::Reply(Reply::text("Yes.").thinking("Let me check.")));
    let out = chat(&provider, &request("test-model", "q")).await;
    assert_eq!((out.content.as_str(), out.reasoning.as_str()), ("Yes.", "Let me check."));

    // Tags split across tokens and lines split across TCP writes.
    let tokens =
        ["<th", "ink>I should", " say hi</th", "ink>\n\n", "Hi ", "there"].map(String::from).to_vec();
    llm.push(Scenario::Reply(Reply { tokens, ..Reply::text("") }.split_lines()));
    let out = chat(&provider, &request("test-model", "q")).await;
    out.result.expect("reply");
    assert_eq!(out.content, "Hi there");
    assert_eq!(out.reasoning, "I should say hi");
}

#[tokio::test]
async fn lines_split_across_chunks_and_inside_characters_are_reassembled() {
    let (llm, provider) = setup().await;
    llm.push(Scenario::Reply(Reply::text("héllo wörld ✓ 日本語").split_lines()));
    let out = chat(&provider, &request("test-model", "q")).await;
    out.result.expect("reply");
    assert_eq!(out.content, "héllo wörld ✓ 日本語");
}

#[tokio::test]
async fn models_context_length_and_version() {
    let (llm, provider) = setup().await;
    llm.set_models(vec![TestModel::new("qwen2.5-coder:7b", 32768), TestModel::new("llama3.2", 131072)]);
    let models = provider.list_models().await.expect("models");
    assert_eq!(models.len(), 2);
    assert_eq!(models[0].name, "qwen2.5-coder:7b");
    assert_eq!(models[0].context_length, Some(32768));
    assert_eq!(models[0].quantization.as_deref(), Some("Q4_K_M"));
    assert_eq!(provider.context_length("llama3.2").await.expect("show"), Some(131072));
    assert!(matches!(
        provider.context_length("nope").await,
        Err(atelier_llm::LlmError::ModelNotFound { .. })
    ));
    assert_eq!(provider.version().await.expect("version"), "0.12.0-testkit");
}
