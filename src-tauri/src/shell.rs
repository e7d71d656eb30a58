//! The desktop shell: starts the engine in this process, gives the window its connection, and
//! runs the optional embedded server. Everything here delegates to `atelier-core` and
//! `atelier-server`.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use atelier_core::{App, Client, ClientLimits};
use atelier_server::{Embedded, ServerConfig};
use serde::Serialize;
use tauri::{Emitter as _, Manager as _};
use tauri_plugin_dialog::{DialogExt as _, MessageDialogButtons, MessageDialogKind};

/// The default port of the embedded server, as for `atelier serve`.
const DEFAULT_PORT: u16 = 7777;

/// What the window talks to: the engine, the window's connection and the embedded server.
pub struct Desktop {
    app: App,
    data_dir: PathBuf,
    connection: Mutex<Option<Connection>>,
    server: tokio::sync::Mutex<Option<Embedded>>,
    /// The last error starting the server, shown in Settings.
    server_error: Mutex<Option<String>>,
}

struct Connection {
    client: Arc<Client>,
    pump: Option<tauri::async_runtime::JoinHandle<()>>,
}

impl Connection {
    fn end(self) {
        self.client.close();
        if let Some(pump) = self.pump {
            pump.abort();
        }
    }
}

/// The embedded server as Settings shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ServerStatus {
    pub running: bool,
    /// `http://ADDR:PORT` while running.
    pub address: Option<String>,
    /// The address to open in a browser, with the token: `http://ADDR:PORT/#token=…`.
    pub link: Option<String>,
    pub token: String,
    pub port: u16,
    /// Bound to every interface (reachable from other machines) rather than loopback.
    pub public: bool,
    /// While public: the addresses other machines use (`http://IP:PORT`, this machine's
    /// network interfaces); empty when none was found or the server is on loopback.
    pub reachable_at: Vec<String>,
    pub error: Option<String>,
}

/// Where other machines reach a server listening on `bound` (an unspecified address: every
/// interface): this machine's addresses `ips` with the port, IPv4 first. Loopback, link-local
/// and multicast addresses are left out, and IPv6 ones when only IPv4 is bound.
fn reachable_at(bound: SocketAddr, ips: impl IntoIterator<Item = IpAddr>) -> Vec<String> {
    let usable = |ip: &IpAddr| match ip {
        IpAddr::V4(v4) => {
            !(v4.is_loopback() || v4.is_unspecified() || v4.is_link_local() || v4.is_multicast())
        }
        IpAddr::V6(v6) => {
            bound.is_ipv6()
                && !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_unicast_link_local()
                    || v6.is_multicast())
        }
    };
    let mut ips: Vec<IpAddr> = ips.into_iter().filter(usable).collect();
    ips.sort_by_key(|ip| (ip.is_ipv6(), *ip));
    ips.dedup();
    ips.into_iter().map(|ip| format!("http://{}", SocketAddr::new(ip, bound.port()))).collect()
}

/// This machine's interface addresses (none if the system will not say).
fn interface_ips() -> Vec<IpAddr> {
    match if_addrs::get_if_addrs() {
        Ok(interfaces) => interfaces.iter().map(if_addrs::Interface::ip).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "listing the network interfaces failed");
            Vec::new()
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Desktop {
    fn new(app: App, data_dir: PathBuf) -> Self {
        Self {
            app,
            data_dir,
            connection: Mutex::new(None),
            server: tokio::sync::Mutex::new(None),
            server_error: Mutex::new(None),
        }
    }

    /// The window's connection (made on first use).
    pub fn client(&self) -> Arc<Client> {
        let mut connection = lock(&self.connection);
        let current = connection.get_or_insert_with(|| Connection {
            client: Arc::new(self.app.connect(ClientLimits::local())),
            pump: None,
        });
        current.client.clone()
    }

    /// A fresh connection whose events go to `send`; the previous one (a page that was
    /// reloaded) ends with its subscriptions.
    pub fn attach(&self, send: impl FnMut(String) -> bool + Send + 'static) {
        let client = Arc::new(self.app.connect(ClientLimits::local()));
        let pumped = client.clone();
        let pump = tauri::async_runtime::spawn(async move { pumped.forward_events(send).await });
        let old = lock(&self.connection).replace(Connection { client, pump: Some(pump) });
        if let Some(old) = old {
            old.end();
        }
    }

    async fn saved_server(&self) -> (bool, u16, bool) {
        let get = |key: &'static str| async move { self.app.setting(key).await.ok().flatten() };
        let enabled = get("server.enabled").await.is_some_and(|v| v == "true");
        let port = get("server.port").await.and_then(|p| p.parse().ok()).unwrap_or(DEFAULT_PORT);
        let public = get("server.public").await.is_some_and(|v| v == "true");
        (enabled, port, public)
    }

    pub async fn server_status(&self) -> ServerStatus {
        let (_, saved_port, saved_public) = self.saved_server().await;
        let token = atelier_server::stored_token(&self.data_dir).unwrap_or_default();
        let server = self.server.lock().await;
        let addr = server.as_ref().map(Embedded::addr);
        // A server bound to every interface is reached through this machine's name or address;
        // the link uses loopback, which works here and shows the port.
        let link = addr.map(|a| format!("http://127.0.0.1:{}/#token={token}", a.port()));
        ServerStatus {
            running: addr.is_some(),
            address: addr.map(|a| format!("http://{a}")),
            link,
            token,
            port: addr.map_or(saved_port, |a| a.port()),
            public: addr.map_or(saved_public, |a| a.ip().is_unspecified()),
            reachable_at: addr
                .filter(|a| a.ip().is_unspecified())
                .map(|a| reachable_at(a, interface_ips()))
                .unwrap_or_default(),
            error: lock(&self.server_error).clone(),
        }
    }

    /// Stops the server if it runs, then starts it as asked; the choice is saved either way.
    pub async fn set_server(&self, enabled: bool, port: u16, public: bool) -> anyhow::Result<ServerStatus> {
        for (key, value) in [
            ("server.enabled", enabled.to_string()),
            ("server.port", port.to_string()),
            ("server.public", public.to_string()),
        ] {
            self.app
                .set_setting(key, Some(value))
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.user_message()))?;
        }
        self.apply(enabled, port, public).await?;
        Ok(self.server_status().await)
    }

    async fn apply(&self, enabled: bool, port: u16, public: bool) -> anyhow::Result<()> {
        let mut server = self.server.lock().await;
        if let Some(running) = server.take() {
            running.stop().await;
        }
        *lock(&self.server_error) = None;
        if !enabled {
            return Ok(());
        }
        let ip: IpAddr = if public {
            std::net::Ipv4Addr::UNSPECIFIED.into()
        } else {
            std::net::Ipv4Addr::LOCALHOST.into()
        };
        let token = atelier_server::stored_token(&self.data_dir)
            .with_context(|| format!("keeping the access token in {}", self.data_dir.display()))?;
        atelier_server::raise_file_limit();
        let started = Embedded::start(self.app.clone(), ServerConfig::new((ip, port).into(), token)).await;
        match started {
            Ok(running) => {
                if public {
                    tracing::warn!(addr = %running.addr(), "the embedded server is reachable from other machines");
                } else {
                    tracing::info!(addr = %running.addr(), "the embedded server is listening");
                }
                *server = Some(running);
                Ok(())
            }
            Err(e) => {
                *lock(&self.server_error) = Some(e.to_string());
                Err(e.into())
            }
        }
    }

    /// At start-up: the server as Settings left it. A failure (the port is taken) is shown in
    /// Settings, not fatal.
    async fn restore_server(&self) {
        let (enabled, port, public) = self.saved_server().await;
        if enabled && let Err(e) = self.apply(true, port, public).await {
            tracing::warn!(error = %format!("{e:#}"), "the embedded server did not start");
        }
    }

    async fn shutdown(&self) {
        if let Some(old) = lock(&self.connection).take() {
            old.end();
        }
        if let Some(server) = self.server.lock().await.take() {
            server.stop().await;
        }
        self.app.shutdown().await;
    }
}

/// What to ask before the main window closes — the editor's unsaved files, in the words the UI
/// set with `set_close_question` — or nothing (it closes at once). Kept here, not in the page,
/// so the window closes whatever state the page is in (reloading, busy, or gone).
#[derive(Default)]
pub struct CloseGuard {
    question: Mutex<Option<String>>,
    /// The question is on screen: another click on close waits for its answer.
    asking: std::sync::atomic::AtomicBool,
}

impl CloseGuard {
    pub fn set(&self, question: Option<String>) {
        *self.question.lock().unwrap_or_else(|e| e.into_inner()) = question.filter(|q| !q.trim().is_empty());
    }

    fn question(&self) -> Option<String> {
        self.question.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A folder named on the command line (`atelier-desktop ~/code/app`), which the UI opens as a
/// project once it has started (`take_launch_folder`).
#[derive(Default)]
pub struct LaunchFolder(Mutex<Option<String>>);

impl LaunchFolder {
    pub fn take(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// The folder among a launch's arguments: the first that is not an option (WebKitWebDriver and
/// desktop launchers may add some), made absolute against the launch's working folder.
pub fn folder_arg(args: &[String], cwd: &Path) -> Option<String> {
    let arg = args.iter().skip(1).find(|a| !a.starts_with('-') && !a.is_empty())?;
    let path = cwd.join(arg);
    let path = std::fs::canonicalize(&path).unwrap_or(path);
    Some(path.to_string_lossy().into_owned())
}

/// A close request (the close button, Alt+F4, the window manager): asks the guard's question
/// first when there is one, in a native dialog over the window; closes when answered OK.
fn on_close_requested(window: &tauri::Window, api: &tauri::CloseRequestApi) {
    use std::sync::atomic::Ordering;
    let guard = window.state::<CloseGuard>();
    let Some(question) = guard.question() else { return };
    api.prevent_close();
    if guard.asking.swap(true, Ordering::SeqCst) {
        return;
    }
    let target = window.clone();
    window
        .dialog()
        .message(question)
        .title("Unsaved changes")
        .kind(MessageDialogKind::Warning)
        .buttons(MessageDialogButtons::OkCancelCustom("Close without saving".into(), "Cancel".into()))
        .parent(window)
        .show(move |close| {
            target.state::<CloseGuard>().asking.store(false, Ordering::SeqCst);
            if close && let Err(e) = target.destroy() {
                tracing::warn!(error = %e, "closing the window");
            }
        });
}

/// The data folder: `ATELIER_DATA_DIR`, else the platform's app-data folder (shared with the
/// `atelier` command).
fn data_dir() -> anyhow::Result<PathBuf> {
    let flag = std::env::var_os("ATELIER_DATA_DIR").filter(|v| !v.is_empty()).map(PathBuf::from);
    atelier_cli::engine::data_dir(flag)
}

pub fn run() -> anyhow::Result<()> {
    // Without a display GTK cannot start and Tauri would panic; say what to do instead.
    if cfg!(target_os = "linux")
        && std::env::var_os("DISPLAY").is_none_or(|d| d.is_empty())
        && std::env::var_os("WAYLAND_DISPLAY").is_none_or(|d| d.is_empty())
    {
        anyhow::bail!(
            "no display (DISPLAY and WAYLAND_DISPLAY are unset), so the window cannot open; on a \
             machine without one, run `atelier serve` and open the address it prints in a browser"
        );
    }
    let runtime = atelier_cli::engine::runtime_builder().build().context("starting the async runtime")?;
    tauri::async_runtime::set(runtime.handle().clone());
    let context = tauri::generate_context!();
    let app = tauri::Builder::default()
        // First, so a second launch hands over to this one before anything starts.
        .plugin(tauri_plugin_single_instance::init(|app, args, cwd| {
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.set_focus();
            }
            // `atelier-desktop FOLDER` while the app runs: this window opens the folder.
            if let Some(folder) = folder_arg(&args, Path::new(&cwd))
                && let Err(e) = app.emit_to("main", "open-folder", folder)
            {
                tracing::warn!(error = %e, "handing a folder to the window");
            }
        }))
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_opener::init())
        .manage(CloseGuard::default())
        .manage(LaunchFolder(Mutex::new(folder_arg(
            &std::env::args().collect::<Vec<_>>(),
            &std::env::current_dir().unwrap_or_default(),
        ))))
        .menu(crate::menu::build)
        .on_menu_event(crate::menu::on_event)
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::CloseRequested { api, .. } = event {
                on_close_requested(window, api);
            }
        })
        .invoke_handler(tauri::generate_handler![
            crate::commands::rpc,
            crate::commands::events,
            crate::commands::server_status,
            crate::commands::server_set,
            crate::commands::set_close_question,
            crate::commands::take_launch_folder,
        ])
        .setup(|app| {
            let data_dir = data_dir()?;
            // With an explicit data folder (tests, a second profile) the logs go with it.
            let logs = match std::env::var_os("ATELIER_DATA_DIR") {
                Some(_) => data_dir.join("logs"),
                None => app.path().app_log_dir()?,
            };
            if let Some(guard) = atelier_cli::logging::init(&logs, false) {
                app.manage(LogGuard(Mutex::new(Some(guard))));
            }
            tracing::info!(data = %data_dir.display(), logs = %logs.display(), "starting Atelier");
            match tauri::async_runtime::block_on(atelier_cli::engine::start(data_dir.clone(), None)) {
                Ok(engine) => {
                    app.manage(Desktop::new(engine, data_dir));
                    let handle = app.handle().clone();
                    tauri::async_runtime::spawn(async move {
                        handle.state::<Desktop>().restore_server().await;
                    });
                }
                Err(e) => {
                    let message = format!("{e:#}");
                    tracing::error!(error = %message, "the engine did not start");
                    let handle = app.handle().clone();
                    app.dialog()
                        .message(message)
                        .title("Atelier cannot start")
                        .kind(MessageDialogKind::Error)
                        .show(move |_| handle.exit(1));
                }
            }
            Ok(())
        })
        .build(context)
        .context("opening the window")?;
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event {
            if let Some(desktop) = handle.try_state::<Desktop>() {
                tauri::async_runtime::block_on(desktop.shutdown());
            }
            if let Some(guard) = handle.try_state::<LogGuard>() {
                lock(&guard.0).take();
            }
        }
    });
    drop(runtime);
    Ok(())
}

/// Flushes the log file when the app ends.
struct LogGuard(Mutex<Option<atelier_cli::logging::Guard>>);

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, SocketAddr};
    use std::path::Path;

    use super::{folder_arg, reachable_at};

    #[test]
    #[cfg(unix)]
    fn the_folder_to_open_is_the_first_argument_that_is_not_an_option() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let cwd = Path::new("/nonexistent/home/me");
        assert_eq!(folder_arg(&args(&["atelier-desktop"]), cwd), None);
        assert_eq!(folder_arg(&args(&["atelier-desktop", "--automation"]), cwd), None);
        assert_eq!(
            folder_arg(&args(&["atelier-desktop", "--automation", "code/app"]), cwd).as_deref(),
            Some("/nonexistent/home/me/code/app")
        );
        assert_eq!(folder_arg(&args(&["atelier-desktop", "/srv/app"]), cwd).as_deref(), Some("/srv/app"));
        // An existing folder is named as it really is.
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("app")).expect("mkdir");
        let real = std::fs::canonicalize(dir.path().join("app")).expect("canonical");
        assert_eq!(
            folder_arg(&args(&["atelier-desktop", "./app/"]), dir.path()),
            Some(real.to_string_lossy().into_owned())
        );
    }

    #[test]
    fn other_machines_are_told_this_machines_addresses_not_the_bind_address() {
        let ips: Vec<IpAddr> = [
            "127.0.0.1",
            "fe80::1",
            "2001:db8::5",
            "192.168.1.20",
            "169.254.3.4",
            "10.0.0.7",
            "::1",
            "10.0.0.7",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let v4: SocketAddr = "0.0.0.0:7777".parse().unwrap();
        assert_eq!(
            reachable_at(v4, ips.clone()),
            ["http://10.0.0.7:7777", "http://192.168.1.20:7777"],
            "bound to IPv4 only: loopback, link-local, duplicates and IPv6 left out"
        );
        let v6: SocketAddr = "[::]:8080".parse().unwrap();
        assert_eq!(
            reachable_at(v6, ips),
            ["http://10.0.0.7:8080", "http://192.168.1.20:8080", "http://[2001:db8::5]:8080"],
            "IPv6 addresses in brackets, after IPv4"
        );
        assert!(reachable_at(v4, ["127.0.0.1".parse().unwrap()]).is_empty());
    }

    #[test]
    fn the_app_and_the_command_share_one_data_folder() {
        let config: serde_json::Value =
            serde_json::from_str(include_str!("../tauri.conf.json")).expect("tauri.conf.json is JSON");
        assert_eq!(
            config["identifier"],
            atelier_cli::engine::IDENTIFIER,
            "Tauri's app-data folder is named by the identifier; the command's must be the same"
        );
    }
}
