//! `atelier models list|pull|rm`: the model server's models, talked to directly (no data
//! folder needed, so it works beside a running `atelier serve`). A pull shows a progress bar;
//! Ctrl-C stops it and a later pull resumes.

use std::io::IsTerminal;
use std::process::ExitCode;

use atelier_llm::{LlmError, PullProgress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio_util::sync::CancellationToken;

use crate::engine;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// The models the server has, with size, family, quantization and context length.
    List,
    /// Download a model (e.g. `llama3.2`, `qwen2.5-coder:7b`).
    Pull { name: String },
    /// Remove a downloaded model.
    Rm { name: String },
}

fn explain(e: LlmError, name: &str) -> anyhow::Error {
    match e {
        LlmError::ModelNotFound { .. } => anyhow::anyhow!(
            "there is no model `{name}`; check the name (for example `llama3.2` or `qwen2.5-coder:7b`)"
        ),
        LlmError::Unreachable { endpoint, .. } => anyhow::anyhow!(
            "no model server is reachable at {endpoint}; start Ollama (`ollama serve`) or set OLLAMA_HOST"
        ),
        other => other.into(),
    }
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let provider = engine::provider()?;
    match args.action {
        Action::List => {
            let models = provider.list_models().await.map_err(|e| explain(e, ""))?;
            if models.is_empty() {
                println!("no models yet: `atelier models pull llama3.2` downloads one");
            }
            for m in models {
                let size = m.size.map(|s| format!("{:.1} GB", s as f64 / 1e9)).unwrap_or_default();
                let context = m.context_length.map(|c| format!("{c} tokens")).unwrap_or_default();
                println!(
                    "{:<32} {:>9}  {:<10} {:<8} {}",
                    m.name,
                    size,
                    m.family.unwrap_or_default(),
                    m.quantization.unwrap_or_default(),
                    context
                );
            }
        }
        Action::Pull { name } => {
            let bar = ProgressBar::with_draw_target(
                None,
                if std::io::stderr().is_terminal() {
                    ProgressDrawTarget::stderr()
                } else {
                    ProgressDrawTarget::hidden()
                },
            );
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg:<28} {bar:30} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let cancel = CancellationToken::new();
            let stop = cancel.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    stop.cancel();
                }
            });
            let mut last_status = String::new();
            let mut on_progress = |p: PullProgress| {
                if let (Some(total), Some(done)) = (p.total, p.completed) {
                    bar.set_length(total);
                    bar.set_position(done);
                }
                if p.status != last_status {
                    if !std::io::stderr().is_terminal() {
                        println!("{}", p.status);
                    }
                    bar.set_message(p.status.clone());
                    last_status = p.status;
                }
            };
            match provider.pull_model(&name, &cancel, &mut on_progress).await {
                Ok(()) => {
                    bar.finish_and_clear();
                    println!("pulled {name}");
                }
                Err(LlmError::Cancelled) => {
                    bar.abandon();
                    eprintln!("stopped; `atelier models pull {name}` resumes the download");
                    return Ok(ExitCode::from(130));
                }
                Err(e) => {
                    bar.abandon();
                    return Err(explain(e, &name));
                }
            }
        }
        Action::Rm { name } => {
            provider.delete_model(&name).await.map_err(|e| explain(e, &name))?;
            println!("removed {name}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
