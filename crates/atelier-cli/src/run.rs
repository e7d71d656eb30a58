//! `atelier run`: a whole workflow from the terminal — an overall progress bar and one line per
//! working agent. Ctrl-C cancels cleanly (files already written stay); exit code 0 on success.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow};
use atelier_core::ClientLimits;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};

use crate::engine::{self, call};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project folder (made a project, with a git repository, if it is not one yet).
    #[arg(long, value_name = "DIR")]
    project: PathBuf,
    /// What to build or change.
    request: String,
    /// The model every agent uses [env: ATELIER_MODEL].
    #[arg(long)]
    model: Option<String>,
    /// Show the plan and ask before anything is written.
    #[arg(long)]
    approve: bool,
    /// A command that checks the result (e.g. `cargo test`); failures go back to the coders.
    #[arg(long, value_name = "CMD")]
    verify: Option<String>,
    /// How many coders write at once.
    #[arg(long, default_value_t = 4)]
    parallel: usize,
}

fn print_plan(plan: &Value) {
    println!("Plan: {}", plan["summary"].as_str().unwrap_or_default());
    for module in plan["modules"].as_array().into_iter().flatten() {
        println!(
            "  {} — {}",
            module["name"].as_str().unwrap_or_default(),
            module["responsibility"].as_str().unwrap_or_default()
        );
        for file in module["files"].as_array().into_iter().flatten() {
            println!(
                "    {}  {}",
                file["path"].as_str().unwrap_or_default(),
                file["purpose"].as_str().unwrap_or_default()
            );
        }
    }
    // Approving the plan approves this command too: it runs on this machine after the writing.
    if let Some(check) = plan["verify"].as_str().filter(|c| !c.trim().is_empty()) {
        println!("  then runs the check: {check}");
    }
}

fn ask(question: &str) -> bool {
    print!("{question} [y/N] ");
    if std::io::stdout().flush().is_err() {
        return false;
    }
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).is_ok() && matches!(answer.trim(), "y" | "Y" | "yes")
}

pub async fn run(args: Args, data_dir: PathBuf) -> anyhow::Result<ExitCode> {
    let project_dir = std::fs::canonicalize(&args.project)
        .with_context(|| format!("cannot open the project folder {}", args.project.display()))?;
    let app = engine::start(data_dir, args.model.clone()).await?;
    let client = app.connect(ClientLimits::local());
    let project = call(&client, "projects.import", json!({ "path": project_dir })).await?;
    let options = json!({
        "approve_plan": args.approve,
        "verify": args.verify,
        "max_parallel": args.parallel,
        "model": args.model,
    });
    let workflow = call(
        &client,
        "workflows.start",
        json!({ "project_id": project["id"], "request": args.request, "options": options }),
    )
    .await?;
    let id = workflow["id"].as_str().unwrap_or_default().to_owned();
    call(&client, "subscribe", json!({ "topics": [format!("workflow/{id}")], "after_seq": 0 })).await?;

    let bars = MultiProgress::with_draw_target(if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let overall = bars.add(ProgressBar::new(1000));
    overall.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {percent:>3}% {msg} (eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    overall.enable_steady_tick(Duration::from_millis(120));
    overall.set_message("planning");
    let agent_style = ProgressStyle::with_template("  {spinner} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let mut agents: HashMap<String, ProgressBar> = HashMap::new();
    let mut cancelling = false;

    let outcome = loop {
        let event = tokio::select! {
            event = client.next_event() => event,
            _ = tokio::signal::ctrl_c(), if !cancelling => {
                cancelling = true;
                overall.set_message("cancelling…");
                call(&client, "workflows.control", json!({ "id": id, "action": "cancel" })).await?;
                continue;
            }
        };
        let Some(event) = event else { break Err(anyhow!("the engine stopped")) };
        let data = &event.event.data;
        match event.event.kind.as_str() {
            "workflow.progress" => {
                overall.set_position((data["progress"].as_f64().unwrap_or(0.0) * 1000.0) as u64);
                overall.set_message(data["message"].as_str().unwrap_or_default().to_owned());
            }
            "plan.ready" if args.approve => {
                bars.suspend(|| print_plan(&data["plan"]));
            }
            "workflow.state" if data["state"] == "awaiting_approval" => {
                let approved = bars.suspend(|| ask("Write this plan?"));
                let action = if approved { "approve" } else { "cancel" };
                if approved {
                    call(&client, "workflows.approve_plan", json!({ "id": id })).await?;
                } else {
                    call(&client, "workflows.control", json!({ "id": id, "action": action })).await?;
                }
            }
            "agent.status" => {
                let agent = &data["agent"];
                let key = agent["id"].as_str().unwrap_or_default().to_owned();
                let line = format!(
                    "{} {} — {} ({} tokens)",
                    agent["role"].as_str().unwrap_or_default(),
                    agent["name"].as_str().unwrap_or_default(),
                    agent["status"].as_str().unwrap_or_default(),
                    agent["metrics"]["tokens_out"].as_u64().unwrap_or(0)
                );
                match agent["status"].as_str() {
                    Some("busy") => {
                        let bar = agents.entry(key).or_insert_with(|| {
                            let bar = bars.add(ProgressBar::new_spinner());
                            bar.set_style(agent_style.clone());
                            bar.enable_steady_tick(Duration::from_millis(120));
                            bar
                        });
                        bar.set_message(line);
                    }
                    _ => {
                        if let Some(bar) = agents.remove(&key) {
                            bar.finish_and_clear();
                        }
                    }
                }
            }
            "file.written" => {
                let path = data["path"].as_str().unwrap_or_default().to_owned();
                bars.suspend(|| println!("wrote {path} ({} bytes)", data["bytes"]));
            }
            "verify.skipped" => {
                let command = data["command"].as_str().unwrap_or_default().to_owned();
                bars.suspend(|| {
                    println!("not run: the plan's check `{command}` (nobody approved the plan; use --approve or --verify)")
                });
            }
            "verify.output" => {
                let passed = data["ok"].as_bool().unwrap_or(false);
                let round = data["round"].as_u64().unwrap_or(0);
                let place = match data["sandbox"].as_str() {
                    Some("none") => " (no sandbox)".to_owned(),
                    Some(mode) => format!(" (in {mode})"),
                    None => String::new(),
                };
                bars.suspend(|| {
                    println!("check {}: {}{place}", round + 1, if passed { "passed" } else { "failed" })
                });
            }
            "workflow.completed" => break Ok((data["summary"].clone(), data["commit"].clone())),
            "workflow.failed" => {
                break Err(anyhow!("{}", data["error"].as_str().unwrap_or("the workflow failed")));
            }
            "workflow.cancelled" => {
                let files = data["files"].as_array().map_or(0, Vec::len);
                break Err(anyhow!("cancelled; {files} file(s) written before the cancel were kept"));
            }
            _ => {}
        }
    };
    for bar in agents.values() {
        bar.finish_and_clear();
    }
    overall.finish_and_clear();
    app.shutdown().await;
    match outcome {
        Ok((summary, commit)) => {
            println!("done: {}", summary.as_str().unwrap_or_default());
            match commit.as_str() {
                Some(commit) => println!("commit {commit}"),
                None => println!("nothing changed, nothing committed"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if cancelling => {
            eprintln!("{e}");
            Ok(ExitCode::from(130))
        }
        Err(e) => Err(e),
    }
}
