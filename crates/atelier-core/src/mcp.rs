//! MCP servers in the engine: their configurations in SQLite (only the names of `env`
//! variables and headers), the values in the OS keychain (one entry per server,
//! `mcp:<name>`), the running servers in atelier-mcp, a project's `.mcp.json` shown but never
//! started until the person enables it, and the `mcp` topic: `mcp.server_status`,
//! `mcp.server_health` (a ping every 30 s while someone subscribes), `mcp.tools_changed`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atelier_mcp::{HttpSpec, Mcp, ServerSpec, ServerState, StdioSpec, ToolInfo, Transport};
use atelier_protocol::{
    McpAdd, McpServer, McpServerHealth, McpServerStatus, McpTool, McpToolsChanged, event_types, to_value,
    topics,
};
use atelier_store::McpServerRow;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::App;
use crate::error::{CoreError, CoreResult};
use crate::keychain::Keychain;

pub use atelier_mcp::ToolResult as McpToolResult;

/// How often ready servers are pinged while someone subscribes to `mcp`.
pub const MCP_HEALTH_EVERY: Duration = Duration::from_secs(30);

/// The largest `.mcp.json` read.
const MAX_PROJECT_FILE: u64 = 1024 * 1024;

/// An MCP tool as agents see it, for the tool registry.
#[derive(Debug, Clone, PartialEq)]
pub struct McpToolEntry {
    pub server: String,
    pub name: String,
    pub description: String,
    pub input_schema: serde_json::Value,
    /// The person marked the server trusted: its calls need no approval.
    pub trusted: bool,
}

/// The configurations as last written to SQLite, shared with the event sink (which builds
/// `McpServer`s synchronously).
pub(crate) type Rows = Arc<Mutex<BTreeMap<String, McpServerRow>>>;

pub(crate) struct McpParts {
    pub mcp: Mcp,
    pub rows: Rows,
}

impl McpParts {
    pub fn new(options: atelier_mcp::Options, bus: crate::EventBus) -> McpParts {
        let rows = Rows::default();
        let events = Arc::new(BusMcpEvents { bus, rows: rows.clone() });
        McpParts { mcp: Mcp::new(options, events), rows }
    }
}

/// Puts the servers' changes on the `mcp` topic.
struct BusMcpEvents {
    bus: crate::EventBus,
    rows: Rows,
}

impl atelier_mcp::Events for BusMcpEvents {
    fn status(&self, state: &ServerState) {
        let row = self.rows.lock().unwrap_or_else(|p| p.into_inner()).get(&state.name).cloned();
        // A server being removed has no row any more; its last words are not news.
        if let Some(row) = row {
            let server = to_api(&row, Some(state));
            self.bus.publish(
                topics::MCP,
                event_types::MCP_SERVER_STATUS,
                to_value(&McpServerStatus { server }),
            );
        }
    }

    fn tools_changed(&self, server: &str, tools: &[ToolInfo]) {
        let tools = tools.iter().map(tool_to_api).collect();
        self.bus.publish(
            topics::MCP,
            event_types::MCP_TOOLS_CHANGED,
            to_value(&McpToolsChanged { name: server.to_owned(), tools }),
        );
    }
}

fn tool_to_api(t: &ToolInfo) -> McpTool {
    McpTool { name: t.name.clone(), description: t.description.clone(), input_schema: t.input_schema.clone() }
}

fn to_api(row: &McpServerRow, state: Option<&ServerState>) -> McpServer {
    let stdio = row.transport == "stdio";
    McpServer {
        name: row.name.clone(),
        transport: row.transport.clone(),
        command: row.command.clone(),
        args: stdio.then(|| row.args.clone()),
        url: row.url.clone(),
        enabled: row.enabled,
        status: state.map_or("stopped", |s| s.status.as_str()).to_owned(),
        error: state.and_then(|s| s.error.clone()),
        tools: state.map(|s| s.tools.iter().map(tool_to_api).collect()).unwrap_or_default(),
        restarts: state.map_or(0, |s| s.restarts),
        trusted: row.trusted,
        sandbox: row.sandbox,
        project_id: row.project_id.clone(),
        origin: row.origin.clone(),
        env_keys: row.env_keys.clone(),
        header_keys: row.header_keys.clone(),
        stderr_tail: state.map(|s| s.stderr_tail.clone()).unwrap_or_default(),
        pid: state.and_then(|s| s.pid),
    }
}

/// What the keychain keeps for one server.
#[derive(Default, Serialize, Deserialize)]
struct Secrets {
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

fn secret_name(server: &str) -> String {
    format!("mcp:{server}")
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> CoreResult<T> + Send + 'static) -> CoreResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| CoreError::Internal(format!("keychain task failed: {e}")))?
}

async fn store_secrets(keychain: &Keychain, server: &str, secrets: Secrets) -> CoreResult<()> {
    let (keychain, user) = (keychain.clone(), secret_name(server));
    let text = serde_json::to_string(&secrets).map_err(|e| CoreError::Internal(e.to_string()))?;
    blocking(move || keychain.set_secret(&user, &text)).await
}

/// Forgets a server's values. A failure is logged, not returned: the server itself is gone
/// either way, and what is left is an entry nothing reads.
async fn forget_secrets(keychain: &Keychain, server: &str) {
    let (keychain, user) = (keychain.clone(), secret_name(server));
    if let Err(e) = blocking(move || keychain.delete_secret(&user)).await {
        tracing::warn!(server, error = %e, "removing an MCP server's values from the keychain");
    }
}

fn has_secrets(row: &McpServerRow) -> bool {
    !row.env_keys.is_empty() || !row.header_keys.is_empty()
}

async fn load_secrets(keychain: &Keychain, server: &str) -> CoreResult<Secrets> {
    let (keychain, user) = (keychain.clone(), secret_name(server));
    let text = blocking(move || keychain.get_secret(&user)).await?;
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default())
}

fn bool_default(value: Option<bool>, default: bool) -> bool {
    value.unwrap_or(default)
}

impl App {
    fn mcp(&self) -> &Mcp {
        &self.inner.mcp.mcp
    }

    fn mcp_rows(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, McpServerRow>> {
        self.inner.mcp.rows.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn mcp_row(&self, name: &str) -> CoreResult<McpServerRow> {
        self.mcp_rows()
            .get(name)
            .cloned()
            .ok_or_else(|| CoreError::NotFound { what: "MCP server", id: name.to_owned() })
    }

    fn mcp_server_view(&self, name: &str) -> CoreResult<McpServer> {
        let row = self.mcp_row(name)?;
        Ok(to_api(&row, self.mcp().state(name).as_ref()))
    }

    /// At start-up: loads the configurations and starts the enabled servers (in the
    /// background; each reports its own status).
    pub(crate) async fn start_mcp_servers(&self) -> CoreResult<()> {
        let rows = self.store().list_mcp_servers().await?;
        *self.mcp_rows() = rows.iter().map(|r| (r.name.clone(), r.clone())).collect();
        if !self.inner.config.mcp_autostart {
            return Ok(());
        }
        let app = self.clone();
        self.spawn(async move {
            for row in rows.into_iter().filter(|r| r.enabled) {
                if let Err(e) = app.start_mcp_server(&row).await {
                    tracing::warn!(server = %row.name, error = %e, "starting an MCP server");
                }
            }
        });
        Ok(())
    }

    /// The spec for a configuration, with its values from the keychain.
    async fn mcp_spec(&self, row: &McpServerRow) -> CoreResult<ServerSpec> {
        let secrets = if row.env_keys.is_empty() && row.header_keys.is_empty() {
            Secrets::default()
        } else {
            load_secrets(&self.inner.config.keychain, &row.name).await?
        };
        let transport = match row.transport.as_str() {
            "http" => Transport::Http(HttpSpec {
                url: row.url.clone().unwrap_or_default(),
                headers: secrets.headers,
            }),
            _ => {
                let cwd = match &row.project_id {
                    Some(id) => Some(PathBuf::from(self.store().get_project(id).await?.path)),
                    None => None,
                };
                Transport::Stdio(StdioSpec {
                    command: row.command.clone().unwrap_or_default(),
                    args: row.args.clone(),
                    env: secrets.env,
                    cwd,
                    sandbox: row.sandbox,
                })
            }
        };
        Ok(ServerSpec { name: row.name.clone(), transport })
    }

    async fn start_mcp_server(&self, row: &McpServerRow) -> CoreResult<()> {
        let spec = self.mcp_spec(row).await?;
        self.mcp().start(spec).await?;
        Ok(())
    }

    /// `mcp.list`: every configured server with its live state. With a project, its
    /// `.mcp.json` is read first.
    pub async fn mcp_list(&self, project_id: Option<&str>) -> CoreResult<Vec<McpServer>> {
        if let Some(project_id) = project_id {
            self.discover_project_mcp(project_id).await?;
        }
        let rows: Vec<McpServerRow> = self.mcp_rows().values().cloned().collect();
        Ok(rows.iter().map(|row| to_api(row, self.mcp().state(&row.name).as_ref())).collect())
    }

    /// `mcp.add`: keeps the configuration (values in the keychain) and, unless added
    /// disabled, starts it at once.
    pub async fn mcp_add(&self, p: McpAdd) -> CoreResult<McpServer> {
        let (row, secrets) = self.mcp_row_from(p, "user").await?;
        if self.mcp_rows().contains_key(&row.name) {
            return Err(CoreError::Conflict(format!(
                "an MCP server named `{}` already exists; remove it first or choose another name",
                row.name
            )));
        }
        self.mcp_put(row.clone(), secrets, false).await?;
        if row.enabled {
            self.start_mcp_server(&row).await?;
        }
        self.mcp_server_view(&row.name)
    }

    /// Checks an `mcp.add` (or an imported entry) and splits it into the row and the secrets.
    async fn mcp_row_from(&self, p: McpAdd, origin: &str) -> CoreResult<(McpServerRow, Secrets)> {
        let transport = match (&p.command, &p.url) {
            (Some(command), None) => Transport::Stdio(StdioSpec {
                command: command.clone(),
                args: p.args.clone().unwrap_or_default(),
                env: p.env.clone().unwrap_or_default(),
                cwd: None,
                sandbox: false,
            }),
            (None, Some(url)) => {
                if p.env.as_ref().is_some_and(|e| !e.is_empty()) {
                    return Err(CoreError::InvalidInput(
                        "`env` is for stdio servers; an HTTP server takes `headers`".into(),
                    ));
                }
                Transport::Http(HttpSpec { url: url.clone(), headers: p.headers.clone().unwrap_or_default() })
            }
            (Some(_), Some(_)) => {
                return Err(CoreError::InvalidInput(
                    "give a `command` (stdio) or a `url` (HTTP), not both".into(),
                ));
            }
            (None, None) => {
                return Err(CoreError::InvalidInput(
                    "an MCP server needs a `command` to run (stdio) or a `url` (Streamable HTTP)".into(),
                ));
            }
        };
        if matches!(transport, Transport::Stdio(_)) && p.headers.as_ref().is_some_and(|h| !h.is_empty()) {
            return Err(CoreError::InvalidInput(
                "`headers` are for HTTP servers; a stdio server takes `env`".into(),
            ));
        }
        let spec = ServerSpec { name: p.name.trim().to_owned(), transport };
        spec.validate()?;
        if let Some(id) = &p.project_id {
            // Not found is the caller's mistake, said as such.
            self.store().get_project(id).await?;
        }
        let now = atelier_store::now();
        let is_project = p.project_id.is_some();
        let (row, secrets) = match spec.transport {
            Transport::Stdio(s) => (
                McpServerRow {
                    name: spec.name,
                    project_id: p.project_id,
                    transport: "stdio".into(),
                    command: Some(s.command),
                    args: s.args,
                    url: None,
                    env_keys: s.env.keys().cloned().collect(),
                    header_keys: Vec::new(),
                    enabled: bool_default(p.enabled, true),
                    trusted: bool_default(p.trusted, false),
                    sandbox: bool_default(p.sandbox, is_project),
                    origin: origin.into(),
                    created_at: now.clone(),
                    updated_at: now,
                },
                Secrets { env: s.env, headers: BTreeMap::new() },
            ),
            Transport::Http(h) => (
                McpServerRow {
                    name: spec.name,
                    project_id: p.project_id,
                    transport: "http".into(),
                    command: None,
                    args: Vec::new(),
                    url: Some(h.url),
                    env_keys: Vec::new(),
                    header_keys: h.headers.keys().cloned().collect(),
                    enabled: bool_default(p.enabled, true),
                    trusted: bool_default(p.trusted, false),
                    sandbox: bool_default(p.sandbox, is_project),
                    origin: origin.into(),
                    created_at: now.clone(),
                    updated_at: now,
                },
                Secrets { env: BTreeMap::new(), headers: h.headers },
            ),
        };
        Ok((row, secrets))
    }

    /// Secrets first (a keychain that refuses them stops the add before anything is kept),
    /// then the row, then the cache the events read.
    async fn mcp_put(&self, row: McpServerRow, secrets: Secrets, replace: bool) -> CoreResult<()> {
        // The keychain is touched only for servers with values: one without works on a machine
        // with no keychain service at all.
        let had = self.mcp_rows().get(&row.name).is_some_and(has_secrets);
        if has_secrets(&row) {
            store_secrets(&self.inner.config.keychain, &row.name, secrets).await?;
        } else if had {
            forget_secrets(&self.inner.config.keychain, &row.name).await;
        }
        self.store().put_mcp_server(row.clone(), replace).await?;
        self.mcp_rows().insert(row.name.clone(), row);
        Ok(())
    }

    /// `mcp.remove`: stops it (no process left), forgets it and its secrets.
    pub async fn mcp_remove(&self, name: &str) -> CoreResult<()> {
        let row = self.mcp_row(name)?;
        self.mcp().stop(name).await;
        self.store().delete_mcp_server(name).await?;
        self.mcp_rows().remove(name);
        if has_secrets(&row) {
            forget_secrets(&self.inner.config.keychain, name).await;
        }
        self.bus().publish(topics::MCP, "mcp.server_removed", serde_json::json!({ "name": name }));
        Ok(())
    }

    /// `mcp.restart`: starts it again now (also one that gave up after repeated failures).
    pub async fn mcp_restart(&self, name: &str) -> CoreResult<McpServer> {
        let row = self.mcp_row(name)?;
        if !row.enabled {
            return Err(CoreError::Conflict(format!(
                "the MCP server `{name}` is disabled; enable it to start it"
            )));
        }
        if self.mcp().state(name).is_some_and(|s| s.status != atelier_mcp::Status::Stopped) {
            self.mcp().restart(name)?;
        } else {
            self.start_mcp_server(&row).await?;
        }
        self.mcp_server_view(name)
    }

    /// `mcp.set_enabled`: starts or stops it, and remembers the choice.
    pub async fn mcp_set_enabled(&self, name: &str, enabled: bool) -> CoreResult<McpServer> {
        let mut row = self.mcp_row(name)?;
        self.store().update_mcp_server(name, Some(enabled), None, None).await?;
        row.enabled = enabled;
        self.mcp_rows().insert(name.to_owned(), row.clone());
        if enabled {
            if self.mcp().state(name).is_none_or(|s| s.status == atelier_mcp::Status::Stopped) {
                self.start_mcp_server(&row).await?;
            }
        } else {
            self.mcp().stop(name).await;
        }
        self.mcp_server_view(name)
    }

    /// `mcp.update`: the `trusted` and `sandbox` switches (a running stdio server whose
    /// sandbox switch changed starts again).
    pub async fn mcp_update(
        &self,
        name: &str,
        trusted: Option<bool>,
        sandbox: Option<bool>,
    ) -> CoreResult<McpServer> {
        let mut row = self.mcp_row(name)?;
        self.store().update_mcp_server(name, None, trusted, sandbox).await?;
        let restart = sandbox.is_some_and(|s| s != row.sandbox) && row.enabled;
        row.trusted = trusted.unwrap_or(row.trusted);
        row.sandbox = sandbox.unwrap_or(row.sandbox);
        self.mcp_rows().insert(name.to_owned(), row.clone());
        if restart {
            self.start_mcp_server(&row).await?;
        }
        self.mcp_server_view(name)
    }

    /// `mcp.import`: every server of an `mcpServers` document, added or replacing one of the
    /// same name, and started unless the document disables it. The whole document is checked
    /// before anything is kept.
    pub async fn mcp_import(&self, json: &str, project_id: Option<String>) -> CoreResult<Vec<McpServer>> {
        let imported = atelier_mcp::parse_mcp_servers(json)?;
        let mut prepared = Vec::with_capacity(imported.len());
        for item in imported {
            prepared.push(self.mcp_row_from(add_from(item, project_id.clone()), "user").await?);
        }
        let mut out = Vec::with_capacity(prepared.len());
        for (row, secrets) in prepared {
            self.mcp().stop(&row.name).await;
            self.mcp_put(row.clone(), secrets, true).await?;
            if row.enabled {
                self.start_mcp_server(&row).await?;
            }
            out.push(self.mcp_server_view(&row.name)?);
        }
        Ok(out)
    }

    /// Reads a project's `.mcp.json` and shows its servers, disabled: a cloned repository must
    /// not start programs on its own. A name already taken keeps the existing server.
    pub async fn discover_project_mcp(&self, project_id: &str) -> CoreResult<()> {
        let project = self.store().get_project(project_id).await?;
        let path = PathBuf::from(&project.path).join(".mcp.json");
        let text = tokio::task::spawn_blocking(move || -> Option<String> {
            let meta = std::fs::metadata(&path).ok()?;
            if !meta.is_file() || meta.len() > MAX_PROJECT_FILE {
                return None;
            }
            std::fs::read_to_string(&path).ok()
        })
        .await
        .map_err(|e| CoreError::Internal(format!("reading .mcp.json: {e}")))?;
        let Some(text) = text else { return Ok(()) };
        let imported = match atelier_mcp::parse_mcp_servers(&text) {
            Ok(imported) => imported,
            Err(e) => {
                tracing::info!(project = project_id, error = %e, "a project's .mcp.json cannot be used");
                return Ok(());
            }
        };
        for item in imported {
            if self.mcp_rows().contains_key(&item.spec.name) {
                continue;
            }
            let mut add = add_from(item, Some(project_id.to_owned()));
            add.enabled = Some(false);
            add.sandbox = Some(true);
            let (row, secrets) = self.mcp_row_from(add, "project_file").await?;
            self.mcp_put(row.clone(), secrets, false).await?;
            let server = to_api(&row, None);
            self.bus().publish(
                topics::MCP,
                event_types::MCP_SERVER_STATUS,
                to_value(&McpServerStatus { server }),
            );
        }
        Ok(())
    }

    /// Every ready server's tools, for the agents' tool registry (`<server>.<tool>`).
    pub fn mcp_tools(&self) -> Vec<McpToolEntry> {
        let rows = self.mcp_rows().clone();
        self.mcp()
            .tools()
            .into_iter()
            .map(|(server, tool)| McpToolEntry {
                trusted: rows.get(&server).is_some_and(|r| r.trusted),
                server,
                name: tool.name,
                description: tool.description,
                input_schema: tool.input_schema,
            })
            .collect()
    }

    /// Calls an MCP tool: 60 s at most (the `Options`' `call_timeout`), cancelled with
    /// `cancel` (the agent's turn). A result the server flags `isError` comes back with
    /// `is_error` set; a server that fails, hangs or is not ready is an error.
    pub async fn call_mcp_tool(
        &self,
        server: &str,
        tool: &str,
        arguments: serde_json::Value,
        cancel: &CancellationToken,
    ) -> CoreResult<McpToolResult> {
        Ok(self.mcp().call(server, tool, arguments, cancel).await?)
    }

    /// Pings every ready server while someone subscribes to `mcp`, and says so as
    /// `mcp.server_health`.
    pub(crate) async fn watch_mcp_health(self) {
        let mut tick = tokio::time::interval(self.inner.config.mcp_health_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = self.inner.shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            if !self.bus().has_subscribers(topics::MCP) {
                continue;
            }
            let ready: Vec<String> = self
                .mcp()
                .states()
                .into_iter()
                .filter(|s| s.status == atelier_mcp::Status::Ready)
                .map(|s| s.name)
                .collect();
            for name in ready {
                let health = match self.mcp().ping(&name).await {
                    Ok(rtt) => McpServerHealth {
                        name,
                        ok: true,
                        latency_ms: Some(u64::try_from(rtt.as_millis()).unwrap_or(u64::MAX)),
                        error: None,
                    },
                    Err(e) => {
                        McpServerHealth { name, ok: false, latency_ms: None, error: Some(e.to_string()) }
                    }
                };
                self.bus().publish(topics::MCP, event_types::MCP_SERVER_HEALTH, to_value(&health));
            }
        }
    }

    pub(crate) async fn stop_mcp_servers(&self) {
        self.mcp().shutdown().await;
    }
}

fn add_from(item: atelier_mcp::Imported, project_id: Option<String>) -> McpAdd {
    let enabled = Some(item.enabled);
    match item.spec.transport {
        Transport::Stdio(s) => McpAdd {
            name: item.spec.name,
            command: Some(s.command),
            args: Some(s.args),
            env: Some(s.env),
            project_id,
            enabled,
            ..McpAdd::default()
        },
        Transport::Http(h) => McpAdd {
            name: item.spec.name,
            url: Some(h.url),
            headers: Some(h.headers),
            project_id,
            enabled,
            ..McpAdd::default()
        },
    }
}
