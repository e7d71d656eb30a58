//! `system.health`: every check a person needs (the database, each model endpoint and its
//! models, the disk), degraded with a readable reason when a model server stops, and
//! `system.health` events on `system` when it changes.

use std::sync::Arc;
use std::time::Duration;

use atelier_core::{App, ClientLimits, Config, HEALTH_EVERY};
use atelier_llm::{EndpointPool, LlmConfig, PoolConfig, Provider};
use atelier_testkit::TestLlm;
use serde_json::{Value, json};

use crate::support::{call, events_until, llm_config};

async fn app_with(
    dir: &std::path::Path,
    provider: Arc<dyn Provider>,
    model: Option<&str>,
    every: Duration,
) -> App {
    let config = Config {
        default_model: model.map(str::to_owned),
        health_every: every,
        ..Config::new(dir.to_path_buf(), provider)
    };
    App::start(config).await.expect("app starts")
}

fn ollama(llm: &TestLlm) -> Arc<dyn Provider> {
    Arc::new(
        atelier_llm::OllamaProvider::new(llm.url().parse().expect("url"), llm_config()).expect("provider"),
    )
}

fn check<'a>(health: &'a Value, name: &str) -> &'a Value {
    health["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no `{name}` check in {health}"))
}

/// Health names no paths or addresses: the data folder and the model server's stay out.
fn assert_discreet(health: &Value, dir: &std::path::Path, llm: &TestLlm) {
    let text = health.to_string();
    assert!(!text.contains(&dir.to_string_lossy().into_owned()), "{text}");
    assert!(!text.contains(&llm.addr().to_string()) && !text.contains("/tmp"), "{text}");
}

#[tokio::test]
async fn health_checks_the_database_the_model_endpoint_and_the_disk() {
    let llm = TestLlm::start().await.expect("testkit");
    let dir = tempfile::tempdir().expect("tempdir");
    let app = app_with(dir.path(), ollama(&llm), None, HEALTH_EVERY).await;
    let health = call(&app.connect(ClientLimits::local()), "system.health", json!({})).await;
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(check(&health, "database")["status"], "ok");
    let model = check(&health, "model_endpoint");
    assert_eq!(model["status"], "ok");
    assert_eq!(model["detail"], "ollama 0.12.0-testkit; models: test-model");
    let disk = check(&health, "disk")["detail"].as_str().unwrap_or_default().to_owned();
    assert!(disk.ends_with("free on the disk holding Atelier's data"), "{disk}");
    assert_discreet(&health, dir.path(), &llm);
    app.shutdown().await;
}

#[tokio::test]
async fn a_stopped_model_server_makes_health_degraded_with_a_reason() {
    let llm = TestLlm::start().await.expect("testkit");
    let dir = tempfile::tempdir().expect("tempdir");
    let app = app_with(dir.path(), ollama(&llm), None, HEALTH_EVERY).await;
    let addr = llm.addr();
    llm.shutdown().await;
    let health = call(&app.connect(ClientLimits::local()), "system.health", json!({})).await;
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(check(&health, "database")["status"], "ok", "everything else still works");
    let model = check(&health, "model_endpoint");
    assert_eq!(model["status"], "degraded");
    assert_eq!(
        model["detail"],
        "the ollama model server is not reachable; chat replies will fail until it is started"
    );
    assert!(!health.to_string().contains(&addr.to_string()), "{health}");
    app.shutdown().await;
}

#[tokio::test]
async fn a_missing_model_is_named_with_the_command_that_gets_it() {
    let llm = TestLlm::start().await.expect("testkit");
    let dir = tempfile::tempdir().expect("tempdir");
    let app = app_with(dir.path(), ollama(&llm), Some("qwen2.5-coder:7b"), HEALTH_EVERY).await;
    let health = call(&app.connect(ClientLimits::local()), "system.health", json!({})).await;
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(
        check(&health, "model_endpoint")["detail"],
        "ollama 0.12.0-testkit is missing the model `qwen2.5-coder:7b`; run `ollama pull qwen2.5-coder:7b`"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn each_endpoint_of_a_pool_is_checked() {
    let up = TestLlm::start().await.expect("testkit");
    let down = TestLlm::start().await.expect("testkit");
    let spec = format!("{}, openai+{}/v1", down.url(), up.url());
    down.shutdown().await;
    let member = LlmConfig { max_retries: 0, ..llm_config() };
    let pool = EndpointPool::from_spec(&spec, None, member, PoolConfig::default()).expect("pool");
    let dir = tempfile::tempdir().expect("tempdir");
    let app = app_with(dir.path(), Arc::new(pool), Some("test-model"), HEALTH_EVERY).await;
    let health = call(&app.connect(ClientLimits::local()), "system.health", json!({})).await;
    assert_eq!(health["status"], "degraded", "{health}");
    let first = check(&health, "model_endpoint.1");
    assert_eq!(first["status"], "degraded");
    assert_eq!(
        first["detail"],
        "endpoint 1 of 2: the ollama model server is not reachable; requests go to the other endpoints until it answers again"
    );
    let second = check(&health, "model_endpoint.2");
    assert_eq!(second["status"], "ok", "{health}");
    assert!(second["detail"].as_str().unwrap_or_default().contains("`test-model` present"), "{health}");
    app.shutdown().await;
}

#[tokio::test]
async fn a_change_in_health_is_announced_on_the_system_topic() {
    let llm = TestLlm::start().await.expect("testkit");
    let dir = tempfile::tempdir().expect("tempdir");
    let app = app_with(dir.path(), ollama(&llm), None, Duration::from_millis(100)).await;
    let client = app.connect(ClientLimits::local());
    call(&client, "subscribe", json!({ "topics": ["system"] })).await;
    let before = call(&client, "system.health", json!({})).await;
    assert_eq!(before["status"], "ok", "{before}");

    llm.shutdown().await;
    let events = events_until(&client, "system.health").await;
    let event = &events.last().expect("an event").event;
    assert_eq!(event.topic, "system");
    assert_eq!(event.data["status"], "degraded", "{}", event.data);
    assert_eq!(check(&event.data, "model_endpoint")["status"], "degraded");
    // Announced when it changes, not at every check: several more checks say nothing new.
    tokio::time::sleep(Duration::from_millis(500)).await;
    while let Some(later) = client.try_next_event() {
        assert_ne!(later.event.kind, "system.health", "no change, no event: {:?}", later.event);
    }
    app.shutdown().await;
}
