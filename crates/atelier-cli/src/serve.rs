//! `atelier serve`: the engine headless behind the embedded server, as docs/protocol.md says:
//! prints `listening on http://ADDR:PORT` and `open http://ADDR:PORT/#token=TOKEN` once ready.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use atelier_server::ServerConfig;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use atelier_cli::engine;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address and port to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:7777", value_name = "ADDR:PORT")]
    bind: SocketAddr,
    /// The access token [env: ATELIER_TOKEN]; else one generated on first run and kept in the
    /// data folder.
    #[arg(long, env = "ATELIER_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Also accept WebSocket connections from this Origin (repeatable).
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origins: Vec<String>,
    /// Also accept this name in the Host header (repeatable), e.g. the machine's DNS name.
    #[arg(long = "allow-host", value_name = "NAME")]
    allow_hosts: Vec<String>,
    /// The model to use when a session names none [env: ATELIER_MODEL].
    #[arg(long)]
    model: Option<String>,
}

async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ctrl_c = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ctrl_c = tokio::signal::ctrl_c().await;
    }
}

pub async fn run(args: Args, data_dir: PathBuf) -> anyhow::Result<ExitCode> {
    // Before the limits are worked out from it: room for many connections where the system allows.
    atelier_server::raise_file_limit();
    let token = match args.token.filter(|t| !t.trim().is_empty()) {
        Some(token) => token,
        None => atelier_server::stored_token(&data_dir)
            .with_context(|| format!("keeping the access token in {}", data_dir.display()))?,
    };
    let app = engine::start(data_dir, args.model).await?;
    let listener = TcpListener::bind(args.bind).await.with_context(|| {
        format!("cannot listen on {}; is another server using it? Try --bind 127.0.0.1:0", args.bind)
    })?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let mut config = ServerConfig::new(addr, token.clone());
    config.allowed_origins = args.allow_origins;
    config.allowed_hosts = args.allow_hosts;
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(atelier_server::serve(listener, app.clone(), config, shutdown.clone()));
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on http://{addr}")?;
    writeln!(out, "open http://{addr}/#token={token}")?;
    out.flush()?;
    drop(out);
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "listening beyond this machine: anyone with the token can use Atelier");
    }
    tracing::info!(%addr, "serving");
    terminated().await;
    tracing::info!("shutting down");
    shutdown.cancel();
    match server.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "server stopped with an error"),
        Err(e) => tracing::warn!(error = %e, "server task failed"),
    }
    app.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
