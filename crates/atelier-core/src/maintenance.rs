//! Keeping Atelier's own data tidy: archiving projects nobody opened for a while
//! (`archive_after_days`), offering to clean up the records of long-archived ones
//! (`cleanup_after_days`), and backups of the database (`backups.*`, daily by default). One
//! background task does the scheduled parts, at start-up and then once an hour checks what is
//! due. The age logic takes `now` as a parameter, so it is tested with a simulated clock.

use std::path::{Path, PathBuf};
use std::time::Duration;

use atelier_protocol::{
    Backup, CleanupCandidate, Notification, Project, event_types as ev, to_value, topics,
};
use chrono::{DateTime, SecondsFormat, Utc};

use crate::error::{CoreError, CoreResult};
use crate::{App, CoreError as E};

/// Default of `archive_after_days`.
pub const ARCHIVE_AFTER_DAYS: u32 = 30;
/// Default of `backups.keep`.
pub const BACKUPS_KEEP: usize = 7;
/// How often the background task looks at what is due.
const CHECK_EVERY: Duration = Duration::from_secs(60 * 60);
/// The first daily backup waits this long after start-up, so starting is not slowed by one.
const FIRST_BACKUP_AFTER: Duration = Duration::from_secs(10 * 60);
/// Pause between backup steps: the disk is shared with the writer.
const BACKUP_PAUSE: Duration = Duration::from_millis(1);

fn text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t).ok().map(|t| t.with_timezone(&Utc))
}

/// Checks the value of one of this module's settings (`""` clears it to its default).
pub(crate) fn check_setting(key: &str, value: &str) -> CoreResult<()> {
    if value.is_empty() {
        return Ok(());
    }
    let days = |name: &str| {
        if value.parse::<u32>().is_ok_and(|n| n <= 36_500) {
            Ok(())
        } else {
            Err(CoreError::InvalidInput(format!("{name} is a number of days, 0 (never) to 36500")))
        }
    };
    match key {
        "archive_after_days" => days("archive_after_days"),
        "cleanup_after_days" => days("cleanup_after_days"),
        "backups.daily" if !["true", "false"].contains(&value) => {
            Err(CoreError::InvalidInput("backups.daily is `true` or `false`".into()))
        }
        "backups.keep" if !value.parse::<u32>().is_ok_and(|n| (1..=1000).contains(&n)) => {
            Err(CoreError::InvalidInput("backups.keep is how many backups to keep, 1 to 1000".into()))
        }
        _ => Ok(()),
    }
}

impl App {
    async fn days_setting(&self, key: &str, default: u32) -> CoreResult<u32> {
        Ok(self.setting(key).await?.and_then(|v| v.parse().ok()).unwrap_or(default))
    }

    /// Stops what runs for a project that is archived or cleaned up: its terminals, its
    /// outside-edit watcher and its code index's work.
    async fn put_away(&self, project_id: &str) {
        self.inner.terminals.close_owned_by(Some(project_id));
        self.watchers_remove(project_id);
        self.close_index(project_id).await;
    }

    /// `projects.archive`: hidden from `projects.list`, its terminals, watcher and index work
    /// stopped. Its files and records stay.
    pub async fn archive_project(&self, id: &str) -> CoreResult<Project> {
        self.store().get_project(id).await?;
        let times = self.store().project_time(id).await?;
        if times.archived_at.is_none() {
            self.store().set_project_archived(id, Some(atelier_store::now())).await?;
            self.put_away(id).await;
            self.bus().publish(topics::PROJECTS, ev::PROJECTS_CHANGED, serde_json::json!({}));
        }
        self.project_with_times(id).await
    }

    /// `projects.unarchive`: back in the list; opening it counts as opening it.
    pub async fn unarchive_project(&self, id: &str) -> CoreResult<Project> {
        self.store().get_project(id).await?;
        self.store().set_project_archived(id, None).await?;
        self.store().set_project_opened(id, atelier_store::now()).await?;
        self.bus().publish(topics::PROJECTS, ev::PROJECTS_CHANGED, serde_json::json!({}));
        self.project_with_times(id).await
    }

    async fn project_with_times(&self, id: &str) -> CoreResult<Project> {
        let row = self.store().get_project(id).await?;
        let times = self.store().project_time(id).await?;
        Ok(crate::project::with_times(row, Some(times)))
    }

    /// Archives the projects nobody opened for `archive_after_days` as of `now` (none when the
    /// setting is 0; projects open right now are left alone), announcing `projects.changed`
    /// on `projects`. Returns their ids.
    pub async fn archive_by_age(&self, now: DateTime<Utc>) -> CoreResult<Vec<String>> {
        let days = self.days_setting("archive_after_days", ARCHIVE_AFTER_DAYS).await?;
        if days == 0 {
            return Ok(Vec::new());
        }
        let before = now - chrono::Duration::days(i64::from(days));
        let open: Vec<String> = self.watched_projects();
        let ids = self.store().archive_unopened_since(text(before), text(now), open).await?;
        for id in &ids {
            self.put_away(id).await;
        }
        if !ids.is_empty() {
            tracing::info!(count = ids.len(), "archived projects nobody opened for {days} days");
            self.bus().publish(topics::PROJECTS, ev::PROJECTS_CHANGED, serde_json::json!({}));
        }
        Ok(ids)
    }

    /// `projects.cleanup_preview` as of `now`: the projects archived longer than
    /// `cleanup_after_days` (none while it is 0, off), with what cleaning each up removes.
    pub async fn cleanup_preview(&self, now: DateTime<Utc>) -> CoreResult<Vec<CleanupCandidate>> {
        let days = self.days_setting("cleanup_after_days", 0).await?;
        if days == 0 {
            return Ok(Vec::new());
        }
        let before = now - chrono::Duration::days(i64::from(days));
        let times = self.store().project_times().await?;
        let mut out = Vec::new();
        let rows = self.store().list_projects().await?;
        let due: Vec<_> = rows
            .into_iter()
            .filter_map(|row| {
                let archived = times.get(&row.id)?.archived_at.clone()?;
                (parse(&archived)? < before).then_some((row, archived))
            })
            .collect();
        let mut counts =
            self.store().project_records(due.iter().map(|(r, _)| r.id.clone()).collect()).await?;
        for (row, archived_at) in due {
            let records = counts.remove(&row.id).unwrap_or_default();
            out.push(CleanupCandidate {
                project_id: row.id,
                name: row.name,
                path: row.path,
                archived_at,
                sessions: records.sessions,
                messages: records.messages,
                workflows: records.workflows,
            });
        }
        Ok(out)
    }

    /// `projects.cleanup`: removes Atelier's records of `ids` (each must be in the preview as
    /// of `now`): chats, messages, workflows and their agents and steps, events, usage, the
    /// code index and the project itself. Never the project's files.
    pub async fn cleanup_projects(&self, ids: &[String], now: DateTime<Utc>) -> CoreResult<Vec<String>> {
        if ids.is_empty() {
            return Err(CoreError::InvalidInput(
                "name the projects to clean up (projects.cleanup_preview)".into(),
            ));
        }
        let preview = self.cleanup_preview(now).await?;
        if let Some(other) = ids.iter().find(|id| !preview.iter().any(|c| &c.project_id == *id)) {
            return Err(CoreError::InvalidInput(format!(
                "`{}` is not in projects.cleanup_preview; only projects archived longer than \
                 cleanup_after_days can be cleaned up",
                other.chars().take(80).collect::<String>()
            )));
        }
        let mut removed = Vec::new();
        for id in ids {
            if removed.contains(id) {
                continue;
            }
            self.put_away(id).await;
            self.drop_index(id).await;
            self.store().purge_project(id).await?;
            self.bus().publish(&topics::project(id), ev::PROJECT_DELETED, serde_json::json!({ "id": id }));
            removed.push(id.clone());
        }
        self.bus().publish(topics::PROJECTS, ev::PROJECTS_CHANGED, serde_json::json!({}));
        Ok(removed)
    }

    /// What is due as of `now`: archiving by age, and when cleanup is on and some archived
    /// projects are due for it, a `notification` saying how many.
    pub async fn run_archiving(&self, now: DateTime<Utc>) -> CoreResult<()> {
        self.archive_by_age(now).await?;
        let due = self.cleanup_preview(now).await?;
        if !due.is_empty() {
            let message = match due.len() {
                1 => "1 archived project can be cleaned up: Settings → Projects lists what goes (its files stay)".to_owned(),
                n => format!(
                    "{n} archived projects can be cleaned up: Settings → Projects lists what goes (their files stay)"
                ),
            };
            self.bus().publish(
                topics::SYSTEM,
                ev::NOTIFICATION,
                to_value(&Notification { level: "info".into(), message }),
            );
        }
        Ok(())
    }

    /// The background task: archiving at start-up and once a day; a backup once a day (the
    /// first ten minutes after start-up) while `backups.daily` is on.
    pub(crate) async fn maintain(self) {
        let mut tick = tokio::time::interval(CHECK_EVERY);
        let mut last_archiving: Option<DateTime<Utc>> = None;
        loop {
            tokio::select! {
                () = self.inner.shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            let now = Utc::now();
            if last_archiving.is_none_or(|t| now - t >= chrono::Duration::days(1)) {
                last_archiving = Some(now);
                if let Err(e) = self.run_archiving(now).await {
                    tracing::warn!(error = %e, "archiving old projects");
                }
            }
            if self.inner.started.elapsed() >= FIRST_BACKUP_AFTER
                && let Err(e) = self.daily_backup(now).await
            {
                tracing::warn!(error = %e, "the daily backup");
            }
        }
    }

    async fn daily_backup(&self, now: DateTime<Utc>) -> CoreResult<()> {
        if self.setting("backups.daily").await?.as_deref() == Some("false") {
            return Ok(());
        }
        let newest = self.list_backups().await?.into_iter().next();
        let due = newest.and_then(|b| parse(&b.time)).is_none_or(|t| now - t >= chrono::Duration::days(1));
        if due {
            let backup = self.create_backup().await?;
            tracing::info!(id = backup.id, bytes = backup.bytes, "daily backup made");
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- backups

/// Where backups go.
fn backups_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("backups")
}

/// Only one backup is written at a time (two in the same millisecond would share a name).
static BACKUP_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Copies the database at `<data_dir>/atelier.db` into a new backup, then removes the oldest
/// beyond `keep`. Works while the database is in use, by this process or another.
fn make_backup(data_dir: &Path, keep: usize) -> CoreResult<Backup> {
    let _one = BACKUP_LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = backups_dir(data_dir);
    std::fs::create_dir_all(&dir).map_err(|e| CoreError::io("creating the backups folder", e))?;
    crate::make_private(&dir);
    let mut id = Utc::now().format("%Y%m%d-%H%M%S-%3f").to_string();
    while dir.join(format!("{id}.sqlite")).exists() {
        id.push('x');
    }
    let dest = dir.join(format!("{id}.sqlite"));
    atelier_store::backup_database(&data_dir.join("atelier.db"), &dest, BACKUP_PAUSE)?;
    let backup = describe(&dest, &id)?;
    prune(data_dir, keep)?;
    Ok(backup)
}

fn describe(path: &Path, id: &str) -> CoreResult<Backup> {
    let meta = std::fs::metadata(path).map_err(|e| CoreError::io(format!("reading backup {id}"), e))?;
    let time = meta.modified().map(DateTime::<Utc>::from).map(text).unwrap_or_default();
    Ok(Backup { id: id.to_owned(), path: path.display().to_string(), bytes: meta.len(), time })
}

/// Every backup, newest first (ids sort by time).
fn backups_in(data_dir: &Path) -> CoreResult<Vec<Backup>> {
    let dir = backups_dir(data_dir);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(CoreError::io("reading the backups folder", e)),
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(id) = name.strip_suffix(".sqlite").filter(|id| id_ok(id)) {
            out.push(describe(&entry.path(), id)?);
        }
    }
    out.sort_by(|a, b| b.id.cmp(&a.id));
    Ok(out)
}

fn prune(data_dir: &Path, keep: usize) -> CoreResult<()> {
    for old in backups_in(data_dir)?.into_iter().skip(keep.max(1)) {
        std::fs::remove_file(&old.path)
            .map_err(|e| CoreError::io(format!("removing old backup {}", old.id), e))?;
    }
    Ok(())
}

/// A backup id as [`make_backup`] makes them: digits, `-` and `x` (nothing that walks out of
/// the backups folder).
fn id_ok(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_digit() || b == b'-' || b == b'x')
}

fn backup_path(data_dir: &Path, id: &str) -> CoreResult<PathBuf> {
    let not_found = || E::NotFound { what: "backup", id: id.chars().take(80).collect() };
    if !id_ok(id) {
        return Err(not_found());
    }
    let path = backups_dir(data_dir).join(format!("{id}.sqlite"));
    if !path.is_file() {
        return Err(not_found());
    }
    Ok(path)
}

impl App {
    async fn backups_keep(&self) -> CoreResult<usize> {
        Ok(self.setting("backups.keep").await?.and_then(|v| v.parse().ok()).unwrap_or(BACKUPS_KEEP))
    }

    /// `backups.create`: a backup of the database now, without stopping anything.
    pub async fn create_backup(&self) -> CoreResult<Backup> {
        let keep = self.backups_keep().await?;
        let data_dir = self.data_dir().to_path_buf();
        tokio::task::spawn_blocking(move || make_backup(&data_dir, keep))
            .await
            .map_err(|e| CoreError::Internal(format!("backup task failed: {e}")))?
    }

    /// `backups.list`: newest first.
    pub async fn list_backups(&self) -> CoreResult<Vec<Backup>> {
        let data_dir = self.data_dir().to_path_buf();
        tokio::task::spawn_blocking(move || backups_in(&data_dir))
            .await
            .map_err(|e| CoreError::Internal(format!("backup task failed: {e}")))?
    }

    /// `backups.restore`: checks the backup (a damaged one is `invalid_input` and nothing
    /// changes), keeps the database as it is now as a new backup, then restores into the live
    /// database (see [`atelier_store::Store::restore_blocking`]). Chats and workflows running now
    /// keep what they hold in memory: restarting Atelier afterwards is best, and a
    /// notification says so.
    pub async fn restore_backup(&self, id: &str) -> CoreResult<Backup> {
        let path = backup_path(self.data_dir(), id)?;
        let checked = path.clone();
        tokio::task::spawn_blocking(move || atelier_store::check_backup(&checked))
            .await
            .map_err(|e| CoreError::Internal(format!("backup task failed: {e}")))??;
        // The kept copy is never pruned by this backup: it is the newest.
        let kept = self.create_backup().await?;
        let store = self.store().clone();
        tokio::task::spawn_blocking(move || store.restore_blocking(&path))
            .await
            .map_err(|e| CoreError::Internal(format!("restore task failed: {e}")))??;
        self.bus().publish(
            topics::SYSTEM,
            ev::NOTIFICATION,
            to_value(&Notification {
                level: "warning".into(),
                message: format!(
                    "The database was restored from backup {id} (the previous one is kept as backup {}). \
                     Restart Atelier so that every window shows the restored history.",
                    kept.id
                ),
            }),
        );
        self.bus().publish(topics::PROJECTS, ev::PROJECTS_CHANGED, serde_json::json!({}));
        Ok(kept)
    }
}

/// `atelier backup`: a backup of the data folder's database, whether Atelier is running or not
/// (the copy reads a snapshot and never blocks the app). Keeps `backups.keep` backups.
pub fn backup_data_dir(data_dir: &Path) -> CoreResult<Backup> {
    let db = data_dir.join("atelier.db");
    if !db.is_file() {
        return Err(CoreError::InvalidInput(format!("{} holds no Atelier database", data_dir.display())));
    }
    make_backup(data_dir, keep_setting(&db))
}

/// `backups.keep` read straight from the database file (the engine may not be running).
fn keep_setting(db: &Path) -> usize {
    use atelier_store::rusqlite::{Connection, OpenFlags, OptionalExtension};
    let value = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).and_then(|conn| {
        conn.query_row("SELECT value FROM settings WHERE key = 'backups.keep'", [], |row| {
            row.get::<_, String>(0)
        })
        .optional()
    });
    match value {
        Ok(value) => value.and_then(|v| v.trim().parse().ok()).unwrap_or(BACKUPS_KEEP),
        Err(e) => {
            tracing::debug!(error = %e, "backups.keep not read; keeping the default");
            BACKUPS_KEEP
        }
    }
}

/// `atelier backup --list`: the data folder's backups, newest first.
pub fn list_data_dir_backups(data_dir: &Path) -> CoreResult<Vec<Backup>> {
    backups_in(data_dir)
}

/// `atelier restore ID`: only while no Atelier uses the data folder (its lock is taken for the
/// whole restore; `conflict` when the app runs — then use Settings → Backups). Checks the
/// backup, keeps the current database as a backup, restores, and migrates. Returns the kept one.
pub fn restore_data_dir(data_dir: &Path, id: &str) -> CoreResult<Backup> {
    let path = backup_path(data_dir, id)?;
    let lock = crate::lock_data_dir(data_dir)?;
    atelier_store::check_backup(&path)?;
    let kept = make_backup(data_dir, usize::MAX)?;
    let store = atelier_store::Store::open(&data_dir.join("atelier.db"))?;
    let restored = store.restore_blocking(&path);
    store.close();
    if let Err(e) = lock.unlock() {
        tracing::warn!(error = %e, "releasing the data folder lock");
    }
    restored?;
    Ok(kept)
}
