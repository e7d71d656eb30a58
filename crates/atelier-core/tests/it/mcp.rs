//! MCP servers through the API (`mcp.*`, the `mcp` topic) with real servers from npm
//! (`tests/mcp-peers`): added and ready with tools, callable by agents, imported, a project's
//! `.mcp.json` shown but not started, removed with no process left, secrets only in the
//! keychain (this uses `keyring`'s in-memory mock, as `keychain.rs` explains).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use atelier_core::keychain::Keychain;
use atelier_core::{App, Client, ClientLimits, Config};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::support::{call, llm_config, rpc};

const SECRET: &str = "mcp-secret-7f3a9c2e-DO-NOT-STORE";

fn everything() -> Option<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/mcp-peers/node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    if path.is_file() {
        return Some(path.to_string_lossy().into_owned());
    }
    assert!(std::env::var_os("CI").is_none(), "{} is missing: run scripts/setup.sh", path.display());
    eprintln!("SKIPPED: {} is missing; run `npm ci` in tests/mcp-peers", path.display());
    None
}

struct Engine {
    app: App,
    _llm: atelier_testkit::TestLlm,
    keychain: Keychain,
    dir: PathBuf,
}

async fn engine(dir: &Path, keychain: Keychain, llm: atelier_testkit::TestLlm) -> Engine {
    let provider =
        atelier_llm::OllamaProvider::new(llm.url().parse().expect("url"), llm_config()).expect("provider");
    let config = Config {
        keychain: keychain.clone(),
        mcp: atelier_mcp::Options {
            handshake_timeout: Duration::from_secs(20),
            first_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(400),
            ..atelier_mcp::Options::default()
        },
        mcp_health_every: Duration::from_millis(300),
        ..Config::new(dir.to_path_buf(), Arc::new(provider))
    };
    Engine { app: App::start(config).await.expect("app"), _llm: llm, keychain, dir: dir.to_path_buf() }
}

async fn fresh(dir: &Path) -> Engine {
    keyring::set_default_credential_builder(keyring::mock::default_credential_builder());
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    let keychain = Keychain::new(&format!("dev.atelier.mcp-test-{}-{nanos}", std::process::id()));
    engine(dir, keychain, atelier_testkit::TestLlm::start().await.expect("testkit")).await
}

/// Waits for an event on `mcp` that `pick` accepts; every event seen is added to `seen`.
async fn mcp_event(client: &Client, seen: &mut Vec<String>, pick: impl Fn(&str, &Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let event = tokio::time::timeout_at(deadline, client.next_event())
            .await
            .expect("the awaited mcp event within 30 s")
            .expect("client open");
        seen.push(event.json.clone());
        if pick(&event.event.kind, &event.event.data) {
            return event.event.data.clone();
        }
    }
}

fn status_of<'a>(name: &'a str, status: &'a str) -> impl Fn(&str, &Value) -> bool + 'a {
    move |kind, data| {
        kind == "mcp.server_status" && data["server"]["name"] == name && data["server"]["status"] == status
    }
}

async fn listed(client: &Client, name: &str) -> Value {
    let list = call(client, "mcp.list", json!({})).await;
    list.as_array().unwrap().iter().find(|s| s["name"] == name).cloned().unwrap_or(Value::Null)
}

/// Log lines written while the guard lives, at every level (the test runtime is one thread,
/// so every task's lines land here).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() { out.extend(files_under(&path)) } else { out.push(path) }
    }
    out
}

#[tokio::test]
async fn an_added_server_is_ready_its_tools_callable_and_its_secret_only_in_the_keychain() {
    let Some(index) = everything() else { return };
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let dir = tempfile::tempdir().unwrap();
    let engine = fresh(dir.path()).await;
    let client = engine.app.connect(ClientLimits::local());
    call(&client, "subscribe", json!({ "topics": ["mcp"] })).await;
    let mut seen = Vec::new();

    let added = call(
        &client,
        "mcp.add",
        json!({ "name": "everything", "command": "node", "args": [index, "stdio"], "env": { "EVERYTHING_TOKEN": SECRET } }),
    )
    .await;
    assert_eq!(added["status"], "starting");
    assert_eq!(added["env_keys"], json!(["EVERYTHING_TOKEN"]));
    mcp_event(&client, &mut seen, status_of("everything", "ready")).await;
    let tools = mcp_event(&client, &mut seen, |kind, data| {
        kind == "mcp.tools_changed" && data["name"] == "everything"
    })
    .await;
    assert!(tools["tools"].as_array().unwrap().iter().any(|t| t["name"] == "echo"));

    let server = listed(&client, "everything").await;
    assert_eq!(server["status"], "ready", "{server}");
    assert_eq!((server["transport"].as_str(), server["trusted"].as_bool()), (Some("stdio"), Some(false)));
    assert!(server["pid"].as_u64().is_some());

    // What the agents' registry gets, and a call as an agent makes it.
    let entries = engine.app.mcp_tools();
    let echo = entries.iter().find(|t| t.server == "everything" && t.name == "echo").expect("echo offered");
    assert!(!echo.trusted);
    assert_eq!(echo.input_schema["type"], "object");
    let result = engine
        .app
        .call_mcp_tool(
            "everything",
            "echo",
            json!({ "message": "ping from an agent" }),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert!(result.text.contains("ping from an agent") && !result.is_error, "{result:?}");
    let missing =
        engine.app.call_mcp_tool("nobody", "echo", json!({}), &CancellationToken::new()).await.unwrap_err();
    assert_eq!(atelier_protocol::RpcError::from(missing).data.kind, atelier_protocol::ErrorKind::NotFound);

    // In the agents' registry: `<server>.<tool>`, from `mcp:<server>`, asking before it runs.
    let listed_tools = call(&client, "tools.list", json!({})).await;
    let as_tool = listed_tools
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "everything.echo")
        .cloned()
        .unwrap_or_else(|| panic!("everything.echo in tools.list: {listed_tools}"));
    assert_eq!(
        (as_tool["source"].as_str(), as_tool["effect"].as_str()),
        (Some("mcp:everything"), Some("network"))
    );
    let tool = engine.app.tools_for(None).get("everything.echo").expect("in the registry");
    let ctx = atelier_tools::ToolContext {
        root: dir.path().to_path_buf(),
        cancel: CancellationToken::new(),
        runner: Arc::new(NoRunner),
        max_result_chars: 4000,
    };
    let output = tool.call(&ctx, json!({ "message": "through the registry" }), &mut |_| {}).await.unwrap();
    assert_eq!(output.status, atelier_tools::CallStatus::Ok);
    assert!(output.content.contains("through the registry"), "{}", output.content);

    // Health while someone subscribes.
    let health = mcp_event(&client, &mut seen, |kind, data| {
        kind == "mcp.server_health" && data["name"] == "everything"
    })
    .await;
    assert_eq!(health["ok"], true, "{health}");
    assert!(health["latency_ms"].as_u64().is_some());

    // Trusted is a switch the person sets.
    let updated = call(&client, "mcp.update", json!({ "name": "everything", "trusted": true })).await;
    assert_eq!(updated["trusted"], true);
    assert!(engine.app.mcp_tools().iter().all(|t| t.trusted));

    // The secret: in the keychain, and nowhere else.
    let stored = engine.keychain.get_secret("mcp:everything").unwrap().unwrap_or_default();
    assert!(stored.contains(SECRET));
    let everything_said = format!("{}{}", seen.join("\n"), call(&client, "mcp.list", json!({})).await);
    assert!(!everything_said.contains(SECRET), "an event or mcp.list carries the secret");
    engine.app.shutdown().await;
    for file in files_under(&engine.dir) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
            "{} holds the secret",
            file.display()
        );
    }
    let logged = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(!logged.is_empty(), "the log was captured");
    assert!(!logged.contains(SECRET), "the log holds the secret");
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn an_import_is_started_and_a_removed_server_leaves_no_process() {
    let Some(index) = everything() else { return };
    let dir = tempfile::tempdir().unwrap();
    let engine = fresh(dir.path()).await;
    let client = engine.app.connect(ClientLimits::local());
    call(&client, "subscribe", json!({ "topics": ["mcp"] })).await;
    let mut seen = Vec::new();

    // A document as Claude Desktop or Cursor keeps it.
    let document = json!({ "mcpServers": {
        "one": { "command": "node", "args": [index, "stdio"] },
        "later": { "command": "atelier-not-installed", "disabled": true },
        "web": { "url": "http://127.0.0.1:9/mcp", "headers": { "Authorization": "Bearer abc" }, "disabled": true }
    }});
    let imported = call(&client, "mcp.import", json!({ "json": document.to_string() })).await;
    assert_eq!(imported.as_array().unwrap().len(), 3);
    mcp_event(&client, &mut seen, status_of("one", "ready")).await;
    let later = listed(&client, "later").await;
    assert_eq!((later["enabled"].as_bool(), later["status"].as_str()), (Some(false), Some("stopped")));
    let web = listed(&client, "web").await;
    assert_eq!(
        (web["transport"].as_str(), web["url"].as_str()),
        (Some("http"), Some("http://127.0.0.1:9/mcp"))
    );
    assert_eq!(web["header_keys"], json!(["Authorization"]));

    // A bad document adds nothing and says what is wrong.
    let bad = rpc(
        &client,
        "mcp.import",
        json!({ "json": "{\"mcpServers\": {\"ok\": {\"command\": \"x\"}, \"b a d\": {}}}" }),
    )
    .await;
    assert_eq!(bad["error"]["data"]["kind"], "invalid_input", "{bad}");
    assert!(listed(&client, "ok").await.is_null());

    let pid = listed(&client, "one").await["pid"].as_u64().unwrap();
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    call(&client, "mcp.remove", json!({ "name": "one" })).await;
    assert!(!Path::new(&format!("/proc/{pid}")).exists(), "the server's process is gone");
    assert!(listed(&client, "one").await.is_null());
    let again = rpc(&client, "mcp.remove", json!({ "name": "one" })).await;
    assert_eq!(again["error"]["data"]["kind"], "not_found");
    engine.app.shutdown().await;
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_project_mcp_json_is_shown_disabled_and_started_only_when_enabled_then_again_at_start_up() {
    let Some(index) = everything() else { return };
    let dir = tempfile::tempdir().unwrap();
    let llm = atelier_testkit::TestLlm::start().await.expect("testkit");
    let engine = fresh(dir.path()).await;
    let client = engine.app.connect(ClientLimits::local());
    let folder = dir.path().join("cloned");
    let project =
        call(&client, "projects.create", json!({ "name": "cloned", "path": folder.to_string_lossy() })).await;
    let project_id = project["id"].as_str().unwrap().to_owned();
    let file = json!({ "mcpServers": { "repo-tools": { "command": "node", "args": [index, "stdio"] } } });
    std::fs::write(folder.join(".mcp.json"), file.to_string()).unwrap();

    // Opening the project (subscribing to it) shows the server; nothing starts.
    call(&client, "subscribe", json!({ "topics": [format!("project/{project_id}"), "mcp"] })).await;
    let shown = listed(&client, "repo-tools").await;
    assert_eq!(shown["origin"], "project_file", "{shown}");
    assert_eq!(shown["project_id"], project_id.as_str());
    assert_eq!((shown["enabled"].as_bool(), shown["sandbox"].as_bool()), (Some(false), Some(true)));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        listed(&client, "repo-tools").await["status"],
        "stopped",
        "a cloned repository starts nothing"
    );

    // The person enables it.
    let mut seen = Vec::new();
    call(&client, "mcp.set_enabled", json!({ "name": "repo-tools", "enabled": true })).await;
    mcp_event(&client, &mut seen, status_of("repo-tools", "ready")).await;

    // Enabled servers start with the engine.
    let keychain = engine.keychain.clone();
    engine.app.shutdown().await;
    let engine = engine_again(dir.path(), keychain, llm).await;
    let client = engine.app.connect(ClientLimits::local());
    let mut ready = false;
    for _ in 0..300 {
        if listed(&client, "repo-tools").await["status"] == "ready" {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "the enabled server started with the engine");
    let stopped = call(&client, "mcp.set_enabled", json!({ "name": "repo-tools", "enabled": false })).await;
    assert_eq!((stopped["status"].as_str(), stopped["enabled"].as_bool()), (Some("stopped"), Some(false)));
    let restart = rpc(&client, "mcp.restart", json!({ "name": "repo-tools" })).await;
    assert_eq!(restart["error"]["data"]["kind"], "conflict", "a disabled server is enabled, not restarted");
    engine.app.shutdown().await;
}

async fn engine_again(dir: &Path, keychain: Keychain, llm: atelier_testkit::TestLlm) -> Engine {
    engine(dir, keychain, llm).await
}

#[tokio::test]
async fn bad_mcp_input_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let engine = fresh(dir.path()).await;
    let client = engine.app.connect(ClientLimits::local());
    for (params, says) in [
        (json!({ "name": "x" }), "needs a `command`"),
        (json!({ "name": "x", "command": "a", "url": "http://h/mcp" }), "not both"),
        (json!({ "name": "with space", "command": "a" }), "not a usable MCP server name"),
        (json!({ "name": "x", "url": "file:///etc/passwd" }), "http"),
        (json!({ "name": "x", "url": "http://h/mcp", "env": { "A": "b" } }), "`env` is for stdio"),
        (json!({ "name": "x", "command": "a", "project_id": "prj_nope" }), "not found"),
    ] {
        let response = rpc(&client, "mcp.add", params.clone()).await;
        let message = response["error"]["message"].as_str().unwrap_or_default().to_owned();
        assert!(message.contains(says), "{params} → {response}");
    }
    assert_eq!(call(&client, "mcp.list", json!({})).await, json!([]));
    call(&client, "mcp.add", json!({ "name": "dup", "command": "atelier-nothing", "enabled": false })).await;
    let dup = rpc(&client, "mcp.add", json!({ "name": "dup", "command": "b" })).await;
    assert_eq!(dup["error"]["data"]["kind"], "conflict");
    let topic = rpc(&client, "subscribe", json!({ "topics": ["mcp"] })).await;
    assert!(topic.get("error").is_none(), "mcp is a topic");
    engine.app.shutdown().await;
}

/// The MCP tools run no command: a runner that says so if one were asked for.
struct NoRunner;

#[async_trait::async_trait]
impl atelier_tools::CommandRunner for NoRunner {
    async fn run(
        &self,
        _request: atelier_tools::RunRequest,
        _cancel: &CancellationToken,
        _on_output: &mut (dyn for<'b> FnMut(&'b [u8]) + Send),
    ) -> Result<atelier_sandbox::RunOutcome, String> {
        Err("no commands in this test".into())
    }

    fn confined(&self) -> bool {
        false
    }
}
