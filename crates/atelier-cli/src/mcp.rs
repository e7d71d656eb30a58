//! `atelier mcp list | add | remove | import`: MCP servers from the terminal, through the same
//! JSON-RPC API every client uses (`mcp.*`). `add` and `import` start what they add and wait
//! for it to be ready (or say why not); `env` and header values go to the OS keychain.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use atelier_core::{Client, ClientLimits};
use atelier_protocol::McpServer;
use serde_json::json;

use crate::engine::{self, call};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// List the MCP servers: transport, enabled, trusted, tools when started here.
    List,
    /// Add a server and start it: `atelier mcp add NAME -- COMMAND ARGS…` (stdio) or
    /// `atelier mcp add NAME --url URL` (Streamable HTTP).
    Add(AddArgs),
    /// Remove a server (its stored environment and header values too).
    Remove { name: String },
    /// Add every server of a JSON file with `mcpServers` (Claude Desktop, Cursor, .mcp.json);
    /// a server of the same name is replaced.
    Import { file: PathBuf },
}

#[derive(Debug, clap::Args)]
struct AddArgs {
    name: String,
    /// A Streamable HTTP server's address (instead of a command).
    #[arg(long)]
    url: Option<String>,
    /// An environment variable for a stdio server, `KEY=VALUE` (kept in the OS keychain).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// A header for an HTTP server, `NAME=VALUE` (kept in the OS keychain).
    #[arg(long = "header", value_name = "NAME=VALUE")]
    headers: Vec<String>,
    /// Its tools' calls need no approval.
    #[arg(long)]
    trusted: bool,
    /// The command and its arguments, after `--`.
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,
}

fn pairs(items: &[String], what: &str) -> anyhow::Result<Option<BTreeMap<String, String>>> {
    if items.is_empty() {
        return Ok(None);
    }
    items
        .iter()
        .map(|item| {
            let (k, v) =
                item.split_once('=').ok_or_else(|| anyhow!("{what} `{}` is not KEY=VALUE", short(item)))?;
            Ok((k.to_owned(), v.to_owned()))
        })
        .collect::<anyhow::Result<_>>()
        .map(Some)
}

/// The name part of a `KEY=VALUE` for an error message (never the value).
fn short(item: &str) -> String {
    item.split('=').next().unwrap_or_default().chars().take(40).collect()
}

pub async fn run(args: Args, data_dir: PathBuf) -> anyhow::Result<ExitCode> {
    // Listing or removing needs no server running; adding starts just what is added.
    let app = engine::start_with(data_dir, None, false).await?;
    let client = app.connect(ClientLimits::local());
    let outcome = command(&client, args.command).await;
    app.shutdown().await;
    outcome
}

async fn command(client: &Client, command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::List => {
            let servers: Vec<McpServer> = serde_json::from_value(call(client, "mcp.list", json!({})).await?)?;
            if servers.is_empty() {
                println!(
                    "no MCP servers; add one with `atelier mcp add NAME -- COMMAND ARGS…` or `atelier mcp import FILE`"
                );
            }
            for server in &servers {
                println!("{}", describe(server));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Add(add) => {
            let params = match (add.url, add.command.split_first()) {
                (Some(url), None) => {
                    if !add.env.is_empty() {
                        bail!("--env is for a stdio server; an HTTP server takes --header");
                    }
                    json!({ "name": add.name, "url": url, "headers": pairs(&add.headers, "--header")?, "trusted": add.trusted })
                }
                (None, Some((program, rest))) => {
                    if !add.headers.is_empty() {
                        bail!("--header is for an HTTP server; a stdio server takes --env");
                    }
                    json!({ "name": add.name, "command": program, "args": rest, "env": pairs(&add.env, "--env")?, "trusted": add.trusted })
                }
                (Some(_), Some(_)) => bail!("give --url or a command after --, not both"),
                (None, None) => bail!(
                    "give the server's command after -- (e.g. `-- npx -y @modelcontextprotocol/server-everything`) or --url"
                ),
            };
            let server: McpServer = serde_json::from_value(call(client, "mcp.add", params).await?)?;
            settle(client, &[server.name]).await
        }
        Command::Remove { name } => {
            call(client, "mcp.remove", json!({ "name": name })).await?;
            println!("removed {name}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Import { file } => {
            let text = tokio::fs::read_to_string(&file)
                .await
                .with_context(|| format!("reading {}", file.display()))?;
            let servers: Vec<McpServer> =
                serde_json::from_value(call(client, "mcp.import", json!({ "json": text })).await?)?;
            println!("imported {} server(s)", servers.len());
            let enabled: Vec<String> = servers.iter().filter(|s| s.enabled).map(|s| s.name.clone()).collect();
            for server in servers.iter().filter(|s| !s.enabled) {
                println!("{}", describe(server));
            }
            settle(client, &enabled).await
        }
    }
}

/// Waits (up to 35 s, past the 30 s handshake limit) for each server to be ready or to fail,
/// and prints how it ended; exit code 1 when one is not ready.
async fn settle(client: &Client, names: &[String]) -> anyhow::Result<ExitCode> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(35);
    let mut code = ExitCode::SUCCESS;
    for name in names {
        let server = loop {
            let servers: Vec<McpServer> = serde_json::from_value(call(client, "mcp.list", json!({})).await?)?;
            let server =
                servers.into_iter().find(|s| &s.name == name).ok_or_else(|| anyhow!("{name} vanished"))?;
            if server.status != "starting" || tokio::time::Instant::now() >= deadline {
                break server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        println!("{}", describe(&server));
        if server.status != "ready" {
            code = ExitCode::FAILURE;
        }
    }
    Ok(code)
}

fn describe(s: &McpServer) -> String {
    let target = match (&s.command, &s.url) {
        (Some(command), _) => {
            let args = s.args.as_deref().unwrap_or_default().join(" ");
            format!("{command} {args}").trim_end().to_owned()
        }
        (None, Some(url)) => url.clone(),
        (None, None) => String::new(),
    };
    let mut flags = vec![s.transport.clone(), if s.enabled { "enabled" } else { "disabled" }.to_owned()];
    if s.trusted {
        flags.push("trusted".into());
    }
    if s.origin == "project_file" {
        flags.push("from a project's .mcp.json".into());
    }
    let keys: Vec<&String> = s.env_keys.iter().chain(&s.header_keys).collect();
    let mut out = format!("{}  [{}]  {target}", s.name, flags.join(", "));
    if !keys.is_empty() {
        out.push_str(&format!(
            "\n  secrets in the keychain: {}",
            keys.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    match s.status.as_str() {
        "ready" => {
            let tools: Vec<&str> = s.tools.iter().map(|t| t.name.as_str()).collect();
            out.push_str(&format!("\n  ready with {} tool(s): {}", tools.len(), tools.join(", ")));
        }
        "stopped" => {}
        status => {
            out.push_str(&format!("\n  {status}"));
            if let Some(error) = &s.error {
                out.push_str(&format!(": {error}"));
            }
            if let Some(tail) = s.stderr_tail.last() {
                out.push_str(&format!("\n  stderr: {tail}"));
            }
        }
    }
    out
}
