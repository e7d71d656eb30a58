//! Copying a folder into Atelier's data folder (`projects.import` with `copy`): everything,
//! `.git` and ignored files included, symbolic links as links, with progress. A copy that fails
//! is removed again; the source is only read.

use std::path::Path;

use crate::FilesError;

/// How far a copy has come.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyProgress {
    pub files_done: u64,
    pub files_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

/// Copies `from` to `to` (which must not exist), calling `progress` after each file and at most
/// every 64 files' worth of small files. Sockets, pipes and devices are skipped.
pub fn copy_tree(
    from: &Path,
    to: &Path,
    mut progress: impl FnMut(CopyProgress),
) -> Result<CopyProgress, FilesError> {
    if to.exists() {
        return Err(FilesError::Refused {
            path: to.display().to_string(),
            reason: "the destination already exists",
        });
    }
    let entries: Vec<_> = ignore::WalkBuilder::new(from)
        .standard_filters(false)
        .follow_links(false)
        .build()
        .collect::<Result<_, _>>()
        .map_err(|e| FilesError::Io { path: from.display().to_string(), source: std::io::Error::other(e) })?;
    let mut state = CopyProgress::default();
    for entry in &entries {
        if entry.file_type().is_some_and(|t| t.is_file()) {
            state.files_total += 1;
            state.bytes_total += entry.metadata().map_or(0, |m| m.len());
        }
    }
    progress(state);
    let result = copy_entries(from, to, &entries, &mut state, &mut progress);
    if result.is_err() {
        // Nothing half-copied is left behind to be mistaken for the project.
        if let Err(e) = std::fs::remove_dir_all(to) {
            tracing::warn!(path = %to.display(), error = %e, "cannot remove a failed copy");
        }
    }
    result.map(|()| state)
}

fn copy_entries(
    from: &Path,
    to: &Path,
    entries: &[ignore::DirEntry],
    state: &mut CopyProgress,
    progress: &mut impl FnMut(CopyProgress),
) -> Result<(), FilesError> {
    let mut since_report = 0u64;
    for entry in entries {
        let Ok(relative) = entry.path().strip_prefix(from) else { continue };
        let target = to.join(relative);
        let io = |source| FilesError::Io { path: relative.display().to_string(), source };
        let Some(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            std::fs::create_dir_all(&target).map_err(io)?;
        } else if kind.is_symlink() {
            let link = std::fs::read_link(entry.path()).map_err(io)?;
            symlink(&link, &target, entry.path()).map_err(io)?;
        } else if kind.is_file() {
            let bytes = std::fs::copy(entry.path(), &target).map_err(io)?;
            state.files_done += 1;
            state.bytes_done += bytes;
            since_report += bytes;
            if since_report >= 1 << 20 || state.files_done.is_multiple_of(64) {
                since_report = 0;
                progress(*state);
            }
        }
    }
    progress(*state);
    Ok(())
}

#[cfg(unix)]
fn symlink(link: &Path, target: &Path, _source: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(link, target)
}

#[cfg(windows)]
fn symlink(link: &Path, target: &Path, source: &Path) -> std::io::Result<()> {
    if std::fs::metadata(source).is_ok_and(|m| m.is_dir()) {
        std::os::windows::fs::symlink_dir(link, target)
    } else {
        std::os::windows::fs::symlink_file(link, target)
    }
}
