//! Atelier's MCP client: tools from Model Context Protocol servers, on the official Rust SDK
//! (`rmcp`). [`Mcp`] runs the servers it is given (a child process over stdio, or Streamable
//! HTTP), each under a supervisor that restarts it with backoff, keeps its stderr tail and
//! follows its tool list; it calls their tools with a timeout and cancellation and pings them
//! for health. It knows nothing of where configurations are kept or secrets come from: the
//! engine (atelier-core) hands it complete [`ServerSpec`]s and hears about changes through
//! [`Events`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::model::{CallToolRequestParams, ClientRequest};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

mod config;
mod error;
mod log;
mod result;
mod server;
pub mod stdio;

pub use config::{HttpSpec, Imported, ServerSpec, StdioSpec, Transport, check_name, parse_mcp_servers};
pub use error::{McpError, McpResult};
pub use log::redact;
pub use result::{MAX_RESULT_CHARS, ToolResult, truncate};
pub use server::{ServerState, Status, ToolInfo};

use server::{Control, Server};

/// Limits and timings. [`Options::default`] has the product's values; tests shorten some.
#[derive(Debug, Clone)]
pub struct Options {
    /// A server that has not finished the handshake and its first `tools/list` by then is
    /// `error` (30 s).
    pub handshake_timeout: Duration,
    /// A `tools/call` without an answer by then fails with a timeout (60 s).
    pub call_timeout: Duration,
    /// Failures in a row after which a server stays `error` until restarted by hand (5).
    pub max_failures: u32,
    /// The first wait before starting a failed server again (1 s), doubling each time up to
    /// `max_backoff` (60 s).
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// A server that ran this long before it ended starts a fresh count of failures (30 s).
    pub stable_after: Duration,
    /// Characters of a result's text kept ([`MAX_RESULT_CHARS`]).
    pub max_result_chars: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            handshake_timeout: Duration::from_secs(30),
            call_timeout: Duration::from_secs(60),
            max_failures: 5,
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            stable_after: Duration::from_secs(30),
            max_result_chars: MAX_RESULT_CHARS,
        }
    }
}

/// What the engine hears from the servers. Called from the supervisors' tasks; must not block.
pub trait Events: Send + Sync + 'static {
    /// A server's status, error, tools, restarts or process changed.
    fn status(&self, state: &ServerState);
    /// A server listed its tools (when it became ready, and after `tools/list_changed`).
    fn tools_changed(&self, server: &str, tools: &[ToolInfo]);
}

/// No one listening.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvents;

impl Events for NoEvents {
    fn status(&self, _: &ServerState) {}
    fn tools_changed(&self, _: &str, _: &[ToolInfo]) {}
}

struct Running {
    server: Arc<Server>,
    task: tokio::task::JoinHandle<()>,
}

struct Inner {
    options: Arc<Options>,
    events: Arc<dyn Events>,
    servers: Mutex<BTreeMap<String, Running>>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

/// The running MCP servers, by name. Cheap to clone.
#[derive(Clone)]
pub struct Mcp {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Mcp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mcp").field("servers", &self.names()).finish_non_exhaustive()
    }
}

impl Mcp {
    pub fn new(options: Options, events: Arc<dyn Events>) -> Mcp {
        // rmcp's HTTP client (reqwest 0.13) is built without a crypto provider of its own; use
        // ring, as the rest of the engine does. Already installed is fine.
        if rustls::crypto::ring::default_provider().install_default().is_err() {
            tracing::trace!("a rustls crypto provider was already installed");
        }
        Mcp {
            inner: Arc::new(Inner {
                options: Arc::new(options),
                events,
                servers: Mutex::default(),
                shutdown: CancellationToken::new(),
                tasks: TaskTracker::new(),
            }),
        }
    }

    pub fn options(&self) -> &Options {
        &self.inner.options
    }

    fn servers(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Running>> {
        self.inner.servers.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn server(&self, name: &str) -> McpResult<Arc<Server>> {
        self.servers().get(name).map(|r| r.server.clone()).ok_or_else(|| McpError::NoServer(name.to_owned()))
    }

    pub fn names(&self) -> Vec<String> {
        self.servers().keys().cloned().collect()
    }

    /// Starts `spec` under a supervisor (stopping a server of the same name first) and returns
    /// its first state (`starting`).
    pub async fn start(&self, spec: ServerSpec) -> McpResult<ServerState> {
        spec.validate()?;
        if self.inner.shutdown.is_cancelled() {
            return Err(McpError::NotReady {
                server: spec.name,
                detail: "the engine is shutting down".into(),
            });
        }
        self.stop(&spec.name).await;
        let name = spec.name.clone();
        let (server, control) = Server::new(spec, self.inner.shutdown.child_token());
        let task = self.inner.tasks.spawn(server::supervise(
            server.clone(),
            control,
            self.inner.options.clone(),
            self.inner.events.clone(),
        ));
        let state = server.state();
        self.servers().insert(name, Running { server, task });
        Ok(state)
    }

    /// Stops a server and waits until its process (group) is gone. `false` when none ran.
    pub async fn stop(&self, name: &str) -> bool {
        let Some(running) = self.servers().remove(name) else {
            return false;
        };
        running.server.stop.cancel();
        if let Err(e) = running.task.await {
            tracing::warn!(server = name, error = %e, "an MCP supervisor ended badly");
        }
        true
    }

    /// Starts a server again now: a running one is stopped first; one that gave up after too
    /// many failures tries again with a fresh count.
    pub fn restart(&self, name: &str) -> McpResult<()> {
        let server = self.server(name)?;
        // A full queue already holds a restart.
        if server.control.try_send(Control::Restart).is_err() {
            tracing::debug!(server = name, "a restart is already pending");
        }
        Ok(())
    }

    pub fn state(&self, name: &str) -> Option<ServerState> {
        self.server(name).ok().map(|s| s.state())
    }

    pub fn states(&self) -> Vec<ServerState> {
        let servers: Vec<Arc<Server>> = self.servers().values().map(|r| r.server.clone()).collect();
        servers.iter().map(|s| s.state()).collect()
    }

    /// Waits (at most `limit`) until `name` is `ready`, or `error`/`stopped`, and returns its
    /// state then.
    pub async fn wait_settled(&self, name: &str, limit: Duration) -> McpResult<ServerState> {
        self.wait_for(name, limit, |s| s.status != Status::Starting).await
    }

    /// Waits (at most `limit`) until `name`'s state satisfies `done`; returns the last state
    /// seen either way.
    pub async fn wait_for(
        &self,
        name: &str,
        limit: Duration,
        done: impl Fn(&ServerState) -> bool,
    ) -> McpResult<ServerState> {
        let server = self.server(name)?;
        let mut changes = server.changes.subscribe();
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let state = server.state();
            if done(&state) {
                return Ok(state);
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return Ok(server.state()),
            }
        }
    }

    /// Every ready server's tools, as `(server, tool)`.
    pub fn tools(&self) -> Vec<(String, ToolInfo)> {
        self.states()
            .into_iter()
            .filter(|s| s.status == Status::Ready)
            .flat_map(|s| {
                let name = s.name;
                s.tools.into_iter().map(move |t| (name.clone(), t))
            })
            .collect()
    }

    /// Calls `tool` on `server` with `arguments` (a JSON object, or null for none). Fails with
    /// [`McpError::Timeout`] after [`Options::call_timeout`] and [`McpError::Cancelled`] when
    /// `cancel` fires; either way the server is sent `notifications/cancelled`. A result the
    /// server flags `isError` is `Ok` with `is_error` set: the call worked, the tool failed.
    pub async fn call(
        &self,
        server: &str,
        tool: &str,
        arguments: serde_json::Value,
        cancel: &CancellationToken,
    ) -> McpResult<ToolResult> {
        let running = self.server(server)?;
        let (peer, tools) =
            running.peer().map_err(|detail| McpError::NotReady { server: server.to_owned(), detail })?;
        if !tools.iter().any(|t| t.name == tool) {
            return Err(McpError::NoTool { server: server.to_owned(), tool: tool.to_owned() });
        }
        let mut params = CallToolRequestParams::new(tool.to_owned());
        match arguments {
            serde_json::Value::Object(map) => params = params.with_arguments(map),
            serde_json::Value::Null => {}
            other => {
                return Err(McpError::InvalidConfig(format!(
                    "the arguments of `{server}.{tool}` must be a JSON object, not {}",
                    kind_of(&other)
                )));
            }
        }
        let timeout = self.inner.options.call_timeout;
        // Dropping the call (timeout, cancellation) sends the server `notifications/cancelled`.
        let result = tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(McpError::Cancelled),
            () = self.inner.shutdown.cancelled() => return Err(McpError::Cancelled),
            result = tokio::time::timeout(timeout, peer.call_tool(params)) => result,
        };
        let secrets = running.spec.secrets();
        match result {
            Err(_) => Err(McpError::Timeout { server: server.to_owned(), tool: tool.to_owned(), timeout }),
            Ok(Err(e)) => Err(McpError::Call {
                server: server.to_owned(),
                tool: tool.to_owned(),
                message: redact(&e.to_string(), &secrets),
            }),
            Ok(Ok(result)) => Ok(result::convert(result, self.inner.options.max_result_chars)),
        }
    }

    /// Pings a ready server; the round trip, or why it failed (10 s at most).
    pub async fn ping(&self, server: &str) -> McpResult<Duration> {
        let running = self.server(server)?;
        let (peer, _) =
            running.peer().map_err(|detail| McpError::NotReady { server: server.to_owned(), detail })?;
        let started = Instant::now();
        let limit = Duration::from_secs(10);
        match tokio::time::timeout(limit, peer.send_request(ClientRequest::PingRequest(Default::default())))
            .await
        {
            Ok(Ok(_)) => Ok(started.elapsed()),
            Ok(Err(e)) => {
                Err(McpError::Call { server: server.to_owned(), tool: "ping".into(), message: e.to_string() })
            }
            Err(_) => {
                Err(McpError::Timeout { server: server.to_owned(), tool: "ping".into(), timeout: limit })
            }
        }
    }

    /// Stops every server and waits until their processes are gone.
    pub async fn shutdown(&self) {
        self.inner.shutdown.cancel();
        for name in self.names() {
            self.stop(&name).await;
        }
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
    }
}

fn kind_of(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}
