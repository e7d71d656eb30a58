//! `atelier doctor` tells a person what works and exactly what to do about what doesn't.

use std::process::Stdio;

use atelier_testkit::TestLlm;

use crate::support::atelier;

#[tokio::test]
async fn doctor_reports_a_healthy_setup() {
    let llm = TestLlm::start().await.expect("testkit");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = tokio::process::Command::from(atelier(dir.path(), &llm.url()));
    let out = cmd.arg("doctor").stdout(Stdio::piped()).output().await.expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("ok    model endpoint"), "{text}");
    assert!(text.contains("test-model"), "lists the models: {text}");
    assert!(text.contains("ok    database: integrity ok"), "{text}");
    assert!(
        text.contains("ok    disk: ") && text.contains("free on the disk holding Atelier's data"),
        "{text}"
    );
    assert!(text.contains("ok    sandbox (auto): commands agents run are confined by bubblewrap"), "{text}");
}

#[tokio::test]
async fn doctor_explains_how_to_get_a_stronger_sandbox() {
    let llm = TestLlm::start().await.expect("testkit");
    let dir = tempfile::tempdir().expect("tempdir");
    // A PATH without bubblewrap: Atelier falls back to Landlock, and says how to do better.
    let empty = tempfile::tempdir().expect("tempdir");
    let mut cmd = tokio::process::Command::from(atelier(dir.path(), &llm.url()));
    cmd.env("PATH", empty.path());
    let out = cmd.arg("doctor").stdout(Stdio::piped()).output().await.expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "a weaker sandbox needs fixing: {text}");
    assert!(text.contains("FAIL  sandbox (auto): commands agents run are confined by Landlock"), "{text}");
    assert!(text.contains("bubblewrap (`bwrap`) is not installed"), "{text}");
    assert!(text.contains("→ Install bubblewrap (`sudo apt install bubblewrap`"), "{text}");
}

#[tokio::test]
async fn doctor_names_a_missing_model_and_how_to_get_it() {
    let llm = TestLlm::start().await.expect("testkit");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = tokio::process::Command::from(atelier(dir.path(), &llm.url()));
    let out = cmd.arg("doctor").env("ATELIER_MODEL", "qwen2.5-coder:7b").stdout(Stdio::piped()).output();
    let out = out.await.expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("FAIL  model endpoint: "), "{text}");
    assert!(text.contains("`qwen2.5-coder:7b`") && text.contains("ollama pull qwen2.5-coder:7b"), "{text}");
}

#[tokio::test]
async fn doctor_checks_every_endpoint_of_a_pool() {
    let llm = TestLlm::start().await.expect("testkit");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = tokio::process::Command::from(atelier(dir.path(), &llm.url()));
    cmd.env("ATELIER_ENDPOINTS", format!("127.0.0.1:9, openai+{}/v1", llm.url()));
    cmd.env("ATELIER_ENDPOINT_CONCURRENCY", "3");
    let out = cmd.arg("doctor").stdout(Stdio::piped()).output().await.expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "one endpoint is down: {text}");
    assert!(text.contains("model endpoints (2 pooled, up to 3 requests at once each)"), "{text}");
    assert!(
        text.contains("FAIL  model endpoint.1: endpoint 1 of 2: the ollama model server is not reachable"),
        "{text}"
    );
    assert!(text.contains("requests go to the other endpoints"), "{text}");
    assert!(text.contains("ok    model endpoint.2: endpoint 2 of 2: openai"), "{text}");
}

#[tokio::test]
async fn doctor_says_how_to_fix_a_missing_ollama() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = tokio::process::Command::from(atelier(dir.path(), "127.0.0.1:9"));
    let out = cmd.arg("doctor").stdout(Stdio::piped()).output().await.expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "a problem exits non-zero: {text}");
    assert!(text.contains("FAIL  model endpoint"), "{text}");
    assert!(text.contains("ollama serve") && text.contains("OLLAMA_HOST"), "{text}");
}

#[tokio::test]
async fn models_are_listed_pulled_and_removed_from_the_command_line() {
    use atelier_testkit::TestModel;
    let llm = TestLlm::start().await.expect("testkit");
    llm.set_registry(vec![TestModel::new("qwen2.5-coder:7b", 32_768)], std::time::Duration::from_millis(1));
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str]| {
        let mut cmd = tokio::process::Command::from(atelier(dir.path(), &llm.url()));
        cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).output()
    };
    let out = run(&["models", "pull", "qwen2.5-coder:7b"]).await.expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("pulling manifest") && text.contains("pulled qwen2.5-coder:7b"), "{text}");
    let out = run(&["models", "list"]).await.expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("qwen2.5-coder:7b") && text.contains("32768 tokens") && text.contains("Q4_K_M"),
        "{text}"
    );
    let out = run(&["models", "rm", "qwen2.5-coder:7b"]).await.expect("runs");
    assert!(out.status.success());
    assert!(!llm.model_names().contains(&"qwen2.5-coder:7b".to_owned()));
    let out = run(&["models", "pull", "no-such-model"]).await.expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("check the name"), "a clear error");
}
