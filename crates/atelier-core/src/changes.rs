//! The "Changes" under a chat: files a chat's agent changed that the person has not kept or
//! undone yet, each with its diff against the file as it was before the chat's first edit.

use std::path::{Path, PathBuf};

use atelier_protocol::{Checkpoint, SessionChange, SessionChangesEvent, event_types as ev, to_value, topics};

use crate::App;
use crate::error::{CoreError, CoreResult};

/// The change of `path` since checkpoint `checkpoint` (its text there, or absent) to now.
fn change_of(root: &Path, path: &str, checkpoint: &str) -> CoreResult<SessionChange> {
    let before = atelier_git::file_at(root, checkpoint, path)?;
    let after = match atelier_files::read(root, path) {
        Ok(text) => Some(text),
        Err(atelier_files::FilesError::NotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let change = atelier_agents::change(path, before.as_deref(), after.as_deref());
    Ok(SessionChange {
        path: path.to_owned(),
        checkpoint_id: checkpoint.to_owned(),
        additions: change.additions as u32,
        deletions: change.deletions as u32,
        diff: change.diff,
    })
}

impl App {
    async fn session_root(&self, session_id: &str) -> CoreResult<PathBuf> {
        let session = self.store().get_session(session_id).await?;
        let Some(project_id) = session.project_id else {
            return Err(CoreError::InvalidInput(format!("session {session_id} is not in a project")));
        };
        Ok(PathBuf::from(self.store().get_project(&project_id).await?.path))
    }

    /// The files the session's agent changed and nobody has kept or undone, with their diffs.
    /// A file that is back as it was (the person undid it by hand) drops off the list.
    pub async fn session_changes(&self, session_id: &str) -> CoreResult<Vec<SessionChange>> {
        let rows = self.store().session_changes(session_id).await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let root = self.session_root(session_id).await?;
        let changes = tokio::task::spawn_blocking(move || {
            rows.iter().map(|(path, checkpoint)| change_of(&root, path, checkpoint)).collect::<Vec<_>>()
        })
        .await
        .map_err(|e| CoreError::Internal(format!("the changes task: {e}")))?;
        let mut out = Vec::new();
        for change in changes {
            match change {
                Ok(change) if change.additions + change.deletions > 0 => out.push(change),
                Ok(_) => {}
                // A checkpoint that is gone (the repository was re-created): nothing to show.
                Err(e) => tracing::debug!(error = %e, "a chat change that cannot be shown"),
            }
        }
        Ok(out)
    }

    /// Announces the session's changes on its topic (`session.changes`).
    pub(crate) async fn publish_session_changes(&self, session_id: &str) {
        match self.session_changes(session_id).await {
            Ok(files) => {
                self.bus().publish(
                    &topics::session(session_id),
                    ev::SESSION_CHANGES,
                    to_value(&SessionChangesEvent { files }),
                );
            }
            Err(e) => tracing::warn!(error = %e, "listing a chat's changes"),
        }
    }

    fn check_changed(listed: &[(String, String)], paths: &Option<Vec<String>>) -> CoreResult<()> {
        if let Some(paths) = paths
            && let Some(unknown) = paths.iter().find(|p| !listed.iter().any(|(l, _)| l == *p))
        {
            return Err(CoreError::InvalidInput(format!(
                "`{}` is not among this chat's changes",
                unknown.chars().take(200).collect::<String>()
            )));
        }
        Ok(())
    }

    /// Keeps the listed changes (all when `paths` is `None`): they leave the list as they are.
    pub async fn keep_session_changes(&self, session_id: &str, paths: Option<Vec<String>>) -> CoreResult<()> {
        let listed = self.store().session_changes(session_id).await?;
        Self::check_changed(&listed, &paths)?;
        self.store().remove_session_changes(session_id, paths).await?;
        self.publish_session_changes(session_id).await;
        Ok(())
    }

    /// Puts the listed files (all when `paths` is `None`) back as they were before the chat's
    /// first edit of each; a checkpoint of them as they are now comes first, so this is undoable.
    pub async fn revert_session_changes(
        &self,
        session_id: &str,
        paths: Option<Vec<String>>,
    ) -> CoreResult<Checkpoint> {
        let listed = self.store().session_changes(session_id).await?;
        Self::check_changed(&listed, &paths)?;
        let chosen: Vec<(String, String)> = listed
            .into_iter()
            .filter(|(path, _)| paths.as_ref().is_none_or(|paths| paths.contains(path)))
            .collect();
        if chosen.is_empty() {
            return Err(CoreError::InvalidInput("this chat has no changes to undo".into()));
        }
        let root = self.session_root(session_id).await?;
        let files = chosen.clone();
        let undo = tokio::task::spawn_blocking(move || -> CoreResult<atelier_git::Checkpoint> {
            let paths: Vec<String> = files.iter().map(|(p, _)| p.clone()).collect();
            let label = match paths.as_slice() {
                [one] => format!("before undoing the agent's change to {one}"),
                _ => format!("before undoing the agent's changes to {} files", paths.len()),
            };
            let undo = atelier_git::checkpoint_create(&root, &label, &paths)?;
            for (path, checkpoint) in &files {
                match atelier_git::file_at(&root, checkpoint, path)? {
                    Some(text) => atelier_files::write(&root, path, &text)?,
                    None => {
                        atelier_files::remove_file(&root, path)?;
                    }
                }
            }
            Ok(undo)
        })
        .await
        .map_err(|e| CoreError::Internal(format!("the undo task: {e}")))??;
        let paths: Vec<String> = chosen.into_iter().map(|(p, _)| p).collect();
        self.store().remove_session_changes(session_id, Some(paths.clone())).await?;
        if let Some(project_id) = self.store().get_session(session_id).await?.project_id {
            self.bus().publish(
                &topics::project(&project_id),
                "files.changed",
                serde_json::json!({ "paths": paths }),
            );
        }
        self.publish_session_changes(session_id).await;
        Ok(crate::git::checkpoint_to_api(undo))
    }
}
