//! `git.*`: the project's repository through atelier-git, off the async workers; changes are
//! announced as `git.changed` on `project/<id>`.

use std::path::{Path, PathBuf};

use atelier_git::GitError;
use atelier_protocol::{Checkpoint, GitBranch, GitLogEntry, GitStatus, GitStatusEntry, topics};

use crate::App;
use crate::error::{CoreError, CoreResult};

/// The API's error for a git failure. Messages never carry the project's absolute path (the
/// full error goes to the log).
fn git_error(e: GitError, root: &Path) -> CoreError {
    let error = map_git_error(e);
    match error {
        CoreError::Internal(message) => CoreError::Internal(scrub(&message, root)),
        CoreError::Conflict(message) => CoreError::Conflict(scrub(&message, root)),
        CoreError::Unauthorized(message) => CoreError::Unauthorized(scrub(&message, root)),
        CoreError::Unavailable(message) => CoreError::Unavailable(scrub(&message, root)),
        CoreError::InvalidInput(message) => CoreError::InvalidInput(scrub(&message, root)),
        CoreError::NotFound { what, id } => CoreError::NotFound { what, id: scrub(&id, root) },
        other => other,
    }
}

/// `message` with the project's folder (as given and as the file system spells it) replaced by `.`.
pub(crate) fn scrub(message: &str, root: &Path) -> String {
    let mut out = message.to_owned();
    let mut forms = vec![root.to_string_lossy().into_owned()];
    if let Ok(real) = root.canonicalize() {
        forms.push(real.to_string_lossy().into_owned());
    }
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    for form in forms.iter().filter(|f| f.len() > 1) {
        out = out.replace(&format!("{form}/"), "").replace(form.as_str(), ".");
    }
    out
}

fn map_git_error(e: GitError) -> CoreError {
    match e {
        GitError::Path(e) => e.into(),
        GitError::Invalid(message) => CoreError::InvalidInput(message),
        GitError::NothingToCommit { .. } => {
            CoreError::Conflict("nothing is staged; stage files first".into())
        }
        GitError::Repository { source, .. } if source.code() == git2_code::LOCKED => CoreError::Conflict(
            "the repository is locked by another git process; try again when it has finished".into(),
        ),
        GitError::Repository { source, .. } if source.code() == git2_code::CONFLICT => {
            CoreError::Conflict(format!("git refused: {}", source.message()))
        }
        GitError::Repository { source, .. } if source.code() == git2_code::AUTH => {
            CoreError::Unauthorized(source.message().to_owned())
        }
        GitError::Repository { source, .. } if source.code() == git2_code::NOT_FAST_FORWARD => {
            CoreError::Conflict(source.message().to_owned())
        }
        GitError::Repository { source, .. }
            if source.class() == atelier_git::ErrorClass::Net
                || source.class() == atelier_git::ErrorClass::Ssh
                || source.class() == atelier_git::ErrorClass::Http =>
        {
            CoreError::Unavailable(format!("the remote could not be reached: {}", source.message()))
        }
        GitError::Repository { source, .. } if source.code() == git2_code::NOT_FOUND => {
            CoreError::NotFound { what: "git object", id: source.message().to_owned() }
        }
        // A revision or name git cannot read: the input's fault, said in git's words.
        GitError::Repository { source, .. }
            if matches!(
                source.code(),
                git2_code::INVALID_SPEC | git2_code::AMBIGUOUS | git2_code::INVALID
            ) =>
        {
            CoreError::InvalidInput(format!("git: {}", source.message()))
        }
        other => {
            tracing::warn!(error = %other, "git operation failed");
            CoreError::Internal(format!("git: {}", other.message()))
        }
    }
}

/// The git2 error codes we answer differently, without depending on git2 here.
mod git2_code {
    pub use atelier_git::ErrorCode;
    pub const LOCKED: ErrorCode = ErrorCode::Locked;
    pub const CONFLICT: ErrorCode = ErrorCode::Conflict;
    pub const NOT_FOUND: ErrorCode = ErrorCode::NotFound;
    pub const AUTH: ErrorCode = ErrorCode::Auth;
    pub const NOT_FAST_FORWARD: ErrorCode = ErrorCode::NotFastForward;
    pub const INVALID_SPEC: ErrorCode = ErrorCode::InvalidSpec;
    pub const AMBIGUOUS: ErrorCode = ErrorCode::Ambiguous;
    pub const INVALID: ErrorCode = ErrorCode::Invalid;
}

pub(crate) fn time_text(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

impl App {
    pub(crate) async fn in_repo<T: Send + 'static>(
        &self,
        project_id: &str,
        f: impl FnOnce(&Path) -> Result<T, GitError> + Send + 'static,
    ) -> CoreResult<T> {
        let root = PathBuf::from(self.store().get_project(project_id).await?.path);
        let shown = root.clone();
        tokio::task::spawn_blocking(move || f(&root))
            .await
            .map_err(|e| CoreError::Internal(format!("git task failed: {e}")))?
            .map_err(|e| git_error(e, &shown))
    }

    pub(crate) fn git_changed(&self, project_id: &str) {
        self.bus().publish(&topics::project(project_id), "git.changed", serde_json::json!({}));
    }

    pub async fn git_status(&self, project_id: &str) -> CoreResult<GitStatus> {
        let status = self.in_repo(project_id, atelier_git::status).await?;
        Ok(GitStatus {
            branch: status.branch,
            entries: status
                .entries
                .into_iter()
                .map(|e| GitStatusEntry {
                    path: e.path,
                    index: e.index.to_string(),
                    worktree: e.worktree.to_string(),
                })
                .collect(),
        })
    }

    pub async fn git_diff(&self, project_id: &str, path: Option<String>, staged: bool) -> CoreResult<String> {
        self.in_repo(project_id, move |root| atelier_git::diff(root, path.as_deref(), staged)).await
    }

    /// Refuses paths that could not name a file in the project (atelier-git checks each
    /// against the disk again when it acts).
    fn check_paths(paths: &[String]) -> CoreResult<()> {
        for path in paths {
            atelier_files::clean(path)?;
        }
        Ok(())
    }

    pub async fn git_show(&self, project_id: &str, rev: String, path: String) -> CoreResult<Option<String>> {
        let path = atelier_files::clean(&path)?;
        if rev.contains('\0') || rev.trim().is_empty() || rev.len() > 256 {
            return Err(CoreError::InvalidInput(
                "name a commit, branch or tag (at most 256 characters)".into(),
            ));
        }
        self.in_repo(project_id, move |root| atelier_git::file_at(root, &rev, &path)).await
    }

    pub async fn git_stage(&self, project_id: &str, paths: Vec<String>, stage: bool) -> CoreResult<()> {
        if paths.is_empty() {
            return Err(CoreError::InvalidInput("name the files to stage or unstage".into()));
        }
        Self::check_paths(&paths)?;
        self.in_repo(project_id, move |root| {
            if stage { atelier_git::stage(root, &paths) } else { atelier_git::unstage(root, &paths) }
        })
        .await?;
        self.git_changed(project_id);
        Ok(())
    }

    /// Throws away the changes to `paths` (staged or not; new files are removed) after a
    /// checkpoint of them, which it returns: restoring it undoes the discard.
    pub async fn git_discard(&self, project_id: &str, paths: Vec<String>) -> CoreResult<Checkpoint> {
        if paths.is_empty() {
            return Err(CoreError::InvalidInput("name the files whose changes to discard".into()));
        }
        Self::check_paths(&paths)?;
        let checkpoint = self.in_repo(project_id, move |root| atelier_git::discard(root, &paths)).await?;
        self.git_changed(project_id);
        Ok(checkpoint_to_api(checkpoint))
    }

    pub async fn git_commit(&self, project_id: &str, message: String) -> CoreResult<String> {
        if message.trim().is_empty() {
            return Err(CoreError::InvalidInput("the commit message is empty".into()));
        }
        let commit = self.in_repo(project_id, move |root| atelier_git::commit(root, &message)).await?;
        self.git_changed(project_id);
        Ok(commit)
    }

    pub async fn git_log(&self, project_id: &str, limit: Option<u32>) -> CoreResult<Vec<GitLogEntry>> {
        let limit = limit.unwrap_or(50).clamp(1, 1000) as usize;
        let log = self.in_repo(project_id, move |root| atelier_git::log(root, limit)).await?;
        Ok(log
            .into_iter()
            .map(|e| GitLogEntry {
                commit: e.commit,
                summary: e.summary,
                author: e.author,
                time: time_text(e.time),
            })
            .collect())
    }

    pub async fn git_branches(&self, project_id: &str) -> CoreResult<Vec<GitBranch>> {
        let branches = self.in_repo(project_id, atelier_git::branches).await?;
        Ok(branches.into_iter().map(|b| GitBranch { name: b.name, current: b.current }).collect())
    }

    pub async fn git_checkout(&self, project_id: &str, branch: String, create: bool) -> CoreResult<()> {
        if branch.trim().is_empty() || !atelier_git::branch_name_ok(&branch) {
            return Err(CoreError::InvalidInput(format!(
                "`{}` is not a usable branch name",
                branch.chars().take(80).collect::<String>().replace('\0', "\\0")
            )));
        }
        self.in_repo(project_id, move |root| atelier_git::checkout(root, &branch, create)).await?;
        self.git_changed(project_id);
        Ok(())
    }

    pub async fn list_checkpoints(&self, project_id: &str) -> CoreResult<Vec<Checkpoint>> {
        let list = self.in_repo(project_id, atelier_git::checkpoint_list).await?;
        Ok(list.into_iter().map(checkpoint_to_api).collect())
    }

    pub async fn restore_checkpoint(&self, project_id: &str, id: String) -> CoreResult<Checkpoint> {
        let undo = self.in_repo(project_id, move |root| atelier_git::checkpoint_restore(root, &id)).await?;
        self.git_changed(project_id);
        Ok(checkpoint_to_api(undo))
    }
}

impl App {
    pub async fn git_push(
        &self,
        project_id: &str,
        remote: Option<String>,
        branch: Option<String>,
    ) -> CoreResult<()> {
        check_remote(remote.as_deref(), branch.as_deref())?;
        self.in_repo(project_id, move |root| atelier_git::push(root, remote.as_deref(), branch.as_deref()))
            .await?;
        self.git_changed(project_id);
        Ok(())
    }

    pub async fn git_pull(
        &self,
        project_id: &str,
        remote: Option<String>,
        branch: Option<String>,
    ) -> CoreResult<()> {
        check_remote(remote.as_deref(), branch.as_deref())?;
        self.in_repo(project_id, move |root| atelier_git::pull(root, remote.as_deref(), branch.as_deref()))
            .await?;
        self.git_changed(project_id);
        Ok(())
    }
}

/// A remote's and a branch's names as git can take them.
fn check_remote(remote: Option<&str>, branch: Option<&str>) -> CoreResult<()> {
    if let Some(remote) = remote
        && (remote.is_empty()
            || remote.len() > 200
            || remote.contains(['\0', ' ', ':'])
            || remote.starts_with('-'))
    {
        return Err(CoreError::InvalidInput(format!(
            "`{}` is not a usable remote name",
            remote.chars().take(80).collect::<String>().replace('\0', "\\0")
        )));
    }
    if let Some(branch) = branch
        && !atelier_git::branch_name_ok(branch)
    {
        return Err(CoreError::InvalidInput(format!(
            "`{}` is not a usable branch name",
            branch.chars().take(80).collect::<String>().replace('\0', "\\0")
        )));
    }
    Ok(())
}

pub(crate) fn checkpoint_to_api(c: atelier_git::Checkpoint) -> Checkpoint {
    Checkpoint { id: c.id, label: c.label, time: time_text(c.time), paths: c.paths }
}
