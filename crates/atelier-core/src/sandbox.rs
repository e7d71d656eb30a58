//! The App's sandbox for the commands agents run: detected from the setting `sandbox` at start
//! and again when it changes, with the policy the `sandbox.*` settings make; `sandbox.status`
//! and the `sandbox` check of `system.health`. The person's own terminals are never sandboxed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use atelier_protocol::{HealthCheck, HealthStatus, SandboxStatus};
use atelier_sandbox::{Detect, Policy, ReportStatus, Sandbox, SandboxSetting};
use atelier_store::Store;

use crate::App;
use crate::error::{CoreError, CoreResult};

/// The settings that shape the sandbox; changing one re-reads them all.
pub(crate) const KEYS: &[&str] = &[
    "sandbox",
    "sandbox.network",
    "sandbox.allow_read",
    "sandbox.memory_mb",
    "sandbox.cpus",
    "sandbox.image",
];

/// What the settings say, read together.
#[derive(Debug, Clone, PartialEq)]
struct Settings {
    setting: SandboxSetting,
    network: bool,
    allow_read: Vec<PathBuf>,
    memory_mb: Option<u64>,
    cpus: Option<f32>,
    image: String,
}

/// The sandbox in force (or why the one asked for cannot start) and its settings.
struct Current {
    settings: Settings,
    sandbox: Result<Arc<Sandbox>, String>,
}

/// Shared by the App and the workflow engine, which asks it where a check runs.
pub(crate) struct SandboxState {
    current: RwLock<Current>,
    home: Option<PathBuf>,
}

impl SandboxState {
    /// Reads the settings and detects the sandbox (off the async workers: detection starts
    /// probe processes).
    pub(crate) async fn load(store: &Store) -> CoreResult<SandboxState> {
        let home = Detect::default().home;
        let settings = read_settings(store, home.as_deref()).await?;
        let sandbox = detect(&settings).await;
        Ok(SandboxState { current: RwLock::new(Current { settings, sandbox }), home })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Current> {
        self.current.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The sandbox and the policy for a run in `project`.
    pub(crate) fn for_project(&self, project: &Path) -> Result<(Arc<Sandbox>, Policy), String> {
        let current = self.read();
        let sandbox = current.sandbox.clone()?;
        let s = &current.settings;
        let policy = Policy {
            project: project.to_path_buf(),
            read_only: s.allow_read.clone(),
            network: s.network,
            memory_mb: s.memory_mb,
            cpus: s.cpus,
        };
        Ok((sandbox, policy))
    }
}

impl atelier_agents::Confine for SandboxState {
    fn sandbox(&self, project: &Path) -> Result<(Arc<Sandbox>, Policy), String> {
        self.for_project(project)
    }
}

async fn detect(settings: &Settings) -> Result<Arc<Sandbox>, String> {
    let how = Detect { image: settings.image.clone(), ..Detect::default() };
    let setting = settings.setting;
    let detected = tokio::task::spawn_blocking(move || Sandbox::detect_with(setting, &how)).await;
    match detected {
        Ok(Ok(sandbox)) => {
            tracing::info!(mode = %sandbox.mode(), %setting, "sandbox for agents' commands");
            Ok(Arc::new(sandbox))
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, %setting, "the sandbox cannot start; agents' commands will not run");
            Err(e.to_string())
        }
        Err(e) => Err(format!("detecting the sandbox failed: {e}")),
    }
}

async fn read_settings(store: &Store, home: Option<&Path>) -> CoreResult<Settings> {
    let get = |key: &'static str| async move {
        Ok::<_, CoreError>(
            store.get_setting(key).await?.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()),
        )
    };
    // Values are checked when set; one that no longer reads (an older version's) is the default.
    let setting = get("sandbox").await?.and_then(|v| v.parse().ok()).unwrap_or_default();
    let network = get("sandbox.network").await?.as_deref() == Some("true");
    let allow_read = match get("sandbox.allow_read").await? {
        Some(list) => folders(&list, home).unwrap_or_default(),
        None => home.map(atelier_sandbox::default_read_only).unwrap_or_default(),
    };
    let memory_mb = get("sandbox.memory_mb").await?.and_then(|v| v.parse().ok());
    let cpus = get("sandbox.cpus").await?.and_then(|v| v.parse().ok());
    let image = get("sandbox.image").await?.unwrap_or_else(|| atelier_sandbox::DEFAULT_IMAGE.to_owned());
    Ok(Settings { setting, network, allow_read, memory_mb, cpus, image })
}

/// The folders of `sandbox.allow_read`: one per line (or separated by commas), each absolute or
/// starting with `~/`.
fn folders(list: &str, home: Option<&Path>) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for item in list.split(['\n', ',']).map(str::trim).filter(|i| !i.is_empty()) {
        let path = match (item.strip_prefix("~/"), home) {
            (Some(rest), Some(home)) => home.join(rest),
            (Some(_), None) => return Err(format!("`{item}`: there is no home folder to start from")),
            (None, _) => PathBuf::from(item),
        };
        if !path.is_absolute() {
            return Err(format!("`{item}` is not an absolute path (start it with / or ~/)"));
        }
        out.push(path);
    }
    Ok(out)
}

/// Checks a value for one of the `sandbox.*` settings; `Err` says what is accepted.
pub(crate) fn check_setting(key: &str, value: &str) -> CoreResult<()> {
    if value.is_empty() {
        return Ok(());
    }
    let invalid = |m: String| Err(CoreError::InvalidInput(m));
    match key {
        "sandbox" => {
            value.parse::<SandboxSetting>().map(drop).map_err(|e| CoreError::InvalidInput(e.to_string()))
        }
        "sandbox.network" if !["true", "false"].contains(&value) => {
            invalid(format!("{key} is `true` or `false`"))
        }
        "sandbox.allow_read" => folders(value, Detect::default().home.as_deref())
            .map(drop)
            .map_err(|e| CoreError::InvalidInput(format!("sandbox.allow_read: {e}"))),
        "sandbox.memory_mb" if !value.parse::<u64>().is_ok_and(|v| (16..=1 << 24).contains(&v)) => {
            invalid("sandbox.memory_mb is a number of MiB, at least 16".into())
        }
        "sandbox.cpus" if !value.parse::<f32>().is_ok_and(|v| v > 0.0 && v <= 1024.0) => {
            invalid("sandbox.cpus is a number of cores more than 0, e.g. 2 or 1.5".into())
        }
        "sandbox.image" if value.chars().any(char::is_whitespace) => {
            invalid("sandbox.image is one image name, e.g. docker.io/library/rust:1".into())
        }
        _ => Ok(()),
    }
}

impl App {
    /// The sandbox commands agents run go through, or `unavailable` saying why the one the
    /// settings ask for cannot start (commands must then not run).
    pub fn sandbox(&self) -> CoreResult<Arc<Sandbox>> {
        self.inner.sandbox.read().sandbox.clone().map_err(CoreError::Unavailable)
    }

    /// What a run in the project folder `project` needs: the sandbox and the policy of the
    /// `sandbox.*` settings (the project writable, the allowed folders, network, memory).
    pub fn sandbox_for(&self, project: &Path) -> CoreResult<(Arc<Sandbox>, Policy)> {
        self.inner.sandbox.for_project(project).map_err(CoreError::Unavailable)
    }

    /// Re-reads the `sandbox.*` settings, detecting again when the mode or image changed.
    pub(crate) async fn reload_sandbox(&self) -> CoreResult<()> {
        let settings = read_settings(self.store(), self.inner.sandbox.home.as_deref()).await?;
        let redetect = {
            let current = self.inner.sandbox.read();
            current.settings.setting != settings.setting || current.settings.image != settings.image
        };
        let sandbox = if redetect { Some(detect(&settings).await) } else { None };
        {
            // A block, not `drop`: the guard must visibly end before the next await.
            let mut current = self.inner.sandbox.current.write().unwrap_or_else(|p| p.into_inner());
            current.settings = settings;
            if let Some(sandbox) = sandbox {
                current.sandbox = sandbox;
            }
        }
        // The next health answer (and the event for watchers) shows the new sandbox.
        self.forget_health().await;
        let app = self.clone();
        self.spawn(async move {
            app.health_within(std::time::Duration::ZERO).await;
        });
        Ok(())
    }

    /// `sandbox.status`.
    pub fn sandbox_status(&self) -> SandboxStatus {
        let current = self.inner.sandbox.read();
        let s = &current.settings;
        let (mode, engine, status, summary, advice, error, memory) = match &current.sandbox {
            Ok(sandbox) => {
                let report = sandbox.report();
                let engine = match sandbox.mode() {
                    atelier_sandbox::Mode::Container { engine } => Some(engine.clone()),
                    _ => None,
                };
                let network = if !sandbox.mode().is_confined() {
                    ""
                } else if s.network {
                    "; network allowed (sandbox.network)"
                } else {
                    "; no network"
                };
                (
                    Some(sandbox.mode().name().to_owned()),
                    engine,
                    health_status(report.status),
                    format!("{}{network}", report.summary),
                    report.advice,
                    None,
                    report.memory,
                )
            }
            Err(e) => (
                None,
                None,
                HealthStatus::Degraded,
                "commands agents run cannot start: the sandbox asked for is not available".to_owned(),
                None,
                Some(e.clone()),
                String::new(),
            ),
        };
        SandboxStatus {
            setting: s.setting.as_str().to_owned(),
            mode,
            engine,
            status,
            summary,
            advice,
            error,
            memory,
            network: s.network,
            allow_read: s.allow_read.iter().map(|p| p.display().to_string()).collect(),
            memory_mb: s.memory_mb,
        }
    }

    /// The `sandbox` check of `system.health`: the mode in force and what it confines; when
    /// weaker than possible, how to get a stronger one.
    pub(crate) fn sandbox_check(&self) -> HealthCheck {
        let status = self.sandbox_status();
        let mut detail = match &status.error {
            Some(error) => format!("{}: {error}", status.summary),
            None => status.summary.clone(),
        };
        if let Some(advice) = &status.advice {
            detail.push_str(&format!(". {advice}"));
        }
        HealthCheck { name: "sandbox".into(), status: status.status, detail: Some(detail) }
    }
}

fn health_status(status: ReportStatus) -> HealthStatus {
    match status {
        ReportStatus::Ok => HealthStatus::Ok,
        ReportStatus::Degraded => HealthStatus::Degraded,
        ReportStatus::Down => HealthStatus::Down,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_folders_read_one_per_line_with_the_home_folder_as_tilde() {
        let home = Path::new("/home/me");
        assert_eq!(
            folders("~/.cargo\n/opt/tools, ~/.npm\n", Some(home)).unwrap(),
            vec![
                PathBuf::from("/home/me/.cargo"),
                PathBuf::from("/opt/tools"),
                PathBuf::from("/home/me/.npm")
            ]
        );
        assert!(folders("relative/dir", Some(home)).unwrap_err().contains("not an absolute path"));
    }

    #[test]
    fn setting_values_are_checked() {
        assert!(check_setting("sandbox", "off").is_ok());
        assert!(check_setting("sandbox", "docker").unwrap_err().to_string().contains("auto, bubblewrap"));
        assert!(check_setting("sandbox.network", "yes").is_err());
        assert!(check_setting("sandbox.memory_mb", "2048").is_ok());
        assert!(check_setting("sandbox.memory_mb", "0").is_err());
        assert!(check_setting("sandbox.cpus", "1.5").is_ok());
        assert!(check_setting("sandbox.image", "two words").is_err());
    }
}
