//! Git operations on project repositories, through git2. Everything here is blocking: async
//! callers run it with `spawn_blocking` and never keep a `Repository` across an await.

use std::path::{Path, PathBuf};

mod details;

pub use details::{CommitDetails, CommitFile, commit_details};

/// git2's error codes, so callers can tell a lock or a conflict apart without depending on git2.
pub use git2::{ErrorClass, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("git repository at {path}: {source}")]
    Repository { path: PathBuf, source: git2::Error },
    #[error("nothing to commit in {path}: the files are unchanged")]
    NothingToCommit { path: PathBuf },
    /// A path that is not allowed (outside the project, through a symlink, into `.git`…): every
    /// write and delete is checked by atelier-files' resolver at the moment it happens.
    #[error(transparent)]
    Path(#[from] atelier_files::FilesError),
    /// Input that cannot name anything (a malformed checkpoint id, an unusable branch name).
    #[error("{0}")]
    Invalid(String),
}

impl GitError {
    /// The message without the repository's absolute path, for people on the other end of the
    /// API (the path stays in logs through `Display`).
    pub fn message(&self) -> String {
        match self {
            GitError::Repository { source, .. } => source.message().to_owned(),
            GitError::NothingToCommit { .. } => "nothing to commit: the files are unchanged".to_owned(),
            GitError::Path(e) => e.to_string(),
            GitError::Invalid(message) => message.clone(),
        }
    }
}

/// Whether `name` can be a local branch's name (`git check-ref-format --branch`), is not
/// `HEAD`, which git refuses as a branch, and is at most 200 bytes (libgit2's buffers are not
/// made for more).
pub fn branch_name_ok(name: &str) -> bool {
    name != "HEAD"
        && name.len() <= 200
        && !name.starts_with('-')
        && !name.contains('\0')
        && git2::Branch::name_is_valid(name).unwrap_or(false)
}

/// Checks a checkpoint id's form (a commit id: 40 hexadecimal digits, or 64 for SHA-256
/// repositories) before it is looked up.
pub fn checkpoint_id_ok(id: &str) -> bool {
    matches!(id.len(), 40 | 64) && id.bytes().all(|b| b.is_ascii_hexdigit())
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
    stage(repo_path, paths)?;
    commit_index(repo_path, message)
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

/// One changed path, with porcelain v2's letters: `index` and `worktree` are `.` (unchanged),
/// `M`, `A`, `D`, `R`, `T` or `U` (conflict); an untracked file is `?` and `?`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEntry {
    pub path: String,
    pub index: char,
    pub worktree: char,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The current branch; `HEAD` when detached.
    pub branch: String,
    pub entries: Vec<StatusEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub commit: String,
    pub summary: String,
    pub author: String,
    /// Seconds since the Unix epoch.
    pub time: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branch {
    pub name: String,
    pub current: bool,
}

fn open(repo_path: &Path) -> Result<git2::Repository, GitError> {
    git2::Repository::open(repo_path)
        .map_err(|source| GitError::Repository { path: repo_path.to_path_buf(), source })
}

fn current_branch(repo: &git2::Repository) -> String {
    match repo.head() {
        Ok(head) if head.is_branch() => head.shorthand().unwrap_or("HEAD").to_owned(),
        Ok(_) => "HEAD".to_owned(),
        // An unborn branch: the name HEAD points to.
        Err(_) => repo
            .find_reference("HEAD")
            .ok()
            .and_then(|r| r.symbolic_target().map(|t| t.trim_start_matches("refs/heads/").to_owned()))
            .unwrap_or_else(|| "HEAD".to_owned()),
    }
}

/// The working tree's status, as `git status --porcelain=v2` reports it.
pub fn status(repo_path: &Path) -> Result<Status, GitError> {
    let wrap = |source| GitError::Repository { path: repo_path.to_path_buf(), source };
    let repo = open(repo_path)?;
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .renames_head_to_index(true)
        .include_ignored(false);
    let statuses = repo.statuses(Some(&mut opts)).map_err(wrap)?;
    let mut entries = Vec::new();
    for entry in statuses.iter() {
        let s = entry.status();
        // A name that is not UTF-8 shows with U+FFFD, as in the file tree.
        let path = String::from_utf8_lossy(entry.path_bytes()).into_owned();
        let (index, worktree) =
            if s.is_wt_new() && !s.intersects(git2::Status::INDEX_NEW | git2::Status::INDEX_MODIFIED) {
                ('?', '?')
            } else if s.is_conflicted() {
                ('U', 'U')
            } else {
                let index = if s.is_index_new() {
                    'A'
                } else if s.is_index_modified() {
                    'M'
                } else if s.is_index_deleted() {
                    'D'
                } else if s.is_index_renamed() {
                    'R'
                } else if s.is_index_typechange() {
                    'T'
                } else {
                    '.'
                };
                let worktree = if s.is_wt_modified() {
                    'M'
                } else if s.is_wt_deleted() {
                    'D'
                } else if s.is_wt_typechange() {
                    'T'
                } else if s.is_wt_renamed() {
                    'R'
                } else {
                    '.'
                };
                (index, worktree)
            };
        if index == '.' && worktree == '.' {
            continue;
        }
        entries.push(StatusEntry { path, index, worktree });
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Status { branch: current_branch(&repo), entries })
}

/// A unified diff: of the working tree against the index, or (`staged`) of the index against
/// HEAD; all paths, or one.
pub fn diff(repo_path: &Path, path: Option<&str>, staged: bool) -> Result<String, GitError> {
    let wrap = |source| GitError::Repository { path: repo_path.to_path_buf(), source };
    let repo = open(repo_path)?;
    let mut opts = git2::DiffOptions::new();
    opts.include_untracked(!staged).recurse_untracked_dirs(true).show_untracked_content(true);
    if let Some(path) = path {
        // The same rules as every other path: nothing outside the project, nothing in .git.
        let cleaned = atelier_files::clean(path)?;
        locate(repo_path, &cleaned)?;
        opts.pathspec(cleaned).disable_pathspec_match(true);
    }
    let diff = if staged {
        let head = repo.head().ok().and_then(|h| h.peel_to_tree().ok());
        repo.diff_tree_to_index(head.as_ref(), None, Some(&mut opts)).map_err(wrap)?
    } else {
        repo.diff_index_to_workdir(None, Some(&mut opts)).map_err(wrap)?
    };
    let mut out = String::new();
    diff.print(git2::DiffFormat::Patch, |_, _, line| {
        if matches!(line.origin(), '+' | '-' | ' ') {
            out.push(line.origin());
        }
        out.push_str(&String::from_utf8_lossy(line.content()));
        true
    })
    .map_err(wrap)?;
    Ok(out)
}

/// Adds paths (new, changed or deleted files) to the index.
pub fn stage(repo_path: &Path, paths: &[String]) -> Result<(), GitError> {
    let wrap = |source| GitError::Repository { path: repo_path.to_path_buf(), source };
    let paths = clean_paths(repo_path, paths)?;
    let repo = open(repo_path)?;
    let mut index = repo.index().map_err(wrap)?;
    for path in &paths {
        if locate(repo_path, path)?.symlink_metadata().is_ok() {
            index.add_path(Path::new(path)).map_err(wrap)?;
        } else {
            index.remove_path(Path::new(path)).map_err(wrap)?;
        }
    }
    index.write().map_err(wrap)
}

/// Takes paths out of the index again (back to HEAD's version, or untracked before a first
/// commit).
pub fn unstage(repo_path: &Path, paths: &[String]) -> Result<(), GitError> {
    let wrap = |source| GitError::Repository { path: repo_path.to_path_buf(), source };
    let paths = clean_paths(repo_path, paths)?;
    let repo = open(repo_path)?;
    match repo.head().ok().and_then(|h| h.peel(git2::ObjectType::Commit).ok()) {
        Some(head) => repo.reset_default(Some(&head), paths.iter().map(String::as_str)).map_err(wrap),
        None => {
            let mut index = repo.index().map_err(wrap)?;
            for path in &paths {
                index.remove_path(Path::new(path)).map_err(wrap)?;
            }
            index.write().map_err(wrap)
        }
    }
}

/// Throws away the changes to `paths`, staged or not: each goes back to HEAD's version, and a
/// file HEAD does not have is removed. First takes a checkpoint of the files as they are, so
/// the discard can be undone by restoring the returned checkpoint. Every file written or
/// removed goes through atelier-files' resolver as it happens.
pub fn discard(repo_path: &Path, paths: &[String]) -> Result<Checkpoint, GitError> {
    let wrap = |source| GitError::Repository { path: repo_path.to_path_buf(), source };
    let paths = clean_paths(repo_path, paths)?;
    let repo = open(repo_path)?;
    let head = repo.head().ok().and_then(|h| h.peel_to_tree().ok());
    for path in &paths {
        let entry = head.as_ref().and_then(|tree| tree.get_path(Path::new(path)).ok());
        if entry.is_some_and(|e| e.kind() == Some(git2::ObjectType::Tree))
            || locate(repo_path, path)?.symlink_metadata().is_ok_and(|m| m.is_dir())
        {
            return Err(GitError::Invalid(format!("`{path}` is a folder; name the files in it to discard")));
        }
    }
    let label = match paths.as_slice() {
        [one] => format!("Before discarding changes to {one}"),
        _ => format!("Before discarding changes to {} files", paths.len()),
    };
    let checkpoint = checkpoint_create(repo_path, &label, &paths)?;
    let mut index = repo.index().map_err(wrap)?;
    for path in &paths {
        match head.as_ref().and_then(|tree| tree.get_path(Path::new(path)).ok()) {
            Some(entry) => {
                let blob = repo.find_blob(entry.id()).map_err(wrap)?;
                write_entry(repo_path, path, blob.content(), entry.filemode())?;
                // Back to HEAD's version in the index as well: drop a staged change.
                index
                    .add(&index_entry(path, entry.id(), entry.filemode() as u32, blob.size()))
                    .map_err(wrap)?;
            }
            None => {
                // New since HEAD: it goes (the checkpoint keeps it).
                if index.get_path(Path::new(path), 0).is_some() {
                    index.remove_path(Path::new(path)).map_err(wrap)?;
                }
                atelier_files::remove_file(repo_path, path)?;
            }
        }
    }
    index.write().map_err(wrap)?;
    Ok(checkpoint)
}

/// The paths cleaned (`./a//b` → `a/b`) and checked against the project, without duplicates.
fn clean_paths(repo_path: &Path, paths: &[String]) -> Result<Vec<String>, GitError> {
    let mut out: Vec<String> = Vec::with_capacity(paths.len());
    for path in paths {
        let cleaned = atelier_files::clean(path)?;
        locate(repo_path, &cleaned)?;
        if !out.contains(&cleaned) {
            out.push(cleaned);
        }
    }
    Ok(out)
}

/// Where a cleaned path is on disk: its folder resolved through atelier-files (inside the
/// project, through no link that leads out), its last part not followed, so that a symbolic
/// link is seen as the link it is.
fn locate(repo_path: &Path, cleaned: &str) -> Result<PathBuf, GitError> {
    Ok(match cleaned.rsplit_once('/') {
        Some((parent, name)) => atelier_files::resolve(repo_path, parent)?.join(name),
        None => atelier_files::resolve(repo_path, "")?.join(cleaned),
    })
}

/// Git's mode for a symbolic link.
const MODE_LINK: i32 = 0o120000;

/// Writes a blob to the working tree through the resolver, with the executable bit its mode
/// asks for; a link entry becomes that link again (where the platform has links; elsewhere a
/// file holding its target, as git does). Whatever is at the path now (a file or a link, never
/// followed) is replaced.
#[cfg_attr(not(unix), allow(unused_variables))]
fn write_entry(repo_path: &Path, path: &str, content: &[u8], mode: i32) -> Result<(), GitError> {
    let full = locate(repo_path, path)?;
    let io = |e: std::io::Error| {
        GitError::Path(atelier_files::FilesError::Io { path: path.to_owned(), source: e })
    };
    if full.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink()) {
        atelier_files::remove_file(repo_path, path)?;
    }
    #[cfg(unix)]
    if mode == MODE_LINK {
        use std::os::unix::ffi::OsStrExt;
        atelier_files::remove_file(repo_path, path)?;
        if let Some(dir) = full.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        // Checked again at the moment of the write: the folder must still be inside.
        let full = locate(repo_path, path)?;
        return std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(content), &full).map_err(io);
    }
    atelier_files::write_bytes(repo_path, path, content)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let executable = mode == 0o100755;
        let mut permissions = std::fs::metadata(&full).map_err(io)?.permissions();
        let bits = permissions.mode();
        let wanted = if executable { bits | ((bits & 0o444) >> 2) } else { bits & !0o111 };
        if wanted != bits {
            permissions.set_mode(wanted);
            std::fs::set_permissions(&full, permissions).map_err(io)?;
        }
    }
    Ok(())
}

/// An index entry for a blob (times zero: git refreshes them from the file on its next look).
fn index_entry(path: &str, id: git2::Oid, mode: u32, size: usize) -> git2::IndexEntry {
    git2::IndexEntry {
        ctime: git2::IndexTime::new(0, 0),
        mtime: git2::IndexTime::new(0, 0),
        dev: 0,
        ino: 0,
        mode,
        uid: 0,
        gid: 0,
        file_size: u32::try_from(size).unwrap_or(u32::MAX),
        id,
        flags: (path.len().min(0xfff)) as u16,
        flags_extended: 0,
        path: path.as_bytes().to_vec(),
    }
}

/// Commits what is staged on the current branch. Returns the commit id.
pub fn commit(repo_path: &Path, message: &str) -> Result<String, GitError> {
    commit_index(repo_path, message)
}

/// Commits the index on HEAD; `NothingToCommit` when it holds nothing HEAD does not.
fn commit_index(repo_path: &Path, message: &str) -> Result<String, GitError> {
    let wrap = |source| GitError::Repository { path: repo_path.to_path_buf(), source };
    let repo = open(repo_path)?;
    let mut index = repo.index().map_err(wrap)?;
    let tree_id = index.write_tree().map_err(wrap)?;
    let parent = match repo.head() {
        Ok(head) => Some(head.peel_to_commit().map_err(wrap)?),
        Err(e) if matches!(e.code(), git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound) => None,
        Err(e) => return Err(wrap(e)),
    };
    let unchanged = match &parent {
        Some(parent) => parent.tree_id() == tree_id,
        None => index.is_empty(),
    };
    if unchanged {
        return Err(GitError::NothingToCommit { path: repo_path.to_path_buf() });
    }
    let tree = repo.find_tree(tree_id).map_err(wrap)?;
    let signature = match repo.signature() {
        Ok(signature) => signature,
        Err(_) => git2::Signature::now(FALLBACK_NAME, FALLBACK_EMAIL).map_err(wrap)?,
    };
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    let id = repo.commit(Some("HEAD"), &signature, &signature, message, &tree, &parents).map_err(wrap)?;
    Ok(id.to_string())
}

/// A file's text as it was at `rev` (a commit, branch, tag, or `<commit>^` for its parent):
/// `None` when the file did not exist there (or `rev` is a parent that does not exist, as
/// for a first commit). Binary content is refused.
pub fn file_at(repo_path: &Path, rev: &str, path: &str) -> Result<Option<String>, GitError> {
    let wrap = |source| GitError::Repository { path: repo_path.to_path_buf(), source };
    let repo = open(repo_path)?;
    let tree = match repo.revparse_single(rev).and_then(|o| o.peel_to_tree()) {
        Ok(tree) => tree,
        // The parent of a root commit: nothing existed before it.
        Err(e) if e.code() == git2::ErrorCode::NotFound && rev.ends_with('^') => return Ok(None),
        Err(e) => return Err(wrap(e)),
    };
    let entry = match tree.get_path(Path::new(path)) {
        Ok(entry) => entry,
        Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
        Err(e) => return Err(wrap(e)),
    };
    let blob = entry.to_object(&repo).and_then(|o| o.peel_to_blob()).map_err(wrap)?;
    if blob.is_binary() {
        return Err(wrap(git2::Error::from_str(&format!("`{path}` is a binary file at {rev}"))));
    }
    Ok(Some(String::from_utf8_lossy(blob.content()).into_owned()))
}

/// The newest `limit` commits of the current branch.
pub fn log(repo_path: &Path, limit: usize) -> Result<Vec<LogEntry>, GitError> {
    let wrap = |source| GitError::Repository { path: repo_path.to_path_buf(), source };
    let repo = open(repo_path)?;
    let mut walk = repo.revwalk().map_err(wrap)?;
    if walk.push_head().is_err() {
        return Ok(Vec::new()); // No commits yet.
    }
    let mut out = Vec::new();
    for id in walk.take(limit) {
        let commit = repo.find_commit(id.map_err(wrap)?).map_err(wrap)?;
        out.push(LogEntry {
            commit: commit.id().to_string(),
            summary: commit.summary().unwrap_or_default().to_owned(),
            author: commit.author().name().unwrap_or_default().to_owned(),
            time: commit.time().seconds(),
        });
    }
    Ok(out)
}

pub fn branches(repo_path: &Path) -> Result<Vec<Branch>, GitError> {
    let wrap = |source| GitError::Repository { path: repo_path.to_path_buf(), source };
    let repo = open(repo_path)?;
    let current = current_branch(&repo);
    let mut out: Vec<Branch> = repo
        .branches(Some(git2::BranchType::Local))
        .map_err(wrap)?
        .flatten()
        .filter_map(|(b, _)| b.name().ok().flatten().map(str::to_owned))
        .map(|name| Branch { current: name == current, name })
        .collect();
    if !out.iter().any(|b| b.current) && current != "HEAD" {
        out.push(Branch { name: current, current: true }); // unborn
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Switches to `branch` (creating it at HEAD with `create`). A checkout that would overwrite
/// uncommitted changes is refused by git and nothing changes.
pub fn checkout(repo_path: &Path, branch: &str, create: bool) -> Result<(), GitError> {
    let wrap = |source| GitError::Repository { path: repo_path.to_path_buf(), source };
    if !branch_name_ok(branch) {
        return Err(GitError::Invalid(format!(
            "`{}` is not a usable branch name",
            branch.chars().take(80).collect::<String>().replace('\0', "\\0")
        )));
    }
    let repo = open(repo_path)?;
    if create {
        let head = repo.head().and_then(|h| h.peel_to_commit()).map_err(wrap)?;
        repo.branch(branch, &head, false).map_err(wrap)?;
    }
    let reference = format!("refs/heads/{branch}");
    let target = repo.revparse_single(&reference).map_err(wrap)?;
    check_tree_change(&repo, repo_path, &target)?;
    let mut opts = git2::build::CheckoutBuilder::new();
    opts.safe();
    repo.checkout_tree(&target, Some(&mut opts)).map_err(wrap)?;
    repo.set_head(&reference).map_err(wrap)
}

/// Before a checkout writes the files that differ between HEAD and `target`: each must resolve
/// inside the project (a folder replaced by a symlink to elsewhere would otherwise be written
/// through), else nothing is changed.
fn check_tree_change(
    repo: &git2::Repository,
    repo_path: &Path,
    target: &git2::Object<'_>,
) -> Result<(), GitError> {
    let wrap = |source| GitError::Repository { path: repo_path.to_path_buf(), source };
    let to = target.peel_to_tree().map_err(wrap)?;
    let from = repo.head().ok().and_then(|h| h.peel_to_tree().ok());
    let diff = repo.diff_tree_to_tree(from.as_ref(), Some(&to), None).map_err(wrap)?;
    for delta in diff.deltas() {
        for file in [delta.old_file(), delta.new_file()] {
            if let Some(path) = file.path().and_then(Path::to_str) {
                atelier_files::resolve(repo_path, path)?;
            }
        }
    }
    Ok(())
}

/// Where checkpoints live: hidden refs that never touch HEAD, the index or a branch.
const CHECKPOINT_REFS: &str = "refs/atelier/checkpoints/";
/// Files larger than this are left out of a checkpoint (and so out of its restore).
pub const CHECKPOINT_MAX_FILE: u64 = 10 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The snapshot's commit id.
    pub id: String,
    pub label: String,
    /// Seconds since the Unix epoch.
    pub time: i64,
    /// The files it covers (relative, with `/`).
    pub paths: Vec<String>,
}

fn checkpoint_from(commit: &git2::Commit<'_>) -> Checkpoint {
    let message = commit.message().unwrap_or_default();
    let (label, rest) = message.split_once("\n\n").unwrap_or((message, ""));
    let paths = rest.strip_prefix("paths:\n").unwrap_or_default().lines().map(str::to_owned).collect();
    Checkpoint { id: commit.id().to_string(), label: label.to_owned(), time: commit.time().seconds(), paths }
}

/// Snapshots `paths` as they are in the working tree now (a missing file is recorded as
/// absent; files over 10 MiB are skipped) on a hidden ref. HEAD, the index and the branches
/// are not touched.
/// The name for checkpoint `n`, or the next free one when a process killed while writing that ref
/// left its `.lock` behind (the ref itself was never written). Such a lock older than a minute
/// is removed: no live write holds a ref lock that long.
fn next_checkpoint_ref(repo: &git2::Repository, mut n: usize) -> String {
    loop {
        let name = format!("{CHECKPOINT_REFS}{n:06}");
        if repo.find_reference(&name).is_ok() {
            n += 1;
            continue;
        }
        let lock = repo.path().join(format!("{name}.lock"));
        let age = std::fs::metadata(&lock).and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
        match age {
            None => return name,
            Some(age) if age > std::time::Duration::from_secs(60) && std::fs::remove_file(&lock).is_ok() => {
                return name;
            }
            Some(_) => n += 1,
        }
    }
}

pub fn checkpoint_create(repo_path: &Path, label: &str, paths: &[String]) -> Result<Checkpoint, GitError> {
    let wrap = |source| GitError::Repository { path: repo_path.to_path_buf(), source };
    let paths = clean_paths(repo_path, paths)?;
    let repo = open(repo_path)?;
    // An in-memory index, so the person's staging area stays exactly as it is.
    let mut index = git2::Index::new().map_err(wrap)?;
    if let Some(tree) = repo.head().ok().and_then(|h| h.peel_to_tree().ok()) {
        index.read_tree(&tree).map_err(wrap)?;
    }
    let mut covered = Vec::new();
    for path in &paths {
        // Read through the resolver too: a folder swapped for a link must not pull an outside
        // file into the project's history.
        let full = locate(repo_path, path)?;
        let read_error = |e: std::io::Error| wrap(git2::Error::from_str(&format!("reading {path}: {e}")));
        match std::fs::symlink_metadata(&full) {
            Ok(meta) if meta.file_type().is_symlink() => {
                // The link itself, never what it points to.
                let target = std::fs::read_link(&full).map_err(read_error)?;
                let bytes = target.to_string_lossy().into_owned().into_bytes();
                let blob = repo.blob(&bytes).map_err(wrap)?;
                index.add(&index_entry(path, blob, MODE_LINK as u32, bytes.len())).map_err(wrap)?;
                covered.push(path.clone());
            }
            Ok(meta) if meta.is_file() && meta.len() <= CHECKPOINT_MAX_FILE => {
                let content = std::fs::read(&full).map_err(read_error)?;
                let blob = repo.blob(&content).map_err(wrap)?;
                let mode = if is_executable(&meta) { 0o100755 } else { 0o100644 };
                index.add(&index_entry(path, blob, mode, content.len())).map_err(wrap)?;
                covered.push(path.clone());
            }
            Ok(meta) if meta.is_file() || meta.is_dir() => {} // too large, or a folder: skipped
            _ => {
                // Absent now: recorded as absent, so a restore removes it.
                if index.get_path(Path::new(path), 0).is_some() {
                    index.remove_path(Path::new(path)).map_err(wrap)?;
                }
                covered.push(path.clone());
            }
        }
    }
    let tree_id = index.write_tree_to(&repo).map_err(wrap)?;
    let tree = repo.find_tree(tree_id).map_err(wrap)?;
    let signature = git2::Signature::now(FALLBACK_NAME, FALLBACK_EMAIL).map_err(wrap)?;
    let message = format!("{label}\n\npaths:\n{}", covered.join("\n"));
    let id = repo.commit(None, &signature, &signature, &message, &tree, &[]).map_err(wrap)?;
    let name = next_checkpoint_ref(&repo, checkpoint_list(repo_path)?.len() + 1);
    repo.reference(&name, id, false, label).map_err(wrap)?;
    let commit = repo.find_commit(id).map_err(wrap)?;
    Ok(checkpoint_from(&commit))
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &std::fs::Metadata) -> bool {
    false
}

/// Every checkpoint, newest first.
pub fn checkpoint_list(repo_path: &Path) -> Result<Vec<Checkpoint>, GitError> {
    let wrap = |source| GitError::Repository { path: repo_path.to_path_buf(), source };
    let repo = open(repo_path)?;
    let mut out: Vec<(String, Checkpoint)> = Vec::new();
    for reference in repo.references_glob(&format!("{CHECKPOINT_REFS}*")).map_err(wrap)?.flatten() {
        let name = reference.name().unwrap_or_default().to_owned();
        if let Ok(commit) = reference.peel_to_commit() {
            out.push((name, checkpoint_from(&commit)));
        }
    }
    out.sort_by(|a, b| b.0.cmp(&a.0));
    Ok(out.into_iter().map(|(_, c)| c).collect())
}

/// Puts the checkpoint's files back in the working tree (files it recorded as absent are
/// removed). First snapshots those files as they are now, so the restore can itself be undone
/// by restoring the returned checkpoint. Every path is checked by atelier-files' resolver before
/// anything changes (a checkpoint naming a path that now leads outside the project is refused
/// whole) and again at each write and removal.
pub fn checkpoint_restore(repo_path: &Path, id: &str) -> Result<Checkpoint, GitError> {
    let wrap = |source| GitError::Repository { path: repo_path.to_path_buf(), source };
    if !checkpoint_id_ok(id) {
        return Err(GitError::Invalid(format!(
            "`{}` is not a checkpoint id (checkpoints.list gives them)",
            id.chars().take(80).collect::<String>()
        )));
    }
    let repo = open(repo_path)?;
    let not_found = || {
        wrap(git2::Error::new(git2::ErrorCode::NotFound, git2::ErrorClass::Reference, "no such checkpoint"))
    };
    let oid = git2::Oid::from_str(id).map_err(|_| not_found())?;
    if !checkpoint_list(repo_path)?.iter().any(|c| c.id == oid.to_string()) {
        return Err(not_found());
    }
    let commit = repo.find_commit(oid).map_err(wrap)?;
    let checkpoint = checkpoint_from(&commit);
    // All or nothing: a refused path stops the restore before any file changes.
    let paths = clean_paths(repo_path, &checkpoint.paths)?;
    let undo = checkpoint_create(repo_path, &format!("before restoring “{}”", checkpoint.label), &paths)?;
    let tree = commit.tree().map_err(wrap)?;
    for path in &paths {
        match tree.get_path(Path::new(path)) {
            Ok(entry) => {
                let blob = repo.find_blob(entry.id()).map_err(wrap)?;
                write_entry(repo_path, path, blob.content(), entry.filemode())?;
            }
            Err(_) => {
                atelier_files::remove_file(repo_path, path)?;
            }
        }
    }
    Ok(undo)
}

/// Credentials for a remote, tried in this order: the ssh agent (ssh URLs), a token from
/// `ATELIER_GIT_TOKEN` (https), then git's own credential helpers. Each is tried once, so a
/// remote that refuses them all fails with a clear error instead of asking forever.
fn credentials(repo: &git2::Repository) -> git2::RemoteCallbacks<'static> {
    let config = repo.config().ok();
    let mut tried = std::collections::HashSet::new();
    let mut callbacks = git2::RemoteCallbacks::new();
    callbacks.credentials(move |url, username, allowed| {
        let user = username.unwrap_or("git");
        if allowed.contains(git2::CredentialType::SSH_KEY) && tried.insert("agent") {
            return git2::Cred::ssh_key_from_agent(user);
        }
        if allowed.contains(git2::CredentialType::USER_PASS_PLAINTEXT) {
            if tried.insert("token")
                && let Ok(token) = std::env::var("ATELIER_GIT_TOKEN")
                && !token.is_empty()
            {
                return git2::Cred::userpass_plaintext(username.unwrap_or("x-access-token"), &token);
            }
            if tried.insert("helper")
                && let Some(config) = &config
            {
                return git2::Cred::credential_helper(config, url, username);
            }
        }
        Err(git2::Error::new(
            git2::ErrorCode::Auth,
            git2::ErrorClass::Net,
            "no credentials worked: start an ssh agent with your key, configure a git credential \
             helper, or set ATELIER_GIT_TOKEN",
        ))
    });
    callbacks
}

/// Pushes the branch (default: the current one) to the remote (default: `origin`).
pub fn push(repo_path: &Path, remote: Option<&str>, branch: Option<&str>) -> Result<(), GitError> {
    let wrap = |source| GitError::Repository { path: repo_path.to_path_buf(), source };
    let repo = open(repo_path)?;
    let branch = branch.map(str::to_owned).unwrap_or_else(|| current_branch(&repo));
    let mut remote = repo.find_remote(remote.unwrap_or("origin")).map_err(wrap)?;
    let mut options = git2::PushOptions::new();
    options.remote_callbacks(credentials(&repo));
    let refspec = format!("refs/heads/{branch}:refs/heads/{branch}");
    remote.push(&[refspec.as_str()], Some(&mut options)).map_err(wrap)
}

/// Fetches the branch (default: the current one) from the remote (default: `origin`) and
/// fast-forwards to it. A branch that has diverged is refused (`GitError` with
/// `ErrorCode::NotFastForward`) and nothing changes.
pub fn pull(repo_path: &Path, remote: Option<&str>, branch: Option<&str>) -> Result<(), GitError> {
    let wrap = |source| GitError::Repository { path: repo_path.to_path_buf(), source };
    let repo = open(repo_path)?;
    let branch = branch.map(str::to_owned).unwrap_or_else(|| current_branch(&repo));
    let mut remote = repo.find_remote(remote.unwrap_or("origin")).map_err(wrap)?;
    let mut options = git2::FetchOptions::new();
    options.remote_callbacks(credentials(&repo));
    remote.fetch(&[branch.as_str()], Some(&mut options), None).map_err(wrap)?;
    let fetched = repo
        .find_reference("FETCH_HEAD")
        .and_then(|r| repo.reference_to_annotated_commit(&r))
        .map_err(wrap)?;
    let (analysis, _) = repo.merge_analysis(&[&fetched]).map_err(wrap)?;
    if analysis.is_up_to_date() {
        return Ok(());
    }
    if !analysis.is_fast_forward() && !analysis.is_unborn() {
        return Err(wrap(git2::Error::new(
            git2::ErrorCode::NotFastForward,
            git2::ErrorClass::Merge,
            "the branch has diverged from the remote; merge or rebase it with git first",
        )));
    }
    let target = fetched.id();
    let reference = format!("refs/heads/{branch}");
    // The working tree first, against the old HEAD as the baseline: a file the person changed
    // that the pull would overwrite stops it here, before any ref moves.
    let commit = repo.find_commit(target).map_err(wrap)?;
    check_tree_change(&repo, repo_path, commit.as_object())?;
    let mut checkout = git2::build::CheckoutBuilder::new();
    checkout.safe();
    repo.checkout_tree(commit.as_object(), Some(&mut checkout)).map_err(wrap)?;
    match repo.find_reference(&reference) {
        Ok(mut r) => {
            r.set_target(target, "atelier pull: fast-forward").map_err(wrap)?;
        }
        Err(_) => {
            repo.reference(&reference, target, true, "atelier pull").map_err(wrap)?;
        }
    }
    repo.set_head(&reference).map_err(wrap)
}
