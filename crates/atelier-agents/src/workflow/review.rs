//! Changes an agent made, as the person reviews them: a file's unified diff split into hunks,
//! and the file rebuilt with only the hunks the person accepted.
//!
//! The hunks are `similar`'s groups of changes with three lines of context — the same groups the
//! unified diff shows — so hunk `i` of the list is hunk `i` of the diff text the person read.

use std::collections::{BTreeMap, BTreeSet};

use atelier_store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use similar::{DiffOp, TextDiff};

use super::{Result, Run, WorkflowError};
use crate::plan::Plan;

/// A file the person accepted: whole (its path) or only some of its hunks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Accepted {
    Whole(String),
    Hunks { path: String, hunks: Vec<usize> },
}

impl Accepted {
    pub fn path(&self) -> &str {
        match self {
            Accepted::Whole(path) | Accepted::Hunks { path, .. } => path,
        }
    }
}

/// The person's review of a workflow's changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Decision {
    pub accept: Vec<Accepted>,
    pub reject: Vec<String>,
}

/// The files a workflow waits for the person to review, once it has announced them.
pub async fn pending_review(store: &Store, workflow_id: &str) -> Result<Option<Vec<FileChange>>, StoreError> {
    let Some(text) = store.get_step(workflow_id, "review:ready").await? else { return Ok(None) };
    if store.get_step(workflow_id, "review:decision").await?.is_some() {
        return Ok(None);
    }
    Ok(serde_json::from_str(&text).ok())
}

/// Every file of the review named exactly once, nothing else named, hunk numbers that exist.
pub(super) fn validate(files: &[FileChange], decision: &Decision) -> std::result::Result<(), String> {
    let known: BTreeMap<&str, &FileChange> = files.iter().map(|f| (f.path.as_str(), f)).collect();
    let mut named = BTreeSet::new();
    let names = decision.accept.iter().map(Accepted::path).chain(decision.reject.iter().map(String::as_str));
    for path in names {
        if !known.contains_key(path) {
            return Err(format!(
                "`{}` is not one of the files in review ({})",
                path.chars().take(200).collect::<String>(),
                known.keys().copied().collect::<Vec<_>>().join(", ")
            ));
        }
        if !named.insert(path) {
            return Err(format!("`{path}` is named twice; accept or reject each file once"));
        }
    }
    for accepted in &decision.accept {
        if let Accepted::Hunks { path, hunks } = accepted {
            let count = known[path.as_str()].hunks.len();
            if let Some(bad) = hunks.iter().find(|h| **h >= count) {
                return Err(format!(
                    "`{path}` has {count} hunks (0 to {}); there is no hunk {bad}",
                    count.max(1) - 1
                ));
            }
        }
    }
    let undecided: Vec<&str> = known.keys().copied().filter(|p| !named.contains(p)).collect();
    if !undecided.is_empty() {
        return Err(format!(
            "accept or reject every file of the review; undecided: {}",
            undecided.join(", ")
        ));
    }
    Ok(())
}

impl Run {
    /// Shows the person what the coders changed and waits for their decision; puts back what
    /// they rejected (after a checkpoint of it, so the rejection can be undone) and returns the
    /// files to commit. Each stage is recorded, so a restart during the review waits again for
    /// the same review, and one after the decision applies it without asking again.
    pub(super) async fn review(&self, plan: &Plan, written: Vec<String>) -> Result<Vec<String>> {
        let id = self.id();
        if let Some(done) = self.store().get_step(&id, "review").await? {
            let done: serde_json::Value = serde_json::from_str(&done).unwrap_or_default();
            return Ok(serde_json::from_value(done["commit"].clone()).unwrap_or_default());
        }
        let files: Vec<FileChange> = match self.store().get_step(&id, "review:ready").await? {
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| WorkflowError::Plan(format!("the recorded review: {e}")))?,
            None => {
                let files = self.changes(&written).await?;
                self.store()
                    .record_step(&id, "review:ready", serde_json::to_string(&files).unwrap_or_default())
                    .await?;
                files
            }
        };
        let unchanged: Vec<String> =
            written.iter().filter(|p| !files.iter().any(|f| &f.path == *p)).cloned().collect();
        let decision = match self.store().get_step(&id, "review:decision").await? {
            Some(text) => serde_json::from_str(&text).unwrap_or_default(),
            None if files.is_empty() => Decision::default(),
            None => {
                self.set_state("reviewing").await?;
                self.progress(0.97, "review", format!("waiting for your review of {} files", files.len()))
                    .await?;
                self.publish("review.ready", json!({ "files": files }));
                let mut waiting = self.control.review.subscribe();
                let decision = tokio::select! {
                    () = self.control.cancel.cancelled() => return Err(WorkflowError::Cancelled),
                    decided = waiting.wait_for(Option::is_some) => decided.map_err(|_| WorkflowError::Cancelled)?.clone(),
                };
                let decision = decision.unwrap_or_default();
                self.store()
                    .record_step(&id, "review:decision", serde_json::to_string(&decision).unwrap_or_default())
                    .await?;
                self.set_state("running").await?;
                decision
            }
        };
        // What goes back: whole files rejected and files with some hunks rejected.
        let mut put_back: Vec<(String, String)> = Vec::new(); // (path, new content or "" to remove)
        let mut removed: Vec<String> = Vec::new();
        let (mut accepted, mut rejected, mut partial) = (Vec::new(), Vec::new(), Vec::new());
        for file in &files {
            let choice = decision.accept.iter().find(|a| a.path() == file.path);
            match choice {
                Some(Accepted::Whole(_)) => accepted.push(file.path.clone()),
                // Every hunk named (a hunk named twice counts once) is the whole file.
                Some(Accepted::Hunks { hunks, .. })
                    if hunks.iter().collect::<BTreeSet<_>>().len() == file.hunks.len() =>
                {
                    accepted.push(file.path.clone())
                }
                Some(Accepted::Hunks { hunks, .. }) if !hunks.is_empty() && file.after.is_some() => {
                    let kept = apply_hunks(
                        file.before.as_deref().unwrap_or(""),
                        file.after.as_deref().unwrap_or(""),
                        hunks,
                    );
                    put_back.push((file.path.clone(), kept));
                    partial.push(file.path.clone());
                }
                _ => {
                    match &file.before {
                        Some(text) => put_back.push((file.path.clone(), text.clone())),
                        None => removed.push(file.path.clone()),
                    }
                    rejected.push(file.path.clone());
                }
            }
        }
        let changed: Vec<String> =
            put_back.iter().map(|(p, _)| p.clone()).chain(removed.iter().cloned()).collect();
        let undo = if changed.is_empty() {
            None
        } else {
            self.checkpoint_step(
                "checkpoint:review",
                format!("The agents' version before the review: {}", plan.summary),
                changed,
            )
            .await?;
            self.store().get_step(&id, "checkpoint:review").await?
        };
        let root = self.root.clone();
        let (writes, removes) = (put_back, removed.clone());
        tokio::task::spawn_blocking(move || -> std::result::Result<(), atelier_files::FilesError> {
            for (path, content) in &writes {
                atelier_files::write(&root, path, content)?;
            }
            for path in &removes {
                atelier_files::remove_file(&root, path)?;
            }
            Ok(())
        })
        .await
        .map_err(|e| WorkflowError::Io {
            context: "putting back rejected changes".into(),
            source: std::io::Error::other(e),
        })?
        .map_err(|e| WorkflowError::Plan(format!("putting back rejected changes: {e}")))?;
        let mut commit: Vec<String> =
            accepted.iter().chain(partial.iter()).chain(unchanged.iter()).cloned().collect();
        commit.sort();
        let done = json!({ "accepted": accepted, "partial": partial, "rejected": rejected, "undo": undo, "commit": commit });
        self.store().record_step(&id, "review", done.to_string()).await?;
        if !files.is_empty() {
            self.publish(
                "review.done",
                json!({ "accepted": accepted, "partial": partial, "rejected": rejected, "undo": undo }),
            );
        }
        Ok(commit)
    }

    /// The written files as they differ from the snapshot taken before the coders started.
    async fn changes(&self, written: &[String]) -> Result<Vec<FileChange>> {
        let id = self.id();
        let before_id = self.store().get_step(&id, "checkpoint:before").await?;
        let (root, paths) = (self.root.clone(), written.to_vec());
        tokio::task::spawn_blocking(move || -> Result<Vec<FileChange>> {
            let mut out = Vec::new();
            for path in paths {
                let before = match &before_id {
                    Some(checkpoint) => atelier_git::file_at(&root, checkpoint, &path)?,
                    None => None,
                };
                let after = match atelier_files::read(&root, &path) {
                    Ok(text) => Some(text),
                    Err(atelier_files::FilesError::NotFound { .. }) => None,
                    Err(e) => return Err(WorkflowError::Plan(format!("reading {path} for the review: {e}"))),
                };
                if before != after {
                    out.push(change(&path, before.as_deref(), after.as_deref()));
                }
            }
            Ok(out)
        })
        .await
        .map_err(|e| WorkflowError::Io {
            context: "the review's diff".into(),
            source: std::io::Error::other(e),
        })?
    }
}

/// Lines of unchanged text around each hunk, as `git diff` shows them.
const CONTEXT: usize = 3;

/// One hunk: the lines it replaces in the old file and the lines it puts in the new one
/// (1-based; a count of 0 means an insertion or removal at that place).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hunk {
    pub index: usize,
    pub old_start: usize,
    pub old_lines: usize,
    pub new_start: usize,
    pub new_lines: usize,
}

/// A changed file: its text before and after (`None`: the file did not exist), the diff, its
/// hunks and line counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileChange {
    pub path: String,
    pub diff: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub hunks: Vec<Hunk>,
    pub additions: usize,
    pub deletions: usize,
}

fn groups<'a>(diff: &TextDiff<'a, 'a, 'a, str>) -> Vec<Vec<DiffOp>> {
    diff.grouped_ops(CONTEXT)
}

/// The change from `before` to `after` of `path`.
pub fn change(path: &str, before: Option<&str>, after: Option<&str>) -> FileChange {
    let (old, new) = (before.unwrap_or(""), after.unwrap_or(""));
    let diff = TextDiff::from_lines(old, new);
    let hunks = groups(&diff)
        .iter()
        .enumerate()
        .map(|(index, ops)| {
            let (first, last) = (&ops[0], &ops[ops.len() - 1]);
            let old_range = first.old_range().start..last.old_range().end;
            let new_range = first.new_range().start..last.new_range().end;
            Hunk {
                index,
                old_start: old_range.start + 1,
                old_lines: old_range.len(),
                new_start: new_range.start + 1,
                new_lines: new_range.len(),
            }
        })
        .collect();
    let (mut additions, mut deletions) = (0, 0);
    for op in diff.ops() {
        match op {
            DiffOp::Equal { .. } => {}
            DiffOp::Delete { old_len, .. } => deletions += old_len,
            DiffOp::Insert { new_len, .. } => additions += new_len,
            DiffOp::Replace { old_len, new_len, .. } => {
                deletions += old_len;
                additions += new_len;
            }
        }
    }
    let old_name = if before.is_some() { format!("a/{path}") } else { "/dev/null".to_owned() };
    let new_name = if after.is_some() { format!("b/{path}") } else { "/dev/null".to_owned() };
    let text = diff.unified_diff().context_radius(CONTEXT).header(&old_name, &new_name).to_string();
    FileChange {
        path: path.to_owned(),
        diff: text,
        before: before.map(str::to_owned),
        after: after.map(str::to_owned),
        hunks,
        additions,
        deletions,
    }
}

/// `before` with only the `accepted` hunks of the change to `after` applied (indices as
/// [`change`] numbers them; unknown indices are ignored).
pub fn apply_hunks(before: &str, after: &str, accepted: &[usize]) -> String {
    let diff = TextDiff::from_lines(before, after);
    let old: Vec<&str> = diff.old_slices().to_vec();
    let new: Vec<&str> = diff.new_slices().to_vec();
    // Which hunk each change belongs to: a change op is in exactly one group.
    let mut taken: Vec<(std::ops::Range<usize>, bool)> = Vec::new();
    for (index, ops) in groups(&diff).iter().enumerate() {
        for op in ops {
            if !matches!(op, DiffOp::Equal { .. }) {
                taken.push((op.old_range(), accepted.contains(&index)));
            }
        }
    }
    let mut out = String::with_capacity(after.len().max(before.len()));
    for op in diff.ops() {
        match op {
            DiffOp::Equal { old_index, len, .. } => {
                out.extend(old[*old_index..old_index + len].iter().copied());
            }
            _ => {
                let accept = taken.iter().any(|(range, yes)| *yes && *range == op.old_range());
                if accept {
                    out.extend(new[op.new_range()].iter().copied());
                } else {
                    out.extend(old[op.old_range()].iter().copied());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(n: usize) -> String {
        (1..=n).map(|i| format!("line {i}\n")).collect()
    }

    #[test]
    fn two_far_apart_edits_are_two_hunks_and_each_can_be_kept_alone() {
        let before = lines(40);
        let after = before.replace("line 3\n", "line three\n").replace("line 30\n", "line thirty\n");
        let change = change("a.txt", Some(&before), Some(&after));
        assert_eq!(change.hunks.len(), 2);
        assert_eq!((change.hunks[0].old_start, change.hunks[0].old_lines), (1, 6));
        assert_eq!((change.additions, change.deletions), (2, 2));
        assert!(change.diff.starts_with("--- a/a.txt\n+++ b/a.txt\n@@ -1,6 +1,6 @@"), "{}", change.diff);
        let first = apply_hunks(&before, &after, &[0]);
        assert!(first.contains("line three\n") && first.contains("line 30\n"));
        let second = apply_hunks(&before, &after, &[1]);
        assert!(second.contains("line 3\n") && second.contains("line thirty\n"));
        assert_eq!(apply_hunks(&before, &after, &[0, 1]), after);
        assert_eq!(apply_hunks(&before, &after, &[]), before);
    }

    #[test]
    fn a_new_file_is_one_hunk_from_dev_null() {
        let change = change("new.rs", None, Some("fn main() {}\n"));
        assert_eq!(change.hunks.len(), 1);
        assert!(change.diff.starts_with("--- /dev/null\n+++ b/new.rs\n"), "{}", change.diff);
        assert_eq!((change.additions, change.deletions), (1, 0));
    }

    #[test]
    fn a_hunk_with_several_changes_close_together_goes_whole() {
        let before = lines(10);
        let after = before.replace("line 4\n", "four\n").replace("line 6\n", "six\n");
        let change = change("a", Some(&before), Some(&after));
        assert_eq!(change.hunks.len(), 1);
        assert_eq!(apply_hunks(&before, &after, &[0]), after);
        assert_eq!(apply_hunks(&before, &after, &[1]), before);
    }
}
