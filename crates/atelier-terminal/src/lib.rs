//! Terminals: the user's shell in a real PTY (portable-pty). Each terminal has one OS thread
//! doing blocking reads into a bounded channel, and one thread batching output (at most 16 ms
//! or 64 KiB) for a [`Sink`]; a 1 MiB scrollback lets a client that (re)attaches get its screen
//! back. Input goes straight to the PTY, so Ctrl-C works at once even during a flood.

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use portable_pty::{ChildKiller, CommandBuilder, MasterPty, PtySize, native_pty_system};

/// Output kept for a client that attaches later.
pub const SCROLLBACK_BYTES: usize = 1024 * 1024;
const BATCH_BYTES: usize = 64 * 1024;
const BATCH_WAIT: Duration = Duration::from_millis(16);
/// Chunks between the reader and the batcher; when full, the reader waits (and so does the
/// program writing into the PTY).
const QUEUE_CHUNKS: usize = 16;

/// Where a terminal's output and exit go.
pub trait Sink: Send + Sync + 'static {
    /// `offset` is how many bytes the terminal had written before `data`.
    fn output(&self, terminal_id: &str, offset: u64, data: &[u8]);
    fn exited(&self, terminal_id: &str, code: Option<u32>);
}

#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    #[error("terminal `{0}` not found (it may have exited)")]
    NotFound(String),
    #[error("at most {0} terminals may be open per project; close one first")]
    TooMany(usize),
    #[error("at most {0} terminals may be open at once in all projects; close one first")]
    TooManyInAll(usize),
    #[error("terminal size {cols}x{rows} is not usable (1–1000 columns and rows)")]
    BadSize { cols: u16, rows: u16 },
    #[error("cannot start a terminal: {0}")]
    Start(String),
    #[error("terminal `{id}`: {message}")]
    Io { id: String, message: String },
}

/// An open terminal as [`Terminals::list`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalInfo {
    pub id: String,
    pub cols: u16,
    pub rows: u16,
}

struct Scrollback {
    bytes: VecDeque<u8>,
    /// Bytes written in all, so a client can tell what it already has.
    end: u64,
}

struct Terminal {
    owner: String,
    /// Opening order, for listing.
    number: u64,
    writer: Mutex<Box<dyn Write + Send>>,
    master: Mutex<Box<dyn MasterPty + Send>>,
    killer: Mutex<Box<dyn ChildKiller + Send + Sync>>,
    scrollback: Arc<Mutex<Scrollback>>,
}

fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The open terminals of the app.
#[derive(Clone)]
pub struct Terminals {
    open: Arc<Mutex<HashMap<String, Arc<Terminal>>>>,
    next: Arc<Mutex<u64>>,
    per_owner: usize,
    /// Terminals open at once over all owners: a client that makes new projects must not be
    /// able to open shells without end.
    total: usize,
}

impl std::fmt::Debug for Terminals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Terminals").field("open", &lock(&self.open).len()).finish()
    }
}

/// The user's shell: `$SHELL`, else bash, else sh; on Windows pwsh, else cmd.
fn shell() -> CommandBuilder {
    if cfg!(windows) {
        let pwsh = std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("pwsh.exe").exists()));
        return CommandBuilder::new(if pwsh { "pwsh.exe" } else { "cmd.exe" });
    }
    if let Some(shell) = std::env::var_os("SHELL").filter(|s| !s.is_empty()) {
        return CommandBuilder::new(shell);
    }
    let bash = ["/bin/bash", "/usr/bin/bash"].iter().find(|p| Path::new(p).exists());
    CommandBuilder::new(bash.copied().unwrap_or("/bin/sh"))
}

impl Terminals {
    /// At most `per_owner` terminals per owner (a project), and 64 in all.
    pub fn new(per_owner: usize) -> Self {
        Self::with_total(per_owner, 64)
    }

    /// At most `per_owner` terminals per owner and `total` in all.
    pub fn with_total(per_owner: usize, total: usize) -> Self {
        Self { open: Arc::default(), next: Arc::new(Mutex::new(1)), per_owner, total }
    }

    fn get(&self, id: &str) -> Result<Arc<Terminal>, TerminalError> {
        lock(&self.open).get(id).cloned().ok_or_else(|| TerminalError::NotFound(id.to_owned()))
    }

    pub fn count(&self) -> usize {
        lock(&self.open).len()
    }

    /// Starts the shell in `cwd` and returns the terminal's id.
    pub fn open(
        &self,
        owner: &str,
        cwd: &Path,
        cols: u16,
        rows: u16,
        sink: Arc<dyn Sink>,
    ) -> Result<String, TerminalError> {
        if !(1..=1000).contains(&cols) || !(1..=1000).contains(&rows) {
            return Err(TerminalError::BadSize { cols, rows });
        }
        {
            let open = lock(&self.open);
            if open.len() >= self.total {
                return Err(TerminalError::TooManyInAll(self.total));
            }
            if open.values().filter(|t| t.owner == owner).count() >= self.per_owner {
                return Err(TerminalError::TooMany(self.per_owner));
            }
        }
        let start = |e: String| TerminalError::Start(e);
        let pair = native_pty_system()
            .openpty(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 })
            .map_err(|e| start(e.to_string()))?;
        let mut cmd = shell();
        cmd.cwd(cwd);
        cmd.env("TERM", "xterm-256color");
        let mut child = pair.slave.spawn_command(cmd).map_err(|e| start(e.to_string()))?;
        drop(pair.slave);
        let reader = pair.master.try_clone_reader().map_err(|e| start(e.to_string()))?;
        let writer = pair.master.take_writer().map_err(|e| start(e.to_string()))?;
        let (number, id) = {
            let mut next = lock(&self.next);
            *next += 1;
            (*next, format!("term{}-{}", *next, std::process::id()))
        };
        let scrollback = Arc::new(Mutex::new(Scrollback { bytes: VecDeque::new(), end: 0 }));
        let terminal = Arc::new(Terminal {
            owner: owner.to_owned(),
            number,
            writer: Mutex::new(writer),
            master: Mutex::new(pair.master),
            killer: Mutex::new(child.clone_killer()),
            scrollback: scrollback.clone(),
        });
        lock(&self.open).insert(id.clone(), terminal);

        let (tx, rx) = sync_channel::<Vec<u8>>(QUEUE_CHUNKS);
        let spawn = |name: String, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new().name(name).spawn(f).map_err(|e| TerminalError::Start(e.to_string()))
        };
        spawn(format!("pty-read-{id}"), Box::new(move || read_loop(reader, tx)))?;
        let (batch_id, batch_sink, open, terminals_id) =
            (id.clone(), sink.clone(), self.open.clone(), id.clone());
        spawn(
            format!("pty-out-{id}"),
            Box::new(move || {
                batch_loop(&batch_id, rx, &scrollback, batch_sink.as_ref());
                // The reader ended: the PTY closed. Collect the exit code and announce it.
                let code = child.wait().ok().map(|s| s.exit_code());
                lock(&open).remove(&terminals_id);
                batch_sink.exited(&terminals_id, code);
            }),
        )?;
        Ok(id)
    }

    /// The open terminals of `owner`, oldest first, with their sizes: what a second window
    /// needs to find shells it did not open.
    pub fn list(&self, owner: &str) -> Vec<TerminalInfo> {
        let mut found: Vec<(u64, TerminalInfo)> = lock(&self.open)
            .iter()
            .filter(|(_, t)| t.owner == owner)
            .map(|(id, t)| {
                let size = lock(&t.master).get_size().unwrap_or_default();
                (t.number, TerminalInfo { id: id.clone(), cols: size.cols, rows: size.rows })
            })
            .collect();
        found.sort_by_key(|(number, _)| *number);
        found.into_iter().map(|(_, info)| info).collect()
    }

    /// Sends input (keys, pasted text) to the terminal.
    pub fn write(&self, id: &str, data: &[u8]) -> Result<(), TerminalError> {
        let terminal = self.get(id)?;
        let mut writer = lock(&terminal.writer);
        writer
            .write_all(data)
            .and_then(|()| writer.flush())
            .map_err(|e| TerminalError::Io { id: id.to_owned(), message: e.to_string() })
    }

    pub fn resize(&self, id: &str, cols: u16, rows: u16) -> Result<(), TerminalError> {
        if !(1..=1000).contains(&cols) || !(1..=1000).contains(&rows) {
            return Err(TerminalError::BadSize { cols, rows });
        }
        let terminal = self.get(id)?;
        let master = lock(&terminal.master);
        master
            .resize(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 })
            .map_err(|e| TerminalError::Io { id: id.to_owned(), message: e.to_string() })
    }

    /// The last `SCROLLBACK_BYTES` of output and the offset they end at.
    pub fn scrollback(&self, id: &str) -> Result<(Vec<u8>, u64), TerminalError> {
        let terminal = self.get(id)?;
        let scrollback = lock(&terminal.scrollback);
        Ok((scrollback.bytes.iter().copied().collect(), scrollback.end))
    }

    /// Ends the shell (hang-up, then kill); `exited` follows through the sink.
    pub fn close(&self, id: &str) -> Result<(), TerminalError> {
        let terminal = self.get(id)?;
        let killed = lock(&terminal.killer).kill();
        if let Err(e) = killed {
            tracing::debug!(terminal = id, error = %e, "the shell was already gone");
        }
        Ok(())
    }

    /// Closes every terminal of `owner` (a deleted project), or all of them with `None`.
    pub fn close_owned_by(&self, owner: Option<&str>) {
        let ids: Vec<String> = lock(&self.open)
            .iter()
            .filter(|(_, t)| owner.is_none_or(|o| t.owner == o))
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            if let Err(e) = self.close(&id) {
                tracing::debug!(terminal = %id, error = %e, "closing");
            }
        }
    }
}

fn read_loop(mut reader: Box<dyn Read + Send>, tx: SyncSender<Vec<u8>>) {
    let mut buf = vec![0u8; BATCH_BYTES];
    loop {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => return, // EOF or EIO: the shell is gone.
            Ok(n) => {
                if tx.send(buf[..n].to_vec()).is_err() {
                    return;
                }
            }
        }
    }
}

fn batch_loop(id: &str, rx: Receiver<Vec<u8>>, scrollback: &Mutex<Scrollback>, sink: &dyn Sink) {
    while let Ok(first) = rx.recv() {
        // Whatever else is already queued goes in the same batch (up to 64 KiB); nothing waits
        // for more, so a keystroke's echo is not delayed, and a flood still comes in 64 KiB
        // pieces at most 16 ms apart.
        let mut batch = first;
        let deadline = Instant::now() + BATCH_WAIT;
        while batch.len() < BATCH_BYTES && Instant::now() < deadline {
            match rx.try_recv() {
                Ok(more) => batch.extend_from_slice(&more),
                Err(_) => break,
            }
        }
        let offset = {
            let mut s = lock(scrollback);
            let offset = s.end;
            s.end += batch.len() as u64;
            s.bytes.extend(batch.iter().copied());
            let excess = s.bytes.len().saturating_sub(SCROLLBACK_BYTES);
            s.bytes.drain(..excess);
            offset
        };
        sink.output(id, offset, &batch);
    }
}
