//! `atelier mcp add | list | import | remove` with a real MCP server from npm
//! (`tests/mcp-peers`).

use std::path::Path;
use std::process::Stdio;

use atelier_testkit::TestLlm;

use crate::support::atelier;

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

async fn run(dir: &Path, llm: &str, args: &[&str]) -> (bool, String) {
    let mut cmd = tokio::process::Command::from(atelier(dir, llm));
    let out = cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).output().await.expect("runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[tokio::test]
async fn servers_are_added_ready_with_tools_listed_imported_and_removed() {
    let Some(index) = everything() else { return };
    let llm = TestLlm::start().await.expect("testkit");
    let dir = tempfile::tempdir().expect("tempdir");
    let url = llm.url();

    let (ok, text) =
        run(dir.path(), &url, &["mcp", "add", "everything", "--", "node", &index, "stdio"]).await;
    assert!(ok, "{text}");
    assert!(text.contains("everything  [stdio, enabled]"), "{text}");
    assert!(text.contains("ready with") && text.contains("echo"), "{text}");

    let config = dir.path().join("claude_desktop_config.json");
    let document = serde_json::json!({ "mcpServers": {
        "later": { "command": "atelier-not-installed", "args": ["--x"], "disabled": true },
        "broken": { "command": "sh", "args": ["-c", "echo 'needs a token' >&2; exit 2"] }
    }});
    std::fs::write(&config, document.to_string()).expect("write");
    let (ok, text) = run(dir.path(), &url, &["mcp", "import", &config.to_string_lossy()]).await;
    assert!(!ok, "a server that fails makes the import say so: {text}");
    assert!(text.contains("imported 2 server(s)"), "{text}");
    assert!(text.contains("later  [stdio, disabled]  atelier-not-installed --x"), "{text}");
    assert!(text.contains("exited with code 2 during start-up") && text.contains("needs a token"), "{text}");

    let (ok, text) = run(dir.path(), &url, &["mcp", "list"]).await;
    assert!(ok, "{text}");
    for name in ["everything  [stdio, enabled]", "later  [stdio, disabled]", "broken  [stdio, enabled]"] {
        assert!(text.contains(name), "{name} in {text}");
    }

    let (ok, text) = run(dir.path(), &url, &["mcp", "remove", "broken"]).await;
    assert!(ok && text.contains("removed broken"), "{text}");
    let (ok, text) = run(dir.path(), &url, &["mcp", "remove", "broken"]).await;
    assert!(!ok && text.contains("not found"), "{text}");
    let (_, text) = run(dir.path(), &url, &["mcp", "list"]).await;
    assert!(!text.contains("broken"), "{text}");

    let (ok, text) = run(dir.path(), &url, &["mcp", "add", "nothing"]).await;
    assert!(!ok && text.contains("give the server's command after --"), "{text}");
    let (ok, text) = run(dir.path(), &url, &["mcp", "add", "bad", "--env", "NOVALUE", "--", "x"]).await;
    assert!(!ok && text.contains("--env `NOVALUE` is not KEY=VALUE"), "{text}");
}
