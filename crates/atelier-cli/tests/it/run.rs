//! `atelier run`: a workflow from the terminal, and Ctrl-C (SIGINT) that cancels it cleanly.

use std::process::{Command, Stdio};
use std::time::Duration;

use atelier_testkit::{Reply, Scenario, TestLlm};

use crate::support::atelier;

const PLAN: &str = r#"{"summary": "Add a greeting", "modules": [{"name": "app", "responsibility": "greets",
  "files": [{"path": "greet.sh", "purpose": "prints hello"}, {"path": "NOTES.md", "purpose": "notes"}]}]}"#;

fn script(llm: &TestLlm, delay: Duration) {
    llm.route("Your module:", Scenario::Reply(Reply::text("greet.sh echoes hello.")));
    llm.route(
        "Write the file `greet.sh`",
        Scenario::Reply(Reply::text("```sh\necho hello\n```").delay(delay)),
    );
    llm.route("Write the file `NOTES.md`", Scenario::Reply(Reply::text("```\n# Notes\n```").delay(delay)));
    llm.push(Scenario::Reply(Reply::text(PLAN)));
}

fn git_log(dir: &std::path::Path) -> String {
    let out = Command::new("git").args(["log", "--format=%s"]).current_dir(dir).output().expect("git");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test]
async fn run_writes_the_plan_verifies_and_commits() {
    let llm = TestLlm::start().await.expect("testkit");
    script(&llm, Duration::ZERO);
    let data = tempfile::tempdir().expect("data");
    let project = tempfile::tempdir().expect("project");
    let mut cmd = tokio::process::Command::from(atelier(data.path(), &llm.url()));
    cmd.args(["run", "--project"]).arg(project.path()).args([
        "--model",
        "test-model",
        "--verify",
        "sh greet.sh",
        "add a greeting",
    ]);
    let out = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).output().await.expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("wrote greet.sh") && stdout.contains("done: Add a greeting"), "{stdout}");
    assert!(
        stdout.contains("check 1: passed (in bubblewrap)"),
        "the check's result and where it ran are said: {stdout}"
    );
    assert_eq!(std::fs::read_to_string(project.path().join("greet.sh")).expect("file"), "echo hello\n");
    assert_eq!(git_log(project.path()), "Add a greeting");
}

#[tokio::test]
async fn ctrl_c_cancels_and_keeps_written_files() {
    let llm = TestLlm::start().await.expect("testkit");
    script(&llm, Duration::from_millis(200));
    let data = tempfile::tempdir().expect("data");
    let project = tempfile::tempdir().expect("project");
    let mut cmd = tokio::process::Command::from(atelier(data.path(), &llm.url()));
    cmd.args(["run", "--parallel", "1", "--model", "test-model", "--project"])
        .arg(project.path())
        .arg("add a greeting");
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let pid = child.id().expect("pid");
    // Wait for the first coder to be under way, then press Ctrl-C.
    for _ in 0..200 {
        if llm.requests().iter().any(|r| r.body.to_string().contains("Write the file")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let sent = Command::new("kill").args(["-INT", &pid.to_string()]).status().expect("kill");
    assert!(sent.success());
    let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("exits")
        .expect("output");
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cancelled"));
    assert_eq!(git_log(project.path()), "", "nothing committed");
}
