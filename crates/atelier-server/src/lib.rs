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
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

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

/// Per-connection limits.
#[derive(Debug, Clone)]
pub struct Limits {
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
        Self {
            max_frame: 1024 * 1024,
            hard_max_frame: 4 * 1024 * 1024,
            send_queue: 64,
            ping_every: Duration::from_secs(20),
            dead_after: Duration::from_secs(60),
        }
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
    let routes = router(app, config, shutdown.clone());
    // Events are small frames written as they happen: with Nagle's algorithm each would wait
    // for the peer's delayed ACK (up to 40 ms).
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set on a connection");
        }
    });
    axum::serve(listener, routes).with_graceful_shutdown(shutdown.cancelled_owned()).await
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
