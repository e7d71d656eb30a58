//! The sandbox's integration tests: real bubblewrap, real Landlock, real processes, files and
//! sockets on this machine. Linux only (macOS's Seatbelt and containers are unit-tested on their
//! argument lists: neither can run here).
#![cfg(target_os = "linux")]
// In tests a failed expect is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod confine;
mod detect;
mod landlock;
mod limits;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use atelier_sandbox::{Detect, Mode, Policy, RunOutcome, RunSpec, Sandbox, SandboxSetting};
use tokio_util::sync::CancellationToken;

/// The real bubblewrap sandbox; bubblewrap must work on the machine running the tests
/// (scripts/setup.sh installs it).
pub fn bubblewrap() -> Sandbox {
    Sandbox::detect(SandboxSetting::Bubblewrap).expect("bubblewrap works here (scripts/setup.sh installs it)")
}

/// Landlock, as `auto` picks it where bubblewrap cannot run: here bubblewrap is made
/// unfindable.
pub fn landlock() -> Sandbox {
    let how = Detect { bwrap: "/nonexistent/bwrap".into(), ..Detect::default() };
    let sandbox = Sandbox::detect_with(SandboxSetting::Auto, &how).expect("Landlock works on this kernel");
    assert_eq!(sandbox.mode(), &Mode::Landlock);
    sandbox
}

pub async fn run(sandbox: &Sandbox, policy: &Policy, command: &str) -> RunOutcome {
    run_for(sandbox, policy, command, Duration::from_secs(60)).await
}

pub async fn run_for(sandbox: &Sandbox, policy: &Policy, command: &str, timeout: Duration) -> RunOutcome {
    let spec = RunSpec {
        command: command.to_owned(),
        policy: policy.clone(),
        timeout,
        output_cap: 1 << 20,
        env: Vec::new(),
    };
    sandbox.run(spec, &CancellationToken::new(), &mut |_| {}).await.expect("the command starts")
}

/// A name no other test or run uses.
pub fn unique(what: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("atelier-test-{what}-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The real home folder: what the sandbox hides.
pub fn home() -> PathBuf {
    PathBuf::from(std::env::var_os("HOME").expect("HOME is set"))
}

/// A file or folder removed when the test ends, however it ends.
pub struct Planted(pub PathBuf);

impl Drop for Planted {
    fn drop(&mut self) {
        if self.0.is_dir() {
            std::fs::remove_dir_all(&self.0).ok();
        } else {
            std::fs::remove_file(&self.0).ok();
        }
    }
}

/// Plants `content` in a new file of the real home folder.
pub fn plant_in_home(content: &str) -> Planted {
    let path = home().join(format!(".{}", unique("secret")));
    std::fs::write(&path, content).unwrap();
    Planted(path)
}

/// Processes whose command line contains `marker`, from /proc.
pub fn processes_with(marker: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(marker) && pid != std::process::id() {
            found.push(pid);
        }
    }
    found
}

/// Processes whose command line contains `marker` 2 s on, or sooner once there are none. A
/// killed process takes a moment to exit (longer on a busy machine): what matters is that none
/// is left soon after a run ends, not that none is still exiting at that instant.
pub async fn left_soon(marker: &str) -> Vec<u32> {
    let by = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let found = processes_with(marker);
        if found.is_empty() || std::time::Instant::now() >= by {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

pub fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// Children of this test process that died and were never reaped.
pub fn zombie_children() -> Vec<u32> {
    let me = std::process::id();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // `pid (comm) state ppid …`; comm may hold spaces, so split after its last ')'.
        let Some((_, rest)) = stat.rsplit_once(')') else { continue };
        let mut fields = rest.split_whitespace();
        let (state, ppid) = (fields.next(), fields.next().and_then(|p| p.parse::<u32>().ok()));
        if state == Some("Z") && ppid == Some(me) {
            found.push(pid);
        }
    }
    found
}
