//! `atelier doctor`: checks the data folder, the database, each model endpoint and its models
//! (the same checks as `system.health`), the disk's free space, and the sandbox for agents'
//! commands, and says exactly what to do about each problem (and how to get a stronger
//! sandbox). Exits non-zero when something needs fixing.

use std::path::PathBuf;
use std::process::ExitCode;

use atelier_core::CoreError;
use atelier_protocol::HealthStatus;

use crate::engine;

#[derive(Debug, clap::Args)]
pub struct Args {}

struct Report {
    problems: usize,
}

impl Report {
    fn ok(&self, what: &str, detail: &str) {
        println!("  ok    {what}: {detail}");
    }

    /// Worth knowing, not a fault: e.g. a sandbox the person turned off.
    fn note(&self, what: &str, detail: &str, fix: &str) {
        println!("  note  {what}: {detail}");
        for line in fix.lines() {
            println!("        → {line}");
        }
    }

    fn warn(&mut self, what: &str, detail: &str, fix: &str) {
        self.problems += 1;
        println!("  FAIL  {what}: {detail}");
        for line in fix.lines() {
            println!("        → {line}");
        }
    }
}

pub async fn run(_args: Args, data_dir: PathBuf) -> anyhow::Result<ExitCode> {
    let mut report = Report { problems: 0 };
    println!("Atelier {} doctor", env!("CARGO_PKG_VERSION"));
    println!("  data folder: {}", data_dir.display());

    let probe = data_dir.join(".doctor-write-test");
    match std::fs::create_dir_all(&data_dir).and_then(|()| std::fs::write(&probe, b"ok")) {
        Ok(()) => {
            if let Err(e) = std::fs::remove_file(&probe) {
                tracing::debug!(error = %e, "removing the write probe");
            }
            report.ok("data folder", "writable");
        }
        Err(e) => report.warn(
            "data folder",
            &format!("cannot write: {e}"),
            "choose a writable folder with --data-dir DIR or ATELIER_DATA_DIR",
        ),
    }

    let app = match engine::start(data_dir.clone(), None).await {
        Ok(app) => {
            match app.store().integrity_check().await {
                Ok(result) if result == "ok" => {
                    let counts = app.store().counts().await.ok();
                    let detail = counts.map_or_else(
                        || "integrity ok".to_owned(),
                        |c| {
                            format!(
                                "integrity ok; {} projects, {} sessions, {} messages",
                                c.projects, c.sessions, c.messages
                            )
                        },
                    );
                    report.ok("database", &detail);
                }
                Ok(result) => report.warn(
                    "database",
                    &format!("integrity check says: {result}"),
                    "stop Atelier and restore atelier.db from a backup",
                ),
                Err(e) => report.warn("database", &e.to_string(), "check the data folder's permissions"),
            }
            Some(app)
        }
        Err(e) if e.downcast_ref::<CoreError>().is_some_and(|c| matches!(c, CoreError::Conflict(_))) => {
            report.ok("database", "in use by a running Atelier (its /health reports on it)");
            None
        }
        Err(e) => {
            report.warn(
                "database",
                &format!("{e:#}"),
                "check the data folder's permissions and free disk space",
            );
            None
        }
    };

    let provider = engine::provider()?;
    match provider.pool() {
        Some(pool) => {
            let status = pool.status();
            println!(
                "  model endpoints ({} pooled, up to {} requests at once each):",
                status.len(),
                status[0].limit
            );
            for (i, endpoint) in status.iter().enumerate() {
                println!("    {}. {} {}", i + 1, endpoint.kind, endpoint.endpoint);
            }
        }
        None => println!("  model endpoint: {} at {}", provider.name(), provider.endpoint()),
    }
    let wanted: Vec<String> =
        std::env::var("ATELIER_MODEL").ok().filter(|m| !m.is_empty()).into_iter().collect();
    for check in atelier_core::model_endpoint_checks(provider.as_ref(), &wanted).await {
        let detail = check.detail.clone().unwrap_or_default();
        let name = check.name.replace('_', " ");
        if check.status == HealthStatus::Ok {
            report.ok(&name, &detail);
        } else if detail.contains("not reachable") {
            report.warn(
                &name,
                &detail,
                "install Ollama (https://ollama.com/download) and start it: `ollama serve`\n\
                 if it runs on another machine or port, set OLLAMA_HOST=host:port\n\
                 for an OpenAI-compatible server set ATELIER_OPENAI_BASE_URL=http://host:port/v1\n\
                 (files, git, terminals and history keep working without a model)",
            );
        } else {
            report.warn(&name, &detail, "or unset ATELIER_MODEL to use the first model the server lists");
        }
    }
    let disk = atelier_core::disk_check(&data_dir).await;
    let detail = disk.detail.clone().unwrap_or_default();
    if disk.status == HealthStatus::Ok {
        report.ok("disk", &detail);
    } else {
        report.warn("disk", &detail, "free space on that disk, or move the data folder with --data-dir DIR");
    }
    sandbox(&mut report, app.as_ref()).await;
    if let Some(app) = app {
        app.shutdown().await;
    }
    if report.problems == 0 {
        println!("Everything looks good.");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{} problem(s) found; see the → lines above.", report.problems);
        Ok(ExitCode::FAILURE)
    }
}

/// The sandbox agents' commands run in: the engine's (the stored setting) when this doctor could
/// open the data folder, else what `auto` finds on this machine.
async fn sandbox(report: &mut Report, app: Option<&atelier_core::App>) {
    use atelier_sandbox::{Sandbox, SandboxSetting};
    let status = match app {
        Some(app) => app.sandbox_status(),
        None => {
            let detected = tokio::task::spawn_blocking(|| Sandbox::detect(SandboxSetting::Auto)).await;
            match detected {
                Ok(Ok(sandbox)) => {
                    let r = sandbox.report();
                    let status = match r.status {
                        atelier_sandbox::ReportStatus::Ok => HealthStatus::Ok,
                        atelier_sandbox::ReportStatus::Degraded => HealthStatus::Degraded,
                        atelier_sandbox::ReportStatus::Down => HealthStatus::Down,
                    };
                    atelier_protocol::SandboxStatus {
                        setting: "auto".into(),
                        mode: Some(sandbox.mode().name().to_owned()),
                        engine: None,
                        status,
                        summary: r.summary,
                        advice: r.advice,
                        error: None,
                        memory: r.memory,
                        network: false,
                        allow_read: Vec::new(),
                        memory_mb: None,
                    }
                }
                Ok(Err(e)) => {
                    report.warn(
                        "sandbox",
                        &e.to_string(),
                        "agents' commands and workflow checks cannot run until this is fixed",
                    );
                    return;
                }
                Err(e) => {
                    report.warn("sandbox", &format!("detection failed: {e}"), "run `atelier doctor` again");
                    return;
                }
            }
        }
    };
    let what = format!("sandbox ({})", status.setting);
    match (&status.error, status.mode.as_deref()) {
        (Some(error), _) => report.warn(
            &what,
            error,
            "agents' commands and workflow checks cannot run until this is fixed, or choose another \n\
             sandbox in Settings → Sandbox (`atelier` setting `sandbox`: auto, bubblewrap, container, off)",
        ),
        // Off by choice, or a platform without a sandbox: said, with the way out, not a fault.
        (None, Some("none")) => {
            report.note(&what, &status.summary, status.advice.as_deref().unwrap_or_default());
        }
        (None, _) if status.status == HealthStatus::Ok => report.ok(&what, &status.summary),
        (None, _) => report.warn(&what, &status.summary, status.advice.as_deref().unwrap_or_default()),
    }
}
