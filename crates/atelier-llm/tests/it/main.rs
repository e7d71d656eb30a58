//! Integration tests for atelier-llm against the testkit over real HTTP: whole replies,
//! reasoning, every fault scenario, cancellation, the OpenAI-compatible path, and Anthropic's
//! and Gemini's own wire formats.

// In tests a failed expect is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod anthropic;
mod dialects;
mod embed;
mod faults;
mod gemini;
mod ollama;
mod openai;
mod pool;
mod tools;

use std::time::Duration;

use atelier_llm::{
    ChatMessage, ChatRequest, Completion, Delta, LlmConfig, LlmError, OllamaProvider, Provider,
};
use atelier_testkit::TestLlm;
use tokio_util::sync::CancellationToken;

pub fn config() -> LlmConfig {
    LlmConfig {
        connect_timeout: Duration::from_secs(2),
        first_byte_timeout: Duration::from_millis(800),
        idle_timeout: Duration::from_millis(500),
        max_retries: 3,
        retry_min_delay: Duration::from_millis(20),
        retry_max_delay: Duration::from_millis(100),
    }
}

/// A testkit server and an Ollama provider pointed at it.
pub async fn setup() -> (TestLlm, OllamaProvider) {
    let llm = TestLlm::start().await.expect("testkit");
    let provider = OllamaProvider::new(llm.url().parse().expect("url"), config()).expect("provider");
    (llm, provider)
}

pub fn request(model: &str, text: &str) -> ChatRequest {
    ChatRequest {
        model: model.to_owned(),
        messages: vec![ChatMessage::system("be brief"), ChatMessage::user(text)],
        ..ChatRequest::default()
    }
}

/// What a chat streamed, and how it ended.
pub struct Outcome {
    pub content: String,
    pub reasoning: String,
    pub deltas: usize,
    pub result: Result<Completion, LlmError>,
}

pub async fn chat(provider: &dyn Provider, req: &ChatRequest) -> Outcome {
    chat_with(provider, req, &CancellationToken::new()).await
}

pub async fn chat_with(provider: &dyn Provider, req: &ChatRequest, cancel: &CancellationToken) -> Outcome {
    let (mut content, mut reasoning, mut deltas) = (String::new(), String::new(), 0);
    let result = provider
        .chat(req, cancel, &mut |d| {
            deltas += 1;
            match d {
                Delta::Content(t) => content.push_str(&t),
                Delta::Reasoning(t) => reasoning.push_str(&t),
            }
        })
        .await;
    Outcome { content, reasoning, deltas, result }
}

/// Streams a chat and cancels it as soon as `after` deltas have arrived, from inside the
/// delta callback, so the test does not depend on timing.
pub async fn chat_cancelled_after(provider: &dyn Provider, req: &ChatRequest, after: usize) -> Outcome {
    let cancel = CancellationToken::new();
    let (mut content, mut reasoning, mut deltas) = (String::new(), String::new(), 0);
    let result = provider
        .chat(req, &cancel, &mut |d| {
            deltas += 1;
            if deltas == after {
                cancel.cancel();
            }
            match d {
                Delta::Content(t) => content.push_str(&t),
                Delta::Reasoning(t) => reasoning.push_str(&t),
            }
        })
        .await;
    Outcome { content, reasoning, deltas, result }
}

/// How many requests the testkit got on `path`.
pub fn requests_to(llm: &TestLlm, path: &str) -> usize {
    llm.requests().iter().filter(|r| r.path == path).count()
}

/// What every streaming provider does, whatever its wire format: a reply whose events arrive
/// split across reads (multi-byte characters included) comes out whole, with its reasoning
/// apart; a stream that stalls after some text ends in a timeout, keeping that text.
pub async fn split_events_and_a_stalled_stream(llm: &TestLlm, provider: &dyn Provider, model: &str) {
    use atelier_testkit::{Reply, Scenario};
    llm.push(Scenario::Reply(Reply::text("naïve café ✓").thinking("hmm").split_lines()));
    let out = chat(provider, &request(model, "q")).await;
    out.result.expect("reply");
    assert_eq!((out.content.as_str(), out.reasoning.as_str()), ("naïve café ✓", "hmm"));

    llm.push(Scenario::StallAfter { before: "and then".into() });
    let out = chat(provider, &request(model, "q")).await;
    assert_eq!(out.content, "and then");
    assert!(matches!(out.result, Err(atelier_llm::LlmError::Timeout { .. })), "{:?}", out.result);
}

/// Cancelling a long reply stops it part way.
pub async fn cancelling_stops_the_stream(llm: &TestLlm, provider: &dyn Provider, model: &str) {
    use atelier_testkit::{Reply, Scenario};
    llm.push(Scenario::Reply(Reply::repeat("tok ", 10_000).delay(std::time::Duration::from_millis(5))));
    let out = chat_cancelled_after(provider, &request(model, "q"), 3).await;
    assert!(matches!(out.result, Err(atelier_llm::LlmError::Cancelled)), "{:?}", out.result);
    assert!(out.deltas >= 3 && out.deltas < 10_000, "stopped part way: {}", out.deltas);
}
