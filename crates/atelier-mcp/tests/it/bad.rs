//! Servers that misbehave: one that says nothing, prints garbage, exits at once, or answers
//! the wrong id. Each one's status says what happened; the caller gets an error; the others
//! are unaffected.

use std::time::Duration;

use atelier_mcp::{McpError, Options, Status};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::support::{everything, mcp, quick, ready, stdio};

fn impatient() -> Options {
    Options { handshake_timeout: Duration::from_secs(2), max_failures: 2, ..quick() }
}

#[cfg(unix)]
#[tokio::test]
async fn a_server_that_never_answers_ends_in_error_with_a_message() {
    let mcp = mcp(impatient());
    // Reads its stdin and says nothing.
    mcp.start(stdio("mute", "sh", &["-c", "cat > /dev/null"])).await.unwrap();
    let state = mcp.wait_for("mute", Duration::from_secs(20), |s| s.status == Status::Error).await.unwrap();
    assert_eq!(state.status, Status::Error);
    let error = state.error.unwrap();
    assert!(error.contains("did not finish the MCP handshake within 2 s"), "{error}");
    assert!(error.contains("said nothing on stdout"), "{error}");
    let err = mcp.call("mute", "echo", json!({}), &CancellationToken::new()).await.unwrap_err();
    assert!(matches!(err, McpError::NotReady { .. }), "{err}");
    mcp.shutdown().await;
}

#[cfg(unix)]
#[tokio::test]
async fn garbage_on_stdout_is_an_error_that_says_so() {
    let mcp = mcp(impatient());
    mcp.start(stdio("noisy", "sh", &["-c", "while read line; do echo 'Server started! Welcome.'; done"]))
        .await
        .unwrap();
    let state = mcp.wait_for("noisy", Duration::from_secs(20), |s| s.status == Status::Error).await.unwrap();
    let error = state.error.unwrap_or_default();
    assert!(error.contains("not MCP messages"), "{error}");
    assert!(error.contains("Server started! Welcome."), "{error}");
    assert!(
        state.stderr_tail.iter().any(|l| l.starts_with("stdout (not MCP): Server started!")),
        "{:?}",
        state.stderr_tail
    );
    mcp.shutdown().await;
}

#[cfg(unix)]
#[tokio::test]
async fn a_server_that_exits_at_once_says_how_and_stays_in_error_after_repeated_failures() {
    let mcp = mcp(impatient());
    mcp.start(stdio("quitter", "sh", &["-c", "echo 'GITHUB_TOKEN is not set' >&2; exit 3"])).await.unwrap();
    let state = mcp
        .wait_for("quitter", Duration::from_secs(20), |s| {
            s.error.as_deref().is_some_and(|e| e.contains("stopped trying"))
        })
        .await
        .unwrap();
    assert_eq!(state.status, Status::Error);
    let error = state.error.unwrap();
    assert!(error.contains("exited with code 3 during start-up"), "{error}");
    assert!(error.contains("GITHUB_TOKEN is not set"), "{error}");
    assert!(error.contains("failed 2 times in a row"), "{error}");
    assert_eq!(state.restarts, 1, "one automatic restart before giving up");
    // It stays there...
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(mcp.state("quitter").unwrap().restarts, 1);
    // ...until the person restarts it.
    mcp.restart("quitter").unwrap();
    let state = mcp.wait_for("quitter", Duration::from_secs(20), |s| s.restarts >= 2).await.unwrap();
    assert!(state.restarts >= 2);
    mcp.shutdown().await;
}

#[tokio::test]
async fn a_program_that_does_not_exist_is_named() {
    let mcp = mcp(impatient());
    mcp.start(stdio("ghost", "atelier-no-such-mcp-server", &[])).await.unwrap();
    let state = mcp.wait_for("ghost", Duration::from_secs(20), |s| s.status == Status::Error).await.unwrap();
    let error = state.error.unwrap();
    assert!(error.contains("could not start `atelier-no-such-mcp-server`: no such program"), "{error}");
    mcp.shutdown().await;
}

#[tokio::test]
async fn an_answer_for_an_unknown_id_leaves_the_call_to_time_out_and_others_unaffected() {
    let Some(good) = everything("good") else { return };
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/peers/wrong-id.mjs");
    let mcp = mcp(Options { call_timeout: Duration::from_secs(1), ..quick() });
    mcp.start(stdio("confused", "node", &[&script.to_string_lossy()])).await.unwrap();
    mcp.start(good).await.unwrap();
    ready(&mcp, "confused").await;
    ready(&mcp, "good").await;
    let err = mcp.call("confused", "echo", json!({}), &CancellationToken::new()).await.unwrap_err();
    assert!(matches!(err, McpError::Timeout { .. }), "{err}");
    assert_eq!(mcp.state("confused").unwrap().status, Status::Ready);
    let echo =
        mcp.call("good", "echo", json!({ "message": "fine" }), &CancellationToken::new()).await.unwrap();
    assert!(echo.text.contains("fine"));
    mcp.shutdown().await;
}

#[tokio::test]
async fn bad_configurations_are_refused_before_anything_starts() {
    let mcp = mcp(quick());
    let err = mcp.start(stdio("has.dot", "x", &[])).await.unwrap_err();
    assert!(err.to_string().contains("not a usable MCP server name"), "{err}");
    let err = mcp.start(stdio("empty", " ", &[])).await.unwrap_err();
    assert!(err.to_string().contains("has no command"), "{err}");
    assert!(mcp.names().is_empty());
}
