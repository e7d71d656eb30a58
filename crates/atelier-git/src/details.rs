//! A commit's details for the Git panel: its message and parents, and each file it changed
//! against its first parent with additions and deletions as `git show --numstat` counts them
//! (renames detected; a binary file counts 0 and 0).

use std::path::Path;

use crate::{GitError, open};

/// One file a commit changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitFile {
    /// The path after the commit (for a deleted file, the path it had).
    pub path: String,
    /// For a rename, the path before it.
    pub old_path: Option<String>,
    /// `added`, `modified`, `deleted` or `renamed`.
    pub status: &'static str,
    pub additions: usize,
    pub deletions: usize,
    pub binary: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitDetails {
    pub commit: String,
    pub summary: String,
    pub message: String,
    pub author: String,
    /// Seconds since the Unix epoch.
    pub time: i64,
    pub parents: Vec<String>,
    pub files: Vec<CommitFile>,
}

/// `rev` (a commit id, a branch, `HEAD~2`…) with the files it changed, sorted by path.
pub fn commit_details(repo_path: &Path, rev: &str) -> Result<CommitDetails, GitError> {
    let wrap = |source| GitError::Repository { path: repo_path.to_path_buf(), source };
    let repo = open(repo_path)?;
    let commit = repo.revparse_single(rev).and_then(|o| o.peel_to_commit()).map_err(wrap)?;
    let tree = commit.tree().map_err(wrap)?;
    let parent_tree = match commit.parent(0) {
        Ok(parent) => Some(parent.tree().map_err(wrap)?),
        Err(_) => None,
    };
    let mut diff = repo.diff_tree_to_tree(parent_tree.as_ref(), Some(&tree), None).map_err(wrap)?;
    // git's own defaults: renames found at 50% similarity (exact ones always).
    let mut find = git2::DiffFindOptions::new();
    find.renames(true);
    diff.find_similar(Some(&mut find)).map_err(wrap)?;
    let mut files = Vec::new();
    for (index, delta) in diff.deltas().enumerate() {
        let path_of = |file: git2::DiffFile<'_>| {
            file.path().map(|p| p.to_string_lossy().replace('\\', "/")).unwrap_or_default()
        };
        let status = match delta.status() {
            git2::Delta::Added | git2::Delta::Copied => "added",
            git2::Delta::Deleted => "deleted",
            git2::Delta::Renamed => "renamed",
            _ => "modified",
        };
        let (path, old_path) = match status {
            "deleted" => (path_of(delta.old_file()), None),
            "renamed" => (path_of(delta.new_file()), Some(path_of(delta.old_file()))),
            _ => (path_of(delta.new_file()), None),
        };
        let patch = git2::Patch::from_diff(&diff, index).map_err(wrap)?;
        let binary =
            delta.flags().is_binary() || patch.as_ref().is_some_and(|p| p.delta().flags().is_binary());
        let (additions, deletions) = match patch {
            Some(patch) if !binary => {
                let (_, additions, deletions) = patch.line_stats().map_err(wrap)?;
                (additions, deletions)
            }
            _ => (0, 0),
        };
        files.push(CommitFile { path, old_path, status, additions, deletions, binary });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(CommitDetails {
        commit: commit.id().to_string(),
        summary: commit.summary().unwrap_or_default().to_owned(),
        message: commit.message().unwrap_or_default().to_owned(),
        author: commit.author().name().unwrap_or_default().to_owned(),
        time: commit.time().seconds(),
        parents: commit.parent_ids().map(|id| id.to_string()).collect(),
        files,
    })
}
