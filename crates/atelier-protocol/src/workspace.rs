//! Params and results of the workspace essentials (API v1.2): file operations, find and replace
//! in files, a commit's details, archiving and cleaning up projects, and database backups.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::Checkpoint;

// ---------------------------------------------------------------- file operations

/// `files.create`: `kind` is `file` (with `content`, default empty) or `dir`.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct FilesCreate {
    pub project_id: String,
    pub path: String,
    pub kind: String,
    #[serde(default)]
    pub content: Option<String>,
}

/// `files.rename`: a file or a folder from `from` to `to`.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct FilesRename {
    pub project_id: String,
    pub from: String,
    pub to: String,
}

/// `files.delete`: a file or a folder with everything in it.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct FilesDelete {
    pub project_id: String,
    pub path: String,
}

/// `files.rename`'s result: restoring `undo` (`checkpoints.restore`) puts the files back.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct FilesRenamed {
    pub undo: Checkpoint,
}

/// `files.delete`'s result: `skipped` are files over 10 MiB the checkpoint could not keep
/// (they are gone for good).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct FilesDeleted {
    pub undo: Checkpoint,
    pub skipped: Vec<String>,
}

// ---------------------------------------------------------------- find in files

/// `files.search`: plain text unless `regex`; smart case unless `case_sensitive` is given;
/// `glob` (`*.rs`, `src/**`, `!*.min.js`; several separated by commas) limits the files;
/// `limit` matching lines (default 1000, at most 10000).
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct FilesSearch {
    pub project_id: String,
    pub query: String,
    #[serde(default)]
    pub regex: Option<bool>,
    #[serde(default)]
    pub case_sensitive: Option<bool>,
    #[serde(default)]
    pub glob: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}

/// One matching line: `line` and `column` 1-based, `column` in characters.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct FileMatch {
    pub path: String,
    pub line: u64,
    pub column: u64,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct FilesFound {
    pub matches: Vec<FileMatch>,
    pub truncated: bool,
    pub files_searched: u64,
}

/// `files.replace`: as `files.search`, with `replacement` (`$1` / `${name}` with `regex`),
/// `paths` to limit the change to some files, `preview` to write nothing.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct FilesReplace {
    pub project_id: String,
    pub query: String,
    pub replacement: String,
    #[serde(default)]
    pub regex: Option<bool>,
    #[serde(default)]
    pub case_sensitive: Option<bool>,
    #[serde(default)]
    pub glob: Option<String>,
    #[serde(default)]
    pub paths: Option<Vec<String>>,
    #[serde(default)]
    pub preview: Option<bool>,
}

/// One file's replacement: `diff` is unified with 3 lines of context.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct ReplacedFile {
    pub path: String,
    pub replacements: u64,
    pub diff: String,
}

/// `files.replace`'s result; `undo` (absent in a preview) restores the files.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct FilesReplaced {
    pub files: Vec<ReplacedFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undo: Option<Checkpoint>,
}

// ---------------------------------------------------------------- git

/// `git.commit_details`.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct GitCommitDetails {
    pub project_id: String,
    pub commit: String,
}

/// A file a commit changed: `status` `added`, `modified`, `deleted` or `renamed` (then
/// `old_path`); counts as `git show --numstat` (a binary file: 0 and 0, `binary` true).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct CommitFile {
    pub path: String,
    pub status: String,
    pub additions: u64,
    pub deletions: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_path: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub binary: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct CommitDetails {
    pub commit: String,
    pub summary: String,
    pub message: String,
    pub author: String,
    pub time: String,
    pub parents: Vec<String>,
    pub files: Vec<CommitFile>,
}

// ---------------------------------------------------------------- archiving and cleanup

/// `projects.list`: archived projects are left out unless `include_archived`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct ProjectsList {
    #[serde(default)]
    pub include_archived: Option<bool>,
}

/// `projects.cleanup_preview`: an archived project whose records `projects.cleanup` would remove.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct CleanupCandidate {
    pub project_id: String,
    pub name: String,
    pub path: String,
    pub archived_at: String,
    pub sessions: u64,
    pub messages: u64,
    pub workflows: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct ProjectsCleanup {
    pub ids: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct ProjectsCleaned {
    pub removed: Vec<String>,
}

// ---------------------------------------------------------------- backups

/// A copy of the database in `<data dir>/backups/<id>.sqlite`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct Backup {
    pub id: String,
    pub path: String,
    pub bytes: u64,
    pub time: String,
}

/// `backups.restore`'s result: the database as it was before, kept as a backup.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(optional_fields = nullable)]
pub struct BackupRestored {
    pub kept: Backup,
}
