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
        }
    }
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
        None => serde_json::from_value(
            call(&client, "sessions.create", json!({ "agent": args.agent, "model": args.model })).await?,
        )?,
    };
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
        let sent = call(&client, "messages.send", json!({ "session_id": session.id, "content": line })).await;
        let reply_id = match sent {
            Ok(v) => v["reply_id"].as_str().unwrap_or_default().to_owned(),
            Err(e) => {
                eprintln!("error: {e:#}");
                continue;
            }
        };
        failed = !stream_reply(&client, &session.id, &reply_id, &style).await?;
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

/// Prints the reply as it streams; returns false when it failed.
async fn stream_reply(
    client: &Client,
    session_id: &str,
    reply_id: &str,
    style: &Style,
) -> anyhow::Result<bool> {
    print!("{} ", style.bold("assistant:"));
    std::io::stdout().flush()?;
    let mut thinking = false;
    loop {
        let event = tokio::select! {
            e = client.next_event() => e,
            _ = tokio::signal::ctrl_c() => {
                call(client, "messages.stop", json!({ "session_id": session_id })).await?;
                continue;
            }
        };
        let Some(event) = event else { return Ok(false) };
        let data = &event.event.data;
        let about_reply =
            data["message_id"].as_str() == Some(reply_id) || data["message"]["id"].as_str() == Some(reply_id);
        if !about_reply {
            continue;
        }
        match event.event.kind.as_str() {
            "message.delta" => {
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
            "message.completed" => {
                if data["message"]["status"] == "interrupted" {
                    print!("{}", style.dim(" [stopped]"));
                }
                println!();
                return Ok(true);
            }
            "message.failed" => {
                println!();
                eprintln!("error: {}", data["error"]["message"].as_str().unwrap_or("the reply failed"));
                return Ok(false);
            }
            _ => {}
        }
    }
}
