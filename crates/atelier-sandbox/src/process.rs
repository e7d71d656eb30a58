//! Running a prepared command to its end: its output read as it comes (stdout and stderr share
//! one pipe on Unix, so their order is kept), capped; the wall-clock timeout and the cancel
//! token; and the whole process tree killed (its process group; inside bubblewrap the PID
//! namespace dies with it; a container is removed) whenever it ends, so nothing outlives it.

use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::{Mode, RunOutcome, RunSpec, SandboxError};

/// After the command ended, how long output still held by a process that escaped the group may
/// keep the run waiting.
const DRAIN: Duration = Duration::from_millis(200);
/// How long removing a container may take.
const CONTAINER_STOP: Duration = Duration::from_secs(10);

/// A command ready to spawn, and the container it will start (engine, name), if any.
pub(crate) struct Prepared {
    pub(crate) command: tokio::process::Command,
    pub(crate) container: Option<(String, String)>,
}

type Chunks = futures::stream::BoxStream<'static, std::io::Result<bytes::Bytes>>;

/// Wires the output: one pipe for both streams on Unix; two, merged as they come, elsewhere.
fn wire_output(command: &mut tokio::process::Command) -> Result<Option<Chunks>, SandboxError> {
    #[cfg(unix)]
    {
        let io = |source| SandboxError::Io { context: "creating the output pipe".into(), source };
        let (reader, writer) = std::io::pipe().map_err(io)?;
        let second = writer.try_clone().map_err(io)?;
        command.stdout(writer).stderr(second);
        let reader = tokio::net::unix::pipe::Receiver::from_owned_fd(reader.into()).map_err(io)?;
        Ok(Some(tokio_util::io::ReaderStream::new(reader).boxed()))
    }
    #[cfg(not(unix))]
    {
        command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
        Ok(None)
    }
}

pub(crate) async fn run(
    prepared: Prepared,
    spec: &RunSpec,
    mode: Mode,
    cancel: &CancellationToken,
    on_output: &mut (dyn FnMut(&[u8]) + Send),
) -> Result<RunOutcome, SandboxError> {
    let Prepared { mut command, container } = prepared;
    let started = Instant::now();
    let output = wire_output(&mut command)?;
    let what = spec.command.chars().take(200).collect::<String>();
    let mut child = command.spawn().map_err(|source| SandboxError::Spawn { what: what.clone(), source })?;
    // The pipe's write ends live in `command`: dropped here, so the output ends when the
    // command's processes are gone.
    drop(command);
    #[cfg(unix)]
    let mut output = output;
    #[cfg(not(unix))]
    let mut output = {
        let _ = output;
        let out = child.stdout.take().map(|s| tokio_util::io::ReaderStream::new(s).boxed());
        let err = child.stderr.take().map(|s| tokio_util::io::ReaderStream::new(s).boxed());
        match (out, err) {
            (Some(a), Some(b)) => Some(futures::stream::select(a, b).boxed()),
            (a, b) => a.or(b),
        }
    };
    let group = child.id();
    let mut kept: Vec<u8> = Vec::new();
    let mut truncated: u64 = 0;
    let mut status = None;
    let (mut timed_out, mut cancelled) = (false, false);
    let deadline = tokio::time::sleep(spec.timeout);
    tokio::pin!(deadline);
    let mut drain_until: Option<tokio::time::Instant> = None;
    loop {
        if status.is_some() && output.is_none() {
            break;
        }
        let drain = async {
            match drain_until {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            chunk = async { output.as_mut()?.next().await }, if output.is_some() => match chunk {
                Some(Ok(bytes)) => {
                    let room = spec.output_cap.saturating_sub(kept.len());
                    let take = room.min(bytes.len());
                    if take > 0 {
                        on_output(&bytes[..take]);
                        kept.extend_from_slice(&bytes[..take]);
                    }
                    truncated += (bytes.len() - take) as u64;
                }
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "reading a sandboxed command's output");
                    output = None;
                }
                None => output = None,
            },
            exit = child.wait(), if status.is_none() => {
                let exit = exit.map_err(|source| SandboxError::Io { context: format!("waiting for `{what}`"), source })?;
                status = Some(exit);
                // What it left running goes now (after a timeout or cancel it went already);
                // its output still in the pipe is read next.
                if !timed_out && !cancelled {
                    kill_tree(group, &container).await;
                }
                // After a cancel nobody waits for the rest of the output: return at once.
                let drain = if cancelled { Duration::ZERO } else { DRAIN };
                drain_until = Some(tokio::time::Instant::now() + drain);
            }
            () = &mut deadline, if status.is_none() && !timed_out && !cancelled => {
                timed_out = true;
                kill_tree(group, &container).await;
                kill_child(&mut child).await;
            }
            () = cancel.cancelled(), if status.is_none() && !timed_out && !cancelled => {
                cancelled = true;
                kill_tree(group, &container).await;
                kill_child(&mut child).await;
            }
            () = drain => output = None,
        }
    }
    let status = status.unwrap_or_default();
    #[cfg(unix)]
    let signal = std::os::unix::process::ExitStatusExt::signal(&status);
    #[cfg(not(unix))]
    let signal = None;
    Ok(RunOutcome {
        exit_code: status.code(),
        signal,
        timed_out,
        cancelled,
        output: String::from_utf8_lossy(&kept).into_owned(),
        truncated_bytes: truncated,
        duration: started.elapsed(),
        mode,
    })
}

/// Kills the leader if the group kill missed it (it cannot on Windows); its exit is then seen by
/// the `wait` arm of the loop.
async fn kill_child(child: &mut tokio::process::Child) {
    if let Err(e) = child.start_kill() {
        tracing::debug!(error = %e, "killing a sandboxed command that already ended");
    }
}

/// Kills every process of the command's group (Unix; on Windows `taskkill /T` kills the tree),
/// and removes its container.
async fn kill_tree(group: Option<u32>, container: &Option<(String, String)>) {
    if let Some(pid) = group {
        #[cfg(unix)]
        {
            let pgid = nix::unistd::Pid::from_raw(pid as i32);
            match nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL) {
                Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
                Err(e) => tracing::warn!(error = %e, "killing a sandboxed command's process group"),
            }
        }
        #[cfg(windows)]
        {
            let killed = tokio::process::Command::new("taskkill")
                .args(["/T", "/F", "/PID", &pid.to_string()])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .await;
            if let Err(e) = killed {
                tracing::warn!(error = %e, "taskkill of a command's process tree");
            }
        }
    }
    if let Some((engine, name)) = container {
        remove_container(engine, name).await;
    }
}

/// `engine rm -f name`: killing `docker run` alone would leave the container running.
pub(crate) async fn remove_container(engine: &str, name: &str) {
    let removal = tokio::process::Command::new(engine)
        .args(["rm", "-f", name])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .status();
    match tokio::time::timeout(CONTAINER_STOP, removal).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, %name, "removing a container"),
        Err(_) => tracing::warn!(%name, "removing a container took too long"),
    }
}
