//! Watching a project for outside edits: `notify` reports changes, a thread gathers them for
//! 50 ms, drops `.git` and what `.gitignore` ignores, and hands over the changed paths.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use notify::{RecursiveMode, Watcher as _};

use crate::FilesError;

/// Changes closer together than this are reported together.
const DEBOUNCE: Duration = Duration::from_millis(50);

/// A running watch; dropping it stops the watch and its thread.
pub struct Watcher {
    _inner: notify::RecommendedWatcher,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher").finish_non_exhaustive()
    }
}

fn gitignore(root: &Path) -> Gitignore {
    let mut builder = GitignoreBuilder::new(root);
    if let Some(e) = builder.add(root.join(".gitignore")) {
        tracing::debug!(error = %e, "no usable .gitignore");
    }
    builder.build().unwrap_or_else(|_| Gitignore::empty())
}

/// Watches `root` recursively; `on_change` gets the relative paths (with `/`) that changed,
/// at most every 50 ms, never for `.git` or ignored paths.
pub fn watch(root: &Path, on_change: impl Fn(Vec<String>) + Send + 'static) -> Result<Watcher, FilesError> {
    let io = |e: notify::Error| FilesError::Io {
        path: root.display().to_string(),
        source: std::io::Error::other(e),
    };
    let (tx, rx) = channel::<PathBuf>();
    let mut inner = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            // Reading a folder can touch its access time; only content, names and existence
            // are changes a person cares about.
            if matches!(
                event.kind,
                notify::EventKind::Access(_)
                    | notify::EventKind::Modify(notify::event::ModifyKind::Metadata(_))
            ) {
                return;
            }
            for path in event.paths {
                if tx.send(path).is_err() {
                    return;
                }
            }
        }
    })
    .map_err(io)?;
    inner.watch(root, RecursiveMode::Recursive).map_err(io)?;
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    std::thread::Builder::new()
        .name("project-watch".into())
        .spawn(move || {
            let mut ignored = gitignore(&root);
            while let Ok(first) = rx.recv() {
                let mut batch = vec![first];
                let deadline = Instant::now() + DEBOUNCE;
                loop {
                    match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                        Ok(path) => batch.push(path),
                        Err(RecvTimeoutError::Timeout) => break,
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
                let mut paths = BTreeSet::new();
                for path in batch {
                    let Ok(relative) = path.strip_prefix(&root) else { continue };
                    if relative.components().any(|c| c.as_os_str() == ".git")
                        || relative.as_os_str().is_empty()
                    {
                        continue;
                    }
                    if relative == Path::new(".gitignore") {
                        ignored = gitignore(&root);
                    }
                    let is_dir = path.is_dir();
                    if ignored.matched_path_or_any_parents(relative, is_dir).is_ignore() {
                        continue;
                    }
                    paths.insert(relative.to_string_lossy().replace('\\', "/"));
                }
                if !paths.is_empty() {
                    on_change(paths.into_iter().collect());
                }
            }
        })
        .map_err(|source| FilesError::Io { path: "the watcher thread".into(), source })?;
    Ok(Watcher { _inner: inner })
}
