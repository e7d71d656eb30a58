//! `run_command` with real processes: output streamed as it comes, exit codes, the timeout and
//! cancellation killing the whole process tree, and output that would flood the model cut.

use std::time::{Duration, Instant};

use atelier_tools::{CallStatus, Registry, ToolContext, ToolError};
use serde_json::json;
use tokio_util::sync::CancellationToken;

fn context() -> (tempfile::TempDir, ToolContext) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let ctx = ToolContext {
        runner: crate::runner(&root),
        root,
        cancel: CancellationToken::new(),
        max_result_chars: 4000,
    };
    (dir, ctx)
}

/// Whether any process has `marker` in its command line.
#[cfg(target_os = "linux")]
pub fn running(marker: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
        std::fs::read(entry.path().join("cmdline"))
            .map(|c| String::from_utf8_lossy(&c).contains(marker))
            .unwrap_or(false)
    })
}

/// Whether no process's command line contains `marker` within 2 s. A killed process takes a
/// moment to exit (longer on a busy machine): what matters is that none is left soon after,
/// not that none is still exiting at the instant the call returned.
pub async fn gone_soon(marker: &str) -> bool {
    let by = Instant::now() + Duration::from_secs(2);
    while running(marker) {
        if Instant::now() >= by {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    true
}

#[tokio::test]
async fn output_streams_and_the_exit_code_and_place_are_said() {
    let (_dir, ctx) = context();
    let tool = Registry::with_builtins().get("run_command").unwrap();
    let mut streamed = String::new();
    let output = tool
        .call(&ctx, json!({ "command": "echo one; echo two >&2; exit 3" }), &mut |d| streamed.push_str(d))
        .await
        .unwrap();
    assert_eq!(output.status, CallStatus::Error, "a failing command is an error: {}", output.content);
    assert!(output.content.contains("exited with code 3"), "{}", output.content);
    // Where it ran is said (the sandbox in force on this machine).
    assert!(output.content.contains("(ran in "), "{}", output.content);
    assert!(streamed.contains("one") && streamed.contains("two"), "{streamed:?}");
    let ok = tool.call(&ctx, json!({ "command": "pwd" }), &mut |_| {}).await.unwrap();
    assert_eq!(ok.status, CallStatus::Ok);
    assert!(
        ok.content.contains(&ctx.root.file_name().unwrap().to_string_lossy().to_string()),
        "{}",
        ok.content
    );
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_timeout_kills_the_command_and_its_children() {
    let (_dir, ctx) = context();
    let tool = Registry::with_builtins().get("run_command").unwrap();
    let marker = format!("sleep 3{}", std::process::id() % 1000 + 1000);
    let command = format!("({marker} &) ; {marker}");
    let started = Instant::now();
    let output = tool.call(&ctx, json!({ "command": command, "timeout_s": 1 }), &mut |_| {}).await.unwrap();
    assert!(output.content.contains("did not finish within 1 s"), "{}", output.content);
    assert!(started.elapsed() < Duration::from_secs(10));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!running(&marker), "a child of the command outlived its timeout");
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn cancel_stops_a_running_command_within_100_ms_and_leaves_no_process() {
    let (_dir, ctx) = context();
    let tool = Registry::with_builtins().get("run_command").unwrap();
    let marker = format!("sleep 4{}", std::process::id() % 1000 + 1000);
    let cancel = ctx.cancel.clone();
    let command = format!("{marker} & {marker}; wait");
    let task = tokio::spawn({
        let ctx = ctx.clone();
        async move {
            Registry::with_builtins()
                .get("run_command")
                .unwrap()
                .call(&ctx, json!({ "command": command }), &mut |_| {})
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(running(&marker), "the command started");
    let cancelled_at = Instant::now();
    cancel.cancel();
    let result = task.await.unwrap();
    let took = cancelled_at.elapsed();
    assert!(matches!(result, Err(ToolError::Cancelled)), "{result:?}");
    println!("cancel took {took:?}");
    assert!(gone_soon(&marker).await, "no process of the command is left");
    println!("its processes were gone {:?} after the cancel", cancelled_at.elapsed());
    drop(tool);
}

#[tokio::test]
async fn a_flood_of_output_is_cut_for_the_model_with_a_note() {
    let (_dir, ctx) = context();
    let tool = Registry::with_builtins().get("run_command").unwrap();
    let output =
        tool.call(&ctx, json!({ "command": "yes flood | head -c 3000000" }), &mut |_| {}).await.unwrap();
    assert_eq!(output.status, CallStatus::Ok);
    assert!(output.content.chars().count() < 5000, "{}", output.content.len());
    assert!(output.content.contains("characters left out"), "the cut is said");
}
