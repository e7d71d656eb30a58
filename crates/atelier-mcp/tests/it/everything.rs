//! `@modelcontextprotocol/server-everything` (stdio and Streamable HTTP) and
//! `@modelcontextprotocol/server-filesystem`.

use std::collections::BTreeMap;
use std::time::Duration;

use atelier_mcp::{HttpSpec, McpError, Options, ServerSpec, Status, Transport};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::support::{everything, mcp, peer, quick, ready, stdio};

#[tokio::test]
async fn a_stdio_server_becomes_ready_with_its_tools_and_echo_answers() {
    let Some(spec) = everything("everything") else { return };
    let mcp = mcp(quick());
    mcp.start(spec).await.unwrap();
    let state = ready(&mcp, "everything").await;
    assert!(state.tools.iter().any(|t| t.name == "echo"), "{:?}", state.tools);
    let echo = state.tools.iter().find(|t| t.name == "echo").unwrap();
    assert_eq!(echo.input_schema["type"], "object", "the schema as the server gives it");
    assert!(state.pid.is_some());

    let result = mcp
        .call("everything", "echo", json!({ "message": "hello from atelier" }), &CancellationToken::new())
        .await
        .unwrap();
    assert!(!result.is_error);
    assert!(result.text.contains("hello from atelier"), "{}", result.text);

    // The server registers more tools once initialized and says so with
    // notifications/tools/list_changed: the list follows.
    let state = mcp
        .wait_for("everything", Duration::from_secs(15), |s| {
            s.tools.iter().any(|t| t.name == "simulate-research-query")
        })
        .await
        .unwrap();
    assert!(state.tools.iter().any(|t| t.name == "simulate-research-query"), "{:?}", state.tools);
    assert_eq!(mcp.tools().iter().filter(|(server, _)| server == "everything").count(), state.tools.len());

    // A tool that is not there, and arguments that are not an object, are said plainly.
    let err = mcp.call("everything", "nope", json!({}), &CancellationToken::new()).await.unwrap_err();
    assert!(matches!(err, McpError::NoTool { .. }), "{err}");
    let err = mcp.call("everything", "echo", json!("hi"), &CancellationToken::new()).await.unwrap_err();
    assert!(err.to_string().contains("must be a JSON object"), "{err}");
    mcp.shutdown().await;
}

#[tokio::test]
async fn images_and_resources_are_named_for_the_model() {
    let Some(spec) = everything("media") else { return };
    let mcp = mcp(quick());
    mcp.start(spec).await.unwrap();
    ready(&mcp, "media").await;
    let image = mcp.call("media", "get-tiny-image", json!({}), &CancellationToken::new()).await.unwrap();
    assert!(image.text.contains("[image: image/png,"), "{}", image.text);
    assert_eq!(image.media.len(), 1, "{image:?}");
    assert!(!image.text.contains("iVBOR"), "no base64 for the model: {}", image.text);

    let resource = mcp
        .call(
            "media",
            "get-resource-reference",
            json!({ "resourceType": "Text", "resourceId": 1 }),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert!(!resource.resources.is_empty(), "{resource:?}");
    assert!(resource.text.contains("[resource: "), "{}", resource.text);
    mcp.shutdown().await;
}

#[tokio::test]
async fn a_hanging_call_times_out_or_is_cancelled_and_the_server_stays_usable() {
    let Some(spec) = everything("slow") else { return };
    let mcp = mcp(Options { call_timeout: Duration::from_secs(1), ..quick() });
    mcp.start(spec).await.unwrap();
    ready(&mcp, "slow").await;
    let long = json!({ "duration": 30, "steps": 30 });

    let err = mcp
        .call("slow", "trigger-long-running-operation", long.clone(), &CancellationToken::new())
        .await
        .unwrap_err();
    assert!(matches!(err, McpError::Timeout { .. }), "{err}");
    assert!(err.to_string().contains("did not answer `trigger-long-running-operation` within 1 s"), "{err}");

    let cancel = CancellationToken::new();
    let canceller = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        canceller.cancel();
    });
    let err = mcp.call("slow", "trigger-long-running-operation", long, &cancel).await.unwrap_err();
    assert!(matches!(err, McpError::Cancelled), "{err}");

    // Still ready, still answering.
    assert_eq!(mcp.state("slow").unwrap().status, Status::Ready);
    let echo = mcp
        .call("slow", "echo", json!({ "message": "still here" }), &CancellationToken::new())
        .await
        .unwrap();
    assert!(echo.text.contains("still here"));
    mcp.shutdown().await;
}

#[cfg(unix)]
#[tokio::test]
async fn a_killed_server_is_restarted_and_the_restart_counted() {
    let Some(spec) = everything("phoenix") else { return };
    let mcp = mcp(quick());
    mcp.start(spec).await.unwrap();
    let first = ready(&mcp, "phoenix").await;
    let pid = first.pid.unwrap();
    let status = std::process::Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap();
    assert!(status.success());

    let state = mcp
        .wait_for("phoenix", Duration::from_secs(30), |s| s.status == Status::Ready && s.restarts == 1)
        .await
        .unwrap();
    assert_eq!((state.status, state.restarts), (Status::Ready, 1), "{state:#?}");
    assert_ne!(state.pid, Some(pid), "a new process");
    let echo =
        mcp.call("phoenix", "echo", json!({ "message": "again" }), &CancellationToken::new()).await.unwrap();
    assert!(echo.text.contains("again"));
    mcp.shutdown().await;
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn stopping_a_server_leaves_no_process_of_its_group() {
    let Some(index) = peer("server-everything") else { return };
    // A shell that stays the parent of node: the group holds two processes.
    let spec = stdio("group", "sh", &["-c", &format!("node '{index}' stdio; echo finished >&2")]);
    let mcp = mcp(quick());
    mcp.start(spec).await.unwrap();
    let pid = ready(&mcp, "group").await.pid.unwrap();
    let members = || crate::support::process_groups().into_iter().filter(|(_, g)| *g == pid).count();
    assert!(members() >= 2, "the shell and node run in the server's own group");

    assert!(mcp.stop("group").await);
    assert_eq!(members(), 0, "no process of the server's group is left");
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    assert!(mcp.state("group").is_none());
}

#[tokio::test]
async fn a_huge_result_is_cut_with_a_note() {
    let Some(fs) = peer("server-filesystem") else { return };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let big = root.join("big.txt");
    std::fs::write(&big, "0123456789abcdef\n".repeat(20_000)).unwrap();
    let mcp = mcp(Options { max_result_chars: 10_000, ..quick() });
    mcp.start(stdio("files", "node", &[&fs, &root.to_string_lossy()])).await.unwrap();
    ready(&mcp, "files").await;
    let result = mcp
        .call("files", "read_text_file", json!({ "path": big.to_string_lossy() }), &CancellationToken::new())
        .await
        .unwrap();
    assert!(result.truncated);
    assert!(result.text.starts_with("0123456789abcdef\n"));
    assert!(
        result.text.contains("the result had 340,000 characters; the first 10,000 are shown"),
        "{}",
        &result.text[9_000..]
    );

    // A path outside the allowed folder: the server says so with isError, reported as such.
    let outside = mcp
        .call("files", "read_text_file", json!({ "path": "/etc/hostname" }), &CancellationToken::new())
        .await
        .unwrap();
    assert!(outside.is_error, "{outside:?}");
    mcp.shutdown().await;
}

#[tokio::test]
async fn a_streamable_http_server_is_ready_and_answers() {
    let Some(index) = peer("server-everything") else { return };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = tokio::process::Command::new("node")
        .args([index.as_str(), "streamableHttp"])
        .env("PORT", port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Wait until it listens.
    let url = format!("http://127.0.0.1:{port}/mcp");
    let mut listening = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            listening = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(listening, "server-everything listens on {port}");
    let mcp = mcp(quick());
    let spec = ServerSpec {
        name: "remote".into(),
        transport: Transport::Http(HttpSpec {
            url,
            headers: BTreeMap::from([("X-Atelier-Test".into(), "yes".into())]),
        }),
    };
    mcp.start(spec).await.unwrap();
    let state = ready(&mcp, "remote").await;
    assert!(state.tools.iter().any(|t| t.name == "echo"));
    assert_eq!(state.pid, None);
    let echo = mcp
        .call("remote", "echo", json!({ "message": "over http" }), &CancellationToken::new())
        .await
        .unwrap();
    assert!(echo.text.contains("over http"), "{}", echo.text);
    assert!(mcp.ping("remote").await.is_ok());
    mcp.shutdown().await;
    server.kill().await.unwrap();
}
