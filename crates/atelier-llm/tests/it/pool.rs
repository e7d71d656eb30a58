//! The endpoint pool against two real testkit servers: requests spread over both within each
//! one's limit, an unreachable endpoint is skipped without an error, and a server killed
//! mid-run loses no request and is taken back once it returns.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use atelier_llm::{Delta, EndpointPool, LlmConfig, LlmError, PoolConfig, Provider};
use atelier_testkit::{Reply, Scenario, TestLlm};
use tokio_util::sync::CancellationToken;

use crate::{config, request};

const TOKENS: usize = 12;

fn pool_config() -> PoolConfig {
    PoolConfig {
        per_endpoint: 2,
        retry_min: Duration::from_millis(100),
        retry_max: Duration::from_millis(400),
        probe_timeout: Duration::from_secs(2),
        max_rounds: 3,
        round_min_delay: Duration::from_millis(20),
        round_max_delay: Duration::from_millis(100),
    }
}

fn member_config() -> LlmConfig {
    LlmConfig { max_retries: 0, ..config() }
}

/// A testkit server whose every reply is `TOKENS` times `token`, `delay` apart.
async fn server(token: &str, delay: Duration) -> TestLlm {
    let llm = TestLlm::start().await.expect("testkit");
    llm.set_default(Scenario::Reply(Reply::repeat(token, TOKENS).delay(delay)));
    llm
}

/// One chat as a caller that retries a reply that broke off (as workflow steps do); returns
/// the reply and how many tries it took. `deltas` counts every delta received.
async fn chat_retrying(pool: &EndpointPool, deltas: &AtomicUsize) -> (String, usize) {
    let mut tries = 0;
    loop {
        tries += 1;
        let result = pool
            .chat(&request("test-model", "q"), &CancellationToken::new(), &mut |delta| {
                if let Delta::Content(_) = delta {
                    deltas.fetch_add(1, Ordering::SeqCst);
                }
            })
            .await;
        match result {
            Ok(completion) => return (completion.content, tries),
            Err(e) if e.retryable() && tries < 4 => continue,
            Err(e) => panic!("request failed after {tries} tries: {e}"),
        }
    }
}

/// Runs `n` chats at once through the pool.
async fn burst(pool: &Arc<EndpointPool>, n: usize) -> Vec<(String, usize)> {
    burst_counting(pool, n, Arc::default()).await
}

async fn burst_counting(
    pool: &Arc<EndpointPool>,
    n: usize,
    deltas: Arc<AtomicUsize>,
) -> Vec<(String, usize)> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let pool = pool.clone();
            let deltas = deltas.clone();
            tokio::spawn(async move { chat_retrying(&pool, &deltas).await })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.expect("task"));
    }
    out
}

#[tokio::test]
async fn requests_spread_over_ollama_and_openai_endpoints_within_each_limit() {
    let a = server("tok ", Duration::from_millis(10)).await;
    let b = server("tok ", Duration::from_millis(10)).await;
    let spec = format!("{}, openai+{}/v1", a.url(), b.url());
    let pool = Arc::new(EndpointPool::from_spec(&spec, None, member_config(), pool_config()).expect("pool"));
    assert_eq!(pool.members().len(), 2);
    assert_eq!(pool.members()[1].name(), "openai");

    // Three times as many requests as there are slots: most of them queue for a free one.
    let replies = burst(&pool, 12).await;
    let full = "tok ".repeat(TOKENS);
    assert!(replies.iter().all(|(text, tries)| *text == full && *tries == 1), "{replies:?}");
    assert_eq!(a.chat_requests() + b.chat_requests(), 12);
    assert!(
        a.chat_requests() > 0 && b.chat_requests() > 0,
        "a {} b {}",
        a.chat_requests(),
        b.chat_requests()
    );
    assert!(a.streams_most() <= 2 && b.streams_most() <= 2, "a {} b {}", a.streams_most(), b.streams_most());
    // Both reached their limit at some point: the pool did fill them, not run one at a time.
    assert_eq!((a.streams_most(), b.streams_most()), (2, 2));
    let status = pool.status();
    assert!(status.iter().all(|s| s.healthy && s.in_flight == 0 && s.served > 0), "{status:?}");
}

#[tokio::test]
async fn an_unreachable_endpoint_is_skipped_without_an_error() {
    // A port nobody listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_url = format!("http://{}", dead.local_addr().expect("addr"));
    drop(dead);
    let live = server("tok ", Duration::ZERO).await;
    let spec = format!("{dead_url},{}", live.url());
    let pool = Arc::new(EndpointPool::from_spec(&spec, None, member_config(), pool_config()).expect("pool"));

    let replies = burst(&pool, 6).await;
    assert!(replies.iter().all(|(_, tries)| *tries == 1), "no caller saw an error: {replies:?}");
    assert_eq!(live.chat_requests(), 6);
    let status = pool.status();
    assert!(!status[0].healthy, "{status:?}");
    let reason = status[0].last_error.clone().unwrap_or_default();
    assert!(reason.contains("cannot reach"), "{reason}");
    assert!(status[1].healthy);
}

#[tokio::test]
async fn a_server_killed_mid_run_loses_no_request_and_is_taken_back_when_it_returns() {
    let a = server("tok ", Duration::from_millis(20)).await;
    let b = server("tok ", Duration::from_millis(20)).await;
    let a_addr = a.addr();
    let spec = format!("{},{}", a.url(), b.url());
    let pool = Arc::new(EndpointPool::from_spec(&spec, None, member_config(), pool_config()).expect("pool"));

    let deltas = Arc::new(AtomicUsize::new(0));
    let run = {
        let pool = pool.clone();
        let deltas = deltas.clone();
        tokio::spawn(async move { burst_counting(&pool, 16, deltas).await })
    };
    // Kill A once replies are flowing (A holds two of the first four), so some of its replies
    // break off part-way.
    while deltas.load(Ordering::SeqCst) < 4 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let streaming_on_a = a.streams_now();
    a.shutdown().await;
    let replies = run.await.expect("burst");
    let full = "tok ".repeat(TOKENS);
    assert_eq!(replies.len(), 16);
    assert!(replies.iter().all(|(text, _)| *text == full), "every request completed whole: {replies:?}");
    let broke_off = replies.iter().filter(|(_, tries)| *tries > 1).count();
    assert!(
        broke_off > 0 && broke_off >= streaming_on_a,
        "each of the {streaming_on_a} replies A was streaming broke off and was asked again: {broke_off}"
    );
    assert!(!pool.status()[0].healthy, "A is out: {:?}", pool.status());

    // Requests while A is gone go to B, and no caller sees an error.
    let served_by_b = b.chat_requests();
    let replies = burst(&pool, 6).await;
    assert!(replies.iter().all(|(_, tries)| *tries == 1), "{replies:?}");
    assert_eq!(b.chat_requests(), served_by_b + 6);

    // A comes back on the same address: a probe puts it back and it serves again.
    let a = TestLlm::start_on(a_addr).await.expect("restart A");
    a.set_default(Scenario::Reply(Reply::repeat("tok ", TOKENS).delay(Duration::from_millis(20))));
    for _ in 0..100 {
        burst(&pool, 4).await;
        if a.chat_requests() > 0 && pool.status()[0].healthy {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(a.chat_requests() > 0, "A was never used again: {:?}", pool.status());
    assert!(pool.status()[0].healthy, "{:?}", pool.status());
}

#[test]
fn a_bad_endpoint_list_is_a_clear_error() {
    let error = |spec: &str| match EndpointPool::from_spec(spec, None, member_config(), pool_config()) {
        Err(LlmError::InvalidRequest(message)) => message,
        other => panic!("{spec}: expected an error, got {other:?}"),
    };
    assert!(error(" , ").contains("empty"));
    assert!(error("ftp://a:1").contains("openai+http://"));
    assert!(error("openai+nonsense").contains("not a URL"));
    let zero = PoolConfig { per_endpoint: 0, ..pool_config() };
    assert!(matches!(
        EndpointPool::from_spec("http://a:1", None, member_config(), zero),
        Err(LlmError::InvalidRequest(m)) if m.contains("at least 1")
    ));
}
