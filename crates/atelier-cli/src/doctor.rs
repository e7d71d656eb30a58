//! `atelier doctor`: checks the data folder, the database, the model endpoint and its models,
//! and says exactly what to do about each problem. Exits non-zero when something needs fixing.

use std::path::PathBuf;
use std::process::ExitCode;

use atelier_core::CoreError;

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
    let endpoint = provider.endpoint().to_owned();
    match provider.version().await {
        Ok(version) => report.ok("model endpoint", &format!("{} {version} at {endpoint}", provider.name())),
        Err(e) => report.warn(
            "model endpoint",
            &format!("{} at {endpoint} is not reachable ({e})", provider.name()),
            "install Ollama (https://ollama.com/download) and start it: `ollama serve`\n\
             if it runs on another machine or port, set OLLAMA_HOST=host:port\n\
             for an OpenAI-compatible server set ATELIER_OPENAI_BASE_URL=http://host:port/v1\n\
             (files, git, terminals and history keep working without a model)",
        ),
    }
    match provider.list_models().await {
        Ok(models) if models.is_empty() => report.warn(
            "models",
            "the model server has no models",
            "pull one, e.g. `ollama pull llama3.2` (or `qwen2.5-coder` for code)",
        ),
        Ok(models) => {
            let names: Vec<_> = models.iter().take(8).map(|m| m.name.as_str()).collect();
            let more =
                if models.len() > 8 { format!(" and {} more", models.len() - 8) } else { String::new() };
            report.ok("models", &format!("{}{more}", names.join(", ")));
            if let Ok(wanted) = std::env::var("ATELIER_MODEL")
                && !models.iter().any(|m| m.name == wanted || m.name == format!("{wanted}:latest"))
            {
                report.warn(
                    "default model",
                    &format!("ATELIER_MODEL is `{wanted}`, which the server does not have"),
                    &format!("pull it: `ollama pull {wanted}`, or unset ATELIER_MODEL"),
                );
            }
        }
        Err(_) => {} // Already reported as unreachable above.
    }
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
