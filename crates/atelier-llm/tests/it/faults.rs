//! Every fault a model server has: errors mid-stream, 503 and 429 (retried), dropped
//! connections, hangs and stalls (timeouts), missing models, and cancellation.

use std::time::{Duration, Instant};

use atelier_llm::{LlmError, OllamaProvider};
use atelier_testkit::{Reply, Scenario};
use tokio_util::sync::CancellationToken;

use crate::{chat, chat_with, config, request, setup};

#[tokio::test]
async fn an_error_line_mid_stream_fails_the_reply_and_keeps_what_came() {
    let (llm, provider) = setup().await;
    llm.push(Scenario::ErrorLine { before: "partial answer".into(), error: "CUDA out of memory".into() });
    let out = chat(&provider, &request("test-model", "q")).await;
    assert_eq!(out.content, "partial answer");
    match out.result {
        Err(LlmError::Stream { message, .. }) => assert!(message.contains("CUDA out of memory")),
        other => panic!("expected a stream error, got {other:?}"),
    }
    assert_eq!(llm.chat_requests(), 1, "not retried after deltas went out");
}

#[tokio::test]
async fn a_503_is_retried_and_then_succeeds() {
    let (llm, provider) = setup().await;
    llm.push(Scenario::Status { status: 503, body: "server busy".into(), retry_after: None });
    llm.push(Scenario::Reply(Reply::text("made it")));
    let out = chat(&provider, &request("test-model", "q")).await;
    assert_eq!(out.result.expect("second try works").content, "made it");
    assert_eq!(llm.chat_requests(), 2);
}

#[tokio::test]
async fn a_429_waits_for_retry_after() {
    let (llm, provider) = setup().await;
    llm.push(Scenario::Status { status: 429, body: "slow down".into(), retry_after: Some(1) });
    llm.push(Scenario::Reply(Reply::text("ok")));
    let started = Instant::now();
    let out = chat(&provider, &request("test-model", "q")).await;
    assert_eq!(out.result.expect("retried").content, "ok");
    assert!(started.elapsed() >= Duration::from_secs(1), "honoured Retry-After: 1");
}

#[tokio::test]
async fn persistent_503s_give_up_with_a_retryable_error() {
    let (llm, provider) = setup().await;
    llm.set_default(Scenario::Status { status: 503, body: "down for maintenance".into(), retry_after: None });
    let out = chat(&provider, &request("test-model", "q")).await;
    let error = out.result.expect_err("fails");
    assert!(matches!(error, LlmError::Http { status: 503, .. }), "{error:?}");
    assert!(error.retryable());
    assert_eq!(llm.chat_requests(), 4, "one try and three retries");
}

#[tokio::test]
async fn a_dropped_connection_is_a_retryable_stream_error() {
    let (llm, provider) = setup().await;
    llm.push(Scenario::DropAfter { before: "half a sen".into() });
    let out = chat(&provider, &request("test-model", "q")).await;
    assert_eq!(out.content, "half a sen");
    let error = out.result.expect_err("broken");
    assert!(matches!(error, LlmError::Stream { .. }), "{error:?}");
    assert!(error.retryable());
}

#[tokio::test]
async fn a_hanging_server_times_out_waiting_for_the_reply() {
    let (llm, provider) = setup().await;
    llm.set_default(Scenario::Hang);
    let started = Instant::now();
    let out = chat(&provider, &request("test-model", "q")).await;
    assert!(matches!(out.result, Err(LlmError::Timeout { .. })), "{:?}", out.result);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn a_stalled_stream_times_out_between_chunks() {
    let (llm, provider) = setup().await;
    llm.push(Scenario::StallAfter { before: "thinking about it".into() });
    let out = chat(&provider, &request("test-model", "q")).await;
    assert_eq!(out.content, "thinking about it");
    assert!(matches!(out.result, Err(LlmError::Timeout { .. })), "{:?}", out.result);
}

#[tokio::test]
async fn an_unreachable_server_is_reported_as_such() {
    let provider =
        OllamaProvider::new("http://127.0.0.1:9".parse().expect("url"), config()).expect("provider");
    let out = chat(&provider, &request("test-model", "q")).await;
    let error = out.result.expect_err("nobody listens");
    assert!(matches!(error, LlmError::Unreachable { .. }), "{error:?}");
    assert!(error.to_string().contains("127.0.0.1:9"));
}

#[tokio::test]
async fn a_missing_model_is_not_found_and_not_retried() {
    let (llm, provider) = setup().await;
    let out = chat(&provider, &request("no-such-model", "q")).await;
    assert!(matches!(out.result, Err(LlmError::ModelNotFound { ref model }) if model == "no-such-model"));
    assert_eq!(llm.chat_requests(), 0, "rejected before a scenario was used");
}

#[tokio::test]
async fn cancelling_aborts_the_request_at_once() {
    let (llm, provider) = setup().await;
    llm.push(Scenario::Reply(Reply::repeat("tok ", 10_000).delay(Duration::from_millis(5))));
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let cancelled_at = std::sync::Arc::new(std::sync::Mutex::new(None));
    let at = cancelled_at.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        *at.lock().expect("lock") = Some(Instant::now());
        trigger.cancel();
    });
    let out = chat_with(&provider, &request("test-model", "q"), &cancel).await;
    let returned = Instant::now();
    assert!(matches!(out.result, Err(LlmError::Cancelled)), "{:?}", out.result);
    assert!(out.deltas > 0 && out.deltas < 10_000, "stopped part way");
    let latency = returned - cancelled_at.lock().expect("lock").expect("cancelled");
    println!("cancel latency: {:.2} ms", latency.as_secs_f64() * 1e3);
    assert!(latency < Duration::from_secs(1), "cancel took {latency:?}");
}

#[tokio::test]
async fn a_wrong_url_is_not_a_missing_model_and_long_retry_after_is_not_waited_for() {
    let (llm, _) = setup().await;
    // A path where nothing answers: 404 "page not found", not a missing model.
    let provider = OllamaProvider::new(format!("{}/wrong/prefix", llm.url()).parse().expect("url"), config())
        .expect("provider");
    let out = chat(&provider, &request("test-model", "q")).await;
    assert!(matches!(out.result, Err(LlmError::Http { status: 404, .. })), "{:?}", out.result);

    let (llm, provider) = setup().await;
    llm.push(Scenario::Status { status: 429, body: "quota".into(), retry_after: Some(3600) });
    let started = Instant::now();
    let out = chat(&provider, &request("test-model", "q")).await;
    assert!(matches!(out.result, Err(LlmError::RateLimited { .. })), "{:?}", out.result);
    assert!(started.elapsed() < Duration::from_secs(5), "did not wait an hour");
}
