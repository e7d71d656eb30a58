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
