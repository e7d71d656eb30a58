//! Finding out what this machine can confine with: a real bubblewrap start with the same
//! namespaces commands get, and `info` of each container engine. Blocking (short processes).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long an engine's `info` may take (Docker Desktop answers slowly when starting).
const ENGINE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the bubblewrap probe may take.
const BWRAP_TIMEOUT: Duration = Duration::from_secs(5);

/// Starts `true` in bubblewrap with every namespace and the mounts commands get; the error is
/// bubblewrap's own words (or that it is not installed).
pub(crate) fn bwrap(bwrap: &Path) -> Result<(), String> {
    let mut command = Command::new(bwrap);
    command.args([
        "--die-with-parent",
        "--new-session",
        "--unshare-all",
        "--cap-drop",
        "ALL",
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--tmpfs",
        "/tmp",
        "--",
        "true",
    ]);
    match output(command, BWRAP_TIMEOUT) {
        Ok((true, _)) => Ok(()),
        Ok((false, text)) => Err(format!("bubblewrap fails to start: {}", first_line(&text))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err("bubblewrap (`bwrap`) is not installed".to_owned())
        }
        Err(e) => Err(format!("bubblewrap cannot be started: {e}")),
    }
}

/// What to do about a bubblewrap that cannot run, from the reason [`bwrap`] gave.
pub(crate) fn bwrap_advice(reason: &str) -> String {
    if reason.contains("not installed") {
        "Install bubblewrap (`sudo apt install bubblewrap`, `sudo dnf install bubblewrap`, \
         `sudo pacman -S bubblewrap`) and restart Atelier"
            .to_owned()
    } else {
        "Allow unprivileged user namespaces: `sudo sysctl -w kernel.unprivileged_userns_clone=1` on \
         Debian, `sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0` on Ubuntu 24.04 and \
         later (or an AppArmor profile for bwrap); inside a container, give it user namespaces \
         (e.g. Docker's `--security-opt seccomp=unconfined`)"
            .to_owned()
    }
}

/// The first engine whose `info` answers; else why none did, engine by engine.
pub(crate) fn container_engine(engines: &[String]) -> Result<String, String> {
    let mut reasons = Vec::new();
    for engine in engines {
        let mut command = Command::new(engine);
        // Plain `info`: its output is a few KiB, well under a pipe buffer, and each engine
        // names its fields differently for `--format`.
        command.arg("info");
        match output(command, ENGINE_TIMEOUT) {
            Ok((true, _)) => return Ok(engine.clone()),
            Ok((false, text)) => reasons.push(format!("{engine} does not answer ({})", first_line(&text))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                reasons.push(format!("{engine} is not installed"));
            }
            Err(e) => reasons.push(format!("{engine} cannot be started: {e}")),
        }
    }
    if reasons.is_empty() {
        return Err("no container engine is configured".into());
    }
    Err(reasons.join("; "))
}

fn first_line(text: &str) -> String {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("no message");
    line.chars().take(200).collect()
}

/// Runs `command` to its end or `timeout` (then kills it); whether it succeeded and its stderr
/// followed by its stdout.
fn output(mut command: Command, timeout: Duration) -> std::io::Result<(bool, String)> {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn()?;
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            let out = child.wait_with_output()?;
            let text =
                format!("{}\n{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout));
            return Ok((status.success(), text));
        }
        if start.elapsed() > timeout {
            if let Err(e) = child.kill() {
                tracing::debug!(error = %e, "killing a probe that took too long");
            }
            if let Err(e) = child.wait() {
                tracing::debug!(error = %e, "reaping a killed probe");
            }
            return Ok((false, format!("no answer within {} s", timeout.as_secs())));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
