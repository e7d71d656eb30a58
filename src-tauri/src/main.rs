//! The Atelier desktop app: the web UI in a Tauri window with the engine in the same process.
//! The UI's JSON-RPC messages go through the `rpc` command and its events through an IPC
//! channel (`events`); no network socket sits between them. The embedded server, for a
//! browser on another machine, is off until Settings switches it on.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod menu;
mod shell;
mod webkit;

fn main() -> std::process::ExitCode {
    // Before anything else runs (and before any thread exists): WebKit reads it at start-up.
    webkit::prepare();
    match shell::run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
