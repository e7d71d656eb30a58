//! The file tree's operations (`files.create`, `files.rename`, `files.delete`), find and
//! replace in files (`files.search`, `files.replace`) and a commit's details
//! (`git.commit_details`). Renames, deletes and replaces take a checkpoint of what they change
//! first and return it as `undo`, as `git.discard` does: `checkpoints.restore` puts it back.

use atelier_files::SearchOptions;
use atelier_git::{CHECKPOINT_MAX_FILE, GitError};
use atelier_protocol::{
    CommitDetails, CommitFile, FileMatch, FilesFound, FilesRenamed, FilesReplace, FilesReplaced, FilesSearch,
    ReplacedFile, topics,
};

use crate::App;
use crate::error::{CoreError, CoreResult};
use crate::git::{checkpoint_to_api, time_text};

/// The most matching lines `files.search` returns.
const MAX_SEARCH_LIMIT: u32 = 10_000;

impl App {
    /// Tells the editor, the code index and the Git panel that `paths` changed (the watcher
    /// says so too when someone watches; this covers the window before it notices).
    fn announce_files(&self, project_id: &str, paths: Vec<String>) {
        self.index_paths_changed(project_id, paths.clone());
        self.bus().publish(
            &topics::project(project_id),
            "files.changed",
            serde_json::json!({ "paths": paths }),
        );
        self.git_changed(project_id);
    }

    /// `files.create`: a new file (with `content`) or folder; `conflict` when the path is taken.
    pub async fn files_create(
        &self,
        project_id: &str,
        path: String,
        kind: &str,
        content: Option<String>,
    ) -> CoreResult<()> {
        let path = atelier_files::clean(&path)?;
        let created = path.clone();
        match kind {
            "file" => {
                let content = content.unwrap_or_default();
                if content.len() as u64 > atelier_files::MAX_READ_BYTES {
                    return Err(CoreError::InvalidInput(format!(
                        "the content is over {} bytes",
                        atelier_files::MAX_READ_BYTES
                    )));
                }
                self.in_project(project_id, move |root| atelier_files::create_file(root, &path, &content))
                    .await?;
            }
            "dir" => {
                if content.is_some() {
                    return Err(CoreError::InvalidInput(
                        "a folder has no content; leave `content` out".into(),
                    ));
                }
                self.in_project(project_id, move |root| atelier_files::create_dir(root, &path)).await?;
            }
            other => {
                return Err(CoreError::InvalidInput(format!(
                    "kind is `file` or `dir`, not `{}`",
                    other.chars().take(40).collect::<String>()
                )));
            }
        }
        self.announce_files(project_id, vec![created]);
        Ok(())
    }

    /// `files.rename`: a file or a folder to a new path (its folders created); `conflict` when
    /// something is at `to`. The checkpoint holds the files at both paths, so restoring it
    /// moves them back (files over 10 MiB stay where they were moved).
    pub async fn files_rename(&self, project_id: &str, from: String, to: String) -> CoreResult<FilesRenamed> {
        let (from, to) = (atelier_files::clean(&from)?, atelier_files::clean(&to)?);
        let (shown_from, shown_to) = (from.clone(), to.clone());
        let (checkpoint, moved) = self
            .in_repo(project_id, move |root| {
                let files = atelier_files::files_under(root, &from)?;
                // Checked before the checkpoint too, so a refused rename leaves none behind.
                if !from.eq_ignore_ascii_case(&to) {
                    match atelier_files::files_under(root, &to) {
                        Ok(_) => return Err(atelier_files::FilesError::Exists { path: to }.into()),
                        Err(atelier_files::FilesError::NotFound { .. }) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                let mut paths = Vec::new();
                let mut moved = Vec::new();
                for (path, size) in files {
                    let target = format!("{to}{}", path.get(from.len()..).unwrap_or_default());
                    if size <= CHECKPOINT_MAX_FILE {
                        paths.push(path.clone());
                        paths.push(target.clone());
                    }
                    moved.push(path);
                    moved.push(target);
                }
                let label = format!("Before renaming {from} to {to}");
                let checkpoint = atelier_git::checkpoint_create(root, &label, &paths)?;
                atelier_files::rename(root, &from, &to)?;
                Ok::<_, GitError>((checkpoint, moved))
            })
            .await?;
        let mut announced = vec![shown_from, shown_to];
        announced.extend(moved);
        self.announce_files(project_id, announced);
        Ok(FilesRenamed { undo: checkpoint_to_api(checkpoint) })
    }

    /// `files.delete`: a file or a folder with everything in it, after a checkpoint of its
    /// files. `skipped` lists the files over 10 MiB the checkpoint could not keep.
    pub async fn files_delete(
        &self,
        project_id: &str,
        path: String,
    ) -> CoreResult<atelier_protocol::FilesDeleted> {
        let path = atelier_files::clean(&path)?;
        let shown = path.clone();
        let (checkpoint, removed, skipped) = self
            .in_repo(project_id, move |root| {
                let files = atelier_files::files_under(root, &path)?;
                let (kept, skipped): (Vec<_>, Vec<_>) =
                    files.into_iter().partition(|(_, size)| *size <= CHECKPOINT_MAX_FILE);
                let kept: Vec<String> = kept.into_iter().map(|(p, _)| p).collect();
                let skipped: Vec<String> = skipped.into_iter().map(|(p, _)| p).collect();
                let checkpoint =
                    atelier_git::checkpoint_create(root, &format!("Before deleting {path}"), &kept)?;
                atelier_files::remove(root, &path)?;
                Ok::<_, GitError>((checkpoint, kept, skipped))
            })
            .await?;
        let mut announced = vec![shown];
        announced.extend(removed);
        announced.extend(skipped.iter().cloned());
        self.announce_files(project_id, announced);
        Ok(atelier_protocol::FilesDeleted { undo: checkpoint_to_api(checkpoint), skipped })
    }

    /// `files.search`: find in files with ripgrep's crates (`.gitignore` honoured).
    pub async fn files_search(&self, p: FilesSearch) -> CoreResult<FilesFound> {
        let options = search_options(p.regex, p.case_sensitive, p.glob.as_deref(), p.limit)?;
        let query = p.query;
        let found =
            self.in_project(&p.project_id, move |root| atelier_files::search(root, &query, &options)).await?;
        Ok(FilesFound {
            matches: found
                .matches
                .into_iter()
                .map(|m| FileMatch { path: m.path, line: m.line, column: m.column, text: m.text })
                .collect(),
            truncated: found.truncated,
            files_searched: found.files_searched as u64,
        })
    }

    /// `files.replace`: what a replace changes (each file with a diff); unless `preview`, the
    /// files are written after a checkpoint of them, returned as `undo`.
    pub async fn files_replace(&self, p: FilesReplace) -> CoreResult<FilesReplaced> {
        let options = search_options(p.regex, p.case_sensitive, p.glob.as_deref(), None)?;
        let only = match p.paths {
            Some(paths) => {
                Some(paths.iter().map(|path| atelier_files::clean(path)).collect::<Result<Vec<_>, _>>()?)
            }
            None => None,
        };
        let preview = p.preview.unwrap_or(false);
        let (query, replacement) = (p.query, p.replacement);
        let (files, undo) = self
            .in_repo(&p.project_id, move |root| {
                let planned =
                    atelier_files::plan_replace(root, &query, &replacement, &options, only.as_deref())?;
                if preview || planned.is_empty() {
                    return Ok::<_, GitError>((planned, None));
                }
                let paths: Vec<String> = planned.iter().map(|f| f.path.clone()).collect();
                let label = match paths.as_slice() {
                    [one] => format!("Before replacing “{query}” in {one}"),
                    _ => format!("Before replacing “{query}” in {} files", paths.len()),
                };
                let checkpoint = atelier_git::checkpoint_create(root, &label, &paths)?;
                for file in &planned {
                    atelier_files::write(root, &file.path, &file.after)?;
                }
                Ok((planned, Some(checkpoint)))
            })
            .await?;
        if undo.is_some() {
            self.announce_files(&p.project_id, files.iter().map(|f| f.path.clone()).collect());
        }
        Ok(FilesReplaced {
            files: files
                .into_iter()
                .map(|f| ReplacedFile { path: f.path, replacements: f.replacements as u64, diff: f.diff })
                .collect(),
            undo: undo.map(checkpoint_to_api),
        })
    }

    /// `git.commit_details`: a commit with the files it changed against its first parent.
    pub async fn git_commit_details(&self, project_id: &str, commit: String) -> CoreResult<CommitDetails> {
        if commit.contains('\0') || commit.trim().is_empty() || commit.len() > 256 {
            return Err(CoreError::InvalidInput("name a commit (at most 256 characters)".into()));
        }
        let details =
            self.in_repo(project_id, move |root| atelier_git::commit_details(root, &commit)).await?;
        Ok(CommitDetails {
            commit: details.commit,
            summary: details.summary,
            message: details.message,
            author: details.author,
            time: time_text(details.time),
            parents: details.parents,
            files: details
                .files
                .into_iter()
                .map(|f| CommitFile {
                    path: f.path,
                    status: f.status.to_owned(),
                    additions: f.additions as u64,
                    deletions: f.deletions as u64,
                    old_path: f.old_path,
                    binary: f.binary,
                })
                .collect(),
        })
    }
}

/// Globs separated by commas, except commas inside braces (`*.{rs,toml}` is one glob).
fn split_globs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current);
    out.into_iter().map(|g| g.trim().to_owned()).filter(|g| !g.is_empty()).collect()
}

/// Search options from the API's params: `glob` may list several, separated by commas.
fn search_options(
    regex: Option<bool>,
    case_sensitive: Option<bool>,
    glob: Option<&str>,
    limit: Option<u32>,
) -> CoreResult<SearchOptions> {
    let globs = split_globs(glob.unwrap_or_default());
    if globs.len() > 50 || globs.iter().any(|g| g.len() > 500) {
        return Err(CoreError::InvalidInput("at most 50 globs of at most 500 characters each".into()));
    }
    Ok(SearchOptions {
        regex: regex.unwrap_or(false),
        case_sensitive,
        globs,
        limit: limit.unwrap_or(1000).clamp(1, MAX_SEARCH_LIMIT) as usize,
        ..SearchOptions::default()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn globs_split_at_commas_outside_braces() {
        assert_eq!(
            super::split_globs("*.rs, src/**,!*.{min,map}.js,"),
            vec!["*.rs", "src/**", "!*.{min,map}.js"]
        );
        assert!(super::split_globs(" , ").is_empty());
    }
}
