//! Runs the commands Atelier's agents run, confined: bubblewrap on Linux (Landlock where
//! bubblewrap cannot create namespaces), Seatbelt on macOS, a Podman or Docker container where
//! the person asks for one, and nothing only when the person turned the sandbox off.
//!
//! Every mode gives the same promise as far as it can: the project folder writable, the system
//! read-only, the rest of the home folder hidden except folders allowed read-only (toolchains and
//! caches), no network unless asked, a wall-clock timeout, an output cap, the whole process tree
//! killed on timeout or cancel, and memory limits where the mode can enforce them.
//! [`Sandbox::report`] says what is in force and how to get something stronger.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

mod bwrap;
mod container;
mod env;
#[cfg(target_os = "linux")]
mod landlock;
mod probe;
mod process;
mod seatbelt;

pub use bwrap::bwrap_args;
pub use container::container_args;
pub use env::clean_env;
pub use seatbelt::seatbelt_profile;

/// The setting `sandbox`: what the person asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SandboxSetting {
    /// The strongest sandbox this machine offers.
    #[default]
    Auto,
    /// Bubblewrap, or an error that says why it cannot run.
    Bubblewrap,
    /// A Podman or Docker container, or an error that says why none answers.
    Container,
    /// No sandbox: commands run with the person's full rights. Only ever an explicit choice.
    Off,
}

impl SandboxSetting {
    /// The values the setting takes, as a person types them.
    pub const VALUES: [&'static str; 4] = ["auto", "bubblewrap", "container", "off"];

    pub fn as_str(self) -> &'static str {
        match self {
            SandboxSetting::Auto => "auto",
            SandboxSetting::Bubblewrap => "bubblewrap",
            SandboxSetting::Container => "container",
            SandboxSetting::Off => "off",
        }
    }
}

impl std::fmt::Display for SandboxSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SandboxSetting {
    type Err = SandboxError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "" | "auto" => Ok(SandboxSetting::Auto),
            "bubblewrap" => Ok(SandboxSetting::Bubblewrap),
            "container" => Ok(SandboxSetting::Container),
            "off" => Ok(SandboxSetting::Off),
            other => Err(SandboxError::InvalidInput(format!(
                "`{}` is not a sandbox setting; use {}",
                other.chars().take(40).collect::<String>(),
                SandboxSetting::VALUES.join(", ")
            ))),
        }
    }
}

/// The sandbox in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Mode {
    /// Linux namespaces through `bwrap`: the strongest on Linux.
    Bubblewrap,
    /// Linux Landlock rules: files and TCP only; used where bubblewrap cannot run.
    Landlock,
    /// macOS `sandbox-exec` with a generated profile.
    Seatbelt,
    /// A Podman or Docker container.
    Container { engine: String },
    /// Nothing: the sandbox is off, or the platform has none (Windows).
    None,
}

impl Mode {
    /// One word for the mode, e.g. for the UI's "ran in …".
    pub fn name(&self) -> &str {
        match self {
            Mode::Bubblewrap => "bubblewrap",
            Mode::Landlock => "landlock",
            Mode::Seatbelt => "seatbelt",
            Mode::Container { .. } => "container",
            Mode::None => "none",
        }
    }

    pub fn is_confined(&self) -> bool {
        !matches!(self, Mode::None)
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mode::Container { engine } => write!(f, "container ({engine})"),
            Mode::None => f.write_str("no sandbox"),
            other => f.write_str(other.name()),
        }
    }
}

/// What a confined command may touch.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Policy {
    /// Read-write, and the command's working folder. Must exist.
    pub project: PathBuf,
    /// Extra folders readable (never writable): toolchains and caches such as `~/.cargo`,
    /// `~/.rustup`, `~/.npm`, `~/.cache/pip`. Folders that do not exist are skipped.
    pub read_only: Vec<PathBuf>,
    /// The setting `sandbox.network`; off by default.
    pub network: bool,
    /// A memory limit in MiB, where the mode can enforce one (see [`Sandbox::report`]).
    pub memory_mb: Option<u64>,
    /// A CPU limit in cores; only containers can enforce it.
    pub cpus: Option<f32>,
}

impl Policy {
    /// The project writable, nothing else allowed, no network, no limits.
    pub fn new(project: impl Into<PathBuf>) -> Policy {
        Policy { project: project.into(), ..Policy::default() }
    }
}

/// The toolchain and cache folders that exist under `home`, the default for the setting
/// `sandbox.allow_read`: builds need them to find compilers and downloaded packages offline.
pub fn default_read_only(home: &Path) -> Vec<PathBuf> {
    const FOLDERS: &[&str] = &[
        ".cargo",
        ".rustup",
        ".npm",
        ".nvm",
        ".cache/pip",
        ".cache/uv",
        ".cache/go-build",
        "go/pkg",
        ".m2",
        ".gradle",
        ".local/lib",
        ".pyenv",
    ];
    FOLDERS.iter().map(|f| home.join(f)).filter(|p| p.is_dir()).collect()
}

/// A command to run confined.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// A shell command line (`sh -c` on Unix, `cmd /C` on Windows).
    pub command: String,
    pub policy: Policy,
    /// Wall-clock limit; the whole process tree is killed when it passes.
    pub timeout: Duration,
    /// Output kept at most (stdout and stderr together); the rest is counted, not kept.
    pub output_cap: usize,
    /// Variables set on top of the safe allow-list (see [`clean_env`]).
    pub env: Vec<(String, String)>,
}

/// How a confined command ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunOutcome {
    /// The exit code, when it exited (not when killed by a signal).
    pub exit_code: Option<i32>,
    /// The signal that ended it (Unix).
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub cancelled: bool,
    /// stdout and stderr merged in order, as lossy UTF-8, at most `output_cap` bytes.
    pub output: String,
    /// Bytes the command wrote past `output_cap`.
    pub truncated_bytes: u64,
    pub duration: Duration,
    /// Where it ran.
    pub mode: Mode,
}

impl RunOutcome {
    /// It exited with code 0 by itself.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out && !self.cancelled
    }
}

/// `ok`: as strong as this platform allows; `degraded`: weaker, or off; `down`: commands cannot
/// run at all (the sandbox asked for cannot start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportStatus {
    Ok,
    Degraded,
    Down,
}

/// For health and `atelier doctor`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SandboxReport {
    pub status: ReportStatus,
    pub mode: Mode,
    /// A sentence naming the mode and what it confines.
    pub summary: String,
    /// When weaker than possible: how to get a stronger sandbox.
    pub advice: Option<String>,
    /// What the memory setting is enforced as in this mode, or that it is not.
    pub memory: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The sandbox asked for cannot start here. Never answered by running unconfined.
    #[error("the {asked} sandbox cannot run here: {reason}. {advice}")]
    Unavailable { asked: String, reason: String, advice: String },
    #[error("{0}")]
    InvalidInput(String),
    #[error("cannot start `{what}`: {source}")]
    Spawn { what: String, source: std::io::Error },
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
}

/// Where detection looks. The defaults find `bwrap` on `PATH`, then Podman, then Docker.
#[derive(Debug, Clone)]
pub struct Detect {
    /// The bubblewrap binary (a name looked up on `PATH`, or a path).
    pub bwrap: PathBuf,
    /// Container engines to try, in order.
    pub engines: Vec<String>,
    /// The image containers run (the setting `sandbox.image`).
    pub image: String,
    /// The home folder to hide (`$HOME` by default).
    pub home: Option<PathBuf>,
}

/// The image containers use unless the setting `sandbox.image` names another.
pub const DEFAULT_IMAGE: &str = "docker.io/library/debian:stable-slim";

impl Default for Detect {
    fn default() -> Self {
        Detect {
            bwrap: PathBuf::from("bwrap"),
            engines: vec!["podman".into(), "docker".into()],
            image: DEFAULT_IMAGE.into(),
            home: env::home(),
        }
    }
}

/// The sandbox commands run in. Detected once (and again when the setting changes); cheap to
/// share behind an `Arc`.
#[derive(Debug)]
pub struct Sandbox {
    mode: Mode,
    setting: SandboxSetting,
    bwrap: PathBuf,
    image: String,
    home: Option<PathBuf>,
    /// Why this is weaker than the platform's best (Landlock: why bubblewrap could not run).
    weaker: Option<String>,
    /// What Landlock enforces on this kernel (its network and scope rules need newer kernels).
    landlock_net: bool,
    /// A private temporary folder for modes without a private `/tmp` (Landlock, Seatbelt),
    /// given to commands as `TMPDIR` and removed with the sandbox.
    tmp: Option<tempfile::TempDir>,
}

impl Sandbox {
    /// Finds the strongest available mode for the setting (probing that bwrap can create
    /// namespaces, else Landlock, …); never silently weaker than asked: asking `bubblewrap`
    /// where it cannot run is an error that says why, and so is `auto` where nothing can
    /// confine commands (except on Windows, which has no sandbox yet: [`Mode::None`], and the
    /// report says so). Runs short probe processes: call it off async workers.
    pub fn detect(setting: SandboxSetting) -> Result<Sandbox, SandboxError> {
        Sandbox::detect_with(setting, &Detect::default())
    }

    /// [`Sandbox::detect`] with other places to look (tests force the Landlock fallback by
    /// naming a `bwrap` that does not exist).
    pub fn detect_with(setting: SandboxSetting, how: &Detect) -> Result<Sandbox, SandboxError> {
        let base = Sandbox {
            mode: Mode::None,
            setting,
            bwrap: how.bwrap.clone(),
            image: how.image.clone(),
            home: how.home.clone(),
            weaker: None,
            landlock_net: false,
            tmp: None,
        };
        match setting {
            SandboxSetting::Off => Ok(base),
            SandboxSetting::Container => match probe::container_engine(&how.engines) {
                Ok(engine) => Ok(Sandbox { mode: Mode::Container { engine }, ..base }),
                Err(reason) => Err(SandboxError::Unavailable {
                    asked: "container".into(),
                    reason,
                    advice: "Install Podman (or Docker) and make sure `podman info` works, or choose \
                             `auto` in Settings → Sandbox"
                        .into(),
                }),
            },
            SandboxSetting::Bubblewrap => {
                if !cfg!(target_os = "linux") {
                    return Err(SandboxError::Unavailable {
                        asked: "bubblewrap".into(),
                        reason: "bubblewrap exists only on Linux".into(),
                        advice: "Choose `auto` in Settings → Sandbox".into(),
                    });
                }
                match probe::bwrap(&how.bwrap) {
                    Ok(()) => Ok(Sandbox { mode: Mode::Bubblewrap, ..base }),
                    Err(reason) => Err(SandboxError::Unavailable {
                        asked: "bubblewrap".into(),
                        advice: probe::bwrap_advice(&reason),
                        reason,
                    }),
                }
            }
            SandboxSetting::Auto => Sandbox::auto(base, how),
        }
    }

    #[cfg(target_os = "linux")]
    fn auto(base: Sandbox, how: &Detect) -> Result<Sandbox, SandboxError> {
        let reason = match probe::bwrap(&how.bwrap) {
            Ok(()) => return Ok(Sandbox { mode: Mode::Bubblewrap, ..base }),
            Err(reason) => reason,
        };
        tracing::warn!(%reason, "bubblewrap cannot run; trying Landlock");
        match landlock::probe() {
            Ok(net) => Ok(Sandbox {
                mode: Mode::Landlock,
                weaker: Some(reason),
                landlock_net: net,
                tmp: Some(private_tmp()?),
                ..base
            }),
            Err(landlock) => Err(SandboxError::Unavailable {
                asked: "auto".into(),
                advice: format!(
                    "{} Or, knowing that commands then run with your full rights, set the sandbox \
                     to `off` in Settings",
                    probe::bwrap_advice(&reason)
                ),
                reason: format!("{reason}; and {landlock}"),
            }),
        }
    }

    #[cfg(target_os = "macos")]
    fn auto(base: Sandbox, _how: &Detect) -> Result<Sandbox, SandboxError> {
        if Path::new(seatbelt::SANDBOX_EXEC).is_file() {
            Ok(Sandbox { mode: Mode::Seatbelt, tmp: Some(private_tmp()?), ..base })
        } else {
            Err(SandboxError::Unavailable {
                asked: "auto".into(),
                reason: format!("{} is missing", seatbelt::SANDBOX_EXEC),
                advice: "It is part of macOS; reinstall the system tools, or set the sandbox to \
                         `container` or (knowing the risk) `off` in Settings"
                    .into(),
            })
        }
    }

    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    fn auto(base: Sandbox, _how: &Detect) -> Result<Sandbox, SandboxError> {
        // Windows: nothing to confine with yet. The report says so, and the tools layer asks
        // the person to approve every command.
        Ok(base)
    }

    pub fn mode(&self) -> &Mode {
        &self.mode
    }

    pub fn setting(&self) -> SandboxSetting {
        self.setting
    }

    /// The container image, in container mode.
    pub fn image(&self) -> &str {
        &self.image
    }

    /// For health and `atelier doctor`: status (ok / degraded / down), a sentence naming the
    /// mode and, when weaker than possible, how to get a stronger one.
    pub fn report(&self) -> SandboxReport {
        let memory = self.memory_enforcement();
        let (status, summary, advice) = match &self.mode {
            Mode::Bubblewrap => (
                ReportStatus::Ok,
                "commands agents run are confined by bubblewrap: the project writable, the system \
                 read-only, the home folder hidden except the allowed folders, a private temporary folder, \
                 their own process and network namespaces"
                    .to_owned(),
                None,
            ),
            Mode::Landlock => (
                ReportStatus::Degraded,
                format!(
                    "commands agents run are confined by Landlock, because bubblewrap cannot run \
                     here ({}): writes only in the project, the home folder unreadable except the \
                     allowed folders, {}; but no private temporary folder (they get their own TMPDIR) and no \
                     process isolation",
                    self.weaker.as_deref().unwrap_or("unknown reason"),
                    if self.landlock_net {
                        "TCP connections blocked unless the network is allowed"
                    } else {
                        "the network NOT blocked (this kernel's Landlock predates network rules, Linux 6.7)"
                    }
                ),
                Some(probe::bwrap_advice(self.weaker.as_deref().unwrap_or(""))),
            ),
            Mode::Seatbelt => (
                ReportStatus::Ok,
                "commands agents run are confined by macOS Seatbelt (sandbox-exec): the project \
                 writable, the system read-only, the home folder hidden except the allowed \
                 folders, their own TMPDIR"
                    .to_owned(),
                None,
            ),
            Mode::Container { engine } => (
                ReportStatus::Ok,
                format!(
                    "commands agents run in {engine} containers of {}: the project mounted at the \
                     same path, the allowed folders read-only, a read-only system",
                    self.image
                ),
                None,
            ),
            Mode::None if self.setting == SandboxSetting::Off => (
                ReportStatus::Degraded,
                "the sandbox is off (your choice): commands agents run have your full rights".to_owned(),
                Some("Set the sandbox to `auto` in Settings → Sandbox to confine them again".to_owned()),
            ),
            Mode::None => (
                ReportStatus::Degraded,
                "no sandbox on this platform yet: commands agents run have your full rights, so \
                 each one waits for your approval"
                    .to_owned(),
                Some(
                    "On Windows, run Atelier inside WSL2 to have commands confined by bubblewrap, or \
                     set the sandbox to `container` with Docker Desktop or Podman"
                        .to_owned(),
                ),
            ),
        };
        SandboxReport { status, mode: self.mode.clone(), summary, advice, memory }
    }

    fn memory_enforcement(&self) -> String {
        match &self.mode {
            Mode::Container { .. } => "the memory and CPU limits apply to the whole container".into(),
            Mode::Bubblewrap | Mode::Landlock => "the memory limit applies to each process's data \
                                                  (RLIMIT_DATA); CPU limits need the container mode"
                .into(),
            _ => "memory and CPU limits are not enforced in this mode".into(),
        }
    }

    /// Runs a shell command (`sh -c` on Unix, `cmd /C` on Windows) confined by `policy`, cwd =
    /// the project: output streamed to `on_output` as it comes (stdout and stderr merged, in
    /// order; only the kept part, up to `output_cap`), wall-clock `timeout`, output capped at
    /// `output_cap` bytes (the rest counted, not kept), the whole process tree killed on timeout
    /// or when `cancel` fires, env cleaned to a safe allow-list plus `env`.
    pub async fn run(
        &self,
        spec: RunSpec,
        cancel: &CancellationToken,
        on_output: &mut (dyn FnMut(&[u8]) + Send),
    ) -> Result<RunOutcome, SandboxError> {
        if spec.command.trim().is_empty() {
            return Err(SandboxError::InvalidInput("the command is empty".into()));
        }
        if spec.timeout.is_zero() {
            return Err(SandboxError::InvalidInput("the timeout must be more than zero".into()));
        }
        let (shell, flag) = if cfg!(windows) { ("cmd", "/C") } else { ("sh", "-c") };
        let prepared =
            self.prepare(&spec.policy, shell, &[flag.to_owned(), spec.command.clone()], &spec.env)?;
        process::run(prepared, &spec, self.mode.clone(), cancel, on_output).await
    }

    /// For long-lived children such as MCP stdio servers: a tokio Command that starts `program
    /// args` inside the sandbox (stdin/stdout piped by the caller), in its own process group,
    /// killed with it (`kill_on_drop`). Spawn it from async code, not from `spawn_blocking`:
    /// bubblewrap's `--die-with-parent` follows the thread that started it. In container mode,
    /// the container is named; [`Sandbox::stop`] removes it.
    pub fn command(
        &self,
        policy: &Policy,
        program: &str,
        args: &[String],
    ) -> Result<tokio::process::Command, SandboxError> {
        if program.trim().is_empty() {
            return Err(SandboxError::InvalidInput("the program is empty".into()));
        }
        let prepared = self.prepare(policy, program, args, &[])?;
        Ok(prepared.command)
    }

    fn prepare(
        &self,
        policy: &Policy,
        program: &str,
        args: &[String],
        extra_env: &[(String, String)],
    ) -> Result<process::Prepared, SandboxError> {
        let policy = checked(policy)?;
        let home = self.home.as_deref();
        let tmp = self.tmp.as_ref().map(|t| t.path());
        let vars = clean_env(&self.mode, home, tmp, policy.network, extra_env);
        let mut container = None;
        let mut command = match &self.mode {
            Mode::Bubblewrap => {
                let mut c = tokio::process::Command::new(&self.bwrap);
                c.args(bwrap_args(&policy, home, program, args));
                c
            }
            Mode::Seatbelt => {
                let mut c = tokio::process::Command::new(seatbelt::SANDBOX_EXEC);
                c.args(seatbelt::args(&policy, home, tmp, program, args));
                c
            }
            Mode::Container { engine } => {
                let name = container::name();
                let mut c = tokio::process::Command::new(engine);
                c.args(container_args(engine, &self.image, &name, &policy, &vars, program, args));
                container = Some((engine.clone(), name));
                c
            }
            Mode::Landlock | Mode::None => {
                let mut c = tokio::process::Command::new(program);
                c.args(args);
                c
            }
        };
        command
            .env_clear()
            .envs(vars)
            .current_dir(&policy.project)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        // Its own process group, to kill the whole tree. On Linux, without bubblewrap's
        // `--new-session`, a new session (which is also a new group) detaches it from
        // Atelier's terminal, whose input it could otherwise inject keystrokes into.
        #[cfg(target_os = "linux")]
        let new_session = matches!(self.mode, Mode::Landlock | Mode::None);
        #[cfg(target_os = "linux")]
        if !new_session {
            command.process_group(0);
        }
        #[cfg(all(unix, not(target_os = "linux")))]
        command.process_group(0);
        #[cfg(target_os = "linux")]
        {
            let rules = match self.mode {
                Mode::Landlock => Some(landlock::ruleset(&policy, home, tmp)?),
                _ => None,
            };
            // Containers enforce memory themselves; elsewhere each process gets RLIMIT_DATA.
            let data = match self.mode {
                Mode::Bubblewrap | Mode::Landlock => policy.memory_mb.map(|mb| mb.saturating_mul(1 << 20)),
                _ => None,
            };
            landlock::confine(&mut command, rules, data, new_session);
        }
        Ok(process::Prepared { command, container })
    }

    /// Removes a container started by [`Sandbox::command`] (named `name`); nothing in other modes.
    pub async fn stop(&self, name: &str) {
        if let Mode::Container { engine } = &self.mode {
            process::remove_container(engine, name).await;
        }
    }
}

/// The policy with its paths made absolute and real (bind mounts and rules need real paths; on
/// macOS `/var` is `/private/var`), allowed folders that do not exist dropped.
fn checked(policy: &Policy) -> Result<Policy, SandboxError> {
    if !policy.project.is_absolute() {
        return Err(SandboxError::InvalidInput(format!(
            "the project folder must be an absolute path, not `{}`",
            policy.project.display()
        )));
    }
    let project = policy.project.canonicalize().map_err(|e| {
        SandboxError::InvalidInput(format!(
            "the project folder {} cannot be used: {e}",
            policy.project.display()
        ))
    })?;
    if !project.is_dir() {
        return Err(SandboxError::InvalidInput(format!("{} is not a folder", project.display())));
    }
    let mut read_only = Vec::new();
    for path in &policy.read_only {
        if !path.is_absolute() {
            return Err(SandboxError::InvalidInput(format!(
                "an allowed folder must be an absolute path, not `{}`",
                path.display()
            )));
        }
        if let Ok(real) = path.canonicalize()
            && !read_only.contains(&real)
        {
            read_only.push(real);
        }
    }
    if policy.cpus.is_some_and(|c| !(c > 0.0 && c.is_finite())) {
        return Err(SandboxError::InvalidInput("the CPU limit must be more than zero".into()));
    }
    if policy.memory_mb == Some(0) {
        return Err(SandboxError::InvalidInput("the memory limit must be more than zero".into()));
    }
    Ok(Policy { project, read_only, ..policy.clone() })
}

fn private_tmp() -> Result<tempfile::TempDir, SandboxError> {
    tempfile::Builder::new().prefix("atelier-sandbox-").tempdir().map_err(|source| SandboxError::Io {
        context: "creating the sandbox's temporary folder".into(),
        source,
    })
}
