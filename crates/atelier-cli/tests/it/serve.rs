//! `atelier serve`: the contract's start-up lines, a chat through it, and a kill -9 in the
//! middle of a streamed reply that loses nothing acknowledged.

use std::time::Duration;

use atelier_testkit::{Reply, Scenario, TestLlm};
use serde_json::json;

use crate::support::{Ws, serve};

#[tokio::test]
async fn serve_prints_its_address_and_token_and_holds_a_chat() {
    let llm = TestLlm::start().await.expect("testkit");
    llm.push(Scenario::Reply(Reply::text("Hi from the model.")));
    let dir = tempfile::tempdir().expect("tempdir");
    let served = serve(dir.path(), &llm.url());
    assert!(served.base.starts_with("http://127.0.0.1:") && !served.base.ends_with(":0"), "{}", served.base);
    let stored = std::fs::read_to_string(dir.path().join("token")).expect("token kept in the data folder");
    assert_eq!(stored.trim(), served.token);

    let health: serde_json::Value = reqwest_like_get(&format!("{}/health", served.base)).await;
    assert_eq!(health["status"], "ok");

    let mut ws = Ws::connect(&served).await;
    let session = ws.call("sessions.create", json!({})).await;
    let sid = session["id"].as_str().expect("id").to_owned();
    ws.call("subscribe", json!({ "topics": [format!("session/{sid}")] })).await;
    ws.call("messages.send", json!({ "session_id": sid, "content": "hello" })).await;
    let done = ws.event_of("message.completed").await;
    assert_eq!(done["data"]["message"]["content"], "Hi from the model.");
    assert!(dir.path().join("logs").is_dir(), "logs go to the data folder");
}

/// A tiny HTTP GET without another client library: the server speaks plain HTTP/1.1.
async fn reqwest_like_get(url: &str) -> serde_json::Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("http url");
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).expect("path");
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut body = String::new();
    stream.read_to_string(&mut body).await.expect("read");
    let (head, json) = body.split_once("\r\n\r\n").expect("http response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    serde_json::from_str(json.trim()).unwrap_or_else(|e| panic!("{e}: {json}"))
}

#[tokio::test]
async fn kill_9_during_a_reply_keeps_the_message_and_the_partial_reply() {
    let llm = TestLlm::start().await.expect("testkit");
    llm.push(Scenario::Reply(Reply::repeat("chunk ", 2000).delay(Duration::from_millis(5))));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut served = serve(dir.path(), &llm.url());
    let mut ws = Ws::connect(&served).await;
    let session = ws.call("sessions.create", json!({})).await;
    let sid = session["id"].as_str().expect("id").to_owned();
    ws.call("subscribe", json!({ "topics": [format!("session/{sid}")] })).await;
    let sent = ws.call("messages.send", json!({ "session_id": sid, "content": "stream a lot" })).await;
    ws.event_of("message.delta").await;
    // Long enough for the ~100 ms saves to have written some of the reply.
    tokio::time::sleep(Duration::from_millis(400)).await;
    served.child.kill().expect("kill -9"); // SIGKILL on Unix
    served.child.wait().expect("reaped");
    drop(ws);

    let served = serve(dir.path(), &llm.url());
    let mut ws = Ws::connect(&served).await;
    let messages = ws.call("messages.list", json!({ "session_id": sid })).await;
    let messages = messages.as_array().expect("list");
    let user = messages.iter().find(|m| m["id"] == sent["user_message_id"]).expect("user message survived");
    assert_eq!(user["content"], "stream a lot");
    let reply = messages.iter().find(|m| m["id"] == sent["reply_id"]).expect("reply survived");
    assert_eq!(reply["status"], "interrupted");
    let partial = reply["content"].as_str().expect("text");
    assert!(partial.starts_with("chunk chunk"), "partial reply kept: {partial:?}");
    assert!(partial.len() < 6 * 2000);
    drop(served);

    let store = atelier_store::Store::open(&dir.path().join("atelier.db")).expect("open");
    assert_eq!(store.integrity_check().await.expect("check"), "ok");
}

/// Starts `atelier serve` with its open-file limit lowered to `nofile` (soft and hard), its
/// stderr kept in a file.
#[cfg(unix)]
fn serve_with_file_limit(
    data_dir: &std::path::Path,
    llm_url: &str,
    nofile: u32,
    stderr: &std::path::Path,
) -> crate::support::Served {
    use std::io::BufRead;
    let command = crate::support::atelier(data_dir, llm_url);
    let program = command.get_program().to_owned();
    let mut child = command
        .get_envs()
        .fold(std::process::Command::new("sh"), |mut sh, (k, v)| {
            match v {
                Some(v) => sh.env(k, v),
                None => sh.env_remove(k),
            };
            sh
        })
        .args(["-c", &format!("ulimit -n {nofile} && exec \"$0\" serve --bind 127.0.0.1:0")])
        .arg(program)
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(stderr).expect("stderr file"))
        .spawn()
        .expect("atelier serve starts");
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let (mut first, mut second) = (String::new(), String::new());
    lines.read_line(&mut first).expect("first line");
    lines.read_line(&mut second).expect("second line");
    let base = first.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("{first:?}")).to_owned();
    let token = second.trim().rsplit_once("#token=").map(|(_, t)| t.to_owned()).expect("token line");
    crate::support::Served { child, base, token }
}

#[cfg(unix)]
#[tokio::test]
async fn a_header_flood_against_a_small_file_limit_leaves_health_and_clients_working() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let llm = TestLlm::start().await.expect("testkit");
    let dir = tempfile::tempdir().expect("tempdir");
    let stderr = dir.path().join("stderr.txt");
    let data = dir.path().join("data");
    let served = serve_with_file_limit(&data, &llm.url(), 256, &stderr);
    let host = served.base.strip_prefix("http://").expect("http").to_owned();
    // Four times the server's whole file limit in half-open requests.
    let mut flood = Vec::new();
    for _ in 0..1024 {
        let Ok(mut stream) = tokio::net::TcpStream::connect(&host).await else { continue };
        if stream.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX: ").await.is_ok() {
            flood.push(stream);
        }
    }
    let health = reqwest_like_get(&format!("{}/health", served.base)).await;
    assert!(health["status"].is_string(), "{health}");
    let mut ws = Ws::connect(&served).await;
    assert_eq!(ws.call("system.ping", json!({})).await["pong"], true);
    // The header timeout (10 s) closes what is left of the flood.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut open = 0;
    for stream in &mut flood {
        let mut buf = [0u8; 64];
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if tokio::time::timeout(left, stream.read(&mut buf)).await.is_err() {
            open += 1;
        }
    }
    assert_eq!(open, 0, "half-open connections still open after the header timeout");
    assert_eq!(ws.call("system.ping", json!({})).await["pong"], true);
    let log = std::fs::read_to_string(&stderr).expect("stderr");
    assert!(!log.contains("Too many open files"), "the server ran out of file descriptors:\n{log}");
    drop(served);
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_folder_and_its_files_are_the_owners_only() {
    use std::os::unix::fs::PermissionsExt;
    let llm = TestLlm::start().await.expect("testkit");
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let served = serve(&data, &llm.url());
    let mut ws = Ws::connect(&served).await;
    ws.call("sessions.create", json!({})).await; // something written, so the WAL exists
    let mode = |p: &std::path::Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700, "data folder");
    assert_eq!(mode(&data.join("logs")), 0o700, "log folder");
    for name in ["atelier.db", "atelier.db-wal", "atelier.db-shm", "token", "atelier.lock"] {
        assert_eq!(mode(&data.join(name)), 0o600, "{name}");
    }
    for log in std::fs::read_dir(data.join("logs")).expect("logs") {
        let log = log.expect("entry").path();
        assert_eq!(mode(&log), 0o600, "{}", log.display());
    }
}
