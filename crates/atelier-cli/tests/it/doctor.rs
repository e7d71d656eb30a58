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
