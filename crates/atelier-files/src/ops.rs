//! Creating, renaming and deleting files and folders in a project (the file tree's context
//! menu). Every path is checked by [`crate::resolve`] at the moment it acts; the last part of a
//! path is never followed, so a symbolic link is created, moved or removed as the link it is.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{FilesError, clean, resolve, shown};

/// Where a project-relative path is on disk: its folder resolved inside the project, its last
/// part not followed. Returns the cleaned path too.
fn locate(root: &Path, relative: &str) -> Result<(String, PathBuf), FilesError> {
    let cleaned = clean(relative)?;
    let full = match cleaned.rsplit_once('/') {
        Some((parent, name)) => resolve(root, parent)?.join(name),
        None => resolve(root, "")?.join(&cleaned),
    };
    Ok((cleaned, full))
}

fn io(path: &str) -> impl Fn(std::io::Error) -> FilesError + '_ {
    move |source| match source.kind() {
        std::io::ErrorKind::AlreadyExists => FilesError::Exists { path: shown(path) },
        std::io::ErrorKind::NotFound => FilesError::NotFound { path: shown(path) },
        _ => FilesError::Io { path: shown(path), source },
    }
}

/// Creates the folders above `cleaned` and checks again that they are inside the project (a
/// folder swapped for a link in between must not take the new entry outside).
fn make_parent(root: &Path, cleaned: &str) -> Result<PathBuf, FilesError> {
    let (_, full) = locate(root, cleaned)?;
    if let Some(parent) = full.parent() {
        std::fs::create_dir_all(parent).map_err(io(cleaned))?;
    }
    Ok(locate(root, cleaned)?.1)
}

/// Creates a new file with `content` (its folders too). `Exists` when anything is at the path.
pub fn create_file(root: &Path, relative: &str, content: &str) -> Result<(), FilesError> {
    let (cleaned, full) = locate(root, relative)?;
    if full.symlink_metadata().is_ok() {
        return Err(FilesError::Exists { path: cleaned });
    }
    let full = make_parent(root, &cleaned)?;
    // `create_new`: never truncates what appeared at the path since the check above.
    let mut file = std::fs::File::options().write(true).create_new(true).open(&full).map_err(io(&cleaned))?;
    file.write_all(content.as_bytes()).map_err(io(&cleaned))
}

/// Creates a new folder (and the folders above it). `Exists` when anything is at the path.
pub fn create_dir(root: &Path, relative: &str) -> Result<(), FilesError> {
    let (cleaned, full) = locate(root, relative)?;
    if full.symlink_metadata().is_ok() {
        return Err(FilesError::Exists { path: cleaned });
    }
    let full = make_parent(root, &cleaned)?;
    std::fs::create_dir(&full).map_err(io(&cleaned))
}

/// Moves a file or a folder (with everything in it) to `to`, creating the folders above it.
/// `Exists` when something is at `to` already (a change of case only is allowed), `NotFound`
/// when nothing is at `from`.
pub fn rename(root: &Path, from: &str, to: &str) -> Result<(), FilesError> {
    let (from, from_full) = locate(root, from)?;
    let (to, to_full) = locate(root, to)?;
    if from == to {
        return Err(FilesError::Invalid {
            what: "rename".into(),
            reason: format!("`{from}` already has that name"),
        });
    }
    if to.starts_with(&format!("{from}/")) {
        return Err(FilesError::Invalid {
            what: "rename".into(),
            reason: format!("`{from}` cannot be moved into itself"),
        });
    }
    if from_full.symlink_metadata().is_err() {
        return Err(FilesError::NotFound { path: from });
    }
    // On a file system that ignores case, `a.txt` -> `A.txt` finds `to` "existing": it is `from`.
    let case_only = from.eq_ignore_ascii_case(&to);
    if !case_only && to_full.symlink_metadata().is_ok() {
        return Err(FilesError::Exists { path: to });
    }
    let to_full = make_parent(root, &to)?;
    let from_full = locate(root, &from)?.1;
    std::fs::rename(&from_full, &to_full).map_err(io(&from))
}

/// Removes a file, a link (never what it points to) or a folder with everything in it.
pub fn remove(root: &Path, relative: &str) -> Result<(), FilesError> {
    let (cleaned, full) = locate(root, relative)?;
    let meta = full.symlink_metadata().map_err(io(&cleaned))?;
    if meta.is_dir() {
        // std's remove_dir_all does not follow links inside the folder.
        std::fs::remove_dir_all(&full).map_err(io(&cleaned))
    } else {
        std::fs::remove_file(&full).map_err(io(&cleaned))
    }
}

/// Every file and link at or under `relative` (ignored files included: a delete removes them
/// too), without following links and skipping `.git`, as `(path, size)` sorted by path.
/// `NotFound` when nothing is there.
pub fn files_under(root: &Path, relative: &str) -> Result<Vec<(String, u64)>, FilesError> {
    let (cleaned, full) = locate(root, relative)?;
    let meta = full.symlink_metadata().map_err(io(&cleaned))?;
    if !meta.is_dir() {
        return Ok(vec![(cleaned, meta.len())]);
    }
    let mut out = Vec::new();
    let walker = ignore::WalkBuilder::new(&full)
        .standard_filters(false)
        .follow_links(false)
        .filter_entry(|e| e.file_name() != ".git")
        .build();
    for item in walker {
        let item =
            item.map_err(|e| FilesError::Io { path: cleaned.clone(), source: std::io::Error::other(e) })?;
        if item.file_type().is_some_and(|t| t.is_dir()) {
            continue;
        }
        let Ok(inner) = item.path().strip_prefix(root) else { continue };
        let size = item.path().symlink_metadata().map_or(0, |m| m.len());
        out.push((inner.to_string_lossy().replace('\\', "/"), size));
    }
    out.sort();
    Ok(out)
}
