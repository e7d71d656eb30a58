//! `atelier chat`: an interactive chat in the terminal through the same JSON-RPC API every
//! client uses. Replies stream as they are written; Ctrl-C stops a reply (at the prompt it
//! quits), Ctrl-D quits.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::anyhow;
use atelier_core::{Client, ClientLimits};
use atelier_protocol::{Message, MessageStatus, Role, Session};
use serde_json::json;

use crate::engine::{self, call};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Continue this session instead of starting a new one.
    #[arg(long)]
    session: Option<String>,
    /// The model to talk to [env: ATELIER_MODEL]; default: the first one the server lists.
    #[arg(long)]
    model: Option<String>,
    /// The chat agent for a new session (assistant, reviewer).
    #[arg(long, default_value = "assistant")]
    agent: String,
    /// Let the agent use tools on a project: read, search, edit files and run commands (which
    /// it asks for first).
    #[arg(long)]
    tools: bool,
    /// The project folder for --tools (default: the current folder); imported when new.
    #[arg(long)]
    project: Option<PathBuf>,
    /// Approve every command the agent asks to run, without asking.
    #[arg(long)]
    yes: bool,
}

struct Style {
    color: bool,
}

impl Style {
    fn dim(&self, s: &str) -> String {
        if self.color { format!("\x1b[2m{s}\x1b[0m") } else { s.to_owned() }
    }

    fn bold(&self, s: &str) -> String {
        if self.color { format!("\x1b[1m{s}\x1b[0m") } else { s.to_owned() }
    }
}

fn show(style: &Style, message: &Message) {
    match message.role {
        Role::System => println!("{}", style.dim(&format!("system: {}", message.content))),
        Role::User => println!("{} {}", style.bold("you>"), message.content),
        Role::Assistant => {
            let note = match message.status {
                MessageStatus::Interrupted => " [interrupted]",
                MessageStatus::Failed => " [failed]",
                _ => "",
            };
            println!("{} {}{}", style.bold("assistant:"), message.content, style.dim(note));
            for call in &message.tool_calls {
                println!("{}", style.dim(&format!("  → {} {}", call.name, call.arguments)));
            }
        }
        Role::Tool => {
            let status = message.tool_status.map(|s| format!("{s:?}").to_lowercase()).unwrap_or_default();
            let first = message.content.lines().next().unwrap_or_default();
            println!(
                "{}",
                style.dim(&format!("  ← {} {status}: {first}", message.name.as_deref().unwrap_or("tool")))
            );
        }
    }
}

/// The project for `--tools`: the one whose folder is `folder`, imported when there is none.
async fn project_for(client: &Client, folder: &std::path::Path) -> anyhow::Result<String> {
    let folder =
        folder.canonicalize().map_err(|e| anyhow!("the project folder {}: {e}", folder.display()))?;
    let projects: Vec<atelier_protocol::Project> =
        serde_json::from_value(call(client, "projects.list", json!({})).await?)?;
    let same = |p: &atelier_protocol::Project| {
        std::path::Path::new(&p.path).canonicalize().is_ok_and(|path| path == folder)
    };
    if let Some(project) = projects.iter().find(|p| same(p)) {
        return Ok(project.id.clone());
    }
    let project: atelier_protocol::Project =
        serde_json::from_value(call(client, "projects.import", json!({ "path": folder })).await?)?;
    Ok(project.id)
}

pub async fn run(args: Args, data_dir: PathBuf) -> anyhow::Result<ExitCode> {
    let app = engine::start(data_dir, args.model.clone()).await?;
    let client = app.connect(ClientLimits::local());
    let style = Style { color: std::io::stdout().is_terminal() };
    let session: Session = match &args.session {
        Some(id) => {
            let sessions: Vec<Session> =
                serde_json::from_value(call(&client, "sessions.list", json!({})).await?)?;
            sessions
                .into_iter()
                .find(|s| &s.id == id)
                .ok_or_else(|| anyhow!("no session `{id}`; start a new one by leaving out --session"))?
        }
        None => {
            let project = match (args.tools, &args.project) {
                (false, None) => None,
                (_, Some(folder)) => Some(project_for(&client, folder).await?),
                (true, None) => Some(project_for(&client, &std::env::current_dir()?).await?),
            };
            serde_json::from_value(
                call(
                    &client,
                    "sessions.create",
                    json!({ "agent": args.agent, "model": args.model, "project_id": project, "tools": args.tools }),
                )
                .await?,
            )?
        }
    };
    if args.tools && !session.tools {
        call(&client, "sessions.update", json!({ "id": session.id, "tools": true })).await?;
    }
    call(&client, "subscribe", json!({ "topics": [format!("session/{}", session.id)] })).await?;
    let history: Vec<Message> = serde_json::from_value(
        call(&client, "messages.list", json!({ "session_id": session.id, "limit": 50 })).await?,
    )?;
    println!(
        "{}",
        style.dim(&format!(
            "session {} ({}) — Enter sends, Ctrl-C stops a reply, Ctrl-D quits",
            session.id, session.agent
        ))
    );
    for message in &history {
        show(&style, message);
    }
    // Events queued by earlier activity are already shown by the history.
    while client.try_next_event().is_some() {}
    let mut lines = stdin_lines();
    let mut failed = false;
    loop {
        print!("{} ", style.bold("you>"));
        std::io::stdout().flush()?;
        // Once Ctrl-C is handled anywhere, its default (quit) is gone: at the prompt it quits.
        let line = tokio::select! {
            line = lines.recv() => line.transpose()?,
            _ = tokio::signal::ctrl_c() => None,
        };
        let Some(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        // What a stopped reply still announced belongs to it, not to the next one.
        while client.try_next_event().is_some() {}
        let sent = call(&client, "messages.send", json!({ "session_id": session.id, "content": line })).await;
        let reply_id = match sent {
            Ok(v) => v["reply_id"].as_str().unwrap_or_default().to_owned(),
            Err(e) => {
                eprintln!("error: {e:#}");
                continue;
            }
        };
        failed = !stream_reply(&client, &session.id, &reply_id, &style, args.yes, &mut lines).await?;
    }
    println!();
    app.shutdown().await;
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Lines typed by the person, read on a thread of their own: a read blocked in the runtime's
/// blocking pool would keep the program from exiting after Ctrl-C at the prompt.
fn stdin_lines() -> tokio::sync::mpsc::Receiver<std::io::Result<String>> {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            if tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Prints the reply as it streams, with an agent's tool calls and their results, asking the
/// person before a call that waits for approval (`--yes` allows each). Returns false when the
/// reply failed.
async fn stream_reply(
    client: &Client,
    session_id: &str,
    reply_id: &str,
    style: &Style,
    yes: bool,
    lines: &mut tokio::sync::mpsc::Receiver<std::io::Result<String>>,
) -> anyhow::Result<bool> {
    print!("{} ", style.bold("assistant:"));
    std::io::stdout().flush()?;
    let mut thinking = false;
    // The messages of this reply: the first, then each step of an agent loop.
    let mut current = reply_id.to_owned();
    loop {
        let event = tokio::select! {
            e = client.next_event() => e,
            _ = tokio::signal::ctrl_c() => {
                call(client, "messages.stop", json!({ "session_id": session_id })).await?;
                // The loop ends where it is (a running command is killed); what it said stays.
                println!("{}", style.dim(" [stopped]"));
                return Ok(true);
            }
        };
        let Some(event) = event else { return Ok(false) };
        let data = &event.event.data;
        match event.event.kind.as_str() {
            "message.created" if data["message"]["role"] == "assistant" => {
                // The loop's next step.
                current = data["message"]["id"].as_str().unwrap_or_default().to_owned();
                print!("{} ", style.bold("assistant:"));
                std::io::stdout().flush()?;
            }
            "message.delta" if data["message_id"].as_str() == Some(&current) => {
                let text = data["delta"].as_str().unwrap_or_default();
                let reasoning = data["reasoning"].as_bool().unwrap_or(false);
                if reasoning != thinking {
                    thinking = reasoning;
                    if reasoning {
                        print!("{}", style.dim("(thinking) "));
                    } else {
                        println!();
                    }
                }
                if reasoning {
                    print!("{}", style.dim(text))
                } else {
                    print!("{text}")
                }
                std::io::stdout().flush()?;
            }
            "tool.call" => {
                let name = data["call"]["name"].as_str().unwrap_or("tool");
                let call_id = data["call"]["id"].as_str().unwrap_or_default().to_owned();
                println!("{}", style.dim(&format!("\n  → {name} {}", data["call"]["arguments"])));
                if data["needs_approval"] == true {
                    let decision = if yes { "allow" } else { ask(name, lines).await? };
                    call(client, "tools.approve", json!({ "call_id": call_id, "decision": decision }))
                        .await?;
                }
            }
            "tool.output" => {
                print!("{}", style.dim(data["delta"].as_str().unwrap_or_default()));
                std::io::stdout().flush()?;
            }
            "tool.result" => {
                let content = data["content"].as_str().unwrap_or_default();
                let first = content.lines().next().unwrap_or_default();
                println!(
                    "{}",
                    style.dim(&format!("  ← {}: {first}", data["status"].as_str().unwrap_or("ok")))
                );
            }
            "message.completed" if data["message"]["id"].as_str() == Some(&current) => {
                if data["message"]["status"] == "interrupted" {
                    print!("{}", style.dim(" [stopped]"));
                    println!();
                    return Ok(true);
                }
                println!();
                // A step that called tools goes on; one that did not is the answer.
                let called = data["message"]["tool_calls"].as_array().is_some_and(|c| !c.is_empty());
                if !called {
                    return Ok(true);
                }
            }
            "message.failed" if data["message_id"].as_str() == Some(&current) => {
                println!();
                eprintln!("error: {}", data["error"]["message"].as_str().unwrap_or("the reply failed"));
                return Ok(false);
            }
            "message.failed" => {
                // A failure after the last step (the loop stopped): its own message.
                println!();
                eprintln!("error: {}", data["error"]["message"].as_str().unwrap_or("the agent stopped"));
                return Ok(false);
            }
            _ => {}
        }
    }
}

/// Asks whether a call may run: `y` allows it, `a` allows the tool in this project for good,
/// anything else denies it.
async fn ask(
    name: &str,
    lines: &mut tokio::sync::mpsc::Receiver<std::io::Result<String>>,
) -> anyhow::Result<&'static str> {
    print!("  allow {name}? [y]es / [n]o / [a]lways: ");
    std::io::stdout().flush()?;
    let answer = lines.recv().await.transpose()?.unwrap_or_default();
    Ok(match answer.trim().to_lowercase().as_str() {
        "y" | "yes" => "allow",
        "a" | "always" => "allow_always",
        _ => "deny",
    })
}
