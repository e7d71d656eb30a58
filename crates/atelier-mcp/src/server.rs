//! One server's supervisor: start it, do the MCP handshake and list its tools, follow
//! `notifications/tools/list_changed`, notice when it ends, and start it again with backoff
//! (1 s doubling to 60 s); after [`Options::max_failures`] failures in a row it stays `error`
//! until the person restarts it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backon::BackoffBuilder;
use rmcp::model::{ClientCapabilities, ClientConfig, Implementation, ProtocolVersion, Tool};
use rmcp::service::{NotificationContext, Peer, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::config::{HttpSpec, ServerSpec, Transport};
use crate::log::ServerLog;
use crate::stdio::{self, Process};
use crate::{Events, Options};

/// Where a server is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Starting,
    Ready,
    Error,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Starting => "starting",
            Status::Ready => "ready",
            Status::Error => "error",
            Status::Stopped => "stopped",
        }
    }
}

/// A tool as the server describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolInfo {
    pub name: String,
    pub description: String,
    /// The JSON Schema of its arguments, as the server gives it.
    pub input_schema: serde_json::Value,
}

impl ToolInfo {
    fn from_rmcp(tool: &Tool) -> ToolInfo {
        ToolInfo {
            name: tool.name.to_string(),
            description: tool.description.as_deref().unwrap_or_default().to_owned(),
            input_schema: serde_json::Value::Object((*tool.input_schema).clone()),
        }
    }
}

/// A snapshot of one server for the API.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerState {
    pub name: String,
    pub status: Status,
    /// What went wrong last, for a person (never a secret value).
    pub error: Option<String>,
    pub tools: Vec<ToolInfo>,
    /// Starts after the first: after a failure, an exit, or a restart asked for.
    pub restarts: u32,
    /// The process id of a stdio server while it runs.
    pub pid: Option<u32>,
    /// The last lines of its stderr (and of stray stdout).
    pub stderr_tail: Vec<String>,
}

/// Lines of stderr a snapshot carries.
const TAIL_LINES: usize = 40;

#[derive(Debug, Clone, Copy)]
pub(crate) enum Control {
    Restart,
}

struct Shared {
    status: Status,
    error: Option<String>,
    tools: Vec<ToolInfo>,
    restarts: u32,
    pid: Option<u32>,
    peer: Option<Peer<RoleClient>>,
}

pub(crate) struct Server {
    pub spec: ServerSpec,
    shared: Mutex<Shared>,
    pub log: Arc<Mutex<ServerLog>>,
    pub control: mpsc::Sender<Control>,
    pub stop: CancellationToken,
    /// Bumped on every change, for those who wait for one ([`crate::Mcp::wait_settled`]).
    pub changes: watch::Sender<u64>,
}

impl Server {
    pub fn new(spec: ServerSpec, stop: CancellationToken) -> (Arc<Server>, mpsc::Receiver<Control>) {
        let (control, control_rx) = mpsc::channel(4);
        let log = Arc::new(Mutex::new(ServerLog::new(spec.secrets())));
        let server = Server {
            spec,
            shared: Mutex::new(Shared {
                status: Status::Starting,
                error: None,
                tools: Vec::new(),
                restarts: 0,
                pid: None,
                peer: None,
            }),
            log,
            control,
            stop,
            changes: watch::channel(0).0,
        };
        (Arc::new(server), control_rx)
    }

    fn shared(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn state(&self) -> ServerState {
        let stderr_tail = self.log.lock().unwrap_or_else(|p| p.into_inner()).tail(TAIL_LINES);
        let s = self.shared();
        ServerState {
            name: self.spec.name.clone(),
            status: s.status,
            error: s.error.clone(),
            tools: s.tools.clone(),
            restarts: s.restarts,
            pid: s.pid,
            stderr_tail,
        }
    }

    /// The connection to call tools on, with the tools it has; `Err` says why there is none.
    pub fn peer(&self) -> Result<(Peer<RoleClient>, Vec<ToolInfo>), String> {
        let s = self.shared();
        match (&s.peer, s.status) {
            (Some(peer), Status::Ready) => Ok((peer.clone(), s.tools.clone())),
            (_, status) => Err(match &s.error {
                Some(error) => format!("it is {} ({error})", status.as_str()),
                None => format!("it is {}", status.as_str()),
            }),
        }
    }

    fn update(&self, events: &dyn Events, f: impl FnOnce(&mut Shared)) {
        {
            let mut s = self.shared();
            f(&mut s);
        }
        self.changes.send_modify(|n| *n += 1);
        events.status(&self.state());
    }
}

/// Tells the supervisor when the server says its tools changed.
struct Handler {
    tools_changed: mpsc::Sender<()>,
}

impl ClientHandler for Handler {
    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        // A full channel already holds a pending re-list, which will see this change too.
        if self.tools_changed.try_send(()).is_err() {
            tracing::trace!("tools/list_changed while a re-list is pending");
        }
    }

    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("atelier", env!("CARGO_PKG_VERSION")),
        )
        .with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE)
    }
}

/// A live connection to a server.
struct Connection {
    service: RunningService<RoleClient, Handler>,
    process: Option<Process>,
    tools: Vec<ToolInfo>,
    tools_changed: mpsc::Receiver<()>,
}

impl Connection {
    /// Closes the connection (a stdio server's stdin) and, for stdio, waits for the process
    /// group to be gone.
    async fn close(self) {
        let Connection { service, mut process, .. } = self;
        if tokio::time::timeout(Duration::from_secs(2), service.cancel()).await.is_err() {
            tracing::debug!("an MCP connection took over 2 s to close");
        }
        if let Some(process) = process.as_mut() {
            process.stop().await;
        }
    }
}

/// How a connection ended.
enum End {
    Stop,
    Restart,
    Lost(String),
}

pub(crate) async fn supervise(
    server: Arc<Server>,
    mut control: mpsc::Receiver<Control>,
    options: Arc<Options>,
    events: Arc<dyn Events>,
) {
    let backoff = || {
        backon::ExponentialBuilder::default()
            .with_min_delay(options.first_backoff)
            .with_max_delay(options.max_backoff)
            .with_factor(2.0)
            .without_max_times()
            .build()
    };
    let mut delays = backoff();
    let mut failures = 0u32;
    let mut first = true;
    loop {
        if !first {
            server.update(&*events, |s| {
                s.restarts += 1;
                s.status = Status::Starting;
            });
        } else {
            server.update(&*events, |s| s.status = Status::Starting);
        }
        first = false;
        let attempt = tokio::select! {
            () = server.stop.cancelled() => return stopped(&server, &*events),
            attempt = connect(&server, &options) => attempt,
        };
        let failure = match attempt {
            Ok(connection) => {
                let up = Instant::now();
                let pid = connection.process.as_ref().and_then(|p| p.pid);
                let (peer, tools) = (connection.service.peer().clone(), connection.tools.clone());
                server.update(&*events, |s| {
                    s.status = Status::Ready;
                    s.error = None;
                    s.tools = tools.clone();
                    s.pid = pid;
                    s.peer = Some(peer);
                });
                events.tools_changed(&server.spec.name, &tools);
                let end = run(&server, connection, &mut control, &*events).await;
                server.update(&*events, |s| {
                    s.peer = None;
                    s.pid = None;
                });
                match end {
                    End::Stop => return stopped(&server, &*events),
                    End::Restart => {
                        failures = 0;
                        delays = backoff();
                        continue;
                    }
                    End::Lost(why) => {
                        // A server that ran a while and then ended starts a fresh count.
                        if up.elapsed() >= options.stable_after {
                            failures = 0;
                            delays = backoff();
                        }
                        why
                    }
                }
            }
            Err(why) => why,
        };
        failures += 1;
        if failures >= options.max_failures {
            let error = format!(
                "{failure}. It failed {failures} times in a row, so Atelier stopped trying: fix the \
                 problem, then restart it"
            );
            server.update(&*events, |s| {
                s.status = Status::Error;
                s.error = Some(error);
            });
            tokio::select! {
                () = server.stop.cancelled() => return stopped(&server, &*events),
                command = control.recv() => match command {
                    Some(Control::Restart) => {}
                    None => return stopped(&server, &*events),
                },
            }
            failures = 0;
            delays = backoff();
            continue;
        }
        let delay = delays.next().unwrap_or(options.max_backoff);
        server.update(&*events, |s| {
            s.status = Status::Error;
            s.error = Some(format!("{failure}; starting it again in {}", seconds(delay)));
        });
        tokio::select! {
            () = server.stop.cancelled() => return stopped(&server, &*events),
            () = tokio::time::sleep(delay) => {}
            command = control.recv() => match command {
                Some(Control::Restart) => {
                    failures = 0;
                    delays = backoff();
                }
                None => return stopped(&server, &*events),
            },
        }
    }
}

fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 10.0 { format!("{s:.1} s") } else { format!("{s:.0} s") }
}

fn stopped(server: &Server, events: &dyn Events) {
    server.update(events, |s| {
        s.status = Status::Stopped;
        s.peer = None;
        s.pid = None;
    });
}

/// Follows a ready connection until it ends, re-listing tools when the server says they
/// changed.
async fn run(
    server: &Server,
    connection: Connection,
    control: &mut mpsc::Receiver<Control>,
    events: &dyn Events,
) -> End {
    let Connection { service, mut process, mut tools_changed, tools: _ } = connection;
    let peer = service.peer().clone();
    let end = loop {
        let exited = async {
            match process.as_mut() {
                Some(process) => process.wait().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = server.stop.cancelled() => break End::Stop,
            command = control.recv() => match command {
                Some(Control::Restart) => break End::Restart,
                None => break End::Stop,
            },
            exit = exited => {
                let mut why = format!("the server {exit}");
                if let Some(last) = server.log.lock().unwrap_or_else(|p| p.into_inner()).last() {
                    why.push_str(&format!(" (last output: {last})"));
                }
                break End::Lost(why);
            }
            () = closed(&peer) => break End::Lost("the connection to the server closed".into()),
            Some(()) = tools_changed.recv() => {
                match tokio::time::timeout(Duration::from_secs(30), peer.list_all_tools()).await {
                    Ok(Ok(tools)) => {
                        let tools: Vec<ToolInfo> = tools.iter().map(ToolInfo::from_rmcp).collect();
                        server.update(events, |s| s.tools = tools.clone());
                        events.tools_changed(&server.spec.name, &tools);
                    }
                    Ok(Err(e)) => tracing::warn!(server = %server.spec.name, error = %e, "re-listing MCP tools"),
                    Err(_) => tracing::warn!(server = %server.spec.name, "re-listing MCP tools took over 30 s"),
                }
            }
        }
    };
    Connection { service, process, tools_changed, tools: Vec::new() }.close().await;
    end
}

/// Resolves once the connection's service loop has ended (the transport closed). Checked every
/// 250 ms: rmcp offers no future for it without giving up the service.
async fn closed(peer: &Peer<RoleClient>) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tick.tick().await;
        if peer.is_transport_closed() {
            return;
        }
    }
}

/// Starts the server and completes the handshake and the first `tools/list` within
/// [`Options::handshake_timeout`]; the error says why not, for a person.
async fn connect(server: &Server, options: &Options) -> Result<Connection, String> {
    let (tools_tx, tools_changed) = mpsc::channel(1);
    let handler = Handler { tools_changed: tools_tx };
    let limit = options.handshake_timeout;
    match &server.spec.transport {
        Transport::Stdio(spec) => {
            server.log.lock().unwrap_or_else(|p| p.into_inner()).reset_garbage();
            let spawned = stdio::spawn(spec, server.log.clone())?;
            let mut process = spawned.process;
            let handshake = async {
                let service = handler
                    .serve((spawned.messages, spawned.stdin))
                    .await
                    .map_err(|e| format!("the MCP handshake failed: {e}"))?;
                let tools = service
                    .peer()
                    .list_all_tools()
                    .await
                    .map_err(|e| format!("listing its tools failed: {e}"))?;
                Ok::<_, String>((service, tools))
            };
            let outcome = tokio::select! {
                outcome = tokio::time::timeout(limit, handshake) => outcome,
                exit = process.wait() => {
                    return Err(with_output(server, format!("the server {exit} during start-up")));
                }
            };
            match outcome {
                Ok(Ok((service, tools))) => Ok(Connection {
                    service,
                    process: Some(process),
                    tools: tools.iter().map(ToolInfo::from_rmcp).collect(),
                    tools_changed,
                }),
                Ok(Err(e)) => {
                    // Usually the process is ending: say how, when it does so promptly.
                    let exit = tokio::time::timeout(Duration::from_millis(500), process.wait()).await;
                    process.stop().await;
                    Err(with_output(
                        server,
                        match exit {
                            Ok(exit) => format!("the server {exit} during start-up"),
                            Err(_) => e,
                        },
                    ))
                }
                Err(_) => {
                    process.stop().await;
                    Err(with_output(server, never_answered(server, limit)))
                }
            }
        }
        Transport::Http(spec) => {
            let transport = StreamableHttpClientTransport::from_config(http_config(spec)?);
            let handshake = async {
                let service = handler
                    .serve(transport)
                    .await
                    .map_err(|e| server_said(server, format!("could not connect: {e}")))?;
                let tools = service
                    .peer()
                    .list_all_tools()
                    .await
                    .map_err(|e| server_said(server, format!("listing its tools failed: {e}")))?;
                Ok::<_, String>((service, tools))
            };
            match tokio::time::timeout(limit, handshake).await {
                Ok(Ok((service, tools))) => Ok(Connection {
                    service,
                    process: None,
                    tools: tools.iter().map(ToolInfo::from_rmcp).collect(),
                    tools_changed,
                }),
                Ok(Err(e)) => Err(e),
                Err(_) => {
                    Err(format!("{} did not finish the MCP handshake within {} s", spec.url, limit.as_secs()))
                }
            }
        }
    }
}

fn server_said(server: &Server, text: String) -> String {
    server.log.lock().unwrap_or_else(|p| p.into_inner()).redact(&text)
}

fn never_answered(server: &Server, limit: Duration) -> String {
    let log = server.log.lock().unwrap_or_else(|p| p.into_inner());
    match log.garbage() {
        Some((count, first)) => format!(
            "the server printed {count} line(s) on stdout that are not MCP messages (the first: \
             `{first}`) and did not finish the MCP handshake within {} s. An MCP server on stdio \
             must print only JSON-RPC messages on stdout (logs go to stderr); check the command \
             and its arguments",
            limit.as_secs()
        ),
        None => format!(
            "the server did not finish the MCP handshake within {} s (it said nothing on stdout); \
             check that the command starts an MCP server on stdio",
            limit.as_secs()
        ),
    }
}

fn with_output(server: &Server, mut message: String) -> String {
    if let Some(last) = server.log.lock().unwrap_or_else(|p| p.into_inner()).last() {
        message.push_str(&format!(" (last output: {last})"));
    }
    message
}

fn http_config(spec: &HttpSpec) -> Result<StreamableHttpClientTransportConfig, String> {
    let mut headers = std::collections::HashMap::new();
    for (name, value) in &spec.headers {
        let name = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("`{name}` is not a header name"))?;
        let value = http::HeaderValue::from_str(value)
            .map_err(|_| format!("the value of the header `{name}` is not a valid header value"))?;
        headers.insert(name, value);
    }
    Ok(StreamableHttpClientTransportConfig::with_uri(spec.url.clone()).custom_headers(headers))
}
