//! Watching a project for outside edits: `notify` reports changes, a thread gathers them for
//! 50 ms, drops `.git` and what `.gitignore` ignores, and hands over the changed paths. Where
//! the system needs a watch per folder (Linux), ignored folders are never watched, new folders
//! are watched as they appear, and running out of watches is reported instead of failing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use notify::{RecursiveMode, Watcher as _};

use crate::FilesError;

/// Changes closer together than this are reported together.
const DEBOUNCE: Duration = Duration::from_millis(50);

/// A running watch; dropping it stops the watch and its thread.
pub struct Watcher {
    _inner: Arc<Mutex<notify::RecommendedWatcher>>,
    unwatched: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher").finish_non_exhaustive()
    }
}

impl Watcher {
    /// Why some folders are not watched (the system's limit on watches was reached), in words
    /// for the person; `None` while everything is watched.
    pub fn incomplete(&self) -> Option<String> {
        match self.unwatched.load(Ordering::Relaxed) {
            0 => None,
            n => Some(format!(
                "{n} folders of this project are not watched: the system's limit on file watches is \
                 reached, so outside edits there show only after a refresh. On Linux raise it with \
                 `sudo sysctl fs.inotify.max_user_watches=524288`, or add big generated folders to \
                 .gitignore."
            )),
        }
    }
}

fn gitignore(root: &Path) -> Gitignore {
    let mut builder = GitignoreBuilder::new(root);
    if let Some(e) = builder.add(root.join(".gitignore")) {
        tracing::debug!(error = %e, "no usable .gitignore");
    }
    builder.build().unwrap_or_else(|_| Gitignore::empty())
}

/// inotify (Linux) and kqueue need a watch per folder, so there only the folders the tree
/// shows are watched (never `.git`, `node_modules` or whatever else is ignored): a big ignored
/// folder costs nothing. macOS and Windows watch a whole tree natively.
const PER_FOLDER: bool = !cfg!(any(target_os = "macos", target_os = "windows"));

/// The folders under `start` the tree shows (`start` included), and with `files` its files too.
fn walk(start: &Path, files: bool) -> Vec<(PathBuf, bool)> {
    ignore::WalkBuilder::new(start)
        .hidden(false)
        .git_ignore(true)
        .git_exclude(true)
        .require_git(false)
        .filter_entry(|e| e.file_name() != ".git")
        .build()
        .flatten()
        .filter_map(|e| {
            let is_dir = e.file_type().is_some_and(|t| t.is_dir());
            (is_dir || files).then(|| (e.into_path(), is_dir))
        })
        .collect()
}

/// The folders being watched one by one, and how many could not be.
struct Folders {
    watcher: Weak<Mutex<notify::RecommendedWatcher>>,
    watched: BTreeSet<PathBuf>,
    unwatched: Arc<AtomicUsize>,
}

impl Folders {
    /// Watches each folder not watched yet; stops at the system's limit and counts the rest.
    fn add(&mut self, folders: impl IntoIterator<Item = PathBuf>) -> Result<(), notify::Error> {
        let Some(watcher) = self.watcher.upgrade() else { return Ok(()) };
        let mut watcher = watcher.lock().unwrap_or_else(|p| p.into_inner());
        let mut missed = 0;
        for folder in folders {
            if self.watched.contains(&folder) {
                continue;
            }
            if missed > 0 {
                missed += 1;
                continue;
            }
            match watcher.watch(&folder, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    self.watched.insert(folder);
                }
                // A folder removed since the walk has nothing to watch.
                Err(e) if matches!(e.kind, notify::ErrorKind::PathNotFound) => {}
                Err(e) if self.watched.is_empty() => return Err(e),
                Err(e) => {
                    tracing::warn!(folder = %folder.display(), error = %e, "cannot watch more folders");
                    missed = 1;
                }
            }
        }
        self.unwatched.fetch_add(missed, Ordering::Relaxed);
        Ok(())
    }

    /// Forgets a removed folder and those under it (the system drops their watches itself).
    fn remove(&mut self, folder: &Path) {
        if self.watched.contains(folder) {
            self.watched.retain(|p| !p.starts_with(folder));
        }
    }
}

/// Watches `root` and what is under it; `on_change` gets the relative paths (with `/`) that
/// changed, at most every 50 ms, never for `.git` or ignored paths.
pub fn watch(root: &Path, on_change: impl Fn(Vec<String>) + Send + 'static) -> Result<Watcher, FilesError> {
    let io = |e: notify::Error| FilesError::Io {
        path: root.display().to_string(),
        source: std::io::Error::other(e),
    };
    let root =
        root.canonicalize().map_err(|source| FilesError::Io { path: root.display().to_string(), source })?;
    let (tx, rx) = channel::<PathBuf>();
    let inner = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
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
    let inner = Arc::new(Mutex::new(inner));
    let unwatched = Arc::new(AtomicUsize::new(0));
    let mut folders =
        Folders { watcher: Arc::downgrade(&inner), watched: BTreeSet::new(), unwatched: unwatched.clone() };
    if PER_FOLDER {
        folders.add(walk(&root, false).into_iter().map(|(p, _)| p)).map_err(io)?;
    } else {
        inner.lock().unwrap_or_else(|p| p.into_inner()).watch(&root, RecursiveMode::Recursive).map_err(io)?;
    }
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
                let mut new_folders = Vec::new();
                for path in batch {
                    let Ok(relative) = path.strip_prefix(&root) else { continue };
                    if relative.components().any(|c| c.as_os_str() == ".git")
                        || relative.as_os_str().is_empty()
                    {
                        continue;
                    }
                    if relative == Path::new(".gitignore") {
                        ignored = gitignore(&root);
                        // A folder no longer ignored needs its watch now.
                        if PER_FOLDER {
                            new_folders.push(root.clone());
                        }
                    }
                    let is_dir = path.is_dir();
                    if ignored.matched_path_or_any_parents(relative, is_dir).is_ignore() {
                        continue;
                    }
                    if !is_dir {
                        folders.remove(&path);
                    } else if PER_FOLDER && !folders.watched.contains(&path) {
                        new_folders.push(path.clone());
                    }
                    paths.insert(relative.to_string_lossy().replace('\\', "/"));
                }
                // A new folder may have filled before its watch was added: what is in it now
                // is reported as changed too.
                for folder in new_folders {
                    let found = walk(&folder, true);
                    let report = folder != root;
                    for (path, _) in found.iter().filter(|_| report) {
                        if let Ok(relative) = path.strip_prefix(&root) {
                            paths.insert(relative.to_string_lossy().replace('\\', "/"));
                        }
                    }
                    let added = folders.add(found.into_iter().filter(|(_, d)| *d).map(|(p, _)| p));
                    if let Err(e) = added {
                        tracing::warn!(error = %e, "cannot watch a new folder");
                    }
                }
                if !paths.is_empty() {
                    on_change(paths.into_iter().collect());
                }
            }
        })
        .map_err(|source| FilesError::Io { path: "the watcher thread".into(), source })?;
    Ok(Watcher { _inner: inner, unwatched })
}
