//! Limits in every mode: the timeout and cancel kill the whole process tree, output is capped
//! and kept in order, memory is limited, and long-lived commands start confined.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use atelier_sandbox::{Policy, RunSpec, Sandbox, SandboxSetting};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio_util::sync::CancellationToken;

use crate::{bubblewrap, landlock, left_soon, processes_with, run, zombie_children};

/// A command that starts children and grandchildren which sleep, then sleeps itself; none of
/// them may be left once the timeout has passed.
async fn the_whole_tree_is_gone_after_the_timeout(sandbox: &Sandbox) {
    // A sleep length no other process on the machine has: the marker to look for in /proc.
    let marker = format!("300.{}{}", std::process::id(), rand_digits());
    let command = format!(
        "sleep {marker} & (sleep {marker} &) ; sh -c 'sleep {marker} & sleep {marker}' & echo started; sleep {marker}"
    );
    let project = tempfile::tempdir().unwrap();
    let seen = Arc::new(Mutex::new(0usize));
    let spec = RunSpec {
        command,
        policy: Policy::new(project.path()),
        timeout: Duration::from_secs(2),
        output_cap: 4096,
        env: Vec::new(),
    };
    let watcher = {
        let (seen, marker) = (seen.clone(), marker.clone());
        tokio::spawn(async move {
            // While the command runs, its sleepers exist: the check below can fail.
            tokio::time::sleep(Duration::from_millis(1200)).await;
            *seen.lock().unwrap() = processes_with(&marker).len();
        })
    };
    let out = sandbox.run(spec, &CancellationToken::new(), &mut |_| {}).await.unwrap();
    watcher.await.unwrap();
    assert!(out.timed_out, "{out:?}");
    assert!(out.output.contains("started"));
    assert!(*seen.lock().unwrap() >= 4, "the sleepers were running before the timeout");
    let left = left_soon(&marker).await;
    assert!(left.is_empty(), "processes left after the timeout: {left:?}");
    assert!(zombie_children().is_empty(), "zombies: {:?}", zombie_children());
}

fn rand_digits() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos() % 100_000
}

#[tokio::test]
async fn bubblewrap_kills_children_and_grandchildren_on_timeout() {
    the_whole_tree_is_gone_after_the_timeout(&bubblewrap()).await;
}

#[tokio::test]
async fn landlock_kills_children_and_grandchildren_on_timeout() {
    the_whole_tree_is_gone_after_the_timeout(&landlock()).await;
}

#[tokio::test]
async fn off_still_kills_the_tree_on_timeout() {
    the_whole_tree_is_gone_after_the_timeout(&Sandbox::detect(SandboxSetting::Off).unwrap()).await;
}

#[tokio::test]
async fn cancel_stops_a_running_command_and_its_children() {
    let sandbox = bubblewrap();
    let marker = format!("200.{}{}", std::process::id(), rand_digits());
    let project = tempfile::tempdir().unwrap();
    let cancel = CancellationToken::new();
    let spec = RunSpec {
        command: format!("sleep {marker} & echo started; sleep {marker}"),
        policy: Policy::new(project.path()),
        timeout: Duration::from_secs(120),
        output_cap: 4096,
        env: Vec::new(),
    };
    let trigger = cancel.clone();
    let mut on_output = move |chunk: &[u8]| {
        if String::from_utf8_lossy(chunk).contains("started") {
            trigger.cancel();
        }
    };
    let out = sandbox.run(spec, &cancel, &mut on_output).await.unwrap();
    assert!(out.cancelled && !out.timed_out, "{out:?}");
    assert!(out.duration < Duration::from_secs(60), "cancel ended it, not the 200 s sleep: {out:?}");
    let left = left_soon(&marker).await;
    assert!(left.is_empty(), "processes left after the cancel: {left:?}");
}

#[tokio::test]
async fn output_past_the_cap_is_counted_not_kept() {
    let project = tempfile::tempdir().unwrap();
    let spec = RunSpec {
        command: "head -c 100000 /dev/zero | tr '\\0' x".into(),
        policy: Policy::new(project.path()),
        timeout: Duration::from_secs(60),
        output_cap: 1000,
        env: Vec::new(),
    };
    let mut streamed = 0usize;
    let out = bubblewrap().run(spec, &CancellationToken::new(), &mut |c| streamed += c.len()).await.unwrap();
    assert!(out.success(), "{out:?}");
    assert_eq!(out.output.len(), 1000);
    assert_eq!(out.truncated_bytes, 99_000);
    assert_eq!(streamed, 1000, "only the kept part is streamed");
}

#[tokio::test]
async fn stdout_and_stderr_arrive_merged_in_order_with_the_exit_code() {
    let project = tempfile::tempdir().unwrap();
    let out =
        run(&bubblewrap(), &Policy::new(project.path()), "echo one; echo two >&2; echo three; exit 3").await;
    assert_eq!(out.output, "one\ntwo\nthree\n");
    assert_eq!(out.exit_code, Some(3));
    assert!(!out.success());
}

#[tokio::test]
async fn the_environment_is_cleaned_and_extended() {
    let project = tempfile::tempdir().unwrap();
    let spec = RunSpec {
        command: "env".into(),
        policy: Policy::new(project.path()),
        timeout: Duration::from_secs(60),
        output_cap: 1 << 20,
        env: vec![("CARGO_TARGET_DIR".into(), "/somewhere".into())],
    };
    let out = bubblewrap().run(spec, &CancellationToken::new(), &mut |_| {}).await.unwrap();
    assert!(out.output.contains("CARGO_TARGET_DIR=/somewhere"), "{}", out.output);
    assert!(out.output.contains("ATELIER_SANDBOX=bubblewrap"));
    // The test runner's own variables (cargo's, this binary's) are not on the allow-list.
    assert!(!out.output.contains("CARGO_PKG_NAME="), "{}", out.output);
}

async fn memory_is_limited(sandbox: &Sandbox) {
    let project = tempfile::tempdir().unwrap();
    let grab = "python3 -c 'x = bytearray(400 * 1024 * 1024); print(\"got it\")'";
    let free = run(sandbox, &Policy::new(project.path()), grab).await;
    assert!(free.output.contains("got it"), "{free:?}");
    let limited = Policy { memory_mb: Some(200), ..Policy::new(project.path()) };
    let out = run(sandbox, &limited, grab).await;
    assert!(!out.success() && out.output.contains("MemoryError"), "{out:?}");
}

#[tokio::test]
async fn bubblewrap_enforces_the_memory_limit() {
    memory_is_limited(&bubblewrap()).await;
}

#[tokio::test]
async fn landlock_enforces_the_memory_limit() {
    memory_is_limited(&landlock()).await;
}

#[tokio::test]
async fn bad_input_is_refused_clearly() {
    let sandbox = bubblewrap();
    let project = tempfile::tempdir().unwrap();
    let spec = |command: &str, policy: Policy| RunSpec {
        command: command.into(),
        policy,
        timeout: Duration::from_secs(5),
        output_cap: 100,
        env: Vec::new(),
    };
    let cancel = CancellationToken::new();
    let err = sandbox.run(spec("  ", Policy::new(project.path())), &cancel, &mut |_| {}).await.unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");
    let err = sandbox.run(spec("true", Policy::new("relative/dir")), &cancel, &mut |_| {}).await.unwrap_err();
    assert!(err.to_string().contains("absolute"), "{err}");
    let gone = project.path().join("missing");
    let err = sandbox.run(spec("true", Policy::new(&gone)), &cancel, &mut |_| {}).await.unwrap_err();
    assert!(err.to_string().contains("cannot be used"), "{err}");
}

#[tokio::test]
async fn a_long_lived_command_starts_confined_and_talks_over_its_pipes() {
    let sandbox = bubblewrap();
    let project = tempfile::tempdir().unwrap();
    let secret = crate::plant_in_home("server-secret");
    let mut command = sandbox
        .command(
            &Policy::new(project.path()),
            "sh",
            &["-c".into(), format!("echo $ATELIER_SANDBOX; cat '{}' 2>/dev/null; cat", secret.0.display())],
        )
        .unwrap();
    command.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("bubblewrap"));
    stdin.write_all(b"ping\n").await.unwrap();
    assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("ping"), "the secret stays hidden");
    drop(stdin);
    let status = child.wait().await.unwrap();
    assert!(status.success());
}

/// Outside bubblewrap (which has `--new-session`), the command leads a session of its own: no
/// controlling terminal of Atelier's to inject keystrokes into.
async fn leads_its_own_session(sandbox: &Sandbox) {
    let project = tempfile::tempdir().unwrap();
    let out = run(sandbox, &Policy::new(project.path()), "echo $$; cut -d' ' -f6 /proc/$$/stat").await;
    let numbers: Vec<&str> = out.output.lines().collect();
    assert_eq!(numbers.len(), 2, "{out:?}");
    assert_eq!(numbers[0], numbers[1], "the shell is its session's leader: {out:?}");
}

#[tokio::test]
async fn landlock_and_off_run_commands_in_a_session_of_their_own() {
    leads_its_own_session(&landlock()).await;
    leads_its_own_session(&Sandbox::detect(SandboxSetting::Off).unwrap()).await;
}
