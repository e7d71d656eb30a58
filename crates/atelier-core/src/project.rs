//! Projects: a named folder with a git repository. New projects go under the data folder's
//! `projects/` unless a path is given.

use std::path::{Path, PathBuf};

use atelier_protocol::{Project, event_types as ev, to_value, topics};
use atelier_store::{ProjectRow, ProjectTimes, new_id, now};

use crate::App;
use crate::error::{CoreError, CoreResult};

fn project_to_api(row: ProjectRow) -> Project {
    Project {
        id: row.id,
        name: row.name,
        path: row.path,
        created_at: row.created_at,
        archived_at: None,
        opened_at: None,
    }
}

/// The project with when it was archived and last opened.
pub(crate) fn with_times(row: ProjectRow, times: Option<ProjectTimes>) -> Project {
    let times = times.unwrap_or_default();
    Project { archived_at: times.archived_at, opened_at: times.opened_at, ..project_to_api(row) }
}

/// A folder name from a project name: letters, digits, `-` and `_`; other runs become `-`.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if c.is_alphanumeric() || c == '_' || c == '-' {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_owned();
    if out.is_empty() { "project".to_owned() } else { out }
}

fn validate_name(name: &str) -> CoreResult<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(CoreError::InvalidInput("the project name is empty".into()));
    }
    if name.chars().count() > 100 {
        return Err(CoreError::InvalidInput("the project name is longer than 100 characters".into()));
    }
    if name.chars().any(char::is_control) {
        return Err(CoreError::InvalidInput("the project name contains control characters".into()));
    }
    Ok(name.to_owned())
}

fn is_empty_dir(path: &Path) -> std::io::Result<bool> {
    Ok(std::fs::read_dir(path)?.next().is_none())
}

/// Projects created or imported per minute, over all clients (bursts of this many): far more
/// than a person makes, few enough that a script cannot fill the disk with repositories or
/// open shells in endless new projects.
pub(crate) const PROJECTS_PER_MINUTE: u32 = 30;

impl App {
    fn count_new_project(&self) -> CoreResult<()> {
        self.inner.new_projects.check().map_err(|_| {
            CoreError::RateLimited(format!(
                "at most {PROJECTS_PER_MINUTE} projects can be created or imported a minute; try again shortly"
            ))
        })
    }

    pub async fn create_project(&self, name: &str, path: Option<String>) -> CoreResult<Project> {
        let name = validate_name(name)?;
        self.count_new_project()?;
        let path = match path {
            Some(p) if p.trim().is_empty() => {
                return Err(CoreError::InvalidInput("the project path is empty".into()));
            }
            Some(p) => {
                let p = PathBuf::from(p);
                if !p.is_absolute() {
                    return Err(CoreError::InvalidInput(format!(
                        "the project path `{}` must be absolute",
                        p.display()
                    )));
                }
                p
            }
            None => self.free_project_dir(&slug(&name)),
        };
        let row = ProjectRow {
            id: new_id("prj"),
            name,
            path: path.to_string_lossy().into_owned(),
            created_at: now(),
        };
        let dir = path.clone();
        tokio::task::spawn_blocking(move || -> CoreResult<()> {
            if dir.exists()
                && !is_empty_dir(&dir).map_err(|e| CoreError::io(format!("reading {}", dir.display()), e))?
            {
                return Err(CoreError::Conflict(format!(
                    "{} already exists and is not empty; import it instead (projects.import)",
                    dir.display()
                )));
            }
            std::fs::create_dir_all(&dir)
                .map_err(|e| CoreError::io(format!("creating {}", dir.display()), e))?;
            atelier_git::ensure_repository(&dir)?;
            Ok(())
        })
        .await
        .map_err(|e| CoreError::Internal(format!("project folder task failed: {e}")))??;
        self.store().insert_project(row.clone()).await?;
        let project = project_to_api(row);
        self.bus().publish(&topics::project(&project.id), ev::PROJECT_CREATED, to_value(&project));
        self.start_index(&project.id);
        Ok(project)
    }

    /// Adopts an existing folder as a project (creating a git repository when it has none). A
    /// folder that already is a project is returned as it is. With `copy`, the folder is copied
    /// into the data folder first (progress as `project.import_progress` on `system`) and the
    /// copy becomes the project; the original is only read.
    pub async fn import_project(&self, path: &str, name: Option<String>, copy: bool) -> CoreResult<Project> {
        self.count_new_project()?;
        let dir = PathBuf::from(path.trim());
        if !dir.is_absolute() {
            return Err(CoreError::InvalidInput(format!("the path `{}` must be absolute", dir.display())));
        }
        let canonical = tokio::fs::canonicalize(&dir)
            .await
            .map_err(|e| CoreError::InvalidInput(format!("cannot open {}: {e}", dir.display())))?;
        if !canonical.is_dir() {
            return Err(CoreError::InvalidInput(format!("{} is not a folder", canonical.display())));
        }
        let default_name = canonical
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "project".into());
        let name = validate_name(&name.unwrap_or(default_name))?;
        let canonical = if copy { self.copy_into_data_dir(canonical, &name).await? } else { canonical };
        let path_text = canonical.to_string_lossy().into_owned();
        if let Some(existing) = self.store().list_projects().await?.into_iter().find(|p| p.path == path_text)
        {
            return Ok(project_to_api(existing));
        }
        let repo = canonical.clone();
        tokio::task::spawn_blocking(move || atelier_git::ensure_repository(&repo))
            .await
            .map_err(|e| CoreError::Internal(format!("import task failed: {e}")))??;
        let row = ProjectRow { id: new_id("prj"), name, path: path_text, created_at: now() };
        self.store().insert_project(row.clone()).await?;
        let project = project_to_api(row);
        self.bus().publish(&topics::project(&project.id), ev::PROJECT_CREATED, to_value(&project));
        self.start_index(&project.id);
        Ok(project)
    }

    /// Copies `from` to a new folder under `projects/`, announcing progress on `system`.
    async fn copy_into_data_dir(&self, from: PathBuf, name: &str) -> CoreResult<PathBuf> {
        let to = self.free_project_dir(&slug(name));
        if to.starts_with(&from) {
            return Err(CoreError::InvalidInput(format!(
                "{} holds Atelier's data folder; it cannot be copied into itself",
                from.display()
            )));
        }
        let bus = self.bus().clone();
        let (source, target) = (from.clone(), to.clone());
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(target.parent().unwrap_or(&target))
                .map_err(|e| CoreError::io(format!("creating {}", target.display()), e))?;
            let path = source.to_string_lossy().into_owned();
            atelier_files::copy_tree(&source, &target, |p| {
                bus.publish(
                    topics::SYSTEM,
                    ev::PROJECT_IMPORT_PROGRESS,
                    serde_json::json!({
                        "path": path, "files_done": p.files_done, "files_total": p.files_total,
                        "bytes_done": p.bytes_done, "bytes_total": p.bytes_total,
                    }),
                );
            })
            .map_err(|e| CoreError::InvalidInput(format!("copying {} failed: {e}", source.display())))
        })
        .await
        .map_err(|e| CoreError::Internal(format!("copy task failed: {e}")))??;
        Ok(to)
    }

    /// A folder under `projects/` named after the project that does not exist yet.
    fn free_project_dir(&self, slug: &str) -> PathBuf {
        let base = self.data_dir().join("projects");
        let mut candidate = base.join(slug);
        let mut n = 2;
        while candidate.exists() {
            candidate = base.join(format!("{slug}-{n}"));
            n += 1;
        }
        candidate
    }

    /// The projects by name; archived ones only with `include_archived`.
    pub async fn list_projects(&self, include_archived: bool) -> CoreResult<Vec<Project>> {
        let mut times = self.store().project_times().await?;
        Ok(self
            .store()
            .list_projects()
            .await?
            .into_iter()
            .map(|row| {
                let t = times.remove(&row.id);
                with_times(row, t)
            })
            .filter(|p| include_archived || p.archived_at.is_none())
            .collect())
    }

    /// A project, now counted as opened (what `archive_after_days` measures from).
    pub async fn get_project(&self, id: &str) -> CoreResult<Project> {
        let row = self.store().get_project(id).await?;
        self.store().set_project_opened(id, now()).await?;
        let times = self.store().project_time(id).await?;
        Ok(with_times(row, Some(times)))
    }

    /// Forgets a project (and its chats); with `delete_files`, also removes its folder.
    pub async fn delete_project(&self, id: &str, delete_files: bool) -> CoreResult<()> {
        let project = self.store().get_project(id).await?;
        let path = PathBuf::from(&project.path);
        if delete_files && self.data_dir().starts_with(&path) {
            return Err(CoreError::InvalidInput(format!(
                "refusing to delete {}: it contains Atelier's data folder",
                path.display()
            )));
        }
        self.store().delete_project(id).await?;
        self.inner.terminals.close_owned_by(Some(id));
        self.watchers().remove(id);
        self.drop_index(id).await;
        if delete_files && path.exists() {
            let dir = path.clone();
            tokio::task::spawn_blocking(move || std::fs::remove_dir_all(&dir))
                .await
                .map_err(|e| CoreError::Internal(format!("delete task failed: {e}")))?
                .map_err(|e| CoreError::io(format!("deleting {}", path.display()), e))?;
        }
        self.bus().publish(&topics::project(id), ev::PROJECT_DELETED, serde_json::json!({ "id": id }));
        Ok(())
    }
}

impl From<atelier_files::FilesError> for CoreError {
    fn from(e: atelier_files::FilesError) -> Self {
        use atelier_files::FilesError as F;
        match e {
            F::NotFound { path } => CoreError::NotFound { what: "file", id: path },
            F::Exists { path } => {
                CoreError::Conflict(format!("`{path}` already exists; choose another name"))
            }
            F::Io { path, source } => {
                use std::io::ErrorKind as K;
                let message = format!("`{path}`: {source}");
                match source.kind() {
                    K::NotFound => CoreError::NotFound { what: "file", id: path },
                    // What the path asks for cannot be: a file where a folder is needed, a
                    // name the file system refuses.
                    K::NotADirectory
                    | K::IsADirectory
                    | K::AlreadyExists
                    | K::InvalidFilename
                    | K::InvalidInput
                    | K::DirectoryNotEmpty => CoreError::InvalidInput(message),
                    K::PermissionDenied | K::ReadOnlyFilesystem => CoreError::Conflict(message),
                    K::StorageFull | K::QuotaExceeded => {
                        CoreError::Unavailable(format!("{message}; free some disk space and try again"))
                    }
                    _ => CoreError::Internal(message),
                }
            }
            other => CoreError::InvalidInput(other.to_string()),
        }
    }
}

impl App {
    /// Runs a blocking file operation in the project's folder.
    pub(crate) async fn in_project<T: Send + 'static>(
        &self,
        project_id: &str,
        f: impl FnOnce(&Path) -> Result<T, atelier_files::FilesError> + Send + 'static,
    ) -> CoreResult<T> {
        let root = PathBuf::from(self.store().get_project(project_id).await?.path);
        tokio::task::spawn_blocking(move || f(&root))
            .await
            .map_err(|e| CoreError::Internal(format!("file task failed: {e}")))?
            .map_err(CoreError::from)
    }

    pub async fn files_tree(
        &self,
        project_id: &str,
        path: Option<String>,
    ) -> CoreResult<Vec<atelier_protocol::FileEntry>> {
        let path = path.unwrap_or_default();
        let entries = self.in_project(project_id, move |root| atelier_files::tree(root, &path)).await?;
        Ok(entries
            .into_iter()
            .map(|e| atelier_protocol::FileEntry {
                path: e.path,
                kind: if e.is_dir { "dir" } else { "file" }.to_owned(),
                size: e.size,
                non_utf8_name: e.non_utf8_name.then_some(true),
            })
            .collect())
    }

    pub async fn files_read(&self, project_id: &str, path: String) -> CoreResult<String> {
        self.in_project(project_id, move |root| atelier_files::read(root, &path)).await
    }

    pub async fn files_write(&self, project_id: &str, path: String, content: String) -> CoreResult<()> {
        let written = path.clone();
        self.in_project(project_id, move |root| atelier_files::write(root, &path, &content)).await?;
        self.index_paths_changed(project_id, vec![written.clone()]);
        self.bus().publish(
            &topics::project(project_id),
            "files.changed",
            serde_json::json!({ "paths": [written] }),
        );
        Ok(())
    }
}

impl App {
    /// The project as a zip archive in an anonymous temporary file (gone when closed), ready to
    /// be streamed from its start. Returns the file and a download name.
    pub async fn export_project(
        &self,
        project_id: &str,
        include_ignored: bool,
    ) -> CoreResult<(std::fs::File, String)> {
        let project = self.store().get_project(project_id).await?;
        let root = PathBuf::from(&project.path);
        let name = format!("{}.zip", slug(&project.name));
        let file = tokio::task::spawn_blocking(move || -> CoreResult<std::fs::File> {
            use std::io::{Seek, SeekFrom};
            let mut file = tempfile::tempfile().map_err(|e| CoreError::io("creating a temporary file", e))?;
            atelier_files::export_zip(&root, &mut file, include_ignored)?;
            file.seek(SeekFrom::Start(0)).map_err(|e| CoreError::io("rewinding the archive", e))?;
            Ok(file)
        })
        .await
        .map_err(|e| CoreError::Internal(format!("export task failed: {e}")))??;
        Ok((file, name))
    }

    /// Writes the project's zip archive to `dest` (an absolute path in an existing folder): the
    /// desktop app's "Export…" and scripts. The archive is built beside `dest` and moved into
    /// place only when complete, so a failure leaves an existing file as it was.
    pub async fn export_project_to(
        &self,
        project_id: &str,
        dest: &str,
        include_ignored: bool,
    ) -> CoreResult<atelier_protocol::ProjectExported> {
        let dest = PathBuf::from(dest.trim());
        if !dest.is_absolute() {
            return Err(CoreError::InvalidInput(format!("the path `{}` must be absolute", dest.display())));
        }
        let folder = match dest.parent() {
            Some(folder) if folder.is_dir() => folder.to_path_buf(),
            _ => {
                return Err(CoreError::InvalidInput(format!(
                    "cannot write {}: its folder does not exist",
                    dest.display()
                )));
            }
        };
        if dest.is_dir() {
            return Err(CoreError::InvalidInput(format!("{} is a folder; name a file", dest.display())));
        }
        let project = self.store().get_project(project_id).await?;
        let root = PathBuf::from(&project.path);
        tokio::task::spawn_blocking(move || -> CoreResult<atelier_protocol::ProjectExported> {
            let mut file = tempfile::NamedTempFile::new_in(&folder)
                .map_err(|e| CoreError::io(format!("writing in {}", folder.display()), e))?;
            atelier_files::export_zip(&root, file.as_file_mut(), include_ignored)?;
            let bytes = file.as_file().metadata().map_err(|e| CoreError::io("reading the archive", e))?.len();
            file.persist(&dest).map_err(|e| CoreError::io(format!("writing {}", dest.display()), e.error))?;
            Ok(atelier_protocol::ProjectExported { path: dest.display().to_string(), bytes })
        })
        .await
        .map_err(|e| CoreError::Internal(format!("export task failed: {e}")))?
    }
}

impl App {
    fn watchers(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, atelier_files::Watcher>> {
        self.inner.watchers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts watching a project's folder for outside edits (once), announcing them as
    /// `files.changed` and `git.changed` on `project/<id>`.
    pub(crate) async fn watch_project(&self, project_id: &str) {
        if self.watchers().contains_key(project_id) {
            return;
        }
        let Ok(project) = self.store().get_project(project_id).await else { return };
        self.start_index(project_id);
        let bus = self.bus().clone();
        let topic = topics::project(project_id);
        let root = PathBuf::from(project.path);
        let indexes = self.indexes().clone();
        let id = project_id.to_owned();
        let watched = tokio::task::spawn_blocking(move || {
            atelier_files::watch(&root, move |paths| {
                indexes.paths_changed(&id, paths.clone());
                bus.publish(&topic, "files.changed", serde_json::json!({ "paths": paths }));
                bus.publish(&topic, "git.changed", serde_json::json!({}));
            })
        })
        .await;
        match watched {
            Ok(Ok(watcher)) => {
                if let Some(message) = watcher.incomplete() {
                    tracing::warn!(project = project_id, "{message}");
                    self.bus().publish(
                        topics::SYSTEM,
                        ev::NOTIFICATION,
                        to_value(&atelier_protocol::Notification { level: "warning".into(), message }),
                    );
                }
                self.watchers().insert(project_id.to_owned(), watcher);
            }
            Ok(Err(e)) => tracing::warn!(project = project_id, error = %e, "cannot watch the project folder"),
            Err(e) => tracing::warn!(project = project_id, error = %e, "watch task failed"),
        }
    }

    pub(crate) fn watchers_remove(&self, project_id: &str) {
        self.watchers().remove(project_id);
    }

    /// The projects someone has open (watched) right now.
    pub(crate) fn watched_projects(&self) -> Vec<String> {
        self.watchers().keys().cloned().collect()
    }

    /// Stops the watches nobody listens to any more.
    pub(crate) fn prune_watches(&self) {
        let bus = self.bus().clone();
        self.watchers().retain(|id, _| bus.has_subscribers(&topics::project(id)));
    }
}

#[cfg(test)]
mod tests {
    use super::slug;

    #[test]
    fn slugs_are_safe_folder_names() {
        assert_eq!(slug("My App"), "my-app");
        assert_eq!(slug("  ../../etc  "), "etc");
        assert_eq!(slug("///"), "project");
        assert_eq!(slug("Ünïcode ok"), "ünïcode-ok");
    }
}
