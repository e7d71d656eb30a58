//! `atelier chat` in a pipe: the reply streams to stdout and the session can be continued.

use std::process::Stdio;

use atelier_testkit::{Reply, Scenario, TestLlm};
use tokio::io::AsyncWriteExt;

use crate::support::atelier;

async fn chat(dir: &std::path::Path, llm: &TestLlm, args: &[&str], input: &str) -> (bool, String) {
    let mut cmd = tokio::process::Command::from(atelier(dir, &llm.url()));
    let mut child =
        cmd.arg("chat").args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).await.expect("write");
    drop(stdin);
    let out = child.wait_with_output().await.expect("output");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test]
async fn chat_streams_replies_and_continues_a_session() {
    let llm = TestLlm::start().await.expect("testkit");
    llm.push(Scenario::Reply(Reply::text("Paris is the capital of France.")));
    let dir = tempfile::tempdir().expect("tempdir");
    let (ok, out) = chat(dir.path(), &llm, &[], "What is the capital of France?\n").await;
    assert!(ok, "{out}");
    assert!(out.contains("assistant: Paris is the capital of France."), "{out}");
    let session =
        out.split_whitespace().find(|w| w.starts_with("ses_")).expect("the session id is shown").to_owned();

    let (ok, out) = chat(dir.path(), &llm, &["--session", &session], "And Spain?\n").await;
    assert!(ok, "{out}");
    assert!(out.contains("What is the capital of France?"), "history is shown again: {out}");
    assert!(out.contains("echo: And Spain?"), "{out}");
}

/// Every file under `dir` (the database, its WAL, the logs) as bytes.
fn all_bytes(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(all_bytes(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, bytes));
        }
    }
    out
}

#[tokio::test]
async fn cloud_keys_reach_the_provider_and_never_the_database_logs_or_output() {
    const KEY: &str = "sk-ant-test-9f3c1e7b5d";
    let llm = TestLlm::start().await.expect("testkit");
    llm.require_key(Some(KEY));
    llm.push(Scenario::Reply(Reply::text("Bonjour.")));
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |key: &str| {
        let mut cmd = tokio::process::Command::from(atelier(dir.path(), &llm.url()));
        cmd.env("ATELIER_PROVIDER", "anthropic")
            .env("ANTHROPIC_API_KEY", key)
            .env("ATELIER_ANTHROPIC_BASE_URL", llm.url())
            .env("ATELIER_LOG", "trace")
            .args(["chat", "--model", "test-model"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    };
    let mut child = run(KEY).spawn().expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"Say hello in French\n").await.expect("write");
    drop(stdin);
    let out = child.wait_with_output().await.expect("output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("assistant: Bonjour."),
        "the key worked: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
            .chars()
            .rev()
            .take(3000)
            .collect::<String>()
            .chars()
            .rev()
            .collect::<String>()
    );

    // A wrong key: a clear refusal, once.
    let before = llm.requests().len();
    let mut child = run("sk-wrong").spawn().expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"Again\n").await.expect("write");
    drop(stdin);
    let wrong = child.wait_with_output().await.expect("output");
    let text =
        format!("{}{}", String::from_utf8_lossy(&wrong.stdout), String::from_utf8_lossy(&wrong.stderr));
    assert!(text.to_lowercase().contains("api key"), "says the key was refused: {text}");
    let chats = llm.requests()[before..].iter().filter(|r| r.path == "/v1/messages").count();
    assert_eq!(chats, 1, "no retry storm on a refused key");

    for output in [&out.stdout, &out.stderr, &wrong.stdout, &wrong.stderr] {
        assert!(!String::from_utf8_lossy(output).contains(KEY), "the key was printed");
    }
    let files = all_bytes(dir.path());
    assert!(files.iter().any(|(p, _)| p.ends_with("atelier.db")), "the database is there to check");
    for (path, bytes) in files {
        let hit = bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes());
        assert!(!hit, "the key is in {}", path.display());
    }
}
