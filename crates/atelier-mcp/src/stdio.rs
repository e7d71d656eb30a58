//! Stdio servers: the child process in a process group of its own (a job object on Windows), so
//! that stopping it leaves nothing behind; its stderr kept in the bounded log; its stdout passed
//! to rmcp line by line, with lines that are not JSON (a banner, a stray `console.log`) kept in
//! the log instead, so that a server printing garbage can be told apart from one that says
//! nothing.

use std::io;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use process_wrap::tokio::{ChildWrapper, CommandWrap};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader, DuplexStream};
use tokio::process::{ChildStdin, Command};

use crate::config::StdioSpec;
use crate::log::ServerLog;

/// The longest stdout line (one JSON-RPC message) passed on; longer ones are dropped and said.
const MAX_LINE: usize = 16 * 1024 * 1024;

/// How long a server may take to exit after its stdin closes before its group is killed.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// The command that starts a server.
///
/// This is where a sandbox hooks in: for `spec.sandbox`, build the `Command` with the sandbox
/// crate's `Sandbox::command(&policy, &spec.command, &spec.args)` instead of `Command::new`; the
/// environment, folder and pipes set below (and the process group set by [`spawn`]) apply to
/// it unchanged.
pub fn command(spec: &StdioSpec) -> Command {
    let mut command = Command::new(&spec.command);
    command.args(&spec.args);
    command
}

/// A running server process: the leader of its own process group. Dropping it kills the whole
/// group, so no path (an error, a panic in a task, the engine ending) leaves a server behind.
pub struct Process {
    child: Box<dyn ChildWrapper>,
    pub pid: Option<u32>,
    exited: Option<String>,
}

impl Process {
    /// Waits for the leader to exit; says how it ended (`exited with code 1`, `was killed by
    /// signal 9`). Cancel-safe.
    pub async fn wait(&mut self) -> String {
        if let Some(exit) = &self.exited {
            return exit.clone();
        }
        let exit = match self.child.wait().await {
            Ok(status) => describe_exit(status),
            Err(e) => format!("could not be waited for ({e})"),
        };
        self.exited = Some(exit.clone());
        // What the leader started stays in its group: end it too.
        self.kill_group();
        exit
    }

    /// Stops the server as the MCP specification asks for stdio: its stdin is already closed
    /// (the caller dropped the connection); it gets [`EXIT_GRACE`] to exit, then the whole
    /// group is killed. Returns once the leader is gone.
    pub async fn stop(&mut self) {
        if self.exited.is_none() && tokio::time::timeout(EXIT_GRACE, self.wait()).await.is_err() {
            self.kill_group();
            self.wait().await;
        }
        self.kill_group();
    }

    fn kill_group(&mut self) {
        // ESRCH (nothing left in the group) is the usual answer once the leader has exited.
        if let Err(e) = self.child.start_kill() {
            tracing::trace!(error = %e, "killing an MCP server's process group");
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill_group();
    }
}

#[cfg(unix)]
fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => "exited".into(),
    }
}

#[cfg(not(unix))]
fn describe_exit(status: std::process::ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("exited with code {code}"),
        None => "exited".into(),
    }
}

/// What [`spawn`] gives the connection: the process, the reader rmcp reads messages from, and
/// the server's stdin.
pub struct Spawned {
    pub process: Process,
    pub messages: DuplexStream,
    pub stdin: ChildStdin,
}

/// Starts `spec` in its own process group with piped stdio, and the two tasks that read its
/// stdout and stderr into `log` (which stop by themselves when the pipes close).
pub fn spawn(spec: &StdioSpec, log: Arc<Mutex<ServerLog>>) -> Result<Spawned, String> {
    let mut command = command(spec);
    command.envs(&spec.env).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    if let Some(cwd) = &spec.cwd {
        command.current_dir(cwd);
    }
    let mut wrap = CommandWrap::from(command);
    #[cfg(unix)]
    wrap.wrap(process_wrap::tokio::ProcessGroup::leader());
    #[cfg(windows)]
    wrap.wrap(process_wrap::tokio::JobObject);
    let mut child = wrap.spawn().map_err(|e| spawn_error(&spec.command, &e))?;
    let pid = child.id();
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin().take(), child.stdout().take(), child.stderr().take())
    else {
        // Cannot happen with the pipes asked for above; the process is killed on drop.
        return Err("the server's standard streams could not be opened".into());
    };
    let process = Process { child, pid, exited: None };
    let (messages, to_rmcp) = tokio::io::duplex(1024 * 1024);
    tokio::spawn(read_stderr(stderr, log.clone()));
    tokio::spawn(filter_stdout(stdout, to_rmcp, log));
    Ok(Spawned { process, messages, stdin })
}

fn spawn_error(command: &str, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => format!(
            "could not start `{command}`: no such program; is it installed and on PATH (or give its full path)?"
        ),
        io::ErrorKind::PermissionDenied => {
            format!("could not start `{command}`: permission denied; is it executable?")
        }
        _ => format!("could not start `{command}`: {e}"),
    }
}

async fn read_stderr(stderr: impl AsyncRead + Unpin, log: Arc<Mutex<ServerLog>>) {
    let mut lines = BufReader::new(stderr);
    let mut line = Vec::new();
    loop {
        line.clear();
        match read_bounded_line(&mut lines, &mut line, 64 * 1024).await {
            Ok(Line::Eof) => return,
            Ok(Line::Complete) => {
                log.lock().unwrap_or_else(|p| p.into_inner()).push(&String::from_utf8_lossy(&line));
            }
            Ok(Line::TooLong) => {
                log.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push("[a stderr line longer than 64 KiB was dropped]");
            }
            Err(e) => {
                tracing::debug!(error = %e, "reading an MCP server's stderr");
                return;
            }
        }
    }
}

/// Passes each stdout line that is JSON to rmcp; keeps any other line in the log (and counts
/// it), so the status can say the server prints what is not MCP.
async fn filter_stdout(
    stdout: impl AsyncRead + Unpin,
    mut to_rmcp: DuplexStream,
    log: Arc<Mutex<ServerLog>>,
) {
    let mut reader = BufReader::with_capacity(64 * 1024, stdout);
    let mut line = Vec::new();
    loop {
        line.clear();
        match read_bounded_line(&mut reader, &mut line, MAX_LINE).await {
            Ok(Line::Eof) => return,
            Ok(Line::TooLong) => {
                log.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push("[a stdout message longer than 16 MiB was dropped]");
            }
            Ok(Line::Complete) => {
                let trimmed = line.trim_ascii();
                if trimmed.is_empty() {
                    continue;
                }
                if serde_json::from_slice::<serde::de::IgnoredAny>(trimmed).is_ok() {
                    line.push(b'\n');
                    if to_rmcp.write_all(&line).await.is_err() {
                        // The connection is gone; what the server prints now reaches nobody.
                        return;
                    }
                } else {
                    log.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .stdout_garbage(&String::from_utf8_lossy(trimmed));
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "reading an MCP server's stdout");
                return;
            }
        }
    }
}

enum Line {
    Complete,
    TooLong,
    Eof,
}

/// Reads one line (without its `\n`) into `line`, holding at most `max` bytes: a longer line is
/// read to its end and dropped, so neither a runaway server nor a missing newline can take
/// unbounded memory.
async fn read_bounded_line(
    reader: &mut (impl AsyncBufReadExt + Unpin),
    line: &mut Vec<u8>,
    max: usize,
) -> io::Result<Line> {
    let mut too_long = false;
    loop {
        let buf = reader.fill_buf().await?;
        if buf.is_empty() {
            return Ok(if too_long {
                Line::TooLong
            } else if line.is_empty() {
                Line::Eof
            } else {
                Line::Complete
            });
        }
        let (chunk, used, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], i + 1, true),
            None => (buf, buf.len(), false),
        };
        if !too_long {
            if line.len() + chunk.len() > max {
                too_long = true;
                line.clear();
            } else {
                line.extend_from_slice(chunk);
            }
        }
        reader.consume(used);
        if done {
            return Ok(if too_long { Line::TooLong } else { Line::Complete });
        }
    }
}
