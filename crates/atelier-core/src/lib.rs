//! Atelier's engine. [`App`] owns the parts (store, model provider, event bus) and answers the
//! public API; shells (the server, the desktop app, the CLI) connect clients to it with
//! [`App::connect`] and carry JSON-RPC text to [`Client::handle_text`].

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use atelier_llm::Provider;
use atelier_store::Store;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

mod agent;
pub mod bus;
mod changes;
mod chat;
mod chat_tools;
mod error;
mod file_ops;
mod git;
mod index;
pub mod keychain;
mod maintenance;
mod mcp;
mod models;
mod project;
mod recommend;
mod rpc;
mod sandbox;
mod server;
mod settings;
mod system;
mod terminal;
mod tools;
mod workflow;

pub use agent::{ChatAgent, chat_agents};
pub use bus::{EventBus, Published, Subscriber};
pub use error::{CoreError, CoreResult};
pub use maintenance::{backup_data_dir, list_data_dir_backups, restore_data_dir};
pub use mcp::{MCP_HEALTH_EVERY, McpToolEntry, McpToolResult};
pub use rpc::{Client, ClientLimits};
pub use system::{HEALTH_EVERY, disk_check, model_endpoint_checks};

/// What the engine needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Holds the database, logs, the server token and (by default) new projects.
    pub data_dir: PathBuf,
    /// The model provider chats and agents talk to.
    pub provider: Arc<dyn Provider>,
    /// `ATELIER_MODEL` or a command-line choice; else the stored setting; else the first listed.
    pub default_model: Option<String>,
    /// How often health is checked while someone subscribes to `system` (changes are announced
    /// as `system.health`); [`HEALTH_EVERY`] unless a test wants it sooner.
    pub health_every: std::time::Duration,
    /// Where `settings.set_key` keeps API keys: the OS keychain under [`keychain::SERVICE`]
    /// (tests use a service of their own).
    pub keychain: keychain::Keychain,
    /// MCP servers' timings and limits (handshake 30 s, calls 60 s, 5 failures, backoff 1 s
    /// doubling to 60 s); tests shorten some.
    pub mcp: atelier_mcp::Options,
    /// How often ready MCP servers are pinged while someone subscribes to `mcp`
    /// ([`MCP_HEALTH_EVERY`]).
    pub mcp_health_every: std::time::Duration,
    /// Start the enabled MCP servers at start-up (the command line's `atelier mcp` does not).
    pub mcp_autostart: bool,
}

impl Config {
    /// A configuration with the defaults: no default model, health every [`HEALTH_EVERY`], the
    /// OS keychain.
    pub fn new(data_dir: PathBuf, provider: Arc<dyn Provider>) -> Config {
        Config {
            data_dir,
            provider,
            default_model: None,
            health_every: HEALTH_EVERY,
            keychain: keychain::Keychain::default(),
            mcp: atelier_mcp::Options::default(),
            mcp_health_every: MCP_HEALTH_EVERY,
            mcp_autostart: true,
        }
    }
}

struct Inner {
    config: Config,
    store: Store,
    bus: EventBus,
    chat: chat::Chats,
    system: system::SystemState,
    started: Instant,
    next_client: AtomicU64,
    /// Held until shutdown: a second engine on the same data folder would corrupt the event
    /// sequence, so it is refused at start.
    lock: File,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    engine: atelier_agents::Engine,
    terminals: atelier_terminal::Terminals,
    /// Outside-edit watches of the projects someone is subscribed to.
    watchers: std::sync::Mutex<std::collections::HashMap<String, atelier_files::Watcher>>,
    pulls: models::Pulls,
    /// Projects created or imported lately, over all clients.
    new_projects: governor::DefaultDirectRateLimiter,
    /// Where the commands agents run (a workflow's check, the tools) are confined.
    sandbox: Arc<sandbox::SandboxState>,
    /// The code index of each open project.
    indexes: Arc<index::Indexes>,
    mcp: mcp::McpParts,
    /// Agents' tool calls waiting for the person's answer.
    approvals: tools::Approvals,
    /// The provider every part holds, switched by the setting `model_server`.
    server: Arc<server::Switch>,
}

/// The running engine. Cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("data_dir", &self.inner.config.data_dir).finish_non_exhaustive()
    }
}

impl App {
    /// Opens (or creates) the data folder and database, marks replies that were streaming when
    /// the last run ended as `interrupted`, and restores the event sequence.
    pub async fn start(mut config: Config) -> CoreResult<App> {
        // Every part holds the switch, so a server chosen in Settings reaches them all at once.
        let server = Arc::new(server::Switch::new(config.provider.clone()));
        config.provider = server.clone();
        let data_dir = config.data_dir.clone();
        std::fs::create_dir_all(&data_dir)
            .map_err(|e| CoreError::io(format!("creating data folder {}", data_dir.display()), e))?;
        let db = data_dir.join("atelier.db");
        create_private_file(&db)?;
        let lock = lock_data_dir(&data_dir)?;
        make_private(&data_dir);
        let (store, bus) = tokio::task::spawn_blocking(move || -> CoreResult<_> {
            let store = Store::open(&db)?;
            let bus = EventBus::load(store.clone())?;
            Ok((store, bus))
        })
        .await
        .map_err(|e| CoreError::Internal(format!("start-up task failed: {e}")))??;
        let sandbox = Arc::new(sandbox::SandboxState::load(&store).await?);
        // Files a workflow writes go to the project's code index.
        let (written_tx, written_rx) = tokio::sync::mpsc::unbounded_channel();
        let engine = atelier_agents::Engine::new(
            store.clone(),
            config.provider.clone(),
            Arc::new(workflow::BusEvents { bus: bus.clone(), written: written_tx }),
            config.default_model.clone(),
            sandbox.clone(),
        );
        let indexes = Arc::new(index::Indexes::new(&data_dir, bus.clone(), config.provider.clone()));
        let mcp = mcp::McpParts::new(config.mcp.clone(), bus.clone());
        let app = App {
            inner: Arc::new(Inner {
                config,
                store,
                bus,
                chat: chat::Chats::default(),
                system: system::SystemState::default(),
                started: Instant::now(),
                next_client: AtomicU64::new(1),
                lock,
                shutdown: CancellationToken::new(),
                tasks: TaskTracker::new(),
                engine,
                terminals: atelier_terminal::Terminals::with_total(terminal::PER_PROJECT, terminal::IN_ALL),
                watchers: std::sync::Mutex::default(),
                pulls: models::Pulls::default(),
                new_projects: governor::RateLimiter::direct(governor::Quota::per_minute(
                    std::num::NonZeroU32::new(project::PROJECTS_PER_MINUTE)
                        .unwrap_or(std::num::NonZeroU32::MIN),
                )),
                sandbox,
                indexes,
                mcp,
                approvals: tools::Approvals::default(),
                server,
            }),
        };
        app.apply_model_server().await;
        app.inner.engine.set_knowledge(Arc::new(index::IndexKnowledge(Arc::downgrade(&app.inner))));
        app.indexes().set_embedding_setting(app.setting("embedding_model").await?);
        app.spawn(app.clone().index_workflow_writes(written_rx));
        app.recover_interrupted().await?;
        app.resume_workflows().await?;
        app.start_mcp_servers().await?;
        app.spawn(app.clone().publish_metrics());
        app.spawn(app.clone().watch_mcp_health());
        app.spawn(app.clone().watch_health());
        app.spawn(app.clone().maintain());
        Ok(app)
    }

    /// Every 2 s, `system.metrics` on `system` and `coordinator.metrics` on `coordinator`, for
    /// whoever subscribes to them (nothing is measured while nobody does).
    async fn publish_metrics(self) {
        use atelier_protocol::{event_types, to_value, topics};
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(2));
        loop {
            tokio::select! {
                () = self.inner.shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            self.prune_watches();
            if self.bus().has_subscribers(topics::SYSTEM) {
                let metrics = self.metrics().await;
                self.bus().publish(topics::SYSTEM, event_types::SYSTEM_METRICS, to_value(&metrics));
            }
            if self.bus().has_subscribers(topics::COORDINATOR) {
                match self.coordinator_metrics().await {
                    Ok(metrics) => {
                        self.bus().publish(topics::COORDINATOR, "coordinator.metrics", to_value(&metrics));
                    }
                    Err(e) => tracing::warn!(error = %e, "coordinator metrics"),
                }
            }
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn bus(&self) -> &EventBus {
        &self.inner.bus
    }

    pub fn data_dir(&self) -> &Path {
        &self.inner.config.data_dir
    }

    pub fn provider(&self) -> &Arc<dyn Provider> {
        &self.inner.config.provider
    }

    /// Connects a client (a WebSocket, the desktop window, the CLI) with its own event queue.
    pub fn connect(&self, limits: ClientLimits) -> Client {
        let id = self.inner.next_client.fetch_add(1, Ordering::Relaxed);
        Client::new(self.clone(), id, limits)
    }

    /// Stops streaming replies (they are saved as `interrupted`) and MCP servers (their
    /// processes gone), waits for the last writes, and releases the data folder for another
    /// engine.
    pub async fn shutdown(&self) {
        self.inner.shutdown.cancel();
        self.inner.terminals.close_owned_by(None);
        let indexes = self.indexes().clone();
        if let Err(e) = tokio::task::spawn_blocking(move || indexes.stop_all()).await {
            tracing::warn!(error = %e, "stopping the code indexes");
        }
        // No MCP server outlives the engine.
        self.stop_mcp_servers().await;
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
        if let Err(e) = self.inner.store.flush().await {
            tracing::warn!(error = %e, "flushing the database at shutdown");
        }
        if let Err(e) = self.inner.lock.unlock() {
            tracing::warn!(error = %e, "releasing the data folder lock");
        }
    }

    fn spawn<F>(&self, task: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.inner.tasks.spawn(task);
    }
}

/// Keeps a folder of Atelier's own (the data folder, the log folder) to its owner: the folder
/// `0700` and Atelier's files directly in it (`atelier*`, `token`) `0600` on Unix — the
/// history, logs and token are nobody else's business on a shared machine. Projects inside it
/// are left as they are. Failures are logged, not fatal (a file system without modes).
#[cfg_attr(not(unix), allow(unused_variables))]
pub fn make_private(dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let set = |path: &Path, mode: u32| {
            if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
                tracing::warn!(path = %path.display(), error = %e, "permissions not restricted");
            }
        };
        set(dir, 0o700);
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let ours = name.to_str().is_some_and(|n| n.starts_with("atelier") || n == "token");
                if ours && entry.file_type().is_ok_and(|t| t.is_file()) {
                    let path = entry.path();
                    let loose = std::fs::metadata(&path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0);
                    if loose {
                        set(&path, 0o600);
                    }
                }
            }
        }
    }
}

/// Creates `path` readable by its owner only when it does not exist yet, so that SQLite, which
/// gives its `-wal` and `-shm` files the database file's mode, keeps those private too.
fn create_private_file(path: &Path) -> CoreResult<()> {
    let mut options = File::options();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop).map_err(|e| CoreError::io(format!("creating {}", path.display()), e))
}

fn lock_data_dir(dir: &Path) -> CoreResult<File> {
    let path = dir.join("atelier.lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| CoreError::io(format!("opening {}", path.display()), e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(CoreError::Conflict(format!(
            "another Atelier is already using the data folder {}; stop it first, or pass \
             --data-dir to use another folder",
            dir.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(CoreError::io(format!("locking {}", path.display()), e)),
    }
}
