//! `atelier backup` and `atelier restore ID` as a person runs them: a backup while the server
//! runs, a restore refused while it runs, and a restore after it stopped.

use std::process::Stdio;

use atelier_testkit::TestLlm;
use serde_json::json;

use crate::support::{Ws, atelier, serve};

fn run(cmd: &mut std::process::Command) -> (bool, String) {
    let out = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).output().expect("runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[tokio::test]
async fn backup_works_while_atelier_runs_and_restore_waits_until_it_stopped() {
    let llm = TestLlm::start().await.expect("testkit");
    let dir = tempfile::tempdir().expect("tempdir");
    let served = serve(dir.path(), &llm.url());
    let mut ws = Ws::connect(&served).await;
    ws.call("projects.create", json!({ "name": "kept" })).await;

    let (ok, text) = run(atelier(dir.path(), &llm.url()).arg("backup"));
    assert!(ok, "{text}");
    let id = text.split_whitespace().next().expect("the backup's id").to_owned();
    ws.call("projects.create", json!({ "name": "later" })).await;

    let (ok, text) = run(atelier(dir.path(), &llm.url()).args(["restore", &id]));
    assert!(!ok, "a restore while Atelier runs is refused: {text}");
    assert!(text.contains("another Atelier is already using the data folder"), "{text}");
    drop(ws);
    drop(served);

    let (ok, text) = run(atelier(dir.path(), &llm.url()).args(["restore", &id]));
    assert!(ok, "{text}");
    assert!(text.contains(&format!("restored backup {id}")), "{text}");
    let (ok, listed) = run(atelier(dir.path(), &llm.url()).args(["backup", "--list"]));
    assert!(ok && listed.lines().count() == 2, "the backup and the kept database: {listed}");
    let served = serve(dir.path(), &llm.url());
    let mut ws = Ws::connect(&served).await;
    let projects = ws.call("projects.list", json!({})).await;
    let names: Vec<&str> = projects.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["kept"], "the project made after the backup is gone");
    let (ok, text) = run(atelier(dir.path(), &llm.url()).args(["restore", "20990101-000000-000"]));
    assert!(!ok && text.contains("not found"), "{text}");
}
