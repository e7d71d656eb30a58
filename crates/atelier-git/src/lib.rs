//! Git operations on project repositories, through git2. Everything here is blocking: async
//! callers run it with `spawn_blocking` and never keep a `Repository` across an await.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("git repository at {path}: {source}")]
    Repository { path: PathBuf, source: git2::Error },
    #[error("nothing to commit in {path}: the files are unchanged")]
    NothingToCommit { path: PathBuf },
}

/// Who a commit is by when the repository and the user's git config name nobody.
const FALLBACK_NAME: &str = "Atelier";
const FALLBACK_EMAIL: &str = "atelier@localhost";

/// Opens the repository at `path`, creating one (with an initial branch `main`) when the folder
/// is not yet a repository. Returns whether a repository was created.
pub fn ensure_repository(path: &Path) -> Result<bool, GitError> {
    let wrap = |source| GitError::Repository { path: path.to_path_buf(), source };
    match git2::Repository::open(path) {
        Ok(_) => Ok(false),
        Err(e) if e.code() == git2::ErrorCode::NotFound => {
            let mut opts = git2::RepositoryInitOptions::new();
            opts.initial_head("main");
            git2::Repository::init_opts(path, &opts).map_err(wrap)?;
            Ok(true)
        }
        Err(e) => Err(wrap(e)),
    }
}

/// Commits exactly `paths` (relative to the repository root; deleted files are removed from the
/// index) on the current branch, leaving every other change of the person's alone. The author
/// is the repository's or the user's git identity, else "Atelier". Returns the commit id.
pub fn commit_paths(repo_path: &Path, paths: &[String], message: &str) -> Result<String, GitError> {
    let wrap = |source| GitError::Repository { path: repo_path.to_path_buf(), source };
    let repo = git2::Repository::open(repo_path).map_err(wrap)?;
    let mut index = repo.index().map_err(wrap)?;
    for path in paths {
        let relative = Path::new(path);
        if repo_path.join(relative).exists() {
            index.add_path(relative).map_err(wrap)?;
        } else {
            index.remove_path(relative).map_err(wrap)?;
        }
    }
    index.write().map_err(wrap)?;
    let tree_id = index.write_tree().map_err(wrap)?;
    let tree = repo.find_tree(tree_id).map_err(wrap)?;
    let parent = match repo.head() {
        Ok(head) => Some(head.peel_to_commit().map_err(wrap)?),
        Err(e) if matches!(e.code(), git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound) => None,
        Err(e) => return Err(wrap(e)),
    };
    if parent.as_ref().is_some_and(|p| p.tree_id() == tree_id) {
        return Err(GitError::NothingToCommit { path: repo_path.to_path_buf() });
    }
    let signature = match repo.signature() {
        Ok(signature) => signature,
        Err(_) => git2::Signature::now(FALLBACK_NAME, FALLBACK_EMAIL).map_err(wrap)?,
    };
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    let id = repo.commit(Some("HEAD"), &signature, &signature, message, &tree, &parents).map_err(wrap)?;
    Ok(id.to_string())
}

/// Removes the lock files a git write leaves behind when its process is killed mid-way
/// (`index.lock`, `HEAD.lock`, `refs/heads/*.lock`). Only for a caller that knows its own write
/// was interrupted: a live git process's locks must not be taken away. Returns what was removed.
pub fn clear_stale_locks(repo_path: &Path) -> Vec<PathBuf> {
    let git_dir = repo_path.join(".git");
    let mut candidates = vec![git_dir.join("index.lock"), git_dir.join("HEAD.lock")];
    if let Ok(entries) = std::fs::read_dir(git_dir.join("refs/heads")) {
        candidates.extend(
            entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "lock")),
        );
    }
    candidates.into_iter().filter(|p| p.is_file() && std::fs::remove_file(p).is_ok()).collect()
}

/// The current branch's head commit and its summary line, if it has one.
pub fn head_commit(repo_path: &Path) -> Result<Option<(String, String)>, GitError> {
    let wrap = |source| GitError::Repository { path: repo_path.to_path_buf(), source };
    let repo = git2::Repository::open(repo_path).map_err(wrap)?;
    let head = match repo.head() {
        Ok(head) => head,
        Err(e) if matches!(e.code(), git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound) => {
            return Ok(None);
        }
        Err(e) => return Err(wrap(e)),
    };
    let commit = head.peel_to_commit().map_err(wrap)?;
    Ok(Some((commit.id().to_string(), commit.summary().unwrap_or_default().to_owned())))
}
