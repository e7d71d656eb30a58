//! Atelier's embedded server: JSON-RPC 2.0 over WebSocket at `/ws`, `/health`, and the web UI,
//! guarded by a token, `Origin` and `Host` checks, and per-client limits.
//!
//! The server is a function a test can call: [`router`] builds the routes and [`serve`] runs
//! them on a listener until the shutdown token is cancelled.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use atelier_core::App;
use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

mod connections;
mod guard;
mod routes;
mod token;
mod ws;

pub use token::stored_token;

/// How the server is reached and who may use it.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The address the listener is bound to (with the real port).
    pub bind: SocketAddr,
    pub token: String,
    /// Extra origins (e.g. `https://atelier.example`) allowed to open `/ws`.
    pub allowed_origins: Vec<String>,
    /// Extra host names accepted in the `Host` header.
    pub allowed_hosts: Vec<String>,
    pub limits: Limits,
}

/// Per-connection and per-server limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// How long a client may take to send a request's headers (and how long an idle keep-alive
    /// connection stays open); past it the connection is closed.
    pub header_timeout: Duration,
    /// Connections open at once, of every kind.
    pub max_connections: usize,
    /// Of those, kept for clients that showed the token: connections without one are closed,
    /// oldest first, to stay below `max_connections - reserved_for_clients`.
    pub reserved_for_clients: usize,
    /// A WebSocket that subscribes to nothing and sends nothing (no request, no ping) for this
    /// long is closed.
    pub idle_after: Duration,
    /// Largest message answered; a larger one gets an `invalid_input` error.
    pub max_frame: usize,
    /// Largest message read at all; past it the connection is closed (code 1009).
    pub hard_max_frame: usize,
    /// Responses waiting to be written before the connection stops reading requests.
    pub send_queue: usize,
    pub ping_every: Duration,
    /// A peer silent for this long (no pong, no message) is dropped.
    pub dead_after: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        let max_connections = connection_cap();
        Self {
            header_timeout: Duration::from_secs(10),
            max_connections,
            reserved_for_clients: (max_connections / 8).clamp(4, 256),
            idle_after: Duration::from_secs(120),
            max_frame: 1024 * 1024,
            hard_max_frame: 4 * 1024 * 1024,
            send_queue: 64,
            ping_every: Duration::from_secs(20),
            dead_after: Duration::from_secs(60),
        }
    }
}

/// Connections the process can hold: three quarters of its file-descriptor limit (the rest is
/// for the database, terminals, watchers and model connections), between 32 and 16,384.
fn connection_cap() -> usize {
    #[cfg(unix)]
    let limit = rlimit::getrlimit(rlimit::Resource::NOFILE).map(|(soft, _)| soft).unwrap_or(1024);
    #[cfg(not(unix))]
    let limit: u64 = 8192;
    usize::try_from(limit.saturating_mul(3) / 4).unwrap_or(16_384).clamp(32, 16_384)
}

/// Raises the process's soft limit on open files to its hard limit (macOS: to what the kernel
/// allows), so the server's connection cap is not needlessly small. Call once at start-up.
pub fn raise_file_limit() {
    #[cfg(unix)]
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open-file limit"),
        Err(e) => tracing::debug!(error = %e, "the open-file limit could not be raised"),
    }
}

impl ServerConfig {
    pub fn new(bind: SocketAddr, token: String) -> Self {
        Self {
            bind,
            token,
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            limits: Limits::default(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct ServerState {
    pub app: App,
    pub config: Arc<ServerConfig>,
    pub shutdown: CancellationToken,
}

/// The server's routes.
pub fn router(app: App, config: ServerConfig, shutdown: CancellationToken) -> Router {
    let state = ServerState { app, config: Arc::new(config), shutdown };
    Router::new()
        .route("/ws", get(ws::upgrade))
        .route("/health", get(routes::health))
        .route("/auth/check", get(routes::auth_check))
        .route("/download/{project_id}", get(routes::download))
        .fallback(get(routes::ui))
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::check_host))
        .with_state(state)
}

/// Serves until `shutdown` is cancelled; open WebSocket connections are closed with a Close
/// frame (code 1001, going away).
pub async fn serve(
    listener: TcpListener,
    app: App,
    config: ServerConfig,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let limits = config.limits.clone();
    let connections = connections::Connections::new(&limits);
    let routes = router(app, config, shutdown.clone());
    connections::accept_loop(listener, routes, limits, connections, shutdown).await
}

/// A server started while the app runs and stopped on demand: the desktop app's Settings switch.
pub struct Embedded {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Embedded {
    /// Binds `config.bind` (port 0 picks a free one) and serves in the background. The error
    /// says what to change when the port is taken.
    pub async fn start(app: App, mut config: ServerConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind(config.bind).await.map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot listen on {}: {e}; choose another port", config.bind),
            )
        })?;
        let addr = listener.local_addr()?;
        config.bind = addr;
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(serve(listener, app, config, shutdown.clone()));
        Ok(Self { addr, shutdown, task })
    }

    /// The address it listens on, with the real port.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes every connection (code 1001) and waits for the server to end.
    pub async fn stop(self) {
        self.shutdown.cancel();
        match self.task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "the embedded server stopped with an error"),
            Err(e) => tracing::warn!(error = %e, "the embedded server's task failed"),
        }
    }
}
