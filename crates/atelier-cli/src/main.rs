//! The `atelier` command: `serve` runs the engine headless behind the embedded server, `chat`
//! talks to a model from the terminal, `run` runs a workflow on a project folder, `doctor`
//! checks that everything Atelier needs is there, `models` lists, pulls and removes models,
//! `mcp` lists, adds, removes and imports MCP servers, `backup` and `restore` copy the database
//! and put a copy back.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use atelier_cli::{engine, logging};

mod backup;
mod chat;
mod doctor;
mod mcp;
mod models;
mod run;
mod serve;

#[derive(Debug, Parser)]
#[command(name = "atelier", version, about = "Atelier: a local-first AI coding workspace")]
struct Cli {
    /// Where Atelier keeps its database, logs and token [env: ATELIER_DATA_DIR]
    /// (default: the platform's app-data folder, e.g. ~/.local/share/dev.atelier.atelier).
    #[arg(long, global = true, env = "ATELIER_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the engine with the embedded server (JSON-RPC over WebSocket at /ws).
    Serve(serve::Args),
    /// Chat with a model in the terminal; replies stream as they are written.
    Chat(chat::Args),
    /// Check the model endpoint, models, database and data folder, and say what to fix.
    Doctor(doctor::Args),
    /// Run a workflow on a project folder: plan, write the files, commit.
    Run(run::Args),
    /// List, download (with a progress bar) and remove the model server's models.
    Models(models::Args),
    /// MCP servers (tools for agents): list, add, remove, import an `mcpServers` JSON file.
    Mcp(mcp::Args),
    /// Back up the database now (works while Atelier runs); `--list` shows the backups.
    Backup(backup::BackupArgs),
    /// Replace the database with a backup (quit Atelier first; the current one is kept).
    Restore(backup::RestoreArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let data_dir = match engine::data_dir(cli.data_dir) {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let quiet = !matches!(cli.command, Command::Serve(_));
    let _log_guard = logging::init(&data_dir.join("logs"), quiet);
    let runtime = match atelier_cli::engine::runtime_builder().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(args, data_dir).await,
            Command::Chat(args) => chat::run(args, data_dir).await,
            Command::Doctor(args) => doctor::run(args, data_dir).await,
            Command::Run(args) => run::run(args, data_dir).await,
            Command::Models(args) => models::run(args).await,
            Command::Mcp(args) => mcp::run(args, data_dir).await,
            Command::Backup(args) => backup::backup(args, data_dir).await,
            Command::Restore(args) => backup::restore(args, data_dir).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
