//! Git operations on project repositories, through git2. Everything here is blocking: async
//! callers run it with `spawn_blocking` and never keep a `Repository` across an await.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("git repository at {path}: {source}")]
    Repository { path: PathBuf, source: git2::Error },
}

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
