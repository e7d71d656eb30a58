//! Atelier's benchmarks. Each prints its figures; docs/benchmarks.md records them with the
//! machine and date. Run in release mode:
//!
//! ```text
//! cargo run --release -p atelier-bench -- all   # or: tokens | history | idle-ws | workflows | workspace | pool | memory | dialects | sandbox | index | mcp | files-search | backup
//! ```

use std::process::ExitCode;

mod backup;
mod dialects;
mod history;
mod idle;
mod index;
mod mcp;
mod memory;
mod pool;
mod rpc;
mod sandbox;
mod search;
mod stats;
mod tokens;
mod tools;
mod workflows;
mod workspace;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let which = args.first().map(String::as_str).unwrap_or("all");
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match which {
            "tokens" => tokens::run().await,
            "history" => history::run(arg_number(&args, 1_000_000)).await,
            "idle-ws" => idle::run(arg_number(&args, 5_000)).await,
            "serve-child" => idle::serve_child().await,
            "workflows" => workflows::run().await,
            "workspace" => workspace::run().await,
            "pool" => pool::run().await,
            "memory" => memory::run().await,
            "dialects" => dialects::run().await,
            "sandbox" => sandbox::run().await,
            "index" => index::run(&args[1..]).await,
            "mcp" => mcp::run(arg_number(&args, 1_000)).await,
            "tools" => tools::run().await,
            "find" => tools::find(&args),
            "files-search" => search::run(arg_number(&args, 50_000)).await,
            "make-tree" => search::make(&args),
            "backup" => backup::run(arg_number(&args, 1_000_000)).await,
            "all" => {
                tokens::run().await?;
                history::run(1_000_000).await?;
                idle::run(5_000).await?;
                workflows::run().await?;
                workspace::run().await?;
                pool::run().await?;
                memory::run().await?;
                dialects::run().await?;
                sandbox::run().await?;
                index::run(&[]).await?;
                mcp::run(1_000).await?;
                search::run(50_000).await?;
                backup::run(1_000_000).await?;
                tools::run().await
            }
            other => {
                anyhow::bail!(
                    "unknown benchmark `{other}`; use tokens, history, idle-ws, workflows, workspace, pool, memory, dialects, sandbox, index, mcp, tools, find, files-search, make-tree, backup or all"
                )
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("benchmark failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn arg_number(args: &[String], default: usize) -> usize {
    args.get(1).and_then(|a| a.parse().ok()).unwrap_or(default)
}
