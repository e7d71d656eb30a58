//! The App's sandbox: `sandbox.status` and the `sandbox` health check name the mode in force,
//! the `sandbox.*` settings shape what a run may do, and `off` runs commands unconfined only
//! after the person changed the setting.

use std::path::PathBuf;
use std::time::Duration;

use atelier_core::App;
use atelier_sandbox::RunSpec;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::support::{Harness, call, rpc};

/// Runs `command` as an agent's command runs: through `App::sandbox_for` for `project`.
async fn run_as_agent(app: &App, project: &std::path::Path, command: &str) -> atelier_sandbox::RunOutcome {
    let (sandbox, policy) = app.sandbox_for(project).expect("a sandbox");
    let spec = RunSpec {
        command: command.into(),
        policy,
        timeout: Duration::from_secs(60),
        output_cap: 1 << 16,
        env: Vec::new(),
    };
    sandbox.run(spec, &CancellationToken::new(), &mut |_| {}).await.expect("it starts")
}

struct Secret(PathBuf);

impl Drop for Secret {
    fn drop(&mut self) {
        std::fs::remove_file(&self.0).ok();
    }
}

fn plant_secret() -> Secret {
    let home = PathBuf::from(std::env::var_os("HOME").expect("HOME"));
    let path = home.join(format!(".atelier-core-test-secret-{}", std::process::id()));
    std::fs::write(&path, "core-planted-secret").unwrap();
    Secret(path)
}

#[tokio::test]
async fn status_and_health_name_the_sandbox_in_force() {
    let h = Harness::new().await;
    let client = h.client();
    let status = call(&client, "sandbox.status", json!({})).await;
    assert_eq!(status["setting"], "auto");
    assert_eq!(status["mode"], "bubblewrap", "{status}");
    assert_eq!(status["status"], "ok");
    assert_eq!(status["network"], false);
    assert!(status["summary"].as_str().unwrap().ends_with("; no network"), "{status}");
    let health = call(&client, "system.health", json!({})).await;
    let check = health["checks"].as_array().unwrap().iter().find(|c| c["name"] == "sandbox").unwrap().clone();
    assert_eq!(check["status"], "ok");
    assert!(check["detail"].as_str().unwrap().contains("bubblewrap"), "{check}");
    h.app.shutdown().await;
}

#[tokio::test]
async fn off_runs_unconfined_only_after_the_setting_is_changed() {
    let h = Harness::new().await;
    let client = h.client();
    let secret = plant_secret();
    let project = tempfile::tempdir().unwrap();
    let read = format!("cat '{}'", secret.0.display());
    let out = run_as_agent(&h.app, project.path(), &read).await;
    assert!(!out.output.contains("core-planted-secret"), "confined by default: {out:?}");

    let settings = call(&client, "settings.set", json!({"key": "sandbox", "value": "off"})).await;
    assert_eq!(settings["sandbox"], "off");
    let out = run_as_agent(&h.app, project.path(), &read).await;
    assert!(out.output.contains("core-planted-secret"), "off is off: {out:?}");
    let status = call(&client, "sandbox.status", json!({})).await;
    assert_eq!((status["mode"].as_str(), status["status"].as_str()), (Some("none"), Some("degraded")));
    let health = call(&client, "system.health", json!({})).await;
    let check = health["checks"].as_array().unwrap().iter().find(|c| c["name"] == "sandbox").unwrap().clone();
    assert_eq!(check["status"], "degraded");
    assert!(check["detail"].as_str().unwrap().contains("the sandbox is off"), "{check}");

    call(&client, "settings.set", json!({"key": "sandbox", "value": null})).await;
    let out = run_as_agent(&h.app, project.path(), &read).await;
    assert!(!out.output.contains("core-planted-secret"), "confined again: {out:?}");
    h.app.shutdown().await;
}

#[tokio::test]
async fn a_bad_value_is_refused_and_changes_nothing() {
    let h = Harness::new().await;
    let client = h.client();
    let response = rpc(&client, "settings.set", json!({"key": "sandbox", "value": "docker"})).await;
    assert_eq!(response["error"]["data"]["kind"], "invalid_input", "{response}");
    assert!(response["error"]["message"].as_str().unwrap().contains("auto, bubblewrap, container, off"));
    let response =
        rpc(&client, "settings.set", json!({"key": "sandbox.allow_read", "value": "relative/dir"})).await;
    assert_eq!(response["error"]["data"]["kind"], "invalid_input", "{response}");
    assert_eq!(call(&client, "sandbox.status", json!({})).await["mode"], "bubblewrap");
    h.app.shutdown().await;
}

#[tokio::test]
async fn the_settings_shape_what_a_run_may_do() {
    let h = Harness::new().await;
    let client = h.client();
    let tools = tempfile::tempdir().unwrap();
    std::fs::write(tools.path().join("tool"), "tool-text").unwrap();
    call(
        &client,
        "settings.set",
        json!({"key": "sandbox.allow_read", "value": tools.path().display().to_string()}),
    )
    .await;
    call(&client, "settings.set", json!({"key": "sandbox.network", "value": "true"})).await;
    call(&client, "settings.set", json!({"key": "sandbox.memory_mb", "value": "512"})).await;
    let status = call(&client, "sandbox.status", json!({})).await;
    assert_eq!(status["network"], true);
    assert_eq!(status["memory_mb"], 512);
    assert_eq!(status["allow_read"], json!([tools.path().display().to_string()]));
    let project = tempfile::tempdir().unwrap();
    let (_, policy) = h.app.sandbox_for(project.path()).unwrap();
    assert!(policy.network && policy.memory_mb == Some(512));
    let out = run_as_agent(&h.app, project.path(), &format!("cat '{}/tool'", tools.path().display())).await;
    assert!(out.output.contains("tool-text"), "an allowed folder is readable: {out:?}");
    h.app.shutdown().await;
}

#[tokio::test]
async fn a_sandbox_that_cannot_start_is_said_and_refuses_to_run() {
    let h = Harness::new().await;
    let client = h.client();
    // No container engine answers on this machine (none runs in CI).
    call(&client, "settings.set", json!({"key": "sandbox", "value": "container"})).await;
    let status = call(&client, "sandbox.status", json!({})).await;
    if status["mode"] == "container" {
        return; // a machine with Podman or Docker running: nothing to refuse
    }
    assert_eq!(status["mode"], serde_json::Value::Null);
    assert!(status["error"].as_str().unwrap().contains("container sandbox cannot run here"), "{status}");
    let project = tempfile::tempdir().unwrap();
    let err = h.app.sandbox_for(project.path()).unwrap_err();
    assert!(err.to_string().contains("cannot run here"), "{err}");
    h.app.shutdown().await;
}
