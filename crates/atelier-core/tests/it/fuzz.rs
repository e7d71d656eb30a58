//! A property test over the whole JSON-RPC surface: every method the dispatcher routes (read
//! from `src/rpc.rs`, so a new method is fuzzed without anyone remembering to add it) gets
//! params made of hostile values — escaping paths, NUL bytes, over-long names, wrong types, ids
//! of real and missing things. Every request must get a well-formed answer: a result, or an
//! error whose kind is not `internal` and whose message names no local path; nothing panics,
//! and the client is still served afterwards.
//!
//! Bounded for CI: `ATELIER_FUZZ_CASES` cases (default 1,000, a few seconds); set it higher to
//! search longer.

use std::sync::Arc;

use atelier_core::{App, Client, ClientLimits, Config};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestCaseError, TestRunner};
use serde_json::{Value, json};

/// Methods left out: they act on the machine outside the data folder by design (export writes
/// a zip wherever it is told, import registers any folder and creates a repository in it) or on
/// the OS keychain; their own tests cover their inputs.
const SKIPPED: &[&str] = &["projects.export", "projects.import", "settings.set_key", "settings.delete_key"];

fn methods() -> Vec<String> {
    let source = include_str!("../../src/rpc.rs");
    let mut out: Vec<String> = vec!["subscribe".into(), "unsubscribe".into()];
    for piece in source.split('"').skip(1).step_by(2) {
        let is_method = piece.split_once('.').is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && piece.bytes().all(|c| c.is_ascii_lowercase() || c == b'.' || c == b'_')
        });
        if is_method && !SKIPPED.contains(&piece) && !out.iter().any(|m| m == piece) {
            out.push(piece.to_owned());
        }
    }
    out
}

/// Param names the API uses; a generated request picks some of them.
const KEYS: &[&str] = &[
    "id",
    "project_id",
    "session_id",
    "workflow_id",
    "terminal_id",
    "path",
    "paths",
    "content",
    "name",
    "branch",
    "create",
    "rev",
    "message",
    "limit",
    "before",
    "query",
    "topics",
    "after_seq",
    "action",
    "plan",
    "request",
    "options",
    "cols",
    "rows",
    "data",
    "key",
    "value",
    "provider",
    "remote",
    "staged",
    "delete_files",
    "agent",
    "model",
    "title",
    "copy",
    "include_ignored",
    "kind",
    "from",
    "to",
    "replacement",
    "regex",
    "case_sensitive",
    "glob",
    "preview",
    "commit",
    "ids",
    "include_archived",
];

fn hostile_strings(ids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = [
        "",
        ".",
        "..",
        "./",
        "../x",
        "a/../../b",
        "/",
        "/etc/passwd",
        "/tmp",
        "C:\\x",
        "\\\\server\\share",
        "a\u{0}b",
        ".git/config",
        ".GIT/x",
        "con",
        "nul.txt",
        "x/aux/y",
        "HEAD",
        "main",
        "-x",
        "a..b",
        "refs/heads/main",
        "\u{FFFD}",
        "💥",
        " ",
        "\n",
        "%s%n",
        "<script>",
        "d/f.txt",
        "src",
        "prj_nope",
        "ses_nope",
        "wf_nope",
        "term_nope",
        "0000000000000000000000000000000000000000",
        "system",
        "project/../x",
        "session/",
        "pause",
        "resume",
        "cancel",
        "retry",
        "approve",
        "assistant",
        "nope",
        "ollama",
        "openai",
        "theme",
        "default_model",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    out.push("n".repeat(300));
    out.push(vec!["dir"; 1500].join("/"));
    out.push("x".repeat(70_000));
    out.extend(ids.iter().cloned());
    out
}

fn value(strings: Vec<String>) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        4 => proptest::sample::select(strings).prop_map(Value::String),
        1 => any::<String>().prop_map(Value::String),
        1 => any::<i64>().prop_map(|n| json!(n)),
        1 => proptest::sample::select(vec![json!(0), json!(-1), json!(1.5), json!(u64::MAX), json!(65535)]),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::Null),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(proptest::sample::select(KEYS.to_vec()), inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

/// Params with most of the API's param names present, mostly as hostile strings (or lists of
/// them, for `paths` and `topics`), so that every method's required params are often there and
/// calls get past parsing into the code that acts.
fn request(methods: Vec<String>, strings: Vec<String>) -> impl Strategy<Value = (String, Value)> {
    let field = prop_oneof![
        6 => proptest::sample::select(strings.clone()).prop_map(Value::String),
        2 => proptest::collection::vec(proptest::sample::select(strings.clone()), 0..3)
            .prop_map(|v| Value::Array(v.into_iter().map(Value::String).collect())),
        2 => value(strings),
    ];
    let fields = proptest::collection::vec(proptest::option::weighted(0.75, field), KEYS.len());
    let params = fields.prop_map(|values| {
        Value::Object(KEYS.iter().zip(values).filter_map(|(k, v)| v.map(|v| ((*k).to_owned(), v))).collect())
    });
    (proptest::sample::select(methods), params)
}

fn check(method: &str, params: &Value, text: &str, secrets: &[String]) -> Result<(), TestCaseError> {
    let response: Value =
        serde_json::from_str(text).map_err(|e| TestCaseError::fail(format!("not JSON ({e}): {text}")))?;
    // Failures print the request; hostile values can be very long.
    let params = &Value::String(params.to_string().chars().take(300).collect());
    let text: &str = &text.chars().take(600).collect::<String>();
    prop_assert_eq!(&response["jsonrpc"], "2.0");
    prop_assert_eq!(&response["id"], "fuzz", "{} {}: {}", method, params, text);
    if let Some(error) = response.get("error") {
        let kind = error["data"]["kind"].as_str().unwrap_or_default();
        prop_assert!(
            [
                "invalid_input",
                "not_found",
                "conflict",
                "unauthorized",
                "rate_limited",
                "unavailable",
                "cancelled"
            ]
            .contains(&kind),
            "{} {} answered kind {:?}: {}",
            method,
            params,
            kind,
            text
        );
        let message = error["message"].as_str().unwrap_or_default();
        prop_assert!(!message.is_empty());
        for secret in secrets {
            prop_assert!(
                !message.contains(secret.as_str()),
                "{} {} names a local path: {}",
                method,
                params,
                message
            );
        }
    } else {
        prop_assert!(response.get("result").is_some(), "{}", text);
    }
    Ok(())
}

async fn call(client: &Client, method: &str, params: Value) -> Value {
    let text = client
        .handle_text(
            &json!({ "jsonrpc": "2.0", "id": "fuzz", "method": method, "params": params }).to_string(),
        )
        .await
        .expect("an answer");
    serde_json::from_str::<Value>(&text).expect("JSON")["result"].clone()
}

#[test]
fn every_method_answers_hostile_params_without_internal_errors_or_local_paths() {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let llm = runtime.block_on(atelier_testkit::TestLlm::start()).expect("testkit");
    let dir = tempfile::tempdir().expect("tempdir");
    let app = runtime.block_on(async {
        let provider =
            atelier_llm::OllamaProvider::new(llm.url().parse().expect("url"), crate::support::llm_config())
                .expect("provider");
        let mut config = Config::new(dir.path().to_path_buf(), Arc::new(provider));
        config.keychain = atelier_core::keychain::Keychain::new("dev.atelier.fuzz-tests");
        App::start(config).await.expect("app")
    });
    let client = app.connect(ClientLimits::local());
    // Real things for the ids to hit, so that calls get past "not found".
    let (project, session) = runtime.block_on(async {
        let project = call(&client, "projects.create", json!({ "name": "fuzz" })).await;
        let id = project["id"].as_str().expect("project").to_owned();
        call(&client, "files.write", json!({ "project_id": id, "path": "d/f.txt", "content": "x\n" })).await;
        let session = call(&client, "sessions.create", json!({ "project_id": id })).await;
        (project, session["id"].as_str().expect("session").to_owned())
    });
    let project_id = project["id"].as_str().expect("id").to_owned();
    let secrets = vec![
        dir.path().to_string_lossy().into_owned(),
        dir.path().canonicalize().expect("real path").to_string_lossy().into_owned(),
    ];
    let strings = hostile_strings(&[project_id.clone(), session.clone()]);
    let cases = std::env::var("ATELIER_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let mut runner =
        TestRunner::new(RunnerConfig { cases, failure_persistence: None, ..RunnerConfig::default() });
    let all = methods();
    assert!(all.len() > 40, "the methods were read from rpc.rs: {all:?}");
    let result = runner.run(&request(all, strings), |(method, mut params)| {
        // Without a generated project id, aim at the real project, so path and git checks are reached.
        if params.get("project_id").is_none()
            && method
                .split('.')
                .next()
                .is_some_and(|g| ["files", "git", "checkpoints", "terminals"].contains(&g))
        {
            params["project_id"] = json!(project_id);
        }
        let request =
            json!({ "jsonrpc": "2.0", "id": "fuzz", "method": method, "params": params }).to_string();
        let text = runtime
            .block_on(client.handle_text(&request))
            .ok_or_else(|| TestCaseError::fail(format!("no answer to {request}")))?;
        check(&method, &params, &text, &secrets)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let pong = runtime.block_on(call(&client, "system.ping", json!({})));
    assert_eq!(pong["pong"], true, "the client is still served");
    runtime.block_on(app.shutdown());
}
